#include "drivers/dns/dns_backend.hpp"

#include <cerrno>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "drivers/dns/resolved_backend.hpp"

namespace omni::dns {

bool pointsIntoSystemdResolve(const std::filesystem::path& resolvConf)
{
    struct stat status { };
    if (::lstat(resolvConf.c_str(), &status) != 0 || !S_ISLNK(status.st_mode)) {
        return false;
    }
    std::vector<char> buffer(4096);
    const ssize_t length = ::readlink(resolvConf.c_str(), buffer.data(), buffer.size());
    if (length <= 0 || static_cast<std::size_t>(length) >= buffer.size()) {
        return false;
    }
    std::filesystem::path target(std::string(buffer.data(), static_cast<std::size_t>(length)));
    if (target.is_relative()) {
        target = resolvConf.parent_path() / target;
    }
    // Lexically: "../run/systemd/resolve/stub-resolv.conf" from /etc counts,
    // and so does a target resolved has not created yet.
    const std::string normal = target.lexically_normal().string();
    return normal.rfind(kResolvedRuntimeDirectory, 0) == 0;
}

BackendChoice effectiveDnsBackend(const Options& options)
{
    if (options.backend != BackendChoice::Auto) {
        return options.backend;
    }
    return pointsIntoSystemdResolve(options.resolvConfPath) ? BackendChoice::Resolved
                                                            : BackendChoice::ResolvConf;
}

Result<std::unique_ptr<DnsBackend>> makeDnsBackend(const Options& options, const std::string& busAddress)
{
    switch (effectiveDnsBackend(options)) {
    case BackendChoice::Resolved: {
        auto resolved = ResolvedBackend::open(busAddress);
        if (!resolved) {
            return tl::unexpected(std::move(resolved.error()));
        }
        return std::unique_ptr<DnsBackend>(std::move(*resolved));
    }
    case BackendChoice::ResolvConf:
        return std::unique_ptr<DnsBackend>(std::make_unique<ResolvConfBackend>(options.resolvConfPath));
    case BackendChoice::None:
    case BackendChoice::Auto:
        break;
    }
    return std::unique_ptr<DnsBackend>(std::make_unique<NoDnsBackend>());
}

} // namespace omni::dns
