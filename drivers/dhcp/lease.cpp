#include "drivers/dhcp/lease.hpp"

#include <arpa/inet.h>

#include <bit>
#include <charconv>

namespace omni::dhcp {

namespace {

std::optional<std::uint32_t> parseIpv4(std::string_view text)
{
    if (text.empty() || text.size() > 15) {
        return std::nullopt;
    }
    const std::string copy(text);
    in_addr parsed {};
    if (inet_pton(AF_INET, copy.c_str(), &parsed) != 1) {
        return std::nullopt;
    }
    return ntohl(parsed.s_addr);
}

std::string formatIpv4(std::uint32_t address)
{
    in_addr raw { htonl(address) };
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &raw, text, sizeof text);
    return text;
}

template <class Number> std::optional<Number> parseNumber(std::string_view text)
{
    Number value {};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc {} || end != text.data() + text.size() || text.empty()) {
        return std::nullopt;
    }
    return value;
}

std::vector<std::string> ipv4List(std::string_view text)
{
    std::vector<std::string> addresses;
    while (!text.empty()) {
        const std::size_t end = text.find(' ');
        const std::string_view word = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (const auto address = parseIpv4(word)) {
            addresses.push_back(formatIpv4(*address));
        }
    }
    return addresses;
}

std::optional<int> prefixFromMask(std::uint32_t mask)
{
    const int ones = std::popcount(mask);
    if (ones == 0 || (ones < 32 && mask != ~std::uint32_t { 0 } << (32 - ones))) {
        return std::nullopt;
    }
    return ones;
}

} // namespace

std::string Lease::addressText() const
{
    return formatIpv4(address);
}

std::string Lease::addressWithPrefix() const
{
    return addressText() + "/" + std::to_string(prefixLength);
}

std::optional<Lease> parseLease(std::string_view text)
{
    Lease lease;
    std::optional<std::uint32_t> address;
    std::optional<int> cidr;
    std::optional<int> fromMask;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        const std::size_t equals = line.find('=');
        if (equals == std::string_view::npos) {
            continue;
        }
        const std::string_view key = line.substr(0, equals);
        const std::string_view value = line.substr(equals + 1);
        if (key == "interface") {
            lease.interfaceName = value;
        } else if (key == "reason") {
            lease.reason = value;
        } else if (key == "pid") {
            lease.pid = parseNumber<pid_t>(value).value_or(0);
        } else if (key == "ip_address") {
            address = parseIpv4(value);
        } else if (key == "subnet_cidr") {
            const auto number = parseNumber<int>(value);
            if (number && *number >= 1 && *number <= 32) {
                cidr = *number;
            }
        } else if (key == "subnet_mask") {
            if (const auto mask = parseIpv4(value)) {
                fromMask = prefixFromMask(*mask);
            }
        } else if (key == "routers") {
            lease.routers = ipv4List(value);
        } else if (key == "domain_name_servers") {
            lease.dnsServers = ipv4List(value);
        } else if (key == "ntp_servers") {
            lease.ntpServers = ipv4List(value);
        } else if (key == "lease_time") {
            lease.leaseSeconds = parseNumber<std::uint32_t>(value);
        }
    }
    const std::optional<int> prefix = cidr ? cidr : fromMask;
    if (!address || !prefix) {
        return std::nullopt;
    }
    lease.address = *address;
    lease.prefixLength = *prefix;
    return lease;
}

} // namespace omni::dhcp
