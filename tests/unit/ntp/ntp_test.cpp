// The NTP backends: the timesyncd drop-in against a temporary directory and
// a fake systemd manager on a private dbus-daemon; the chrony sources file
// with a stand-in chronyc that records how it was called.
#include <sys/stat.h>

#include <sstream>

#include <gtest/gtest.h>

#include "drivers/ntp/ntp_backend.hpp"
#include "tests/unit/dns/private_bus.hpp"
#include "tests/unit/dns/temporary_directory.hpp"

namespace omni::ntp {
namespace {

using omni::testing::FakeServicesOptions;
using omni::testing::FakeSystemServices;
using omni::testing::identityOf;
using omni::testing::PrivateBus;
using omni::testing::readFile;
using omni::testing::TemporaryDirectory;
using omni::testing::writeFile;
using Calls = std::vector<std::string>;

const Calls kRestart { "RestartUnit systemd-timesyncd.service replace" };

network::NtpPlan replace(std::vector<std::string> servers)
{
    return { network::NtpAction::Replace, std::move(servers) };
}

network::NtpPlan removeOverride()
{
    return { network::NtpAction::RemoveOverride, {} };
}

TEST(NtpServerText, SplitsAPortOffAnIpv4AddressOnly)
{
    EXPECT_EQ(parseNtpServer("pool.ntp.org"), (NtpServer { "pool.ntp.org", std::nullopt }));
    EXPECT_EQ(parseNtpServer("192.0.2.1"), (NtpServer { "192.0.2.1", std::nullopt }));
    EXPECT_EQ(parseNtpServer("192.0.2.1:1123"), (NtpServer { "192.0.2.1", 1123 }));
}

class TimesyncdTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (const std::string why = omni::testing::whyPrivateBusUnavailable(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        bus = std::make_unique<PrivateBus>();
    }

    void startServices(const FakeServicesOptions& options = {})
    {
        services = std::make_unique<FakeSystemServices>(*bus, options);
        auto opened = TimesyncdBackend::open(dropInDirectory, bus->address());
        ASSERT_TRUE(opened) << opened.error().message;
        backend = std::move(*opened);
    }

    TemporaryDirectory directory;
    std::filesystem::path dropInDirectory = directory / "timesyncd.conf.d";
    std::filesystem::path dropIn = dropInDirectory / "50-omni-provision.conf";
    std::unique_ptr<PrivateBus> bus;
    std::unique_ptr<FakeSystemServices> services;
    std::unique_ptr<TimesyncdBackend> backend;
};

TEST_F(TimesyncdTest, WritesTheDropInAndRestartsTimesyncd)
{
    startServices();
    auto applied = backend->apply(replace({ "ntp1.example.com", "192.0.2.123" }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_TRUE(applied->changed);
    EXPECT_TRUE(applied->warnings.empty());
    EXPECT_EQ(readFile(dropIn), "# managed by omni-provision\n[Time]\nNTP=ntp1.example.com 192.0.2.123\n");
    EXPECT_EQ(services->calls(), kRestart);
    auto inForce = backend->serversInForce();
    ASSERT_TRUE(inForce);
    EXPECT_EQ(inForce->value(), (std::vector<std::string> { "ntp1.example.com", "192.0.2.123" }));
}

TEST_F(TimesyncdTest, TheSameServersAgainNeitherRewriteNorRestart)
{
    startServices();
    ASSERT_TRUE(backend->apply(replace({ "192.0.2.123" })));
    const auto before = identityOf(dropIn);
    services->clearCalls();
    auto again = backend->apply(replace({ "192.0.2.123" }));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_FALSE(again->changed);
    EXPECT_EQ(identityOf(dropIn), before);
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(TimesyncdTest, APortIsDroppedWithAWarningUnlessItIs123)
{
    startServices();
    auto applied = backend->apply(replace({ "192.0.2.1:1123", "192.0.2.2:123" }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(readFile(dropIn), "# managed by omni-provision\n[Time]\nNTP=192.0.2.1 192.0.2.2\n");
    ASSERT_EQ(applied->warnings.size(), 1U);
    EXPECT_NE(applied->warnings[0].find("192.0.2.1:1123"), std::string::npos) << applied->warnings[0];
    EXPECT_NE(applied->warnings[0].find("1123"), std::string::npos);
}

TEST_F(TimesyncdTest, AnEmptyListRemovesOurDropInAndRestarts)
{
    startServices();
    ASSERT_TRUE(backend->apply(replace({ "192.0.2.123" })));
    services->clearCalls();
    auto removed = backend->apply(removeOverride());
    ASSERT_TRUE(removed) << removed.error().message;
    EXPECT_TRUE(removed->changed);
    EXPECT_FALSE(std::filesystem::exists(dropIn));
    EXPECT_EQ(services->calls(), kRestart);
    auto inForce = backend->serversInForce();
    ASSERT_TRUE(inForce);
    EXPECT_FALSE(inForce->has_value());
    // Nothing to remove: no restart.
    services->clearCalls();
    auto again = backend->apply(removeOverride());
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->changed);
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(TimesyncdTest, UntouchedChangesNothing)
{
    startServices();
    auto applied = backend->apply({});
    ASSERT_TRUE(applied);
    EXPECT_FALSE(applied->changed);
    EXPECT_FALSE(std::filesystem::exists(dropInDirectory));
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(TimesyncdTest, RestoreBringsBackTheExactFileAndRestarts)
{
    startServices();
    ASSERT_TRUE(std::filesystem::create_directory(dropInDirectory));
    const std::string original = "[Time]\nNTP=factory.example.com\n# no newline at the end";
    writeFile(dropIn, original);
    auto snapshot = backend->snapshot();
    ASSERT_TRUE(snapshot);
    ASSERT_TRUE(backend->apply(replace({ "192.0.2.123" })));
    services->clearCalls();
    auto restored = backend->restore(*snapshot);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_TRUE(*restored);
    EXPECT_EQ(readFile(dropIn), original);
    EXPECT_EQ(services->calls(), kRestart);
    services->clearCalls();
    ASSERT_TRUE(backend->restore(*snapshot));
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(TimesyncdTest, ARefusedRestartIsNetworkApplyFailed)
{
    startServices({ { "RestartUnit" }, {} });
    auto applied = backend->apply(replace({ "192.0.2.123" }));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_NE(applied.error().message.find("RestartUnit systemd-timesyncd.service"), std::string::npos)
        << applied.error().message;
    EXPECT_NE(applied.error().message.find("AccessDenied"), std::string::npos) << applied.error().message;
}

class ChronyTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        // A stand-in chronyc: records its arguments, or fails like the real
        // one does when chronyd is not running.
        writeFile(chronyc,
            "#!/bin/sh\necho \"$@\" >> '" + (directory / "chronyc.calls").string() + "'\nif [ -e '"
                + (directory / "fail").string()
                + "' ]; then echo '506 Cannot talk to daemon' >&2; exit 1; fi\nexit 0\n");
        ASSERT_EQ(::chmod(chronyc.c_str(), 0755), 0);
    }

    Calls chronycCalls() const
    {
        Calls lines;
        std::istringstream text(readFile(directory / "chronyc.calls"));
        for (std::string line; std::getline(text, line);) {
            lines.push_back(line);
        }
        return lines;
    }

    TemporaryDirectory directory;
    std::filesystem::path chronyc = directory / "chronyc";
    std::filesystem::path sources = directory / "omni-provision.sources";
    ChronyBackend backend { sources, chronyc };
};

TEST_F(ChronyTest, WritesServerLinesWithPortsAndReloadsSources)
{
    auto applied = backend.apply(replace({ "ntp1.example.com", "192.0.2.1:1123", "192.0.2.2:123" }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_TRUE(applied->changed);
    EXPECT_TRUE(applied->warnings.empty());
    EXPECT_EQ(readFile(sources),
        "# managed by omni-provision\nserver ntp1.example.com iburst\nserver 192.0.2.1 iburst port 1123\n"
        "server 192.0.2.2 iburst\n");
    EXPECT_EQ(chronycCalls(), Calls { "reload sources" });
    auto inForce = backend.serversInForce();
    ASSERT_TRUE(inForce);
    EXPECT_EQ(
        inForce->value(), (std::vector<std::string> { "ntp1.example.com", "192.0.2.1:1123", "192.0.2.2" }));
}

TEST_F(ChronyTest, TheSameServersAgainNeitherRewriteNorReload)
{
    ASSERT_TRUE(backend.apply(replace({ "192.0.2.1" })));
    const auto before = identityOf(sources);
    auto again = backend.apply(replace({ "192.0.2.1" }));
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->changed);
    EXPECT_EQ(identityOf(sources), before);
    EXPECT_EQ(chronycCalls(), Calls { "reload sources" });
}

TEST_F(ChronyTest, AnEmptyListRemovesTheFileAndReloads)
{
    ASSERT_TRUE(backend.apply(replace({ "192.0.2.1" })));
    auto removed = backend.apply(removeOverride());
    ASSERT_TRUE(removed);
    EXPECT_TRUE(removed->changed);
    EXPECT_FALSE(std::filesystem::exists(sources));
    EXPECT_EQ(chronycCalls(), (Calls { "reload sources", "reload sources" }));
}

TEST_F(ChronyTest, AFailingChronycIsNetworkApplyFailedWithItsStderr)
{
    writeFile(directory / "fail", "");
    auto applied = backend.apply(replace({ "192.0.2.1" }));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_NE(applied.error().message.find("506 Cannot talk to daemon"), std::string::npos)
        << applied.error().message;
    EXPECT_NE(applied.error().message.find("exit 1"), std::string::npos) << applied.error().message;
}

TEST_F(ChronyTest, RestoreBringsBackTheAbsenceAndReloads)
{
    auto snapshot = backend.snapshot();
    ASSERT_TRUE(snapshot);
    ASSERT_TRUE(backend.apply(replace({ "192.0.2.1" })));
    auto restored = backend.restore(*snapshot);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_TRUE(*restored);
    EXPECT_FALSE(std::filesystem::exists(sources));
    EXPECT_EQ(chronycCalls(), (Calls { "reload sources", "reload sources" }));
}

TEST(NtpSelection, FollowsTheConfiguration)
{
    TemporaryDirectory directory;
    config::NtpConfig configuration;
    configuration.backend = config::NtpBackend::Chrony;
    configuration.chronySourcesPath = directory / "x.sources";
    auto chrony = makeNtpBackend(configuration);
    ASSERT_TRUE(chrony);
    EXPECT_EQ((*chrony)->name(), "chrony");
    configuration.backend = config::NtpBackend::None;
    auto none = makeNtpBackend(configuration);
    ASSERT_TRUE(none);
    EXPECT_EQ((*none)->name(), "none");
    auto applied = (*none)->apply(replace({ "192.0.2.1" }));
    ASSERT_TRUE(applied);
    EXPECT_FALSE(applied->changed);
}

} // namespace
} // namespace omni::ntp
