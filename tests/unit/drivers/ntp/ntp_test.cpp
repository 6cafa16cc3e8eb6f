// The NTP backends: the timesyncd drop-in against a temporary directory and
// a fake systemd manager on a private dbus-daemon; the chrony sources file
// against the same fake manager.
#include <sys/stat.h>

#include <sstream>

#include <gtest/gtest.h>

#include "drivers/ntp/ntp_backend.hpp"
#include "tests/support/private_bus.hpp"
#include "tests/support/temporary_directory.hpp"

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

// Both backends restart their service through a fake systemd manager on a
// private bus; `Backend` is made by the fixture's makeBackend().
template <typename Backend> class BackendOnPrivateBus : public ::testing::Test {
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
        makeBackend();
    }
    virtual void makeBackend() = 0;

    TemporaryDirectory directory;
    std::unique_ptr<PrivateBus> bus;
    std::unique_ptr<FakeSystemServices> services;
    std::unique_ptr<Backend> backend;
};

class TimesyncdTest : public BackendOnPrivateBus<TimesyncdBackend> {
protected:
    void makeBackend() override
    {
        auto opened = TimesyncdBackend::open(dropInDirectory, bus->address());
        ASSERT_TRUE(opened) << opened.error().message;
        backend = std::move(*opened);
    }

    std::filesystem::path dropInDirectory = directory / "timesyncd.conf.d";
    std::filesystem::path dropIn = dropInDirectory / "50-omni-provision.conf";
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

const Calls kRestartChrony { "RestartUnit chrony.service replace" };

// chrony.service is restarted over D-Bus like timesyncd (chronyc cannot
// reach chronyd's socket under the hardened unit).
class ChronyTest : public BackendOnPrivateBus<ChronyBackend> {
protected:
    void SetUp() override
    {
        BackendOnPrivateBus::SetUp();
        std::filesystem::create_directories(sourcesDirectory);
    }
    void makeBackend() override { backend = std::make_unique<ChronyBackend>(sources, bus->address()); }

