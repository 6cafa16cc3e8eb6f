#include "drivers/ntp/ntp_backend.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include <unistd.h>

#include "drivers/fs/files.hpp"

namespace omni::ntp {

using system_support::BusError;
using system_support::BusMessagePtr;

NtpServer parseNtpServer(std::string_view text)
{
    // A DNS name holds no colon, so one is the port of an IPv4 address.
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return { std::string(text), std::nullopt };
    }
    const std::string_view portText = text.substr(colon + 1);
    unsigned value = 0;
    const auto [end, error] = std::from_chars(portText.data(), portText.data() + portText.size(), value);
    if (error != std::errc {} || end != portText.data() + portText.size() || value == 0 || value > 65535) {
        return { std::string(text), std::nullopt };
    }
    return { std::string(text.substr(0, colon)), static_cast<std::uint16_t>(value) };
}

namespace {

std::vector<std::string> split(std::string_view text, char separator)
{
    std::vector<std::string> parts;
    while (!text.empty()) {
        const std::size_t end = text.find(separator);
        parts.emplace_back(text.substr(0, end));
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    }
    return parts;
}

std::vector<std::string> words(std::string_view line)
{
    std::vector<std::string> found;
    for (std::string& word : split(line, ' ')) {
        for (std::string& part : split(word, '\t')) {
            if (!part.empty()) {
                found.push_back(std::move(part));
            }
        }
    }
    return found;
}

Result<std::optional<std::string>> readOurFile(const std::filesystem::path& path)
{
    auto content = state::readRegularFile(path, system_support::kMaxManagedFileBytes, false);
    if (!content) {
        if (content.error().problem == state::FileProblem::NotFound) {
            return std::optional<std::string> {};
        }
        return fail(
            ReasonCode::NetworkApplyFailed, Check::NetworkApply, content.error().message, path.string());
    }
    return std::optional<std::string>(std::move(*content));
}

std::string describePlanServers(const std::vector<std::string>& servers)
{
    std::string text;
    for (const std::string& server : servers) {
        text += (text.empty() ? "" : " ") + server;
    }
    return text;
}

} // namespace

// ---- timesyncd ---------------------------------------------------------------------------------

std::string timesyncdDropIn(const std::vector<std::string>& servers, std::vector<std::string>* warnings)
{
    std::vector<std::string> hosts;
    for (const std::string& text : servers) {
        const NtpServer server = parseNtpServer(text);
        if (server.port && *server.port != kDefaultNtpPort && warnings != nullptr) {
            warnings->push_back("NTP: systemd-timesyncd cannot use port " + std::to_string(*server.port)
                + " (its NTP= setting has no port syntax): " + text + " is used as " + server.host
                + " on port " + std::to_string(kDefaultNtpPort));
        }
        if (std::find(hosts.begin(), hosts.end(), server.host) == hosts.end()) {
            hosts.push_back(server.host);
        }
    }
    std::string content(kManagedMarker);
    content += "\n[Time]\nNTP=";
    for (std::size_t index = 0; index < hosts.size(); ++index) {
        content += (index == 0 ? "" : " ") + hosts[index];
    }
    content += "\n";
    return content;
}

UnitRestarter::UnitRestarter(std::string label, std::string unit, const std::string& busAddress)
    : label_(std::move(label))
    , unit_(std::move(unit))
    , bus_(busAddress)
    , busName_(system_support::describeBus(busAddress))
{
}

Result<void> UnitRestarter::check()
{
    if (auto connected = bus_.connection(); !connected) {
        return tl::unexpected(std::move(connected.error()).withContext(label_));
    }
    // GetUnitFileState answers only when the manager is there and the unit
    // is installed (a timesyncd backend on a chrony appliance is not).
    BusError error;
    sd_bus_message* replied = nullptr;
    const int result = sd_bus_call_method(bus_.get(), "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager", "GetUnitFileState", error.get(), &replied, "s", unit_.c_str());
    BusMessagePtr reply(replied);
    if (result < 0) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            label_ + ": " + unit_ + " cannot be restarted, so nothing was changed (GetUnitFileState on "
                + busName_ + ": " + error.describe(result) + "; is it installed? ntp.backend selects it)",
            unit_);
    }
    return {};
}

