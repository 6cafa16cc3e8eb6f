#include "drivers/fs/managed_file.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "drivers/fs/files.hpp"

namespace omni::system_support {

namespace {

tl::unexpected<Error> fileError(const std::string& what, const std::filesystem::path& path, int error)
{
    return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
        what + " " + path.string() + ": " + std::strerror(error), path.string());
}

Result<void> writeAtomically(const std::filesystem::path& path, std::string_view content, mode_t mode)
{
    auto written = state::writeFileAtomically(path, content, mode);
    if (!written) {
        Error error = std::move(written.error());
        error.reason = ReasonCode::NetworkApplyFailed;
        error.check = Check::NetworkApply;
        error.where = path.string();
        return tl::unexpected(std::move(error));
    }
    return {};
}

// A symlink is replaced atomically too: created under a temporary name
// beside it, then renamed over the path.
Result<void> placeSymlink(const std::filesystem::path& path, const std::string& target)
{
    const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const std::filesystem::path temporary = directory
        / ("." + path.filename().string().substr(0, 200) + ".omni-link-" + std::to_string(getpid()));
    ::unlink(temporary.c_str());
    if (::symlink(target.c_str(), temporary.c_str()) != 0) {
        return fileError("cannot create the symlink", temporary, errno);
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        return fileError("cannot rename the symlink onto", path, error);
    }
    auto synced = state::syncDirectory(directory);
    if (!synced) {
        return fail(
            ReasonCode::NetworkApplyFailed, Check::NetworkApply, synced.error().message, path.string());
    }
    return {};
}

} // namespace

Result<std::filesystem::path> finalSymlinkTarget(const std::filesystem::path& path)
{
    constexpr int kMaxLinks = 40;
    std::filesystem::path current = path;
    for (int hops = 0; hops <= kMaxLinks; ++hops) {
        struct stat status { };
        if (::lstat(current.c_str(), &status) != 0) {
            if (errno == ENOENT) {
                return current;
            }
            return fileError("cannot look at", current, errno);
        }
        if (!S_ISLNK(status.st_mode)) {
            return current;
        }
        std::vector<char> target(static_cast<std::size_t>(status.st_size > 0 ? status.st_size : 0) + 4096);
        const ssize_t length = ::readlink(current.c_str(), target.data(), target.size());
        if (length < 0) {
            return fileError("cannot read the symlink", current, errno);
        }
        const std::filesystem::path next(std::string(target.data(), static_cast<std::size_t>(length)));
        current = next.is_absolute() ? next : (current.parent_path() / next);
        current = current.lexically_normal();
    }
    return fileError("too many symlinks from", path, ELOOP);
}

Result<FileSnapshot> snapshotFile(const std::filesystem::path& path)
{
    FileSnapshot snapshot;
    snapshot.path = path;
    struct stat status { };
    if (::lstat(path.c_str(), &status) != 0) {
        if (errno == ENOENT) {
            return snapshot;
        }
        return fileError("cannot look at", path, errno);
    }
    if (S_ISLNK(status.st_mode)) {
        std::vector<char> target(static_cast<std::size_t>(status.st_size > 0 ? status.st_size : 0) + 4096);
        const ssize_t length = ::readlink(path.c_str(), target.data(), target.size());
        if (length < 0) {
            return fileError("cannot read the symlink", path, errno);
        }
        snapshot.kind = FileSnapshot::Kind::Symlink;
        snapshot.symlinkTarget.assign(target.data(), static_cast<std::size_t>(length));
        return snapshot;
    }
    if (!S_ISREG(status.st_mode)) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            path.string() + " is neither a regular file nor a symlink: it is not ours to replace",
            path.string());
    }
    auto content = state::readRegularFile(path, kMaxManagedFileBytes, false);
    if (!content) {
        return fail(
            ReasonCode::NetworkApplyFailed, Check::NetworkApply, content.error().message, path.string());
    }
    snapshot.kind = FileSnapshot::Kind::Regular;
    snapshot.content = std::move(*content);
    snapshot.mode = status.st_mode & 07777;
    return snapshot;
}

Result<bool> writeFileIfDifferent(const std::filesystem::path& path, std::string_view content, mode_t mode)
{
    auto current = snapshotFile(path);
    if (!current) {
        return tl::unexpected(std::move(current.error()));
    }
    if (current->holds(content)) {
        return false;
    }
    auto written = writeAtomically(path, content, mode);
    if (!written) {
        return tl::unexpected(std::move(written.error()));
    }
    return true;
}

Result<bool> removeFile(const std::filesystem::path& path)
{
    if (::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) {
            return false;
        }
        return fileError("cannot remove", path, errno);
    }
    const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    auto synced = state::syncDirectory(directory);
    if (!synced) {
        return fail(
            ReasonCode::NetworkApplyFailed, Check::NetworkApply, synced.error().message, path.string());
    }
    return true;
}

Result<bool> restoreFile(const FileSnapshot& snapshot)
{
    auto current = snapshotFile(snapshot.path);
    if (!current) {
        return tl::unexpected(std::move(current.error()));
    }
    switch (snapshot.kind) {
    case FileSnapshot::Kind::Absent:
        return removeFile(snapshot.path);
    case FileSnapshot::Kind::Symlink: {
        if (current->kind == FileSnapshot::Kind::Symlink
            && current->symlinkTarget == snapshot.symlinkTarget) {
            return false;
        }
        auto placed = placeSymlink(snapshot.path, snapshot.symlinkTarget);
        if (!placed) {
            return tl::unexpected(std::move(placed.error()));
        }
        return true;
    }
    case FileSnapshot::Kind::Regular:
        if (current->kind == FileSnapshot::Kind::Regular && current->content == snapshot.content
            && current->mode == snapshot.mode) {
            return false;
        }
        auto written = writeAtomically(snapshot.path, snapshot.content, snapshot.mode);
        if (!written) {
            return tl::unexpected(std::move(written.error()));
        }
        return true;
    }
    return false;
}

} // namespace omni::system_support