    std::filesystem::path sourcesDirectory = directory / "sources.d";
    std::filesystem::path sources = sourcesDirectory / "omni-provision.sources";
};

TEST_F(ChronyTest, WritesServerLinesWithPortsAndRestartsChrony)
{
    startServices();
    auto applied = backend->apply(replace({ "ntp1.example.com", "192.0.2.1:1123", "192.0.2.2:123" }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_TRUE(applied->changed);
    EXPECT_TRUE(applied->warnings.empty());
    EXPECT_EQ(readFile(sources),
        "# managed by omni-provision\nserver ntp1.example.com iburst\nserver 192.0.2.1 iburst port 1123\n"
        "server 192.0.2.2 iburst\n");
    struct stat status { };
    ASSERT_EQ(::stat(sources.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 0644U);
    EXPECT_EQ(services->calls(), kRestartChrony);
    auto inForce = backend->serversInForce();
    ASSERT_TRUE(inForce);
    EXPECT_EQ(
        inForce->value(), (std::vector<std::string> { "ntp1.example.com", "192.0.2.1:1123", "192.0.2.2" }));
}

TEST_F(ChronyTest, TheSameServersAgainNeitherRewriteNorRestart)
{
    startServices();
    ASSERT_TRUE(backend->apply(replace({ "192.0.2.1" })));
    const auto before = identityOf(sources);
    auto again = backend->apply(replace({ "192.0.2.1" }));
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->changed);
    EXPECT_EQ(identityOf(sources), before);
    EXPECT_EQ(services->calls(), kRestartChrony);
}

TEST_F(ChronyTest, AnEmptyListRemovesTheFileAndRestarts)
{
    startServices();
    ASSERT_TRUE(backend->apply(replace({ "192.0.2.1" })));
    auto removed = backend->apply(removeOverride());
    ASSERT_TRUE(removed);
    EXPECT_TRUE(removed->changed);
    EXPECT_FALSE(std::filesystem::exists(sources));
    EXPECT_EQ(services->calls(), (Calls { kRestartChrony[0], kRestartChrony[0] }));
    // Nothing left to remove: no restart, no check.
    auto again = backend->apply(removeOverride());
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->changed);
    EXPECT_EQ(services->calls().size(), 2U);
}

TEST_F(ChronyTest, ARefusedRestartIsNetworkApplyFailed)
{
    startServices({ { "RestartUnit" }, {} });
    auto applied = backend->apply(replace({ "192.0.2.1" }));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_NE(applied.error().message.find("RestartUnit chrony.service"), std::string::npos)
        << applied.error().message;
}

TEST_F(ChronyTest, NoSystemdManagerOnTheBusFailsBeforeTheFileIsWritten)
{
    // A bus without org.freedesktop.systemd1: the step and its rollback
    // could not restart chrony, so nothing is written.
    makeBackend();
    auto snapshot = backend->snapshot();
    ASSERT_TRUE(snapshot);
    auto applied = backend->apply(replace({ "192.0.2.1" }));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_NE(applied.error().message.find("org.freedesktop.systemd1"), std::string::npos)
        << applied.error().message;
    EXPECT_FALSE(std::filesystem::exists(sources));
    auto restored = backend->restore(*snapshot);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_FALSE(*restored);
}

TEST_F(ChronyTest, AUnitThatIsNotInstalledFailsBeforeTheFileIsWritten)
{
    startServices({ { "GetUnitFileState" }, {} });
    auto applied = backend->apply(replace({ "192.0.2.1" }));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_NE(applied.error().message.find("chrony.service cannot be restarted"), std::string::npos)
        << applied.error().message;
    EXPECT_FALSE(std::filesystem::exists(sources));
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(TimesyncdTest, AUnitThatIsNotInstalledFailsBeforeTheDropInIsWritten)
{
    startServices({ { "GetUnitFileState" }, {} });
    auto applied = backend->apply(replace({ "192.0.2.123" }));
    ASSERT_FALSE(applied);
    EXPECT_NE(
        applied.error().message.find("systemd-timesyncd.service cannot be restarted"), std::string::npos)
        << applied.error().message;
    EXPECT_FALSE(std::filesystem::exists(dropIn));
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(ChronyTest, AMissingSourcesDirectoryFailsBeforeAnythingNamingIt)
{
    startServices();
    ChronyBackend missing(directory / "absent" / "omni-provision.sources", bus->address());
    auto applied = missing.apply(replace({ "192.0.2.1" }));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_NE(applied.error().message.find((directory / "absent").string()), std::string::npos)
        << applied.error().message;
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(ChronyTest, RestoreBringsBackTheAbsenceAndRestarts)
{
    startServices();
    auto snapshot = backend->snapshot();
    ASSERT_TRUE(snapshot);
    ASSERT_TRUE(backend->apply(replace({ "192.0.2.1" })));
    auto restored = backend->restore(*snapshot);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_TRUE(*restored);
    EXPECT_FALSE(std::filesystem::exists(sources));
    EXPECT_EQ(services->calls(), (Calls { kRestartChrony[0], kRestartChrony[0] }));
}

// ntp.backend: auto against the fake manager: which units are "installed"
// is what GetUnitFileState answers.
class AutoTest : public BackendOnPrivateBus<AutoNtpBackend> {
protected:
    void SetUp() override
    {
        BackendOnPrivateBus::SetUp();
        std::filesystem::create_directories(ntpOptions.timesyncdDropInDirectory);
        std::filesystem::create_directories(ntpOptions.chronySourcesPath.parent_path());
    }
    void startWithout(std::vector<std::string> missingUnits)
    {
        FakeServicesOptions options;
        options.missingUnits = std::move(missingUnits);
        startServices(options);
    }
    void makeBackend() override { backend = std::make_unique<AutoNtpBackend>(ntpOptions, bus->address()); }

    Options ntpOptions { BackendChoice::Auto, directory / "timesyncd.conf.d",
        directory / "sources.d" / "omni-provision.sources" };
    std::filesystem::path dropIn = ntpOptions.timesyncdDropInDirectory / "50-omni-provision.conf";
};

TEST_F(AutoTest, PicksChronyWhenItsServiceIsInstalled)
{
    startServices(); // both units answer: chrony wins
    auto snapshot = backend->snapshot();
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    auto applied = backend->apply(replace({ "192.0.2.1" }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_TRUE(applied->changed);
    EXPECT_EQ(backend->name(), "auto: chrony");
    EXPECT_EQ(
        readFile(ntpOptions.chronySourcesPath), "# managed by omni-provision\nserver 192.0.2.1 iburst\n");
    EXPECT_FALSE(std::filesystem::exists(dropIn));
    EXPECT_EQ(services->calls(), kRestartChrony);
    // The rollback goes through the backend that took the snapshot.
    auto restored = backend->restore(*snapshot);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_TRUE(*restored);
    EXPECT_FALSE(std::filesystem::exists(ntpOptions.chronySourcesPath));
}

TEST_F(AutoTest, PicksChronyWhenTimesyncdIsMissing)
{
    startWithout({ "systemd-timesyncd.service" });
    auto applied = backend->apply(replace({ "192.0.2.1" }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(backend->name(), "auto: chrony");
    EXPECT_TRUE(std::filesystem::exists(ntpOptions.chronySourcesPath));
    EXPECT_EQ(services->calls(), kRestartChrony);
}

TEST_F(AutoTest, PicksTimesyncdWhenOnlyItIsInstalled)
{
    startWithout({ "chrony.service" });
    ASSERT_TRUE(backend->snapshot());
    auto applied = backend->apply(replace({ "192.0.2.123" }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(backend->name(), "auto: timesyncd");
    EXPECT_EQ(readFile(dropIn), "# managed by omni-provision\n[Time]\nNTP=192.0.2.123\n");
    EXPECT_FALSE(std::filesystem::exists(ntpOptions.chronySourcesPath));
    EXPECT_EQ(services->calls(), kRestart);
    auto inForce = backend->serversInForce();
    ASSERT_TRUE(inForce);
    EXPECT_EQ(inForce->value(), (std::vector<std::string> { "192.0.2.123" }));
}

TEST_F(AutoTest, NeitherServiceFailsNamingBothAndChangesNothing)
{
    startWithout({ "chrony.service", "systemd-timesyncd.service" });
    auto snapshot = backend->snapshot();
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    auto applied = backend->apply(replace({ "192.0.2.1" }));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    const std::string& message = applied.error().message;
    for (const char* expected : { "chrony.service", "systemd-timesyncd.service",
             "install chrony or systemd-timesyncd", "ntp.backend", "nothing was changed" }) {
        EXPECT_NE(message.find(expected), std::string::npos) << expected << " in " << message;
    }
    EXPECT_FALSE(std::filesystem::exists(ntpOptions.chronySourcesPath));
    EXPECT_FALSE(std::filesystem::exists(dropIn));
    EXPECT_EQ(services->calls(), Calls {});
    auto restored = backend->restore(*snapshot);
    ASSERT_TRUE(restored);
    EXPECT_FALSE(*restored);
    // A manifest without NtpServers, or an empty list with no override of
    // ours, needs neither service.
    auto untouched = backend->apply({ network::NtpAction::Untouched, {} });
    ASSERT_TRUE(untouched) << untouched.error().message;
    EXPECT_FALSE(untouched->changed);
    auto removed = backend->apply(removeOverride());
    ASSERT_TRUE(removed) << removed.error().message;
    EXPECT_FALSE(removed->changed);
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(AutoTest, ChoosesAgainAtEveryTransaction)
{
    // Installed later: the first provisioning sees timesyncd only, a later
    // one chrony, with the same backend object (no restart or reload).
    startWithout({ "chrony.service" });
    ASSERT_TRUE(backend->snapshot());
    ASSERT_TRUE(backend->apply(replace({ "192.0.2.1" })));
    EXPECT_EQ(backend->name(), "auto: timesyncd");
    services.reset();
    services = std::make_unique<FakeSystemServices>(*bus);
    ASSERT_TRUE(backend->snapshot());
    auto applied = backend->apply(replace({ "192.0.2.1" }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(backend->name(), "auto: chrony");
    EXPECT_TRUE(std::filesystem::exists(ntpOptions.chronySourcesPath));
}

TEST(NtpSelection, FollowsTheConfiguration)
{
    TemporaryDirectory directory;
    Options options;
    options.backend = BackendChoice::Chrony;
    options.chronySourcesPath = directory / "x.sources";
    auto chrony = makeNtpBackend(options);
    ASSERT_TRUE(chrony);
    EXPECT_EQ((*chrony)->name(), "chrony");
    options.backend = BackendChoice::None;
    auto none = makeNtpBackend(options);
    ASSERT_TRUE(none);
    EXPECT_EQ((*none)->name(), "none");
    options.backend = BackendChoice::Auto;
    auto automatic = makeNtpBackend(options);
    ASSERT_TRUE(automatic);
    EXPECT_EQ((*automatic)->name(), "auto"); // nothing chosen before a transaction
    EXPECT_EQ(Options {}.backend, BackendChoice::Auto); // the default
    auto applied = (*none)->apply(replace({ "192.0.2.1" }));
    ASSERT_TRUE(applied);
    EXPECT_FALSE(applied->changed);
}

} // namespace
} // namespace omni::ntp
