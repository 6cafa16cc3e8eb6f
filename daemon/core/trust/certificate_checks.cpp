#include "daemon/core/trust/certificate_checks.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "daemon/core/digest/digest.hpp"
#include "daemon/core/trust/pem_blocks.hpp"

namespace omni::trust {
namespace {

constexpr std::string_view kCertificateEntry = "certificate.pem";
constexpr std::string_view kPrivateKeyEntry = "private_key.pem";
constexpr std::string_view kChainEntry = "chain.pem";
// Names and lists in messages stay readable even for hostile certificates.
constexpr std::size_t kMaxNameInMessage = 200;
constexpr std::size_t kMaxAnchorsInMessage = 5;
// ASN.1 times cover the years 0000-9999; the fallback of validityOf lies
// outside any real certificate's window without risking overflow.
constexpr time::UnixTime kLatestAsn1Time = 253402300799; // 9999-12-31T23:59:59Z
constexpr time::UnixTime kEarliestAsn1Time = -62167219200; // 0000-01-01T00:00:00Z

struct OpenSslFree {
    void operator()(void* memory) const noexcept { OPENSSL_free(memory); }
};

std::optional<time::UnixTime> toUnixTime(const ASN1_TIME* asn1Time)
{
    std::tm fields {};
    if (asn1Time == nullptr || ASN1_TIME_to_tm(asn1Time, &fields) != 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    const std::int64_t days = time::daysFromCivil(static_cast<std::int64_t>(fields.tm_year) + 1900,
        static_cast<unsigned>(fields.tm_mon + 1), static_cast<unsigned>(fields.tm_mday));
    return days * 86400 + fields.tm_hour * 3600 + fields.tm_min * 60 + fields.tm_sec;
}

std::string clipped(std::string text)
{
    if (text.size() > kMaxNameInMessage) {
        text.resize(kMaxNameInMessage);
        text += "...";
    }
    return text;
}

std::string nameToString(const X509_NAME* name)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    // RFC 2253 with control characters escaped but UTF-8 kept readable.
    if (!bio || name == nullptr
        || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
        ERR_clear_error();
        return "(unprintable name)";
    }
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    if (length <= 0) {
        return "(empty name)";
    }
    return clipped(std::string(data, static_cast<std::size_t>(length)));
}

// How a technician recognises a certificate: its commonName, else its subject.
std::string certificateLabel(const X509* certificate)
{
    if (auto name = commonName(certificate)) {
        return "'" + clipped(*name) + "'";
    }
    return "'" + nameToString(X509_get_subject_name(certificate)) + "'";
}

std::string describeKey(const EVP_PKEY* key)
{
    if (EVP_PKEY_is_a(key, "EC")) {
        std::array<char, 80> group {};
        std::size_t groupLength = 0;
        if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &groupLength) != 1) {
            ERR_clear_error();
            return "EC with explicit curve parameters";
        }
        const int nid = OBJ_sn2nid(group.data());
        const char* nistName = nid != NID_undef ? EC_curve_nid2nist(nid) : nullptr;
        return std::string("EC ") + (nistName != nullptr ? nistName : group.data());
    }
    const char* typeName = EVP_PKEY_get0_type_name(key);
    std::string description = typeName != nullptr ? typeName : "unknown key type";
    if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS") || EVP_PKEY_is_a(key, "DSA")
        || EVP_PKEY_is_a(key, "DH")) {
        description += " " + std::to_string(EVP_PKEY_get_bits(key)) + "-bit";
    }
    return description;
}

// DESIGN.md section 2. The RSA bound keeps the cost of an attempt bounded:
// it is judged from the decoded modulus size, before any check on the key
// (RSA-16384's pairwise check costs more than the watchdog allows).
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 4096;
constexpr std::string_view kAcceptedKeys
    = "the device accepts EC P-256, EC P-384 or RSA of 2048 to 4096 bits";

bool isAcceptedKeyType(const EVP_PKEY* key)
{
    if (EVP_PKEY_is_a(key, "EC")) {
        const std::string description = describeKey(key);
        return description == "EC P-256" || description == "EC P-384";
    }
    if (!EVP_PKEY_is_a(key, "RSA"))
        return false;
    const int bits = EVP_PKEY_get_bits(key);
    return bits >= kMinRsaBits && bits <= kMaxRsaBits;
}

