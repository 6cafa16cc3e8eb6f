#pragma once
// SHA-256 and lowercase hex: the manifest digest (check 19), the archive's
// hash in verdicts and receipts, and SigV4's payload and request hashes.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace omni::digest {

inline constexpr std::size_t kSha256Size = 32;
using Sha256 = std::array<std::uint8_t, kSha256Size>;

// SHA-256 through OpenSSL. All zero only if OpenSSL fails (memory exhaustion),
// which matches no real digest.
Sha256 sha256(std::string_view bytes);

// Two lowercase hex digits per byte.
std::string toHex(std::span<const std::uint8_t> bytes);
// The same for bytes held in a string (an HMAC, for example).
std::string toHex(std::string_view bytes);

// toHex(sha256(bytes)): 64 lowercase hex digits.
std::string sha256Hex(std::string_view bytes);

} // namespace omni::digest
