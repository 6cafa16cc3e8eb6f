#pragma once
// The product's public vocabulary: the reason codes of DESIGN.md section 3
// (normative) plus the apply-phase codes. Each has a stable string, a journal
// MESSAGE_ID (catalog in systemd/omni-provision.catalog) and advice for a
// technician.
#include <optional>
#include <string_view>

namespace omni {

enum class ReasonCode {
    ArchiveNotFound,
    ArchiveAmbiguous,
    ArchiveNameInvalid,
    ArchiveTooLarge,
    AlreadyApplied,
    ArchiveCorrupt,
    ArchiveUnsafeEntry,
    ArchiveMissingEntry,
    ManifestInvalid,
    CertInvalid,
    KeyMismatch,
    CertUntrusted,
    CertLifetimeTooLong,
    ClockUntrusted,
    CertNotYetValid,
    CertExpired,
    CertNameMismatch,
    ManifestDigestMismatch,
    InterfaceMissing,
    NetworkApplyFailed,
    InternalError,
};

// The row of the acceptance table (DESIGN.md section 3) that decided a
// verdict; a larger number means the candidate got further. The apply phase
// comes after every check.
enum class Check : int {
    None = 0,
    Found = 1,
    Ambiguous = 2,
    NameValid = 3,
    FileSize = 4,
    AlreadyApplied = 5,
    ZipDirectory = 6,
    ZipLimits = 7,
    ZipEntrySafety = 8,
    RequiredEntries = 9,
    EntryRead = 10,
    Manifest = 11,
    CertParse = 12,
    KeyMatch = 13,
    Chain = 14,
    Lifetime = 15,
    Clock = 16,
    Validity = 17,
    NameBinding = 18,
    Digest = 19,
    InterfaceMapping = 20,
    NetworkApply = 21,
};

struct ReasonInfo {
    ReasonCode code;
    std::string_view name; // stable, e.g. "CERT_EXPIRED"
    std::string_view messageId; // 128-bit journal MESSAGE_ID, 32 hex digits
    std::string_view advice; // what a technician should do
};

const ReasonInfo& reasonInfo(ReasonCode code);
std::string_view toString(ReasonCode code);
std::optional<ReasonCode> reasonFromString(std::string_view name);
// Every code, in declaration order (for tests and the catalog).
const ReasonInfo* allReasons(std::size_t& count);

} // namespace omni
