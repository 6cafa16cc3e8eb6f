// The transaction's own rules, with steps that only record: snapshots before
// any change, the order of the steps, and the rollback after a failure in
// step k (k's part, then k-1 .. 1, each exactly once; nothing after k runs).
#include <gtest/gtest.h>

#include "daemon/device/network/network_transaction.hpp"

namespace omni::network_service {
namespace {

class RecordingStep final : public NetworkStep {
public:
    RecordingStep(std::string name, std::vector<std::string>& log)
        : name_(std::move(name))
        , log_(log)
    {
    }

    std::string_view name() const override { return name_; }
    std::string_view title() const override { return name_; }
    Result<void> snapshot() override
    {
        log_.push_back("snapshot " + name_);
        if (failSnapshot) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, "no snapshot");
        }
        return {};
    }
    bool needed() override { return isNeeded; }
    Result<void> apply() override
    {
        log_.push_back("apply " + name_);
        if (failApply) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, "refused by the test");
        }
        return {};
    }
    void undo(UndoLog& log) override
    {
        log_.push_back("undo " + name_);
        if (failUndo) {
            log.failed("undoing " + name_,
                Error { ReasonCode::NetworkApplyFailed, Check::NetworkApply, "cannot", {} });
        }
    }

    bool failSnapshot = false;
    bool isNeeded = true;
    bool failApply = false;
    bool failUndo = false;

private:
    std::string name_;
    std::vector<std::string>& log_;
};

class TransactionTest : public ::testing::Test {
protected:
    // Four steps "s1" .. "s4"; the returned pointers stay owned by the transaction.
    std::vector<RecordingStep*> addSteps(NetworkTransaction& transaction)
    {
        std::vector<RecordingStep*> steps;
        for (int index = 1; index <= 4; ++index) {
            auto step = std::make_unique<RecordingStep>("s" + std::to_string(index), log);
            steps.push_back(step.get());
            transaction.add(std::move(step));
        }
        return steps;
    }

    std::vector<std::string> log;
};

TEST_F(TransactionTest, SnapshotsAllThenAppliesInOrder)
{
    std::vector<std::string> hooked;
    NetworkTransaction transaction([&](std::string_view step) { hooked.emplace_back(step); });
    addSteps(transaction);
    ASSERT_TRUE(transaction.run());
    EXPECT_EQ(log,
        (std::vector<std::string> { "snapshot s1", "snapshot s2", "snapshot s3", "snapshot s4", "apply s1",
            "apply s2", "apply s3", "apply s4" }));
    EXPECT_EQ(hooked, (std::vector<std::string> { "s1", "s2", "s3", "s4" }));
}

TEST_F(TransactionTest, AFailureInStepKUndoesKThenTheEarlierStepsInReverseOnce)
{
    NetworkTransaction transaction;
    auto steps = addSteps(transaction);
    steps[2]->failApply = true;
    const auto run = transaction.run();
    ASSERT_FALSE(run);
    EXPECT_EQ(log,
        (std::vector<std::string> { "snapshot s1", "snapshot s2", "snapshot s3", "snapshot s4", "apply s1",
            "apply s2", "apply s3", "undo s3", "undo s2", "undo s1" }));
    EXPECT_EQ(run.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_EQ(run.error().check, Check::NetworkApply);
    EXPECT_EQ(run.error().where, "s3");
    EXPECT_EQ(run.error().message,
        "s3 step failed: refused by the test; rolled back: addresses, routes, DHCP clients, DNS and NTP are "
        "as they were before");
}

TEST_F(TransactionTest, ASkippedStepIsNeitherAppliedNorUndone)
{
    NetworkTransaction transaction;
    auto steps = addSteps(transaction);
    steps[1]->isNeeded = false;
    steps[3]->failApply = true;
    ASSERT_FALSE(transaction.run());
    EXPECT_EQ(log,
        (std::vector<std::string> { "snapshot s1", "snapshot s2", "snapshot s3", "snapshot s4", "apply s1",
            "apply s3", "apply s4", "undo s4", "undo s3", "undo s1" }));
}

TEST_F(TransactionTest, AFailedSnapshotChangesNothing)
{
    NetworkTransaction transaction;
    auto steps = addSteps(transaction);
    steps[2]->failSnapshot = true;
    const auto run = transaction.run();
    ASSERT_FALSE(run);
    EXPECT_EQ(log, (std::vector<std::string> { "snapshot s1", "snapshot s2", "snapshot s3" }));
    EXPECT_EQ(run.error().where, "s3");
    EXPECT_EQ(run.error().message, "s3 step failed before any change (snapshot): no snapshot");
}

TEST_F(TransactionTest, UndoFailuresAreAllNamedAndTheRestIsStillUndone)
{
    NetworkTransaction transaction;
    auto steps = addSteps(transaction);
    steps[0]->failUndo = true;
    steps[1]->failUndo = true;
    steps[2]->failApply = true;
    const auto run = transaction.run();
    ASSERT_FALSE(run);
    EXPECT_EQ(std::count(log.begin(), log.end(), "undo s1"), 1);
    EXPECT_EQ(run.error().message,
        "s3 step failed: refused by the test; rolling back failed as well, the network may be half-applied: "
        "undoing s2: cannot; undoing s1: cannot");
}

} // namespace
} // namespace omni::network_service
