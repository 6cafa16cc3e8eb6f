#pragma once
// Every JSON output of the project goes through dumpJson, so a string that is
// not UTF-8 (a file name or a PEM label from a stick) never makes nlohmann
// throw type_error 316 and skip the output.
#include <string>

#include <nlohmann/json.hpp>

namespace omni::text {

// JSON text that never throws on strings that are not UTF-8: such bytes are
// written as U+FFFD (nlohmann's replacing error handler). indent < 0 writes
// one line, as nlohmann::json::dump does.
std::string dumpJson(const nlohmann::json& value, int indent = -1);
std::string dumpJson(const nlohmann::ordered_json& value, int indent = -1);

} // namespace omni::text
