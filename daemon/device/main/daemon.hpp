#pragma once
// omni-provisiond: one sd-event loop around the provisioning agent. udev
// events (and an enumeration at start, for a stick plugged in before power-on),
// signals (TERM/INT stop, HUP reloads the configuration), the systemd watchdog,
// sd_notify status lines a person understands, and the status LED.
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <systemd/sd-event.h>

#include "config/config.hpp"
#include "daemon/device/agent/provisioning_agent.hpp"
#include "daemon/device/agent/trust_store.hpp"
#include "daemon/device/log/journal.hpp"
#include "daemon/device/main/in_force.hpp"
#include "daemon/device/network/kernel_network.hpp"
#include "daemon/device/stick/stick_attempt.hpp"
#include "drivers/led/status_led.hpp"
#include "drivers/udev/stick_monitor.hpp"

namespace omni::daemon {

// sd-event objects, each released by its own unref.
struct EventLoopUnref {
    void operator()(sd_event* loop) const noexcept { sd_event_unref(loop); }
};
struct EventSourceUnref {
    void operator()(sd_event_source* source) const noexcept { sd_event_source_unref(source); }
};
using EventLoop = std::unique_ptr<sd_event, EventLoopUnref>;
using EventSource = std::unique_ptr<sd_event_source, EventSourceUnref>;

struct DaemonOptions {
    std::filesystem::path configFile;
    bool configFileExplicit = false;
};

// Something the daemon runs with but a person should know (a missing trust
// anchor, no connector configured): the journal gets it as `event` at start
// and on reload, --verify-config prints it as a warning.
struct ConfigurationNote {
    log::Event event;
    std::string message;
};

// A configuration that passed every check of the start, with what it needs
// already built; putting it in force cannot fail on its account.
struct CheckedConfiguration {
    config::Config configuration;
    std::unique_ptr<agent::TrustStore> trust;
    network_glue::NetworkBackends backends;
    std::vector<ConfigurationNote> notes;
};

// The checks of a start (and of a reload), and of --verify-config: one
// function, so a configuration is accepted by --verify-config if and only if
// the daemon starts with it. Loads the files (and config.d), applies the
// systemd directories, then checks the rest. Not checked here, because they
// are resources of the running daemon and not properties of the
// configuration: the netlink socket, the udev monitor and the event loop.
Result<CheckedConfiguration> checkConfiguration(const DaemonOptions& options);
Result<CheckedConfiguration> checkConfiguration(config::Config configuration);

class Daemon {
public:
    // Loads everything; an error (a configuration that checkConfiguration
    // refuses, no netlink) means the daemon must not start. A missing trust
    // anchor is not one: the daemon starts and refuses sticks until it is there.
    static Result<std::unique_ptr<Daemon>> create(const DaemonOptions& options);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Re-applies persisted state, reports READY=1, queues the sticks already
    // present, then runs until SIGTERM/SIGINT. Returns the exit code. Sticks
    // are handled one per loop iteration, so signals and the watchdog are
    // served between them.
    int run();

private:
    Daemon() = default;
    // All or nothing: everything that can fail is built first, then swapped
    // in; on an error the daemon is exactly as before.
    Result<void> applyConfiguration(CheckedConfiguration checked);
    Result<EventSource> watchMonitor(udev::StickMonitor& monitor);
    void logNotes(const std::vector<ConfigurationNote>& notes) const;
    void refreshTrust();
    void queueEvent(udev::StickEvent event);
    static int onQueuedStick(sd_event_source* source, void* userdata) noexcept;
    void handleEvent(const udev::StickEvent& event);
    void provision(const udev::StickEvent& event);
    void reload();
    // A reset (DESIGN.md section 10): a DELETING left by an interrupted one is
    // finished here; after `omni-provision reset` (which sends SIGHUP) the
    // DHCP clients this daemon supervises, restarted meanwhile when the reset
    // stopped them, are stopped and their addresses go with them.
    void settleReset(const std::string& when);
    void notifyStatus(const std::string& status);
    // The status line and the LED; after an attempt, as its verdict says.
    void showIdleStatus(std::optional<agent::AttemptVerdict> lastVerdict = std::nullopt);
    std::string waitingText() const;

    static int onUdev(sd_event_source* source, int fd, uint32_t events, void* userdata) noexcept;
    static int onSignal(
        sd_event_source* source, const struct signalfd_siginfo* info, void* userdata) noexcept;
    // DHCP: DNS and NTP follow the leases; dead clients are restarted on time.
    Result<void> watchLeases();
    void scheduleDhcpRestart();
    static int onLeaseChange(
        sd_event_source* source, const struct inotify_event* change, void* userdata) noexcept;
    static int onDhcpRestartDue(sd_event_source* source, uint64_t usec, void* userdata) noexcept;

    DaemonOptions options_;
    // Shared by every configuration's set, so declared before (and released
    // after) the set whose agent refers to it.
    std::unique_ptr<network_glue::KernelNetworkConfigurator> network_;
    // The configuration in force: anchors, LED, state and agent, swapped as one.
    std::unique_ptr<InForce> inForce_;
    std::optional<udev::StickMonitor> monitor_;
    // Declared before its sources, so they are released first.
    EventLoop event_;
    EventSource udevSource_;
    EventSource leaseWatch_;
    EventSource dhcpRestartTimer_;
    // udev events waiting for their turn, in their order (sticks present at
    // start, or several events at once): one is handled per loop iteration,
    // so signals and the watchdog are served between sticks. The defer
    // source is on while the queue is not empty.
    std::deque<udev::StickEvent> queue_;
    EventSource queueSource_;
    // Mounting, the second-partition rule, the agent, unmounting.
    stick::StickAttempts sticks_;
    std::string lastResult_;
};

} // namespace omni::daemon
