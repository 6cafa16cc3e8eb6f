#include "daemon/device/main/daemon.hpp"

#include <sys/inotify.h>

#include <chrono>
#include <csignal>
#include <ctime>

#include <systemd/sd-daemon.h>

#include "daemon/core/build_info.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/device/log/journal.hpp"
#include "daemon/device/main/stick_source.hpp"
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

// The disk a partition belongs to ("sdb1" -> "sdb", "mmcblk0p1" -> "mmcblk0").
std::string diskOf(const std::string& kernelName)
{
    std::string disk = kernelName;
    while (!disk.empty() && std::isdigit(static_cast<unsigned char>(disk.back())))
        disk.pop_back();
    if (disk.size() > 1 && disk.back() == 'p'
        && std::isdigit(static_cast<unsigned char>(disk[disk.size() - 2])))
        disk.pop_back();
    return disk.empty() ? kernelName : disk;
}

using SteadyClock = std::chrono::steady_clock;

// Forwards to the stick and adds up the time spent reading files from it:
// the agent's verify time includes the reads; the journal splits them out.
class TimedReads final : public agent::ArchiveSource {
public:
    explicit TimedReads(agent::ArchiveSource& stick)
        : stick_(stick)
    {
    }
    std::string describe() const override { return stick_.describe(); }
    Result<std::vector<verify::DirectoryEntry>> listRoot() override { return stick_.listRoot(); }
    Result<std::string> readFile(const std::string& name) override
    {
        const auto started = SteadyClock::now();
        auto content = stick_.readFile(name);
        readMicroseconds_ += time::microsecondsSince(started);
        return content;
    }
    Result<void> writeReceipt(const std::vector<agent::ReceiptFile>& files) override
    {
        return stick_.writeReceipt(files);
    }
    Result<void> renameArchive(const std::string& from, const std::string& to) override
    {
        return stick_.renameArchive(from, to);
    }
    std::int64_t readMicroseconds() const { return readMicroseconds_; }

private:
    agent::ArchiveSource& stick_;
    std::int64_t readMicroseconds_ = 0;
};

led::Pattern patternFor(state::DeviceStatus status)
{
    switch (status) {
    case state::DeviceStatus::Succeeded:
        return led::Pattern::Succeeded;
    case state::DeviceStatus::Failed:
    case state::DeviceStatus::Error:
        return led::Pattern::Failed;
    default:
        return led::Pattern::Waiting;
    }
}

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
    config::Config& configuration = checked.configuration;
    // First everything that can fail; the daemon does not change meanwhile.
    auto led = std::make_unique<led::StatusLed>(configuration.led.sysfsRoot, configuration.led.name);
    if (auto probed = led->probe(); !probed)
        log::plain(log::Priority::Warning, probed.error().message);
    std::unique_ptr<network_glue::KernelNetworkConfigurator> openedNetwork;
    if (!network_) {
        auto network
            = network_glue::KernelNetworkConfigurator::open(configuration, std::move(checked.backends));
        if (!network)
            return tl::unexpected(network.error());
        openedNetwork = std::move(*network);
    }
    // The monitor exists once the loop runs (run() opens the first one).
    std::optional<udev::StickMonitor> monitor;
    EventSource monitorSource;
    if (event_ && monitor_ && configuration.usb != config_.usb) {
        auto opened = udev::StickMonitor::open(udev::StickPolicy { configuration.usb.connectorIdPath,
            configuration.usb.requireSuperSpeed, configuration.usb.filesystems });
        if (!opened)
            return tl::unexpected(opened.error());
        monitor.emplace(std::move(*opened));
        auto watched = watchMonitor(*monitor);
        if (!watched)
            return tl::unexpected(watched.error());
        monitorSource = std::move(*watched);
    }
    auto state = std::make_unique<state::DeviceState>(configuration.stateDirectory);
    auto agent = std::make_unique<agent::ProvisioningAgent>(
        agent::AgentSettings::fromConfig(configuration, OMNI_BUILD_EPOCH), *state,
        openedNetwork ? *openedNetwork : *network_, [this] { return trust_->view(); }, &now);

    // Then swap it all in; nothing below fails.
    if (openedNetwork)
        network_ = std::move(openedNetwork);
    else
        network_->reconfigure(configuration, std::move(checked.backends));
    agent_ = std::move(agent);
    state_ = std::move(state);
    trust_ = std::move(checked.trust);
    led_ = std::move(led);
    if (monitor) {
        udevSource_ = std::move(monitorSource);
        monitor_ = std::move(monitor);
    }
    config_ = std::move(configuration);
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
    if (!trust_->refresh())
        return;
    if (trust_->anchors())
        log::event(log::Priority::Notice, log::Event::TrustAnchorsLoaded,
            "trust anchors loaded (" + std::to_string(trust_->anchors()->certificates().size())
                + " certificates); sticks are judged against them now");
    else
        log::event(log::Priority::Warning, log::Event::TrustAnchorMissing,
            trust_->problem() + "; every stick is refused with CERT_UNTRUSTED until then");
}

std::string Daemon::waitingText() const
{
    const std::string port
        = config_.usb.connectorIdPath.empty() ? "any USB port" : config_.usb.connectorIdPath;
    return "Waiting for a provisioning stick on the USB 3.0 port next to HDMI (" + port + ")";
}

void Daemon::notifyStatus(const std::string& status)
{
    log::notifyStatus(status);
}

