#pragma once
// Strict YAML reading for the configuration: one document as a small tree of
// our own, with the position of every node. yaml-cpp's own YAML::Node neither
// reports duplicate keys nor tells a quoted "true" from a plain true, and
// building it recurses as deep as the input; so the tree is built from the
// parser's events, and everything the schema must not see is refused here:
// duplicate keys, a second document, aliases, explicit tags, invalid UTF-8,
// and documents beyond the limits of config.hpp.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace omni::config::yaml {

// Where a node starts: 1-based; 0 when unknown.
struct Position {
    int line = 0;
    int column = 0;
};

// What is wrong and where; the caller adds the file name (ConfigError).
struct Problem {
    Position at;
    std::string message;
};

struct Entry;

struct Node {
    enum class Kind { Null, Scalar, Sequence, Mapping };

    Kind kind = Kind::Null;
    Position position;
    // A quoted or block scalar is always text; only a plain one can be a
    // number, a boolean or null.
    bool quoted = false;
    std::string text;
    std::vector<Node> items;
    std::vector<Entry> entries;

    bool isPlain(std::string_view value) const { return kind == Kind::Scalar && !quoted && text == value; }
};

struct Entry {
    Node key;
    Node value;
};

// The one document of `yaml`; nullopt for an empty stream, an empty document
// or a document that is only null. Never throws.
tl::expected<std::optional<Node>, Problem> parseDocument(std::string_view yaml);

// A value as it appears in a message: quoted, control characters escaped,
// long values shortened.
std::string quote(std::string_view text);

// A node as a message names it: null, a list, a mapping, "text" or the
// quoted text "text".
std::string describe(const Node& node);

} // namespace omni::config::yaml
