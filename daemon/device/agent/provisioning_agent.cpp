#include "daemon/device/agent/provisioning_agent.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "daemon/core/text/text.hpp"
#include "daemon/core/verify/verdict_json.hpp"
#include "daemon/device/agent/named_file.hpp"
#include "daemon/device/log/journal.hpp"
#include "drivers/fs/files.hpp"

namespace omni::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string newAttemptId()
{
    std::random_device random;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    for (int i = 0; i < 16; ++i)
        id += kHex[random() % 16];
    return id;
}

using state::StateLock;

bool isValidName(const std::string& name)
{
    return verify::checkArchiveName(
        std::string(verify::kArchivePrefix) + name + std::string(verify::kArchiveSuffix))
        .has_value();
}

// Runs one attempt's checks and apply. An exception (out of memory, a bug)
// becomes an INTERNAL_ERROR verdict, so the attempt is still recorded,
// journaled and reported on the stick.
template <typename Steps> void guarded(AttemptReport& report, Steps&& steps)
{
    try {
        steps();
    } catch (const std::exception& error) {
        report.verdict = AttemptVerdict::InternalError;
        report.error = Error { ReasonCode::InternalError, Check::None,
            std::string("internal error during the attempt: ") + error.what(), {} };
    }
}

std::string describeTimes(const StageTimes& times)
{
    return "find=" + std::to_string(times.find) + " verify=" + std::to_string(times.verify)
        + " apply=" + std::to_string(times.apply) + " persist=" + std::to_string(times.persist)
        + " receipt=" + std::to_string(times.receipt);
}

} // namespace

Result<std::optional<manifest::NetworkingConfiguration>> networkingFromJson(const nlohmann::json& stored)
{
    if (stored.is_null())
        return std::optional<manifest::NetworkingConfiguration>();
    auto request
        = manifest::validateProvisionRequest({ { "Name", "stored" }, { "NetworkingConfiguration", stored } });
    if (!request) {
        const auto& first = request.error().front();
        return fail(ReasonCode::InternalError, Check::None,
            "the stored network configuration is invalid at " + first.path + ": " + first.message);
    }
    return request->networking;
}

AgentSettings AgentSettings::fromConfig(const config::Config& config, time::UnixTime buildEpoch)
{
    AgentSettings settings;
    settings.toleranceSeconds = config.trust.timeToleranceSeconds;
    settings.maxLifetimeSeconds = config.trust.maxCertificateLifetimeSeconds;
    settings.expectedName = config.device.expectedName;
    settings.buildEpoch = buildEpoch;
    settings.writeReceipt = config.stick.writeReport;
    settings.afterSuccess = config.stick.afterSuccess;
    return settings;
}

std::string AttemptReport::deviceName() const
{
    if (outcome.facts.manifest)
        return outcome.facts.manifest->request.name;
    if (outcome.facts.fileDeviceName && isValidName(*outcome.facts.fileDeviceName))
        return *outcome.facts.fileDeviceName;
    return "unknown";
}

ProvisioningAgent::ProvisioningAgent(AgentSettings settings, state::DeviceState& state,
    NetworkConfigurator& network, const trust::TrustAnchors& anchors, Clock clock)
    : ProvisioningAgent(
        std::move(settings), state, network,
        [&anchors] {
            return AnchorView { &anchors, {} };
        },
        std::move(clock))
{
}

ProvisioningAgent::ProvisioningAgent(AgentSettings settings, state::DeviceState& state,
    NetworkConfigurator& network, AnchorProvider anchors, Clock clock)
    : settings_(std::move(settings))
    , state_(state)
    , network_(network)
    , anchors_(std::move(anchors))
    , clock_(std::move(clock))
{
}

AttemptReport ProvisioningAgent::startReport(const std::string& source) const
{
    AttemptReport report;
    report.attemptId = newAttemptId();
    report.source = source;
    report.startedAt = clock_();
    report.outcome.result = tl::unexpected(Error {});
    return report;
}

verify::VerifyPolicy ProvisioningAgent::policy() const
{
    verify::VerifyPolicy policy;
    auto anchors = anchors_();
    policy.anchors = anchors.anchors;
    policy.anchorsProblem = std::move(anchors.problem);
    policy.now = clock_();
    policy.toleranceSeconds = settings_.toleranceSeconds;
    policy.maxLifetimeSeconds = settings_.maxLifetimeSeconds;
    policy.buildEpoch = settings_.buildEpoch;
    policy.expectedName = settings_.expectedName;
    policy.alreadyApplied = [this](const std::string& sha256) {
        auto applied = state_.isAlreadyApplied(sha256);
        return applied && *applied;
    };
    return policy;
}

