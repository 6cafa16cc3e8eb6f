#include "daemon/issuer/serve/credentials_file.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

namespace omni::serve {
namespace {

Error credentialsError(std::string message)
{
    return Error { ReasonCode::InternalError, Check::None, std::move(message), {} };
}

class FileDescriptor {
public:
    explicit FileDescriptor(int fd)
        : fd_(fd)
    {
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

bool isKeyCharacter(char c)
{
    return c > ' ' && c < 0x7f;
}

} // namespace

CredentialStore::~CredentialStore()
{
    for (auto& entry : secrets_)
        OPENSSL_cleanse(entry.second.data(), entry.second.size());
}

Result<CredentialStore> CredentialStore::load(const std::filesystem::path& path)
{
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (fd.get() < 0)
        return tl::unexpected(credentialsError(path.string() + ": " + std::strerror(errno)));
    struct stat status { };
    if (::fstat(fd.get(), &status) != 0)
        return tl::unexpected(credentialsError(path.string() + ": " + std::strerror(errno)));
    if (!S_ISREG(status.st_mode))
        return tl::unexpected(credentialsError(path.string() + " is not a regular file"));
    if ((status.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.st_mode & 07777));
        return tl::unexpected(credentialsError(path.string() + " holds secret keys but has mode " + mode
            + "; make it readable by its owner only (chmod 600 " + path.string() + ")"));
    }
    if (static_cast<std::uint64_t>(status.st_size) > kMaxCredentialsFileBytes)
        return tl::unexpected(
            credentialsError(path.string() + " is over " + std::to_string(kMaxCredentialsFileBytes)
                + " bytes; it should hold one short line per access key"));
    std::string text(kMaxCredentialsFileBytes + 1, '\0');
    std::size_t total = 0;
    while (total < text.size()) {
        const ssize_t got = ::read(fd.get(), text.data() + total, text.size() - total);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return tl::unexpected(credentialsError(path.string() + ": " + std::strerror(errno)));
        if (got == 0)
            break;
        total += static_cast<std::size_t>(got);
    }
    if (total > kMaxCredentialsFileBytes)
        return tl::unexpected(credentialsError(path.string() + " grew over "
            + std::to_string(kMaxCredentialsFileBytes) + " bytes while it was read"));
    text.resize(total);
    auto store = parse(text, path.string());
    OPENSSL_cleanse(text.data(), text.size());
    return store;
}

Result<CredentialStore> CredentialStore::parse(std::string_view text, std::string_view sourceName)
{
    CredentialStore store;
    std::size_t lineNumber = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        ++lineNumber;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        const auto where = std::string(sourceName) + ":" + std::to_string(lineNumber) + ": ";

        std::vector<std::string_view> fields;
        std::size_t at = 0;
        bool badCharacter = false;
        while (at < line.size()) {
            if (line[at] == ' ' || line[at] == '\t') {
                ++at;
                continue;
            }
            if (line[at] == '#')
                break; // a comment, on its own line or after the pair
            const std::size_t fieldStart = at;
            while (at < line.size() && line[at] != ' ' && line[at] != '\t') {
                badCharacter = badCharacter || !isKeyCharacter(line[at]);
                ++at;
            }
            fields.push_back(line.substr(fieldStart, at - fieldStart));
        }
        if (fields.empty())
            continue;
        if (badCharacter)
            return tl::unexpected(credentialsError(where + "access keys are printable ASCII without spaces"));
        if (fields.size() != 2)
            return tl::unexpected(
                credentialsError(where + "expected 'ACCESS_KEY_ID SECRET_ACCESS_KEY', found "
                    + std::to_string(fields.size()) + (fields.size() == 1 ? " field" : " fields")));
        if (fields[0].size() > 128 || fields[0].find('/') != std::string_view::npos)
            return tl::unexpected(credentialsError(where
                + "an access key ID has at most 128 characters and no '/' (it is part of the credential "
                  "scope)"));
        if (store.secrets_.count(fields[0]) != 0)
            return tl::unexpected(
                credentialsError(where + "access key ID " + std::string(fields[0]) + " is listed twice"));
        store.secrets_.emplace(std::string(fields[0]), std::string(fields[1]));
    }
    if (store.secrets_.empty())
        return tl::unexpected(credentialsError(std::string(sourceName)
            + " lists no access key; add a line 'ACCESS_KEY_ID SECRET_ACCESS_KEY' (the keys the clients "
              "use)"));
    return store;
}

std::optional<std::string> CredentialStore::secretFor(std::string_view accessKeyId) const
{
    const auto found = secrets_.find(accessKeyId);
    if (found == secrets_.end())
        return std::nullopt;
    return found->second;
}

} // namespace omni::serve
