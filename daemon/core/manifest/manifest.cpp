#include "daemon/core/manifest/manifest.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <utility>

#include "daemon/core/manifest/ipv4.hpp"
#include "daemon/core/text/json_text.hpp"
#include "daemon/core/text/text.hpp"
#include "daemon/core/time/time.hpp"

namespace omni::manifest {
namespace {

using nlohmann::json;
using text::firstInvalidUtf8;

// ---------------------------------------------------------------------------
// Text helpers. The model's lengths count Unicode code points and its
// patterns are ECMAScript regular expressions; both are implemented by hand
// over UTF-8 so that multi-byte characters and U+2028/U+2029 are judged as an
// ECMAScript engine would, in linear time (no backtracking, no ReDoS).

// Code points in valid UTF-8 (every byte that is not a continuation byte).
std::size_t codePointCount(std::string_view text)
{
    return static_cast<std::size_t>(std::count_if(
        text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// The ECMAScript LineTerminators, which '.' does not match: the reason
// ^.*$ and ^.+$ reject a value. Returns its name for the message.
std::optional<std::string_view> firstLineTerminator(std::string_view text)
{
    for (std::size_t offset = 0; offset < text.size(); ++offset) {
        if (text[offset] == '\n') {
            return "a line feed (U+000A)";
        }
        if (text[offset] == '\r') {
            return "a carriage return (U+000D)";
        }
        if (text.substr(offset, 3) == "\xE2\x80\xA8") {
            return "a line separator (U+2028)";
        }
        if (text.substr(offset, 3) == "\xE2\x80\xA9") {
            return "a paragraph separator (U+2029)";
        }
    }
    return std::nullopt;
}

bool isAsciiDigit(char c)
{
    return c >= '0' && c <= '9';
}
bool isAsciiLower(char c)
{
    return c >= 'a' && c <= 'z';
}

// ^[a-zA-Z0-9\-\_]+$ (length is checked separately).
bool matchesNamePattern(std::string_view text)
{
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return isAsciiDigit(c) || isAsciiLower(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    });
}

// The model's port: (6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}),
// i.e. 1-65535 without a leading zero.
bool matchesPort(std::string_view text)
{
    if (text.empty() || text.size() > 5 || text.front() == '0') {
        return false;
    }
    unsigned value = 0;
    for (char c : text) {
        if (!isAsciiDigit(c)) {
            return false;
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= 65535;
}

// The model's IpAddress pattern: a strict dotted quad with an optional :port.
bool matchesIpv4WithOptionalPort(std::string_view text)
{
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
        return parseIpv4(text).has_value();
    }
    return parseIpv4(text.substr(0, colon)).has_value() && matchesPort(text.substr(colon + 1));
}

// ^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$ : dot-terminated labels of lowercase
// letters and digits with single inner hyphens, then a TLD of 2+ letters.
bool matchesLowercaseDnsName(std::string_view text)
{
    const std::size_t lastDot = text.rfind('.');
    if (lastDot == std::string_view::npos) {
        return false;
    }
    const std::string_view topLevel = text.substr(lastDot + 1);
    if (topLevel.size() < 2 || !std::all_of(topLevel.begin(), topLevel.end(), isAsciiLower)) {
        return false;
    }
    std::string_view labels = text.substr(0, lastDot + 1);
    while (!labels.empty()) {
        const std::size_t dot = labels.find('.');
        const std::string_view label = labels.substr(0, dot);
        if (label.empty() || label.front() == '-' || label.back() == '-'
            || label.find("--") != std::string_view::npos) {
            return false;
        }
        const bool allowed = std::all_of(label.begin(), label.end(),
            [](char c) { return isAsciiDigit(c) || isAsciiLower(c) || c == '-'; });
        if (!allowed) {
            return false;
        }
        labels.remove_prefix(dot + 1);
    }
    return true;
}

// The model's IpAddressOrServerName pattern.
bool matchesIpAddressOrServerName(std::string_view text)
{
    return matchesLowercaseDnsName(text) || matchesIpv4WithOptionalPort(text);
}

// A value shown in a message: JSON-quoted (control characters escaped, so a
// hostile value cannot forge journal lines) and cut to a readable length.
std::string shownValue(std::string_view text)
{
    constexpr std::size_t kMaxShownBytes = 64;
    std::string shown(text);
    bool cut = false;
    if (shown.size() > kMaxShownBytes) {
        std::size_t end = kMaxShownBytes;
        while (end > 0 && (static_cast<unsigned char>(shown[end]) & 0xC0) == 0x80) {
            --end;
        }
        shown.resize(end);
        cut = true;
    }
    return text::dumpJson(json(shown)) + (cut ? "..." : "");
}

std::string jsonTypeName(const json& value)
{
    if (value.is_number()) {
        return "a number";
    }
    if (value.is_boolean()) {
        return "a boolean";
    }
    if (value.is_array()) {
        return "a list";
    }
    if (value.is_object()) {
        return "an object";
    }
    if (value.is_string()) {
        return "a string";
    }
    return std::string("a ") + value.type_name();
}

std::string memberPath(const std::string& parent, std::string_view name)
{
    return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

std::string itemPath(const std::string& parent, std::size_t index)
{
    return parent + "[" + std::to_string(index) + "]";
}

// ---------------------------------------------------------------------------
// Model constraints of string shapes.

enum class Pattern {
    SingleLine, // ^.*$ (and ^.+$ with a minimum length of 1)
    Name, // ^[a-zA-Z0-9\-\_]+$
    IpAddress, // IPv4 with optional :port
    IpAddressOrServerName,
    Unconstrained, // no pattern in the model (Arn, IotThingName)
};

struct StringRule {
    std::size_t minLength;
    std::size_t maxLength;
    Pattern pattern;
};

constexpr StringRule kDeviceNameRule { 1, 255, Pattern::Name };
constexpr StringRule kDescriptionRule { 0, 255, Pattern::SingleLine };
constexpr StringRule kTagKeyRule { 1, 128, Pattern::SingleLine };
constexpr StringRule kTagValueRule { 0, 256, Pattern::SingleLine };
constexpr StringRule kNonEmptyLineRule { 1, 255, Pattern::SingleLine }; // DefaultGateway, Mask, Dns
constexpr StringRule kIpAddressRule { 1, 255, Pattern::IpAddress };
constexpr StringRule kNtpServerRule { 1, 255, Pattern::IpAddressOrServerName };
constexpr StringRule kDeviceIdRule { 1, 64, Pattern::Name };
constexpr StringRule kArnRule { 1, 255, Pattern::Unconstrained };
// ConnectionType: an enum, judged by value after the type check.
constexpr StringRule kEnumRule { 0, SIZE_MAX, Pattern::Unconstrained };
// Enrollment.Url and .ServerCa: judged by their own rules (enrollment.hpp) after the type check.
constexpr StringRule kEnrollmentRule { 0, SIZE_MAX, Pattern::Unconstrained };
constexpr std::size_t kMaxTags = 50;
constexpr std::size_t kMaxNtpServers = 5;

// The first rule of `rule` that `text` breaks, as a message.
std::optional<std::string> checkStringRule(std::string_view text, const StringRule& rule)
{
    if (const auto offset = firstInvalidUtf8(text)) {
        return "is not valid UTF-8 (byte " + std::to_string(*offset) + ")";
    }
    const std::size_t length = codePointCount(text);
    const std::string allowed = std::to_string(rule.minLength) + " to " + std::to_string(rule.maxLength);
    if (length < rule.minLength) {
        return "is empty; it must be " + allowed + " characters long";
    }
    if (length > rule.maxLength) {
        return "is " + std::to_string(length) + " characters long; it must be " + allowed
            + " characters long";
    }
    switch (rule.pattern) {
    case Pattern::SingleLine:
        if (const auto terminator = firstLineTerminator(text)) {
            return "must be a single line, but contains " + std::string(*terminator);
        }
        break;
    case Pattern::Name:
        if (!matchesNamePattern(text)) {
            return "may contain only the letters a-z and A-Z, digits, '-' and '_' (pattern "
                   "^[a-zA-Z0-9\\-\\_]+$), got "
                + shownValue(text);
        }
        break;
    case Pattern::IpAddress:
        if (!matchesIpv4WithOptionalPort(text)) {
            return "must be an IPv4 address such as 192.168.1.10 (four decimal numbers 0-255 without leading "
                   "zeros), got "
                + shownValue(text);
        }
        break;
    case Pattern::IpAddressOrServerName:
        if (!matchesIpAddressOrServerName(text)) {
            return "must be a lowercase DNS name such as pool.ntp.org, or an IPv4 address with an optional "
                   ":port of 1-65535 such as 192.168.1.1:123, got "
                + shownValue(text);
        }
        break;
    case Pattern::Unconstrained:
        break;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// Section 4 rules for IPv4 addresses.

std::uint32_t maskForPrefix(int prefixLength)
{
    return prefixLength == 0 ? 0U : ~std::uint32_t { 0 } << (32 - prefixLength);
}

std::optional<std::string> unicastProblem(std::uint32_t address)
{
    const std::string shown = formatIpv4(address);
    switch (address >> 24) {
    case 0:
        return shown + " is in 0.0.0.0/8 (\"this network\"); the device needs a unicast address";
    case 127:
        return shown + " is a loopback address (127.0.0.0/8); the device needs a unicast address";
    default:
        break;
    }
    if ((address >> 28) == 0xE) {
        return shown + " is a multicast address (224.0.0.0/4); the device needs a unicast address";
    }
    if ((address >> 28) == 0xF) {
        return shown + " is in the reserved range 240.0.0.0/4; the device needs a unicast address";
    }
    return std::nullopt;
}

struct Ipv4Field {
    std::optional<std::uint32_t> address; // set when the field passed every rule of its own
    std::optional<std::string> error;
};

// A gateway or interface address after the model's rules: plain IPv4, no
// port, unicast.
Ipv4Field deviceAddress(std::string_view text, std::string_view what)
{
    const std::size_t colon = text.find(':');
    if (colon != std::string_view::npos && parseIpv4(text.substr(0, colon))) {
        return { std::nullopt,
            "must not have a port: the device uses " + std::string(what) + " as a plain IPv4 address, got "
                + shownValue(text) };
    }
    const auto address = parseIpv4(text);
    if (!address) {
        return { std::nullopt, "must be an IPv4 address such as 192.168.1.1, got " + shownValue(text) };
    }
    if (auto problem = unicastProblem(*address)) {
        return { std::nullopt, std::move(problem) };
    }
    return { address, std::nullopt };
}

std::string dnsProblem(std::string_view text)
{
    const std::string example = "IPv4 or IPv6 address such as 192.168.1.1 or 2001:db8::53";
    if (text.find('[') != std::string_view::npos || text.find(']') != std::string_view::npos) {
        return "must be an " + example + " without brackets, got " + shownValue(text);
    }
    if (text.find('%') != std::string_view::npos) {
        return "must be an " + example + " without a zone (%interface), got " + shownValue(text);
    }
    const std::size_t colon = text.find(':');
    if (colon != std::string_view::npos && parseIpv4(text.substr(0, colon))) {
        return "must be an " + example + " without a port, got " + shownValue(text);
    }
    return "must be an " + example + " (names cannot be resolved before DNS is set), got " + shownValue(text);
}

// ---------------------------------------------------------------------------
// The validator: walks the shapes in the model's member order and collects
// every field error (at most one per field).

class Validator {
public:
    explicit Validator(std::vector<std::string>* unknownKeys)
        : unknownKeys_(unknownKeys)
    {
    }

    std::vector<FieldError>& errors() { return errors_; }

    void report(std::string path, std::string message)
    {
        errors_.push_back({ std::move(path), std::move(message) });
    }

    // A member's value; a null member counts as absent (AWS JSON protocols
    // treat an explicit null like an omitted member).
    static const json* member(const json& object, std::string_view name)
    {
        const auto found = object.find(std::string(name));
        if (found == object.end() || found->is_null()) {
            return nullptr;
        }
        return &*found;
    }

    void noteUnknownMembers(
        const json& object, const std::string& path, std::initializer_list<std::string_view> known)
    {
        if (unknownKeys_ == nullptr) {
            return;
        }
        for (const auto& [key, value] : object.items()) {
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                unknownKeys_->push_back(memberPath(path, text::escaped(key)));
            }
        }
    }

    // Model checks of a string member, not reported: the caller decides the
    // order (a static IP's fields depend on each other).
    struct Checked {
        std::optional<std::string> value; // present and passed the model's rules
        std::optional<std::string> error;
    };

    static Checked checkString(const json* value, bool required, const StringRule& rule)
    {
        if (value == nullptr) {
            return { std::nullopt, required ? std::optional<std::string>("is required") : std::nullopt };
        }
        if (!value->is_string()) {
            return { std::nullopt, "must be a string, not " + jsonTypeName(*value) };
        }
        const auto& text = value->get_ref<const std::string&>();
        if (auto error = checkStringRule(text, rule)) {
            return { std::nullopt, std::move(error) };
        }
        return { text, std::nullopt };
    }

    std::optional<std::string> string(const json& object, const std::string& parent, std::string_view name,
        bool required, const StringRule& rule)
    {
        auto checked = checkString(member(object, name), required, rule);
        if (checked.error) {
            report(memberPath(parent, name), std::move(*checked.error));
        }
        return std::move(checked.value);
    }

    // An object member; reports a wrong type. nullptr when absent or wrong.
    const json* object(
        const json& parent, const std::string& parentPath, std::string_view name, bool required)
    {
        const json* value = member(parent, name);
        if (value == nullptr) {
            if (required) {
                report(memberPath(parentPath, name), "is required");
            }
            return nullptr;
        }
        if (!value->is_object()) {
            report(memberPath(parentPath, name), "must be an object, not " + jsonTypeName(*value));
            return nullptr;
        }
        return value;
    }

    std::map<std::string, std::string> tags(const json& parent, const std::string& parentPath)
    {
        std::map<std::string, std::string> result;
        const json* tags = object(parent, parentPath, "Tags", false);
        if (tags == nullptr) {
            return result;
        }
        const std::string tagsPath = memberPath(parentPath, "Tags");
        if (tags->size() > kMaxTags) {
            report(tagsPath,
                "has " + std::to_string(tags->size()) + " entries; at most " + std::to_string(kMaxTags)
                    + " are allowed");
        }
        for (const auto& [key, value] : tags->items()) {
            // The key is the document's text: escaped, so the path is one safe line.
            const std::string path = tagsPath + "." + text::escaped(key);
            if (auto keyError = checkStringRule(key, kTagKeyRule)) {
                report(path, "the tag key " + *keyError);
                continue;
            }
            // A dense map: a null value is malformed, not absent.
            if (!value.is_string()) {
                report(path, "must be a string, not " + jsonTypeName(value));
                continue;
            }
            const auto& text = value.get_ref<const std::string&>();
            if (auto valueError = checkStringRule(text, kTagValueRule)) {
                report(path, "the tag value " + *valueError);
                continue;
            }
            result.emplace(key, text);
        }
        return result;
    }

    std::optional<NetworkingConfiguration> networking(const json& parent, const std::string& parentPath)
    {
        const json* value = object(parent, parentPath, "NetworkingConfiguration", false);
        if (value == nullptr) {
            return std::nullopt;
        }
        const std::string path = memberPath(parentPath, "NetworkingConfiguration");
        NetworkingConfiguration result;
        result.ethernet0 = ethernet(*value, path, "Ethernet0");
        result.ethernet1 = ethernet(*value, path, "Ethernet1");
        result.ntp = ntp(*value, path);
        noteUnknownMembers(*value, path, { "Ethernet0", "Ethernet1", "Ntp" });
        return result;
    }

    // Section 10: {"Url": ..., "ServerCa": ...}. Unknown members are ignored
    // (noted), as everywhere else in the manifest.
    std::optional<Enrollment> enrollment(const json& parent, const std::string& parentPath)
    {
        const json* value = object(parent, parentPath, "Enrollment", false);
        if (value == nullptr) {
            return std::nullopt;
        }
        const std::string path = memberPath(parentPath, "Enrollment");
        Enrollment result;
        if (auto url = string(*value, path, "Url", true, kEnrollmentRule)) {
            if (auto problem = enrollmentUrlProblem(*url)) {
                report(memberPath(path, "Url"), std::move(*problem));
            } else {
                result.url = std::move(*url);
            }
        }
        if (auto serverCa = string(*value, path, "ServerCa", true, kEnrollmentRule)) {
            auto certificates = parseServerCa(*serverCa);
            if (!certificates) {
                report(memberPath(path, "ServerCa"), std::move(certificates.error()));
            } else {
                result.serverCa = std::move(*serverCa);
                result.serverCaCertificates = std::move(*certificates);
            }
        }
        noteUnknownMembers(*value, path, { "ServerCa", "Url" });
        return result;
    }

private:
    std::optional<EthernetPayload> ethernet(
        const json& parent, const std::string& parentPath, std::string_view name)
    {
        const json* value = object(parent, parentPath, name, false);
        if (value == nullptr) {
            return std::nullopt;
        }
        const std::string path = memberPath(parentPath, name);
        EthernetPayload result;
        std::optional<ConnectionType> connectionType;
        if (const auto text = string(*value, path, "ConnectionType", true, kEnumRule)) {
            if (*text == "STATIC_IP") {
                connectionType = ConnectionType::StaticIp;
            } else if (*text == "DHCP") {
                connectionType = ConnectionType::Dhcp;
            } else {
                report(memberPath(path, "ConnectionType"),
                    "must be STATIC_IP or DHCP (exactly, in upper case), got " + shownValue(*text));
            }
        }
        if (connectionType) {
            result.connectionType = *connectionType;
        }
        const json* staticIp = object(*value, path, "StaticIpConnectionInfo", false);
        const std::string staticIpPath = memberPath(path, "StaticIpConnectionInfo");
        if (staticIp != nullptr) {
            result.staticIp = staticIpInfo(*staticIp, staticIpPath);
        } else if (connectionType == ConnectionType::StaticIp
            && member(*value, "StaticIpConnectionInfo") == nullptr) {
            report(staticIpPath, "is required when ConnectionType is STATIC_IP");
        }
        noteUnknownMembers(*value, path, { "ConnectionType", "StaticIpConnectionInfo" });
        return result;
    }

    StaticIpConnectionInfo staticIpInfo(const json& value, const std::string& path)
    {
        // Model checks first, then section 4. The gateway's rules need the
        // address and the mask, so each field's single error is decided
        // before any is reported, then reported in the model's member order.
        const std::string gatewayPath = memberPath(path, "DefaultGateway");
        const std::string dnsPath = memberPath(path, "Dns");
        const std::string addressPath = memberPath(path, "IpAddress");
        const std::string maskPath = memberPath(path, "Mask");

        StaticIpConnectionInfo result;
        auto gatewayText = checkString(member(value, "DefaultGateway"), true, kNonEmptyLineRule);
        auto addressText = checkString(member(value, "IpAddress"), true, kIpAddressRule);
        auto maskText = checkString(member(value, "Mask"), true, kNonEmptyLineRule);

        Ipv4Field gateway { std::nullopt, std::move(gatewayText.error) };
        if (gatewayText.value) {
            result.defaultGateway = *gatewayText.value;
            gateway = deviceAddress(*gatewayText.value, "DefaultGateway");
        }
        Ipv4Field address { std::nullopt, std::move(addressText.error) };
        if (addressText.value) {
            result.ipAddress = *addressText.value;
            address = deviceAddress(*addressText.value, "IpAddress");
        }
        std::optional<int> prefixLength;
        std::optional<std::string> maskError = std::move(maskText.error);
        if (maskText.value) {
            result.mask = *maskText.value;
            prefixLength = parseMask(*maskText.value);
            if (!prefixLength) {
                maskError = "must be a contiguous dotted-quad mask such as 255.255.255.0 or a prefix length "
                            "such as 24 or /24 (no sign, spaces or leading zeros), got "
                    + shownValue(*maskText.value);
            } else if (*prefixLength == 32) {
                maskError = "a prefix length of 32 leaves no room for a gateway; use 1 to 31, got "
                    + shownValue(*maskText.value);
                prefixLength.reset();
            } else if (*prefixLength == 0) {
                maskError
                    = "a prefix length of 0 is not a subnet; use 1 to 31, got " + shownValue(*maskText.value);
                prefixLength.reset();
            }
        }

        if (address.address && prefixLength) {
            const std::uint32_t mask = maskForPrefix(*prefixLength);
            const std::uint32_t network = *address.address & mask;
            const std::uint32_t broadcast = network | ~mask;
            const std::string subnet = formatIpv4(network) + "/" + std::to_string(*prefixLength);
            // RFC 3021: in a /31 both addresses are hosts; below that the
            // first and last address of the subnet are not.
            const auto reservedProblem = [&](std::uint32_t candidate) -> std::optional<std::string> {
                if (*prefixLength > 30) {
                    return std::nullopt;
                }
                if (candidate == network) {
                    return formatIpv4(candidate) + " is the network address of " + subnet
                        + "; use a host address";
                }
                if (candidate == broadcast) {
                    return formatIpv4(candidate) + " is the broadcast address of " + subnet
                        + "; use a host address";
                }
                return std::nullopt;
            };
            if (auto problem = reservedProblem(*address.address)) {
                address.error = std::move(problem);
            }
            if (gateway.address) {
                if ((*gateway.address & mask) != network) {
                    gateway.error = formatIpv4(*gateway.address) + " is outside the subnet " + subnet
                        + " of IpAddress " + formatIpv4(*address.address);
                } else if (*gateway.address == *address.address) {
                    gateway.error = formatIpv4(*gateway.address)
                        + " is the device's own IpAddress; the gateway must be another host of " + subnet;
                } else if (auto problem = reservedProblem(*gateway.address)) {
                    gateway.error = std::move(problem);
                }
            }
            if (!address.error) {
                result.address = *address.address;
                result.prefixLength = *prefixLength;
            }
            if (!gateway.error) {
                result.gateway = *gateway.address;
            }
        }

        if (gateway.error) {
            report(gatewayPath, std::move(*gateway.error));
        }
        result.dns = dnsList(member(value, "Dns"), dnsPath);
        if (address.error) {
            report(addressPath, std::move(*address.error));
        }
        if (maskError) {
            report(maskPath, std::move(*maskError));
        }
        noteUnknownMembers(value, path, { "DefaultGateway", "Dns", "IpAddress", "Mask" });
        return result;
    }

    std::vector<std::string> dnsList(const json* value, const std::string& path)
    {
        std::vector<std::string> result;
        if (value == nullptr) {
            report(path, "is required");
            return result;
        }
        if (!value->is_array()) {
            report(path, "must be a list of strings, not " + jsonTypeName(*value));
            return result;
        }
        if (value->empty()) {
            report(path, "must list at least one DNS server (an IPv4 or IPv6 address)");
            return result;
        }
        for (std::size_t index = 0; index < value->size(); ++index) {
            // A dense list: a null item is malformed, not absent.
            const json& item = (*value)[index];
            const std::string entryPath = itemPath(path, index);
            auto checked = checkString(&item, true, kNonEmptyLineRule);
            if (checked.error) {
                report(entryPath, std::move(*checked.error));
                continue;
            }
            if (!isIpLiteral(*checked.value)) {
                report(entryPath, dnsProblem(*checked.value));
                continue;
            }
            result.push_back(std::move(*checked.value));
        }
        return result;
    }

    std::optional<NtpPayload> ntp(const json& parent, const std::string& parentPath)
    {
        const json* value = object(parent, parentPath, "Ntp", false);
        if (value == nullptr) {
            return std::nullopt;
        }
        const std::string path = memberPath(parentPath, "Ntp");
        const std::string serversPath = memberPath(path, "NtpServers");
        NtpPayload result;
        const json* servers = member(*value, "NtpServers");
        if (servers == nullptr) {
            report(serversPath, "is required");
        } else if (!servers->is_array()) {
            report(serversPath, "must be a list of strings, not " + jsonTypeName(*servers));
        } else {
            if (servers->size() > kMaxNtpServers) {
                report(serversPath,
                    "has " + std::to_string(servers->size()) + " servers; at most "
                        + std::to_string(kMaxNtpServers) + " are allowed");
            }
            for (std::size_t index = 0; index < servers->size(); ++index) {
                auto checked = checkString(&(*servers)[index], true, kNtpServerRule);
                if (checked.error) {
                    report(itemPath(serversPath, index), std::move(*checked.error));
                    continue;
                }
                result.servers.push_back(std::move(*checked.value));
            }
        }
        noteUnknownMembers(*value, path, { "NtpServers" });
        return result;
    }

    std::vector<FieldError> errors_;
    std::vector<std::string>* unknownKeys_;
};

// ---------------------------------------------------------------------------
// manifest.json specifics.

constexpr std::string_view kManifestEntry = "manifest.json";

// Thrown from the parser callback to stop parsing; caught in parseManifest.
struct RejectedManifest {
    std::string message;
};

Error manifestError(const std::string& path, const std::string& message)
{
    return Error { ReasonCode::ManifestInvalid, Check::Manifest, path + ": " + message, path };
}

json parseStrictJson(std::string_view bytes)
{
    // Duplicate keys are refused at every level. The digest binds the bytes,
    // not one reading of them: with {"Name":"a","Name":"b"} nlohmann keeps
    // the last value and other parsers the first, so the issuer's tools and
    // the device could see different configurations under one signature.
    std::vector<std::set<std::string>> keysPerOpenObject;
    const json::parser_callback_t callback = [&](int depth, json::parse_event_t event, json& parsed) {
        switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
            // depth counts the containers around this one.
            if (depth + 1 > kMaxManifestDepth) {
                throw RejectedManifest { "is nested deeper than " + std::to_string(kMaxManifestDepth)
                    + " levels" };
            }
            if (event == json::parse_event_t::object_start) {
                keysPerOpenObject.emplace_back();
            }
            break;
        case json::parse_event_t::key: {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!keysPerOpenObject.back().insert(key).second) {
                throw RejectedManifest { "has the key " + shownValue(key)
                    + " twice in one object; duplicate keys are not allowed" };
            }
            break;
        }
        case json::parse_event_t::object_end:
            keysPerOpenObject.pop_back();
            break;
        case json::parse_event_t::array_end:
        case json::parse_event_t::value:
            break;
        }
        return true;
    };
    return json::parse(bytes.begin(), bytes.end(), callback, true, false);
}

// "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at line 1, ..."
std::string withoutExceptionId(const std::string& what)
{
    const std::size_t close = what.find("] ");
    return close == std::string::npos ? what : what.substr(close + 2);
}

} // namespace

tl::expected<json, std::string> parseStrictJsonText(std::string_view bytes)
{
    if (const auto offset = firstInvalidUtf8(bytes)) {
        return tl::unexpected("is not valid UTF-8 (byte " + std::to_string(*offset) + ")");
    }
    // nlohmann's lexer takes a NUL byte for the end of the input and would
    // ignore whatever follows; JSON text never contains a raw NUL (inside a
    // string it must be escaped), so refuse it before the parser sees it.
    if (const std::size_t nul = bytes.find('\0'); nul != std::string_view::npos) {
        return tl::unexpected(
            "contains a NUL byte at byte " + std::to_string(nul) + "; JSON text cannot contain one");
    }
    // nlohmann skips a byte order mark silently; the issuer never writes one
    // and RFC 8259 forbids it, so refuse it rather than guess.
    if (bytes.substr(0, 3) == "\xEF\xBB\xBF") {
        return tl::unexpected(std::string("starts with a byte order mark; it must be plain UTF-8 JSON"));
    }
    try {
        return parseStrictJson(bytes);
    } catch (const RejectedManifest& rejected) {
        return tl::unexpected(rejected.message);
    } catch (const json::exception& error) {
        return tl::unexpected("is not valid JSON: " + withoutExceptionId(error.what()));
    }
}

namespace {

Result<Manifest> parseManifestUnchecked(std::string_view bytes)
{
    const std::string entry(kManifestEntry);
    if (bytes.size() > kMaxManifestBytes) {
        return tl::unexpected(manifestError(entry,
            "is " + std::to_string(bytes.size()) + " bytes; at most " + std::to_string(kMaxManifestBytes)
                + " are allowed"));
    }
    auto parsed = parseStrictJsonText(bytes);
    if (!parsed) {
        return tl::unexpected(manifestError(entry, parsed.error()));
    }
    json document = std::move(*parsed);
    if (!document.is_object()) {
        return tl::unexpected(manifestError(entry, "must be a JSON object, not " + jsonTypeName(document)));
    }

    Manifest manifest;
    Validator validator(&manifest.unknownKeys);
    const std::string root;

    const json* formatVersion = Validator::member(document, "FormatVersion");
    if (formatVersion == nullptr) {
        validator.report("FormatVersion", "is required (this device reads format version 1)");
    } else if (!formatVersion->is_number()) {
        validator.report("FormatVersion", "must be the number 1, not " + jsonTypeName(*formatVersion));
    } else if (formatVersion->get<double>() != 1.0) {
        validator.report(
            "FormatVersion", "is " + text::dumpJson(*formatVersion) + "; this device reads format version 1");
    }

    auto name = validator.string(document, root, "Name", true, kDeviceNameRule);
    auto deviceId = validator.string(document, root, "DeviceId", true, kDeviceIdRule);
    auto arn = validator.string(document, root, "Arn", true, kArnRule);
    auto iotThingName = validator.string(document, root, "IotThingName", true, kArnRule);
    manifest.request.description = validator.string(document, root, "Description", false, kDescriptionRule);
    manifest.request.tags = validator.tags(document, root);
    const json* createdAt = Validator::member(document, "CreatedAt");
    if (createdAt != nullptr) {
        if (!createdAt->is_string()) {
            validator.report("CreatedAt", "must be a string, not " + jsonTypeName(*createdAt));
        } else if (!time::parseRfc3339(createdAt->get_ref<const std::string&>())) {
            validator.report("CreatedAt",
                "must be an RFC 3339 date-time such as 2026-11-26T02:30:00Z, got "
                    + shownValue(createdAt->get_ref<const std::string&>()));
        } else {
            manifest.createdAt = createdAt->get<std::string>();
        }
    }
    manifest.request.networking = validator.networking(document, root);
    manifest.enrollment = validator.enrollment(document, root);
    validator.noteUnknownMembers(document, root,
        { "FormatVersion", "Name", "DeviceId", "Arn", "IotThingName", "Description", "Tags", "CreatedAt",
            "NetworkingConfiguration", "Enrollment" });

    if (!validator.errors().empty()) {
        const FieldError& first = validator.errors().front();
        return tl::unexpected(manifestError(first.path, first.message));
    }
    manifest.request.name = std::move(*name);
    manifest.deviceId = std::move(*deviceId);
    manifest.arn = std::move(*arn);
    manifest.iotThingName = std::move(*iotThingName);
    return manifest;
}

json toJson(const StaticIpConnectionInfo& info)
{
    return json { { "DefaultGateway", info.defaultGateway }, { "Dns", info.dns },
        { "IpAddress", info.ipAddress }, { "Mask", info.mask } };
}

json toJson(const EthernetPayload& ethernet)
{
    json result = json::object();
    result["ConnectionType"] = std::string(toString(ethernet.connectionType));
    if (ethernet.staticIp) {
        result["StaticIpConnectionInfo"] = toJson(*ethernet.staticIp);
    }
    return result;
}

} // namespace

tl::expected<ProvisionRequest, std::vector<FieldError>> validateProvisionRequest(const nlohmann::json& body)
{
    try {
        if (!body.is_object()) {
            return tl::unexpected(std::vector<FieldError> {
                { "", "the request body must be a JSON object, not " + jsonTypeName(body) } });
        }
        Validator validator(nullptr);
        ProvisionRequest request;
        const std::string root;
        request.description = validator.string(body, root, "Description", false, kDescriptionRule);
        auto name = validator.string(body, root, "Name", true, kDeviceNameRule);
        request.networking = validator.networking(body, root);
        request.tags = validator.tags(body, root);
        if (!validator.errors().empty()) {
            return tl::unexpected(std::move(validator.errors()));
        }
        request.name = std::move(*name);
        return request;
    } catch (const std::exception& error) {
        return tl::unexpected(
            std::vector<FieldError> { { "", std::string("internal error: ") + error.what() } });
    }
}

Result<Manifest> parseManifest(std::string_view bytes)
{
    try {
        return parseManifestUnchecked(bytes);
    } catch (const std::exception& error) {
        return fail(ReasonCode::InternalError, Check::Manifest,
            std::string("reading manifest.json: internal error: ") + error.what(),
            std::string(kManifestEntry));
    }
}

tl::expected<Enrollment, FieldError> makeEnrollment(std::string url, std::string serverCa)
{
    if (auto problem = enrollmentUrlProblem(url)) {
        return tl::unexpected(FieldError { "Enrollment.Url", std::move(*problem) });
    }
    auto certificates = parseServerCa(serverCa);
    if (!certificates) {
        return tl::unexpected(FieldError { "Enrollment.ServerCa", std::move(certificates.error()) });
    }
    return Enrollment { std::move(url), std::move(serverCa), std::move(*certificates) };
}

nlohmann::json toJson(const Enrollment& enrollment)
{
    return json { { "ServerCa", enrollment.serverCa }, { "Url", enrollment.url } };
}

nlohmann::json toJson(const NetworkingConfiguration& networking)
{
    json result = json::object();
    if (networking.ethernet0) {
        result["Ethernet0"] = toJson(*networking.ethernet0);
    }
    if (networking.ethernet1) {
        result["Ethernet1"] = toJson(*networking.ethernet1);
    }
    if (networking.ntp) {
        result["Ntp"] = json { { "NtpServers", networking.ntp->servers } };
    }
    return result;
}

nlohmann::json toJson(const Manifest& manifest)
{
    json result = json::object();
    result["FormatVersion"] = 1;
    result["Name"] = manifest.request.name;
    result["DeviceId"] = manifest.deviceId;
    result["Arn"] = manifest.arn;
    result["IotThingName"] = manifest.iotThingName;
    if (manifest.request.description) {
        result["Description"] = *manifest.request.description;
    }
    if (!manifest.request.tags.empty()) {
        result["Tags"] = manifest.request.tags;
    }
    if (manifest.createdAt) {
        result["CreatedAt"] = *manifest.createdAt;
    }
    if (manifest.request.networking) {
        result["NetworkingConfiguration"] = toJson(*manifest.request.networking);
    }
    // Absent stays absent: a manifest without the member re-encodes to the same bytes.
    if (manifest.enrollment) {
        result["Enrollment"] = toJson(*manifest.enrollment);
    }
    return result;
}

std::string_view toString(ConnectionType type)
{
    switch (type) {
    case ConnectionType::StaticIp:
        return "STATIC_IP";
    case ConnectionType::Dhcp:
        return "DHCP";
    }
    return "DHCP";
}

} // namespace omni::manifest
