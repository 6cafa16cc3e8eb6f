// The stick attempt's policy with fake partitions, mounter and agent: what is
// an attempt (the second-partition rule), a partition that does not mount,
// unmounting, the stage times, and the partition as the agent's source.
#include <map>
#include <memory>

#include <gtest/gtest.h>

#include "daemon/device/stick/stick_attempt.hpp"
#include "daemon/device/stick/stick_source.hpp"

namespace omni {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Advanced by the fakes: each stage takes a known time.
struct FakeTime {
    SteadyClock::time_point now {};
    stick::StickAttempts::Clock clock()
    {
        return [this] { return now; };
    }
};

struct PartitionLog {
    int unmounted = 0;
    int released = 0;
};

class FakePartition final : public stick::Partition {
public:
    FakePartition(FakeTime& time, PartitionLog& log, std::map<std::string, std::string> files)
        : time_(time)
        , log_(log)
        , files_(std::move(files))
    {
    }
    ~FakePartition() override { ++log_.released; }
    std::optional<Error> unmountError;
    mount::UnmountMethod unmountMethod = mount::UnmountMethod::Clean;
    bool truncated = false;

    Result<mount::RootListing> listRoot() const override
    {
        mount::RootListing listing;
        for (const auto& [name, content] : files_)
            listing.entries.push_back({ name, true, content.size() });
        listing.truncated = truncated;
        if (truncated)
            listing.warning = "the root directory was cut short";
        return listing;
    }
    Result<std::string> readFile(const std::string& name) const override
    {
        time_.now += 5ms;
        if (name == "unreadable.zip")
            return fail(ReasonCode::InternalError, Check::None, "EIO");
        return files_.at(name);
    }
    Result<void> writeReport(const std::vector<mount::ReportFile>& files) override
    {
        for (const auto& file : files)
            files_[file.name] = file.content;
        return {};
    }
    Result<void> rename(const std::string& from, const std::string& to) override
    {
        files_[to] = files_.at(from);
        files_.erase(from);
        return {};
    }
    Result<mount::UnmountMethod> unmount() override
    {
        time_.now += 3ms;
        ++log_.unmounted;
        if (unmountError)
            return tl::unexpected(*unmountError);
        return unmountMethod;
    }
    const std::map<std::string, std::string>& files() const { return files_; }

private:
    FakeTime& time_;
    PartitionLog& log_;
    std::map<std::string, std::string> files_;
};

class FakeMounter final : public stick::Mounter {
public:
    explicit FakeMounter(FakeTime& time)
        : time_(time)
    {
    }
    std::map<std::string, std::map<std::string, std::string>> sticks; // kernel name -> root files
    std::map<std::string, PartitionLog> logs;
    std::optional<Error> failWith;
    std::optional<Error> unmountError; // of the partitions mounted from now on
    std::vector<std::string> mounted;

    Result<std::unique_ptr<stick::Partition>> mountReadOnly(const udev::StickEvent& event) override
    {
        time_.now += 2ms;
        mounted.push_back(event.kernelName);
        if (failWith)
            return tl::unexpected(*failWith);
        auto partition
            = std::make_unique<FakePartition>(time_, logs[event.kernelName], sticks[event.kernelName]);
        partition->unmountError = unmountError;
        return std::unique_ptr<stick::Partition>(std::move(partition));
    }

private:
    FakeTime& time_;
};

// Reads every file of the source; "found" an archive when one is named like one.
class FakeAgent final : public stick::AttemptRunner {
public:
    explicit FakeAgent(FakeTime& time)
        : time_(time)
    {
    }
    int attempts = 0;
    std::optional<Error> listError;
    std::vector<std::string> read;

