#pragma once
// DNS of DESIGN.md section 4: where the servers of a provisioning go.
//
//  * resolv.conf  atomic rewrite of one file (at most 3 nameservers, glibc's
//                 MAXNS; a warning names the dropped ones);
//  * resolved     systemd-resolved over D-Bus, per link (SetLinkDNS,
//                 RevertLink when we stop managing a link);
//  * auto         resolved when the resolv.conf path is a symlink into
//                 /run/systemd/resolve/, else resolv.conf;
//  * none         nothing is touched.
//
// Every backend is transactional in the caller's hands: snapshot() reads
// exactly what apply() may change, restore() puts it back. apply() of the
// settings already in force changes nothing (no rewrite, no bus call that
// changes state).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/result.hpp"
#include "drivers/fs/managed_file.hpp"

namespace omni::dns {

struct LinkDns {
    int ifindex = 0;
    std::string interfaceName; // for messages
    // Empty: we do not (or no longer) give this link DNS servers; resolved
    // reverts the link when it has any.
    std::vector<std::string> servers;

    friend bool operator==(const LinkDns&, const LinkDns&) = default;
};

struct DnsSettings {
    // For one global list (resolv.conf): the union, Ethernet0's first, each
    // address once. Empty: the file is left as it is (there is nothing to say
    // yet, e.g. DHCP without a lease).
    std::vector<std::string> servers;
    // For per-link backends (resolved): the configured ports' links.
    std::vector<LinkDns> links;

    friend bool operator==(const DnsSettings&, const DnsSettings&) = default;
};

struct DnsSnapshot {
    std::optional<system_support::FileSnapshot> file; // resolv.conf
    std::vector<LinkDns> links; // resolved: each link's servers before
};

struct DnsApplyOutcome {
    bool changed = false;
    std::vector<std::string> warnings;
};

class DnsBackend {
public:
    virtual ~DnsBackend() = default;

    virtual std::string_view name() const = 0; // "resolv.conf", "resolved", "none"

    virtual Result<DnsSnapshot> snapshot(const DnsSettings& settings) = 0;
    // Errors are NETWORK_APPLY_FAILED (Check::NetworkApply) with what failed;
    // the caller restores the snapshot.
    virtual Result<DnsApplyOutcome> apply(const DnsSettings& settings) = 0;
    // True when something had to be put back.
    virtual Result<bool> restore(const DnsSnapshot& snapshot) = 0;
    // The servers that resolve names for `ifindex` now, as this backend
    // sees them (resolv.conf: the file's nameservers, for every link).
    virtual Result<std::vector<std::string>> serversInForce(int ifindex) = 0;
    // A reset (DESIGN.md section 10): what we gave these links goes, with no
    // snapshot of what was there before (a reset runs in another process,
    // or after a reboot). resolv.conf: the file is removed when it is ours
    // (its first line is kResolvConfMarker), a symlink to it is kept, a
    // file of someone else's is left alone; resolved: each link that has
    // servers is reverted. True when something changed.
    virtual Result<bool> removeOverride(const DnsSettings& links) = 0;
};

// ---- resolv.conf -------------------------------------------------------------------------------

inline constexpr std::string_view kResolvConfMarker = "# managed by omni-provision";
inline constexpr std::size_t kMaxResolvConfNameservers = 3; // glibc MAXNS
inline constexpr std::string_view kResolvedRuntimeDirectory = "/run/systemd/resolve/";

// What apply() writes: the marker line, then one nameserver line each for
// the first three servers; `dropped` receives the others.
std::string resolvConfContent(
    const std::vector<std::string>& servers, std::vector<std::string>* dropped = nullptr);

// The nameserver lines of a resolv.conf, in order.
std::vector<std::string> nameserversIn(std::string_view resolvConf);

// A symlink at `path` is followed: its final target is rewritten atomically
// in the target's own directory, and the link is left as it is (the package
// makes /etc/resolv.conf a link to a file under the state directory, which
// the hardened unit can write while /etc is read-only). A symlink into
// /run/systemd/resolve/ is refused: resolved owns that file, and writing it
// would be undone or would cut resolved out, so apply() says to select the
// resolved backend (`auto` does).
class ResolvConfBackend final : public DnsBackend {
public:
    explicit ResolvConfBackend(std::filesystem::path path);

    std::string_view name() const override { return "resolv.conf"; }
    Result<DnsSnapshot> snapshot(const DnsSettings& settings) override;
    Result<DnsApplyOutcome> apply(const DnsSettings& settings) override;
    Result<bool> restore(const DnsSnapshot& snapshot) override;
    Result<std::vector<std::string>> serversInForce(int ifindex) override;
    Result<bool> removeOverride(const DnsSettings& links) override;

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// ---- none --------------------------------------------------------------------------------------

class NoDnsBackend final : public DnsBackend {
public:
    std::string_view name() const override { return "none"; }
    Result<DnsSnapshot> snapshot(const DnsSettings&) override { return DnsSnapshot {}; }
    Result<DnsApplyOutcome> apply(const DnsSettings&) override { return DnsApplyOutcome {}; }
    Result<bool> restore(const DnsSnapshot&) override { return false; }
    Result<std::vector<std::string>> serversInForce(int) override { return std::vector<std::string> {}; }
    Result<bool> removeOverride(const DnsSettings&) override { return false; }
};

// ---- selection ---------------------------------------------------------------------------------

// True when `resolvConf` is a symlink whose target (as written, made
// absolute against its directory) lies in /run/systemd/resolve/.
bool pointsIntoSystemdResolve(const std::filesystem::path& resolvConf);

enum class BackendChoice { Auto, Resolved, ResolvConf, None };

// What the DNS driver is asked to do; the device fills it from its
// configuration (dns.backend, dns.resolv_conf_path).
struct Options {
    BackendChoice backend = BackendChoice::Auto;
    std::filesystem::path resolvConfPath = "/etc/resolv.conf"; // resolv.conf, and what auto looks at

    friend bool operator==(const Options&, const Options&) = default;
};

// The backend `options` ask for; `auto` looks at resolvConfPath.
// `busAddress` empty: resolved is reached on the system bus (only connected
// when resolved is selected).
Result<std::unique_ptr<DnsBackend>> makeDnsBackend(
    const Options& options, const std::string& busAddress = {});

// The backend `auto` picks for this path (Resolved or ResolvConf); any other
// choice is returned as it is.
BackendChoice effectiveDnsBackend(const Options& options);

} // namespace omni::dns
