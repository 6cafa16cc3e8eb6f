#pragma once
// IPv4 text forms used by the ProvisionDevice shapes and section 4 of DESIGN.md.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omni::manifest {

// Strict dotted quad: four decimal octets 0-255, no leading zeros, no spaces,
// no port (the model's octet grammar). Host byte order.
std::optional<std::uint32_t> parseIpv4(std::string_view text);
std::string formatIpv4(std::uint32_t address);

// A section 4 Mask: a contiguous dotted-quad mask ("255.255.255.0") or a
// prefix length ("24" or "/24": no sign, spaces or leading zeros). Returns
// the prefix length 0-32; the caller applies the 1-31 rule.
std::optional<int> parseMask(std::string_view text);

// True for a literal IPv4 or IPv6 address without port, brackets or zone.
bool isIpLiteral(std::string_view text);

} // namespace omni::manifest