Result<X509Ptr> parseCertificateEntry(std::string_view pem)
{
    const std::string entry(kCertificateEntry);
    auto blocks = pem::splitBlocks(pem);
    if (!blocks) {
        return fail(ReasonCode::CertInvalid, Check::CertParse, entry + ": " + blocks.error(), entry);
    }
    if (blocks->empty()) {
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry + " holds no PEM block; exactly one '-----BEGIN CERTIFICATE-----' is required", entry);
    }
    if (blocks->size() > 1) {
        const pem::Block& second = (*blocks)[1];
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry + " holds " + std::to_string(blocks->size())
                + " PEM blocks; exactly one certificate is required (a second block, '"
                + clipped(second.label) + "', begins at line " + std::to_string(second.firstLine)
                + "; intermediate certificates belong in chain.pem)",
            entry);
    }
    auto certificate = pem::certificateFromBlock(blocks->front());
    if (!certificate) {
        return fail(ReasonCode::CertInvalid, Check::CertParse, entry + ": " + certificate.error(), entry);
    }
    return std::move(*certificate);
}

// The certificate's own key obeys the same rule as private_key.pem.
Result<void> checkCertifiedKeyType(const X509* certificate)
{
    const std::string entry(kCertificateEntry);
    const EVP_PKEY* publicKey = X509_get0_pubkey(certificate);
    if (publicKey == nullptr) {
        ERR_clear_error();
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry + ": the certificate's public key does not decode; " + std::string(kAcceptedKeys), entry);
    }
    if (!isAcceptedKeyType(publicKey)) {
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry + " certifies an unsupported key type, " + describeKey(publicKey) + "; "
                + std::string(kAcceptedKeys),
            entry);
    }
    return {};
}

Result<PkeyPtr> parsePrivateKeyEntry(std::string_view pem)
{
    const std::string entry(kPrivateKeyEntry);
    const std::string required = "the device needs an unencrypted PKCS#8 key ('-----BEGIN PRIVATE KEY-----')";
    auto blocks = pem::splitBlocks(pem);
    if (!blocks) {
        return fail(ReasonCode::CertInvalid, Check::CertParse, entry + ": " + blocks.error(), entry);
    }
    if (blocks->size() != 1) {
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry + " holds " + std::to_string(blocks->size()) + " PEM blocks; " + required
                + " and nothing else",
            entry);
    }
    const pem::Block& block = blocks->front();
    if (block.label == "ENCRYPTED PRIVATE KEY" || block.headers.find("ENCRYPTED") != std::string::npos) {
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry + " holds an encrypted key ('" + clipped(block.label) + "'); " + required, entry);
    }
    if (block.label != "PRIVATE KEY") {
        const bool traditional = block.label.ends_with("PRIVATE KEY");
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry + " holds " + (traditional ? "a traditional (not PKCS#8) key" : "a PEM block") + " '"
                + clipped(block.label) + "'; " + required,
            entry);
    }
    if (!block.headers.empty()) {
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry + ": the key block has PEM headers; " + required, entry);
    }
    const auto* begin = reinterpret_cast<const unsigned char*>(block.der.data());
    const unsigned char* cursor = begin;
    Pkcs8Ptr info(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &cursor, static_cast<long>(block.der.size())));
    if (!info || cursor != begin + block.der.size()) {
        ERR_clear_error();
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry + ": the 'PRIVATE KEY' block is not a valid PKCS#8 PrivateKeyInfo", entry);
    }
    PkeyPtr key(EVP_PKCS82PKEY(info.get()));
    if (!key) {
        // OpenSSL's reason names the algorithm problem, never key bytes.
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry + ": the PKCS#8 key does not decode: " + drainOpenSslErrors(), entry);
    }
    if (!isAcceptedKeyType(key.get())) {
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry + " holds an unsupported key type, " + describeKey(key.get()) + "; "
                + std::string(kAcceptedKeys),
            entry);
    }
    return key;
}

Result<std::vector<X509Ptr>> parseChainEntry(std::string_view pem)
{
    const std::string entry(kChainEntry);
    auto blocks = pem::splitBlocks(pem);
    if (!blocks) {
        return fail(ReasonCode::CertInvalid, Check::CertParse, entry + ": " + blocks.error(), entry);
    }
    if (blocks->empty()) {
        return fail(ReasonCode::CertInvalid, Check::CertParse,
            entry
                + " is present but holds no PEM certificate; leave it out or put the intermediate CA "
                  "certificates in it",
            entry);
    }
    std::vector<X509Ptr> certificates;
    for (const pem::Block& block : *blocks) {
        auto certificate = pem::certificateFromBlock(block);
        if (!certificate) {
            return fail(ReasonCode::CertInvalid, Check::CertParse, entry + ": " + certificate.error(), entry);
        }
        certificates.push_back(std::move(*certificate));
    }
    return certificates;
}