AttemptReport ProvisioningAgent::provisionFromSource(ArchiveSource& source)
{
    AttemptReport report = startReport(source.describe());
    StateLock lock(state_.directory());
    auto pending = state_.markPending();
    if (!pending) {
        report.error = std::move(pending.error()).withContext("cannot record the attempt");
        finish(report, &source, nullptr);
        return report;
    }

    guarded(report, [&] {
        auto started = SteadyClock::now();
        auto entries = source.listRoot();
        report.times.find = time::microsecondsSince(started);
        if (!entries) {
            report.outcome.result = fail(ReasonCode::ArchiveNotFound, Check::Found,
                "the stick could not be read: " + entries.error().message);
        } else {
            report.heldArchive = std::any_of(entries->begin(), entries->end(), [](const auto& entry) {
                return entry.isRegularFile && verify::looksLikeArchiveName(entry.name);
            });
            started = SteadyClock::now();
            auto selection = verify::selectArchive(
                std::move(*entries), [&source](const std::string& name) { return source.readFile(name); },
                policy());
            report.times.verify = time::microsecondsSince(started);
            report.outcome = std::move(selection.decisive);
            for (const auto& other : selection.setAside)
                if (other.facts.fileName != report.outcome.facts.fileName)
                    report.setAside.push_back(text::escaped(other.facts.fileName) + ": "
                        + std::string(toString(other.result.error().reason)) + ": "
                        + other.result.error().message);
        }
        if (report.outcome.result)
            commitAccepted(report, *pending);
    });
    finish(report, &source, &*pending);
    return report;
}

AttemptReport ProvisioningAgent::provisionFromFile(const std::filesystem::path& file)
{
    AttemptReport report = startReport(file.string());
    StateLock lock(state_.directory());
    auto pending = state_.markPending();
    if (!pending) {
        report.error = std::move(pending.error()).withContext("cannot record the attempt");
        finish(report, nullptr, nullptr);
        return report;
    }
    guarded(report, [&] {
        const auto started = SteadyClock::now();
        report.outcome = verifyNamedFile(file, policy());
        report.times.verify = time::microsecondsSince(started);
        if (report.outcome.result)
            commitAccepted(report, *pending);
    });
    finish(report, nullptr, &*pending);
    return report;
}

void ProvisioningAgent::commitAccepted(AttemptReport& report, const state::PendingAttempt&)
{
    const auto& accepted = *report.outcome.result;
    const auto& manifest = accepted.manifest;
    auto started = SteadyClock::now();
    auto applied = network_.apply(manifest.request.networking);
    report.times.apply = time::microsecondsSince(started);
    if (!applied) {
        report.verdict = AttemptVerdict::ApplyFailed;
        report.error = applied.error();
        return;
    }
    report.warnings = applied->warnings;

    state::AppliedProvisioning provisioning {
        manifest.request.name, manifest.deviceId, manifest.arn, manifest.iotThingName, accepted.sha256,
        manifest.request.networking ? manifest::toJson(*manifest.request.networking) : nlohmann::json(nullptr)
    };
    state::CredentialFiles credentials { accepted.entries.certificate, accepted.entries.chain,
        accepted.entries.privateKey };
    const std::string message = "provisioned as " + manifest.request.name + " (" + manifest.deviceId
        + ") from " + report.outcome.facts.fileName;
    started = SteadyClock::now();
    auto recorded = state_.recordSuccess(provisioning, credentials, report.outcome.facts.fileName, message);
    report.times.persist = time::microsecondsSince(started);
    if (!recorded) {
        report.verdict = AttemptVerdict::InternalError;
        report.error = std::move(recorded.error())
                           .withContext("the network is configured but the state was not saved");
        return;
    }
    report.verdict = AttemptVerdict::Succeeded;
    report.status = *recorded;
}

// A success is recorded by commitAccepted; every other verdict here, as its
// row of the outcome table says.
void ProvisioningAgent::recordVerdict(AttemptReport& report, const state::PendingAttempt* pending)
{
    if (!report.error && !report.outcome.result)
        report.error = report.outcome.result.error();
    if (!report.error)
        report.error = Error { ReasonCode::InternalError, Check::None, "unknown internal fault", {} };
    report.verdict = verdictOfFailure(
        report.error->reason, report.verdict == AttemptVerdict::ApplyFailed, pending != nullptr);
    const std::optional<std::string> fileName
        = report.outcome.facts.fileName.empty() ? std::nullopt : std::optional(report.outcome.facts.fileName);
    const auto& row = outcomeOf(report.verdict);
    if (!row.recorded) {
        if (auto restored = state_.recordAlreadyApplied(*pending); !restored)
            report.warnings.push_back(restored.error().message);
    } else if (*row.recorded == state::AttemptResult::Failed) {
        if (auto recorded = state_.recordFailure(report.error->reason, report.error->message, fileName);
            !recorded)
            report.warnings.push_back(recorded.error().message);
    } else {
        (void)state_.markError(report.error->message, fileName);
    }
}

