#include "daemon/core/trust/openssl_types.hpp"

#include <array>

#include <openssl/err.h>

namespace omni::trust {

std::string drainOpenSslErrors()
{
    std::string text;
    while (const unsigned long code = ERR_get_error()) {
        std::array<char, 256> buffer {};
        ERR_error_string_n(code, buffer.data(), buffer.size());
        if (!text.empty()) {
            text += "; ";
        }
        text += buffer.data();
    }
    if (text.empty()) {
        return "no detail from OpenSSL";
    }
    return text;
}

} // namespace omni::trust
