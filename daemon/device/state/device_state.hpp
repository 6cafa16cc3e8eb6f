#pragma once
// The device's persistent state (DESIGN.md section 5): status.json, the
// credentials of the provisioning in force, and the list of archives already
// applied (check 5, ALREADY_APPLIED). Every file is replaced atomically with
// writeFileAtomically, and the writes of one operation are ordered so that a
// crash or power loss between any two of them leaves a state that load() reads
// and recover() completes (see recordSuccess).
//
// Layout of the state directory:
//   status.json            0644  the StatusDocument (the commit point)
//   applied-archives.txt   0644  SHA-256 of every archive that succeeded, one
//                                lowercase hex per line, oldest first, at most
//                                kMaxAppliedArchives lines
//   credentials/           0700  certificate.pem 0644, chain.pem 0644 (only
//                                when the archive had one), private_key.pem 0600
// and, only while recordSuccess runs or after a crash in it:
//   .credentials.partial/  the next credentials being written
//   .credentials-<sha256>/ the next credentials, complete, not yet installed
//   .credentials.old/      the replaced credentials, being removed
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/reason.hpp"
#include "daemon/core/result.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/device/state/status_document.hpp"

namespace omni::state {

inline constexpr const char* kDefaultStateDirectory = "/var/lib/omni-provision";
inline constexpr const char* kStatusFileName = "status.json";
inline constexpr const char* kAppliedArchivesFileName = "applied-archives.txt";
inline constexpr const char* kCredentialsDirectoryName = "credentials";
inline constexpr const char* kCertificateFileName = "certificate.pem";
inline constexpr const char* kChainFileName = "chain.pem";
inline constexpr const char* kPrivateKeyFileName = "private_key.pem";
// An archive's certificate lives 5 minutes, so an old entry can only matter
// for a stick re-plugged within minutes; 1000 entries are years of re-provisioning.
inline constexpr std::size_t kMaxAppliedArchives = 1000;
// status.json holds at most a 64 KiB manifest's configuration plus a message.
inline constexpr std::uint64_t kMaxStatusFileBytes = 1024 * 1024;

// The credentials of a successful archive, written to credentials/.
struct CredentialFiles {
    std::string certificatePem;
    std::optional<std::string> chainPem; // absent: no chain.pem (a stale one goes)
    std::string privateKeyPem;
};

// status.json as it was before markPending, byte for byte, so restore puts
// back exactly that (or removes status.json if there was none).
class PendingAttempt {
public:
    const StatusDocument& previous() const { return previous_; }

private:
    friend class DeviceState;
    std::optional<std::string> previousBytes_;
    StatusDocument previous_;
};

// Serialises the writers of one state directory (an attempt of the daemon,
// `omni-provision apply`, `omni-provision reset`): they may run on a device
// at once. An exclusive flock on <directory>/.lock, held for its lifetime;
// without a writable directory nothing is locked (the write that follows
// reports the problem).
class StateLock {
public:
    explicit StateLock(const std::filesystem::path& directory);
    ~StateLock();
    StateLock(const StateLock&) = delete;
    StateLock& operator=(const StateLock&) = delete;

private:
    int fd_ = -1;
};

class DeviceState {
public:
    using Clock = std::function<time::UnixTime()>;
    static time::UnixTime systemClock();

    // No file system access here; reads never create anything, writes create
    // the directory (0755, mode of an existing one left alone) and
    // credentials/ (0700, enforced) when absent.
    explicit DeviceState(std::filesystem::path directory, Clock clock = &DeviceState::systemClock);

    const std::filesystem::path& directory() const { return directory_; }
    std::filesystem::path statusPath() const { return directory_ / kStatusFileName; }
    std::filesystem::path credentialsDirectory() const { return directory_ / kCredentialsDirectoryName; }

    // status.json; an absent file (or state directory) is the never-written
    // AWAITING_PROVISIONING document. Unreadable, a symlink, too large, or
    // corrupt -> InternalError (the daemon reports ERROR). Leftover temporary
    // files of an interrupted write are ignored. The provisioning in force,
    // and with it the NetworkingConfiguration to re-apply at boot, is
    // load()->applied.
    Result<StatusDocument> load() const;

