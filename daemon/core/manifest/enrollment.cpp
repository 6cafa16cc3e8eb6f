#include "daemon/core/manifest/enrollment.hpp"

#include <algorithm>
#include <cstdio>

#include "daemon/core/manifest/ipv4.hpp"
#include "daemon/core/trust/certificate_checks.hpp"

namespace omni::manifest {
namespace {

// The URL is parsed by hand over RFC 3986's grammar, narrowed to what a device
// can use: no library's leniency (WHATWG parsers read '\' as '/', strip tabs,
// accept "https:host") decides what the CA signs.

constexpr std::string_view kExample = "such as https://issuer.example:8443";
constexpr std::size_t kMaxHostLength = 253; // a DNS name
constexpr std::size_t kMaxLabelLength = 63;
constexpr std::size_t kMaxShownLength = 64;

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}

bool isAlpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isHexDigit(char c)
{
    return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Only called once the URL is known to be printable ASCII.
std::string shown(std::string_view text)
{
    if (text.size() > kMaxShownLength) {
        return "'" + std::string(text.substr(0, kMaxShownLength)) + "...'";
    }
    return "'" + std::string(text) + "'";
}

// Code points of (presumably) UTF-8 text: every byte that is not a
// continuation byte. The length rule counts characters, as section 2 does.
std::size_t characterCount(std::string_view text)
{
    return static_cast<std::size_t>(std::count_if(
        text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::optional<std::string> characterProblem(std::string_view url)
{
    for (std::size_t offset = 0; offset < url.size(); ++offset) {
        const auto byte = static_cast<unsigned char>(url[offset]);
        const std::string position = std::to_string(offset + 1);
        if (byte >= 0x80) {
            return "must be ASCII, but byte " + position
                + " is not (write an internationalised host name in its xn-- form and percent-encode the "
                  "path)";
        }
        if (byte < 0x20 || byte == 0x7F) {
            char code[8];
            std::snprintf(code, sizeof code, "U+%04X", byte);
            return "contains the control character " + std::string(code) + " at character " + position;
        }
        if (byte == ' ') {
            return "contains a space at character " + position + " (percent-encode it as %20 in a path)";
        }
    }
    return std::nullopt;
}

// A DNS name of letters, digits and inner hyphens, or a dotted-quad IPv4 address.
std::optional<std::string> hostProblem(std::string_view host)
{
    const bool numeric = std::all_of(host.begin(), host.end(), [](char c) { return isDigit(c) || c == '.'; });
    if (numeric) {
        if (!parseIpv4(host)) {
            return "has the host " + shown(host)
                + ", which is not an IPv4 address (four decimal numbers 0-255 without leading zeros)";
        }
        return std::nullopt;
    }
    if (host.size() > kMaxHostLength) {
        return "has a host of " + std::to_string(host.size()) + " characters; a DNS name has at most "
            + std::to_string(kMaxHostLength);
    }
    std::string_view labels = host;
    while (true) {
        const std::size_t dot = labels.find('.');
        const std::string_view label = labels.substr(0, dot);
        if (label.empty()) {
            return "has the host " + shown(host)
                + ", which has an empty label (a leading, trailing or double '.')";
        }
        if (label.size() > kMaxLabelLength) {
            return "has the host " + shown(host) + ", whose label " + shown(label) + " is over "
                + std::to_string(kMaxLabelLength) + " characters";
        }
        const bool allowed = std::all_of(
            label.begin(), label.end(), [](char c) { return isAlpha(c) || isDigit(c) || c == '-'; });
        if (!allowed || label.front() == '-' || label.back() == '-') {
            return "has the host " + shown(host)
                + ", which is not a DNS name (letters, digits and inner hyphens between dots), an IPv4 "
                  "address or a bracketed IPv6 address";
        }
        if (dot == std::string_view::npos) {
            return std::nullopt;
        }
        labels.remove_prefix(dot + 1);
    }
}

std::optional<std::string> portProblem(std::string_view port)
{
    if (port.empty()) {
        return std::string(
            "has a ':' after the host but no port; give a port 1 to 65535 or leave out the ':'");
    }
    const bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), isDigit);
    unsigned value = 0;
    for (char c : digits ? port : std::string_view()) {
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (!digits || port.front() == '0' || value > 65535) {
        return "has the port " + shown(port) + "; a port is a number 1 to 65535 without leading zeros";
    }
    return std::nullopt;
}

// RFC 3986 path-abempty: pchar (unreserved, pct-encoded, sub-delims, ':' and '@') and '/'.
std::optional<std::string> pathProblem(std::string_view path, std::size_t offsetInUrl)
{
    static constexpr std::string_view kAllowed = "-._~!$&'()*+,;=:@/";
    for (std::size_t offset = 0; offset < path.size(); ++offset) {
        const char c = path[offset];
        if (c == '%') {
            if (offset + 2 >= path.size() || !isHexDigit(path[offset + 1]) || !isHexDigit(path[offset + 2])) {
                return "has a '%' at character " + std::to_string(offsetInUrl + offset + 1)
                    + " that is not followed by two hexadecimal digits";
            }
            offset += 2;
            continue;
        }
        if (!isAlpha(c) && !isDigit(c) && kAllowed.find(c) == std::string_view::npos) {
            return "has the character '" + std::string(1, c) + "' at character "
                + std::to_string(offsetInUrl + offset + 1)
                + ", which a URL path does not allow (percent-encode it)";
        }
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string> enrollmentUrlProblem(std::string_view url)
{
    if (url.empty()) {
        return "is empty; it must be an absolute https URL " + std::string(kExample);
    }
    if (const std::size_t length = characterCount(url); length > kMaxEnrollmentUrlLength) {
        return "is " + std::to_string(length) + " characters long; at most "
            + std::to_string(kMaxEnrollmentUrlLength) + " are allowed";
    }
    if (auto problem = characterProblem(url)) {
        return problem;
    }

    // scheme ":" "//" authority path-abempty, and neither "?" query nor "#" fragment.
    const std::size_t colon = url.find(':');
    const std::string_view scheme = url.substr(0, colon == std::string_view::npos ? 0 : colon);
    const bool schemeShaped = !scheme.empty() && isAlpha(scheme.front())
        && std::all_of(scheme.begin(), scheme.end(),
            [](char c) { return isAlpha(c) || isDigit(c) || c == '+' || c == '-' || c == '.'; });
    if (!schemeShaped) {
        return "must be an absolute URL " + std::string(kExample) + ", got " + shown(url);
    }
    std::string lowerScheme(scheme);
    std::transform(lowerScheme.begin(), lowerScheme.end(), lowerScheme.begin(), lower);
    if (lowerScheme == "http") {
        return std::string("must use https, not http: devices enrol over TLS, authenticated by ServerCa");
    }
    if (lowerScheme != "https") {
        return "must use https, not " + shown(scheme);
    }
    std::string_view rest = url.substr(colon + 1);
    if (!rest.starts_with("//")) {
        return "must have a host after 'https://' (" + std::string(kExample) + "), got " + shown(url);
    }
    rest.remove_prefix(2);

    const std::size_t authorityEnd = std::min(rest.find_first_of("/?#"), rest.size());
    const std::string_view authority = rest.substr(0, authorityEnd);
    const std::string_view tail = rest.substr(authorityEnd);
    if (authority.find('@') != std::string_view::npos) {
        return std::string(
            "must not hold userinfo (a user name or password before '@'): devices authenticate "
            "with their certificate, and a URL is no place for a secret");
    }
    if (authority.empty()) {
        return "has no host (" + std::string(kExample) + ")";
    }

    std::optional<std::string_view> port;
    if (authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            return "has a '[' without its ']' in the host " + shown(authority);
        }
        const std::string_view address = authority.substr(1, close - 1);
        if (address.find(':') == std::string_view::npos || !isIpLiteral(address)) {
            return "has the host " + shown(authority.substr(0, close + 1))
                + ", which is not a bracketed IPv6 address such as [2001:db8::1]";
        }
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') {
            return "has " + shown(after) + " after the IPv6 address; only ':PORT' may follow it";
        }
        if (!after.empty()) {
            port = after.substr(1);
        }
    } else {
        const std::size_t portColon = authority.find(':');
        const std::string_view host = authority.substr(0, portColon);
        if (host.empty()) {
            return "has no host (" + std::string(kExample) + ")";
        }
        if (auto problem = hostProblem(host)) {
            return problem;
        }
        if (portColon != std::string_view::npos) {
            port = authority.substr(portColon + 1);
        }
    }
    if (port) {
        if (auto problem = portProblem(*port)) {
            return problem;
        }
    }

    const std::size_t query = tail.find('?');
    const std::size_t fragment = tail.find('#');
    const std::string_view path = tail.substr(0, std::min(query, fragment));
    if (auto problem = pathProblem(path, static_cast<std::size_t>(path.data() - url.data()))) {
        return problem;
    }
    if (query != std::string_view::npos && query < fragment) {
        return std::string("must not have a query ('?...'); give the issuer's base URL only");
    }
    if (fragment != std::string_view::npos) {
        return std::string("must not have a fragment ('#...'); give the issuer's base URL only");
    }
    return std::nullopt;
}

tl::expected<std::vector<CertificateSummary>, std::string> parseServerCa(std::string_view pem)
{
    if (pem.size() > kMaxServerCaBytes) {
        return tl::unexpected("is " + std::to_string(pem.size()) + " bytes; at most "
            + std::to_string(kMaxServerCaBytes) + " (16 KiB) are allowed");
    }
    auto certificates = trust::parseCertificatesPem(pem);
    if (!certificates) {
        return tl::unexpected("must be one or more PEM certificates: " + certificates.error());
    }
    std::vector<CertificateSummary> summaries;
    for (const auto& certificate : *certificates) {
        summaries.push_back(
            { trust::subjectName(certificate.get()), trust::validityOf(certificate.get()).notAfter });
    }
    return summaries;
}

} // namespace omni::manifest