std::string durationText(std::int64_t seconds)
{
    if (seconds >= 60 && seconds % 60 == 0) {
        const std::int64_t minutes = seconds / 60;
        return std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
    }
    return std::to_string(seconds) + " s";
}

} // namespace

Result<TrustAnchors> TrustAnchors::fromPem(
    const std::vector<std::pair<std::string, std::string>>& sourceNameAndPem)
{
    TrustAnchors anchors;
    for (const auto& [sourceName, pemText] : sourceNameAndPem) {
        auto blocks = pem::splitBlocks(pemText);
        if (!blocks) {
            return fail(ReasonCode::InternalError, Check::None,
                "trust anchor " + sourceName + ": " + blocks.error(), sourceName);
        }
        if (blocks->empty()) {
            return fail(ReasonCode::InternalError, Check::None,
                "trust anchor " + sourceName + " holds no PEM certificate ('-----BEGIN CERTIFICATE-----')",
                sourceName);
        }
        for (const pem::Block& block : *blocks) {
            auto certificate = pem::certificateFromBlock(block);
            if (!certificate) {
                return fail(ReasonCode::InternalError, Check::None,
                    "trust anchor " + sourceName + ": " + certificate.error(), sourceName);
            }
            anchors.certificates_.push_back(std::move(*certificate));
        }
    }
    return anchors;
}

Result<Credentials> parseCredentials(std::string_view certificatePem, std::string_view privateKeyPem,
    const std::optional<std::string>& chainPem)
{
    ERR_clear_error();
    Credentials credentials;
    auto certificate = parseCertificateEntry(certificatePem);
    if (!certificate) {
        return tl::unexpected(std::move(certificate.error()));
    }
    credentials.certificate = std::move(*certificate);
    auto key = parsePrivateKeyEntry(privateKeyPem);
    if (!key) {
        return tl::unexpected(std::move(key.error()));
    }
    credentials.privateKey = std::move(*key);
    if (auto certified = checkCertifiedKeyType(credentials.certificate.get()); !certified) {
        return tl::unexpected(std::move(certified.error()));
    }
    if (chainPem) {
        auto chain = parseChainEntry(*chainPem);
        if (!chain) {
            return tl::unexpected(std::move(chain.error()));
        }
        credentials.chain = std::move(*chain);
    }
    return credentials;
}

Result<void> checkKeyMatchesCertificate(const Credentials& credentials)
{
    const std::string entry(kPrivateKeyEntry);
    if (!credentials.certificate || !credentials.privateKey) {
        return fail(ReasonCode::InternalError, Check::KeyMatch, "no certificate or key to compare", entry);
    }
    const EVP_PKEY* certificateKey = X509_get0_pubkey(credentials.certificate.get());
    if (certificateKey == nullptr || EVP_PKEY_eq(certificateKey, credentials.privateKey.get()) != 1) {
        ERR_clear_error();
        return fail(ReasonCode::KeyMismatch, Check::KeyMatch,
            "the private key in private_key.pem (" + describeKey(credentials.privateKey.get())
                + ") does not belong to the certificate in certificate.pem (its public key: "
                + (certificateKey != nullptr ? describeKey(certificateKey) : std::string("undecodable"))
                + ")",
            entry);
    }
    // EVP_PKEY_eq compares public halves only; a key file may pair the
    // certificate's public key with an unrelated private part.
    PkeyCtxPtr context(EVP_PKEY_CTX_new_from_pkey(nullptr, credentials.privateKey.get(), nullptr));
    if (!context || EVP_PKEY_pairwise_check(context.get()) != 1) {
        ERR_clear_error();
        return fail(ReasonCode::KeyMismatch, Check::KeyMatch,
            "the private key in private_key.pem carries the certificate's public key, but its private part "
            "does not belong to it (pairwise consistency check failed)",
            entry);
    }
    return {};
}