    // Check 5: this archive (SHA-256 of its bytes, hex in either case) has
    // succeeded on this device. Consults applied-archives.txt and the
    // provisioning in force in status.json (which covers a crash between the
    // two writes). An unreadable status.json is left to load() to report; an
    // unreadable or malformed list is an error.
    Result<bool> isAlreadyApplied(std::string_view archiveSha256) const;
    // applied-archives.txt, oldest first.
    Result<std::vector<std::string>> appliedArchives() const;

    // Once at daemon start, before anything else: removes leftover temporary
    // files, finishes (or undoes) a credentials update interrupted by a crash,
    // completes the applied list, and settles a PENDING left by an interrupted
    // attempt (settledStatus). Returns the resulting document. Needs a readable
    // status.json for all but the first step.
    Result<StatusDocument> recover();

    // A stick is being processed: Status PENDING, everything else kept.
    Result<PendingAttempt> markPending();
    // The attempt ended without a verdict to record (the stick was pulled, or
    // ALREADY_APPLIED): status.json goes back to exactly its earlier bytes.
    Result<void> restore(const PendingAttempt& pending);

    // ALREADY_APPLIED: "nothing changes, the status stays as it is". Neither
    // LastAttempt nor UpdatedAt is touched (the journal and the receipt on the
    // stick report it); this only undoes markPending, as restore does.
    Result<void> recordAlreadyApplied(const PendingAttempt& pending) { return restore(pending); }

    // A success: writes the credentials, then status.json (Status SUCCEEDED,
    // this provisioning, LastAttempt SUCCEEDED), then the applied list. An
    // unreadable status.json is replaced (a new provisioning is the cure); an
    // unreadable applied list fails before anything is written.
    Result<StatusDocument> recordSuccess(const AppliedProvisioning& provisioning,
        const CredentialFiles& credentials, const std::string& fileName, const std::string& message);
    // A failed attempt: LastAttempt FAILED with the reason; Status SUCCEEDED
    // when a provisioning is in force (it stays in force, configuration and
    // credentials untouched), else FAILED.
    Result<StatusDocument> recordFailure(
        ReasonCode reason, const std::string& message, const std::optional<std::string>& fileName);
    // An internal fault (a driver broken, a state write failed): Status ERROR,
    // LastAttempt ERROR / INTERNAL_ERROR with the message; the provisioning in
    // force is kept. Not applied to an unreadable status.json, which is left as
    // evidence (load() keeps failing, so the device reports ERROR anyway).
    Result<StatusDocument> markError(
        const std::string& message, const std::optional<std::string>& fileName = std::nullopt);
    // The fault has cleared (e.g. the re-apply at start worked): an ERROR
    // status becomes settledStatus; any other is left alone.
    Result<StatusDocument> clearError();

    // A reset (DESIGN.md section 10), in three idempotent writes that the
    // reset sequence (daemon/device/reset) runs in this order:
    //  1. markDeleting: Status DELETING, UpdatedAt now, the rest kept (the
    //     provisioning stays named until the end, so check 5 still knows
    //     it). An unreadable status.json is replaced: a reset is its cure.
    //  2. removeCredentialsAndState: the archive in force is added to the
    //     applied list first (it is kept: ALREADY_APPLIED still holds), then
    //     credentials/ and every staged or leftover credentials directory go;
    //     an empty credentials/ (0700) is made again. The applied list and
    //     any other file of the directory (dns/resolv.conf, which
    //     /etc/resolv.conf may point at) stay.
    //  3. finishReset: status.json is the AWAITING_PROVISIONING document of a
    //     fresh device (no provisioning, no LastAttempt), UpdatedAt now.
    Result<StatusDocument> markDeleting();
    Result<void> removeCredentialsAndState();
    Result<StatusDocument> finishReset();

private:
    Result<void> ensureLayout() const;
    Result<void> writeStatus(const StatusDocument& document) const;
    Result<void> stageCredentials(const std::string& archiveSha256, const CredentialFiles& credentials) const;
    Result<void> settleCredentials(const std::optional<AppliedProvisioning>& applied) const;
    Result<void> writeAppliedArchives(std::vector<std::string> list) const;
    void removeTemporaryFiles() const;

    std::filesystem::path directory_;
    Clock clock_;
};

} // namespace omni::state