    agent::AttemptReport provision(agent::ArchiveSource& source) override
    {
        ++attempts;
        time_.now += 7ms; // the agent's own work
        agent::AttemptReport report;
        report.attemptId = "attempt" + std::to_string(attempts);
        report.source = source.describe();
        auto entries = source.listRoot();
        if (!entries) {
            listError = entries.error();
            return report;
        }
        for (const auto& entry : *entries) {
            auto content = source.readFile(entry.name);
            read.push_back(
                entry.name + (content ? "" : ": " + std::string(toString(content.error().reason))));
            if (content && verify::looksLikeArchiveName(entry.name)) {
                report.outcome.facts.fileName = entry.name;
                report.outcome.facts.sha256 = std::string(64, 'a');
            }
        }
        return report;
    }

private:
    FakeTime& time_;
};

udev::StickEvent added(const std::string& kernelName)
{
    udev::StickEvent event;
    event.action = udev::StickAction::Add;
    event.disposition = udev::Disposition::Accepted;
    event.kernelName = kernelName;
    event.devnode = "/dev/" + kernelName;
    event.filesystemType = "vfat";
    return event;
}

udev::StickEvent removed(const std::string& kernelName)
{
    auto event = added(kernelName);
    event.action = udev::StickAction::Remove;
    return event;
}

const std::string kArchive = "certificates-omni_device-1.zip";

class StickAttemptTest : public ::testing::Test {
protected:
    FakeTime time;
    FakeMounter mounter { time };
    FakeAgent agent { time };
    stick::StickAttempts attempts { time.clock() };
};

TEST(DiskOf, PartitionNamesMapToTheirDisk)
{
    EXPECT_EQ(stick::diskOf("sdb1"), "sdb");
    EXPECT_EQ(stick::diskOf("sdb12"), "sdb");
    EXPECT_EQ(stick::diskOf("sdb"), "sdb");
    EXPECT_EQ(stick::diskOf("mmcblk0p1"), "mmcblk0");
    EXPECT_EQ(stick::diskOf("nvme0n1p2"), "nvme0n1");
    EXPECT_EQ(stick::diskOf("12"), "12");
}

TEST_F(StickAttemptTest, APartitionIsMountedHandedToTheAgentAndUnmounted)
{
    mounter.sticks["sdb1"] = { { kArchive, "zip" } };
    const auto outcome = attempts.attempt(added("sdb1"), mounter, agent);
    ASSERT_TRUE(outcome.report);
    EXPECT_EQ(agent.attempts, 1);
    EXPECT_EQ(outcome.report->source, "stick sdb1 (vfat) on an unknown port");
    EXPECT_EQ(agent.read, std::vector<std::string> { kArchive });
    EXPECT_EQ(mounter.logs["sdb1"].unmounted, 1);
    EXPECT_EQ(mounter.logs["sdb1"].released, 1);
    EXPECT_TRUE(attempts.archiveSeenOn("sdb"));
}

TEST_F(StickAttemptTest, APartitionThatDoesNotMountIsStillAnAttemptThatSaysWhy)
{
    mounter.failWith = Error { ReasonCode::InternalError, Check::None, "wrong fs type", {} };
    const auto outcome = attempts.attempt(added("sdb1"), mounter, agent);
    ASSERT_TRUE(outcome.report);
    ASSERT_TRUE(agent.listError);
    EXPECT_EQ(agent.listError->reason, ReasonCode::ArchiveNotFound);
    EXPECT_EQ(agent.listError->message, "the stick could not be mounted: wrong fs type");
    EXPECT_EQ(outcome.times.unmount, 0);
    EXPECT_FALSE(attempts.archiveSeenOn("sdb"));
}

TEST_F(StickAttemptTest, AnEmptySecondPartitionOfAStickWhoseArchiveWasFoundIsNotAnAttempt)
{
    mounter.sticks["sdb1"] = { { kArchive, "zip" } };
    mounter.sticks["sdb2"] = { { "notes.txt", "hello" } };
    ASSERT_TRUE(attempts.attempt(added("sdb1"), mounter, agent).report);
    const auto second = attempts.attempt(added("sdb2"), mounter, agent);
    EXPECT_FALSE(second.report);
    EXPECT_EQ(agent.attempts, 1);
    // Mounted to look, and released (which unmounts) without an attempt.
    EXPECT_EQ(mounter.mounted, (std::vector<std::string> { "sdb1", "sdb2" }));
    EXPECT_EQ(mounter.logs["sdb2"].released, 1);
}

TEST_F(StickAttemptTest, ASecondPartitionWithACandidateIsAnAttempt)
{
    mounter.sticks["sdb1"] = { { kArchive, "zip" } };
    mounter.sticks["sdb2"] = { { "certificates-omni_other.zip", "zip" } };
    ASSERT_TRUE(attempts.attempt(added("sdb1"), mounter, agent).report);
    EXPECT_TRUE(attempts.attempt(added("sdb2"), mounter, agent).report);
    EXPECT_EQ(agent.attempts, 2);
}

TEST_F(StickAttemptTest, AnEmptyPartitionOfAnotherStickIsAnAttempt)
{
    mounter.sticks["sdb1"] = { { kArchive, "zip" } };
    mounter.sticks["sdc1"] = {};
    ASSERT_TRUE(attempts.attempt(added("sdb1"), mounter, agent).report);
    EXPECT_TRUE(attempts.attempt(added("sdc1"), mounter, agent).report);
    EXPECT_EQ(agent.attempts, 2);
}

TEST_F(StickAttemptTest, OnlyAnArchiveFoundMarksTheStick)
{
    // The first partition had no archive: the empty second one is an attempt too.
    mounter.sticks["sdb1"] = { { "photo.jpg", "jpeg" } };
    mounter.sticks["sdb2"] = {};
    ASSERT_TRUE(attempts.attempt(added("sdb1"), mounter, agent).report);
    EXPECT_FALSE(attempts.archiveSeenOn("sdb"));
    EXPECT_TRUE(attempts.attempt(added("sdb2"), mounter, agent).report);
    EXPECT_EQ(agent.attempts, 2);
}

TEST_F(StickAttemptTest, RemovingTheStickForgetsItsArchive)
{
    mounter.sticks["sdb1"] = { { kArchive, "zip" } };
    mounter.sticks["sdb2"] = {};
    ASSERT_TRUE(attempts.attempt(added("sdb1"), mounter, agent).report);
    attempts.removed(removed("sdb"));
    EXPECT_FALSE(attempts.archiveSeenOn("sdb"));
    EXPECT_TRUE(attempts.attempt(added("sdb2"), mounter, agent).report);
}

TEST_F(StickAttemptTest, TheTimesOfEachStage)
{
    mounter.sticks["sdb1"] = { { kArchive, "zip" }, { "readme.txt", "text" } };
    const auto outcome = attempts.attempt(added("sdb1"), mounter, agent);
    ASSERT_TRUE(outcome.report);
    EXPECT_EQ(outcome.times.mount, 2000);
    EXPECT_EQ(outcome.times.read, 10000); // two reads of 5 ms
    EXPECT_EQ(outcome.times.unmount, 3000);
    EXPECT_EQ(outcome.times.total, 2000 + 7000 + 10000 + 3000);
}

TEST_F(StickAttemptTest, AnUnmountThatFailsStillEndsTheAttempt)
{
    mounter.sticks["sdb1"] = { { kArchive, "zip" } };
    mounter.unmountError = Error { ReasonCode::InternalError, Check::None, "EBUSY", {} };
    const auto outcome = attempts.attempt(added("sdb1"), mounter, agent);
    ASSERT_TRUE(outcome.report);
    EXPECT_EQ(mounter.logs["sdb1"].unmounted, 1);
    EXPECT_EQ(mounter.logs["sdb1"].released, 1);
    EXPECT_EQ(outcome.times.total, 2000 + 7000 + 5000 + 3000);
    EXPECT_TRUE(attempts.archiveSeenOn("sdb"));
}

// The partition as the agent's archive source.
class StickSourceTest : public ::testing::Test {
protected:
    FakeTime time;
    PartitionLog log;
    FakePartition partition { time, log, { { kArchive, "zip" }, { "unreadable.zip", "" } } };
    udev::StickEvent event = added("sdb1");
    stick::StickSource source { event, &partition, "" };
};

TEST_F(StickSourceTest, AReadErrorIsTheArchivesProblemNotTheDevices)
{
    auto content = source.readFile("unreadable.zip");
    ASSERT_FALSE(content);
    EXPECT_EQ(content.error().reason, ReasonCode::ArchiveCorrupt);
    EXPECT_EQ(*source.readFile(kArchive), "zip");
}

TEST_F(StickSourceTest, TheReceiptAndTheRenameGoToThePartition)
{
    ASSERT_TRUE(source.writeReceipt({ { "omni-provision-report_x.txt", "receipt" } }));
    ASSERT_TRUE(source.renameArchive(kArchive, kArchive + ".applied"));
    EXPECT_EQ(partition.files().count("omni-provision-report_x.txt"), 1U);
    EXPECT_EQ(partition.files().count(kArchive + ".applied"), 1U);
    EXPECT_EQ(partition.files().count(kArchive), 0U);
}

TEST_F(StickSourceTest, ATruncatedListingLeavesAWarning)
{
    partition.truncated = true;
    ASSERT_TRUE(source.listRoot());
    EXPECT_EQ(source.listingWarning(), "the root directory was cut short");
}

TEST(StickSourceUnmounted, EveryOperationSaysTheStickIsNotMounted)
{
    const auto event = added("sdb1");
    stick::StickSource source { event, nullptr, "no medium" };
    EXPECT_EQ(source.listRoot().error().message, "the stick could not be mounted: no medium");
    EXPECT_FALSE(source.readFile("x"));
    EXPECT_FALSE(source.writeReceipt({}));
    EXPECT_FALSE(source.renameArchive("a", "b"));
}

} // namespace
} // namespace omni
