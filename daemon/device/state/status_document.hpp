#pragma once
// status.json's model and its JSON codec (DESIGN.md section 5, normative:
// the key names, their order and the enum strings are the seed's and must not
// change). Pure: no file system access; DeviceState (device_state.hpp) reads
// and writes the file through drivers/fs's atomic transactions.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/core/reason.hpp"
#include "daemon/core/result.hpp"
#include "daemon/core/time/time.hpp"

namespace omni::state {

// ArchiveSha256 in status.json and every line of applied-archives.txt:
// 64 lowercase hexadecimal digits.
inline constexpr std::size_t kSha256HexLength = 64;
bool isLowercaseSha256(std::string_view text);

// The seed's DeviceStatus (DESIGN.md section 5).
enum class DeviceStatus { AwaitingProvisioning, Pending, Succeeded, Failed, Error, Deleting };
std::string_view toString(DeviceStatus status); // "AWAITING_PROVISIONING", ...
std::optional<DeviceStatus> deviceStatusFromString(std::string_view text);

// What the last attempt came to. ALREADY_APPLIED is not among them: it
// changes nothing, status.json included (see recordAlreadyApplied).
enum class AttemptResult {
    Succeeded, // "SUCCEEDED": applied; Reason is null
    Failed, // "FAILED": stopped at a reason code of section 3 or the apply phase
    Error, // "ERROR": an internal fault (Reason INTERNAL_ERROR), see markError
};
std::string_view toString(AttemptResult result);
std::optional<AttemptResult> attemptResultFromString(std::string_view text);

struct LastAttempt {
    AttemptResult result = AttemptResult::Failed;
    std::optional<ReasonCode> reason; // null exactly when result is Succeeded
    std::string message;
    time::UnixTime at = 0; // JSON: RFC 3339 UTC
    std::optional<std::string> fileName; // the archive's file name; null for a fault with no archive

    bool operator==(const LastAttempt&) const = default;
};

// The provisioning in force: what the last successful archive applied. In
// status.json these are flat top-level keys, all null when none is in force.
struct AppliedProvisioning {
    std::string name;
    std::string deviceId;
    std::string arn;
    std::string iotThingName;
    std::string archiveSha256; // lowercase hex of the archive file's bytes
    // The manifest's NetworkingConfiguration as JSON (its ProvisionDevice
    // shape), re-applied at boot; null when the manifest had none (section 4:
    // Ethernet0 then uses DHCP).
    nlohmann::json networkingConfiguration;

    bool operator==(const AppliedProvisioning&) const = default;
};

// status.json's content.
struct StatusDocument {
    DeviceStatus status = DeviceStatus::AwaitingProvisioning;
    std::optional<time::UnixTime> updatedAt; // null only while status.json was never written
    std::optional<AppliedProvisioning> applied;
    std::optional<LastAttempt> lastAttempt;

    bool operator==(const StatusDocument&) const = default;
};

// PascalCase keys of section 5: Status, Name, DeviceId, Arn, IotThingName,
// UpdatedAt, ArchiveSha256, NetworkingConfiguration, LastAttempt {Result,
// Reason, Message, At, FileName}. Every key is always present (null when
// unset), in that order.
nlohmann::ordered_json toJson(const StatusDocument& document);
// status.json's bytes: toJson indented by 2, with a final newline.
std::string serializeStatusDocument(const StatusDocument& document);
// Strict: every key present with its type, known enum strings, RFC 3339
// times, a 64-digit lowercase hex digest, the identity keys all set or all
// null, SUCCEEDED only with a provisioning in force and AWAITING_PROVISIONING
// or FAILED only without. Unknown keys are ignored (a newer version may add
// some). A violation is InternalError naming sourceName and the key.
Result<StatusDocument> parseStatusDocument(std::string_view bytes, const std::string& sourceName);

// The status a document stands for once nothing is in progress: SUCCEEDED
// when a provisioning is in force, else FAILED when an archive was tried,
// else AWAITING_PROVISIONING. Used to leave PENDING (an attempt interrupted by
// a crash) and ERROR (a fault that has cleared).
DeviceStatus settledStatus(const StatusDocument& document);

} // namespace omni::state
