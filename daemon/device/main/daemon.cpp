#include "daemon/device/main/daemon.hpp"
#include "daemon/core/time/time.hpp"

#include <sys/inotify.h>

#include <chrono>
#include <csignal>
#include <ctime>

#include <systemd/sd-daemon.h>

#include "daemon/core/build_info.hpp"
#include "daemon/device/log/journal.hpp"
#include "daemon/device/reset/device_reset.hpp"
#include "daemon/device/stick/stick_source.hpp"
#include "drivers/fs/files.hpp"

namespace omni::daemon {
namespace {

time::UnixTime now()
{
    return static_cast<time::UnixTime>(std::time(nullptr));
}

Error configurationError(const std::string& message)
{
    return Error { ReasonCode::InternalError, Check::None, message, {} };
}

// The agent as a stick attempt runs it: a root.pem installed since the
// last stick counts from this one on.
class RefreshingAgent final : public stick::AttemptRunner {
public:
    explicit RefreshingAgent(std::function<void()> refreshTrust, agent::ProvisioningAgent& agent)
        : refreshTrust_(std::move(refreshTrust))
        , agent_(agent)
    {
    }
    agent::AttemptReport provision(agent::ArchiveSource& source) override
    {
        refreshTrust_();
        return agent_.provisionFromSource(source);
    }

private:
    std::function<void()> refreshTrust_;
    agent::ProvisioningAgent& agent_;
};

} // namespace

Result<CheckedConfiguration> checkConfiguration(const DaemonOptions& options)
{
    auto configuration = config::loadConfig(options.configFile, !options.configFileExplicit);
    if (!configuration)
        return tl::unexpected(configurationError(configuration.error().toString()));
    config::applySystemdDirectories(*configuration);
    return checkConfiguration(std::move(*configuration));
}

Result<CheckedConfiguration> checkConfiguration(config::Config configuration)
{
    CheckedConfiguration checked;
    if (configuration.usb.connectorIdPath.empty()) {
        checked.notes.push_back({ log::Event::AnyUsbPort,
            "usb.connector_id_path is empty: sticks are accepted on any USB port; set it to the "
            "provisioning connector's ID_PATH to accept them only there" });
    } else if (auto port = udev::parseConnectorIdPath(configuration.usb.connectorIdPath); !port) {
        return tl::unexpected(configurationError("usb.connector_id_path: " + port.error().message));
    }
    auto backends = network_glue::KernelNetworkConfigurator::makeBackends(configuration);
    if (!backends)
        return tl::unexpected(backends.error());
    checked.backends = std::move(*backends);
    // A missing or unusable anchor is not an error: the daemon starts and
    // every stick is CERT_UNTRUSTED until the anchor is there.
    checked.trust = std::make_unique<agent::TrustStore>(configuration.trust.anchors);
    checked.trust->refresh();
    if (!checked.trust->anchors())
        checked.notes.push_back({ log::Event::TrustAnchorMissing,
            checked.trust->problem() + "; every stick is refused with CERT_UNTRUSTED until then" });
    checked.configuration = std::move(configuration);
    return checked;
}

Result<std::unique_ptr<Daemon>> Daemon::create(const DaemonOptions& options)
{
    std::unique_ptr<Daemon> daemon(new Daemon());
    daemon->options_ = options;
    auto checked = checkConfiguration(options);
    if (!checked)
        return tl::unexpected(checked.error());
    auto notes = checked->notes;
    if (auto applied = daemon->applyConfiguration(std::move(*checked)); !applied)
        return tl::unexpected(applied.error());
    daemon->logNotes(notes);
    return daemon;
}

Daemon::~Daemon() = default;

void Daemon::logNotes(const std::vector<ConfigurationNote>& notes) const
{
    for (const auto& note : notes)
        log::event(log::Priority::Warning, note.event, note.message);
}

Result<void> Daemon::applyConfiguration(CheckedConfiguration checked)
{
    // First everything that can fail; the daemon does not change meanwhile.
    std::unique_ptr<network_glue::KernelNetworkConfigurator> openedNetwork;
    if (!network_) {
        auto network = network_glue::KernelNetworkConfigurator::open(
            checked.configuration, std::move(checked.backends));
        if (!network)
            return tl::unexpected(network.error());
        openedNetwork = std::move(*network);
    }
    auto next = buildInForce(std::move(checked.configuration), std::move(checked.trust),
        openedNetwork ? *openedNetwork : *network_, OMNI_BUILD_EPOCH, &now);
    // The monitor exists once the loop runs (run() opens the first one).
    std::optional<udev::StickMonitor> monitor;
    EventSource monitorSource;
    auto opened = replaceInForce(inForce_, std::move(next), [&](const InForce& set) -> Result<void> {
        const auto& configuration = set.configuration;
        if (!(event_ && monitor_ && inForce_ && configuration.usb != inForce_->configuration.usb))
            return {};
        auto opened = udev::StickMonitor::open(udev::StickPolicy { configuration.usb.connectorIdPath,
            configuration.usb.requireSuperSpeed, configuration.usb.filesystems });
        if (!opened)
            return tl::unexpected(opened.error());
        monitor.emplace(std::move(*opened));
        auto watched = watchMonitor(*monitor);
        if (!watched)
            return tl::unexpected(watched.error());
        monitorSource = std::move(*watched);
        return {};
    });
    if (!opened)
        return opened;

    // Then swap the rest in; nothing below fails.
    if (openedNetwork)
        network_ = std::move(openedNetwork);
    else
        network_->reconfigure(inForce_->configuration, std::move(checked.backends));
    if (monitor) {
        udevSource_ = std::move(monitorSource);
        monitor_ = std::move(monitor);
    }
    return {};
}

Result<EventSource> Daemon::watchMonitor(udev::StickMonitor& monitor)
{
    sd_event_source* source = nullptr;
    const int added = sd_event_add_io(event_.get(), &source, monitor.fd(), EPOLLIN, &Daemon::onUdev, this);
    if (added < 0)
        return tl::unexpected(
            configurationError("cannot watch udev events: " + std::string(strerror(-added))));
    return EventSource(source);
}

void Daemon::refreshTrust()
{
    if (!inForce_->trust->refresh())
        return;
    if (inForce_->trust->anchors())
        log::event(log::Priority::Notice, log::Event::TrustAnchorsLoaded,
            "trust anchors loaded (" + std::to_string(inForce_->trust->anchors()->certificates().size())
                + " certificates); sticks are judged against them now");
    else
        log::event(log::Priority::Warning, log::Event::TrustAnchorMissing,
            inForce_->trust->problem() + "; every stick is refused with CERT_UNTRUSTED until then");
}

std::string Daemon::waitingText() const
{
    const std::string port = inForce_->configuration.usb.connectorIdPath.empty()
        ? "any USB port"
        : inForce_->configuration.usb.connectorIdPath;
    return "Waiting for a provisioning stick on the USB 3.0 port next to HDMI (" + port + ")";
}

void Daemon::notifyStatus(const std::string& status)
{
    log::notifyStatus(status);
}

void Daemon::showIdleStatus(std::optional<agent::AttemptVerdict> lastVerdict)
{
    std::string text;
    auto status = inForce_->state->load();
    if (!status) {
        text = "State unreadable: " + status.error().message + ". "
            + (inForce_->trust->anchors() ? std::string() : inForce_->trust->problem() + ". ")
            + waitingText();
        (void)inForce_->led->show(led::Pattern::Failed);
    } else {
        if (status->status == state::DeviceStatus::Succeeded && status->applied)
            text = "Provisioned as " + status->applied->name + " at "
                + time::formatRfc3339(status->updatedAt.value_or(0)) + ". ";
        if (!lastResult_.empty())
            text += lastResult_ + ". ";
        if (!inForce_->trust->anchors())
            text += inForce_->trust->problem() + ". ";
        text += waitingText();
        (void)inForce_->led->show(lastVerdict ? agent::patternAfter(*lastVerdict, status->status)
                                              : agent::idlePattern(status->status));
    }
    notifyStatus(text);
}

void Daemon::handleEvent(const udev::StickEvent& event)
{
    const std::vector<log::Field> fields { { "OMNI_STICK_PORT", stick::portOf(event) },
        { "OMNI_STICK_DEVICE", event.devnode } };
    if (event.action == udev::StickAction::Remove) {
        sticks_.removed(event);
        if (event.disposition != udev::Disposition::Skipped)
            log::event(log::Priority::Info, log::Event::StickRemoved, event.devnode + " was removed", fields);
        return;
    }
    if (event.disposition == udev::Disposition::Skipped)
        return;
    if (event.disposition == udev::Disposition::Ignored) {
        log::event(log::Priority::Warning, log::Event::StickIgnored,
            "Ignored " + event.description + ": " + event.reason, fields);
        return;
    }
    if (!event.warning.empty())
        log::event(log::Priority::Warning, log::Event::StickSlowSpeed, event.warning, fields);
    provision(event);
}

void Daemon::provision(const udev::StickEvent& event)
{
    const std::vector<log::Field> fields { { "OMNI_STICK_PORT", stick::portOf(event) },
        { "OMNI_STICK_DEVICE", event.devnode } };
    // A reset that stopped half-way (status.json DELETING, no SIGHUP since)
    // is finished first: the attempt must never turn DELETING into PENDING
    // and back into a provisioning whose credentials are gone.
    if (auto status = inForce_->state->load(); status && status->status == state::DeviceStatus::Deleting)
        settleReset("before a stick");
    log::event(log::Priority::Info, log::Event::StickSeen,
        "Reading " + event.description + " on " + stick::portOf(event), fields);
    notifyStatus("Reading the stick " + event.devnode + " on " + stick::portOf(event));
    (void)inForce_->led->show(led::Pattern::Working);

    stick::SystemMounter mounter(inForce_->configuration.runtimeDirectory);
    RefreshingAgent runner([this] { refreshTrust(); }, *inForce_->agent);
    const auto outcome = sticks_.attempt(event, mounter, runner);
    if (outcome.report)
        lastResult_ = agent::statusLineOf(outcome.report->verdict, outcome.report->error);
    showIdleStatus(outcome.report ? std::optional(outcome.report->verdict) : std::nullopt);
}

void Daemon::reload()
{
    auto checked = checkConfiguration(options_);
    if (!checked) {
        log::event(log::Priority::Error, log::Event::ConfigurationRejected,
            "reload refused, the previous configuration stays in force: " + checked.error().message);
        return;
    }
    auto notes = checked->notes;
    if (auto applied = applyConfiguration(std::move(*checked)); !applied) {
        log::event(log::Priority::Error, log::Event::ConfigurationRejected,
            "reload refused, the previous configuration stays in force: " + applied.error().message);
        return;
    }
    log::event(log::Priority::Notice, log::Event::ConfigurationReloaded, "configuration reloaded");
    logNotes(notes);
}

void Daemon::settleReset(const std::string& when)
{
    auto resumed = reset::resumeReset(*inForce_->state, [this] { return network_->removeOurChanges(); });
    if (!resumed) {
        log::reason(log::Priority::Error, resumed.error().reason,
            "finishing the interrupted reset " + when + " failed: " + resumed.error().message);
        return;
    }
    if (*resumed) {
        log::event(log::Priority::Notice, log::Event::DeviceReset,
            "finished an interrupted reset " + when + ": " + (*resumed)->summary());
        lastResult_.clear();
        return;
    }
    auto status = inForce_->state->load();
    if (!status || status->applied)
        return;
    // A device that was reset (or never provisioned) shows no earlier verdict.
    if (status->status == state::DeviceStatus::AwaitingProvisioning && !status->lastAttempt)
        lastResult_.clear();
    if (!network_->supervisesDhcpClients())
        return;
    if (auto removed = network_->removeOurChanges(); !removed)
        log::reason(log::Priority::Error, removed.error().reason,
            "stopping the DHCP clients of a provisioning no longer in force failed: "
                + removed.error().message);
    else
        log::plain(
            log::Priority::Info, "no provisioning is in force (reset): stopped the DHCP clients on " + [&] {
                std::string names;
                for (const auto& name : removed->dhcpStopped)
                    names += (names.empty() ? "" : ", ") + name;
                return names;
            }());
}

int Daemon::onUdev(sd_event_source*, int, uint32_t, void* userdata) noexcept
{
    auto* daemon = static_cast<Daemon*>(userdata);
    try {
        // In their order, one per loop iteration (see queue_).
        for (auto& event : daemon->monitor_->drain())
            daemon->queueEvent(std::move(event));
    } catch (const std::exception& error) {
        log::plain(
            log::Priority::Error, std::string("internal error while handling a stick: ") + error.what());
        // The LED and STATUS must not stay on "working".
        try {
            daemon->lastResult_ = agent::statusLineOf(agent::AttemptVerdict::InternalError,
                Error { ReasonCode::InternalError, Check::None, error.what(), {} });
            daemon->showIdleStatus();
        } catch (const std::exception&) {
        }
        try {
            (void)daemon->inForce_->led->show(led::Pattern::Failed);
        } catch (const std::exception&) {
        }
    } catch (...) {
        log::plain(log::Priority::Error, "internal error while handling a stick: an unknown exception");
    }
    return 0;
}

void Daemon::queueEvent(udev::StickEvent event)
{
    queue_.push_back(std::move(event));
    sd_event_source_set_enabled(queueSource_.get(), SD_EVENT_ON);
}

int Daemon::onQueuedStick(sd_event_source* source, void* userdata) noexcept
{
    auto* daemon = static_cast<Daemon*>(userdata);
    try {
        if (!daemon->queue_.empty()) {
            const udev::StickEvent event = std::move(daemon->queue_.front());
            daemon->queue_.pop_front();
            daemon->handleEvent(event);
        }
    } catch (const std::exception& error) {
        log::plain(
            log::Priority::Error, std::string("internal error while handling a stick: ") + error.what());
    } catch (...) {
        log::plain(log::Priority::Error, "internal error while handling a stick: an unknown exception");
    }
    if (daemon->queue_.empty())
        sd_event_source_set_enabled(source, SD_EVENT_OFF);
    return 0;
}

int Daemon::onSignal(sd_event_source* source, const struct signalfd_siginfo* info, void* userdata) noexcept
{
    auto* daemon = static_cast<Daemon*>(userdata);
    try {
        if (info->ssi_signo == SIGCHLD) {
            for (const auto& line : daemon->network_->onChildExit())
                log::plain(log::Priority::Warning, line);
            daemon->scheduleDhcpRestart();
            return 0;
        }
        if (info->ssi_signo == SIGHUP) {
            sd_notify(0, "RELOADING=1");
            daemon->reload();
            daemon->settleReset("on SIGHUP");
            daemon->showIdleStatus();
            sd_notify(0, "READY=1");
            return 0;
        }
        sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
        log::event(log::Priority::Info, log::Event::DaemonStopping,
            std::string("stopping on ") + strsignal(static_cast<int>(info->ssi_signo)));
        return sd_event_exit(sd_event_source_get_event(source), 0);
    } catch (const std::exception& error) {
        log::plain(log::Priority::Error, std::string("internal error handling a signal: ") + error.what());
        return 0;
    } catch (...) {
        log::plain(log::Priority::Error, "internal error handling a signal: an unknown exception");
        return 0;
    }
}

Result<void> Daemon::watchLeases()
{
    const auto directory = network_->leaseDirectory();
    if (auto made = state::ensureDirectory(directory, 0755); !made)
        return tl::unexpected(made.error());
    sd_event_source* watch = nullptr;
    const int added = sd_event_add_inotify(event_.get(), &watch, directory.c_str(),
        IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_ONLYDIR, &Daemon::onLeaseChange, this);
    if (added < 0)
        return tl::unexpected(
            configurationError("cannot watch " + directory.string() + ": " + std::string(strerror(-added))));
    leaseWatch_.reset(watch);
    return {};
}

int Daemon::onLeaseChange(sd_event_source*, const struct inotify_event* change, void* userdata) noexcept
{
    auto* daemon = static_cast<Daemon*>(userdata);
    try {
        const std::string name = change->len > 0 ? change->name : "";
        if (name.size() < 7 || name.front() == '.' || name.compare(name.size() - 6, 6, ".lease") != 0)
            return 0;
        auto refreshed = daemon->network_->refreshFromLeases();
        if (!refreshed)
            log::reason(log::Priority::Error, refreshed.error().reason,
                "applying DNS and NTP of the DHCP lease failed: " + refreshed.error().message);
        else if (refreshed->changed())
            log::plain(log::Priority::Info, "DHCP lease " + name + ": DNS and NTP updated");
    } catch (const std::exception& error) {
        log::plain(log::Priority::Error, std::string("internal error on a lease change: ") + error.what());
    } catch (...) {
        log::plain(log::Priority::Error, "internal error on a lease change: an unknown exception");
    }
    return 0;
}

void Daemon::scheduleDhcpRestart()
{
    const auto due = network_->nextDhcpRestartAt();
    if (!due) {
        if (dhcpRestartTimer_)
            sd_event_source_set_enabled(dhcpRestartTimer_.get(), SD_EVENT_OFF);
        return;
    }
    const auto at = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(due->time_since_epoch()).count());
    if (dhcpRestartTimer_) {
        sd_event_source_set_time(dhcpRestartTimer_.get(), at);
        sd_event_source_set_enabled(dhcpRestartTimer_.get(), SD_EVENT_ONESHOT);
        return;
    }
    // steady_clock is CLOCK_MONOTONIC on Linux.
    sd_event_source* timer = nullptr;
    if (const int added = sd_event_add_time(
            event_.get(), &timer, CLOCK_MONOTONIC, at, 100000, &Daemon::onDhcpRestartDue, this);
        added < 0) {
        log::plain(log::Priority::Error,
            "cannot schedule the restart of a DHCP client: " + std::string(strerror(-added)));
        return;
    }
    dhcpRestartTimer_.reset(timer);
}

