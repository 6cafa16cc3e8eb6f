#include <algorithm>
#include <cctype>

#include "drivers/dns/dns_backend.hpp"
#include "drivers/fs/files.hpp"

namespace omni::dns {

std::string resolvConfContent(const std::vector<std::string>& servers, std::vector<std::string>* dropped)
{
    std::string content(kResolvConfMarker);
    content += '\n';
    for (std::size_t index = 0; index < servers.size(); ++index) {
        if (index < kMaxResolvConfNameservers) {
            content += "nameserver " + servers[index] + "\n";
        } else if (dropped != nullptr) {
            dropped->push_back(servers[index]);
        }
    }
    return content;
}

std::vector<std::string> nameserversIn(std::string_view resolvConf)
{
    std::vector<std::string> servers;
    while (!resolvConf.empty()) {
        const std::size_t end = resolvConf.find('\n');
        std::string_view line = resolvConf.substr(0, end);
        resolvConf.remove_prefix(end == std::string_view::npos ? resolvConf.size() : end + 1);
        constexpr std::string_view keyword = "nameserver";
        if (line.substr(0, keyword.size()) != keyword || line.size() == keyword.size()
            || std::isspace(static_cast<unsigned char>(line[keyword.size()])) == 0) {
            continue;
        }
        line.remove_prefix(keyword.size());
        const auto isSpace = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
        const auto first = std::find_if_not(line.begin(), line.end(), isSpace);
        const auto last = std::find_if(first, line.end(), isSpace);
        if (first != last) {
            servers.emplace_back(first, last);
        }
    }
    return servers;
}

ResolvConfBackend::ResolvConfBackend(std::filesystem::path path)
    : path_(std::move(path))
{
}

Result<DnsSnapshot> ResolvConfBackend::snapshot(const DnsSettings&)
{
    auto target = system_support::finalSymlinkTarget(path_);
    if (!target) {
        return tl::unexpected(std::move(target.error()).withContext("DNS (resolv.conf): snapshot"));
    }
    auto file = system_support::snapshotFile(*target);
    if (!file) {
        return tl::unexpected(std::move(file.error()).withContext("DNS (resolv.conf): snapshot"));
    }
    DnsSnapshot snapshot;
    snapshot.file = std::move(*file);
    return snapshot;
}

Result<DnsApplyOutcome> ResolvConfBackend::apply(const DnsSettings& settings)
{
    DnsApplyOutcome outcome;
    if (settings.servers.empty()) {
        return outcome;
    }
    if (pointsIntoSystemdResolve(path_)) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            "DNS (resolv.conf): " + path_.string() + " is a symlink into "
                + std::string(kResolvedRuntimeDirectory)
                + ", so systemd-resolved owns it; set dns.backend to resolved (or auto) instead of "
                  "resolv.conf",
            path_.string());
    }
    std::vector<std::string> dropped;
    const std::string content = resolvConfContent(settings.servers, &dropped);
    if (!dropped.empty()) {
        std::string warning = "DNS: " + path_.string() + " holds at most "
            + std::to_string(kMaxResolvConfNameservers) + " nameservers; not written:";
        for (const std::string& server : dropped) {
            warning += " " + server;
        }
        outcome.warnings.push_back(std::move(warning));
    }
    auto target = system_support::finalSymlinkTarget(path_);
    if (!target) {
        return tl::unexpected(std::move(target.error()).withContext("DNS (resolv.conf): writing"));
    }
    auto written = system_support::writeFileIfDifferent(*target, content, 0644);
    if (!written) {
        return tl::unexpected(std::move(written.error()).withContext("DNS (resolv.conf): writing"));
    }
    outcome.changed = *written;
    return outcome;
}

Result<bool> ResolvConfBackend::restore(const DnsSnapshot& snapshot)
{
    if (!snapshot.file) {
        return false;
    }
    auto restored = system_support::restoreFile(*snapshot.file);
    if (!restored) {
        return tl::unexpected(std::move(restored.error()).withContext("DNS (resolv.conf): restoring"));
    }
    return *restored;
}

Result<std::vector<std::string>> ResolvConfBackend::serversInForce(int)
{
    auto content = state::readRegularFile(path_, system_support::kMaxManagedFileBytes, true);
    if (!content) {
        if (content.error().problem == state::FileProblem::NotFound) {
            return std::vector<std::string> {};
        }
        return fail(
            ReasonCode::NetworkApplyFailed, Check::NetworkApply, content.error().message, path_.string());
    }
    return nameserversIn(*content);
}

Result<bool> ResolvConfBackend::removeOverride(const DnsSettings&)
{
    auto target = system_support::finalSymlinkTarget(path_);
    if (!target) {
        return tl::unexpected(
            std::move(target.error()).withContext("DNS (resolv.conf): removing our servers"));
    }
    auto file = system_support::snapshotFile(*target);
    if (!file) {
        return tl::unexpected(std::move(file.error()).withContext("DNS (resolv.conf): removing our servers"));
    }
    const std::string marker = std::string(kResolvConfMarker) + "\n";
    if (file->kind != system_support::FileSnapshot::Kind::Regular || file->content.rfind(marker, 0) != 0) {
        return false; // absent, or not ours: someone else's servers stay
    }
    auto removed = system_support::removeFile(*target);
    if (!removed) {
        return tl::unexpected(
            std::move(removed.error()).withContext("DNS (resolv.conf): removing our servers"));
    }
    return *removed;
}

} // namespace omni::dns
