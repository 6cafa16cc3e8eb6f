#pragma once
// omni-provisiond: one sd-event loop around the provisioning agent. udev
// events (and an enumeration at start, for a stick plugged in before power-on),
// signals (TERM/INT stop, HUP reloads the configuration), the systemd watchdog,
// sd_notify status lines a person understands, and the status LED.
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <systemd/sd-event.h>

#include "config/config.hpp"
#include "daemon/agent/provisioning_agent.hpp"
#include "daemon/network/kernel_network.hpp"
#include "drivers/led/status_led.hpp"
#include "drivers/udev/stick_monitor.hpp"

namespace omni::daemon {

struct DaemonOptions {
    std::filesystem::path configFile;
    bool configFileExplicit = false;
};

class Daemon {
public:
    // Loads everything; an error (bad configuration, missing trust anchor,
    // no netlink) means the daemon must not start.
    static Result<std::unique_ptr<Daemon>> create(const DaemonOptions& options);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Re-applies persisted state, reports READY=1, handles sticks already
    // present, then runs until SIGTERM/SIGINT. Returns the exit code.
    int run();

private:
    Daemon() = default;
    Result<void> applyConfiguration(config::Config configuration);
    Result<void> openMonitor();
    void handleEvent(const udev::StickEvent& event);
    void provision(const udev::StickEvent& event);
    void reload();
    void notifyStatus(const std::string& status);
    void showIdleStatus();
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
    config::Config config_;
    std::unique_ptr<trust::TrustAnchors> anchors_;
    std::unique_ptr<state::DeviceState> state_;
    std::unique_ptr<network_glue::KernelNetworkConfigurator> network_;
    std::unique_ptr<agent::ProvisioningAgent> agent_;
    std::optional<udev::StickMonitor> monitor_;
    std::unique_ptr<led::StatusLed> led_;
    sd_event* event_ = nullptr;
    sd_event_source* udevSource_ = nullptr;
    sd_event_source* leaseWatch_ = nullptr;
    sd_event_source* dhcpRestartTimer_ = nullptr;
    // Disks on which an archive was found since they were plugged in: an
    // empty second partition of the same stick is not a failed attempt.
    std::set<std::string> disksWithArchive_;
    std::string lastResult_;
};

} // namespace omni::daemon
