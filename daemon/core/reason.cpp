// Stable names, journal MESSAGE_IDs and technician advice for every reason code.
// MESSAGE_IDs never change once released: the journal catalog and scripts key on them.
#include "daemon/core/reason.hpp"

#include <array>

namespace omni {
namespace {

constexpr std::array<ReasonInfo, 21> kReasons { {
    { ReasonCode::ArchiveNotFound, "ARCHIVE_NOT_FOUND", "eec16285391b4924b335af8724a678e1",
        "Copy certificates-omni_<device-name>.zip, as ProvisionDevice returned it, into the root folder of "
        "the stick (not a subfolder, not a shortcut) and plug the stick in again." },
    { ReasonCode::ArchiveAmbiguous, "ARCHIVE_AMBIGUOUS", "61b23a63aa3f4f1b8266b0695f24892e",
        "The stick holds several valid archives and this device cannot tell which one is its own. Leave only "
        "this device's archive on the stick, or set the device's expected name." },
    { ReasonCode::ArchiveNameInvalid, "ARCHIVE_NAME_INVALID", "176954dee0264cb39efed578ac8feceb",
        "Rename the file to certificates-omni_<device-name>.zip exactly, where <device-name> is the Name "
        "given to ProvisionDevice (letters, digits, '-' and '_')." },
    { ReasonCode::ArchiveTooLarge, "ARCHIVE_TOO_LARGE", "1786325516894295b8de908ebb99fd19",
        "This is not an archive from ProvisionDevice (they are a few kilobytes). Copy the original "
        "certificates-omni_<device-name>.zip to the stick again." },
    { ReasonCode::AlreadyApplied, "ALREADY_APPLIED", "3c7e4d79561c4b93a0683b73c99a2fa4",
        "Nothing to do: this exact archive was already applied on this device. To change the configuration, "
        "create a new archive." },
    { ReasonCode::ArchiveCorrupt, "ARCHIVE_CORRUPT", "2b98230b4f064c51bfb732cb3f36381b",
        "The archive is damaged (an incomplete copy, or a stick pulled while writing). Copy it to the stick "
        "again, eject the stick safely, then plug it in." },
    { ReasonCode::ArchiveUnsafeEntry, "ARCHIVE_UNSAFE_ENTRY", "3db40b359654418cb36885c3aecaf766",
        "The archive holds paths, links or encrypted entries that ProvisionDevice never creates: it was "
        "altered. Use the original archive; do not repack it." },
    { ReasonCode::ArchiveMissingEntry, "ARCHIVE_MISSING_ENTRY", "903d31619c044a1ba1b67917b588fd0d",
        "The archive lacks a file ProvisionDevice always puts in it: it was altered or repacked. Use the "
        "original archive." },
    { ReasonCode::ManifestInvalid, "MANIFEST_INVALID", "1bfdcd91b261420b81d129268b679320",
        "The configuration in manifest.json is not valid for this device (the message names the field). "
        "Correct the ProvisionDevice request and create a new archive." },
    { ReasonCode::CertInvalid, "CERT_INVALID", "d84c52ea55474e71a2d113aa961ba043",
        "The provisioning certificate or its key cannot be read. Create a new archive with ProvisionDevice "
        "and copy it unchanged." },
    { ReasonCode::KeyMismatch, "KEY_MISMATCH", "f8c88bb23f4b424bb81725c0eb67da54",
        "The private key in the archive does not belong to its certificate: files from two archives were "
        "mixed. Create a new archive." },
    { ReasonCode::CertUntrusted, "CERT_UNTRUSTED", "16482775c5bd438ab784b6a47916cc4b",
        "The archive was not issued by a certificate authority this device trusts. Create the archive with "
        "your organisation's issuer, or install its root certificate as a trust anchor on the device." },
    { ReasonCode::CertLifetimeTooLong, "CERT_LIFETIME_TOO_LONG", "47e700d8316e44f49d920e2c60ac1128",
        "The provisioning certificate is valid for longer than this device allows. Create a new archive with "
        "ProvisionDevice (its certificates last 5 minutes)." },
    { ReasonCode::ClockUntrusted, "CLOCK_UNTRUSTED", "f673509ae39f44f392ba5b760f57fc2e",
        "This device's clock is set before this software was built, so it cannot judge certificate times. "
        "Set the clock (or connect NTP) and plug the stick in again." },
    { ReasonCode::CertNotYetValid, "CERT_NOT_YET_VALID", "ce9c17bc637841da81def3ea5b7bb57f",
        "The certificate is not valid yet by this device's clock. Check the device clock and the issuer's "
        "clock, then plug the stick in again or create a new archive." },
    { ReasonCode::CertExpired, "CERT_EXPIRED", "5984bafe263646c891c1e1a6e4e919dd",
        "The provisioning certificate has expired. Create a new archive and copy it to the stick within 5 "
        "minutes, then plug it in straight away." },
    { ReasonCode::CertNameMismatch, "CERT_NAME_MISMATCH", "fd614b1ab76f4aa1bd43bab01863403a",
        "The archive belongs to another device, or its file was renamed. Use the archive created for this "
        "device, named certificates-omni_<device-name>.zip." },
    { ReasonCode::ManifestDigestMismatch, "MANIFEST_DIGEST_MISMATCH", "f28df84e9b554e9db72d3350895bd758",
        "manifest.json was changed after the archive was issued. Use the original archive, or create a new "
        "one." },
    { ReasonCode::InterfaceMissing, "INTERFACE_MISSING", "a2c331809cf547029a41757db28e2b49",
        "The configuration names an Ethernet port this device does not have, or the port mapping in "
        "/etc/omni-provision/config.yaml is wrong. Check the cabling and the interface mapping." },
    { ReasonCode::NetworkApplyFailed, "NETWORK_APPLY_FAILED", "327b7bae24024a84953c16142ef2c46f",
        "The network settings could not be applied and were rolled back. See the journal for the step that "
        "failed; check the settings and try again." },
    { ReasonCode::InternalError, "INTERNAL_ERROR", "9578f54bbe824f0c8664ec8eda1c4452",
        "An internal fault stopped provisioning (state unreadable or a driver broken). See journalctl -u "
        "omni-provisiond and report it." },
} };

} // namespace

const ReasonInfo& reasonInfo(ReasonCode code)
{
    return kReasons[static_cast<std::size_t>(code)];
}

std::string_view toString(ReasonCode code)
{
    return reasonInfo(code).name;
}

std::optional<ReasonCode> reasonFromString(std::string_view name)
{
    for (const auto& info : kReasons)
        if (info.name == name)
            return info.code;
    return std::nullopt;
}

const ReasonInfo* allReasons(std::size_t& count)
{
    count = kReasons.size();
    return kReasons.data();
}

} // namespace omni
