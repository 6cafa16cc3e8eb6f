#include "daemon/device/state/device_state.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "drivers/fs/files.hpp"

namespace omni::state {
namespace {

constexpr mode_t kStateDirectoryMode = 0755;
constexpr mode_t kCredentialsDirectoryMode = 0700;
constexpr mode_t kPublicFileMode = 0644;
constexpr mode_t kPrivateKeyMode = 0600;
constexpr std::uint64_t kMaxAppliedArchivesFileBytes = 1024 * 1024;

constexpr const char* kPartialCredentialsName = ".credentials.partial";
constexpr const char* kOldCredentialsName = ".credentials.old";
constexpr std::string_view kStagedCredentialsPrefix = ".credentials-";

// The files writeFileAtomically may leave behind as ".<name>.XXXXXX" when a
// crash interrupts it.
constexpr std::array<std::string_view, 2> kAtomicallyWrittenNames { kStatusFileName,
    kAppliedArchivesFileName };

Error stateError(std::string message, const std::filesystem::path& where)
{
    return Error { ReasonCode::InternalError, Check::None, std::move(message), where.string() };
}

tl::unexpected<Error> failAt(std::string message, const std::filesystem::path& where)
{
    return tl::unexpected(stateError(std::move(message), where));
}

tl::unexpected<Error> failWithErrno(const std::string& what, const std::filesystem::path& where, int error)
{
    return failAt(what + " " + where.string() + ": " + std::strerror(error), where);
}

// Accepts either case (digests are often shown in upper case) and answers lowercase.
std::optional<std::string> normalizedSha256(std::string_view text)
{
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
        [](char c) { return (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c; });
    if (!isLowercaseSha256(lower))
        return std::nullopt;
    return lower;
}

// std::filesystem without exceptions: a failed cleanup is reported, never thrown.
Result<void> removeTree(const std::filesystem::path& path)
{
    std::error_code error;
    std::filesystem::remove_all(path, error);
    if (error)
        return failAt("cannot remove " + path.string() + ": " + error.message(), path);
    return {};
}

bool pathExists(const std::filesystem::path& path)
{
    std::error_code error;
    return std::filesystem::symlink_status(path, error).type() != std::filesystem::file_type::not_found;
}

Result<void> renamePath(const std::filesystem::path& from, const std::filesystem::path& to)
{
    if (::rename(from.c_str(), to.c_str()) != 0)
        return failWithErrno("cannot rename " + from.string() + " to", to, errno);
    return {};
}

// ---- the applied-archive list -------------------------------------------------

Result<std::vector<std::string>> parseAppliedArchives(
    std::string_view content, const std::filesystem::path& path)
{
    std::vector<std::string> list;
    std::size_t lineNumber = 0;
    while (!content.empty()) {
        ++lineNumber;
        const std::size_t end = content.find('\n');
        const std::string_view line = content.substr(0, end);
        if (!isLowercaseSha256(line))
            return failAt(path.string() + " is corrupt: line " + std::to_string(lineNumber)
                    + " is not a SHA-256 (64 lowercase hexadecimal digits)",
                path);
        list.emplace_back(line);
        content.remove_prefix(end == std::string_view::npos ? content.size() : end + 1);
    }
    return list;
}

void addIfMissing(std::vector<std::string>& list, const std::string& archiveSha256)
{
    if (std::find(list.begin(), list.end(), archiveSha256) == list.end())
        list.push_back(archiveSha256);
}

bool isLeftoverTemporaryFile(const std::string& name)
{
    // writeFileAtomically's mkostemp pattern: ".<name>.XXXXXX".
    constexpr std::size_t kSuffixLength = 6;
    for (const std::string_view target : kAtomicallyWrittenNames) {
        const std::size_t expectedSize = 1 + target.size() + 1 + kSuffixLength;
        if (name.size() != expectedSize || name[0] != '.' || name.compare(1, target.size(), target) != 0
            || name[1 + target.size()] != '.')
            continue;
        const std::string_view suffix = std::string_view(name).substr(expectedSize - kSuffixLength);
        if (std::all_of(suffix.begin(), suffix.end(), [](char c) {
                return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            }))
            return true;
    }
    return false;
}

} // namespace

// ---- StateLock ------------------------------------------------------------------

StateLock::StateLock(const std::filesystem::path& directory)
{
    if (!ensureDirectory(directory, kStateDirectoryMode))
        return;
    fd_ = ::open((directory / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ >= 0)
        while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) { }
}

StateLock::~StateLock()
{
    if (fd_ >= 0)
        ::close(fd_);
}

// ---- DeviceState ----------------------------------------------------------------

time::UnixTime DeviceState::systemClock()
{
    return static_cast<time::UnixTime>(std::time(nullptr));
}

DeviceState::DeviceState(std::filesystem::path directory, Clock clock)
    : directory_(std::move(directory))
    , clock_(std::move(clock))
{
}

Result<StatusDocument> DeviceState::load() const
{
    const auto path = statusPath();
    auto bytes = readRegularFile(path, kMaxStatusFileBytes, /*followSymlinks=*/false);
    if (!bytes) {
        if (bytes.error().problem == FileProblem::NotFound)
            return StatusDocument {};
        return failAt("cannot read the device state: " + bytes.error().message, path);
    }
    auto document = parseStatusDocument(*bytes, path.string());
    if (!document) {
        Error error = std::move(document.error());
        error.where = path.string();
        return tl::unexpected(std::move(error));
    }
    return document;
}

Result<std::vector<std::string>> DeviceState::appliedArchives() const
{
    const auto path = directory_ / kAppliedArchivesFileName;
    auto content = readRegularFile(path, kMaxAppliedArchivesFileBytes, /*followSymlinks=*/false);
    if (!content) {
        if (content.error().problem == FileProblem::NotFound)
            return std::vector<std::string> {};
        return failAt("cannot read the list of applied archives: " + content.error().message, path);
    }
    return parseAppliedArchives(*content, path);
}

Result<bool> DeviceState::isAlreadyApplied(std::string_view archiveSha256) const
{
    const auto wanted = normalizedSha256(archiveSha256);
    if (!wanted)
        return failAt("\"" + std::string(archiveSha256) + "\" is not a SHA-256 (64 hexadecimal digits)", {});
    auto list = appliedArchives();
    if (!list)
        return tl::unexpected(list.error());
    if (std::find(list->begin(), list->end(), *wanted) != list->end())
        return true;
    const auto document = load();
    return document && document->applied && document->applied->archiveSha256 == *wanted;
}

Result<void> DeviceState::ensureLayout() const
{
    if (auto made = ensureDirectory(directory_, kStateDirectoryMode); !made)
        return made;
    // Enforced, not only set at creation: it guards the private key.
    return ensureDirectory(credentialsDirectory(), kCredentialsDirectoryMode, /*forceMode=*/true);
}

Result<void> DeviceState::writeStatus(const StatusDocument& document) const
{
    return writeFileAtomically(statusPath(), serializeStatusDocument(document), kPublicFileMode);
}

Result<void> DeviceState::writeAppliedArchives(std::vector<std::string> list) const
{
    if (list.size() > kMaxAppliedArchives)
        list.erase(list.begin(), list.end() - static_cast<std::ptrdiff_t>(kMaxAppliedArchives));
    std::string content;
    content.reserve(list.size() * (kSha256HexLength + 1));
    for (const auto& entry : list)
        content.append(entry).push_back('\n');
    return writeFileAtomically(directory_ / kAppliedArchivesFileName, content, kPublicFileMode);
}

void DeviceState::removeTemporaryFiles() const
{
    std::error_code error;
    std::filesystem::directory_iterator entries(directory_, error);
    if (error)
        return;
    for (const auto& entry : entries) {
        const std::string name = entry.path().filename().string();
        std::error_code statusError;
        if (isLeftoverTemporaryFile(name)
            && entry.symlink_status(statusError).type() == std::filesystem::file_type::regular)
            ::unlink(entry.path().c_str());
    }
}

// The credentials of a success are written to .credentials.partial/, which is
// renamed to .credentials-<sha256>/ once complete; only after status.json
// names that archive (the commit) do they replace credentials/. So a crash
// before the commit leaves the old credentials with the old status, and one
// after it leaves a complete set that settleCredentials installs.
Result<void> DeviceState::stageCredentials(
    const std::string& archiveSha256, const CredentialFiles& credentials) const
{
    const auto partial = directory_ / kPartialCredentialsName;
    if (auto removed = removeTree(partial); !removed)
        return removed;
    if (auto made = ensureDirectory(partial, kCredentialsDirectoryMode, /*forceMode=*/true); !made)
        return made;
    if (auto written
        = writeFileAtomically(partial / kCertificateFileName, credentials.certificatePem, kPublicFileMode);
        !written)
        return written;
    if (credentials.chainPem) {
        if (auto written
            = writeFileAtomically(partial / kChainFileName, *credentials.chainPem, kPublicFileMode);
            !written)
            return written;
    }
    if (auto written
        = writeFileAtomically(partial / kPrivateKeyFileName, credentials.privateKeyPem, kPrivateKeyMode);
        !written)
        return written;
    const auto staged = directory_ / (std::string(kStagedCredentialsPrefix) + archiveSha256);
    if (auto removed = removeTree(staged); !removed)
        return removed;
    if (auto renamed = renamePath(partial, staged); !renamed)
        return renamed;
    // The staged directory must be durable before status.json can name it.
    return syncDirectory(directory_);
}

Result<void> DeviceState::settleCredentials(const std::optional<AppliedProvisioning>& applied) const
{
    if (auto removed = removeTree(directory_ / kPartialCredentialsName); !removed)
        return removed;
    std::error_code error;
    std::filesystem::directory_iterator entries(directory_, error);
    if (error)
        return failAt("cannot list " + directory_.string() + ": " + error.message(), directory_);
    std::vector<std::filesystem::path> staged;
    for (const auto& entry : entries) {
        const std::string name = entry.path().filename().string();
        if (name.size() == kStagedCredentialsPrefix.size() + kSha256HexLength
            && name.compare(0, kStagedCredentialsPrefix.size(), kStagedCredentialsPrefix) == 0)
            staged.push_back(entry.path());
    }
    const auto live = credentialsDirectory();
    const auto old = directory_ / kOldCredentialsName;
    for (const auto& path : staged) {
        const std::string sha = path.filename().string().substr(kStagedCredentialsPrefix.size());
        std::error_code statusError;
        const bool committed = applied && applied->archiveSha256 == sha
            && std::filesystem::symlink_status(path, statusError).type()
                == std::filesystem::file_type::directory;
        if (!committed) {
            // Written before a crash that came before status.json named it.
            if (auto removed = removeTree(path); !removed)
                return removed;
            continue;
        }
        if (auto removed = removeTree(old); !removed)
            return removed;
        if (pathExists(live)) {
            if (auto renamed = renamePath(live, old); !renamed)
                return renamed;
        }
        if (auto renamed = renamePath(path, live); !renamed)
            return renamed;
        if (auto synced = syncDirectory(directory_); !synced)
            return synced;
    }
    if (auto removed = removeTree(old); !removed)
        return removed;
    return ensureDirectory(live, kCredentialsDirectoryMode, /*forceMode=*/true);
}

Result<StatusDocument> DeviceState::recover()
{
    if (auto layout = ensureLayout(); !layout)
        return tl::unexpected(layout.error());
    removeTemporaryFiles();
    auto document = load();
    if (!document)
        return document;
    if (auto settled = settleCredentials(document->applied); !settled)
        return tl::unexpected(settled.error());
    if (document->applied) {
        auto list = appliedArchives();
        if (!list)
            return tl::unexpected(list.error());
        if (std::find(list->begin(), list->end(), document->applied->archiveSha256) == list->end()) {
            list->push_back(document->applied->archiveSha256);
            if (auto written = writeAppliedArchives(std::move(*list)); !written)
                return tl::unexpected(written.error());
        }
    }
    if (document->status == DeviceStatus::Pending) {
        document->status = settledStatus(*document);
        document->updatedAt = clock_();
        if (auto written = writeStatus(*document); !written)
            return tl::unexpected(written.error());
    }
    return document;
}

Result<PendingAttempt> DeviceState::markPending()
{
    if (auto layout = ensureLayout(); !layout)
        return tl::unexpected(layout.error());
    PendingAttempt pending;
    const auto path = statusPath();
    auto bytes = readRegularFile(path, kMaxStatusFileBytes, /*followSymlinks=*/false);
    if (bytes) {
        auto previous = parseStatusDocument(*bytes, path.string());
        if (!previous)
            return tl::unexpected(previous.error());
        pending.previous_ = std::move(*previous);
        pending.previousBytes_ = std::move(*bytes);
    } else if (bytes.error().problem != FileProblem::NotFound) {
        return failAt("cannot read the device state: " + bytes.error().message, path);
    }
    StatusDocument document = pending.previous_;
    document.status = DeviceStatus::Pending;
    document.updatedAt = clock_();
    if (auto written = writeStatus(document); !written)
        return tl::unexpected(written.error());
    return pending;
}

Result<void> DeviceState::restore(const PendingAttempt& pending)
{
    const auto path = statusPath();
    if (pending.previousBytes_)
        return writeFileAtomically(path, *pending.previousBytes_, kPublicFileMode);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return failWithErrno("cannot remove", path, errno);
    return syncDirectory(directory_);
}

Result<StatusDocument> DeviceState::recordSuccess(const AppliedProvisioning& provisioning,
    const CredentialFiles& credentials, const std::string& fileName, const std::string& message)
{
    const auto sha = normalizedSha256(provisioning.archiveSha256);
    if (!sha)
        return failAt("\"" + provisioning.archiveSha256 + "\" is not a SHA-256 (64 hexadecimal digits)", {});
    if (auto layout = ensureLayout(); !layout)
        return tl::unexpected(layout.error());
    auto list = appliedArchives();
    if (!list)
        return tl::unexpected(list.error());
    const auto current = load();
    std::optional<AppliedProvisioning> previous;
    if (current)
        previous = current->applied;
    // Leftovers of a crash are settled against the state they belong to first.
    if (auto settled = settleCredentials(previous); !settled)
        return tl::unexpected(settled.error());

    if (auto staged = stageCredentials(*sha, credentials); !staged)
        return tl::unexpected(std::move(staged.error()).withContext("storing the credentials"));

    StatusDocument document;
    document.status = DeviceStatus::Succeeded;
    document.updatedAt = clock_();
    document.applied = provisioning;
    document.applied->archiveSha256 = *sha;
    document.lastAttempt
        = LastAttempt { AttemptResult::Succeeded, std::nullopt, message, *document.updatedAt, fileName };
    if (auto written = writeStatus(document); !written)
        return tl::unexpected(written.error());

    // Committed. From here a crash is finished by recover(), and isAlreadyApplied
    // already answers from status.json.
    if (auto settled = settleCredentials(document.applied); !settled)
        return tl::unexpected(std::move(settled.error())
                                  .withContext("the provisioning is recorded, but installing its "
                                               "credentials failed (recover() finishes it)"));
    if (previous)
        addIfMissing(*list, previous->archiveSha256);
    addIfMissing(*list, *sha);
    if (auto written = writeAppliedArchives(std::move(*list)); !written)
        return tl::unexpected(std::move(written.error())
                                  .withContext("the provisioning is recorded, but updating the list "
                                               "of applied archives failed (recover() finishes it)"));
    return document;
}

Result<StatusDocument> DeviceState::recordFailure(
    ReasonCode reason, const std::string& message, const std::optional<std::string>& fileName)
{
    if (auto layout = ensureLayout(); !layout)
        return tl::unexpected(layout.error());
    auto document = load();
    if (!document)
        return document;
    document->lastAttempt = LastAttempt { AttemptResult::Failed, reason, message, clock_(), fileName };
    document->status = document->applied ? DeviceStatus::Succeeded : DeviceStatus::Failed;
    document->updatedAt = document->lastAttempt->at;
    if (auto written = writeStatus(*document); !written)
        return tl::unexpected(written.error());
    return document;
}

Result<StatusDocument> DeviceState::markError(
    const std::string& message, const std::optional<std::string>& fileName)
{
    if (auto layout = ensureLayout(); !layout)
        return tl::unexpected(layout.error());
    auto document = load();
    if (!document)
        return document;
    document->lastAttempt
        = LastAttempt { AttemptResult::Error, ReasonCode::InternalError, message, clock_(), fileName };
    document->status = DeviceStatus::Error;
    document->updatedAt = document->lastAttempt->at;
    if (auto written = writeStatus(*document); !written)
        return tl::unexpected(written.error());
    return document;
}

Result<StatusDocument> DeviceState::clearError()
{
    auto document = load();
    if (!document || document->status != DeviceStatus::Error)
        return document;
    if (auto layout = ensureLayout(); !layout)
        return tl::unexpected(layout.error());
    document->status = settledStatus(*document);
    document->updatedAt = clock_();
    if (auto written = writeStatus(*document); !written)
        return tl::unexpected(written.error());
    return document;
}

Result<StatusDocument> DeviceState::markDeleting()
{
    if (auto layout = ensureLayout(); !layout)
        return tl::unexpected(layout.error());
    StatusDocument document;
    if (auto current = load())
        document = std::move(*current);
    document.status = DeviceStatus::Deleting;
    document.updatedAt = clock_();
    if (auto written = writeStatus(document); !written)
        return tl::unexpected(written.error());
    return document;
}

Result<void> DeviceState::removeCredentialsAndState()
{
    if (auto layout = ensureLayout(); !layout)
        return layout;
    removeTemporaryFiles();
    auto list = appliedArchives();
    if (!list)
        return tl::unexpected(list.error());
    if (const auto current = load(); current && current->applied
        && std::find(list->begin(), list->end(), current->applied->archiveSha256) == list->end()) {
        list->push_back(current->applied->archiveSha256);
        if (auto written = writeAppliedArchives(std::move(*list)); !written)
            return written;
    }
    std::error_code error;
    std::filesystem::directory_iterator entries(directory_, error);
    if (error)
        return failAt("cannot list " + directory_.string() + ": " + error.message(), directory_);
    std::vector<std::filesystem::path> credentials { credentialsDirectory(),
        directory_ / kPartialCredentialsName, directory_ / kOldCredentialsName };
    for (const auto& entry : entries) {
        const std::string name = entry.path().filename().string();
        if (name.size() == kStagedCredentialsPrefix.size() + kSha256HexLength
            && name.compare(0, kStagedCredentialsPrefix.size(), kStagedCredentialsPrefix) == 0)
            credentials.push_back(entry.path());
    }
    for (const auto& path : credentials)
        if (auto removed = removeTree(path); !removed)
            return removed;
    if (auto synced = syncDirectory(directory_); !synced)
        return synced;
    return ensureLayout();
}

Result<StatusDocument> DeviceState::finishReset()
{
    if (auto layout = ensureLayout(); !layout)
        return tl::unexpected(layout.error());
    StatusDocument document;
    document.status = DeviceStatus::AwaitingProvisioning;
    document.updatedAt = clock_();
    if (auto written = writeStatus(document); !written)
        return tl::unexpected(written.error());
    return document;
}

} // namespace omni::state
