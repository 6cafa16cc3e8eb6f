#pragma once
// The mount driver: a stick's filesystem mounted read-only (nosuid, nodev,
// noexec, noatime) under <runtime directory>/media/<kernel name>, read only
// through a directory fd with openat + O_NOFOLLOW and bounded, written only
// for the report (remounted read-write for that write alone), and always
// unmounted: the destructor unmounts, lazily when the mount is busy or the
// device is gone.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/result.hpp"

namespace omni::mount {

// DESIGN.md section 3, check 4: files over 1 MiB are refused from their size.
inline constexpr std::uint64_t maxFileBytes = 1024 * 1024;
// A root directory larger than this is cut short with a warning.
inline constexpr std::size_t maxListedEntries = 10'000;

struct StickEntry {
    std::string name;
    bool isRegularFile = false; // as lstat sees it: symlinks, FIFOs, directories are not
    std::uint64_t size = 0; // of regular files
};

struct RootListing {
    std::vector<StickEntry> entries; // in directory order, without "." and ".."
    bool truncated = false;
    std::string warning; // set when truncated
};

struct ReportFile {
    std::string name; // a plain name in the root directory
    std::string content;
};

enum class UnmountMethod {
    Clean, // umount2(2) without flags
    LazyDetach, // MNT_DETACH: the mount was busy or its device gone
};

// The mount data for a filesystem type: owner root, nothing for others,
// UTF-8 names on FAT and exFAT; empty for filesystems that keep their own
// owners (ext4).
std::string mountDataFor(std::string_view filesystemType);

class MountedStick;

// While alive, the stick is mounted read-write; it goes back to read-only
// when this is closed or destroyed, on every path.
class WritableWindow {
public:
    ~WritableWindow();
    WritableWindow(WritableWindow&& other) noexcept;
    WritableWindow& operator=(WritableWindow&&) = delete;
    WritableWindow(const WritableWindow&) = delete;
    WritableWindow& operator=(const WritableWindow&) = delete;

    // Writes name atomically: a temporary name, fsync, renameat over name.
    Result<void> writeFile(const std::string& name, std::string_view content);
    // Renames one entry of the root directory; refuses to replace an existing one.
    Result<void> rename(const std::string& from, const std::string& to);
    // syncfs, then remount read-only; reports what failed.
    Result<void> close();

private:
    friend class MountedStick;
    explicit WritableWindow(MountedStick& stick)
        : stick_(&stick)
    {
    }
    MountedStick* stick_;
};

class MountedStick {
public:
    // Mounts devnode read-only as filesystemType (what udev probed; the
    // kernel is never asked to guess) on runtimeDirectory/media/kernelName,
    // creating both directories with mode 0700.
    static Result<MountedStick> mountReadOnly(const std::string& devnode, const std::string& kernelName,
        const std::string& filesystemType, const std::filesystem::path& runtimeDirectory);

    ~MountedStick();
    MountedStick(MountedStick&& other) noexcept;
    MountedStick& operator=(MountedStick&& other) noexcept;
    MountedStick(const MountedStick&) = delete;
    MountedStick& operator=(const MountedStick&) = delete;

    const std::filesystem::path& mountPoint() const { return mountPoint_; }
    // O_RDONLY | O_DIRECTORY on the mount's root; -1 after unmount().
    int directoryFd() const { return directoryFd_; }
    bool mounted() const { return mounted_; }

    // The root directory, each entry judged with fstatat(AT_SYMLINK_NOFOLLOW).
    Result<RootListing> listRoot(std::size_t maxEntries = maxListedEntries) const;

    // A regular file of the root directory, at most maxBytes: a larger one
    // is ARCHIVE_TOO_LARGE from its size before any byte is read; a symlink,
    // FIFO or directory is ARCHIVE_NOT_FOUND.
    Result<std::string> readFile(const std::string& name, std::uint64_t maxBytes = maxFileBytes) const;

    // Remounts read-write until the window closes.
    Result<WritableWindow> openForWriting();
    // The report: every file written atomically, synced, read-only again.
    Result<void> writeReport(const std::vector<ReportFile>& files);

    // Unmounts and removes the mount point; safe to call twice.
    Result<UnmountMethod> unmount();

private:
    friend class WritableWindow;
    MountedStick() = default;
    Result<void> remount(bool readOnly);
    void release() noexcept;

    std::string devnode_;
    std::string filesystemType_;
    std::string data_;
    std::filesystem::path mountPoint_;
    int directoryFd_ = -1;
    bool mounted_ = false;
    bool writable_ = false;
};

std::string_view toString(UnmountMethod method);

} // namespace omni::mount
