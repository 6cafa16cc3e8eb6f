#include "drivers/mount/mounted_stick.hpp"

#include "drivers/fs/files.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h> // renameat2
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace omni::mount {
namespace {

constexpr unsigned long readOnlyFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME;
// The same restrictions without MS_RDONLY: MS_REMOUNT replaces the mount's
// flags, so every one must be given again.
constexpr unsigned long readWriteRemountFlags = MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME;

class UniqueFd {
public:
    explicit UniqueFd(int fd = -1)
        : fd_(fd)
    {
    }
    ~UniqueFd() { reset(); }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    int get() const { return fd_; }
    void reset(int fd = -1)
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

struct DirectoryCloser {
    void operator()(DIR* directory) const { ::closedir(directory); }
};

tl::unexpected<Error> systemError(const std::string& step, int error, const std::string& where = {})
{
    return fail(ReasonCode::InternalError, Check::None, step + ": " + std::strerror(error), where);
}

// A name directly in the root directory: no separators, no "." or "..".
bool isPlainName(const std::string& name)
{
    return !name.empty() && name.size() <= 255 && name != "." && name != ".."
        && name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

Result<void> ensurePrivateDirectory(const std::filesystem::path& path)
{
    if (::mkdir(path.c_str(), 0700) == 0)
        return {};
    if (errno != EEXIST)
        return systemError("creating " + path.string(), errno);
    struct stat status { };
    if (::lstat(path.c_str(), &status) != 0)
        return systemError("checking " + path.string(), errno);
    if (!S_ISDIR(status.st_mode))
        return fail(ReasonCode::InternalError, Check::None, path.string() + " exists and is not a directory");
    if ((status.st_mode & 07777) != 0700 && ::chmod(path.c_str(), 0700) != 0)
        return systemError("making " + path.string() + " private (0700)", errno);
    return {};
}

bool isMountPoint(const std::filesystem::path& path)
{
    struct stat self {
    }, parent {};
    return ::lstat(path.c_str(), &self) == 0 && ::lstat(path.parent_path().c_str(), &parent) == 0
        && S_ISDIR(self.st_mode) && self.st_dev != parent.st_dev;
}

} // namespace

std::string mountDataFor(std::string_view filesystemType)
{
    if (filesystemType == "vfat")
        return "uid=0,gid=0,umask=077,utf8";
    // exFAT has no "utf8" flag: its character set is chosen with iocharset.
    if (filesystemType == "exfat")
        return "uid=0,gid=0,umask=077,iocharset=utf8";
    return {};
}

std::string_view toString(UnmountMethod method)
{
    return method == UnmountMethod::Clean ? "clean" : "lazy-detach";
}

Result<MountedStick> MountedStick::mountReadOnly(const std::string& devnode, const std::string& kernelName,
    const std::string& filesystemType, const std::filesystem::path& runtimeDirectory)
{
    if (!isPlainName(kernelName))
        return fail(ReasonCode::InternalError, Check::None,
            "kernel name '" + kernelName + "' cannot name a mount point (it must be a plain name)");
    if (filesystemType.empty())
        return fail(ReasonCode::InternalError, Check::None,
            "mounting " + devnode + ": no filesystem type (udev found none)");

    const std::filesystem::path media = runtimeDirectory / "media";
    if (auto made = ensurePrivateDirectory(runtimeDirectory); !made)
        return tl::unexpected(std::move(made.error()));
    if (auto made = ensurePrivateDirectory(media); !made)
        return tl::unexpected(std::move(made.error()));

    MountedStick stick;
    stick.devnode_ = devnode;
    stick.filesystemType_ = filesystemType;
    stick.data_ = mountDataFor(filesystemType);
    stick.mountPoint_ = media / kernelName;
    if (auto made = ensurePrivateDirectory(stick.mountPoint_); !made)
        return tl::unexpected(std::move(made.error()));
    // Left over from a daemon that died with the stick mounted: ours, so detach it.
    if (isMountPoint(stick.mountPoint_))
        ::umount2(stick.mountPoint_.c_str(), MNT_DETACH);

    const std::string what
        = "mounting " + devnode + " (" + filesystemType + ") read-only on " + stick.mountPoint_.string();
    if (::mount(devnode.c_str(), stick.mountPoint_.c_str(), filesystemType.c_str(), readOnlyFlags,
            stick.data_.empty() ? nullptr : stick.data_.c_str())
        != 0) {
        const int error = errno;
        ::rmdir(stick.mountPoint_.c_str());
        return systemError(what, error, devnode);
    }
    stick.mounted_ = true;
    stick.directoryFd_ = ::open(stick.mountPoint_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (stick.directoryFd_ < 0)
        return systemError("opening the root directory of " + stick.mountPoint_.string(), errno, devnode);
    return stick;
}

MountedStick::MountedStick(MountedStick&& other) noexcept
    : devnode_(std::move(other.devnode_))
    , filesystemType_(std::move(other.filesystemType_))
    , data_(std::move(other.data_))
    , mountPoint_(std::move(other.mountPoint_))
    , directoryFd_(std::exchange(other.directoryFd_, -1))
    , mounted_(std::exchange(other.mounted_, false))
    , writable_(std::exchange(other.writable_, false))
{
}

MountedStick& MountedStick::operator=(MountedStick&& other) noexcept
{
    if (this != &other) {
        release();
        devnode_ = std::move(other.devnode_);
        filesystemType_ = std::move(other.filesystemType_);
        data_ = std::move(other.data_);
        mountPoint_ = std::move(other.mountPoint_);
        directoryFd_ = std::exchange(other.directoryFd_, -1);
        mounted_ = std::exchange(other.mounted_, false);
        writable_ = std::exchange(other.writable_, false);
    }
    return *this;
}

MountedStick::~MountedStick()
{
    release();
}

void MountedStick::release() noexcept
{
    try {
        (void)unmount();
    } catch (...) {
        // Only allocation can throw here; the mount is detached by the kernel
        // when the daemon's mount namespace goes away.
    }
}

Result<UnmountMethod> MountedStick::unmount()
{
    if (directoryFd_ >= 0) {
        ::close(directoryFd_);
        directoryFd_ = -1;
    }
    if (!mounted_)
        return UnmountMethod::Clean;
    mounted_ = false;
    writable_ = false;

    // A pulled stick: no I/O towards a device that is gone, just detach.
    struct stat status { };
    const bool deviceGone = ::stat(devnode_.c_str(), &status) != 0 && errno == ENOENT;
    UnmountMethod method = UnmountMethod::Clean;
    if (deviceGone || ::umount2(mountPoint_.c_str(), 0) != 0) {
        const int error = deviceGone ? ENODEV : errno;
        // EINVAL: no longer a mount point (someone else unmounted it).
        if (error != EINVAL) {
            if (::umount2(mountPoint_.c_str(), MNT_DETACH) != 0 && errno != EINVAL)
                return systemError("unmounting " + mountPoint_.string() + " (lazy detach after "
                        + std::strerror(error) + ")",
                    errno, devnode_);
            method = UnmountMethod::LazyDetach;
        }
    }
    if (::rmdir(mountPoint_.c_str()) != 0 && errno != ENOENT)
        return systemError("removing the mount point " + mountPoint_.string(), errno, devnode_);
    return method;
}

Result<RootListing> MountedStick::listRoot(std::size_t maxEntries) const
{
    if (directoryFd_ < 0)
        return fail(ReasonCode::InternalError, Check::None, "listing a stick that is not mounted");
    // fdopendir takes the fd it is given; a duplicate keeps ours open.
    UniqueFd duplicate(::fcntl(directoryFd_, F_DUPFD_CLOEXEC, 0));
    if (duplicate.get() < 0)
        return systemError("listing " + mountPoint_.string(), errno, devnode_);
    std::unique_ptr<DIR, DirectoryCloser> directory(::fdopendir(duplicate.get()));
    if (!directory)
        return systemError("listing " + mountPoint_.string(), errno, devnode_);
    duplicate.release();
    ::rewinddir(directory.get());

    RootListing listing;
    while (true) {
        errno = 0;
        const dirent* entry = ::readdir(directory.get());
        if (!entry) {
            if (errno != 0)
                return systemError("listing " + mountPoint_.string(), errno, devnode_);
            break;
        }
        const std::string name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        if (listing.entries.size() >= maxEntries) {
            listing.truncated = true;
            listing.warning = "the stick's root directory has more than " + std::to_string(maxEntries)
                + " entries; only the first " + std::to_string(maxEntries) + " were looked at";
            break;
        }
        struct stat status { };
        if (::fstatat(directoryFd_, name.c_str(), &status, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue; // removed since readdir saw it
            return systemError("examining '" + name + "' on " + mountPoint_.string(), errno, name);
        }
        StickEntry item;
        item.name = name;
        item.isRegularFile = S_ISREG(status.st_mode);
        item.size = item.isRegularFile ? static_cast<std::uint64_t>(status.st_size) : 0;
        listing.entries.push_back(std::move(item));
    }
    return listing;
}

Result<std::string> MountedStick::readFile(const std::string& name, std::uint64_t maxBytes) const
{
    if (!isPlainName(name))
        return fail(ReasonCode::InternalError, Check::None,
            "'" + name + "' is not a name in the root directory", name);
    if (directoryFd_ < 0)
        return fail(ReasonCode::InternalError, Check::None,
            "reading '" + name + "' from a stick that is not mounted", name);
    // O_NONBLOCK: a FIFO opens at once (and is then refused) instead of
    // waiting for a writer.
    UniqueFd file(
        ::openat(directoryFd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (file.get() < 0) {
        const int error = errno;
        if (error == ENOENT)
            return fail(
                ReasonCode::ArchiveNotFound, Check::Found, "'" + name + "' is not on the stick", name);
        if (error == ELOOP)
            return fail(ReasonCode::ArchiveNotFound, Check::Found,
                "'" + name + "' is a symbolic link, not a regular file", name);
        return systemError("opening '" + name + "' on " + mountPoint_.string(), error, name);
    }
    struct stat status { };
    if (::fstat(file.get(), &status) != 0)
        return systemError("examining '" + name + "' on " + mountPoint_.string(), errno, name);
    if (!S_ISREG(status.st_mode))
        return fail(ReasonCode::ArchiveNotFound, Check::Found, "'" + name + "' is not a regular file", name);
    const auto size = static_cast<std::uint64_t>(status.st_size);
    const std::string tooLarge = "'" + name + "' is over the limit of " + std::to_string(maxBytes) + " bytes";
    if (size > maxBytes)
        return fail(ReasonCode::ArchiveTooLarge, Check::FileSize,
            tooLarge + " (" + std::to_string(size) + " bytes)", name);

    // Read up to one byte past the limit, so a file growing under us is caught
    // without reading more than that.
    std::string content(static_cast<std::size_t>(maxBytes) + 1, '\0');
    std::size_t total = 0;
    while (total < content.size()) {
        const ssize_t got = ::read(file.get(), content.data() + total, content.size() - total);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return systemError("reading '" + name + "' on " + mountPoint_.string(), errno, name);
        }
        if (got == 0)
            break;
        total += static_cast<std::size_t>(got);
    }
    if (total > maxBytes)
        return fail(
            ReasonCode::ArchiveTooLarge, Check::FileSize, tooLarge + " (it grew while being read)", name);
    content.resize(total);
    return content;
}

Result<void> MountedStick::remount(bool readOnly)
{
    const unsigned long flags = readOnly ? (MS_REMOUNT | readOnlyFlags) : readWriteRemountFlags;
    if (::mount(
            devnode_.c_str(), mountPoint_.c_str(), nullptr, flags, data_.empty() ? nullptr : data_.c_str())
        != 0)
        return systemError(
            std::string("remounting ") + mountPoint_.string() + (readOnly ? " read-only" : " read-write"),
            errno, devnode_);
    writable_ = !readOnly;
    return {};
}

Result<WritableWindow> MountedStick::openForWriting()
{
    if (!mounted_ || directoryFd_ < 0)
        return fail(ReasonCode::InternalError, Check::None, "writing to a stick that is not mounted");
    if (writable_)
        return fail(
            ReasonCode::InternalError, Check::None, mountPoint_.string() + " is already open for writing");
    if (auto done = remount(false); !done)
        return tl::unexpected(std::move(done.error()));
    return WritableWindow(*this);
}

Result<void> MountedStick::writeReport(const std::vector<ReportFile>& files)
{
    auto window = openForWriting();
    if (!window)
        return tl::unexpected(std::move(window.error()));
    for (const auto& file : files)
        if (auto written = window->writeFile(file.name, file.content); !written)
            return written; // the window goes back to read-only as it is destroyed
    return window->close();
}

WritableWindow::WritableWindow(WritableWindow&& other) noexcept
    : stick_(std::exchange(other.stick_, nullptr))
{
}

WritableWindow::~WritableWindow()
{
    try {
        (void)close();
    } catch (...) {
        // Allocation failure only; the stick is unmounted soon after anyway.
    }
}

Result<void> WritableWindow::writeFile(const std::string& name, std::string_view content)
{
    if (!stick_ || !stick_->writable_)
        return fail(
            ReasonCode::InternalError, Check::None, "writing '" + name + "' after the window closed", name);
    if (!isPlainName(name) || name.size() > 200)
        return fail(ReasonCode::InternalError, Check::None,
            "'" + name + "' is not a name in the root directory", name);
    const int directory = stick_->directoryFd_;
    const std::string where = stick_->mountPoint_.string();
    const std::string temporary = "." + name + ".omni-tmp";
    // Our own temporary name, left over from an interrupted write.
    if (::unlinkat(directory, temporary.c_str(), 0) != 0 && errno != ENOENT)
        return systemError("removing the leftover '" + temporary + "' on " + where, errno, name);

    UniqueFd file(
        ::openat(directory, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (file.get() < 0)
        return systemError("creating '" + temporary + "' on " + where, errno, name);
    auto abandon = [&](const std::string& step, int error) {
        file.reset();
        ::unlinkat(directory, temporary.c_str(), 0);
        return systemError(step + " '" + temporary + "' on " + where, error, name);
    };
    if (!state::writeAll(file.get(), content))
        return abandon("writing", errno);
    if (::fsync(file.get()) != 0)
        return abandon("syncing", errno);
    if (::close(file.release()) != 0)
        return abandon("closing", errno);
    if (::renameat(directory, temporary.c_str(), directory, name.c_str()) != 0) {
        const int error = errno;
        ::unlinkat(directory, temporary.c_str(), 0);
        return systemError("renaming '" + temporary + "' to '" + name + "' on " + where, error, name);
    }
    return {};
}

Result<void> WritableWindow::rename(const std::string& from, const std::string& to)
{
    if (!stick_ || !stick_->writable_)
        return fail(
            ReasonCode::InternalError, Check::None, "renaming '" + from + "' after the window closed", from);
    if (!isPlainName(from) || !isPlainName(to))
        return fail(ReasonCode::InternalError, Check::None,
            "'" + from + "' -> '" + to + "' are not names in the root directory", from);
    const int directory = stick_->directoryFd_;
    if (::renameat2(directory, from.c_str(), directory, to.c_str(), RENAME_NOREPLACE) != 0)
        return systemError(
            "renaming '" + from + "' to '" + to + "' on " + stick_->mountPoint_.string(), errno, from);
    return {};
}

Result<void> WritableWindow::close()
{
    if (!stick_)
        return {};
    MountedStick& stick = *std::exchange(stick_, nullptr);
    if (!stick.mounted_ || !stick.writable_)
        return {};
    std::optional<Error> problem;
    if (::syncfs(stick.directoryFd_) != 0)
        problem = systemError("syncing " + stick.mountPoint_.string(), errno, stick.devnode_).value();
    if (auto readOnly = stick.remount(true); !readOnly)
        return tl::unexpected(std::move(readOnly.error()));
    if (problem)
        return tl::unexpected(std::move(*problem));
    return {};
}

} // namespace omni::mount
