#include "daemon/core/trust/x509_builder.hpp"

#include <climits>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "daemon/core/trust/pem_blocks.hpp"

namespace omni::trust {
namespace {

constexpr std::size_t kSerialBytes = 16;

struct OpenSslFree {
    void operator()(void* memory) const noexcept { OPENSSL_free(memory); }
};

// Keys are read unattended: an encrypted key must fail, never prompt on a terminal.
int refusePassword(char* /*buffer*/, int /*size*/, int /*forWriting*/, void* /*userData*/)
{
    return -1;
}

tl::unexpected<Error> builderError(const std::string& what)
{
    return fail(ReasonCode::InternalError, Check::None, what + ": " + drainOpenSslErrors());
}

Result<void> setRandomSerial(X509* certificate)
{
    std::array<unsigned char, kSerialBytes> bytes {};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        return builderError("cannot draw a random serial number");
    }
    // Positive (RFC 5280 4.1.2.2) and never zero.
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    BignumPtr serial(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
    if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate)) == nullptr) {
        return builderError("cannot set the serial number");
    }
    return {};
}

Result<void> addConfiguredExtension(X509* certificate, X509V3_CTX* context, int nid, const std::string& value)
{
    X509ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, context, nid, value.c_str()));
    if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
        return builderError(std::string("cannot add the ") + OBJ_nid2ln(nid) + " extension '" + value + "'");
    }
    return {};
}

Result<void> addManifestDigestExtension(X509* certificate, const CertificateSpec& spec)
{
    std::string extensionValue;
    if (spec.rawManifestDigestExtension) {
        extensionValue = *spec.rawManifestDigestExtension;
    } else if (spec.manifestDigest) {
        Asn1OctetStringPtr digest(ASN1_OCTET_STRING_new());
        if (!digest
            || ASN1_OCTET_STRING_set(
                   digest.get(), spec.manifestDigest->data(), static_cast<int>(spec.manifestDigest->size()))
                != 1) {
            return builderError("cannot make the manifest digest OCTET STRING");
        }
        unsigned char* der = nullptr;
        const int derLength = i2d_ASN1_OCTET_STRING(digest.get(), &der);
        std::unique_ptr<unsigned char, OpenSslFree> derOwner(der);
        if (derLength <= 0) {
            return builderError("cannot DER-encode the manifest digest");
        }
        extensionValue.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(derLength));
    } else {
        return {};
    }
    if (extensionValue.size() > static_cast<std::size_t>(INT_MAX)) {
        return fail(
            ReasonCode::InternalError, Check::None, "the manifest digest extension value is too large");
    }
    Asn1ObjectPtr oid(OBJ_txt2obj(kManifestDigestOid, 1));
    Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    if (!oid || !value
        || ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(extensionValue.data()),
               static_cast<int>(extensionValue.size()))
            != 1) {
        return builderError("cannot make the manifest digest extension");
    }
    X509ExtensionPtr extension(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value.get()));
    if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
        return builderError("cannot add the manifest digest extension");
    }
    return {};
}

Result<void> addNameEntry(X509_NAME* name, int nid, const std::string& value)
{
    if (value.size() > static_cast<std::size_t>(INT_MAX)
        || X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
               reinterpret_cast<const unsigned char*>(value.data()), static_cast<int>(value.size()), -1, 0)
            != 1) {
        return builderError(std::string("cannot set the subject ") + OBJ_nid2sn(nid) + " '" + value + "'");
    }
    return {};
}

} // namespace

Result<PkeyPtr> generateKey(KeyType type)
{
    EVP_PKEY* key = nullptr;
    switch (type) {
    case KeyType::EcP256:
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
        break;
    case KeyType::EcP384:
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
        break;
    case KeyType::EcP521:
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
        break;
    case KeyType::Rsa1024:
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024));
        break;
    case KeyType::Rsa2048:
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
        break;
    case KeyType::Rsa3072:
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(3072));
        break;
    case KeyType::Ed25519:
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
        break;
    }
    if (key == nullptr) {
        return builderError("key generation failed");
    }
    return PkeyPtr(key);
}

