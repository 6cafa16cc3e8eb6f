#pragma once
// Making keys and certificates: the issuer's CA and provisioning certificates,
// and the tests' deliberately broken ones.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/core/result.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/certificate_checks.hpp"
#include "daemon/core/trust/openssl_types.hpp"

namespace omni::trust {

enum class KeyType { EcP256, EcP384, EcP521, Rsa1024, Rsa2048, Rsa3072, Ed25519 };
Result<PkeyPtr> generateKey(KeyType type);

struct CertificateSpec {
    std::string commonName;
    std::optional<std::string> organization;
    time::UnixTime notBefore = 0;
    time::UnixTime notAfter = 0;
    bool isCa = false;
    std::optional<int> pathLength; // CA only
    // Provisioning certificates: the omni manifest digest extension.
    std::optional<std::array<std::uint8_t, 32>> manifestDigest;
    // Tests: a raw DER value for the digest extension (wins over manifestDigest).
    std::optional<std::string> rawManifestDigestExtension;
};

// Signs with issuerKey (SHA-256; EdDSA keys sign without a digest). issuerCertificate
// null means self-signed. Random 128-bit serial; basicConstraints, keyUsage,
// subject and authority key identifiers; clientAuth for leaves.
Result<X509Ptr> issueCertificate(
    const CertificateSpec& spec, EVP_PKEY* subjectKey, const X509* issuerCertificate, EVP_PKEY* issuerKey);

std::string certificateToPem(const X509* certificate);
// Unencrypted PEM PKCS#8 ("BEGIN PRIVATE KEY").
std::string privateKeyToPem(const EVP_PKEY* key);

// Loading the issuer's CA certificate and key from PEM (any key form OpenSSL
// reads unencrypted). Errors name the source and what is wrong.
Result<X509Ptr> loadCertificatePem(std::string_view pem, std::string_view sourceName);
Result<PkeyPtr> loadPrivateKeyPem(std::string_view pem, std::string_view sourceName);
bool keyMatchesCertificate(const X509* certificate, const EVP_PKEY* key);

} // namespace omni::trust
