#pragma once
// Loading what `serve` and `create-device` are started with: the issuing CA
// (certificate, matching key, optional chain) and the TLS certificate and
// key. Every failure is a usage error whose message starts with the flag.
#include <string>

#include "daemon/core/result.hpp"
#include "daemon/issuer/ca/issuing.hpp"

namespace omni::serve {

// PEM files given on the command line are small; a larger one is a mistake.
inline constexpr std::uint64_t kMaxPemFileBytes = 1024 * 1024;

struct IssuingMaterialPaths {
    std::string certificate; // --ca-cert
    std::string key; // --ca-key
    std::string chain; // --chain, may be empty
};

Result<issuer::IssuingAuthority> loadIssuingAuthority(const IssuingMaterialPaths& paths);

struct TlsMaterial {
    std::string certificatePem; // leaf first, then any intermediates
    std::string keyPem;
};

// Checked with OpenSSL (parses, key matches) before it is handed to the HTTP library.
Result<TlsMaterial> loadTlsMaterial(const std::string& certificatePath, const std::string& keyPath);

} // namespace omni::serve
