#include "daemon/issuer/serve/est.hpp"

#include <algorithm>
#include <initializer_list>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>

#include <nlohmann/json.hpp>

#include "daemon/core/text/json_text.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/x509_builder.hpp"
#include "daemon/issuer/ca/issuing.hpp"

namespace omni::serve::est {
namespace {

using Pkcs7Ptr = std::unique_ptr<PKCS7, trust::OpenSslDeleter<PKCS7, PKCS7_free>>;

tl::unexpected<Refusal> refuse(int status, std::string reason)
{
    return tl::unexpected(Refusal { status, std::move(reason) });
}

// Base64 with line breaks (RFC 7030 bodies are often wrapped at 64 or 76).
std::optional<std::string> decodeBase64(std::string_view text)
{
    std::string compact;
    compact.reserve(text.size());
    for (const char c : text) {
        if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
            continue;
        compact.push_back(c);
    }
    if (compact.empty() || compact.size() % 4 != 0)
        return std::nullopt;
    std::string decoded(compact.size() / 4 * 3, '\0');
    const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
        reinterpret_cast<const unsigned char*>(compact.data()), static_cast<int>(compact.size()));
    if (length < 0)
        return std::nullopt;
    std::size_t padding = 0;
    if (compact.back() == '=')
        padding = compact[compact.size() - 2] == '=' ? 2 : 1;
    decoded.resize(static_cast<std::size_t>(length) - padding);
    return decoded;
}

} // namespace

std::string serialHex(const X509* certificate)
{
    trust::BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr));
    char* hex = serial ? BN_bn2hex(serial.get()) : nullptr;
    std::string text = hex ? hex : "";
    OPENSSL_free(hex);
    return text;
}

bool samePublicKey(const EVP_PKEY* left, const EVP_PKEY* right)
{
    return left && right && EVP_PKEY_eq(left, right) == 1;
}

Outcome<trust::X509Ptr> verifyClientCertificate(
    const std::vector<std::string>& chainDer, const X509* issuingCertificate)
{
    if (chainDer.empty())
        return refuse(403, "no TLS client certificate: this endpoint needs the device's certificate");
    trust::Credentials credentials;
    for (std::size_t index = 0; index < chainDer.size(); ++index) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(chainDer[index].data());
        trust::X509Ptr certificate(d2i_X509(nullptr, &bytes, static_cast<long>(chainDer[index].size())));
        if (!certificate)
            return refuse(403, "the TLS client certificate is not an X.509 certificate");
        if (index == 0)
            credentials.certificate = std::move(certificate);
        else
            credentials.chain.push_back(std::move(certificate));
    }
    auto anchors
        = trust::TrustAnchors::fromPem({ { "issuing CA", trust::certificateToPem(issuingCertificate) } });
    if (!anchors)
        return refuse(403, "the issuing CA cannot be used as an anchor: " + anchors.error().message);
    if (auto path = trust::verifyChain(credentials, *anchors); !path)
        return refuse(403,
            "untrusted: the client certificate does not chain to this service's issuing CA ("
                + path.error().message + ")");
    return std::move(credentials.certificate);
}

Result<std::string> certsOnlyBase64(const std::vector<const X509*>& certificates)
{
    const auto failure = [](const std::string& what) {
        return tl::unexpected(Error { ReasonCode::InternalError, Check::None,
            "PKCS#7 certs-only: " + what + ": " + trust::drainOpenSslErrors(), {} });
    };
    Pkcs7Ptr pkcs7(PKCS7_new());
    if (!pkcs7 || PKCS7_set_type(pkcs7.get(), NID_pkcs7_signed) != 1
        || PKCS7_content_new(pkcs7.get(), NID_pkcs7_data) != 1)
        return failure("cannot make a SignedData");
    for (const X509* certificate : certificates)
        if (PKCS7_add_certificate(pkcs7.get(), const_cast<X509*>(certificate)) != 1)
            return failure("cannot add a certificate");
    unsigned char* der = nullptr;
    const int length = i2d_PKCS7(pkcs7.get(), &der);
    if (length <= 0)
        return failure("cannot encode");
    std::string bytes(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    return issuer::base64Encode(bytes);
}

Outcome<X509ReqPtr> parseCsr(std::string_view body)
{
    const auto der = decodeBase64(body);
    if (!der)
        return refuse(400, "bad CSR: the body is not base64 (application/pkcs10 is base64 of DER PKCS#10)");
    const auto* bytes = reinterpret_cast<const unsigned char*>(der->data());
    X509ReqPtr csr(d2i_X509_REQ(nullptr, &bytes, static_cast<long>(der->size())));
    if (!csr || bytes != reinterpret_cast<const unsigned char*>(der->data()) + der->size()) {
        trust::drainOpenSslErrors();
        return refuse(400, "bad CSR: the body is not one DER PKCS#10 certification request");
    }
    return csr;
}

Outcome<void> checkCsr(X509_REQ* csr, std::string_view deviceId, const EVP_PKEY* presentedKey)
{
    EVP_PKEY* key = X509_REQ_get0_pubkey(csr);
    if (!key)
        return refuse(400, "bad CSR: it has no readable public key");
    if (X509_REQ_verify(csr, key) != 1) {
        trust::drainOpenSslErrors();
        return refuse(400, "bad CSR: its signature does not verify with its own key");
    }
    X509_NAME* subject = X509_REQ_get_subject_name(csr);
    const int first = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    std::optional<std::string> commonName;
    if (first >= 0 && X509_NAME_get_index_by_NID(subject, NID_commonName, first) < 0) {
        unsigned char* utf8 = nullptr;
        const int length
            = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, first)));
        if (length >= 0)
            commonName = std::string(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
        OPENSSL_free(utf8);
    }
    if (!commonName || *commonName != deviceId)
        return refuse(400, "bad CSR: its subject CN must be the DeviceId " + std::string(deviceId));
    const int type = EVP_PKEY_get_base_id(key);
    if (type == EVP_PKEY_EC) {
        char group[64] = {};
        std::size_t groupLength = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &groupLength) != 1
            || (std::string_view(group) != "prime256v1" && std::string_view(group) != "secp384r1"))
            return refuse(400, "bad CSR: an EC key must be on P-256 or P-384");
    } else if (type == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(key) < 2048)
            return refuse(400, "bad CSR: an RSA key must have at least 2048 bits");
    } else {
        return refuse(400, "bad CSR: the key must be EC P-256/P-384 or RSA of at least 2048 bits");
    }
    if (samePublicKey(key, presentedKey))
        return refuse(400, "bad CSR: its key is the one of the certificate presented; make a new key");
    return {};
}