Result<CertificatePath> verifyChain(const Credentials& credentials, const TrustAnchors& anchors)
{
    const std::string entry(kCertificateEntry);
    ERR_clear_error();
    if (!credentials.certificate) {
        return fail(ReasonCode::InternalError, Check::Chain, "no certificate to verify", entry);
    }
    if (anchors.certificates().empty()) {
        return fail(ReasonCode::CertUntrusted, Check::Chain,
            "the device has no trust anchor configured, so no certificate can be trusted; configure the "
            "issuer's root certificate as a trust anchor",
            entry);
    }
    X509StorePtr store(X509_STORE_new());
    X509StackPtr untrusted(sk_X509_new_null());
    X509StoreCtxPtr context(X509_STORE_CTX_new());
    if (!store || !untrusted || !context) {
        return fail(ReasonCode::InternalError, Check::Chain, "out of memory: " + drainOpenSslErrors(), entry);
    }
    for (const X509Ptr& anchor : anchors.certificates()) {
        if (X509_STORE_add_cert(store.get(), anchor.get()) != 1) {
            return fail(ReasonCode::InternalError, Check::Chain,
                "cannot add a trust anchor to the store: " + drainOpenSslErrors(), entry);
        }
    }
    // Time is judged by checks 16 and 17 so that a wrong clock gets its own
    // reason; an anchor need not be self-signed (an intermediate may be the
    // device's anchor).
    X509_STORE_set_flags(store.get(), X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN);
    for (const X509Ptr& helper : credentials.chain) {
        if (X509_up_ref(helper.get()) != 1) {
            return fail(ReasonCode::InternalError, Check::Chain, "X509_up_ref failed", entry);
        }
        if (sk_X509_push(untrusted.get(), helper.get()) <= 0) {
            X509_free(helper.get());
            return fail(
                ReasonCode::InternalError, Check::Chain, "out of memory: " + drainOpenSslErrors(), entry);
        }
    }
    if (X509_STORE_CTX_init(context.get(), store.get(), credentials.certificate.get(), untrusted.get())
        != 1) {
        return fail(ReasonCode::InternalError, Check::Chain,
            "cannot set up verification: " + drainOpenSslErrors(), entry);
    }
    if (X509_verify_cert(context.get()) != 1) {
        const int error = X509_STORE_CTX_get_error(context.get());
        const int depth = X509_STORE_CTX_get_error_depth(context.get());
        const X509* current = X509_STORE_CTX_get_current_cert(context.get());
        if (current == nullptr) {
            current = credentials.certificate.get();
        }
        std::string anchorList;
        const std::size_t anchorCount = anchors.certificates().size();
        for (std::size_t i = 0; i < std::min(anchorCount, kMaxAnchorsInMessage); ++i) {
            anchorList += (i == 0 ? "" : ", ")
                + nameToString(X509_get_subject_name(anchors.certificates()[i].get()));
        }
        if (anchorCount > kMaxAnchorsInMessage) {
            anchorList += ", ...";
        }
        ERR_clear_error();
        return fail(ReasonCode::CertUntrusted, Check::Chain,
            "no chain of valid signatures leads from the provisioning certificate to a trust anchor of the "
            "device: "
                + std::string(X509_verify_cert_error_string(error)) + " (OpenSSL verify error "
                + std::to_string(error) + " at depth " + std::to_string(depth) + ", certificate subject '"
                + nameToString(X509_get_subject_name(current)) + "', issuer '"
                + nameToString(X509_get_issuer_name(current)) + "'); the device trusts "
                + std::to_string(anchorCount) + " anchor(s): " + anchorList,
            entry);
    }
    X509StackPtr built(X509_STORE_CTX_get1_chain(context.get()));
    if (!built) {
        return fail(ReasonCode::InternalError, Check::Chain, "the verified path is not available", entry);
    }
    CertificatePath path;
    while (sk_X509_num(built.get()) > 0) {
        path.certificates.emplace_back(sk_X509_shift(built.get()));
    }
    return path;
}

std::string subjectName(const X509* certificate)
{
    return nameToString(certificate != nullptr ? X509_get_subject_name(certificate) : nullptr);
}

tl::expected<std::vector<X509Ptr>, std::string> parseCertificatesPem(std::string_view pem)
{
    auto blocks = pem::splitBlocks(pem);
    if (!blocks) {
        return tl::unexpected(blocks.error());
    }
    if (blocks->empty()) {
        return tl::unexpected(std::string("holds no PEM certificate ('-----BEGIN CERTIFICATE-----')"));
    }
    std::vector<X509Ptr> certificates;
    for (const pem::Block& block : *blocks) {
        auto certificate = pem::certificateFromBlock(block);
        if (!certificate) {
            return tl::unexpected(certificate.error());
        }
        certificates.push_back(std::move(*certificate));
    }
    return certificates;
}

