// Device-side subcommands: apply (the daemon's pipeline from a file), status,
// network show and reset.
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon/cli/cli_support.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/cli/device/device_options.hpp"
#include "daemon/cli/device/verdict_output.hpp"
#include "daemon/core/build_info.hpp"
#include "daemon/core/text/json_text.hpp"
#include "daemon/core/text/text.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/device/agent/provisioning_agent.hpp"
#include "daemon/device/log/journal.hpp"
#include "daemon/device/network/kernel_network.hpp"
#include "daemon/device/reset/device_reset.hpp"
#include "drivers/process/run_program.hpp"

namespace omni::cli {
namespace {

struct ApplyOptions {
    DeviceOptions device;
    std::string archive;
    bool json = false;
};

CliResult<trust::TrustAnchors> loadConfiguredAnchors(const config::Config& configuration)
{
    std::vector<std::string> paths;
    for (const auto& anchor : configuration.trust.anchors)
        paths.push_back(anchor.string());
    return loadTrustAnchors(paths);
}

std::string statusLine(const state::StatusDocument& status)
{
    std::string line = "Status: " + std::string(state::toString(status.status));
    if (status.applied)
        line += " (" + text::printable(status.applied->name) + ", "
            + text::printable(status.applied->deviceId) + ")";
    return line;
}

int runApply(const ApplyOptions& options)
{
    auto configuration = loadDeviceConfig(options.device);
    if (!configuration)
        return reportUsage("apply", configuration.error());
    auto anchors = loadConfiguredAnchors(*configuration);
    if (!anchors)
        return reportUsage("apply", anchors.error());
    // dhcpcd clients outlive this command; the next apply or the daemon adopts them.
    auto network = network_glue::KernelNetworkConfigurator::open(*configuration, { true });
    if (!network) {
        std::cerr << "omni-provision apply: " << network.error().message << "\n";
        return kExitUsage;
    }
    // The agent logs its verdict; on a terminal that would repeat what we print.
    log::setSink(options.json ? log::Sink::Stderr : log::Sink::Automatic);
    state::DeviceState deviceState(configuration->stateDirectory);
    agent::ProvisioningAgent agent(agent::AgentSettings::fromConfig(*configuration, OMNI_BUILD_EPOCH),
        deviceState, **network, *anchors, [] { return static_cast<time::UnixTime>(std::time(nullptr)); });
    auto report = agent.provisionFromFile(options.archive);
    // Whatever this archive did, the configuration in force stays the one of
    // the last success (DESIGN.md section 4, "Persistent").
    if (report.verdict != agent::AttemptVerdict::Succeeded)
        if (auto reapplied = agent.reapplyPersisted(); !reapplied)
            std::cerr << "omni-provision apply: re-applying the stored configuration failed: "
                      << text::printable(reapplied.error().message) << "\n";

    if (options.json) {
        std::cout << text::dumpJson(agent::attemptJson(report), 2) << "\n";
    } else {
        if (report.verdict == agent::AttemptVerdict::Succeeded
            || report.verdict == agent::AttemptVerdict::AlreadyApplied)
            std::cout << verdictText(report.outcome, report.startedAt);
        else
            std::cout << "REJECT " << toString(report.error->reason) << ": "
                      << text::printable(report.error->message) << "\n"
                      << "What to do: " << reasonInfo(report.error->reason).advice << "\n";
        if (report.verdict == agent::AttemptVerdict::AlreadyApplied)
            std::cout << "Nothing changed: this archive was already applied.\n";
        for (const auto& warning : report.warnings)
            std::cout << "Warning: " << text::printable(warning) << "\n";
        std::cout << statusLine(report.status) << "\n";
    }
    return report.succeeded() ? kExitOk : kExitRejected;
}

struct StatusOptions {
    DeviceOptions device;
    bool json = false;
};

int runStatus(const StatusOptions& options)
{
    auto configuration = loadDeviceConfig(options.device);
    if (!configuration)
        return reportUsage("status", configuration.error());
    state::DeviceState deviceState(configuration->stateDirectory);
    auto status = deviceState.load();
    if (!status) {
        if (options.json)
            std::cout << text::dumpJson(
                nlohmann::json { { "Status", "ERROR" }, { "Message", status.error().message } }, 2)
                      << "\n";
        else
            std::cout << "Status: ERROR\n" << text::printable(status.error().message) << "\n";
        return kExitRejected;
    }
    if (options.json) {
        std::cout << text::dumpJson(state::toJson(*status), 2) << "\n";
        return kExitOk;
    }
    std::cout << statusLine(*status) << "\n";
    if (status->updatedAt)
        std::cout << "Updated:     " << time::formatRfc3339(*status->updatedAt) << "\n";
    if (status->applied)
        std::cout << "Device:      " << text::printable(status->applied->name) << " ("
                  << text::printable(status->applied->deviceId) << ")\n"
                  << "ARN:         " << text::printable(status->applied->arn) << "\n"
                  << "Archive:     SHA-256 " << status->applied->archiveSha256 << "\n"
                  << "Network:     " << text::dumpJson(status->applied->networkingConfiguration) << "\n";
    if (status->lastAttempt) {
        const auto& attempt = *status->lastAttempt;
        std::cout << "Last attempt " << time::formatRfc3339(attempt.at) << ": "
                  << state::toString(attempt.result);
        if (attempt.reason)
            std::cout << " " << toString(*attempt.reason);
        std::cout << (attempt.fileName ? " (" + text::printable(*attempt.fileName) + ")" : "") << "\n  "
                  << text::printable(attempt.message) << "\n";
        if (attempt.reason)
            std::cout << "  What to do: " << reasonInfo(*attempt.reason).advice << "\n";
    }
    return kExitOk;
}

struct NetworkShowOptions {
    DeviceOptions device;
    bool json = false;
};

int runNetworkShow(const NetworkShowOptions& options)
{
    auto configuration = loadDeviceConfig(options.device);
    if (!configuration)
        return reportUsage("network show", configuration.error());
    auto network = network_glue::KernelNetworkConfigurator::open(*configuration, { true });
    if (!network) {
        std::cerr << "omni-provision network show: " << network.error().message << "\n";
        return kExitUsage;
    }
    // The modes are those of the stored configuration; every other fact is read from the system.
    state::DeviceState deviceState(configuration->stateDirectory);
    const auto status = deviceState.load();
    if (status && status->applied) {
        auto networking = agent::networkingFromJson(status->applied->networkingConfiguration);
        auto assumed = networking ? (*network)->assumeInForce(*networking)
                                  : Result<void>(tl::unexpected(networking.error()));
        if (!assumed)
            std::cerr << "omni-provision network show: the stored configuration: " << assumed.error().message
                      << "\n";
    }
    const auto ports = (*network)->describe(false);
    nlohmann::ordered_json json = nlohmann::ordered_json::array();
    for (const auto& port : ports) {
        if (options.json) {
            const auto optional = [](const auto& value) { return value ? nlohmann::json(*value) : nullptr; };
            json.push_back({ { "Port", port.port }, { "Mapping", port.mapping },
                { "Interface", optional(port.interfaceName) }, { "MacAddress", port.macAddress },
                { "Carrier", optional(port.carrier) },
                { "Mode", port.mode.empty() ? nullptr : nlohmann::json(port.mode) },
                { "Addresses", port.addresses }, { "Gateway", optional(port.gateway) },
                { "LeaseAddress", optional(port.leaseAddress) }, { "Dns", port.dns }, { "Ntp", port.ntp },
                { "Problem", port.problem.empty() ? nullptr : nlohmann::json(port.problem) } });
            continue;
        }
        std::cout << port.port << " (" << port.mapping << "): ";
        if (!port.interfaceName) {
            std::cout << "no such interface" << (port.problem.empty() ? "" : " (" + port.problem + ")")
                      << "\n";
            continue;
        }
        const auto list = [](const std::vector<std::string>& items, const char* none) {
            std::string text;
            for (const auto& item : items)
                text += " " + item;
            return items.empty() ? std::string(" ") + none : text;
        };
        std::cout << *port.interfaceName << " " << port.macAddress << " link "
                  << (port.carrier ? (*port.carrier ? "up" : "down") : "unknown") << "\n"
                  << "  mode:      " << (port.mode.empty() ? "not configured by omni-provision" : port.mode)
                  << "\n"
                  << "  addresses:" << list(port.addresses, "none") << "\n"
                  << "  gateway:   " << port.gateway.value_or("none") << "\n";
        if (port.mode == "DHCP")
            std::cout << "  lease:     " << port.leaseAddress.value_or("none yet") << "\n";
        std::cout << "  dns:      " << list(port.dns, "none") << "\n"
                  << "  ntp:      " << list(port.ntp, "the device's default servers") << "\n";
        if (!port.problem.empty())
            std::cout << "  problem:   " << port.problem << "\n";
    }
    if (options.json)
        std::cout << text::dumpJson(json, 2) << "\n";
    if (status && status->applied && !options.json)
        std::cout << "Configured by " << text::printable(status->applied->name) << " ("
                  << text::printable(status->applied->deviceId) << ")\n";
    return kExitOk;
}

struct ResetOptions {
    DeviceOptions device;
    bool yes = false;
};

constexpr const char* kDaemonUnit = "omni-provisiond.service";

// The daemon learns of the reset through SIGHUP (it re-reads status.json and
// stops the DHCP clients it supervises). Under systemd, systemd knows its
// main pid; without systemd there is no daemon to find.
std::string notifyDaemon()
{
    if (sd_booted() <= 0)
        return "no systemd, so no omni-provisiond to notify";
    const auto timeout = std::chrono::seconds(10);
    const auto active
        = system_support::runProgram({ "/usr/bin/systemctl", "is-active", "--quiet", kDaemonUnit }, timeout);
    if (!active.succeeded())
        return std::string(kDaemonUnit) + " is not running";
    const auto signalled = system_support::runProgram(
        { "/usr/bin/systemctl", "kill", "--kill-whom=main", "--signal=HUP", kDaemonUnit }, timeout);
    if (!signalled.succeeded())
        return "telling " + std::string(kDaemonUnit) + " failed (" + signalled.describe()
            + "); run: systemctl reload " + kDaemonUnit;
    return std::string(kDaemonUnit) + " notified (SIGHUP)";
}

int runReset(const ResetOptions& options)
{
    if (!options.yes) {
        if (::isatty(STDIN_FILENO) == 0) {
            std::cerr << "omni-provision reset: refusing to reset without a confirmation: stdin is not a "
                         "terminal; pass --yes\n";
            return kExitUsage;
        }
        std::cerr << "This deletes the provisioning of this device: our DHCP clients, addresses, routes, DNS "
                     "and NTP overrides, the credentials and the state (the list of applied archives is "
                     "kept). Reset? [y/N] "
                  << std::flush;
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != "y" && answer != "Y" && answer != "yes") {
            std::cerr << "omni-provision reset: not confirmed, nothing changed\n";
            return kExitRejected;
        }
    }
    auto configuration = loadDeviceConfig(options.device);
    if (!configuration)
        return reportUsage("reset", configuration.error());
    // Clients of an earlier `apply` or of the daemon are adopted to be stopped.
    auto network = network_glue::KernelNetworkConfigurator::open(*configuration, { true });
    if (!network) {
        std::cerr << "omni-provision reset: " << text::printable(network.error().message) << "\n";
        return kExitUsage;
    }
    state::DeviceState deviceState(configuration->stateDirectory);
    auto report = reset::runReset(deviceState, [&] { return (*network)->removeOurChanges(); });
    const std::string daemon = notifyDaemon();
    if (!report) {
        std::cerr << "omni-provision reset: " << text::printable(report.error().message) << "\n";
        return kExitRejected;
    }
    // For the journal only: the terminal gets the summary below.
    if (sd_booted() > 0) {
        log::setSink(log::Sink::Journal);
        log::event(log::Priority::Notice, log::Event::DeviceReset, report->summary());
    }
    std::cout << text::printable(report->summary()) << "; " << daemon << "\n";
    return kExitOk;
}

} // namespace

