#pragma once
// What an attempt came to, and everything that follows from it, in one
// table (DESIGN.md section 5): the status.json transition, the LastAttempt
// Result recorded, the journal priority and MESSAGE_ID, the LED pattern and
// the sd_notify status line. The agent, its state writes, the daemon's LED
// and STATUS= all read this table; none keeps a switch of its own.
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/core/reason.hpp"
#include "daemon/device/log/journal.hpp"
#include "daemon/device/state/device_state.hpp"
#include "drivers/led/status_led.hpp"

namespace omni::agent {

enum class AttemptVerdict { Succeeded, AlreadyApplied, Rejected, ApplyFailed, InternalError };

// What status.json's Status becomes. ALREADY_APPLIED leaves status.json as
// it was, byte for byte (changes == false).
struct StatusTransition {
    bool changes = true;
    state::DeviceStatus whenNothingInForce = state::DeviceStatus::Failed;
    state::DeviceStatus whenProvisioned = state::DeviceStatus::Succeeded;
};

struct OutcomeRow {
    AttemptVerdict verdict;
    std::string_view name; // the receipt's "Result": "SUCCEEDED", "ALREADY_APPLIED", ...
    bool succeeded; // the attempt counts as a success (exit code, receipt headline)
    // LastAttempt.Result written to status.json; none: nothing is written
    // (the state writer only undoes markPending).
    std::optional<state::AttemptResult> recorded;
    StatusTransition status;
    log::Priority priority;
    // The journal's MESSAGE_ID: this event's, or (none) the reason code's.
    std::optional<log::Event> event;
    // The LED after the attempt; none: the pattern of the device's status,
    // which the attempt did not change (idlePattern).
    std::optional<led::Pattern> led;
    // The sd_notify status line until the next attempt; empty: none.
    std::string_view statusLine;
    bool statusLineNamesReason; // "<statusLine>: REASON — message"
};

inline constexpr std::array<OutcomeRow, 5> kOutcomeTable { {
    { AttemptVerdict::Succeeded, "SUCCEEDED", true, state::AttemptResult::Succeeded,
        { true, state::DeviceStatus::Succeeded, state::DeviceStatus::Succeeded }, log::Priority::Notice,
        log::Event::AttemptSucceeded, led::Pattern::Succeeded, "", false },
    { AttemptVerdict::AlreadyApplied, "ALREADY_APPLIED", true, std::nullopt, { false, {}, {} },
        log::Priority::Notice, std::nullopt, std::nullopt, "Last stick: already applied, nothing changed",
        false },
    // A failed attempt on a provisioned device leaves it SUCCEEDED with its
    // configuration in force (section 5).
    { AttemptVerdict::Rejected, "REJECTED", false, state::AttemptResult::Failed,
        { true, state::DeviceStatus::Failed, state::DeviceStatus::Succeeded }, log::Priority::Error,
        std::nullopt, led::Pattern::Failed, "Last attempt failed", true },
    { AttemptVerdict::ApplyFailed, "APPLY_FAILED", false, state::AttemptResult::Failed,
        { true, state::DeviceStatus::Failed, state::DeviceStatus::Succeeded }, log::Priority::Error,
        std::nullopt, led::Pattern::Failed, "Last attempt failed", true },
    { AttemptVerdict::InternalError, "INTERNAL_ERROR", false, state::AttemptResult::Error,
        { true, state::DeviceStatus::Error, state::DeviceStatus::Error }, log::Priority::Error, std::nullopt,
        led::Pattern::Failed, "Last attempt failed", true },
} };

const OutcomeRow& outcomeOf(AttemptVerdict verdict);
std::string_view toString(AttemptVerdict verdict);

// The verdict of an attempt that did not succeed, from its decisive error:
// ALREADY_APPLIED, the apply phase's failure, a check's reason (REJECTED),
// or INTERNAL_ERROR. Without a pending mark there is nothing to record a
// verdict against: INTERNAL_ERROR.
AttemptVerdict verdictOfFailure(ReasonCode reason, bool applyFailed, bool pending);

// The sd_notify status line an attempt leaves behind ("" for none).
std::string statusLineOf(AttemptVerdict verdict, const std::optional<Error>& error);

// The LED while no stick is being read, from status.json's Status.
led::Pattern idlePattern(state::DeviceStatus status);
// The LED after an attempt; `status` is status.json's Status after it.
led::Pattern patternAfter(AttemptVerdict verdict, state::DeviceStatus status);

} // namespace omni::agent
