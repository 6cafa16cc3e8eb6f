#pragma once
// The files the DNS and NTP drivers own (resolv.conf, the timesyncd drop-in,
// the chrony sources file): what a path held before we touched it, exactly,
// so a failed provisioning can put it back byte for byte, and the atomic
// writes that change it (drivers/fs/files.hpp: temp file, fsync, rename).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "daemon/core/result.hpp"

namespace omni::system_support {

// Larger files are not ours to snapshot: resolv.conf and the NTP files are a
// few hundred bytes.
inline constexpr std::uint64_t kMaxManagedFileBytes = 256 * 1024;

struct FileSnapshot {
    enum class Kind { Absent, Regular, Symlink };

    std::filesystem::path path;
    Kind kind = Kind::Absent;
    std::string content; // Regular: the exact bytes
    mode_t mode = 0644; // Regular: permission bits
    std::string symlinkTarget; // Symlink: as readlink(2) gives it

    // A regular file holding exactly `bytes` (what an apply would write).
    bool holds(std::string_view bytes) const { return kind == Kind::Regular && content == bytes; }
};

// What `path` is now, without following a final symlink. Errors are
// NETWORK_APPLY_FAILED naming the path (a directory, a device, a file over
// kMaxManagedFileBytes, an unreadable one).
Result<FileSnapshot> snapshotFile(const std::filesystem::path& path);

// The file a path finally resolves to: `path` itself unless it is a
// symlink, else the end of its symlink chain (a relative target is taken
// relative to the link's directory; the final file need not exist). More
// than 40 links is NETWORK_APPLY_FAILED (ELOOP), as for the kernel.
Result<std::filesystem::path> finalSymlinkTarget(const std::filesystem::path& path);

// Writes `content` atomically unless the path already holds exactly those
// bytes; true when it wrote. A symlink at `path` is replaced by the regular
// file (the snapshot keeps the link, restoreFile() puts it back).
Result<bool> writeFileIfDifferent(const std::filesystem::path& path, std::string_view content, mode_t mode);

// Removes the file (or symlink) at `path`; true when something was removed,
// false when there was nothing.
Result<bool> removeFile(const std::filesystem::path& path);

// Brings the path back to the snapshot; true when that changed anything
// (a path already as it was is not rewritten).
Result<bool> restoreFile(const FileSnapshot& snapshot);

} // namespace omni::system_support
