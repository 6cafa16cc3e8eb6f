#include "daemon/core/digest/digest.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

namespace omni::digest {

Sha256 sha256(std::string_view bytes)
{
    Sha256 digest {};
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1
        || length != digest.size()) {
        // Unreachable short of memory exhaustion; an all-zero digest matches no manifest.
        ERR_clear_error();
        digest.fill(0);
    }
    return digest;
}

std::string toHex(std::span<const std::uint8_t> bytes)
{
    static constexpr std::string_view kDigits = "0123456789abcdef";
    std::string text;
    text.reserve(bytes.size() * 2);
    for (const std::uint8_t byte : bytes) {
        text += kDigits[byte >> 4];
        text += kDigits[byte & 0x0f];
    }
    return text;
}

std::string toHex(std::string_view bytes)
{
    return toHex(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::string sha256Hex(std::string_view bytes)
{
    return toHex(sha256(bytes));
}

} // namespace omni::digest