Result<X509Ptr> issueCertificate(
    const CertificateSpec& spec, EVP_PKEY* subjectKey, const X509* issuerCertificate, EVP_PKEY* issuerKey)
{
    ERR_clear_error();
    if (subjectKey == nullptr || issuerKey == nullptr) {
        return fail(
            ReasonCode::InternalError, Check::None, "issueCertificate needs a subject key and an issuer key");
    }
    if (spec.pathLength && (!spec.isCa || *spec.pathLength < 0)) {
        return fail(ReasonCode::InternalError, Check::None,
            "a path length constraint needs a CA certificate and a value of 0 or more");
    }
    X509Ptr certificate(X509_new());
    X509NamePtr subject(X509_NAME_new());
    if (!certificate || !subject || X509_set_version(certificate.get(), X509_VERSION_3) != 1) {
        return builderError("cannot make a certificate");
    }
    if (auto serial = setRandomSerial(certificate.get()); !serial) {
        return tl::unexpected(std::move(serial.error()));
    }
    if (spec.organization) {
        if (auto added = addNameEntry(subject.get(), NID_organizationName, *spec.organization); !added) {
            return tl::unexpected(std::move(added.error()));
        }
    }
    if (!spec.commonName.empty()) {
        if (auto added = addNameEntry(subject.get(), NID_commonName, spec.commonName); !added) {
            return tl::unexpected(std::move(added.error()));
        }
    }
    const X509_NAME* issuerName
        = issuerCertificate != nullptr ? X509_get_subject_name(issuerCertificate) : subject.get();
    if (X509_set_subject_name(certificate.get(), subject.get()) != 1
        || X509_set_issuer_name(certificate.get(), issuerName) != 1) {
        return builderError("cannot set the subject or issuer name");
    }
    if (ASN1_TIME_set(X509_getm_notBefore(certificate.get()), static_cast<time_t>(spec.notBefore)) == nullptr
        || ASN1_TIME_set(X509_getm_notAfter(certificate.get()), static_cast<time_t>(spec.notAfter))
            == nullptr) {
        return builderError("cannot set the validity period");
    }
    if (X509_set_pubkey(certificate.get(), subjectKey) != 1) {
        return builderError("cannot set the public key");
    }

    X509V3_CTX context;
    // X509V3_set_ctx and X509_get0_subject_key_id only read the issuer but are not const-correct.
    X509V3_set_ctx(&context,
        issuerCertificate != nullptr ? const_cast<X509*>(issuerCertificate) : certificate.get(),
        certificate.get(), nullptr, nullptr, 0);
    std::string basicConstraints = spec.isCa ? "critical,CA:TRUE" : "critical,CA:FALSE";
    if (spec.pathLength) {
        basicConstraints += ",pathlen:" + std::to_string(*spec.pathLength);
    }
    std::vector<std::pair<int, std::string>> extensions {
        { NID_basic_constraints, basicConstraints },
        { NID_key_usage, spec.isCa ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature" },
    };
    if (!spec.isCa) {
        extensions.emplace_back(NID_ext_key_usage, "clientAuth");
    }
    extensions.emplace_back(NID_subject_key_identifier, "hash");
    // The key identifier can only name an issuer key that has one.
    if (issuerCertificate != nullptr
        && X509_get0_subject_key_id(const_cast<X509*>(issuerCertificate)) != nullptr) {
        extensions.emplace_back(NID_authority_key_identifier, "keyid:always");
    }
    for (const auto& [nid, value] : extensions) {
        if (auto added = addConfiguredExtension(certificate.get(), &context, nid, value); !added) {
            return tl::unexpected(std::move(added.error()));
        }
    }
    if (auto added = addManifestDigestExtension(certificate.get(), spec); !added) {
        return tl::unexpected(std::move(added.error()));
    }

    // EdDSA signs the message itself; X509_sign wants no digest for it.
    const bool pureSignature = EVP_PKEY_is_a(issuerKey, "ED25519") || EVP_PKEY_is_a(issuerKey, "ED448");
    if (X509_sign(certificate.get(), issuerKey, pureSignature ? nullptr : EVP_sha256()) <= 0) {
        return builderError("cannot sign the certificate");
    }
    return certificate;
}

std::string certificateToPem(const X509* certificate)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || certificate == nullptr || PEM_write_bio_X509(bio.get(), certificate) != 1) {
        ERR_clear_error();
        return {};
    }
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return length > 0 ? std::string(data, static_cast<std::size_t>(length)) : std::string();
}

