#include "daemon/core/network/interface_mapping.hpp"

#include <cstdio>

namespace omni::network {

std::string_view toString(EthernetPort port)
{
    return port == EthernetPort::Ethernet0 ? "Ethernet0" : "Ethernet1";
}

std::optional<EthernetPort> ethernetPortFromString(std::string_view name)
{
    for (EthernetPort port : kEthernetPorts) {
        if (toString(port) == name) {
            return port;
        }
    }
    return std::nullopt;
}

std::string_view toString(MatchKind kind)
{
    switch (kind) {
    case MatchKind::Name:
        return "name";
    case MatchKind::MacAddress:
        return "mac";
    case MatchKind::IdPath:
        return "id_path";
    }
    return "?";
}

std::optional<MatchKind> matchKindFromString(std::string_view name)
{
    for (MatchKind kind : { MatchKind::Name, MatchKind::MacAddress, MatchKind::IdPath }) {
        if (toString(kind) == name) {
            return kind;
        }
    }
    return std::nullopt;
}

std::string describe(const InterfaceMatcher& matcher)
{
    switch (matcher.kind) {
    case MatchKind::Name:
        return "interface name \"" + matcher.value + "\"";
    case MatchKind::MacAddress:
        return "MAC address " + matcher.value;
    case MatchKind::IdPath:
        return "udev ID_PATH \"" + matcher.value + "\"";
    }
    return matcher.value;
}

namespace {

std::optional<std::uint8_t> hexDigit(char c)
{
    if (c >= '0' && c <= '9') {
        return static_cast<std::uint8_t>(c - '0');
    }
    if (c >= 'a' && c <= 'f') {
        return static_cast<std::uint8_t>(c - 'a' + 10);
    }
    if (c >= 'A' && c <= 'F') {
        return static_cast<std::uint8_t>(c - 'A' + 10);
    }
    return std::nullopt;
}

} // namespace

std::optional<MacAddress> parseMacAddress(std::string_view text)
{
    // Six pairs of hex digits and five separators, all the same (':' or '-').
    if (text.size() != 17) {
        return std::nullopt;
    }
    const char separator = text[2];
    if (separator != ':' && separator != '-') {
        return std::nullopt;
    }
    MacAddress address {};
    for (std::size_t octet = 0; octet < address.size(); ++octet) {
        const std::size_t at = octet * 3;
        const auto high = hexDigit(text[at]);
        const auto low = hexDigit(text[at + 1]);
        if (!high || !low || (octet + 1 < address.size() && text[at + 2] != separator)) {
            return std::nullopt;
        }
        address[octet] = static_cast<std::uint8_t>(*high << 4 | *low);
    }
    return address;
}

std::string formatMacAddress(const MacAddress& address)
{
    char text[18];
    std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", address[0], address[1], address[2],
        address[3], address[4], address[5]);
    return text;
}

} // namespace omni::network