Result<void> UnitRestarter::restart()
{
    if (auto connected = bus_.connection(); !connected) {
        return tl::unexpected(std::move(connected.error()).withContext(label_));
    }
    BusError error;
    sd_bus_message* replied = nullptr;
    const int result = sd_bus_call_method(bus_.get(), "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager", "RestartUnit", error.get(), &replied, "ss", unit_.c_str(),
        "replace");
    BusMessagePtr reply(replied);
    if (result < 0) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            label_ + ": RestartUnit " + unit_ + " on " + busName_ + " failed: " + error.describe(result),
            unit_);
    }
    return {};
}

Result<void> checkWritableDirectory(const std::string& label, const std::filesystem::path& directory)
{
    if (::access(directory.c_str(), W_OK) != 0) {
        const int error = errno;
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            label + ": cannot write in " + directory.string() + ": " + std::strerror(error)
                + (error == EROFS ? " (not in the unit's ReadWritePaths=, or it did not exist when the "
                                    "service started)"
                                  : ""),
            directory.string());
    }
    return {};
}

Result<std::unique_ptr<TimesyncdBackend>> TimesyncdBackend::open(
    std::filesystem::path dropInDirectory, const std::string& busAddress)
{
    return std::make_unique<TimesyncdBackend>(std::move(dropInDirectory), busAddress);
}

TimesyncdBackend::TimesyncdBackend(std::filesystem::path dropInDirectory, std::string busAddress)
    : dropInDirectory_(std::move(dropInDirectory))
    , restarter_("NTP (timesyncd)", std::string(kTimesyncdUnit), busAddress)
{
}

Result<NtpSnapshot> TimesyncdBackend::snapshot()
{
    auto file = system_support::snapshotFile(dropInPath());
    if (!file) {
        return tl::unexpected(std::move(file.error()).withContext("NTP (timesyncd): snapshot"));
    }
    return NtpSnapshot { std::move(*file), "timesyncd" };
}

Result<NtpApplyOutcome> TimesyncdBackend::apply(const network::NtpPlan& plan)
{
    NtpApplyOutcome outcome;
    if (plan.action == network::NtpAction::Untouched
        || (plan.action == network::NtpAction::RemoveOverride
            && !std::filesystem::exists(std::filesystem::symlink_status(dropInPath())))) {
        return outcome; // nothing to change, so nothing to check
    }
    // The restart this step and its rollback need must work before anything changes.
    if (auto checked = restarter_.check(); !checked) {
        return tl::unexpected(std::move(checked.error()));
    }
    Result<bool> changed = false;
    switch (plan.action) {
    case network::NtpAction::Untouched:
        return outcome;
    case network::NtpAction::RemoveOverride:
        changed = system_support::removeFile(dropInPath());
        break;
    case network::NtpAction::Replace: {
        const std::string content = timesyncdDropIn(plan.servers, &outcome.warnings);
        auto directory = state::ensureDirectory(dropInDirectory_, 0755);
        if (!directory) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
                "NTP (timesyncd): " + directory.error().message, dropInDirectory_.string());
        }
        if (auto writable = checkWritableDirectory("NTP (timesyncd)", dropInDirectory_); !writable) {
            return tl::unexpected(std::move(writable.error()));
        }
        changed = system_support::writeFileIfDifferent(dropInPath(), content, 0644);
        break;
    }
    }
    if (!changed) {
        return tl::unexpected(std::move(changed.error()).withContext("NTP (timesyncd)"));
    }
    if (*changed) {
        auto restarted = restarter_.restart();
        if (!restarted) {
            return tl::unexpected(std::move(restarted.error()));
        }
    }
    outcome.changed = *changed;
    return outcome;
}

Result<bool> TimesyncdBackend::restore(const NtpSnapshot& snapshot)
{
    if (!snapshot.file) {
        return false;
    }
    auto restored = system_support::restoreFile(*snapshot.file);
    if (!restored) {
        return tl::unexpected(std::move(restored.error()).withContext("NTP (timesyncd): restoring"));
    }
    if (*restored) {
        auto restarted = restarter_.restart();
        if (!restarted) {
            return tl::unexpected(std::move(restarted.error()));
        }
    }
    return *restored;
}

Result<std::optional<std::vector<std::string>>> TimesyncdBackend::serversInForce()
{
    auto content = readOurFile(dropInPath());
    if (!content) {
        return tl::unexpected(std::move(content.error()));
    }
    if (!*content) {
        return std::optional<std::vector<std::string>> {};
    }
    std::vector<std::string> servers;
    for (const std::string& line : split(**content, '\n')) {
        if (line.rfind("NTP=", 0) == 0) {
            servers = words(std::string_view(line).substr(4));
        }
    }
    return std::optional<std::vector<std::string>>(std::move(servers));
}

