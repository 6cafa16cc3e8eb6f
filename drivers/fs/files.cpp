#include "drivers/fs/files.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace omni::state {
namespace {

class FileDescriptor {
public:
    explicit FileDescriptor(int fd)
        : fd_(fd)
    {
    }
    ~FileDescriptor()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

Error ioError(const std::string& what, const std::filesystem::path& path, int error)
{
    return Error { ReasonCode::InternalError, Check::None,
        what + " " + path.string() + ": " + std::strerror(error), {} };
}

} // namespace

bool writeAll(int fd, std::string_view content)
{
    while (!content.empty()) {
        const ssize_t written = ::write(fd, content.data(), content.size());
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        content.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
}

tl::expected<std::string, ReadFailure> readRegularFile(
    const std::filesystem::path& path, std::uint64_t maxBytes, bool followSymlinks)
{
    const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (followSymlinks ? 0 : O_NOFOLLOW);
    FileDescriptor fd(::open(path.c_str(), flags));
    if (fd.get() < 0) {
        const int error = errno;
        if (error == ENOENT || error == ENOTDIR)
            return tl::unexpected(ReadFailure { FileProblem::NotFound, path.string() + ": no such file", 0 });
        if (error == ELOOP)
            return tl::unexpected(ReadFailure {
                FileProblem::NotRegular, path.string() + " is a symbolic link, not a regular file", 0 });
        return tl::unexpected(
            ReadFailure { FileProblem::Unreadable, path.string() + ": " + std::strerror(error), 0 });
    }
    struct stat status { };
    if (::fstat(fd.get(), &status) != 0)
        return tl::unexpected(
            ReadFailure { FileProblem::Unreadable, path.string() + ": " + std::strerror(errno), 0 });
    if (!S_ISREG(status.st_mode))
        return tl::unexpected(
            ReadFailure { FileProblem::NotRegular, path.string() + " is not a regular file", 0 });
    const auto size = static_cast<std::uint64_t>(status.st_size);
    if (size > maxBytes)
        return tl::unexpected(ReadFailure { FileProblem::TooLarge,
            path.string() + " is " + std::to_string(size) + " bytes; the limit is "
                + std::to_string(maxBytes),
            size });
    // Read one byte past the expected size so a file growing under us is noticed.
    std::string content(static_cast<std::size_t>(size) + 1, '\0');
    std::size_t total = 0;
    while (total < content.size()) {
        const ssize_t got = ::read(fd.get(), content.data() + total, content.size() - total);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return tl::unexpected(
                ReadFailure { FileProblem::Unreadable, path.string() + ": " + std::strerror(errno), size });
        }
        if (got == 0)
            break;
        total += static_cast<std::size_t>(got);
    }
    if (total > maxBytes)
        return tl::unexpected(ReadFailure { FileProblem::TooLarge,
            path.string() + " grew beyond the limit of " + std::to_string(maxBytes) + " bytes while read",
            total });
    content.resize(total);
    return content;
}

Result<void> writeFileAtomically(const std::filesystem::path& path, std::string_view content, mode_t mode)
{
    const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    // ".<name>.XXXXXX", with <name> shortened so that a file name near the
    // 255-byte limit still has a temporary sibling.
    const std::string name = path.filename().string().substr(0, 200);
    std::string pattern = (directory / ("." + name + ".XXXXXX")).string();
    std::vector<char> temporaryName(pattern.begin(), pattern.end());
    temporaryName.push_back('\0');
    FileDescriptor fd(::mkostemp(temporaryName.data(), O_CLOEXEC));
    if (fd.get() < 0)
        return tl::unexpected(ioError("cannot create a temporary file in", directory, errno));
    const std::filesystem::path temporary(temporaryName.data());
    auto abandon = [&](const std::string& what) {
        const int error = errno;
        ::unlink(temporary.c_str());
        return tl::unexpected(ioError(what, path, error));
    };
    if (::fchmod(fd.get(), mode) != 0)
        return abandon("cannot set the mode of");
    if (!writeAll(fd.get(), content))
        return abandon("cannot write");
    if (::fsync(fd.get()) != 0)
        return abandon("cannot sync");
    if (::close(fd.release()) != 0)
        return abandon("cannot close");
    if (::rename(temporary.c_str(), path.c_str()) != 0)
        return abandon("cannot rename the temporary file onto");
    FileDescriptor directoryFd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (directoryFd.get() < 0 || ::fsync(directoryFd.get()) != 0)
        return tl::unexpected(ioError("cannot sync the directory of", path, errno));
    return {};
}

Result<void> ensureDirectory(const std::filesystem::path& path, mode_t mode, bool forceMode)
{
    std::error_code error;
    if (path.has_parent_path() && !path.parent_path().empty())
        std::filesystem::create_directories(path.parent_path(), error);
    if (::mkdir(path.c_str(), mode) != 0) {
        if (errno != EEXIST)
            return tl::unexpected(ioError("cannot create the directory", path, errno));
        struct stat status { };
        if (::stat(path.c_str(), &status) != 0 || !S_ISDIR(status.st_mode))
            return tl::unexpected(ioError("not a directory:", path, ENOTDIR));
        if (!forceMode)
            return {};
    }
    if (::chmod(path.c_str(), mode) != 0)
        return tl::unexpected(ioError("cannot set the mode of", path, errno));
    return {};
}

Result<void> syncDirectory(const std::filesystem::path& directory)
{
    FileDescriptor directoryFd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (directoryFd.get() < 0 || ::fsync(directoryFd.get()) != 0)
        return tl::unexpected(ioError("cannot sync the directory", directory, errno));
    return {};
}

} // namespace omni::state
