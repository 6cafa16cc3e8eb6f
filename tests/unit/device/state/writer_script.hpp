#pragma once
// The sequence of state operations the killed-writer test runs in a child
// process (state_writer_helper) and the document each step must leave: the
// child and the test share it so the test knows every document that was ever
// written without being told.
#include <optional>
#include <string>

#include "daemon/core/time/time.hpp"
#include "daemon/device/state/device_state.hpp"

namespace omni::state::testing {

// The child's clock reads kScriptEpoch + step while it runs that step.
inline constexpr time::UnixTime kScriptEpoch = 1'800'000'000;

enum class StepKind { Pending, Failure, Success, AlreadyApplied };

// A cycle of 8 steps: pending, failure, pending, success, pending,
// already-applied (restore), pending, failure.
StepKind stepKind(long step);
// The archive a success step applies; its SHA-256 encodes the step.
AppliedProvisioning provisioningFor(long step);
long stepOfArchive(const std::string& archiveSha256);
// Every other cycle's archive has a chain.pem, so a success must also remove a stale one.
CredentialFiles credentialsFor(long step);
std::string fileNameFor(long step);
std::string messageFor(long step);
ReasonCode reasonFor(long step);

// Runs one step on state (whose clock the caller set to kScriptEpoch + step).
// pending carries markPending's result to the already-applied step.
Result<void> runStep(DeviceState& state, long step, std::optional<PendingAttempt>& pending);

// An independent model of the documented transitions: status.json's content
// after `steps` steps from an empty state directory.
StatusDocument expectedAfter(long steps);

} // namespace omni::state::testing