void Daemon::showIdleStatus()
{
    std::string text;
    auto status = state_->load();
    if (!status) {
        text = "State unreadable: " + status.error().message + ". "
            + (trust_->anchors() ? std::string() : trust_->problem() + ". ") + waitingText();
        (void)led_->show(led::Pattern::Failed);
    } else {
        if (status->status == state::DeviceStatus::Succeeded && status->applied)
            text = "Provisioned as " + status->applied->name + " at "
                + time::formatRfc3339(status->updatedAt.value_or(0)) + ". ";
        if (!lastResult_.empty())
            text += lastResult_ + ". ";
        if (!trust_->anchors())
            text += trust_->problem() + ". ";
        text += waitingText();
        (void)led_->show(patternFor(status->status));
    }
    notifyStatus(text);
}

void Daemon::handleEvent(const udev::StickEvent& event)
{
    const std::vector<log::Field> fields { { "OMNI_STICK_PORT", portOf(event) },
        { "OMNI_STICK_DEVICE", event.devnode } };
    if (event.action == udev::StickAction::Remove) {
        disksWithArchive_.erase(event.kernelName);
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
    const std::vector<log::Field> fields { { "OMNI_STICK_PORT", portOf(event) },
        { "OMNI_STICK_DEVICE", event.devnode } };
    log::event(log::Priority::Info, log::Event::StickSeen,
        "Reading " + event.description + " on " + portOf(event), fields);
    notifyStatus("Reading the stick " + event.devnode + " on " + portOf(event));
    (void)led_->show(led::Pattern::Working);

    const auto attemptStarted = SteadyClock::now();
    std::string mountError;
    std::optional<mount::MountedStick> mounted;
    if (auto attempt = mount::MountedStick::mountReadOnly(
            event.devnode, event.kernelName, event.filesystemType, config_.runtimeDirectory);
        attempt)
        mounted.emplace(std::move(*attempt));
    else
        mountError = attempt.error().message;
    const std::int64_t mountMicroseconds = time::microsecondsSince(attemptStarted);

    // A second partition without an archive, on a stick whose first one had
    // it, is not an attempt.
    if (mounted && disksWithArchive_.count(diskOf(event.kernelName))) {
        auto listing = mounted->listRoot();
        const bool hasCandidate = listing
            && std::any_of(listing->entries.begin(), listing->entries.end(),
                [](const auto& entry) { return verify::looksLikeArchiveName(entry.name); });
        if (!hasCandidate) {
            log::plain(log::Priority::Info,
                event.devnode + " holds no archive; another partition of this stick had it", fields);
            showIdleStatus();
            return;
        }
    }

    refreshTrust(); // a root.pem installed since the last stick counts now
    StickSource stick(event, mounted ? &*mounted : nullptr, mountError);
    TimedReads source(stick);
    const auto report = agent_->provisionFromSource(source);
    if (stick.listingWarning())
        log::plain(log::Priority::Warning, *stick.listingWarning(), fields);
    if (report.outcome.facts.sha256 || report.outcome.facts.manifest)
        disksWithArchive_.insert(diskOf(event.kernelName));

    std::int64_t unmountMicroseconds = 0;
    if (mounted) {
        const auto unmountStarted = SteadyClock::now();
        auto unmounted = mounted->unmount();
        unmountMicroseconds = time::microsecondsSince(unmountStarted);
        if (!unmounted)
            log::plain(log::Priority::Warning,
                "unmounting " + event.devnode + ": " + unmounted.error().message, fields);
        else if (*unmounted == mount::UnmountMethod::LazyDetach)
            log::plain(log::Priority::Info, event.devnode + " was busy or gone: detached lazily", fields);
    }
    // The stages around the agent's (its OMNI_TIMES_US), for the benchmark.
    const std::int64_t totalMicroseconds = time::microsecondsSince(attemptStarted);
    auto timed = fields;
    timed.push_back({ "OMNI_ATTEMPT", report.attemptId });
    timed.push_back({ "OMNI_STICK_TIMES_US",
        "mount=" + std::to_string(mountMicroseconds) + " read=" + std::to_string(source.readMicroseconds())
            + " unmount=" + std::to_string(unmountMicroseconds)
            + " total=" + std::to_string(totalMicroseconds) });
    log::plain(log::Priority::Info,
        "Done with " + event.devnode + " after " + std::to_string(totalMicroseconds / 1000) + " ms", timed);

    switch (report.verdict) {
    case agent::AttemptVerdict::Succeeded:
        lastResult_.clear();
        break;
    case agent::AttemptVerdict::AlreadyApplied:
        lastResult_ = "Last stick: already applied, nothing changed";
        break;
    default:
        lastResult_ = "Last attempt failed: "
            + std::string(toString(report.error ? report.error->reason : ReasonCode::InternalError)) + " — "
            + (report.error ? report.error->message : std::string());
        break;
    }
    showIdleStatus();
    if (!report.succeeded())
        (void)led_->show(led::Pattern::Failed);
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
    showIdleStatus();
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
            daemon->lastResult_ = std::string("Last attempt failed: INTERNAL_ERROR — ") + error.what();
            daemon->showIdleStatus();
        } catch (const std::exception&) {
        }
        try {
            (void)daemon->led_->show(led::Pattern::Failed);
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

    auto monitor = udev::StickMonitor::open(udev::StickPolicy {
        config_.usb.connectorIdPath, config_.usb.requireSuperSpeed, config_.usb.filesystems });
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
    // Never block boot: re-applying does not wait for a cable or a lease.
    if (auto reapplied = agent_->reapplyPersisted(); !reapplied)
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
