#include "tests/unit/core/trust/test_pki.hpp"

#include <map>
#include <mutex>
#include <stdexcept>

#include "daemon/core/digest/digest.hpp"

namespace omni::trust::testing {

time::UnixTime issueTime()
{
    static const time::UnixTime time = time::parseRfc3339("2026-11-26T02:30:00Z").value();
    return time;
}

PkeyPtr sharedKey(KeyType type, int slot)
{
    static std::mutex mutex;
    static std::map<std::pair<KeyType, int>, PkeyPtr> cache;
    const std::lock_guard lock(mutex);
    PkeyPtr& cached = cache[{ type, slot }];
    if (!cached) {
        cached = valueOf(generateKey(type));
    }
    EVP_PKEY_up_ref(cached.get());
    return PkeyPtr(cached.get());
}

Issued makeRoot(const std::string& commonName, time::UnixTime notBefore, time::UnixTime notAfter, PkeyPtr key)
{
    CertificateSpec spec;
    spec.commonName = commonName;
    spec.organization = "Omni Test";
    spec.notBefore = notBefore;
    spec.notAfter = notAfter;
    spec.isCa = true;
    Issued root;
    root.certificate = valueOf(issueCertificate(spec, key.get(), nullptr, key.get()));
    root.key = std::move(key);
    return root;
}

Issued makeCa(const std::string& commonName, const Issued& issuer, time::UnixTime notBefore,
    time::UnixTime notAfter, PkeyPtr key)
{
    CertificateSpec spec;
    spec.commonName = commonName;
    spec.organization = "Omni Test";
    spec.notBefore = notBefore;
    spec.notAfter = notAfter;
    spec.isCa = true;
    spec.pathLength = 0;
    Issued ca;
    ca.certificate = valueOf(issueCertificate(spec, key.get(), issuer.certificate.get(), issuer.key.get()));
    ca.key = std::move(key);
    return ca;
}

Issued makeLeaf(const CertificateSpec& spec, const Issued& issuer, PkeyPtr key)
{
    Issued leaf;
    leaf.certificate = valueOf(issueCertificate(spec, key.get(), issuer.certificate.get(), issuer.key.get()));
    leaf.key = std::move(key);
    return leaf;
}

CertificateSpec leafSpec(const std::string& manifest)
{
    CertificateSpec spec;
    spec.commonName = "device-1";
    spec.notBefore = issueTime();
    spec.notAfter = issueTime() + 300;
    spec.manifestDigest = digest::sha256(manifest);
    return spec;
}

TrustAnchors Pki::anchors() const
{
    return anchorsOf({ &root });
}

Credentials Pki::credentials(bool withChain) const
{
    return credentialsOf(
        leaf, withChain ? std::vector<const Issued*> { &issuing } : std::vector<const Issued*> {});
}

Pki makePki()
{
    Pki pki;
    pki.root = makeRoot(
        "Omni Test Root", issueTime() - kYear, issueTime() + 10 * kYear, sharedKey(KeyType::EcP256, 0));
    pki.issuing = makeCa("Omni Test Issuing", pki.root, issueTime() - kYear, issueTime() + 5 * kYear,
        sharedKey(KeyType::EcP256, 1));
    pki.leaf = makeLeaf(leafSpec(pki.manifest), pki.issuing, sharedKey(KeyType::EcP256, 2));
    return pki;
}

TrustAnchors anchorsOf(const std::vector<const Issued*>& certificates)
{
    std::vector<std::pair<std::string, std::string>> sources;
    for (const Issued* issued : certificates) {
        sources.emplace_back("anchor-" + std::to_string(sources.size()) + ".pem", issued->certificatePem());
    }
    return valueOf(TrustAnchors::fromPem(sources));
}

Credentials credentialsOf(const Issued& leaf, const std::vector<const Issued*>& chain)
{
    std::optional<std::string> chainPem;
    if (!chain.empty()) {
        chainPem.emplace();
        for (const Issued* issued : chain) {
            *chainPem += issued->certificatePem();
        }
    }
    return valueOf(parseCredentials(leaf.certificatePem(), leaf.keyPem(), chainPem));
}

X509Ptr copyOf(const X509* certificate)
{
    X509Ptr copy(X509_dup(certificate));
    if (!copy) {
        throw std::runtime_error("X509_dup failed");
    }
    return copy;
}

} // namespace omni::trust::testing