// ---- chrony ------------------------------------------------------------------------------------

std::string chronySources(const std::vector<std::string>& servers)
{
    std::string content(kManagedMarker);
    content += '\n';
    std::vector<NtpServer> written;
    for (const std::string& text : servers) {
        const NtpServer server = parseNtpServer(text);
        if (std::find(written.begin(), written.end(), server) != written.end()) {
            continue;
        }
        written.push_back(server);
        content += "server " + server.host + " iburst";
        if (server.port && *server.port != kDefaultNtpPort) {
            content += " port " + std::to_string(*server.port);
        }
        content += '\n';
    }
    return content;
}

ChronyBackend::ChronyBackend(std::filesystem::path sourcesPath, const std::string& busAddress)
    : sourcesPath_(std::move(sourcesPath))
    , restarter_("NTP (chrony)", std::string(kChronyUnit), busAddress)
{
}

Result<NtpSnapshot> ChronyBackend::snapshot()
{
    auto file = system_support::snapshotFile(sourcesPath_);
    if (!file) {
        return tl::unexpected(std::move(file.error()).withContext("NTP (chrony): snapshot"));
    }
    return NtpSnapshot { std::move(*file), "chrony" };
}

Result<NtpApplyOutcome> ChronyBackend::apply(const network::NtpPlan& plan)
{
    NtpApplyOutcome outcome;
    if (plan.action == network::NtpAction::Untouched
        || (plan.action == network::NtpAction::RemoveOverride
            && !std::filesystem::exists(std::filesystem::symlink_status(sourcesPath_)))) {
        return outcome; // nothing to change, so nothing to check
    }
    // The file's directory and the restart, which the rollback uses too, must
    // work before anything changes.
    const auto directory = sourcesPath_.has_parent_path() ? sourcesPath_.parent_path() : ".";
    if (auto writable = checkWritableDirectory("NTP (chrony)", directory); !writable) {
        return tl::unexpected(std::move(writable.error()));
    }
    if (auto checked = restarter_.check(); !checked) {
        return tl::unexpected(std::move(checked.error()));
    }
    Result<bool> changed = false;
    switch (plan.action) {
    case network::NtpAction::Untouched:
        return outcome;
    case network::NtpAction::RemoveOverride:
        changed = system_support::removeFile(sourcesPath_);
        break;
    case network::NtpAction::Replace:
        changed = system_support::writeFileIfDifferent(sourcesPath_, chronySources(plan.servers), 0644);
        break;
    }
    if (!changed) {
        return tl::unexpected(
            std::move(changed.error())
                .withContext("NTP (chrony): setting the servers " + describePlanServers(plan.servers)));
    }
    if (*changed) {
        auto restarted = restarter_.restart();
        if (!restarted) {
            return tl::unexpected(std::move(restarted.error()));
        }
    }
    outcome.changed = *changed;
    return outcome;
}

Result<bool> ChronyBackend::restore(const NtpSnapshot& snapshot)
{
    if (!snapshot.file) {
        return false;
    }
    auto restored = system_support::restoreFile(*snapshot.file);
    if (!restored) {
        return tl::unexpected(std::move(restored.error()).withContext("NTP (chrony): restoring"));
    }
    if (*restored) {
        auto restarted = restarter_.restart();
        if (!restarted) {
            return tl::unexpected(std::move(restarted.error()));
        }
    }
    return *restored;
}

Result<std::optional<std::vector<std::string>>> ChronyBackend::serversInForce()
{
    auto content = readOurFile(sourcesPath_);
    if (!content) {
        return tl::unexpected(std::move(content.error()));
    }
    if (!*content) {
        return std::optional<std::vector<std::string>> {};
    }
    std::vector<std::string> servers;
    for (const std::string& line : split(**content, '\n')) {
        const std::vector<std::string> parts = words(line);
        if (parts.size() >= 2 && parts[0] == "server") {
            std::string server = parts[1];
            const auto port = std::find(parts.begin(), parts.end(), "port");
            if (port != parts.end() && port + 1 != parts.end()) {
                server += ":" + *(port + 1);
            }
            servers.push_back(std::move(server));
        }
    }
    return std::optional<std::vector<std::string>>(std::move(servers));
}

// ---- auto --------------------------------------------------------------------------------------