Validity validityOf(const X509* certificate)
{
    Validity validity;
    const auto notBefore
        = certificate != nullptr ? toUnixTime(X509_get0_notBefore(certificate)) : std::nullopt;
    const auto notAfter = certificate != nullptr ? toUnixTime(X509_get0_notAfter(certificate)) : std::nullopt;
    // Fail closed: a time that does not convert makes the window empty.
    validity.notBefore = notBefore.value_or(kLatestAsn1Time);
    validity.notAfter = notAfter.value_or(kEarliestAsn1Time);
    return validity;
}

Result<void> checkLifetime(const X509* provisioningCertificate, std::int64_t maxLifetimeSeconds)
{
    const Validity validity = validityOf(provisioningCertificate);
    const std::int64_t lifetime = validity.notAfter - validity.notBefore;
    if (lifetime > maxLifetimeSeconds) {
        return fail(ReasonCode::CertLifetimeTooLong, Check::Lifetime,
            "the provisioning certificate is valid for " + std::to_string(lifetime) + " s (from "
                + time::formatRfc3339(validity.notBefore) + " until " + time::formatRfc3339(validity.notAfter)
                + "); this device accepts at most " + std::to_string(maxLifetimeSeconds)
                + " s. Issue the archive with ProvisionDevice (or omni-provision create-device), which makes "
                  "5-minute certificates",
            std::string(kCertificateEntry));
    }
    return {};
}

Result<void> checkClock(time::UnixTime now, time::UnixTime buildEpoch)
{
    if (now < buildEpoch) {
        return fail(ReasonCode::ClockUntrusted, Check::Clock,
            "the device clock reads " + time::formatRfc3339(now)
                + ", which is before this software's build time " + time::formatRfc3339(buildEpoch)
                + ", so the clock cannot be right (dead RTC battery?). Set the device clock to the correct "
                  "time (UTC) and plug the stick in again");
    }
    return {};
}

Result<void> checkValidity(const CertificatePath& path, time::UnixTime now, std::int64_t toleranceSeconds)
{
    if (path.certificates.empty() || !path.certificates.front()) {
        return fail(ReasonCode::InternalError, Check::Validity, "no certificate path to judge");
    }
    const std::int64_t tolerance = std::max<std::int64_t>(toleranceSeconds, 0);
    const Validity leaf = validityOf(path.certificates.front().get());
    const std::string entry(kCertificateEntry);
    if (now < leaf.notBefore - tolerance) {
        return fail(ReasonCode::CertNotYetValid, Check::Validity,
            "the provisioning certificate was issued at " + time::formatRfc3339(leaf.notBefore)
                + " and is valid until " + time::formatRfc3339(leaf.notAfter) + " ("
                + std::to_string(tolerance) + " s tolerance); this device's clock reads "
                + time::formatRfc3339(now) + ", " + std::to_string(leaf.notBefore - now)
                + " s before the issue time. The device clock or the issuing computer's clock is wrong: "
                  "set the device clock (or fix the issuer's) and create a new archive",
            entry);
    }
    if (now > leaf.notAfter + tolerance) {
        return fail(ReasonCode::CertExpired, Check::Validity,
            "the provisioning certificate was issued at " + time::formatRfc3339(leaf.notBefore)
                + " and was valid until " + time::formatRfc3339(leaf.notAfter) + " ("
                + std::to_string(tolerance) + " s tolerance); this device's clock reads "
                + time::formatRfc3339(now) + ". Create a new archive and copy it to the stick within "
                + durationText(std::max<std::int64_t>(leaf.notAfter - leaf.notBefore, 0)),
            entry);
    }
    for (std::size_t index = 1; index < path.certificates.size(); ++index) {
        const X509* certificate = path.certificates[index].get();
        const Validity validity = validityOf(certificate);
        const bool isAnchor = index + 1 == path.certificates.size();
        const std::string role = isAnchor ? "the device's trust anchor " : "the CA certificate ";
        const std::string window = "is valid from " + time::formatRfc3339(validity.notBefore) + " until "
            + time::formatRfc3339(validity.notAfter) + "; this device's clock reads "
            + time::formatRfc3339(now);
        const std::string remedy = isAnchor
            ? "Replace the device's trust anchor with a current one"
            : "The administrator must renew that CA certificate and issue a new "
              "archive";
        if (now < validity.notBefore) {
            return fail(ReasonCode::CertNotYetValid, Check::Validity,
                role + certificateLabel(certificate) + " of the path is not valid yet: it " + window
                    + ". If the device clock is wrong, set it; otherwise " + remedy,
                entry);
        }
        if (now > validity.notAfter) {
            return fail(ReasonCode::CertExpired, Check::Validity,
                role + certificateLabel(certificate) + " of the path has expired: it " + window
                    + ". If the device clock is wrong, set it; otherwise " + remedy,
                entry);
        }
    }
    return {};
}

