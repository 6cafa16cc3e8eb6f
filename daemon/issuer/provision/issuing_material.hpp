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

// Checked with OpenSSL (every certificate parses, the key matches the first)
// before it is handed to the HTTP library.
Result<TlsMaterial> loadTlsMaterial(const std::string& certificatePath, const std::string& keyPath);

// The manifest's Enrollment member (DESIGN.md section 10) from the flags:
// `url` as given to `urlFlag` (--enroll-url, --public-url); ServerCa from the
// file serverCaPath (--enroll-server-ca) or, when that is empty, the last
// certificate of tlsCertificatePem (serve's --tls-cert: the leaf itself,
// pinned, when it holds only the leaf). Judged by the manifest's rules;
// errors start with the flag.
Result<manifest::Enrollment> loadEnrollment(const std::string& urlFlag, const std::string& url,
    const std::string& serverCaPath, const std::string& tlsCertificatePem = {});

} // namespace omni::serve
