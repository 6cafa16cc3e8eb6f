// The outcome table (DESIGN.md section 5): every verdict has exactly one
// row, the rows say what section 5 demands, and the state writer does what
// the rows say.
#include <set>

#include <gtest/gtest.h>

#include "daemon/core/time/time.hpp"
#include "daemon/device/agent/outcome.hpp"
#include "tests/support/process.hpp"

namespace omni {
namespace {

using agent::AttemptVerdict;
using state::DeviceStatus;

constexpr AttemptVerdict kEveryVerdict[] = { AttemptVerdict::Succeeded, AttemptVerdict::AlreadyApplied,
    AttemptVerdict::Rejected, AttemptVerdict::ApplyFailed, AttemptVerdict::InternalError };

TEST(OutcomeTable, EveryVerdictHasExactlyOneRow)
{
    for (auto verdict : kEveryVerdict) {
        int rows = 0;
        for (const auto& row : agent::kOutcomeTable)
            rows += row.verdict == verdict;
        EXPECT_EQ(rows, 1) << agent::toString(verdict);
        EXPECT_EQ(agent::outcomeOf(verdict).verdict, verdict);
    }
    EXPECT_EQ(agent::kOutcomeTable.size(), std::size(kEveryVerdict));
}

TEST(OutcomeTable, ReceiptResultNamesAreUnchanged)
{
    EXPECT_EQ(agent::toString(AttemptVerdict::Succeeded), "SUCCEEDED");
    EXPECT_EQ(agent::toString(AttemptVerdict::AlreadyApplied), "ALREADY_APPLIED");
    EXPECT_EQ(agent::toString(AttemptVerdict::Rejected), "REJECTED");
    EXPECT_EQ(agent::toString(AttemptVerdict::ApplyFailed), "APPLY_FAILED");
    EXPECT_EQ(agent::toString(AttemptVerdict::InternalError), "INTERNAL_ERROR");
}

TEST(OutcomeTable, ASuccessIsSucceededEverywhere)
{
    const auto& row = agent::outcomeOf(AttemptVerdict::Succeeded);
    EXPECT_TRUE(row.succeeded);
    EXPECT_EQ(row.recorded, state::AttemptResult::Succeeded);
    EXPECT_EQ(row.status.whenNothingInForce, DeviceStatus::Succeeded);
    EXPECT_EQ(row.status.whenProvisioned, DeviceStatus::Succeeded);
    EXPECT_EQ(row.event, log::Event::AttemptSucceeded);
    EXPECT_EQ(row.led, led::Pattern::Succeeded);
    EXPECT_EQ(agent::statusLineOf(AttemptVerdict::Succeeded, std::nullopt), "");
}

TEST(OutcomeTable, AlreadyAppliedChangesNoStateAndKeepsTheLedOfTheStatus)
{
    const auto& row = agent::outcomeOf(AttemptVerdict::AlreadyApplied);
    EXPECT_TRUE(row.succeeded);
    EXPECT_FALSE(row.status.changes);
    EXPECT_FALSE(row.recorded);
    EXPECT_EQ(row.priority, log::Priority::Notice);
    EXPECT_FALSE(row.event); // the ALREADY_APPLIED reason's MESSAGE_ID
    EXPECT_EQ(agent::patternAfter(AttemptVerdict::AlreadyApplied, DeviceStatus::Succeeded),
        led::Pattern::Succeeded);
    EXPECT_EQ(agent::patternAfter(AttemptVerdict::AlreadyApplied, DeviceStatus::Error), led::Pattern::Failed);
    EXPECT_EQ(agent::statusLineOf(AttemptVerdict::AlreadyApplied, std::nullopt),
        "Last stick: already applied, nothing changed");
}

TEST(OutcomeTable, ARejectedArchiveIsFailedUnlessAProvisioningIsInForce)
{
    for (auto verdict : { AttemptVerdict::Rejected, AttemptVerdict::ApplyFailed }) {
        const auto& row = agent::outcomeOf(verdict);
        EXPECT_FALSE(row.succeeded);
        EXPECT_EQ(row.recorded, state::AttemptResult::Failed);
        EXPECT_EQ(row.status.whenNothingInForce, DeviceStatus::Failed);
        EXPECT_EQ(row.status.whenProvisioned, DeviceStatus::Succeeded);
        EXPECT_EQ(row.priority, log::Priority::Error);
        // The LED says the attempt failed even on a provisioned device.
        EXPECT_EQ(agent::patternAfter(verdict, DeviceStatus::Succeeded), led::Pattern::Failed);
    }
    EXPECT_EQ(agent::statusLineOf(AttemptVerdict::Rejected,
                  Error { ReasonCode::CertExpired, Check::None, "the certificate expired", {} }),
        "Last attempt failed: CERT_EXPIRED — the certificate expired");
}

TEST(OutcomeTable, AnInternalFaultIsError)
{
    const auto& row = agent::outcomeOf(AttemptVerdict::InternalError);
    EXPECT_FALSE(row.succeeded);
    EXPECT_EQ(row.recorded, state::AttemptResult::Error);
    EXPECT_EQ(row.status.whenNothingInForce, DeviceStatus::Error);
    EXPECT_EQ(row.status.whenProvisioned, DeviceStatus::Error);
    EXPECT_EQ(row.led, led::Pattern::Failed);
    EXPECT_EQ(agent::statusLineOf(AttemptVerdict::InternalError, std::nullopt),
        "Last attempt failed: INTERNAL_ERROR — ");
}

TEST(OutcomeTable, VerdictOfAFailure)
{
    EXPECT_EQ(
        agent::verdictOfFailure(ReasonCode::AlreadyApplied, false, true), AttemptVerdict::AlreadyApplied);
    EXPECT_EQ(agent::verdictOfFailure(ReasonCode::CertExpired, false, true), AttemptVerdict::Rejected);
    EXPECT_EQ(agent::verdictOfFailure(ReasonCode::CertExpired, true, true), AttemptVerdict::ApplyFailed);
    EXPECT_EQ(agent::verdictOfFailure(ReasonCode::InternalError, true, true), AttemptVerdict::InternalError);
    // Nothing to record against without the pending mark.
    EXPECT_EQ(agent::verdictOfFailure(ReasonCode::CertExpired, false, false), AttemptVerdict::InternalError);
}

TEST(OutcomeTable, IdlePatternOfEveryStatus)
{
    EXPECT_EQ(agent::idlePattern(DeviceStatus::AwaitingProvisioning), led::Pattern::Waiting);
    EXPECT_EQ(agent::idlePattern(DeviceStatus::Pending), led::Pattern::Waiting);
    EXPECT_EQ(agent::idlePattern(DeviceStatus::Deleting), led::Pattern::Waiting);
    EXPECT_EQ(agent::idlePattern(DeviceStatus::Succeeded), led::Pattern::Succeeded);
    EXPECT_EQ(agent::idlePattern(DeviceStatus::Failed), led::Pattern::Failed);
    EXPECT_EQ(agent::idlePattern(DeviceStatus::Error), led::Pattern::Failed);
}

// The state writer's transitions are the rows' (fresh device, then provisioned).
class OutcomeState : public ::testing::Test {
protected:
    testing::TemporaryDirectory directory;
    state::DeviceState deviceState { directory / "state", [] { return time::UnixTime { 1800000000 }; } };

