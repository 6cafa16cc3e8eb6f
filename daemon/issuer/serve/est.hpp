#pragma once
// EST (RFC 7030) on the issuer (DESIGN.md section 10): the pure rules a
// simpleenroll must pass, and the OpenSSL work around them (PKCS#10 in,
// PKCS#7 certs-only out, the client certificate verified by our own code
// against the issuing CA, never by the TLS library's verdict).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "daemon/core/result.hpp"
#include "daemon/core/trust/certificate_checks.hpp"
#include "daemon/core/trust/openssl_types.hpp"
#include "daemon/issuer/registry/registry.hpp"

namespace omni::serve::est {

// A refusal: the HTTP status (403 untrusted or unknown, 409 consumed,
// superseded or deleted, 400 bad CSR) and the text/plain reason naming the rule.
struct Refusal {
    int status = 400;
    std::string reason;
};
template <class T> using Outcome = tl::expected<T, Refusal>;

// The start of the window is this much before the provisioning certificate's notBefore.
inline constexpr std::int64_t kClockToleranceSeconds = 30;

using X509ReqPtr = std::unique_ptr<X509_REQ, trust::OpenSslDeleter<X509_REQ, X509_REQ_free>>;

// The certificate the client presented (leaf first, DER), verified against
// the issuing CA by our OpenSSL code (time not judged here: the window is
// the registry's). 403 when absent, unparsable or untrusted.
Outcome<trust::X509Ptr> verifyClientCertificate(
    const std::vector<std::string>& chainDer, const X509* issuingCertificate);

// Base64 of a DER PKCS#7 SignedData holding only certificates.
Result<std::string> certsOnlyBase64(const std::vector<const X509*>& certificates);

// The body of simpleenroll: base64 (line breaks allowed) DER PKCS#10. 400 when it is not.
Outcome<X509ReqPtr> parseCsr(std::string_view body);

// The CSR rules: its signature verifies, its subject CN is the DeviceId,
// its key is EC P-256/P-384 or RSA >= 2048 bits and is not `presentedKey`
// (the key of the certificate that authenticated the request). 400.
Outcome<void> checkCsr(X509_REQ* csr, std::string_view deviceId, const EVP_PKEY* presentedKey);

// The server's clock within [notBefore - 30 s, notAfter + grace]. 403.
Outcome<void> checkWindow(const trust::Validity& validity, std::int64_t now, std::int64_t graceSeconds);

// Who the provisioning certificate is, against the registry: the device is
// known (403), not deleted (409), and the serial is its latest archive's
// (409 superseded).
Outcome<void> judgeProvisioningCertificate(
    const std::optional<registry::DeviceRecord>& record, std::string_view presentedSerial);

enum class EnrolmentStep {
    Issue, // a new device certificate
    Resend, // the retry of an enrolment whose response was lost: the same certificate again
};

// Single use: a device that has enrolled gets its certificate again only
// when the CSR's key is the enrolled certificate's (`sameKeyAsEnrolled`),
// else 409 consumed.
Outcome<EnrolmentStep> judgeRetry(const registry::DeviceRecord& record, bool sameKeyAsEnrolled);

// Who a device certificate is, for simplereenroll and /device-status: a
// known, not deleted device whose current device certificate it is (403
// unknown, 409 deleted or superseded), within its validity (403).
Outcome<void> judgeDeviceCertificate(const std::optional<registry::DeviceRecord>& record,
    std::string_view presentedSerial, const trust::Validity& validity, std::int64_t now);

// PUT /device-status: {"CurrentNetworkingStatus": NetworkStatus} in the
// Panorama model's shape (Ethernet0Status/Ethernet1Status: IpAddress,
// ConnectionStatus CONNECTED|NOT_CONNECTED|CONNECTING, HwAddress; NtpStatus:
// ConnectionStatus, IpAddress, NtpServerName), no other member. The
// NetworkStatus object as compact JSON, or 400 naming the member.
Outcome<std::string> parseStatusReport(std::string_view body);

// Uppercase hex, as `openssl x509 -serial` prints it.
std::string serialHex(const X509* certificate);

bool samePublicKey(const EVP_PKEY* left, const EVP_PKEY* right);

} // namespace omni::serve::est
