#pragma once
// The kinds of value a configuration key holds. A kind reads one node of the
// document tree strictly (a wrong value is a Problem at that node saying
// what was expected) and says how the dump writes a value. The key table of
// config/schema.cpp pairs each key with one kind, so a key's type, range and
// message are declared in one place.
//
// Every kind has `Type` (what it stores in Config), `read(node, path)` and
// `dump(value)`.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

#include "config/yaml_tree.hpp"
#include "daemon/core/network/interface_mapping.hpp"

namespace omni::config::values {

using yaml::Node;
using yaml::Problem;

template <class T> using Read = tl::expected<T, Problem>;

// A Problem at `at`; `path` ("trust.anchors[1]") leads the message unless empty.
tl::unexpected<Problem> fail(const Node& at, const std::string& path, const std::string& message);

std::string join(std::span<const std::string_view> words); // "a, b, c"

// ---- what the dump writes ----------------------------------------------------------------------

struct Null {
    friend bool operator==(const Null&, const Null&) = default;
};
struct TextList {
    std::vector<std::string> items;
    bool flow = false; // [a, b] on the key's line; else one item a line

    friend bool operator==(const TextList&, const TextList&) = default;
};
struct TextMapping { // written in flow style: {key: "value"}
    std::vector<std::pair<std::string, std::string>> entries;

    friend bool operator==(const TextMapping&, const TextMapping&) = default;
};
// Text is always written quoted, so that "true", "100" or "" stay text.
using Dumped = std::variant<Null, bool, std::int64_t, std::string, TextList, TextMapping>;

// ---- the kinds ---------------------------------------------------------------------------------

// Only a plain true or false (not yes, True, "true" or 1).
struct Boolean {
    using Type = bool;
    Read<bool> read(const Node& node, const std::string& path) const;
    bool dump(bool value) const { return value; }
};

// Plain decimal digits in [minimum, maximum]: not quoted, no 1.5, 0x1e or
// leading zeros. The range spanning all of int64 is called "an integer".
struct Integer {
    using Type = std::int64_t;
    std::int64_t minimum;
    std::int64_t maximum;
    Read<std::int64_t> read(const Node& node, const std::string& path) const;
    std::int64_t dump(std::int64_t value) const { return value; }
};

// schema_version: an integer that must be the version this program reads.
struct SchemaVersion {
    using Type = int;
    Read<int> read(const Node& node, const std::string& path) const;
    std::int64_t dump(int value) const { return value; }
};

struct AbsolutePath {
    using Type = std::filesystem::path;
    Read<std::filesystem::path> read(const Node& node, const std::string& path) const;
    std::string dump(const std::filesystem::path& value) const { return value.string(); }
};

// One of a fixed set of words (a filesystem type).
struct OneOf {
    using Type = std::string;
    std::span<const std::string_view> words;
    Read<std::string> read(const Node& node, const std::string& path) const;
    std::string dump(const std::string& value) const { return value; }
};

// A udev ID_PATH: no whitespace (udev builds it from bus names).
struct IdPath {
    using Type = std::string;
    bool emptyAllowed = false; // null and "" mean "any"
    Read<std::string> read(const Node& node, const std::string& path) const;
    std::string dump(const std::string& value) const { return value; }
};

// device.expected_name: a name pattern of 1-255 of a-z, A-Z, 0-9, '-', '_';
// null and "" mean none.
struct DeviceName {
    using Type = std::optional<std::string>;
    Read<std::optional<std::string>> read(const Node& node, const std::string& path) const;
    std::string dump(const std::optional<std::string>& value) const { return value.value_or(""); }
};

// led.name: one directory name under sysfs_root, never a path that could
// lead the LED driver elsewhere; null and "" mean no LED.
struct LedName {
    using Type = std::string;
    Read<std::string> read(const Node& node, const std::string& path) const;
    std::string dump(const std::string& value) const { return value; }
};

// {name: eth0} | {mac: 02:00:00:00:00:01} | {id_path: pci-0000:00:1f.6} | ~ (unmapped)
struct Matcher {
    using Type = std::optional<network::InterfaceMatcher>;
    Read<Type> read(const Node& node, const std::string& path) const;
    Dumped dump(const Type& value) const;
};

// An enum by its toString() names, listed in the order of `values`.
template <class Enum, std::size_t N> struct EnumOf {
    using Type = Enum;
    std::array<Enum, N> values;

    Read<Enum> read(const Node& node, const std::string& path) const
    {
        std::array<std::string_view, N> names {};
        for (std::size_t index = 0; index < N; ++index) {
            names[index] = toString(values[index]);
            if (node.kind == Node::Kind::Scalar && names[index] == node.text) {
                return values[index];
            }
        }
        return fail(node, path, "expected one of " + join(names) + ", got " + yaml::describe(node));
    }
    std::string dump(Enum value) const { return std::string(toString(value)); }
};
// Spelled out for compilers without class template argument deduction for
// aggregates (clang before 17 builds the fuzzers).
template <class Enum, std::size_t N> EnumOf(std::array<Enum, N>) -> EnumOf<Enum, N>;

// A non-empty list of `item`s, each read at "path[index]"; a layer that
// sets it replaces the whole list.
template <class Item> struct List {
    using Type = std::vector<typename Item::Type>;
    std::string what; // "absolute paths of PEM certificates"
    Item item;
    bool flow = false; // how the dump writes it
    std::string_view distinctNoun; // non-empty: each item at most once ("filesystem")

    Read<Type> read(const Node& node, const std::string& path) const
    {
        if (node.kind != Node::Kind::Sequence) {
            return fail(node, path, "expected a list of " + what + ", got " + yaml::describe(node));
        }
        if (node.items.empty()) {
            return fail(node, path, "expected at least one item (" + what + "), got an empty list");
        }
        Type values;
        for (std::size_t index = 0; index < node.items.size(); ++index) {
            const Node& itemNode = node.items[index];
            const std::string itemPath = path + "[" + std::to_string(index) + "]";
            auto value = item.read(itemNode, itemPath);
            if (!value) {
                return tl::unexpected(std::move(value.error()));
            }
            if (!distinctNoun.empty() && std::find(values.begin(), values.end(), *value) != values.end()) {
                return fail(itemNode, itemPath,
                    yaml::quote(itemNode.text) + " is listed twice; list each " + std::string(distinctNoun)
                        + " once");
            }
            values.push_back(std::move(*value));
        }
        return values;
    }

    TextList dump(const Type& values) const
    {
        TextList list { {}, flow };
        for (const auto& value : values) {
            list.items.push_back(item.dump(value));
        }
        return list;
    }
};

} // namespace omni::config::values
