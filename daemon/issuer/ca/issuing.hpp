#pragma once
// The administrator's side: an operator-owned CA (`ca init`) and the offline
// ProvisionDevice (`create-device`): request in, archive and response out.
// Pure apart from the randomness of keys and identifiers; files, the registry
// and the clock belong to the caller.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/core/manifest/manifest.hpp"
#include "daemon/core/result.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/certificate_checks.hpp"
#include "daemon/core/trust/openssl_types.hpp"

namespace omni::issuer {

inline constexpr std::int64_t kProvisioningCertificateLifetime = 300; // DESIGN.md section 2

struct CaMaterial {
    std::string rootCertificatePem;
    std::string rootKeyPem;
    std::string issuingCertificatePem;
    std::string issuingKeyPem;
};

// A root CA and an issuing CA, EC P-256. Both are backdated by an hour so a
// device whose clock runs a little behind still accepts the path.
Result<CaMaterial> makeCertificateAuthority(time::UnixTime now, const std::string& organization);

struct IssuingAuthority {
    trust::X509Ptr certificate;
    trust::PkeyPtr key;
    std::string chainPem; // goes into the archive as chain.pem when not empty
};

struct ArnScope {
    std::string partition = "aws";
    std::string region = "us-east-1";
    std::string accountId = "123456789012";
};

struct IssuedDevice {
    std::string name;
    std::string deviceId;
    std::string arn;
    std::string iotThingName;
    time::UnixTime createdAt = 0;
    time::UnixTime certificateNotAfter = 0;
    std::string archive; // the ZIP bytes
    std::string manifest; // the exact manifest.json bytes inside it
    // The provisioning certificate's serial in uppercase hex, as `openssl x509
    // -serial` prints it (the registry records it; enrolment matches it).
    std::string certificateSerial;
};

// "device-" and 26 lowercase base-32 characters, like Panorama's identifiers.
std::string newDeviceId();

// A device record, a fresh EC P-256 key, a 300-second certificate bound to
// the manifest by the digest extension, and the archive. The manifest is
// checked with the device's own parser before anything is signed, so the
// issuer never produces an archive its devices refuse: MANIFEST_INVALID
// (e.g. a request whose Tags make manifest.json exceed 64 KiB), with
// Error::where naming the request field to change. `enrollment`, when given,
// becomes the manifest's Enrollment member (section 10), bound like the rest.
Result<IssuedDevice> issueDevice(const manifest::ProvisionRequest& request, const IssuingAuthority& authority,
    const ArnScope& scope, time::UnixTime now, const std::optional<manifest::Enrollment>& enrollment = {});

// The ProvisionDevice response body (the seed's Response Syntax).
nlohmann::json provisionResponse(const IssuedDevice& device);

std::string base64Encode(std::string_view bytes);

} // namespace omni::issuer
