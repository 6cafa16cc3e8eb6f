#include "daemon/device/agent/outcome.hpp"

namespace omni::agent {

const OutcomeRow& outcomeOf(AttemptVerdict verdict)
{
    for (const auto& row : kOutcomeTable)
        if (row.verdict == verdict)
            return row;
    return kOutcomeTable.back(); // not reached: the table test covers every verdict
}

std::string_view toString(AttemptVerdict verdict)
{
    return outcomeOf(verdict).name;
}

AttemptVerdict verdictOfFailure(ReasonCode reason, bool applyFailed, bool pending)
{
    if (!pending || reason == ReasonCode::InternalError)
        return AttemptVerdict::InternalError;
    if (reason == ReasonCode::AlreadyApplied)
        return AttemptVerdict::AlreadyApplied;
    return applyFailed ? AttemptVerdict::ApplyFailed : AttemptVerdict::Rejected;
}

std::string statusLineOf(AttemptVerdict verdict, const std::optional<Error>& error)
{
    const auto& row = outcomeOf(verdict);
    std::string line(row.statusLine);
    if (row.statusLineNamesReason)
        line += ": " + std::string(toString(error ? error->reason : ReasonCode::InternalError)) + " — "
            + (error ? error->message : std::string());
    return line;
}

led::Pattern idlePattern(state::DeviceStatus status)
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

led::Pattern patternAfter(AttemptVerdict verdict, state::DeviceStatus status)
{
    return outcomeOf(verdict).led.value_or(idlePattern(status));
}

} // namespace omni::agent
