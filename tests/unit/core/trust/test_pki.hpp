#pragma once
// Test PKI for the trust area: every key and certificate is generated here,
// at test time. Failures of the builder throw, which GoogleTest reports as a
// failed test.
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon/core/trust/certificate_checks.hpp"
#include "daemon/core/trust/x509_builder.hpp"

namespace omni::trust::testing {

// The reference moment of the tests: the example of DESIGN.md section 2.
time::UnixTime issueTime();
inline constexpr std::int64_t kYear = 365 * 24 * 3600;

template <class T> T valueOf(Result<T> result)
{
    if (!result) {
        throw std::runtime_error("unexpected error: " + result.error().message);
    }
    return std::move(*result);
}

// A generated key shared between tests (RSA generation is slow); `slot`
// tells keys of one type apart.
PkeyPtr sharedKey(KeyType type, int slot = 0);

struct Issued {
    PkeyPtr key;
    X509Ptr certificate;
    std::string certificatePem() const { return certificateToPem(certificate.get()); }
    std::string keyPem() const { return privateKeyToPem(key.get()); }
};

Issued makeRoot(
    const std::string& commonName, time::UnixTime notBefore, time::UnixTime notAfter, PkeyPtr key);
Issued makeCa(const std::string& commonName, const Issued& issuer, time::UnixTime notBefore,
    time::UnixTime notAfter, PkeyPtr key);
Issued makeLeaf(const CertificateSpec& spec, const Issued& issuer, PkeyPtr key);
// A provisioning certificate as the issuer makes it: 300 s from issueTime(),
// CN "device-1", bound to `manifest`.
CertificateSpec leafSpec(const std::string& manifest = "{\"FormatVersion\": 1}");

// root -> issuing -> leaf, all EC P-256, CA windows around issueTime().
struct Pki {
    Issued root;
    Issued issuing;
    Issued leaf;
    std::string manifest = "{\"FormatVersion\": 1}";

    std::string chainPem() const { return issuing.certificatePem(); }
    TrustAnchors anchors() const;
    // Parsed like the archive's entries (certificate.pem, private_key.pem, chain.pem).
    Credentials credentials(bool withChain = true) const;
};
Pki makePki();

TrustAnchors anchorsOf(const std::vector<const Issued*>& certificates);
Credentials credentialsOf(const Issued& leaf, const std::vector<const Issued*>& chain);
// A copy of the certificate, for building paths by hand.
X509Ptr copyOf(const X509* certificate);

} // namespace omni::trust::testing
