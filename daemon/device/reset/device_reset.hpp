#pragma once
// `omni-provision reset` (DESIGN.md section 10): the device goes back to
// AWAITING_PROVISIONING as a fresh one, keeping the list of applied archives.
//
// The sequence, each step idempotent, with status.json saying DELETING from
// the first step until the last one says AWAITING_PROVISIONING:
//  1. deleting     status.json DELETING (DeviceState::markDeleting);
//  2. network      our DHCP clients stopped, our addresses, routes, DNS and
//                  NTP overrides removed (NetworkService::removeOurChanges);
//  3. state        credentials and state deleted, the applied list kept
//                  (DeviceState::removeCredentialsAndState);
//  4. done         status.json AWAITING_PROVISIONING (DeviceState::finishReset).
// Interrupted anywhere after step 1 (an error, a crash, power loss), the
// status stays DELETING, and resumeReset (the daemon at start and on SIGHUP,
// or the next `omni-provision reset`) runs the whole sequence again.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/core/result.hpp"
#include "daemon/device/network/network_service.hpp"
#include "daemon/device/state/device_state.hpp"

namespace omni::reset {

inline constexpr std::string_view kStepDeleting = "deleting";
inline constexpr std::string_view kStepNetwork = "network";
inline constexpr std::string_view kStepState = "state";
inline constexpr std::string_view kStepDone = "done";

// The network half; the device's is NetworkService::removeOurChanges.
using RemoveNetworkChanges = std::function<Result<network_service::RemovalSummary>()>;

struct ResetHooks {
    // Called before each step with its name; an error stops the sequence
    // there as a crash would (the seam through which tests interrupt it).
    std::function<Result<void>(std::string_view step)> beforeStep;
};

struct ResetReport {
    network_service::RemovalSummary network;
    state::StatusDocument status; // AWAITING_PROVISIONING
    // One line for people: what was removed.
    std::string summary() const;
};

// The whole sequence. An error names the step that failed; status.json is
// then DELETING (unless the first step itself failed) and the message says
// that the next reset or daemon start finishes it.
Result<ResetReport> runReset(
    state::DeviceState& state, const RemoveNetworkChanges& removeNetwork, const ResetHooks& hooks = {});

// The sequence again when status.json says DELETING; nullopt otherwise
// (nothing is touched). An unreadable status.json is left to load() to report.
Result<std::optional<ResetReport>> resumeReset(
    state::DeviceState& state, const RemoveNetworkChanges& removeNetwork, const ResetHooks& hooks = {});

} // namespace omni::reset
