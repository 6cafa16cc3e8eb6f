#pragma once
// Small, careful file primitives shared by the CLI and the daemon: bounded
// reads that never follow a final symlink, and atomic replacement (temp file,
// fsync, rename, fsync of the directory) so power loss leaves the old or the
// new content, never a mix.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "daemon/core/result.hpp"

namespace omni::state {

enum class FileProblem { None, NotFound, NotRegular, TooLarge, Unreadable };

struct ReadFailure {
    FileProblem problem = FileProblem::None;
    std::string message; // names the path and the cause
    std::uint64_t size = 0;
};

// Reads a regular file of at most maxBytes; a larger one is refused from its
// size before any byte is read.
tl::expected<std::string, ReadFailure> readRegularFile(
    const std::filesystem::path& path, std::uint64_t maxBytes, bool followSymlinks = true);

// Writes all of content to fd, retrying on EINTR and short writes.
bool writeAll(int fd, std::string_view content);

// Writes content to path atomically with the given mode.
Result<void> writeFileAtomically(const std::filesystem::path& path, std::string_view content, mode_t mode);

// Creates a directory (and parents) with mode for the last component; an
// existing directory's mode is left alone unless forceMode.
Result<void> ensureDirectory(const std::filesystem::path& path, mode_t mode, bool forceMode = false);

// fsync of a directory, so the renames, creations and removals of entries in
// it survive power loss.
Result<void> syncDirectory(const std::filesystem::path& directory);

} // namespace omni::state
