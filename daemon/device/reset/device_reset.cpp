#include "daemon/device/reset/device_reset.hpp"

#include <utility>

namespace omni::reset {
namespace {

constexpr const char* kResumeAdvice
    = "; status.json stays DELETING: run omni-provision reset again, or restart omni-provisiond, to finish";

Result<void> enter(const ResetHooks& hooks, std::string_view step)
{
    if (hooks.beforeStep)
        return hooks.beforeStep(step);
    return {};
}

tl::unexpected<Error> stoppedAt(std::string_view step, Error error, bool deletingWritten)
{
    std::string context = "reset stopped at step " + std::string(step);
    Error failed = std::move(error).withContext(context);
    if (deletingWritten)
        failed.message += kResumeAdvice;
    return tl::unexpected(std::move(failed));
}

std::string joined(const std::vector<std::string>& items)
{
    std::string text;
    for (const auto& item : items)
        text += (text.empty() ? "" : ", ") + item;
    return text;
}

} // namespace

std::string ResetReport::summary() const
{
    std::string text = "reset to AWAITING_PROVISIONING";
    std::vector<std::string> parts;
    if (!network.dhcpStopped.empty())
        parts.push_back("DHCP stopped on " + joined(network.dhcpStopped));
    if (!network.removed.empty())
        parts.push_back("removed " + joined(network.removed));
    if (network.dnsChanged)
        parts.push_back("our DNS servers removed");
    if (network.ntpChanged)
        parts.push_back("our NTP override removed");
    if (parts.empty())
        parts.push_back("no network change of ours was in force");
    text += ": " + joined(parts) + "; credentials deleted, the list of applied archives kept";
    return text;
}

Result<ResetReport> runReset(
    state::DeviceState& state, const RemoveNetworkChanges& removeNetwork, const ResetHooks& hooks)
{
    // Not while an attempt of the daemon or `omni-provision apply` writes.
    const state::StateLock lock(state.directory());
    if (auto entered = enter(hooks, kStepDeleting); !entered)
        return stoppedAt(kStepDeleting, entered.error(), false);
    if (auto marked = state.markDeleting(); !marked)
        return stoppedAt(kStepDeleting, marked.error(), false);

    ResetReport report;
    if (auto entered = enter(hooks, kStepNetwork); !entered)
        return stoppedAt(kStepNetwork, entered.error(), true);
    auto network = removeNetwork();
    if (!network)
        return stoppedAt(kStepNetwork, network.error(), true);
    report.network = std::move(*network);

    if (auto entered = enter(hooks, kStepState); !entered)
        return stoppedAt(kStepState, entered.error(), true);
    if (auto removed = state.removeCredentialsAndState(); !removed)
        return stoppedAt(kStepState, removed.error(), true);

    if (auto entered = enter(hooks, kStepDone); !entered)
        return stoppedAt(kStepDone, entered.error(), true);
    auto finished = state.finishReset();
    if (!finished)
        return stoppedAt(kStepDone, finished.error(), true);
    report.status = std::move(*finished);
    return report;
}

Result<std::optional<ResetReport>> resumeReset(
    state::DeviceState& state, const RemoveNetworkChanges& removeNetwork, const ResetHooks& hooks)
{
    auto status = state.load();
    if (!status)
        return tl::unexpected(status.error());
    if (status->status != state::DeviceStatus::Deleting)
        return std::optional<ResetReport>();
    auto report = runReset(state, removeNetwork, hooks);
    if (!report)
        return tl::unexpected(report.error());
    return std::optional<ResetReport>(std::move(*report));
}

} // namespace omni::reset
