// The reset sequence: DELETING first, the network half, credentials and
// state, then AWAITING_PROVISIONING; interrupted before any step it resumes
// to the same end, and the applied list is kept throughout.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "daemon/device/reset/device_reset.hpp"
#include "tests/support/process.hpp"

namespace omni::reset {
namespace {

namespace fs = std::filesystem;
using omni::testing::readFile;
using omni::testing::TemporaryDirectory;
using omni::testing::writeFile;

constexpr time::UnixTime kStart = 1'795'000'000;

std::string shaOf(char digit)
{
    return std::string(64, digit);
}

state::AppliedProvisioning provisioning(char digit)
{
    return state::AppliedProvisioning { "cam-01", "device-01",
        "arn:aws:panorama:us-east-1:123456789012:device/d", "device-01", shaOf(digit),
        { { "Ethernet0",
            { { "ConnectionType", "STATIC_IP" },
                { "StaticIpConnectionInfo",
                    { { "IpAddress", "192.0.2.10" }, { "Mask", "24" }, { "DefaultGateway", "192.0.2.1" },
                        { "Dns", { "192.0.2.53" } } } } } } } };
}

state::CredentialFiles credentials()
{
    return { "-----BEGIN CERTIFICATE-----\nc\n-----END CERTIFICATE-----\n", std::nullopt,
        "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n" };
}

Error interrupted(std::string_view step)
{
    return Error { ReasonCode::InternalError, Check::None, "interrupted before " + std::string(step), {} };
}

class DeviceResetTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        // An earlier archive, then the one in force.
        ASSERT_TRUE(
            state_.recordSuccess(provisioning('a'), credentials(), "certificates-omni_cam-00.zip", "ok"));
        ASSERT_TRUE(
            state_.recordSuccess(provisioning('b'), credentials(), "certificates-omni_cam-01.zip", "ok"));
        fs::create_directories(directory_.path() / "dns");
        writeFile(directory_.path() / "dns" / "resolv.conf", "# managed by omni-provision\n");
    }

    RemoveNetworkChanges network()
    {
        return [this]() -> Result<network_service::RemovalSummary> {
            ++networkCalls_;
            if (failNetwork_)
                return tl::unexpected(
                    Error { ReasonCode::NetworkApplyFailed, Check::NetworkApply, "netlink said no", {} });
            network_service::RemovalSummary summary;
            summary.removed.push_back("address 192.0.2.10/24 on eth0");
            return summary;
        };
    }

    void expectReset(const state::DeviceState& state)
    {
        auto status = state.load();
        ASSERT_TRUE(status) << status.error().message;
        EXPECT_EQ(status->status, state::DeviceStatus::AwaitingProvisioning);
        EXPECT_FALSE(status->applied);
        EXPECT_FALSE(status->lastAttempt);
        EXPECT_EQ(status->updatedAt, clock_);
        EXPECT_FALSE(fs::exists(state.credentialsDirectory() / state::kCertificateFileName));
        EXPECT_FALSE(fs::exists(state.credentialsDirectory() / state::kPrivateKeyFileName));
        auto list = state.appliedArchives();
        ASSERT_TRUE(list);
        EXPECT_EQ(*list, (std::vector<std::string> { shaOf('a'), shaOf('b') }));
        EXPECT_TRUE(*state.isAlreadyApplied(shaOf('b')));
        EXPECT_EQ(readFile(directory_.path() / "dns" / "resolv.conf"), "# managed by omni-provision\n");
    }

    TemporaryDirectory directory_;
    time::UnixTime clock_ = kStart;
    state::DeviceState state_ { directory_.path(), [this] { return clock_; } };
    int networkCalls_ = 0;
    bool failNetwork_ = false;
};

