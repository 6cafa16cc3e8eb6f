#pragma once
// DHCP of DESIGN.md section 4: one dhcpcd (Debian's dhcpcd-base) per
// interface set to DHCP, supervised by the daemon without threads.
//
// Each client runs as
//   dhcpcd --nobackground --ipv4only --nodev --config <run>/dhcp/dhcpcd.conf
//          --script <hook> --env OMNI_PROVISION_LEASE_DIR=<run>/dhcp
//          --metric <port metric> <interface>
// in its own process group, so its privilege-separation helpers go with it.
// --script replaces dhcpcd-run-hooks: no distribution hook runs, nothing
// writes /etc/resolv.conf, the hostname or NTP files; our hook records the
// lease in <run>/dhcp/<interface>.lease and we apply its DNS and NTP. The
// generated dhcpcd.conf (see dhcpcdConfiguration()) asks for DNS and NTP
// servers, never falls back to IPv4LL, waits for a server forever and does
// not persist: on SIGTERM dhcpcd removes the lease's address and routes.
// dhcpcd's own files are per interface (/run/dhcpcd/<interface>-4.pid,
// -4.sock, /var/lib/dhcpcd/<interface>.lease), so instances never collide.
//
// Event loop: start() returns as soon as dhcpcd is forked (a lease is never
// waited for); call reap() on SIGCHLD and restartDue() when
// nextRestartAt() passes. A client that dies is restarted at once the first
// time, then after 1 s, 2 s, 4 s ... up to maxRestartDelay; a run longer
// than stableAfter resets that. stop() is SIGTERM, a bounded wait, then
// SIGKILL of the whole group.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "daemon/core/result.hpp"
#include "drivers/dhcp/lease.hpp"

#ifndef OMNI_DHCPCD_HOOK_PATH
#define OMNI_DHCPCD_HOOK_PATH "/usr/libexec/omni-provision/dhcpcd-hook"
#endif

namespace omni::dhcp {

inline constexpr const char* kDefaultHookPath = OMNI_DHCPCD_HOOK_PATH;

struct SupervisorOptions {
    std::filesystem::path dhcpcdPath = "/usr/sbin/dhcpcd";
    std::filesystem::path hookPath = kDefaultHookPath;
    // Our files go to <runtimeDirectory>/dhcp: dhcpcd.conf, <if>.lease, <if>.log.
    std::filesystem::path runtimeDirectory = "/run/omni-provision";
    // A network namespace (/run/netns/NAME) for dhcpcd to run in; empty: ours.
    // Tests use it; a device needs none.
    std::filesystem::path networkNamespace;
    std::chrono::milliseconds stopTimeout { 5000 };
    std::chrono::milliseconds firstRestartDelay { 1000 }; // after the immediate first restart
    std::chrono::milliseconds maxRestartDelay { 30000 };
    std::chrono::milliseconds stableAfter { 60000 };
    // A one-shot program (`omni-provision apply`) leaves its clients running
    // when it exits; the next supervisor (the daemon, the next apply) adopts
    // a client that still runs with the same interface, configuration and
    // metric instead of starting another, so an unchanged configuration
    // restarts nothing.
    bool keepClientsOnExit = false;
};

// The dhcpcd.conf every supervised client reads.
std::string dhcpcdConfiguration();

struct StopOutcome {
    bool wasRunning = false; // false: only a pending restart was cancelled
    bool killed = false; // SIGTERM was not enough within stopTimeout
    // When killed: what /proc said about the client before the SIGKILL
    // (state, wait channel, signal masks), for the journal.
    std::string killedWhile;
    std::optional<Lease> lastLease; // the lease it held, to check it is gone
};

struct ClientExit {
    std::string interfaceName;
    pid_t pid = 0;
    std::string status; // "exited with status 1", "killed by signal 9"
    std::chrono::milliseconds restartIn { 0 };
};

class DhcpSupervisor {
public:
    explicit DhcpSupervisor(SupervisorOptions options = {});
    // Stops every client (their addresses go with them), unless
    // keepClientsOnExit.
    ~DhcpSupervisor();
    DhcpSupervisor(const DhcpSupervisor&) = delete;
    DhcpSupervisor& operator=(const DhcpSupervisor&) = delete;

    // Starts supervising `interfaceName`; true when a dhcpcd was started,
    // false when it was already supervised or a client left running by an
    // earlier supervisor was adopted (nothing is restarted, also not for
    // another metric: the caller stops first to change it). Errors
    // (NETWORK_APPLY_FAILED): a bad interface name, dhcpcd or the hook not
    // executable, the runtime directory not writable, fork failing.
    Result<bool> start(const std::string& interfaceName, std::uint32_t routeMetric);
    // Stops supervising; a no-op outcome for an interface not supervised.
    StopOutcome stop(const std::string& interfaceName);

    // On SIGCHLD: waits (WNOHANG) for each of our children only, restarts
    // what died (at once or later, see above) and says what happened.
    std::vector<ClientExit> reap();
    std::optional<std::chrono::steady_clock::time_point> nextRestartAt() const;
    void restartDue(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

    bool supervises(const std::string& interfaceName) const;
    std::vector<std::string> interfaces() const;
    std::optional<pid_t> pid(const std::string& interfaceName) const; // nullopt while a restart is pending
    std::vector<pid_t> childPids() const;
    unsigned restarts(const std::string& interfaceName) const;

    // The lease the running client recorded; nullopt without one (none yet,
    // expired, the client is not running, or the file names another pid).
    std::optional<Lease> lease(const std::string& interfaceName) const;
    std::filesystem::path leasePath(const std::string& interfaceName) const;
    std::filesystem::path pidPath(const std::string& interfaceName) const;
    // Takes over a client an earlier supervisor left running for
    // `interfaceName`; true when the interface is supervised afterwards.
    bool adoptLeftClient(const std::string& interfaceName);
    // True when the client of `interfaceName` was adopted, not started by us.
    bool adopted(const std::string& interfaceName) const;
    std::filesystem::path leaseDirectory() const { return options_.runtimeDirectory / "dhcp"; }
    const SupervisorOptions& options() const { return options_; }

private:
    struct Client {
        std::uint32_t metric = 0;
        pid_t pid = 0; // 0: not running (restart pending)
        std::chrono::steady_clock::time_point startedAt;
        std::optional<std::chrono::steady_clock::time_point> restartAt;
        unsigned restarts = 0;
        unsigned quickFailures = 0;
        bool adopted = false; // not our child: watched with kill(pid, 0), not waitpid
    };

    Result<void> prepareFiles();
    struct LeftClient {
        pid_t pid = 0;
        std::uint32_t metric = 0;
    };
    // A live dhcpcd for `interfaceName` that an earlier supervisor of the
    // same runtime directory started: <run>/dhcp/<if>.pid names its pid, start
    // time and metric, and the pid has that start time still.
    std::optional<LeftClient> findLeftClient(const std::string& interfaceName) const;
    std::vector<std::string> clientArguments(const std::string& interfaceName, std::uint32_t metric) const;
    Result<pid_t> spawn(const std::string& interfaceName, std::uint32_t metric);
    void launch(const std::string& interfaceName, Client& client);

    SupervisorOptions options_;
    std::map<std::string, Client> clients_;
};

} // namespace omni::dhcp
