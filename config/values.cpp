#include "config/values.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <system_error>

#include "config/config.hpp"

namespace omni::config::values {

using yaml::describe;
using yaml::quote;

tl::unexpected<Problem> fail(const Node& at, const std::string& path, const std::string& message)
{
    return tl::unexpected(Problem { at.position, path.empty() ? message : path + ": " + message });
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

namespace {

constexpr std::size_t kMaxNameLength = 255;
constexpr std::size_t kMaxInterfaceNameLength = 15; // IFNAMSIZ - 1
constexpr std::array<std::string_view, 3> kMatchKeys { "name", "mac", "id_path" };

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

// Any scalar as written, except null and the YAML booleans (a boolean
// where text is expected is almost always the wrong key).
Read<std::string> readText(const Node& node, const std::string& path, std::string_view expected)
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
Read<std::string> readOptionalText(const Node& node, const std::string& path, std::string_view expected)
{
    if (node.kind == Node::Kind::Null) {
        return std::string();
    }
    return readText(node, path, expected);
}

// The kernel's rules for a new interface name (dev_valid_name()).
Read<std::string> readInterfaceName(const Node& node, const std::string& path)
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

std::string childPath(const std::string& path, std::string_view key)
{
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

} // namespace

Read<bool> Boolean::read(const Node& node, const std::string& path) const
{
    if (node.isPlain("true")) {
        return true;
    }
    if (node.isPlain("false")) {
        return false;
    }
    return fail(node, path, "expected true or false, got " + describe(node));
}

Read<std::int64_t> Integer::read(const Node& node, const std::string& path) const
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
    if (error != std::errc {} || end != text.data() + text.size() || number < minimum || number > maximum) {
        return fail(node, path, "expected " + range + ", got " + text + " (out of range)");
    }
    return number;
}

Read<int> SchemaVersion::read(const Node& node, const std::string& path) const
{
    const Integer anyInteger { std::numeric_limits<std::int64_t>::min(),
        std::numeric_limits<std::int64_t>::max() };
    auto version = anyInteger.read(node, path);
    if (!version) {
        return tl::unexpected(std::move(version.error()));
    }
    if (*version != kSchemaVersion) {
        return fail(node, path,
            "this omni-provisiond reads schema version " + std::to_string(kSchemaVersion) + " only, got "
                + std::to_string(*version));
    }
    return kSchemaVersion;
}

Read<std::filesystem::path> AbsolutePath::read(const Node& node, const std::string& path) const
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

Read<std::string> OneOf::read(const Node& node, const std::string& path) const
{
    if (node.kind != Node::Kind::Scalar || std::find(words.begin(), words.end(), node.text) == words.end()) {
        return fail(node, path, "expected one of " + join(words) + ", got " + describe(node));
    }
    return node.text;
}

Read<std::string> IdPath::read(const Node& node, const std::string& path) const
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
        return fail(node, path, "expected " + std::string(kExpected) + " (no spaces), got " + describe(node));
    }
    return text;
}

Read<std::optional<std::string>> DeviceName::read(const Node& node, const std::string& path) const
{
    constexpr std::string_view kExpected
        = "a device name of 1 to 255 characters a-z, A-Z, 0-9, '-' and '_' (or \"\" for none)";
    auto name = readOptionalText(node, path, kExpected);
    if (!name) {
        return tl::unexpected(std::move(name.error()));
    }
    if (name->empty()) {
        return std::optional<std::string> {};
    }
    const bool valid
        = name->size() <= kMaxNameLength && std::all_of(name->begin(), name->end(), [](char character) {
              return (character >= 'a' && character <= 'z') || (character >= 'A' && character <= 'Z')
                  || (character >= '0' && character <= '9') || character == '-' || character == '_';
          });
    if (!valid) {
        return fail(node, path, "expected " + std::string(kExpected) + ", got " + describe(node));
    }
    return std::optional<std::string>(std::move(*name));
}

Read<std::string> LedName::read(const Node& node, const std::string& path) const
{
    constexpr std::string_view kExpected
        = "an LED name under sysfs_root (one path component, no '/'), or \"\" for none";
    auto name = readOptionalText(node, path, kExpected);
    if (!name) {
        return name;
    }
    if (name->size() > kMaxNameLength || *name == "." || *name == ".."
        || name->find('/') != std::string::npos) {
        return fail(node, path, "expected " + std::string(kExpected) + ", got " + describe(node));
    }
    return name;
}

Read<Matcher::Type> Matcher::read(const Node& node, const std::string& path) const
{
    const std::string expected = "a mapping with exactly one of " + join(kMatchKeys) + " (or ~ for unmapped)";
    if (node.kind == Node::Kind::Null) {
        return Type {};
    }
    if (node.kind != Node::Kind::Mapping) {
        return fail(node, path, "expected " + expected + ", got " + describe(node));
    }
    if (node.entries.empty()) {
        return fail(node, path, "expected " + expected + ", got an empty mapping");
    }
    const yaml::Entry& entry = node.entries.front();
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
                "unknown key " + quote(second.text) + " in " + path + "; allowed keys: " + join(kMatchKeys)
                    + " (exactly one)");
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
        auto idPath = IdPath { false }.read(value, valuePath);
        if (!idPath) {
            return tl::unexpected(std::move(idPath.error()));
        }
        return network::InterfaceMatcher { *kind, std::move(*idPath) };
    }
    }
    return fail(node, path, "expected " + expected);
}

Dumped Matcher::dump(const Type& value) const
{
    if (!value) {
        return Null {};
    }
    return TextMapping { { { std::string(network::toString(value->kind)), value->value } } };
}

} // namespace omni::config::values
