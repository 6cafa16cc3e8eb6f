#pragma once
// Checks 12-17 and 19 of DESIGN.md section 3 with OpenSSL 3, one function per
// row so the verifier runs them in the contract's order (check 18, the name
// binding, sits between 17 and 19 and needs the manifest: the verifier does
// it with provisioningCommonName()).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/result.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/openssl_types.hpp"

namespace omni::trust {

// "omni manifest digest": DER OCTET STRING holding SHA-256(manifest.json).
inline constexpr const char* kManifestDigestOid = "2.25.124425822205065575710782236824552397090";

// The device's trust anchors: only ever from the device's configuration or
// command-line flags, never from an archive.
class TrustAnchors {
public:
    // One or more PEM certificates per text. An error (InternalError,
    // Check::None) names the text by `sourceName` and says what is wrong; the
    // callers treat it as a usage/configuration error.
    static Result<TrustAnchors> fromPem(
        const std::vector<std::pair<std::string, std::string>>& sourceNameAndPem);
    const std::vector<X509Ptr>& certificates() const { return certificates_; }

private:
    std::vector<X509Ptr> certificates_;
};

struct Credentials {
    X509Ptr certificate;
    PkeyPtr privateKey;
    std::vector<X509Ptr> chain; // untrusted helpers from chain.pem
};

// The verified path from the provisioning certificate (first) to the anchor (last).
struct CertificatePath {
    std::vector<X509Ptr> certificates;
};

// Check 12: exactly one PEM X.509 certificate; the key unencrypted PEM PKCS#8
// (BEGIN PRIVATE KEY), EC P-256 or P-384, or RSA of 2048 to 4096 bits (the
// certificate's key too; judged by size before any key check runs); chain.pem,
// if present, one or more PEM certificates. Else CERT_INVALID.
Result<Credentials> parseCredentials(std::string_view certificatePem, std::string_view privateKeyPem,
    const std::optional<std::string>& chainPem);

// Check 13: KEY_MISMATCH unless the key is the certificate's.
Result<void> checkKeyMatchesCertificate(const Credentials& credentials);

// Check 14: a chain of valid signatures to an anchor; time is not judged
// (X509_V_FLAG_NO_CHECK_TIME), a non-self-signed anchor ends a path
// (X509_V_FLAG_PARTIAL_CHAIN). CERT_UNTRUSTED with OpenSSL's reason.
Result<CertificatePath> verifyChain(const Credentials& credentials, const TrustAnchors& anchors);

struct Validity {
    time::UnixTime notBefore = 0;
    time::UnixTime notAfter = 0;
};
Validity validityOf(const X509* certificate);

// Check 15: notAfter - notBefore of the provisioning certificate > maxLifetime
// -> CERT_LIFETIME_TOO_LONG.
Result<void> checkLifetime(const X509* provisioningCertificate, std::int64_t maxLifetimeSeconds);

// Check 16: now < buildEpoch -> CLOCK_UNTRUSTED (a dead RTC).
Result<void> checkClock(time::UnixTime now, time::UnixTime buildEpoch);

// Check 17: the provisioning certificate (path[0]) within
// [notBefore - tolerance, notAfter + tolerance] (closed), judged first; then
// every other certificate of the path, anchor included, within its plain
// validity. CERT_NOT_YET_VALID / CERT_EXPIRED with the times and the clock.
Result<void> checkValidity(const CertificatePath& path, time::UnixTime now, std::int64_t toleranceSeconds);

// The subject commonName, or nullopt when there is not exactly one.
std::optional<std::string> commonName(const X509* certificate);

// The subject in RFC 2253 form (control characters escaped, long names
// clipped), for messages and for what inspect shows.
std::string subjectName(const X509* certificate);

// One or more PEM certificates and nothing else but blank lines, each a
// complete X.509 certificate (the rules of chain.pem). The error says which
// block (by line) and what is wrong, without a subject: the caller names the
// source.
tl::expected<std::vector<X509Ptr>, std::string> parseCertificatesPem(std::string_view pem);

// Check 19: MANIFEST_DIGEST_MISMATCH unless the extension is present, is a DER
// OCTET STRING of 32 bytes, and equals SHA-256(manifestBytes).
Result<void> checkManifestDigest(const X509* provisioningCertificate, std::string_view manifestBytes);

} // namespace omni::trust