AutoNtpBackend::AutoNtpBackend(const Options& options, const std::string& busAddress)
    : chrony_(options.chronySourcesPath, busAddress)
    , timesyncd_(options.timesyncdDropInDirectory, busAddress)
    , chronyProbe_("NTP (auto)", std::string(kChronyUnit), busAddress)
    , timesyncdProbe_("NTP (auto)", std::string(kTimesyncdUnit), busAddress)
    , chronySourcesPath_(options.chronySourcesPath)
    , timesyncdDropIn_(options.timesyncdDropInDirectory / kTimesyncdDropInName)
{
}

Result<NtpBackend*> AutoNtpBackend::choose()
{
    auto chrony = chronyProbe_.check();
    if (chrony) {
        name_ = "auto: chrony";
        return &chrony_;
    }
    auto timesyncd = timesyncdProbe_.check();
    if (timesyncd) {
        name_ = "auto: timesyncd";
        return &timesyncd_;
    }
    name_ = "auto";
    return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
        "NTP (auto): neither " + std::string(kChronyUnit) + " nor " + std::string(kTimesyncdUnit)
            + " is installed, so nothing was changed; install chrony or systemd-timesyncd, or set "
              "ntp.backend (none: leave NTP alone) ["
            + chrony.error().message + "] [" + timesyncd.error().message + "]",
        "ntp.backend");
}

NtpBackend* AutoNtpBackend::byName(std::string_view name)
{
    if (name == chrony_.name()) {
        return &chrony_;
    }
    if (name == timesyncd_.name()) {
        return &timesyncd_;
    }
    return nullptr;
}

Result<NtpSnapshot> AutoNtpBackend::snapshot()
{
    chosenBySnapshot_ = nullptr;
    auto chosen = choose();
    if (!chosen) {
        // Not an error yet: a plan that touches nothing needs no backend;
        // apply() reports it when one is needed.
        return NtpSnapshot {};
    }
    chosenBySnapshot_ = *chosen;
    return (*chosen)->snapshot();
}

Result<NtpApplyOutcome> AutoNtpBackend::apply(const network::NtpPlan& plan)
{
    NtpBackend* backend = std::exchange(chosenBySnapshot_, nullptr);
    if (plan.action == network::NtpAction::Untouched) {
        return NtpApplyOutcome {};
    }
    if (backend == nullptr) {
        auto chosen = choose();
        if (!chosen) {
            const auto exists = [](const std::filesystem::path& path) {
                return std::filesystem::exists(std::filesystem::symlink_status(path));
            };
            if (plan.action == network::NtpAction::RemoveOverride && !exists(chronySourcesPath_)
                && !exists(timesyncdDropIn_)) {
                return NtpApplyOutcome {}; // no override of ours to remove
            }
            return tl::unexpected(std::move(chosen.error()));
        }
        backend = *chosen;
    }
    return backend->apply(plan);
}

Result<bool> AutoNtpBackend::restore(const NtpSnapshot& snapshot)
{
    NtpBackend* backend = byName(snapshot.backend);
    if (backend == nullptr) {
        return false; // taken when neither service was there: nothing was changed
    }
    return backend->restore(snapshot);
}

Result<std::optional<std::vector<std::string>>> AutoNtpBackend::serversInForce()
{
    auto chosen = choose();
    if (chosen) {
        return (*chosen)->serversInForce();
    }
    // Neither service: report an override of ours if one is left behind.
    auto chrony = chrony_.serversInForce();
    if (!chrony || chrony->has_value()) {
        return chrony;
    }
    return timesyncd_.serversInForce();
}

// ---- selection ---------------------------------------------------------------------------------

Result<std::unique_ptr<NtpBackend>> makeNtpBackend(const Options& options, const std::string& busAddress)
{
    switch (options.backend) {
    case BackendChoice::Timesyncd: {
        auto timesyncd = TimesyncdBackend::open(options.timesyncdDropInDirectory, busAddress);
        if (!timesyncd) {
            return tl::unexpected(std::move(timesyncd.error()));
        }
        return std::unique_ptr<NtpBackend>(std::move(*timesyncd));
    }
    case BackendChoice::Chrony:
        return std::unique_ptr<NtpBackend>(
            std::make_unique<ChronyBackend>(options.chronySourcesPath, busAddress));
    case BackendChoice::Auto:
        return std::unique_ptr<NtpBackend>(std::make_unique<AutoNtpBackend>(options, busAddress));
    case BackendChoice::None:
        break;
    }
    return std::unique_ptr<NtpBackend>(std::make_unique<NoNtpBackend>());
}

} // namespace omni::ntp
