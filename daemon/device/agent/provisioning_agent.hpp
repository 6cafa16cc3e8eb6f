#pragma once
// One provisioning attempt, end to end (DESIGN.md sections 1, 3, 4 and 5):
// find and verify the archive, apply its network configuration, persist the
// state and credentials, write the receipt. The agent decides and logs once;
// the daemon and `omni-provision apply` only hand it a source.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/certificate_checks.hpp"
#include "daemon/core/verify/select_archive.hpp"
#include "daemon/device/agent/archive_source.hpp"
#include "daemon/device/agent/network_configurator.hpp"
#include "daemon/device/agent/outcome.hpp"
#include "daemon/device/state/device_state.hpp"

namespace omni::agent {

struct AgentSettings {
    std::int64_t toleranceSeconds = 30;
    std::int64_t maxLifetimeSeconds = 300;
    std::optional<std::string> expectedName;
    time::UnixTime buildEpoch = 0;
    bool writeReceipt = true;
    config::AfterSuccess afterSuccess = config::AfterSuccess::Keep;

    static AgentSettings fromConfig(const config::Config& config, time::UnixTime buildEpoch);
};

// Microseconds spent in each stage of an attempt (for the journal and the
// benchmark); stages that did not run stay 0.
struct StageTimes {
    std::int64_t find = 0; // list the root directory
    std::int64_t verify = 0; // read + checks 1-19 for every candidate
    std::int64_t apply = 0; // network
    std::int64_t persist = 0; // state and credentials
    std::int64_t receipt = 0; // report on the stick
};

struct AttemptReport {
    std::string attemptId; // OMNI_ATTEMPT=, random per attempt
    std::string source;
    time::UnixTime startedAt = 0;
    AttemptVerdict verdict = AttemptVerdict::InternalError;
    verify::Outcome outcome { {},
        tl::unexpected(Error {}) }; // the decisive archive (facts even when rejected)
    std::optional<Error> error; // the decisive error (a check, the apply, or a fault)
    std::vector<std::string> setAside; // other candidates and why, for the journal
    state::StatusDocument status; // after the attempt
    std::vector<PortFacts> ports; // network facts after the attempt
    std::vector<std::string> warnings;
    StageTimes times;
    // The stick held a regular certificates-omni_*.zip in its root (whatever
    // its name or fate): only then is a receipt written.
    bool heldArchive = false;
    bool receiptWritten = false;
    std::optional<std::string> receiptError;

    bool succeeded() const { return outcomeOf(verdict).succeeded; }
    std::string deviceName() const; // the manifest's Name, the file's, or "unknown"
};

// The trust anchors an attempt is judged against, asked for at the start of
// every attempt (the daemon loads anchors installed after its start).
struct AnchorView {
    const trust::TrustAnchors* anchors = nullptr; // nullptr: none usable
    std::string problem; // why not, and where to install root.pem
};
using AnchorProvider = std::function<AnchorView()>;

class ProvisioningAgent {
public:
    using Clock = std::function<time::UnixTime()>;

    // Fixed anchors (`omni-provision apply`, tests); they must outlive the agent.
    ProvisioningAgent(AgentSettings settings, state::DeviceState& state, NetworkConfigurator& network,
        const trust::TrustAnchors& anchors, Clock clock);
    ProvisioningAgent(AgentSettings settings, state::DeviceState& state, NetworkConfigurator& network,
        AnchorProvider anchors, Clock clock);

    // A stick: the "several archives" rule picks the archive.
    AttemptReport provisionFromSource(ArchiveSource& source);
    // A named file (`omni-provision apply FILE`): only that file is a candidate.
    AttemptReport provisionFromFile(const std::filesystem::path& file);

    // At start: re-apply the configuration of the last success (idempotent).
    // Absent state is fine. Errors are INTERNAL_ERROR (unreadable state) or the
    // network's reason.
    Result<std::optional<std::string>> reapplyPersisted();

    void setSettings(AgentSettings settings) { settings_ = std::move(settings); }

private:
    AttemptReport startReport(const std::string& source) const;
    verify::VerifyPolicy policy() const;
    void finish(AttemptReport& report, ArchiveSource* source, const state::PendingAttempt* pending);
    void recordVerdict(AttemptReport& report, const state::PendingAttempt* pending);
    void commitAccepted(AttemptReport& report, const state::PendingAttempt& pending);
    void log(const AttemptReport& report) const;

    AgentSettings settings_;
    state::DeviceState& state_;
    NetworkConfigurator& network_;
    AnchorProvider anchors_;
    Clock clock_;
};

// The receipt written to the stick: a text for people and JSON for scripts.
std::vector<ReceiptFile> renderReceipt(const AttemptReport& report, time::UnixTime now);

// The `inspect --json` object plus "Status" (for `apply --json`).
nlohmann::json attemptJson(const AttemptReport& report);

// The NetworkingConfiguration stored in status.json, validated again (null:
// none). An invalid one is INTERNAL_ERROR: state we wrote ourselves is bad.
Result<std::optional<manifest::NetworkingConfiguration>> networkingFromJson(const nlohmann::json& stored);

} // namespace omni::agent
