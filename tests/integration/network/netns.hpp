#pragma once
// Throw-away network namespaces for the root-only integration tests.
//
// Names: every namespace these tests make is "omnitest-<pid>-<n>-<role>",
// created with `ip netns add` (so it is bound at /run/netns/NAME). A crashed
// run leaves some behind; removeStaleNamespaces() deletes those whose <pid>
// is no longer alive, and never one of a run still going (meson runs test
// programs in parallel). The host's own interfaces are never touched.
//
// Netlink inside a namespace: a netlink socket belongs to the namespace of
// the thread that creates it, for life. runInNamespace() runs a function on
// a short-lived thread that has setns()'d into /run/netns/NAME, so sockets
// (the backend's, the event monitor's, the ping socket) are created there
// and then used from the test's own thread. The process itself never
// changes namespace.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace omni::testing {

struct CommandResult {
    int exitCode = -1;
    std::string out;
    std::string err;
};

// Runs a program (PATH lookup, no shell) and collects its output.
CommandResult runCommand(const std::vector<std::string>& arguments);

// Errors (a command that fails, a namespace that cannot be joined) are
// thrown as std::runtime_error: gtest reports them as the test's failure,
// and the benchmark, which shares this code, stops with them.

// Runs `ip ARGS...`; a non-zero exit throws, with iproute2's stderr.
std::string ip(const std::vector<std::string>& arguments);
nlohmann::json ipJson(const std::vector<std::string>& arguments); // `ip -j ARGS...`

// Empty when the tests can run; otherwise why not (for the exit-77 skip).
std::optional<std::string> whyIntegrationCannotRun();

inline constexpr const char* kNamespacePrefix = "omnitest-";

// Removes /run/netns/omnitest-<pid>-* of processes that are gone; returns their names.
std::vector<std::string> removeStaleNamespaces();

class NetworkNamespace {
public:
    // role: a short word for the name ("dut", "peer"). IPv6 is disabled in
    // it, so the kernel's own IPv6 timers never produce events a test counts.
    explicit NetworkNamespace(const std::string& role);
    ~NetworkNamespace();
    NetworkNamespace(const NetworkNamespace&) = delete;
    NetworkNamespace& operator=(const NetworkNamespace&) = delete;

    const std::string& name() const { return name_; }

private:
    std::string name_;
};

// Runs `work` on a thread that has joined the namespace and returns when
// it ends; an exception from `work` is rethrown here.
void runInNamespace(const std::string& name, const std::function<void()>& work);

// ICMP echo from inside `fromNamespace` to `address` (a raw socket: the
// test machine has no ping binary): true when the reply arrives within
// `timeout`.
bool ping(const std::string& fromNamespace, const std::string& address,
    std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A netlink socket in a namespace subscribed to link, IPv4 address and IPv4
// route notifications: what `ip monitor link address route` would print.
class KernelEventMonitor {
public:
    struct Event {
        std::uint16_t type = 0; // RTM_NEWLINK, RTM_NEWADDR, ...
        int ifindex = 0;
        std::uint8_t operstate = 0; // RTM_NEWLINK only
        std::string local; // RTM_NEWADDR/RTM_DELADDR only: IFA_LOCAL
        std::string describe() const;
    };

    explicit KernelEventMonitor(const std::string& namespaceName);
    ~KernelEventMonitor();
    KernelEventMonitor(const KernelEventMonitor&) = delete;
    KernelEventMonitor& operator=(const KernelEventMonitor&) = delete;

    // Adds a marker address to `lo` of the namespace (with iproute2) and
    // returns every event the kernel sent before the marker's own. Kernel
    // notifications are queued in order, so this is exactly what happened
    // between the previous call and now, without waiting on a clock.
    std::vector<Event> eventsUntilMarker();

    // Blocks until `done` holds for the events seen so far (or `timeout`,
    // then returns false). Events read here are consumed.
    bool waitFor(const std::function<bool(const std::vector<Event>&)>& done,
        std::chrono::milliseconds timeout = std::chrono::seconds(10));

private:
    std::vector<Event> read(std::chrono::milliseconds timeout);

    std::string namespaceName_;
    int fd_ = -1;
    int markers_ = 0;
};

} // namespace omni::testing
