#include "config/yaml_tree.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "config/config.hpp"
#include "daemon/core/text/text.hpp"

namespace omni::config::yaml {

namespace {

Position positionOf(const YAML::Mark& mark)
{
    if (mark.is_null()) {
        return {};
    }
    return { mark.line + 1, mark.column + 1 };
}

// Thrown out of the event handler to stop yaml-cpp at once (the only way to
// abort its recursive parser); caught in parseDocument.
struct ParseAbort {
    Position at;
    std::string message;
};

std::string positionText(const Position& position)
{
    return "line " + std::to_string(position.line) + ", column " + std::to_string(position.column);
}

} // namespace

// A value as it appears in a message: quoted, control characters escaped,
// long values shortened.
std::string quote(std::string_view text)
{
    constexpr std::size_t kShownBytes = 80;
    std::string shown = "\"";
    for (std::size_t at = 0; at < text.size() && at < kShownBytes; ++at) {
        const auto byte = static_cast<unsigned char>(text[at]);
        if (byte < 0x20 || byte == 0x7f) {
            static constexpr char kHex[] = "0123456789abcdef";
            shown += "\\x";
            shown += kHex[byte >> 4];
            shown += kHex[byte & 0xf];
        } else if (byte == '"' || byte == '\\') {
            shown += '\\';
            shown += static_cast<char>(byte);
        } else {
            shown += static_cast<char>(byte);
        }
    }
    shown += text.size() > kShownBytes ? "...\"" : "\"";
    return shown;
}

std::string describe(const Node& node)
{
    switch (node.kind) {
    case Node::Kind::Null:
        return "null";
    case Node::Kind::Sequence:
        return "a list";
    case Node::Kind::Mapping:
        return "a mapping";
    case Node::Kind::Scalar:
        break;
    }
    if (node.quoted) {
        return "the quoted text " + quote(node.text);
    }
    return quote(node.text);
}

namespace {

std::string tooManyValues()
{
    return "the configuration holds more than " + std::to_string(kMaxNodeCount)
        + " values; it needs about 40";
}

std::string nestingTooDeep()
{
    return "lists and mappings are nested deeper than " + std::to_string(kMaxNestingDepth)
        + " levels; the configuration needs at most 4";
}

// yaml-cpp's scanner reads a flow collection ([...] or {...}) to its end
// before it reports the first event (any item might turn out to be a key),
// which costs seconds and over 100 MiB on a 1 MiB document. So brackets and
// commas are counted first, skipping comments and quoted text; those inside
// unquoted text are counted too, which only matters beyond the limits.
std::optional<ParseAbort> checkFlowCollections(std::string_view yaml)
{
    const auto positionAt = [&](std::size_t at) {
        const std::size_t lineStart = yaml.rfind('\n', at == 0 ? 0 : at - 1);
        const auto line = static_cast<int>(
            std::count(yaml.begin(), yaml.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
        const auto column
            = static_cast<int>(lineStart == std::string_view::npos || at == 0 ? at : at - lineStart - 1);
        return Position { line + 1, column + 1 };
    };
    int depth = 0;
    std::size_t flowItems = 0;
    char quote = 0;
    char previous = '\n';
    for (std::size_t at = 0; at < yaml.size(); previous = yaml[at], ++at) {
        const char character = yaml[at];
        const bool pairFollows = at + 1 < yaml.size() && (character == '\\' || yaml[at + 1] == '\'');
        if (quote != 0) {
            if (quote == '"' && character == '\\' && pairFollows) {
                ++at; // an escaped character, whatever it is
            } else if (quote == '\'' && character == '\'' && pairFollows) {
                ++at; // '' is a quote character inside single quotes
            } else if (character == quote) {
                quote = 0;
            }
        } else if (character == '#' && (previous == ' ' || previous == '\t' || previous == '\n')) {
            // To the end of the line; the newline itself is looked at next.
            at = std::min(yaml.find('\n', at), yaml.size()) - 1;
        } else if ((character == '"' || character == '\'')
            && std::string_view(" \t\n[{,:-?").find(previous) != std::string_view::npos) {
            quote = character;
        } else if (character == '[' || character == '{') {
            if (++depth > kMaxNestingDepth) {
                return ParseAbort { positionAt(at), nestingTooDeep() };
            }
        } else if ((character == ']' || character == '}') && depth > 0) {
            --depth;
        } else if (character == ',' && depth > 0 && ++flowItems > kMaxNodeCount) {
            return ParseAbort { positionAt(at), tooManyValues() };
        }
    }
    return std::nullopt;
}

class TreeBuilder final : public YAML::EventHandler {
public:
    std::optional<Node> takeRoot() { return std::move(root_); }
    const Position& documentStart() const { return documentStart_; }

    void OnDocumentStart(const YAML::Mark& mark) override { documentStart_ = positionOf(mark); }
    void OnDocumentEnd() override { }

    void OnNull(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override
    {
        countNode(mark);
        Node node;
        node.position = positionOf(mark);
        complete(std::move(node));
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override
    {
        throw ParseAbort { positionOf(mark),
            "aliases (*name) are not supported in the configuration; write the value out" };
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t /*anchor*/,
        const std::string& value) override
    {
        // yaml-cpp reports "?" for a plain scalar and "!" for a quoted or
        // block one; anything else was written as an explicit tag.
        if (tag != "?" && tag != "!") {
            throw ParseAbort { positionOf(mark),
                "tags (" + quote(tag) + ") are not supported in the configuration" };
        }
        countNode(mark);
        // Well-formed UTF-8 only, so that messages and --dump-config stay readable text.
        if (text::firstInvalidUtf8(value)) {
            throw ParseAbort { positionOf(mark), "the value is not valid UTF-8" };
        }
        Node node;
        node.kind = Node::Kind::Scalar;
        node.position = positionOf(mark);
        node.quoted = tag == "!";
        node.text = value;
        complete(std::move(node));
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t /*anchor*/,
        YAML::EmitterStyle::value /*style*/) override
    {
        open(mark, tag, Node::Kind::Sequence);
    }

    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t /*anchor*/,
        YAML::EmitterStyle::value /*style*/) override
    {
        open(mark, tag, Node::Kind::Mapping);
    }

    void OnMapEnd() override { close(); }

private:
    struct Frame {
        Node node;
        std::optional<Node> pendingKey;
        std::unordered_map<std::string, Position> keys;
    };

    void open(const YAML::Mark& mark, const std::string& tag, Node::Kind kind)
    {
        if (tag != "?") {
            throw ParseAbort { positionOf(mark),
                "tags (" + quote(tag) + ") are not supported in the configuration" };
        }
        if (stack_.size() >= static_cast<std::size_t>(kMaxNestingDepth)) {
            throw ParseAbort { positionOf(mark), nestingTooDeep() };
        }
        countNode(mark);
        Frame frame;
        frame.node.kind = kind;
        frame.node.position = positionOf(mark);
        stack_.push_back(std::move(frame));
    }

    void close()
    {
        Node node = std::move(stack_.back().node);
        stack_.pop_back();
        complete(std::move(node));
    }

    void countNode(const YAML::Mark& mark)
    {
        if (++nodeCount_ > kMaxNodeCount) {
            throw ParseAbort { positionOf(mark), tooManyValues() };
        }
    }

    void complete(Node node)
    {
        if (stack_.empty()) {
            root_ = std::move(node);
            return;
        }
        Frame& parent = stack_.back();
        if (parent.node.kind == Node::Kind::Sequence) {
            parent.node.items.push_back(std::move(node));
            return;
        }
        if (parent.pendingKey) {
            // yaml-cpp marks an empty value at the next token, often on
            // another line; the key is where a technician looks.
            if (node.kind == Node::Kind::Null) {
                node.position = parent.pendingKey->position;
            }
            parent.node.entries.push_back({ std::move(*parent.pendingKey), std::move(node) });
            parent.pendingKey.reset();
            return;
        }
        if (node.kind != Node::Kind::Scalar) {
            throw ParseAbort { node.position, "a mapping key must be a name, got " + describe(node) };
        }
        const auto [first, inserted] = parent.keys.emplace(node.text, node.position);
        if (!inserted) {
            throw ParseAbort { node.position,
                "duplicate key " + quote(node.text) + " (first at " + positionText(first->second)
                    + "); each key may appear once in a mapping" };
        }
        parent.pendingKey = std::move(node);
    }

    std::vector<Frame> stack_;
    std::optional<Node> root_;
    Position documentStart_;
    std::size_t nodeCount_ = 0;
};

} // namespace

tl::expected<std::optional<Node>, Problem> parseDocument(std::string_view yaml)
{
    if (yaml.size() > kMaxDocumentBytes) {
        return tl::unexpected(Problem { {},
            "the configuration is " + std::to_string(yaml.size()) + " bytes, over the limit of "
                + std::to_string(kMaxDocumentBytes) + " bytes (1 MiB)" });
    }
    if (auto problem = checkFlowCollections(yaml)) {
        return tl::unexpected(Problem { problem->at, std::move(problem->message) });
    }
    try {
        std::istringstream stream { std::string(yaml) };
        YAML::Parser parser(stream);
        TreeBuilder builder;
        if (!parser.HandleNextDocument(builder)) {
            return std::optional<Node> {};
        }
        std::optional<Node> root = builder.takeRoot();
        TreeBuilder next;
        if (parser.HandleNextDocument(next)) {
            return tl::unexpected(Problem { next.documentStart(),
                "a second YAML document starts here; the configuration is one document (remove the '---')" });
        }
        if (root && root->kind == Node::Kind::Null) {
            root.reset();
        }
        return root;
    } catch (const ParseAbort& abort) {
        return tl::unexpected(Problem { abort.at, abort.message });
    } catch (const YAML::Exception& exception) {
        return tl::unexpected(Problem { positionOf(exception.mark), "YAML syntax error: " + exception.msg });
    } catch (const std::exception& exception) {
        return tl::unexpected(Problem { {}, std::string("cannot parse: ") + exception.what() });
    } catch (...) {
        return tl::unexpected(Problem { {}, "cannot parse: unknown error" });
    }
}

} // namespace omni::config::yaml
