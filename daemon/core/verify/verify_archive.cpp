#include "daemon/core/verify/verify_archive.hpp"

#include <algorithm>
#include <cctype>

#include "daemon/core/digest/digest.hpp"
#include "daemon/core/text/text.hpp"

namespace omni::verify {
namespace {

// A file name from the stick, quoted for a message: escaped, so newlines,
// escape sequences and invalid UTF-8 stay data.
std::string quoted(std::string_view fileName)
{
    return "'" + text::escaped(fileName) + "'";
}

bool equalsIgnoringAsciiCase(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

bool isNameCharacter(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Check 18: the certificate, the manifest, the file and the device must all
// name the same device.
Result<void> checkNameBinding(const AcceptedArchive& archive, const X509* certificate,
    const std::optional<std::string>& fileDeviceName, const VerifyPolicy& policy)
{
    const auto& manifest = archive.manifest;
    const auto commonName = trust::commonName(certificate);
    if (!commonName)
        return fail(ReasonCode::CertNameMismatch, Check::NameBinding,
            "the provisioning certificate has no single subject commonName; it must equal the manifest's "
            "DeviceId '"
                + manifest.deviceId + "'");
    if (*commonName != manifest.deviceId)
        return fail(ReasonCode::CertNameMismatch, Check::NameBinding,
            "the certificate is for device '" + text::escaped(*commonName)
                + "' but the manifest is for DeviceId '" + manifest.deviceId + "'");
    if (fileDeviceName && *fileDeviceName != manifest.request.name)
        return fail(ReasonCode::CertNameMismatch, Check::NameBinding,
            "the file is named for '" + *fileDeviceName + "' but its manifest is for device '"
                + manifest.request.name + "'; the file was renamed or belongs to another device");
    if (policy.expectedName && *policy.expectedName != manifest.request.name)
        return fail(ReasonCode::CertNameMismatch, Check::NameBinding,
            "this device expects the archive for '" + *policy.expectedName + "' but this archive is for '"
                + manifest.request.name + "'");
    return {};
}

} // namespace

std::optional<std::string> deviceNameFromFileName(std::string_view fileName)
{
    if (fileName.size() < kArchivePrefix.size() + kArchiveSuffix.size())
        return std::nullopt;
    if (!equalsIgnoringAsciiCase(fileName.substr(0, kArchivePrefix.size()), kArchivePrefix))
        return std::nullopt;
    if (!equalsIgnoringAsciiCase(fileName.substr(fileName.size() - kArchiveSuffix.size()), kArchiveSuffix))
        return std::nullopt;
    return std::string(fileName.substr(
        kArchivePrefix.size(), fileName.size() - kArchivePrefix.size() - kArchiveSuffix.size()));
}

bool looksLikeArchiveName(std::string_view fileName)
{
    return deviceNameFromFileName(fileName).has_value();
}

Result<std::string> checkArchiveName(std::string_view fileName)
{
    const auto name = deviceNameFromFileName(fileName);
    if (!name)
        return fail(ReasonCode::ArchiveNameInvalid, Check::NameValid,
            quoted(fileName) + " is not named certificates-omni_<device-name>.zip");
    if (name->empty())
        return fail(ReasonCode::ArchiveNameInvalid, Check::NameValid,
            quoted(fileName) + " has an empty device name between 'certificates-omni_' and '.zip'");
    if (name->size() > 255)
        return fail(ReasonCode::ArchiveNameInvalid, Check::NameValid,
            "the device name in " + quoted(fileName) + " is " + std::to_string(name->size())
                + " characters long; the limit is 255");
    const auto bad = std::find_if_not(name->begin(), name->end(), isNameCharacter);
    if (bad != name->end()) {
        const unsigned char c = static_cast<unsigned char>(*bad);
        const std::string shown
            = std::isprint(c) ? std::string("'") + *bad + "'" : "byte " + std::to_string(c);
        return fail(ReasonCode::ArchiveNameInvalid, Check::NameValid,
            "the device name in " + quoted(fileName) + " contains " + shown
                + "; only letters, digits, '-' and '_' are allowed");
    }
    return *name;
}

Result<void> checkArchiveSize(std::uint64_t sizeInBytes, std::string_view fileName)
{
    if (sizeInBytes > archive::kMaxArchiveBytes)
        return fail(ReasonCode::ArchiveTooLarge, Check::FileSize,
            quoted(fileName) + " is " + std::to_string(sizeInBytes)
                + " bytes; a provisioning archive is at most " + std::to_string(archive::kMaxArchiveBytes)
                + " bytes");
    return {};
}

Outcome verifyArchive(
    std::string_view fileName, std::span<const std::uint8_t> bytes, const VerifyPolicy& policy)
{
    Outcome outcome { ArchiveFacts { std::string(fileName), deviceNameFromFileName(fileName), {}, {}, {} },
        tl::unexpected(Error {}) };
    auto reject = [&](Error error) {
        outcome.result = tl::unexpected(std::move(error));
        return std::move(outcome);
    };

    if (auto name = checkArchiveName(fileName); !name)
        return reject(name.error());
    if (auto size = checkArchiveSize(bytes.size(), fileName); !size)
        return reject(size.error());

    const std::string_view byteView(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const auto digest = digest::sha256(byteView);
    outcome.facts.sha256 = digest::toHex(digest);
    if (policy.alreadyApplied && policy.alreadyApplied(*outcome.facts.sha256))
        return reject(Error { ReasonCode::AlreadyApplied, Check::AlreadyApplied,
            quoted(fileName) + " (SHA-256 " + *outcome.facts.sha256
                + ") was already applied on this device; nothing changes",
            {} });

    auto entries = archive::readArchive(bytes);
    if (!entries)
        return reject(entries.error());

    auto manifest = manifest::parseManifest(entries->manifest);
    if (!manifest)
        return reject(manifest.error());
    outcome.facts.manifest = *manifest;

    auto credentials = trust::parseCredentials(entries->certificate, entries->privateKey, entries->chain);
    if (!credentials)
        return reject(credentials.error());
    const X509* certificate = credentials->certificate.get();
    outcome.facts.validity = trust::validityOf(certificate);

    if (auto matched = trust::checkKeyMatchesCertificate(*credentials); !matched)
        return reject(matched.error());
    if (policy.anchors == nullptr)
        return reject(Error { ReasonCode::CertUntrusted, Check::Chain,
            policy.anchorsProblem.empty() ? "this device has no trust anchor configured"
                                          : policy.anchorsProblem,
            {} });
    auto path = trust::verifyChain(*credentials, *policy.anchors);
    if (!path)
        return reject(path.error());
    if (auto lifetime = trust::checkLifetime(certificate, policy.maxLifetimeSeconds); !lifetime)
        return reject(lifetime.error());
    if (auto clock = trust::checkClock(policy.now, policy.buildEpoch); !clock)
        return reject(clock.error());
    if (auto validity = trust::checkValidity(*path, policy.now, policy.toleranceSeconds); !validity)
        return reject(validity.error());

    AcceptedArchive accepted { std::move(*manifest), std::move(*entries), *outcome.facts.validity,
        *outcome.facts.sha256 };
    if (auto names = checkNameBinding(accepted, certificate, outcome.facts.fileDeviceName, policy); !names)
        return reject(names.error());
    if (auto bound = trust::checkManifestDigest(certificate, accepted.entries.manifest); !bound)
        return reject(bound.error());

    outcome.result = std::move(accepted);
    return outcome;
}

} // namespace omni::verify
