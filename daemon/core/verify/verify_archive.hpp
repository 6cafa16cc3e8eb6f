#pragma once
// The whole acceptance pipeline of DESIGN.md section 3 for one archive file:
// checks 3 to 19 in the contract's order. Pure: the caller supplies the file
// name, the bytes, the clock and what the device's state knows.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "daemon/core/archive/zip_reader.hpp"
#include "daemon/core/manifest/manifest.hpp"
#include "daemon/core/result.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/certificate_checks.hpp"

namespace omni::verify {

inline constexpr std::string_view kArchivePrefix = "certificates-omni_";
inline constexpr std::string_view kArchiveSuffix = ".zip";

struct VerifyPolicy {
    // nullptr: no usable anchor (check 14 is CERT_UNTRUSTED with anchorsProblem,
    // which says what is missing and where to install it).
    const trust::TrustAnchors* anchors = nullptr;
    std::string anchorsProblem;
    time::UnixTime now = 0;
    std::int64_t toleranceSeconds = 30; // 0-300
    std::int64_t maxLifetimeSeconds = 300;
    time::UnixTime buildEpoch = 0;
    std::optional<std::string> expectedName;
    // Check 5: answers whether an archive (by SHA-256, lowercase hex) already
    // succeeded on this device. Empty when there is no device state (inspect).
    std::function<bool(const std::string& sha256Hex)> alreadyApplied;
};

// What was learned about an archive before its verdict, for reports,
// `inspect --json` and the receipt on the stick.
struct ArchiveFacts {
    std::string fileName;
    std::optional<std::string> fileDeviceName; // the <Name> of the file name
    std::optional<std::string> sha256;
    std::optional<manifest::Manifest> manifest;
    std::optional<trust::Validity> validity; // of the provisioning certificate
};

struct AcceptedArchive {
    manifest::Manifest manifest;
    archive::ArchiveEntries entries;
    trust::Validity validity;
    std::string sha256;
};

struct Outcome {
    ArchiveFacts facts;
    Result<AcceptedArchive> result;
};

// The <Name> part when the file name has the archive prefix and suffix
// (both compared case-insensitively, as FAT tools differ); nullopt otherwise.
std::optional<std::string> deviceNameFromFileName(std::string_view fileName);
bool looksLikeArchiveName(std::string_view fileName);

// Check 3 on a file name.
Result<std::string> checkArchiveName(std::string_view fileName);
// Check 4, judged from the size before anything is read.
Result<void> checkArchiveSize(std::uint64_t sizeInBytes, std::string_view fileName);

// Checks 3 to 19 on one file already read into memory.
Outcome verifyArchive(
    std::string_view fileName, std::span<const std::uint8_t> bytes, const VerifyPolicy& policy);

} // namespace omni::verify
