#pragma once
// Table-driven edits of a valid JSON document: each test case changes one
// thing (or a few) and states the single field error it expects.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace omni::manifest::test {

struct Edit {
    std::string pointer; // RFC 6901, e.g. "/NetworkingConfiguration/Ntp"
    std::optional<nlohmann::json> value; // std::nullopt removes the member
};

struct Case {
    std::string label;
    std::vector<Edit> edits;
    std::optional<std::string> path; // std::nullopt: the document stays valid
    std::string messagePart = {}; // expected inside the message
};

inline nlohmann::json applyEdits(nlohmann::json document, const std::vector<Edit>& edits)
{
    for (const auto& edit : edits) {
        const nlohmann::json::json_pointer pointer(edit.pointer);
        if (edit.value) {
            document[pointer] = *edit.value;
        } else {
            document[pointer.parent_pointer()].erase(pointer.back());
        }
    }
    return document;
}

inline std::string repeat(std::string_view unit, std::size_t count)
{
    std::string result;
    result.reserve(unit.size() * count);
    for (std::size_t index = 0; index < count; ++index) {
        result += unit;
    }
    return result;
}

// A JSON object with `count` members "tag0": "v", "tag1": "v", ...
inline nlohmann::json tagsWith(std::size_t count)
{
    nlohmann::json tags = nlohmann::json::object();
    for (std::size_t index = 0; index < count; ++index) {
        tags["tag" + std::to_string(index)] = "v";
    }
    return tags;
}

inline nlohmann::json stringList(std::size_t count, const std::string& value)
{
    return nlohmann::json(std::vector<std::string>(count, value));
}

} // namespace omni::manifest::test