void registerDeviceCommands(CLI::App& app, int& exitCode)
{
    auto* apply = app.add_subcommand("apply",
        "Run the device's whole pipeline on an archive file: checks, "
        "network, state");
    auto applyOptions = std::make_shared<ApplyOptions>();
    apply->add_option("ARCHIVE", applyOptions->archive, "certificates-omni_<Name>.zip")->required();
    addConfigOption(*apply, applyOptions->device);
    addTrustAnchorOption(*apply, applyOptions->device);
    addInterfaceOption(*apply, applyOptions->device);
    addStateDirectoryOption(*apply, applyOptions->device);
    apply->add_flag("--json", applyOptions->json, "Print the verdict and status as JSON");
    addExample(
        *apply, "omni-provision apply /media/usb/certificates-omni_cam-01.zip --interface Ethernet0=eth0");
    apply->callback([applyOptions, &exitCode] { exitCode = runApply(*applyOptions); });

    auto* status = app.add_subcommand("status", "Show the device's provisioning status");
    auto statusOptions = std::make_shared<StatusOptions>();
    addConfigOption(*status, statusOptions->device);
    addStateDirectoryOption(*status, statusOptions->device);
    status->add_flag("--json", statusOptions->json, "Print status.json");
    addExample(*status, "omni-provision status --json");
    status->callback([statusOptions, &exitCode] { exitCode = runStatus(*statusOptions); });

    auto* network = app.add_subcommand("network", "Network settings of Ethernet0/Ethernet1");
    network->require_subcommand(1);
    auto* show = network->add_subcommand("show", "What each EthernetN maps to and what is in force");
    auto showOptions = std::make_shared<NetworkShowOptions>();
    addConfigOption(*show, showOptions->device);
    addInterfaceOption(*show, showOptions->device);
    addStateDirectoryOption(*show, showOptions->device);
    show->add_flag("--json", showOptions->json, "Print JSON");
    addExample(*show, "omni-provision network show --interface Ethernet0=eth0 --interface Ethernet1=eth1");
    show->callback([showOptions, &exitCode] { exitCode = runNetworkShow(*showOptions); });

    auto* reset = app.add_subcommand("reset",
        "Reset the device to AWAITING_PROVISIONING: our network changes, credentials and state go, "
        "the list of applied archives stays");
    auto resetOptions = std::make_shared<ResetOptions>();
    addConfigOption(*reset, resetOptions->device);
    addInterfaceOption(*reset, resetOptions->device);
    addStateDirectoryOption(*reset, resetOptions->device);
    reset->add_flag(
        "--yes", resetOptions->yes, "Do not ask for a confirmation (required without a terminal)");
    addExample(*reset, "omni-provision reset --yes");
    reset->callback([resetOptions, &exitCode] { exitCode = runReset(*resetOptions); });
}

} // namespace omni::cli
