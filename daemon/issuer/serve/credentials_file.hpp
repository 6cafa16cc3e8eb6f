#pragma once
// The access keys `serve --credentials FILE` accepts: one
// "ACCESS_KEY_ID SECRET_ACCESS_KEY" pair per line; '#' starts a comment,
// on its own line or after the pair.
// The file holds secrets, so it must not be readable by group or others.
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/core/result.hpp"

namespace omni::serve {

inline constexpr std::size_t kMaxCredentialsFileBytes = 64 * 1024;

class CredentialStore {
public:
    // Refuses a file with any group or other permission bit (chmod 600 it).
    static Result<CredentialStore> load(const std::filesystem::path& path);
    // The text alone; errors name `sourceName` and the line, never a secret.
    static Result<CredentialStore> parse(std::string_view text, std::string_view sourceName);

    CredentialStore() = default;
    CredentialStore(CredentialStore&&) noexcept = default;
    CredentialStore& operator=(CredentialStore&&) noexcept = default;
    CredentialStore(const CredentialStore&) = delete;
    CredentialStore& operator=(const CredentialStore&) = delete;
    ~CredentialStore();

    std::optional<std::string> secretFor(std::string_view accessKeyId) const;
    std::size_t size() const { return secrets_.size(); }

private:
    std::map<std::string, std::string, std::less<>> secrets_;
};

} // namespace omni::serve