Outcome<void> checkWindow(const trust::Validity& validity, std::int64_t now, std::int64_t graceSeconds)
{
    if (now < validity.notBefore - kClockToleranceSeconds)
        return refuse(403,
            "untrusted: the provisioning certificate is not valid before "
                + time::formatRfc3339(validity.notBefore) + " and this server's clock says "
                + time::formatRfc3339(now));
    if (now > validity.notAfter + graceSeconds)
        return refuse(403,
            "untrusted: the enrolment window closed at "
                + time::formatRfc3339(validity.notAfter + graceSeconds)
                + " (the provisioning certificate's notAfter plus " + std::to_string(graceSeconds)
                + " s); issue a new archive");
    return {};
}

Outcome<void> judgeProvisioningCertificate(
    const std::optional<registry::DeviceRecord>& record, std::string_view presentedSerial)
{
    if (!record)
        return refuse(403, "unknown: this service's registry has no such device");
    if (record->deleted() || record->deletingAt)
        return refuse(409, "deleted: the device " + record->deviceId + " was deleted");
    if (record->provisioningCertificateSerial.empty()
        || record->provisioningCertificateSerial != presentedSerial)
        return refuse(409,
            "superseded: this provisioning certificate is not the one of " + record->deviceId
                + "'s latest archive (a re-issued archive voids the old one)");
    return {};
}

Outcome<EnrolmentStep> judgeRetry(const registry::DeviceRecord& record, bool sameKeyAsEnrolled)
{
    if (!record.deviceCertificateSerial)
        return EnrolmentStep::Issue;
    if (sameKeyAsEnrolled)
        return EnrolmentStep::Resend;
    return refuse(409,
        "consumed: this provisioning certificate has enrolled already (a retry must send the same CSR "
        "key)");
}

Outcome<void> judgeDeviceCertificate(const std::optional<registry::DeviceRecord>& record,
    std::string_view presentedSerial, const trust::Validity& validity, std::int64_t now)
{
    if (!record)
        return refuse(403, "unknown: this service's registry has no such device");
    if (record->deleted() || record->deletingAt)
        return refuse(409, "deleted: the device " + record->deviceId + " was deleted");
    if (!record->deviceCertificateSerial || *record->deviceCertificateSerial != presentedSerial)
        return refuse(409,
            "superseded: this is not " + record->deviceId
                + "'s current device certificate (a provisioning certificate is not accepted here)");
    if (now < validity.notBefore - kClockToleranceSeconds || now > validity.notAfter)
        return refuse(403,
            "untrusted: the device certificate is valid from " + time::formatRfc3339(validity.notBefore)
                + " to " + time::formatRfc3339(validity.notAfter));
    return {};
}

Outcome<std::string> parseStatusReport(std::string_view body)
{
    const auto bad = [](const std::string& why) { return refuse(400, "bad status report: " + why); };
    const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
        return bad("the body must be a JSON object {\"CurrentNetworkingStatus\": {...}}");
    if (parsed.size() != 1 || !parsed.contains("CurrentNetworkingStatus"))
        return bad("the object must have exactly the member CurrentNetworkingStatus");
    const nlohmann::json& status = parsed["CurrentNetworkingStatus"];
    if (!status.is_object())
        return bad("CurrentNetworkingStatus must be an object");
    const auto checkMembers
        = [&](const std::string& where, const nlohmann::json& object,
              std::initializer_list<std::string_view> allowed) -> std::optional<std::string> {
        if (!object.is_object())
            return where + " must be an object";
        for (const auto& [name, value] : object.items()) {
            if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
                return where + "." + name + " is not a member of the model's shape";
            if (!value.is_string() || value.get_ref<const std::string&>().size() > 255)
                return where + "." + name + " must be a string of at most 255 characters";
            if (name == "ConnectionStatus") {
                const auto& text = value.get_ref<const std::string&>();
                if (text != "CONNECTED" && text != "NOT_CONNECTED" && text != "CONNECTING")
                    return where + ".ConnectionStatus must be CONNECTED, NOT_CONNECTED or CONNECTING";
            }
        }
        return std::nullopt;
    };
    for (const auto& [name, value] : status.items()) {
        std::optional<std::string> problem;
        const std::string where = "CurrentNetworkingStatus." + name;
        if (name == "Ethernet0Status" || name == "Ethernet1Status")
            problem = checkMembers(where, value, { "IpAddress", "ConnectionStatus", "HwAddress" });
        else if (name == "NtpStatus")
            problem = checkMembers(where, value, { "ConnectionStatus", "IpAddress", "NtpServerName" });
        else
            problem = where + " is not a member of NetworkStatus";
        if (problem)
            return bad(*problem);
    }
    return text::dumpJson(status);
}

} // namespace omni::serve::est
