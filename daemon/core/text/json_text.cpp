#include "daemon/core/text/json_text.hpp"

namespace omni::text {
namespace {

template <typename Json> std::string dumpReplacing(const Json& value, int indent)
{
    return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

} // namespace

std::string dumpJson(const nlohmann::json& value, int indent)
{
    return dumpReplacing(value, indent);
}

std::string dumpJson(const nlohmann::ordered_json& value, int indent)
{
    return dumpReplacing(value, indent);
}

} // namespace omni::text