    DeviceStatus record(AttemptVerdict verdict)
    {
        auto pending = deviceState.markPending();
        EXPECT_TRUE(pending.has_value());
        const auto& row = agent::outcomeOf(verdict);
        if (!row.recorded)
            EXPECT_TRUE(deviceState.recordAlreadyApplied(*pending).has_value());
        else if (*row.recorded == state::AttemptResult::Failed)
            EXPECT_TRUE(deviceState.recordFailure(ReasonCode::CertExpired, "expired", "a.zip").has_value());
        else if (*row.recorded == state::AttemptResult::Error)
            EXPECT_TRUE(deviceState.markError("fault", "a.zip").has_value());
        else
            EXPECT_TRUE(deviceState
                            .recordSuccess({ "name", "id", "arn", "thing", std::string(64, 'a'), nullptr },
                                { "cert", std::nullopt, "key" }, "a.zip", "ok")
                            .has_value());
        auto loaded = deviceState.load();
        EXPECT_TRUE(loaded.has_value());
        if (row.recorded) {
            EXPECT_TRUE(loaded->lastAttempt.has_value());
            if (loaded->lastAttempt) {
                EXPECT_EQ(loaded->lastAttempt->result, *row.recorded);
            }
        }
        return loaded->status;
    }
};

TEST_F(OutcomeState, OnAFreshDevice)
{
    for (auto verdict : kEveryVerdict) {
        if (verdict == AttemptVerdict::Succeeded)
            continue;
        std::filesystem::remove_all(directory / "state");
        const auto& row = agent::outcomeOf(verdict);
        EXPECT_EQ(record(verdict),
            row.status.changes ? row.status.whenNothingInForce : DeviceStatus::AwaitingProvisioning)
            << agent::toString(verdict);
    }
}

TEST_F(OutcomeState, OnAProvisionedDevice)
{
    for (auto verdict : kEveryVerdict) {
        std::filesystem::remove_all(directory / "state");
        ASSERT_EQ(record(AttemptVerdict::Succeeded), DeviceStatus::Succeeded);
        const auto before = deviceState.load();
        const auto& row = agent::outcomeOf(verdict);
        EXPECT_EQ(record(verdict), row.status.changes ? row.status.whenProvisioned : before->status)
            << agent::toString(verdict);
        if (!row.status.changes) {
            EXPECT_EQ(*deviceState.load(), *before);
        }
    }
}

} // namespace
} // namespace omni