TEST_F(DeviceResetTest, ResetsToAwaitingProvisioningAndKeepsTheAppliedList)
{
    ASSERT_TRUE(fs::exists(state_.credentialsDirectory() / state::kPrivateKeyFileName));
    clock_ = kStart + 60;
    auto report = runReset(state_, network());
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(networkCalls_, 1);
    EXPECT_EQ(report->status.status, state::DeviceStatus::AwaitingProvisioning);
    EXPECT_NE(report->summary().find("address 192.0.2.10/24 on eth0"), std::string::npos)
        << report->summary();
    expectReset(state_);
    // The credentials directory is there again, empty and 0700.
    EXPECT_TRUE(fs::is_empty(state_.credentialsDirectory()));
    EXPECT_EQ(fs::status(state_.credentialsDirectory()).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST_F(DeviceResetTest, ResetOfAFreshDeviceIsHarmless)
{
    TemporaryDirectory fresh;
    state::DeviceState state(fresh.path(), [this] { return clock_; });
    auto report = runReset(state, network());
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(state.load()->status, state::DeviceStatus::AwaitingProvisioning);
    EXPECT_TRUE(state.appliedArchives()->empty());
}

TEST_F(DeviceResetTest, EveryInterruptionResumesToAwaitingProvisioning)
{
    for (const std::string_view step : { kStepNetwork, kStepState, kStepDone }) {
        SCOPED_TRACE(std::string(step));
        SetUp(); // provisioned again (a new archive each round is not needed: recordSuccess repeats)
        ResetHooks hooks;
        hooks.beforeStep = [step](std::string_view next) -> Result<void> {
            if (next == step)
                return tl::unexpected(interrupted(next));
            return {};
        };
        auto stopped = runReset(state_, network(), hooks);
        ASSERT_FALSE(stopped);
        EXPECT_NE(
            stopped.error().message.find("reset stopped at step " + std::string(step)), std::string::npos)
            << stopped.error().message;
        EXPECT_NE(stopped.error().message.find("stays DELETING"), std::string::npos);
        EXPECT_EQ(state_.load()->status, state::DeviceStatus::Deleting);
        // The archive in force is still known as applied while DELETING.
        EXPECT_TRUE(*state_.isAlreadyApplied(shaOf('b')));

        // The next start (a new process: a new DeviceState) finishes it.
        clock_ += 10;
        state::DeviceState restarted(directory_.path(), [this] { return clock_; });
        auto resumed = resumeReset(restarted, network());
        ASSERT_TRUE(resumed) << resumed.error().message;
        ASSERT_TRUE(*resumed);
        expectReset(restarted);

        // Nothing left to resume.
        auto again = resumeReset(restarted, network());
        ASSERT_TRUE(again);
        EXPECT_FALSE(*again);
    }
}

TEST_F(DeviceResetTest, ANetworkFailureLeavesDeletingAndTheCredentials)
{
    failNetwork_ = true;
    auto stopped = runReset(state_, network());
    ASSERT_FALSE(stopped);
    EXPECT_NE(stopped.error().message.find("network: netlink said no"), std::string::npos)
        << stopped.error().message;
    EXPECT_EQ(state_.load()->status, state::DeviceStatus::Deleting);
    EXPECT_TRUE(fs::exists(state_.credentialsDirectory() / state::kPrivateKeyFileName));

    failNetwork_ = false;
    auto resumed = resumeReset(state_, network());
    ASSERT_TRUE(resumed && *resumed);
    expectReset(state_);
}

TEST_F(DeviceResetTest, StagedCredentialsOfAnInterruptedSuccessGoToo)
{
    fs::create_directory(directory_.path() / (".credentials-" + shaOf('c')));
    writeFile(directory_.path() / (".credentials-" + shaOf('c')) / "private_key.pem", "k");
    fs::create_directory(directory_.path() / ".credentials.partial");
    auto report = runReset(state_, network());
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_FALSE(fs::exists(directory_.path() / (".credentials-" + shaOf('c'))));
    EXPECT_FALSE(fs::exists(directory_.path() / ".credentials.partial"));
}

TEST_F(DeviceResetTest, ResumeLeavesAnyOtherStatusAlone)
{
    const std::string before = readFile(state_.statusPath());
    auto resumed = resumeReset(state_, network());
    ASSERT_TRUE(resumed);
    EXPECT_FALSE(*resumed);
    EXPECT_EQ(networkCalls_, 0);
    EXPECT_EQ(readFile(state_.statusPath()), before);
}

TEST_F(DeviceResetTest, AnUnreadableStatusIsReplacedByTheReset)
{
    writeFile(state_.statusPath(), "{ not json");
    auto report = runReset(state_, network());
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(state_.load()->status, state::DeviceStatus::AwaitingProvisioning);
    EXPECT_EQ(*state_.appliedArchives(), (std::vector<std::string> { shaOf('a'), shaOf('b') }));
}

} // namespace
} // namespace omni::reset
