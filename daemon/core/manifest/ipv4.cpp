#include "daemon/core/manifest/ipv4.hpp"

#include <arpa/inet.h>

#include <array>

namespace omni::manifest {
namespace {

bool isAsciiDigit(char c)
{
    return c >= '0' && c <= '9';
}

// A decimal number of 1-3 ASCII digits without a leading zero ("0" itself is
// fine), as the model's octet grammar (25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d) allows.
std::optional<unsigned> parseDecimal(std::string_view digits, unsigned maximum)
{
    if (digits.empty() || digits.size() > 3) {
        return std::nullopt;
    }
    if (digits.size() > 1 && digits.front() == '0') {
        return std::nullopt;
    }
    unsigned value = 0;
    for (char c : digits) {
        if (!isAsciiDigit(c)) {
            return std::nullopt;
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > maximum) {
        return std::nullopt;
    }
    return value;
}

std::uint32_t maskForPrefix(int prefixLength)
{
    return prefixLength == 0 ? 0U : ~std::uint32_t { 0 } << (32 - prefixLength);
}

} // namespace

std::optional<std::uint32_t> parseIpv4(std::string_view text)
{
    std::uint32_t address = 0;
    for (int octetIndex = 0; octetIndex < 4; ++octetIndex) {
        const std::size_t dot = text.find('.');
        const bool last = octetIndex == 3;
        if (last != (dot == std::string_view::npos)) {
            return std::nullopt;
        }
        const std::string_view octetText = last ? text : text.substr(0, dot);
        const auto octet = parseDecimal(octetText, 255);
        if (!octet) {
            return std::nullopt;
        }
        address = (address << 8) | *octet;
        if (!last) {
            text.remove_prefix(dot + 1);
        }
    }
    return address;
}

std::string formatIpv4(std::uint32_t address)
{
    std::string text;
    for (int shift = 24; shift >= 0; shift -= 8) {
        if (!text.empty()) {
            text += '.';
        }
        text += std::to_string((address >> shift) & 0xFFU);
    }
    return text;
}

std::optional<int> parseMask(std::string_view text)
{
    if (text.find('.') != std::string_view::npos) {
        const auto mask = parseIpv4(text);
        if (!mask) {
            return std::nullopt;
        }
        for (int prefixLength = 0; prefixLength <= 32; ++prefixLength) {
            if (maskForPrefix(prefixLength) == *mask) {
                return prefixLength;
            }
        }
        return std::nullopt; // not contiguous, e.g. 255.0.255.0
    }
    if (!text.empty() && text.front() == '/') {
        text.remove_prefix(1);
    }
    if (text.size() > 2) {
        return std::nullopt;
    }
    const auto prefixLength = parseDecimal(text, 32);
    if (!prefixLength) {
        return std::nullopt;
    }
    return static_cast<int>(*prefixLength);
}

bool isIpLiteral(std::string_view text)
{
    if (parseIpv4(text)) {
        return true;
    }
    // inet_pton needs a terminated string; the longest IPv6 text form
    // (with an embedded IPv4 part) is 45 characters.
    constexpr std::size_t kMaxIpv6Text = 45;
    if (text.empty() || text.size() > kMaxIpv6Text || text.find('\0') != std::string_view::npos) {
        return false;
    }
    // Only hexadecimal digits, ':' and '.' occur in a literal; this rules out
    // brackets, zones ("%eth0") and ports before libc sees the text.
    for (char c : text) {
        const bool allowed
            = isAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
        if (!allowed) {
            return false;
        }
    }
    const std::string terminated(text);
    std::array<unsigned char, 16> binary {};
    return inet_pton(AF_INET6, terminated.c_str(), binary.data()) == 1;
}

} // namespace omni::manifest