void ProvisioningAgent::finish(
    AttemptReport& report, ArchiveSource* source, const state::PendingAttempt* pending)
{
    if (report.verdict != AttemptVerdict::Succeeded)
        recordVerdict(report, pending);
    if (auto status = state_.load())
        report.status = *status;

    const bool onStick = source != nullptr;
    report.ports
        = network_.describe(/*probeGateways=*/onStick && settings_.writeReceipt && report.heldArchive);
    if (onStick) {
        const auto started = SteadyClock::now();
        if (report.verdict == AttemptVerdict::Succeeded
            && settings_.afterSuccess == config::AfterSuccess::Rename) {
            const auto& name = report.outcome.facts.fileName;
            if (auto renamed = source->renameArchive(name, name + ".applied"); !renamed)
                report.warnings.push_back(renamed.error().message);
        }
        // A stranger's stick (no archive at all) never receives the device's addresses.
        if (settings_.writeReceipt && report.heldArchive) {
            try {
                auto written = source->writeReceipt(renderReceipt(report, clock_()));
                report.receiptWritten = written.has_value();
                if (!written)
                    report.receiptError = written.error().message;
            } catch (const std::exception& error) {
                report.receiptError = std::string("internal error: ") + error.what();
            }
        }
        report.times.receipt = time::microsecondsSince(started);
    }
    log(report);
}

void ProvisioningAgent::log(const AttemptReport& report) const
{
    std::vector<log::Field> fields { { "OMNI_ATTEMPT", report.attemptId },
        { "OMNI_DEVICE_NAME", report.deviceName() }, { "OMNI_SOURCE", report.source },
        { "OMNI_STATUS", std::string(state::toString(report.status.status)) },
        { "OMNI_TIMES_US", describeTimes(report.times) } };
    if (!report.outcome.facts.fileName.empty())
        fields.push_back({ "OMNI_ARCHIVE", report.outcome.facts.fileName });
    for (const auto& other : report.setAside)
        log::plain(log::Priority::Info, "set aside " + other, { { "OMNI_ATTEMPT", report.attemptId } });
    for (const auto& warning : report.warnings)
        log::plain(log::Priority::Warning, warning, { { "OMNI_ATTEMPT", report.attemptId } });

    const auto& row = outcomeOf(report.verdict);
    if (row.event)
        log::event(row.priority, *row.event,
            "Provisioned as " + report.deviceName() + " from " + report.outcome.facts.fileName + " ("
                + report.source + ")",
            fields);
    else if (!row.status.changes)
        log::reason(row.priority, report.error->reason,
            report.error->message + "; the status stays "
                + std::string(state::toString(report.status.status)),
            fields);
    else
        log::reason(row.priority, report.error->reason,
            std::string(toString(report.error->reason)) + ": " + report.error->message + " — "
                + std::string(reasonInfo(report.error->reason).advice),
            fields);
    if (report.receiptError)
        log::event(log::Priority::Warning, log::Event::ReportFailed,
            "the receipt could not be written to the stick: " + *report.receiptError, fields);
    else if (report.receiptWritten)
        log::event(log::Priority::Info, log::Event::ReportWritten,
            "receipt omni-provision-report_" + report.deviceName() + ".txt written to the stick", fields);
}

Result<std::optional<std::string>> ProvisioningAgent::reapplyPersisted()
{
    StateLock lock(state_.directory());
    auto recovered = state_.recover();
    if (!recovered)
        return tl::unexpected(recovered.error());
    // A reset in progress (DELETING) is finished by the reset, never undone
    // by putting its provisioning back in force.
    if (!recovered->applied || recovered->status == state::DeviceStatus::Deleting)
        return std::optional<std::string>();
    auto networking = networkingFromJson(recovered->applied->networkingConfiguration);
    if (!networking)
        return tl::unexpected(networking.error());
    auto applied = network_.apply(*networking);
    if (!applied)
        return tl::unexpected(applied.error());
    return std::optional<std::string>(applied->changeRequests == 0
            ? "the network configuration of " + recovered->applied->name + " is in force; nothing changed"
            : "re-applied the network configuration of " + recovered->applied->name + " ("
                + std::to_string(applied->changeRequests) + " changes)");
}

nlohmann::json attemptJson(const AttemptReport& report)
{
    nlohmann::json json
        = verify::verdictJson(report.outcome, "applied: " + report.deviceName() + " is provisioned");
    if (report.verdict == AttemptVerdict::AlreadyApplied) {
        json["Verdict"] = "ACCEPT";
        json["Reason"] = "ALREADY_APPLIED";
    } else if (report.verdict != AttemptVerdict::Succeeded && report.error) {
        json["Verdict"] = "REJECT";
        json["Reason"] = toString(report.error->reason);
        json["Message"] = report.error->message;
    }
    json["Status"] = state::toString(report.status.status);
    return json;
}

} // namespace omni::agent
