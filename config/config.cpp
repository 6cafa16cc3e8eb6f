#include "config/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <span>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <utility>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include "daemon/core/text/text.hpp"

namespace omni::config {

std::string_view toString(DnsBackend backend)
{
    switch (backend) {
    case DnsBackend::Auto:
        return "auto";
    case DnsBackend::Resolved:
        return "resolved";
    case DnsBackend::ResolvConf:
        return "resolv.conf";
    case DnsBackend::None:
        return "none";
    }
    return "?";
}

std::string_view toString(NtpBackend backend)
{
    switch (backend) {
    case NtpBackend::Auto:
        return "auto";
    case NtpBackend::Timesyncd:
        return "timesyncd";
    case NtpBackend::Chrony:
        return "chrony";
    case NtpBackend::None:
        return "none";
    }
    return "?";
}

std::string_view toString(AfterSuccess action)
{
    switch (action) {
    case AfterSuccess::Keep:
        return "keep";
    case AfterSuccess::Rename:
        return "rename";
    }
    return "?";
}

namespace {

constexpr std::array kDnsBackends { DnsBackend::Auto, DnsBackend::Resolved, DnsBackend::ResolvConf,
    DnsBackend::None };
constexpr std::array kNtpBackends { NtpBackend::Auto, NtpBackend::Timesyncd, NtpBackend::Chrony,
    NtpBackend::None };
constexpr std::array kAfterSuccessActions { AfterSuccess::Keep, AfterSuccess::Rename };

template <class Enum, std::size_t N>
std::optional<Enum> enumFromString(const std::array<Enum, N>& values, std::string_view text)
{
    for (Enum value : values) {
        if (toString(value) == text) {
            return value;
        }
    }
    return std::nullopt;
}

} // namespace

std::optional<DnsBackend> dnsBackendFromString(std::string_view text)
{
    return enumFromString(kDnsBackends, text);
}

std::optional<NtpBackend> ntpBackendFromString(std::string_view text)
{
    return enumFromString(kNtpBackends, text);
}

std::optional<AfterSuccess> afterSuccessFromString(std::string_view text)
{
    return enumFromString(kAfterSuccessActions, text);
}

network::InterfaceMapping Config::defaultInterfaces()
{
    network::InterfaceMapping mapping;
    mapping.ethernet0 = { network::InterfaceMatcher { network::MatchKind::Name, "eth0" },
        network::kDefaultEthernet0Metric };
    mapping.ethernet1 = { network::InterfaceMatcher { network::MatchKind::Name, "eth1" },
        network::kDefaultEthernet1Metric };
    return mapping;
}

std::string ConfigError::toString() const
{
    if (line <= 0) {
        return file + ": " + message;
    }
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

namespace {

// ---------------------------------------------------------------------------
// The document tree. yaml-cpp's own YAML::Node neither reports duplicate keys
// nor tells a quoted "true" from a plain true, and building it recurses as
// deep as the input; so we build our own small tree from the parser's events.

struct Entry;

struct Node {
    enum class Kind { Null, Scalar, Sequence, Mapping };

    Kind kind = Kind::Null;
    YAML::Mark mark;
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

// Thrown out of the event handler to stop yaml-cpp at once (the only way to
// abort its recursive parser); caught in parseDocument.
struct ParseAbort {
    YAML::Mark mark;
    std::string message;
};

std::string positionText(const YAML::Mark& mark)
{
    return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

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
struct FlowProblem {
    YAML::Mark mark;
    std::string message;
};

std::optional<FlowProblem> checkFlowCollections(std::string_view yaml)
{
    const auto markOf = [&](std::size_t at) {
        YAML::Mark mark;
        mark.pos = static_cast<int>(at);
        const std::size_t lineStart = yaml.rfind('\n', at == 0 ? 0 : at - 1);
        mark.line = static_cast<int>(
            std::count(yaml.begin(), yaml.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
        mark.column
            = static_cast<int>(lineStart == std::string_view::npos || at == 0 ? at : at - lineStart - 1);
        return mark;
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
                return FlowProblem { markOf(at), nestingTooDeep() };
            }
        } else if ((character == ']' || character == '}') && depth > 0) {
            --depth;
        } else if (character == ',' && depth > 0 && ++flowItems > kMaxNodeCount) {
            return FlowProblem { markOf(at), tooManyValues() };
        }
    }
    return std::nullopt;
}

class TreeBuilder final : public YAML::EventHandler {
public:
    std::optional<Node> takeRoot() { return std::move(root_); }
    const YAML::Mark& documentStart() const { return documentStart_; }

    void OnDocumentStart(const YAML::Mark& mark) override { documentStart_ = mark; }
    void OnDocumentEnd() override { }

    void OnNull(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override
    {
        countNode(mark);
        Node node;
        node.mark = mark;
        complete(std::move(node));
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override
    {
        throw ParseAbort { mark,
            "aliases (*name) are not supported in the configuration; write the value out" };
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t /*anchor*/,
        const std::string& value) override
    {
        // yaml-cpp reports "?" for a plain scalar and "!" for a quoted or
        // block one; anything else was written as an explicit tag.
        if (tag != "?" && tag != "!") {
            throw ParseAbort { mark, "tags (" + quote(tag) + ") are not supported in the configuration" };
        }
        countNode(mark);
        // Well-formed UTF-8 only, so that messages and --dump-config stay readable text.
        if (text::firstInvalidUtf8(value)) {
            throw ParseAbort { mark, "the value is not valid UTF-8" };
        }
        Node node;
        node.kind = Node::Kind::Scalar;
        node.mark = mark;
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
        std::unordered_map<std::string, YAML::Mark> keys;
    };

    void open(const YAML::Mark& mark, const std::string& tag, Node::Kind kind)
    {
        if (tag != "?") {
            throw ParseAbort { mark, "tags (" + quote(tag) + ") are not supported in the configuration" };
        }
        if (stack_.size() >= static_cast<std::size_t>(kMaxNestingDepth)) {
            throw ParseAbort { mark, nestingTooDeep() };
        }
        countNode(mark);
        Frame frame;
        frame.node.kind = kind;
        frame.node.mark = mark;
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
            throw ParseAbort { mark, tooManyValues() };
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
                node.mark = parent.pendingKey->mark;
            }
            parent.node.entries.push_back({ std::move(*parent.pendingKey), std::move(node) });
            parent.pendingKey.reset();
            return;
        }
        if (node.kind != Node::Kind::Scalar) {
            throw ParseAbort { node.mark, "a mapping key must be a name, got " + describe(node) };
        }
        const auto [first, inserted] = parent.keys.emplace(node.text, node.mark);
        if (!inserted) {
            throw ParseAbort { node.mark,
                "duplicate key " + quote(node.text) + " (first at " + positionText(first->second)
                    + "); each key may appear once in a mapping" };
        }
        parent.pendingKey = std::move(node);
    }

    std::vector<Frame> stack_;
    std::optional<Node> root_;
    YAML::Mark documentStart_;
    std::size_t nodeCount_ = 0;
};

ConfigError errorAt(const std::string& sourceName, const YAML::Mark& mark, std::string message)
{
    if (mark.is_null()) {
        return ConfigError { sourceName, 0, 0, std::move(message) };
    }
    return ConfigError { sourceName, mark.line + 1, mark.column + 1, std::move(message) };
}

// The one document of `yaml`; nullopt for an empty stream or an empty document.
tl::expected<std::optional<Node>, ConfigError> parseDocument(
    std::string_view yaml, const std::string& sourceName)
{
    if (yaml.size() > kMaxDocumentBytes) {
        return tl::unexpected(ConfigError { sourceName, 0, 0,
            "the configuration is " + std::to_string(yaml.size()) + " bytes, over the limit of "
                + std::to_string(kMaxDocumentBytes) + " bytes (1 MiB)" });
    }
    if (auto problem = checkFlowCollections(yaml)) {
        return tl::unexpected(errorAt(sourceName, problem->mark, std::move(problem->message)));
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
            return tl::unexpected(errorAt(sourceName, next.documentStart(),
                "a second YAML document starts here; the configuration is one document (remove the '---')"));
        }
        if (root && root->kind == Node::Kind::Null) {
            root.reset();
        }
        return root;
    } catch (const ParseAbort& abort) {
        return tl::unexpected(errorAt(sourceName, abort.mark, abort.message));
    } catch (const YAML::Exception& exception) {
        return tl::unexpected(errorAt(sourceName, exception.mark, "YAML syntax error: " + exception.msg));
    } catch (const std::exception& exception) {
        return tl::unexpected(
            ConfigError { sourceName, 0, 0, std::string("cannot parse: ") + exception.what() });
    } catch (...) {
        return tl::unexpected(ConfigError { sourceName, 0, 0, "cannot parse: unknown error" });
    }
}

// ---------------------------------------------------------------------------
// The schema: applies a document tree to a Config, key by key.

using Status = tl::expected<void, ConfigError>;

template <class T> using Value = tl::expected<T, ConfigError>;

template <class T, class Target> Status assign(Value<T> value, Target& target)
{
    if (!value) {
        return tl::unexpected(std::move(value.error()));
    }
    target = std::move(*value);
    return {};
}

std::string join(std::span<const std::string_view> words)
{
    std::string joined;
    for (std::string_view word : words) {
        if (!joined.empty()) {
            joined += ", ";
        }
        joined += word;
    }
    return joined;
}

std::string childPath(const std::string& path, std::string_view key)
{
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

constexpr std::array<std::string_view, 11> kTopLevelKeys { "schema_version", "usb", "trust", "device",
    "interfaces", "dns", "ntp", "dhcp", "state", "stick", "led" };
constexpr std::array<std::string_view, 3> kFilesystems { "vfat", "exfat", "ext4" };
constexpr std::array<std::string_view, 3> kMatchKeys { "name", "mac", "id_path" };
constexpr std::size_t kMaxNameLength = 255;
constexpr std::size_t kMaxInterfaceNameLength = 15; // IFNAMSIZ - 1

bool isYamlBoolean(std::string_view text)
{
    static constexpr std::array<std::string_view, 6> kBooleans { "true", "True", "TRUE", "false", "False",
        "FALSE" };
    return std::find(kBooleans.begin(), kBooleans.end(), text) != kBooleans.end();
}

bool isWhitespace(char character)
{
    return character == ' ' || character == '\t' || character == '\n' || character == '\r'
        || character == '\v' || character == '\f';
}

class Applier {
public:
    explicit Applier(const std::string& sourceName)
        : sourceName_(sourceName)
    {
    }

    Status apply(const Node& root, Config& config)
    {
        if (root.kind != Node::Kind::Mapping) {
            return fail(root, "",
                "the configuration must be a mapping of the sections " + join(kTopLevelKeys) + ", got "
                    + describe(root));
        }
        // The version decides how everything else is read, so it is judged
        // first wherever it stands in the file.
        for (const Entry& entry : root.entries) {
            if (entry.key.text == "schema_version") {
                if (auto checked = checkSchemaVersion(entry.value); !checked) {
                    return checked;
                }
            }
        }
        return forEachKey(root, "", kTopLevelKeys,
            [&](std::string_view key, const Node& value, const std::string& path) -> Status {
                if (key == "schema_version") {
                    config.schemaVersion = kSchemaVersion;
                    return {};
                }
                if (key == "usb") {
                    return applyUsb(value, path, config.usb);
                }
                if (key == "trust") {
                    return applyTrust(value, path, config.trust);
                }
                if (key == "device") {
                    return applyDevice(value, path, config.device);
                }
                if (key == "interfaces") {
                    return applyInterfaces(value, path, config.interfaces);
                }
                if (key == "dns") {
                    return applyDns(value, path, config.dns);
                }
                if (key == "ntp") {
                    return applyNtp(value, path, config.ntp);
                }
                if (key == "dhcp") {
                    return applyDhcp(value, path, config.dhcp);
                }
                if (key == "state") {
                    return applyState(value, path, config);
                }
                if (key == "stick") {
                    return applyStick(value, path, config.stick);
                }
                return applyLed(value, path, config.led);
            });
    }

private:
    tl::unexpected<ConfigError> fail(
        const Node& at, const std::string& path, const std::string& message) const
    {
        return tl::unexpected(errorAt(sourceName_, at.mark, path.empty() ? message : path + ": " + message));
    }

    // Calls `handler` for each key of a section; a key not in `allowed` is an
    // error. A null section (`usb:` with every line commented out) changes nothing.
    template <class Handler>
    Status forEachKey(const Node& node, const std::string& path, std::span<const std::string_view> allowed,
        Handler&& handler)
    {
        if (node.kind == Node::Kind::Null) {
            return {};
        }
        if (node.kind != Node::Kind::Mapping) {
            return fail(
                node, path, "expected a mapping with the keys " + join(allowed) + ", got " + describe(node));
        }
        for (const Entry& entry : node.entries) {
            if (std::find(allowed.begin(), allowed.end(), entry.key.text) == allowed.end()) {
                const std::string where = path.empty() ? "at the top level" : "in " + path;
                return fail(entry.key, "",
                    "unknown key " + quote(entry.key.text) + " " + where
                        + "; allowed keys: " + join(allowed));
            }
            if (auto applied = handler(entry.key.text, entry.value, childPath(path, entry.key.text));
                !applied) {
                return applied;
            }
        }
        return {};
    }

    Status checkSchemaVersion(const Node& node)
    {
        auto version = readInteger(node, "schema_version", std::numeric_limits<std::int64_t>::min(),
            std::numeric_limits<std::int64_t>::max());
        if (!version) {
            return tl::unexpected(std::move(version.error()));
        }
        if (*version != kSchemaVersion) {
            return fail(node, "schema_version",
                "this omni-provisiond reads schema version " + std::to_string(kSchemaVersion) + " only, got "
                    + std::to_string(*version));
        }
        return {};
    }

    Value<bool> readBool(const Node& node, const std::string& path)
    {
        if (node.isPlain("true")) {
            return true;
        }
        if (node.isPlain("false")) {
            return false;
        }
        return fail(node, path, "expected true or false, got " + describe(node));
    }

    Value<std::int64_t> readInteger(
        const Node& node, const std::string& path, std::int64_t minimum, std::int64_t maximum)
    {
        const std::string range = minimum == std::numeric_limits<std::int64_t>::min()
            ? std::string("an integer")
            : "an integer from " + std::to_string(minimum) + " to " + std::to_string(maximum);
        if (node.kind != Node::Kind::Scalar || node.quoted) {
            return fail(node, path, "expected " + range + ", got " + describe(node));
        }
        const std::string& text = node.text;
        const std::size_t digitsStart = !text.empty() && text[0] == '-' ? 1 : 0;
        const bool allDigits = text.size() > digitsStart
            && std::all_of(text.begin() + static_cast<std::ptrdiff_t>(digitsStart), text.end(),
                [](char character) { return character >= '0' && character <= '9'; });
        if (!allDigits) {
            return fail(node, path, "expected " + range + " (decimal digits only), got " + describe(node));
        }
        if (text.size() > digitsStart + 1 && text[digitsStart] == '0') {
            return fail(node, path,
                "expected " + range + " without leading zeros (YAML 1.1 reads them as octal), got "
                    + describe(node));
        }
        std::int64_t number = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
        if (error != std::errc {} || end != text.data() + text.size() || number < minimum
            || number > maximum) {
            return fail(node, path, "expected " + range + ", got " + text + " (out of range)");
        }
        return number;
    }

    // Any scalar as written, except null and the YAML booleans (a boolean
    // where text is expected is almost always the wrong key).
    Value<std::string> readText(const Node& node, const std::string& path, std::string_view expected)
    {
        if (node.kind != Node::Kind::Scalar) {
            return fail(node, path, "expected " + std::string(expected) + ", got " + describe(node));
        }
        if (!node.quoted && isYamlBoolean(node.text)) {
            return fail(node, path,
                "expected " + std::string(expected) + ", got the boolean " + node.text
                    + " (quote it if it is meant as text)");
        }
        const auto control = std::find_if(node.text.begin(), node.text.end(), [](char character) {
            const auto byte = static_cast<unsigned char>(character);
            return byte < 0x20 || byte == 0x7f;
        });
        if (control != node.text.end()) {
            return fail(node, path,
                "expected " + std::string(expected) + " without control characters, got " + describe(node));
        }
        return node.text;
    }

    // Text where null and "" both mean "not set".
    Value<std::string> readOptionalText(const Node& node, const std::string& path, std::string_view expected)
    {
        if (node.kind == Node::Kind::Null) {
            return std::string();
        }
        return readText(node, path, expected);
    }

    Value<std::filesystem::path> readAbsolutePath(const Node& node, const std::string& path)
    {
        constexpr std::string_view kExpected = "an absolute path (starting with /)";
        auto text = readText(node, path, kExpected);
        if (!text) {
            return tl::unexpected(std::move(text.error()));
        }
        if (text->empty() || text->front() != '/') {
            return fail(node, path, "expected " + std::string(kExpected) + ", got " + describe(node));
        }
        return std::filesystem::path(*text);
    }

    template <class Enum, std::size_t N>
    Value<Enum> readEnum(const Node& node, const std::string& path, const std::array<Enum, N>& values)
    {
        std::array<std::string_view, N> names {};
        std::transform(
            values.begin(), values.end(), names.begin(), [](Enum value) { return toString(value); });
        if (node.kind == Node::Kind::Scalar) {
            if (const auto value = enumFromString(values, node.text)) {
                return *value;
            }
        }
        return fail(node, path, "expected one of " + join(names) + ", got " + describe(node));
    }

    // A non-empty list; `readItem(item, itemPath)` gives each element.
    template <class T, class ReadItem>
    Value<std::vector<T>> readList(
        const Node& node, const std::string& path, std::string_view expected, ReadItem&& readItem)
    {
        if (node.kind != Node::Kind::Sequence) {
            return fail(
                node, path, "expected a list of " + std::string(expected) + ", got " + describe(node));
        }
        if (node.items.empty()) {
            return fail(
                node, path, "expected at least one item (" + std::string(expected) + "), got an empty list");
        }
        std::vector<T> values;
        for (std::size_t index = 0; index < node.items.size(); ++index) {
            Value<T> value = readItem(node.items[index], path + "[" + std::to_string(index) + "]");
            if (!value) {
                return tl::unexpected(std::move(value.error()));
            }
            values.push_back(std::move(*value));
        }
        return values;
    }

    Value<std::vector<std::string>> readFilesystems(const Node& node, const std::string& path)
    {
        const std::string expected = "filesystem types (" + join(kFilesystems) + ")";
        std::vector<std::string> seen;
        return readList<std::string>(
            node, path, expected, [&](const Node& item, const std::string& itemPath) -> Value<std::string> {
                if (item.kind != Node::Kind::Scalar
                    || std::find(kFilesystems.begin(), kFilesystems.end(), item.text) == kFilesystems.end()) {
                    return fail(
                        item, itemPath, "expected one of " + join(kFilesystems) + ", got " + describe(item));
                }
                if (std::find(seen.begin(), seen.end(), item.text) != seen.end()) {
                    return fail(
                        item, itemPath, quote(item.text) + " is listed twice; list each filesystem once");
                }
                seen.push_back(item.text);
                return item.text;
            });
    }

    Status applyUsb(const Node& node, const std::string& path, UsbConfig& usb)
    {
        static constexpr std::array<std::string_view, 3> kKeys { "connector_id_path", "require_superspeed",
            "filesystems" };
        return forEachKey(node, path, kKeys,
            [&](std::string_view key, const Node& value, const std::string& keyPath) -> Status {
                if (key == "connector_id_path") {
                    return assign(readIdPath(value, keyPath, true), usb.connectorIdPath);
                }
                if (key == "require_superspeed") {
                    return assign(readBool(value, keyPath), usb.requireSuperSpeed);
                }
                return assign(readFilesystems(value, keyPath), usb.filesystems);
            });
    }

    // A udev ID_PATH has no whitespace (udev builds it from bus names).
    Value<std::string> readIdPath(const Node& node, const std::string& path, bool emptyAllowed)
    {
        constexpr std::string_view kExpected = "a udev ID_PATH such as \"pci-0000:00:14.0-usb-0:1\"";
        auto text = emptyAllowed ? readOptionalText(node, path, kExpected) : readText(node, path, kExpected);
        if (!text) {
            return text;
        }
        if (!emptyAllowed && text->empty()) {
            return fail(node, path, "expected " + std::string(kExpected) + ", got an empty value");
        }
        if (std::any_of(text->begin(), text->end(), isWhitespace)) {
            return fail(
                node, path, "expected " + std::string(kExpected) + " (no spaces), got " + describe(node));
        }
        return text;
    }

    Status applyTrust(const Node& node, const std::string& path, TrustConfig& trust)
    {
        static constexpr std::array<std::string_view, 3> kKeys { "anchors", "time_tolerance_seconds",
            "max_certificate_lifetime_seconds" };
        return forEachKey(node, path, kKeys,
            [&](std::string_view key, const Node& value, const std::string& keyPath) -> Status {
                if (key == "anchors") {
                    return assign(
                        readList<std::filesystem::path>(value, keyPath, "absolute paths of PEM certificates",
                            [&](const Node& item, const std::string& itemPath) {
                                return readAbsolutePath(item, itemPath);
                            }),
                        trust.anchors);
                }
                if (key == "time_tolerance_seconds") {
                    return assign(readInteger(value, keyPath, 0, 300), trust.timeToleranceSeconds);
                }
                return assign(readInteger(value, keyPath, 1, 86400), trust.maxCertificateLifetimeSeconds);
            });
    }

    Status applyDevice(const Node& node, const std::string& path, DeviceConfig& device)
    {
        static constexpr std::array<std::string_view, 1> kKeys { "expected_name" };
        return forEachKey(node, path, kKeys,
            [&](std::string_view, const Node& value, const std::string& keyPath) -> Status {
                constexpr std::string_view kExpected
                    = "a device name of 1 to 255 characters a-z, A-Z, 0-9, '-' and '_' (or \"\" for none)";
                auto name = readOptionalText(value, keyPath, kExpected);
                if (!name) {
                    return tl::unexpected(std::move(name.error()));
                }
                if (name->empty()) {
                    device.expectedName.reset();
                    return {};
                }
                const bool valid = name->size() <= kMaxNameLength
                    && std::all_of(name->begin(), name->end(), [](char character) {
                           return (character >= 'a' && character <= 'z')
                               || (character >= 'A' && character <= 'Z')
                               || (character >= '0' && character <= '9') || character == '-'
                               || character == '_';
                       });
                if (!valid) {
                    return fail(
                        value, keyPath, "expected " + std::string(kExpected) + ", got " + describe(value));
                }
                device.expectedName = std::move(*name);
                return {};
            });
    }

    Status applyInterfaces(const Node& node, const std::string& path, network::InterfaceMapping& mapping)
    {
        std::array<std::string_view, network::kEthernetPorts.size()> portNames {};
        std::transform(network::kEthernetPorts.begin(), network::kEthernetPorts.end(), portNames.begin(),
            [](network::EthernetPort port) { return network::toString(port); });
        return forEachKey(node, path, portNames,
            [&](std::string_view key, const Node& value, const std::string& keyPath) -> Status {
                network::PortMapping& port = mapping[*network::ethernetPortFromString(key)];
                if (value.kind == Node::Kind::Null) {
                    port.matcher.reset();
                    return {};
                }
                static constexpr std::array<std::string_view, 2> kPortKeys { "match", "route_metric" };
                return forEachKey(value, keyPath, kPortKeys,
                    [&](std::string_view portKey, const Node& portValue,
                        const std::string& portPath) -> Status {
                        if (portKey == "match") {
                            return assign(readMatcher(portValue, portPath), port.matcher);
                        }
                        return assign(
                            readInteger(portValue, portPath, 0, std::numeric_limits<std::uint32_t>::max()),
                            port.routeMetric);
                    });
            });
    }

    // {name: eth0} | {mac: 02:00:00:00:00:01} | {id_path: pci-0000:00:1f.6} | ~ (unmapped)
    Value<std::optional<network::InterfaceMatcher>> readMatcher(const Node& node, const std::string& path)
    {
        const std::string expected
            = "a mapping with exactly one of " + join(kMatchKeys) + " (or ~ for unmapped)";
        if (node.kind == Node::Kind::Null) {
            return std::optional<network::InterfaceMatcher> {};
        }
        if (node.kind != Node::Kind::Mapping) {
            return fail(node, path, "expected " + expected + ", got " + describe(node));
        }
        if (node.entries.empty()) {
            return fail(node, path, "expected " + expected + ", got an empty mapping");
        }
        const Entry& entry = node.entries.front();
        const auto kind = network::matchKindFromString(entry.key.text);
        if (!kind) {
            return fail(entry.key, "",
                "unknown key " + quote(entry.key.text) + " in " + path + "; allowed keys: " + join(kMatchKeys)
                    + " (exactly one)");
        }
        if (node.entries.size() > 1) {
            const Node& second = node.entries[1].key;
            if (!network::matchKindFromString(second.text)) {
                return fail(second, "",
                    "unknown key " + quote(second.text) + " in " + path
                        + "; allowed keys: " + join(kMatchKeys) + " (exactly one)");
            }
            return fail(second, path,
                "give exactly one of " + join(kMatchKeys) + ", found both " + entry.key.text + " and "
                    + second.text);
        }
        const std::string valuePath = childPath(path, entry.key.text);
        const Node& value = entry.value;
        switch (*kind) {
        case network::MatchKind::Name: {
            auto name = readInterfaceName(value, valuePath);
            if (!name) {
                return tl::unexpected(std::move(name.error()));
            }
            return network::InterfaceMatcher { *kind, std::move(*name) };
        }
        case network::MatchKind::MacAddress: {
            constexpr std::string_view kExpected = "a MAC address such as 02:00:5e:10:00:01";
            auto text = readText(value, valuePath, kExpected);
            if (!text) {
                return tl::unexpected(std::move(text.error()));
            }
            const auto address = network::parseMacAddress(*text);
            if (!address) {
                return fail(value, valuePath,
                    "expected " + std::string(kExpected) + " (six hex pairs joined by ':' or '-'), got "
                        + describe(value));
            }
            // Stored in one spelling, so comparing and --dump-config are stable.
            return network::InterfaceMatcher { *kind, network::formatMacAddress(*address) };
        }
        case network::MatchKind::IdPath: {
            auto idPath = readIdPath(value, valuePath, false);
            if (!idPath) {
                return tl::unexpected(std::move(idPath.error()));
            }
            return network::InterfaceMatcher { *kind, std::move(*idPath) };
        }
        }
        return fail(node, path, "expected " + expected);
    }

    // The kernel's rules for a new interface name (dev_valid_name()).
    Value<std::string> readInterfaceName(const Node& node, const std::string& path)
    {
        constexpr std::string_view kExpected
            = "a kernel interface name of 1 to 15 characters without '/', ':' or spaces, such as eth0";
        auto name = readText(node, path, kExpected);
        if (!name) {
            return name;
        }
        const bool valid = !name->empty() && name->size() <= kMaxInterfaceNameLength && *name != "."
            && *name != ".." && std::none_of(name->begin(), name->end(), [](char character) {
                   return character == '/' || character == ':' || isWhitespace(character);
               });
        if (!valid) {
            return fail(node, path, "expected " + std::string(kExpected) + ", got " + describe(node));
        }
        return name;
    }

    Status applyDns(const Node& node, const std::string& path, DnsConfig& dns)
    {
        static constexpr std::array<std::string_view, 2> kKeys { "backend", "resolv_conf_path" };
        return forEachKey(node, path, kKeys,
            [&](std::string_view key, const Node& value, const std::string& keyPath) -> Status {
                if (key == "backend") {
                    return assign(readEnum(value, keyPath, kDnsBackends), dns.backend);
                }
                return assign(readAbsolutePath(value, keyPath), dns.resolvConfPath);
            });
    }

    Status applyNtp(const Node& node, const std::string& path, NtpConfig& ntp)
    {
        static constexpr std::array<std::string_view, 3> kKeys { "backend", "timesyncd_dropin_dir",
            "chrony_sources_path" };
        return forEachKey(node, path, kKeys,
            [&](std::string_view key, const Node& value, const std::string& keyPath) -> Status {
                if (key == "backend") {
                    return assign(readEnum(value, keyPath, kNtpBackends), ntp.backend);
                }
                if (key == "timesyncd_dropin_dir") {
                    return assign(readAbsolutePath(value, keyPath), ntp.timesyncdDropInDirectory);
                }
                return assign(readAbsolutePath(value, keyPath), ntp.chronySourcesPath);
            });
    }

    Status applyDhcp(const Node& node, const std::string& path, DhcpConfig& dhcp)
    {
        static constexpr std::array<std::string_view, 2> kKeys { "dhcpcd_path", "hook_path" };
        return forEachKey(
            node, path, kKeys, [&](std::string_view key, const Node& value, const std::string& keyPath) {
                return assign(
                    readAbsolutePath(value, keyPath), key == "hook_path" ? dhcp.hookPath : dhcp.dhcpcdPath);
            });
    }

    Status applyState(const Node& node, const std::string& path, Config& config)
    {
        static constexpr std::array<std::string_view, 2> kKeys { "directory", "runtime_directory" };
        return forEachKey(node, path, kKeys,
            [&](std::string_view key, const Node& value, const std::string& keyPath) -> Status {
                if (key == "directory") {
                    return assign(readAbsolutePath(value, keyPath), config.stateDirectory);
                }
                return assign(readAbsolutePath(value, keyPath), config.runtimeDirectory);
            });
    }

    Status applyStick(const Node& node, const std::string& path, StickConfig& stick)
    {
        static constexpr std::array<std::string_view, 2> kKeys { "write_report", "after_success" };
        return forEachKey(node, path, kKeys,
            [&](std::string_view key, const Node& value, const std::string& keyPath) -> Status {
                if (key == "write_report") {
                    return assign(readBool(value, keyPath), stick.writeReport);
                }
                return assign(readEnum(value, keyPath, kAfterSuccessActions), stick.afterSuccess);
            });
    }

    Status applyLed(const Node& node, const std::string& path, LedConfig& led)
    {
        static constexpr std::array<std::string_view, 2> kKeys { "name", "sysfs_root" };
        return forEachKey(node, path, kKeys,
            [&](std::string_view key, const Node& value, const std::string& keyPath) -> Status {
                if (key == "sysfs_root") {
                    return assign(readAbsolutePath(value, keyPath), led.sysfsRoot);
                }
                // One directory name under sysfs_root: never a path that
                // could lead the LED driver elsewhere.
                constexpr std::string_view kExpected
                    = "an LED name under sysfs_root (one path component, no '/'), or \"\" for none";
                auto name = readOptionalText(value, keyPath, kExpected);
                if (!name) {
                    return tl::unexpected(std::move(name.error()));
                }
                if (name->size() > kMaxNameLength || *name == "." || *name == ".."
                    || name->find('/') != std::string::npos) {
                    return fail(
                        value, keyPath, "expected " + std::string(kExpected) + ", got " + describe(value));
                }
                led.name = std::move(*name);
                return {};
            });
    }

    const std::string& sourceName_;
};

// ---------------------------------------------------------------------------
// Files.

// The whole file, at most kMaxDocumentBytes; nullopt when it does not exist.
tl::expected<std::optional<std::string>, ConfigError> readConfigFile(const std::filesystem::path& file)
{
    const std::string name = file.string();
    const auto systemError = [&](const std::string& doing, int error) {
        return tl::unexpected(
            ConfigError { name, 0, 0, "cannot " + doing + ": " + std::generic_category().message(error) });
    };
    const int descriptor = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (descriptor < 0) {
        if (errno == ENOENT) {
            return std::optional<std::string> {};
        }
        return systemError("open the configuration", errno);
    }
    struct Closer {
        int descriptor;
        ~Closer() { ::close(descriptor); }
    } closer { descriptor };

    struct stat status { };
    if (::fstat(descriptor, &status) != 0) {
        return systemError("read the configuration", errno);
    }
    if (!S_ISREG(status.st_mode)) {
        return tl::unexpected(ConfigError { name, 0, 0, "the configuration is not a regular file" });
    }
    std::string text;
    std::array<char, 65536> buffer {};
    while (text.size() <= kMaxDocumentBytes) {
        const ssize_t count = ::read(descriptor, buffer.data(), buffer.size());
        if (count < 0) {
            if (errno == EINTR) {
                continue;
            }
            return systemError("read the configuration", errno);
        }
        if (count == 0) {
            return std::optional<std::string> { std::move(text) };
        }
        text.append(buffer.data(), static_cast<std::size_t>(count));
    }
    return tl::unexpected(ConfigError { name, 0, 0,
        "the configuration is over the limit of " + std::to_string(kMaxDocumentBytes) + " bytes (1 MiB)" });
}

tl::expected<std::vector<std::filesystem::path>, ConfigError> dropInFiles(
    const std::filesystem::path& directory)
{
    std::error_code error;
    const auto status = std::filesystem::status(directory, error);
    if (status.type() == std::filesystem::file_type::not_found) {
        return std::vector<std::filesystem::path> {};
    }
    if (error) {
        return tl::unexpected(ConfigError { directory.string(), 0, 0, "cannot read: " + error.message() });
    }
    if (!std::filesystem::is_directory(status)) {
        return tl::unexpected(ConfigError { directory.string(), 0, 0, "is not a directory" });
    }
    std::vector<std::filesystem::path> files;
    std::filesystem::directory_iterator entries(directory, error);
    for (; !error && entries != std::filesystem::directory_iterator(); entries.increment(error)) {
        const std::string fileName = entries->path().filename().string();
        // Hidden names are editors' and package managers' leftovers.
        if (fileName.front() == '.' || entries->path().extension() != ".yaml") {
            continue;
        }
        std::error_code typeError;
        if (entries->is_regular_file(typeError)) {
            files.push_back(entries->path());
        }
    }
    if (error) {
        return tl::unexpected(ConfigError { directory.string(), 0, 0, "cannot list: " + error.message() });
    }
    std::sort(files.begin(), files.end(),
        [](const std::filesystem::path& left, const std::filesystem::path& right) {
            return left.filename().string() < right.filename().string();
        });
    return files;
}

// The first entry of a colon-separated list that systemd puts in the
// environment, when it is an absolute path.
std::optional<std::filesystem::path> systemdDirectory(const char* variable)
{
    const char* value = std::getenv(variable);
    if (value == nullptr) {
        return std::nullopt;
    }
    const std::string_view list(value);
    const std::string_view first = list.substr(0, list.find(':'));
    if (first.empty() || first.front() != '/') {
        return std::nullopt;
    }
    return std::filesystem::path(first);
}

} // namespace

tl::expected<Config, ConfigError> applyYaml(
    const Config& base, std::string_view yaml, const std::string& sourceName)
{
    try {
        auto root = parseDocument(yaml, sourceName);
        if (!root) {
            return tl::unexpected(std::move(root.error()));
        }
        Config config = base;
        if (!*root) {
            return config;
        }
        Applier applier(sourceName);
        if (auto applied = applier.apply(**root, config); !applied) {
            return tl::unexpected(std::move(applied.error()));
        }
        return config;
    } catch (const std::exception& exception) {
        return tl::unexpected(
            ConfigError { sourceName, 0, 0, std::string("cannot load: ") + exception.what() });
    } catch (...) {
        return tl::unexpected(ConfigError { sourceName, 0, 0, "cannot load: unknown error" });
    }
}

tl::expected<Config, ConfigError> loadConfig(const std::filesystem::path& mainFile, bool mainFileOptional)
{
    try {
        Config config;
        auto mainText = readConfigFile(mainFile);
        if (!mainText) {
            return tl::unexpected(std::move(mainText.error()));
        }
        if (*mainText) {
            auto applied = applyYaml(config, **mainText, mainFile.string());
            if (!applied) {
                return applied;
            }
            config = std::move(*applied);
        } else if (!mainFileOptional) {
            return tl::unexpected(ConfigError { mainFile.string(), 0, 0,
                "the configuration file does not exist (the package installs it; --config names another)" });
        }
        auto dropIns = dropInFiles(mainFile.parent_path() / "config.d");
        if (!dropIns) {
            return tl::unexpected(std::move(dropIns.error()));
        }
        for (const std::filesystem::path& file : *dropIns) {
            auto text = readConfigFile(file);
            if (!text) {
                return tl::unexpected(std::move(text.error()));
            }
            if (!*text) {
                continue; // removed while we were listing
            }
            auto applied = applyYaml(config, **text, file.string());
            if (!applied) {
                return applied;
            }
            config = std::move(*applied);
        }
        return config;
    } catch (const std::exception& exception) {
        return tl::unexpected(ConfigError {
            mainFile.string(), 0, 0, std::string("cannot load the configuration: ") + exception.what() });
    } catch (...) {
        return tl::unexpected(
            ConfigError { mainFile.string(), 0, 0, "cannot load the configuration: unknown error" });
    }
}

void applySystemdDirectories(Config& config)
{
    if (auto state = systemdDirectory("STATE_DIRECTORY")) {
        config.stateDirectory = std::move(*state);
    }
    if (auto runtime = systemdDirectory("RUNTIME_DIRECTORY")) {
        config.runtimeDirectory = std::move(*runtime);
    }
}

std::filesystem::path defaultMainFile()
{
    if (auto directory = systemdDirectory("CONFIGURATION_DIRECTORY")) {
        return *directory / "config.yaml";
    }
    return std::filesystem::path(kDefaultMainFile);
}

std::string dumpYaml(const Config& config)
{
    YAML::Emitter out;
    const auto text = [&](std::string_view key, const std::string& value) {
        // Always quoted: a value such as "true", "100" or "" stays text.
        out << YAML::Key << std::string(key) << YAML::Value << YAML::DoubleQuoted << value;
    };
    const auto boolean = [&](std::string_view key, bool value) {
        out << YAML::Key << std::string(key) << YAML::Value << YAML::TrueFalseBool << YAML::LowerCase
            << value;
    };
    const auto integer = [&](std::string_view key, std::int64_t value) {
        out << YAML::Key << std::string(key) << YAML::Value << value;
    };
    const auto section = [&](std::string_view key) {
        out << YAML::Key << std::string(key) << YAML::Value << YAML::BeginMap;
    };

    out << YAML::BeginMap;
    integer("schema_version", config.schemaVersion);

    section("usb");
    text("connector_id_path", config.usb.connectorIdPath);
    boolean("require_superspeed", config.usb.requireSuperSpeed);
    out << YAML::Key << "filesystems" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& filesystem : config.usb.filesystems) {
        out << YAML::DoubleQuoted << filesystem;
    }
    out << YAML::EndSeq << YAML::EndMap;

    section("trust");
    out << YAML::Key << "anchors" << YAML::Value << YAML::BeginSeq;
    for (const std::filesystem::path& anchor : config.trust.anchors) {
        out << YAML::DoubleQuoted << anchor.string();
    }
    out << YAML::EndSeq;
    integer("time_tolerance_seconds", config.trust.timeToleranceSeconds);
    integer("max_certificate_lifetime_seconds", config.trust.maxCertificateLifetimeSeconds);
    out << YAML::EndMap;

    section("device");
    text("expected_name", config.device.expectedName.value_or(""));
    out << YAML::EndMap;

    section("interfaces");
    for (network::EthernetPort port : network::kEthernetPorts) {
        const network::PortMapping& mapping = config.interfaces[port];
        section(network::toString(port));
        out << YAML::Key << "match" << YAML::Value;
        if (mapping.matcher) {
            out << YAML::Flow << YAML::BeginMap;
            text(network::toString(mapping.matcher->kind), mapping.matcher->value);
            out << YAML::EndMap;
        } else {
            out << YAML::Null;
        }
        integer("route_metric", mapping.routeMetric);
        out << YAML::EndMap;
    }
    out << YAML::EndMap;

    section("dns");
    text("backend", std::string(toString(config.dns.backend)));
    text("resolv_conf_path", config.dns.resolvConfPath.string());
    out << YAML::EndMap;

    section("ntp");
    text("backend", std::string(toString(config.ntp.backend)));
    text("timesyncd_dropin_dir", config.ntp.timesyncdDropInDirectory.string());
    text("chrony_sources_path", config.ntp.chronySourcesPath.string());
    out << YAML::EndMap;

    section("dhcp");
    text("dhcpcd_path", config.dhcp.dhcpcdPath.string());
    text("hook_path", config.dhcp.hookPath.string());
    out << YAML::EndMap;

    section("state");
    text("directory", config.stateDirectory.string());
    text("runtime_directory", config.runtimeDirectory.string());
    out << YAML::EndMap;

    section("stick");
    boolean("write_report", config.stick.writeReport);
    text("after_success", std::string(toString(config.stick.afterSuccess)));
    out << YAML::EndMap;

    section("led");
    text("name", config.led.name);
    text("sysfs_root", config.led.sysfsRoot.string());
    out << YAML::EndMap;

    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

std::filesystem::path DhcpConfig::defaultHookPath()
{
#ifdef OMNI_DHCPCD_HOOK_PATH
    return OMNI_DHCPCD_HOOK_PATH;
#else
    return "/usr/libexec/omni-provision/dhcpcd-hook";
#endif
}

} // namespace omni::config
