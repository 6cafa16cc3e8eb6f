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

#include "daemon/core/trust/pem_blocks.hpp"

namespace omni::trust {
namespace {

constexpr std::string_view kCertificateEntry = "certificate.pem";
constexpr std::string_view kPrivateKeyEntry = "private_key.pem";
constexpr std::string_view kChainEntry = "chain.pem";
constexpr std::size_t kSha256Size = 32;
// Names and lists in messages stay readable even for hostile certificates.
constexpr std::size_t kMaxNameInMessage = 200;
constexpr std::size_t kMaxAnchorsInMessage = 5;
// ASN.1 times cover the years 0000-9999; the fallback of validityOf lies
// outside any real certificate's window without risking overflow.
constexpr UnixTime kLatestAsn1Time = 253402300799; // 9999-12-31T23:59:59Z
constexpr UnixTime kEarliestAsn1Time = -62167219200; // 0000-01-01T00:00:00Z

struct OpenSslFree {
    void operator()(void* memory) const noexcept { OPENSSL_free(memory); }
};

// Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian,
// independent of the C library's time_t range and time zone.
std::int64_t daysFromCivil(std::int64_t year, unsigned month, unsigned day)
{
    year -= month <= 2 ? 1 : 0;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto yearOfEra = static_cast<unsigned>(year - era * 400);
    const unsigned dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
    return era * 146097 + static_cast<std::int64_t>(dayOfEra) - 719468;
}

struct CivilDate {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

CivilDate civilFromDays(std::int64_t days)
{
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const auto dayOfEra = static_cast<unsigned>(days - era * 146097);
    const unsigned yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
    const unsigned dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
    const unsigned monthIndex = (5 * dayOfYear + 2) / 153;
    const unsigned day = dayOfYear - (153 * monthIndex + 2) / 5 + 1;
    const unsigned month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
    const std::int64_t year = static_cast<std::int64_t>(yearOfEra) + era * 400 + (month <= 2 ? 1 : 0);
    return { year, month, day };
}

bool isLeapYear(std::int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

unsigned daysInMonth(std::int64_t year, unsigned month)
{
    static constexpr std::array<unsigned, 12> kDays { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return month == 2 && isLeapYear(year) ? 29 : kDays[month - 1];
}

std::optional<UnixTime> toUnixTime(const ASN1_TIME* time)
{
    std::tm fields {};
    if (time == nullptr || ASN1_TIME_to_tm(time, &fields) != 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    const std::int64_t days = daysFromCivil(static_cast<std::int64_t>(fields.tm_year) + 1900,
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

std::optional<int> parseDigits(std::string_view text, std::size_t position, std::size_t count)
{
    if (position + count > text.size()) {
        return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = position; i < position + count; ++i) {
        if (text[i] < '0' || text[i] > '9') {
            return std::nullopt;
        }
        value = value * 10 + (text[i] - '0');
    }
    return value;
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
                + formatTime(validity.notBefore) + " until " + formatTime(validity.notAfter)
                + "); this device accepts at most " + std::to_string(maxLifetimeSeconds)
                + " s. Issue the archive with ProvisionDevice (or omni-provision create-device), which makes "
                  "5-minute certificates",
            std::string(kCertificateEntry));
    }
    return {};
}

Result<void> checkClock(UnixTime now, UnixTime buildEpoch)
{
    if (now < buildEpoch) {
        return fail(ReasonCode::ClockUntrusted, Check::Clock,
            "the device clock reads " + formatTime(now) + ", which is before this software's build time "
                + formatTime(buildEpoch)
                + ", so the clock cannot be right (dead RTC battery?). Set the device clock to the correct "
                  "time (UTC) and plug the stick in again");
    }
    return {};
}

Result<void> checkValidity(const CertificatePath& path, UnixTime now, std::int64_t toleranceSeconds)
{
    if (path.certificates.empty() || !path.certificates.front()) {
        return fail(ReasonCode::InternalError, Check::Validity, "no certificate path to judge");
    }
    const std::int64_t tolerance = std::max<std::int64_t>(toleranceSeconds, 0);
    const Validity leaf = validityOf(path.certificates.front().get());
    const std::string entry(kCertificateEntry);
    if (now < leaf.notBefore - tolerance) {
        return fail(ReasonCode::CertNotYetValid, Check::Validity,
            "the provisioning certificate was issued at " + formatTime(leaf.notBefore)
                + " and is valid until " + formatTime(leaf.notAfter) + " (" + std::to_string(tolerance)
                + " s tolerance); this device's clock reads " + formatTime(now) + ", "
                + std::to_string(leaf.notBefore - now)
                + " s before the issue time. The device clock or the issuing computer's clock is wrong: "
                  "set the device clock (or fix the issuer's) and create a new archive",
            entry);
    }
    if (now > leaf.notAfter + tolerance) {
        return fail(ReasonCode::CertExpired, Check::Validity,
            "the provisioning certificate was issued at " + formatTime(leaf.notBefore)
                + " and was valid until " + formatTime(leaf.notAfter) + " (" + std::to_string(tolerance)
                + " s tolerance); this device's clock reads " + formatTime(now)
                + ". Create a new archive and copy it to the stick within "
                + durationText(std::max<std::int64_t>(leaf.notAfter - leaf.notBefore, 0)),
            entry);
    }
    for (std::size_t index = 1; index < path.certificates.size(); ++index) {
        const X509* certificate = path.certificates[index].get();
        const Validity validity = validityOf(certificate);
        const bool isAnchor = index + 1 == path.certificates.size();
        const std::string role = isAnchor ? "the device's trust anchor " : "the CA certificate ";
        const std::string window = "is valid from " + formatTime(validity.notBefore) + " until "
            + formatTime(validity.notAfter) + "; this device's clock reads " + formatTime(now);
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
    Asn1OctetStringPtr digest(d2i_ASN1_OCTET_STRING(nullptr, &cursor, valueLength));
    if (!digest) {
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
    const int reencodedLength = i2d_ASN1_OCTET_STRING(digest.get(), &reencoded);
    std::unique_ptr<unsigned char, OpenSslFree> reencodedOwner(reencoded);
    if (reencodedLength != valueLength || !std::equal(begin, begin + valueLength, reencoded)) {
        ERR_clear_error();
        return fail(ReasonCode::ManifestDigestMismatch, Check::Digest,
            extensionName + " is a BER but not a DER OCTET STRING (constructed or non-minimal length)",
            entry);
    }
    const int digestLength = ASN1_STRING_length(digest.get());
    if (digestLength != static_cast<int>(kSha256Size)) {
        return fail(ReasonCode::ManifestDigestMismatch, Check::Digest,
            extensionName + " holds " + std::to_string(digestLength) + " bytes; a SHA-256 digest has 32",
            entry);
    }
    const std::span<const std::uint8_t> certified(ASN1_STRING_get0_data(digest.get()), kSha256Size);
    const auto actual = sha256(manifestBytes);
    if (!std::equal(certified.begin(), certified.end(), actual.begin())) {
        return fail(ReasonCode::ManifestDigestMismatch, Check::Digest,
            "manifest.json was changed after the certificate was issued: its SHA-256 is " + toHex(actual)
                + ", the certificate's manifest digest is " + toHex(certified),
            "manifest.json");
    }
    return {};
}

std::string formatTime(UnixTime time)
{
    const std::int64_t days = (time >= 0 ? time : time - 86399) / 86400;
    const std::int64_t secondsOfDay = time - days * 86400;
    const CivilDate date = civilFromDays(days);
    std::array<char, 64> buffer {};
    std::snprintf(buffer.data(), buffer.size(), "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
        static_cast<long long>(date.year), date.month, date.day, static_cast<long long>(secondsOfDay / 3600),
        static_cast<long long>(secondsOfDay / 60 % 60), static_cast<long long>(secondsOfDay % 60));
    return buffer.data();
}

std::optional<UnixTime> parseRfc3339(std::string_view text)
{
    // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), RFC 3339 section 5.6.
    const auto year = parseDigits(text, 0, 4);
    const auto month = parseDigits(text, 5, 2);
    const auto day = parseDigits(text, 8, 2);
    const auto hour = parseDigits(text, 11, 2);
    const auto minute = parseDigits(text, 14, 2);
    const auto second = parseDigits(text, 17, 2);
    if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-'
        || (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
        return std::nullopt;
    }
    if (*month < 1 || *month > 12 || *day < 1
        || static_cast<unsigned>(*day) > daysInMonth(*year, static_cast<unsigned>(*month)) || *hour > 23
        || *minute > 59 || *second > 60) {
        return std::nullopt;
    }
    std::size_t position = 19;
    if (position < text.size() && text[position] == '.') {
        const std::size_t fractionStart = ++position;
        while (position < text.size() && text[position] >= '0' && text[position] <= '9') {
            ++position;
        }
        if (position == fractionStart) {
            return std::nullopt;
        }
    }
    if (position >= text.size()) {
        return std::nullopt;
    }
    std::int64_t offsetSeconds = 0;
    const char designator = text[position];
    if (designator == 'Z' || designator == 'z') {
        ++position;
    } else if (designator == '+' || designator == '-') {
        const auto offsetHours = parseDigits(text, position + 1, 2);
        const auto offsetMinutes = parseDigits(text, position + 4, 2);
        if (!offsetHours || !offsetMinutes || text[position + 3] != ':' || *offsetHours > 23
            || *offsetMinutes > 59) {
            return std::nullopt;
        }
        offsetSeconds = (*offsetHours * 3600 + *offsetMinutes * 60) * (designator == '+' ? 1 : -1);
        position += 6;
    } else {
        return std::nullopt;
    }
    if (position != text.size()) {
        return std::nullopt;
    }
    // A leap second (:60) counts as the first second of the next minute.
    const std::int64_t days
        = daysFromCivil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
    return days * 86400 + *hour * 3600 + *minute * 60 + *second - offsetSeconds;
}

std::array<std::uint8_t, 32> sha256(std::string_view bytes)
{
    std::array<std::uint8_t, 32> digest {};
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

} // namespace omni::trust
