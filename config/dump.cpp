// --dump-config: the effective configuration in the schema it was read in.
// It walks the key table (config/schema.hpp), so every key the loader reads
// is written, in the table's order, and nothing else.
#include <string>
#include <type_traits>
#include <variant>

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "config/schema.hpp"

namespace omni::config {

namespace {

void emitValue(YAML::Emitter& out, const values::Dumped& value)
{
    std::visit(
        [&](const auto& shown) {
            using Shown = std::decay_t<decltype(shown)>;
            if constexpr (std::is_same_v<Shown, values::Null>) {
                out << YAML::Null;
            } else if constexpr (std::is_same_v<Shown, bool>) {
                out << YAML::TrueFalseBool << YAML::LowerCase << shown;
            } else if constexpr (std::is_same_v<Shown, std::int64_t>) {
                out << shown;
            } else if constexpr (std::is_same_v<Shown, std::string>) {
                out << YAML::DoubleQuoted << shown;
            } else if constexpr (std::is_same_v<Shown, values::TextList>) {
                if (shown.flow) {
                    out << YAML::Flow;
                }
                out << YAML::BeginSeq;
                for (const std::string& item : shown.items) {
                    out << YAML::DoubleQuoted << item;
                }
                out << YAML::EndSeq;
            } else {
                static_assert(std::is_same_v<Shown, values::TextMapping>);
                out << YAML::Flow << YAML::BeginMap;
                for (const auto& [key, text] : shown.entries) {
                    out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << text;
                }
                out << YAML::EndMap;
            }
        },
        value);
}

void emitSection(YAML::Emitter& out, const schema::Section& section, const Config& config)
{
    out << YAML::BeginMap;
    for (const schema::Section::Child& child : section.children) {
        out << YAML::Key << child.name << YAML::Value;
        if (child.key != nullptr) {
            emitValue(out, child.key->dump(config));
        } else {
            emitSection(out, *child.section, config);
        }
    }
    out << YAML::EndMap;
}

} // namespace

std::string dumpYaml(const Config& config)
{
    YAML::Emitter out;
    emitSection(out, schema::document(), config);
    return std::string(out.c_str()) + "\n";
}

} // namespace omni::config