int Daemon::onDhcpRestartDue(sd_event_source*, uint64_t, void* userdata) noexcept
{
    auto* daemon = static_cast<Daemon*>(userdata);
    try {
        daemon->network_->restartDueDhcpClients();
        daemon->scheduleDhcpRestart();
    } catch (const std::exception& error) {
        log::plain(
            log::Priority::Error, std::string("internal error restarting a DHCP client: ") + error.what());
    } catch (...) {
        log::plain(log::Priority::Error, "internal error restarting a DHCP client: an unknown exception");
    }
    return 0;
}

int Daemon::run()
{
    sd_event* loop = nullptr;
    if (int created = sd_event_default(&loop); created < 0) {
        log::plain(log::Priority::Error, "cannot create the event loop: " + std::string(strerror(-created)));
        return 1;
    }
    event_.reset(loop);
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal : { SIGTERM, SIGINT, SIGHUP, SIGCHLD })
        sigaddset(&signals, signal);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    for (int signal : { SIGTERM, SIGINT, SIGHUP, SIGCHLD })
        if (int added = sd_event_add_signal(event_.get(), nullptr, signal, &Daemon::onSignal, this);
            added < 0) {
            log::plain(log::Priority::Error,
                std::string("cannot handle ") + strsignal(signal) + ": " + strerror(-added));
            return 1;
        }
    if (int watchdog = sd_event_set_watchdog(event_.get(), 1); watchdog < 0)
        log::plain(log::Priority::Warning,
            "the systemd watchdog is not served: " + std::string(strerror(-watchdog)));
    if (auto watched = watchLeases(); !watched)
        log::plain(log::Priority::Warning,
            "DNS and NTP from DHCP leases will not follow lease changes: " + watched.error().message);

    // Sticks wait here for their turn, one per loop iteration, below the
    // priority of signals and udev (the watchdog is pinged by the loop itself).
    sd_event_source* queue = nullptr;
    if (int added = sd_event_add_defer(event_.get(), &queue, &Daemon::onQueuedStick, this); added < 0) {
        log::plain(log::Priority::Error, "cannot queue sticks: " + std::string(strerror(-added)));
        return 1;
    }
    queueSource_.reset(queue);
    sd_event_source_set_priority(queueSource_.get(), SD_EVENT_PRIORITY_IDLE);
    sd_event_source_set_enabled(queueSource_.get(), SD_EVENT_OFF);

    auto monitor = udev::StickMonitor::open(udev::StickPolicy { inForce_->configuration.usb.connectorIdPath,
        inForce_->configuration.usb.requireSuperSpeed, inForce_->configuration.usb.filesystems });
    if (!monitor) {
        log::plain(log::Priority::Error, monitor.error().message);
        return 1;
    }
    monitor_.emplace(std::move(*monitor));
    if (auto watched = watchMonitor(*monitor_); !watched) {
        log::plain(log::Priority::Error, watched.error().message);
        return 1;
    } else {
        udevSource_ = std::move(*watched);
    }
    // Before the re-apply, which leaves a DELETING state alone.
    settleReset("at start");
    // Never block boot: re-applying does not wait for a cable or a lease.
    if (auto reapplied = inForce_->agent->reapplyPersisted(); !reapplied)
        log::reason(log::Priority::Error, reapplied.error().reason,
            "re-applying the stored network configuration failed: " + reapplied.error().message);
    else if (*reapplied)
        log::event(log::Priority::Info, log::Event::ConfigurationReapplied, **reapplied);

    log::event(log::Priority::Info, log::Event::DaemonStarted,
        std::string("omni-provisiond ") + OMNI_VERSION + " started; " + waitingText());
    sd_notify(0, "READY=1");
    showIdleStatus();

    if (auto present = monitor_->enumerateExisting(); !present)
        log::plain(log::Priority::Error, "cannot enumerate present sticks: " + present.error().message);
    else
        for (auto& event : *present)
            queueEvent(std::move(event));

    const int result = sd_event_loop(event_.get());
    return result < 0 ? 1 : 0;
}

} // namespace omni::daemon