std::optional<std::string> commonName(const X509* certificate)
{
    if (certificate == nullptr) {
        return std::nullopt;
    }
    const X509_NAME* subject = X509_get_subject_name(certificate);
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) {
        return std::nullopt;
    }
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, value);
    std::unique_ptr<unsigned char, OpenSslFree> owner(utf8);
    if (length < 0) {
        ERR_clear_error();
        return std::nullopt;
    }
    return std::string(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
}

Result<void> checkManifestDigest(const X509* provisioningCertificate, std::string_view manifestBytes)
{
    const std::string entry(kCertificateEntry);
    const std::string extensionName
        = std::string("the manifest digest extension (OID ") + kManifestDigestOid + ")";
    Asn1ObjectPtr oid(OBJ_txt2obj(kManifestDigestOid, 1));
    if (!oid || provisioningCertificate == nullptr) {
        return fail(ReasonCode::InternalError, Check::Digest,
            "cannot make the digest OID: " + drainOpenSslErrors(), entry);
    }
    const int index = X509_get_ext_by_OBJ(provisioningCertificate, oid.get(), -1);
    if (index < 0) {
        return fail(ReasonCode::ManifestDigestMismatch, Check::Digest,
            "the provisioning certificate lacks " + extensionName + ", so nothing binds manifest.json to it",
            entry);
    }
    if (X509_get_ext_by_OBJ(provisioningCertificate, oid.get(), index) >= 0) {
        return fail(ReasonCode::ManifestDigestMismatch, Check::Digest,
            "the provisioning certificate has " + extensionName + " more than once", entry);
    }
    const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(provisioningCertificate, index));
    const unsigned char* begin = ASN1_STRING_get0_data(value);
    const int valueLength = ASN1_STRING_length(value);
    const unsigned char* cursor = begin;
    Asn1OctetStringPtr certifiedDigest(d2i_ASN1_OCTET_STRING(nullptr, &cursor, valueLength));
    if (!certifiedDigest) {
        ERR_clear_error();
        return fail(ReasonCode::ManifestDigestMismatch, Check::Digest,
            extensionName + " is not a DER OCTET STRING", entry);
    }
    if (cursor != begin + valueLength) {
        return fail(ReasonCode::ManifestDigestMismatch, Check::Digest,
            extensionName + " has " + std::to_string(begin + valueLength - cursor)
                + " bytes after its OCTET STRING",
            entry);
    }
    unsigned char* reencoded = nullptr;
    const int reencodedLength = i2d_ASN1_OCTET_STRING(certifiedDigest.get(), &reencoded);
    std::unique_ptr<unsigned char, OpenSslFree> reencodedOwner(reencoded);
    if (reencodedLength != valueLength || !std::equal(begin, begin + valueLength, reencoded)) {
        ERR_clear_error();
        return fail(ReasonCode::ManifestDigestMismatch, Check::Digest,
            extensionName + " is a BER but not a DER OCTET STRING (constructed or non-minimal length)",
            entry);
    }
    const int digestLength = ASN1_STRING_length(certifiedDigest.get());
    if (digestLength != static_cast<int>(digest::kSha256Size)) {
        return fail(ReasonCode::ManifestDigestMismatch, Check::Digest,
            extensionName + " holds " + std::to_string(digestLength) + " bytes; a SHA-256 digest has 32",
            entry);
    }
    const std::span<const std::uint8_t> certified(
        ASN1_STRING_get0_data(certifiedDigest.get()), digest::kSha256Size);
    const auto actual = digest::sha256(manifestBytes);
    if (!std::equal(certified.begin(), certified.end(), actual.begin())) {
        return fail(ReasonCode::ManifestDigestMismatch, Check::Digest,
            "manifest.json was changed after the certificate was issued: its SHA-256 is "
                + digest::toHex(actual) + ", the certificate's manifest digest is "
                + digest::toHex(certified),
            "manifest.json");
    }
    return {};
}

} // namespace omni::trust