std::string privateKeyToPem(const EVP_PKEY* key)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || key == nullptr
        || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        ERR_clear_error();
        return {};
    }
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    std::string pem = length > 0 ? std::string(data, static_cast<std::size_t>(length)) : std::string();
    // The BIO's buffer held key material.
    if (length > 0) {
        OPENSSL_cleanse(data, static_cast<std::size_t>(length));
    }
    return pem;
}

Result<X509Ptr> loadCertificatePem(std::string_view pem, std::string_view sourceName)
{
    ERR_clear_error();
    const std::string source(sourceName);
    auto blocks = pem::splitBlocks(pem);
    if (!blocks) {
        return fail(ReasonCode::InternalError, Check::None, source + ": " + blocks.error(), source);
    }
    if (blocks->size() != 1) {
        return fail(ReasonCode::InternalError, Check::None,
            source + " holds " + std::to_string(blocks->size())
                + " PEM blocks; exactly one certificate is required",
            source);
    }
    auto certificate = pem::certificateFromBlock(blocks->front());
    if (!certificate) {
        return fail(ReasonCode::InternalError, Check::None, source + ": " + certificate.error(), source);
    }
    return std::move(*certificate);
}

Result<PkeyPtr> loadPrivateKeyPem(std::string_view pem, std::string_view sourceName)
{
    ERR_clear_error();
    const std::string source(sourceName);
    auto blocks = pem::splitBlocks(pem);
    if (!blocks) {
        return fail(ReasonCode::InternalError, Check::None, source + ": " + blocks.error(), source);
    }
    // `openssl ecparam -genkey` writes the curve before the key.
    std::erase_if(*blocks, [](const pem::Block& block) { return block.label == "EC PARAMETERS"; });
    if (blocks->size() != 1) {
        return fail(ReasonCode::InternalError, Check::None,
            source + " holds " + std::to_string(blocks->size())
                + " private key blocks; exactly one is required",
            source);
    }
    pem::Block& block = blocks->front();
    if (block.label == "ENCRYPTED PRIVATE KEY" || block.headers.find("ENCRYPTED") != std::string::npos) {
        return fail(ReasonCode::InternalError, Check::None,
            source + " holds an encrypted key; give an unencrypted one (e.g. `openssl pkey -in " + source
                + " -out plain.key`) and keep it readable only by you",
            source);
    }
    if (!block.label.ends_with("PRIVATE KEY")) {
        return fail(ReasonCode::InternalError, Check::None,
            source + " holds a '" + block.label.substr(0, 64) + "' block, not a private key", source);
    }
    BioPtr bio(BIO_new_mem_buf(block.text.data(), static_cast<int>(block.text.size())));
    PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, refusePassword, nullptr) : nullptr);
    if (!key) {
        return fail(ReasonCode::InternalError, Check::None,
            source + ": the private key does not decode: " + drainOpenSslErrors(), source);
    }
    return key;
}

bool keyMatchesCertificate(const X509* certificate, const EVP_PKEY* key)
{
    if (certificate == nullptr || key == nullptr) {
        return false;
    }
    const EVP_PKEY* certificateKey = X509_get0_pubkey(certificate);
    const bool matches = certificateKey != nullptr && EVP_PKEY_eq(certificateKey, key) == 1;
    ERR_clear_error();
    return matches;
}

} // namespace omni::trust
