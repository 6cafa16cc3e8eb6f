// The systemd-resolved backend against a private dbus-daemon and a fake
// resolved that records every call.
#include <gtest/gtest.h>

#include "drivers/dns/resolved_backend.hpp"
#include "tests/support/private_bus.hpp"
#include "tests/support/temporary_directory.hpp"

namespace omni::dns {
namespace {

using omni::testing::FakeServicesOptions;
using omni::testing::FakeSystemServices;
using omni::testing::PrivateBus;
using Calls = std::vector<std::string>;

class ResolvedTest : public ::testing::Test {
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
        auto opened = ResolvedBackend::open(bus->address());
        ASSERT_TRUE(opened) << opened.error().message;
        backend = std::move(*opened);
    }

    std::unique_ptr<PrivateBus> bus;
    std::unique_ptr<FakeSystemServices> services;
    std::unique_ptr<ResolvedBackend> backend;
};

DnsSettings links(std::vector<LinkDns> list)
{
    DnsSettings settings;
    settings.links = std::move(list);
    return settings;
}

TEST_F(ResolvedTest, SetsEachLinksServersWithItsIfindexAndAddressFamilies)
{
    startServices();
    auto applied = backend->apply(
        links({ { 3, "eth0", { "192.0.2.53", "2001:db8::53" } }, { 4, "eth1", { "198.51.100.53" } } }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_TRUE(applied->changed);
    EXPECT_EQ(
        services->calls(), (Calls { "SetLinkDNS 3 192.0.2.53 2001:db8::53", "SetLinkDNS 4 198.51.100.53" }));
    auto inForce = backend->serversInForce(3);
    ASSERT_TRUE(inForce) << inForce.error().message;
    EXPECT_EQ(*inForce, (std::vector<std::string> { "192.0.2.53", "2001:db8::53" }));
}

TEST_F(ResolvedTest, ApplyingWhatIsInForceMakesNoCall)
{
    startServices();
    const DnsSettings settings = links({ { 3, "eth0", { "192.0.2.53" } }, { 4, "eth1", {} } });
    ASSERT_TRUE(backend->apply(settings));
    services->clearCalls();
    auto again = backend->apply(settings);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_FALSE(again->changed);
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(ResolvedTest, ALinkWeNoLongerGiveServersIsReverted)
{
    startServices({ {}, { "5=10.0.0.1" } });
    auto applied = backend->apply(links({ { 5, "eth1", {} } }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(services->calls(), Calls { "RevertLink 5" });
    auto inForce = backend->serversInForce(5);
    ASSERT_TRUE(inForce);
    EXPECT_TRUE(inForce->empty());
}

// A reset: each given link that has servers is reverted, an empty one costs no call.
TEST_F(ResolvedTest, RemoveOverrideRevertsTheLinksThatHaveServers)
{
    startServices({ {}, { "5=10.0.0.1" } });
    auto removed = backend->removeOverride(links({ { 5, "eth1", { "ignored" } }, { 6, "eth2", {} } }));
    ASSERT_TRUE(removed) << removed.error().message;
    EXPECT_TRUE(*removed);
    EXPECT_EQ(services->calls(), Calls { "RevertLink 5" });
    services->clearCalls();
    auto again = backend->removeOverride(links({ { 5, "eth1", {} } }));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_FALSE(*again);
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(ResolvedTest, RestorePutsBackEachLinksServersAsTheyWere)
{
    startServices({ {}, { "3=203.0.113.1,2001:db8::1" } });
    const DnsSettings settings
        = links({ { 3, "eth0", { "192.0.2.53" } }, { 4, "eth1", { "198.51.100.53" } } });
    auto snapshot = backend->snapshot(settings);
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    ASSERT_TRUE(backend->apply(settings));
    services->clearCalls();
    auto restored = backend->restore(*snapshot);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_TRUE(*restored);
    EXPECT_EQ(services->calls(), (Calls { "SetLinkDNS 3 203.0.113.1 2001:db8::1", "RevertLink 4" }));
    services->clearCalls();
    auto again = backend->restore(*snapshot);
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(ResolvedTest, ARefusedCallIsNetworkApplyFailedWithTheBusError)
{
    startServices({ { "SetLinkDNS" }, {} });
    auto applied = backend->apply(links({ { 3, "eth0", { "192.0.2.53" } } }));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_EQ(applied.error().check, Check::NetworkApply);
    const std::string& message = applied.error().message;
    EXPECT_NE(message.find("SetLinkDNS"), std::string::npos) << message;
    EXPECT_NE(message.find("eth0"), std::string::npos) << message;
    EXPECT_NE(message.find("org.freedesktop.DBus.Error.AccessDenied"), std::string::npos) << message;
}

TEST_F(ResolvedTest, WithoutResolvedOnTheBusTheSnapshotFailsSayingSo)
{
    auto opened = ResolvedBackend::open(bus->address());
    ASSERT_TRUE(opened) << opened.error().message;
    auto snapshot = (*opened)->snapshot(links({ { 3, "eth0", { "192.0.2.53" } } }));
    ASSERT_FALSE(snapshot);
    EXPECT_EQ(snapshot.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_NE(snapshot.error().message.find("GetLink"), std::string::npos) << snapshot.error().message;
    EXPECT_NE(snapshot.error().message.find("ServiceUnknown"), std::string::npos) << snapshot.error().message;
}

TEST_F(ResolvedTest, AutoSelectsResolvedForAStubSymlink)
{
    startServices();
    omni::testing::TemporaryDirectory directory;
    Options options;
    options.resolvConfPath = directory / "resolv.conf";
    std::filesystem::create_symlink("/run/systemd/resolve/stub-resolv.conf", options.resolvConfPath);
    auto selected = makeDnsBackend(options, bus->address());
    ASSERT_TRUE(selected) << selected.error().message;
    EXPECT_EQ((*selected)->name(), "resolved");
    ASSERT_TRUE((*selected)->apply(links({ { 9, "eth0", { "192.0.2.9" } } })));
    EXPECT_EQ(services->calls(), Calls { "SetLinkDNS 9 192.0.2.9" });
}

TEST(DnsAddress, ParsesAndFormatsBothFamilies)
{
    EXPECT_EQ(formatDnsAddress(parseDnsAddress("192.0.2.1").value()), "192.0.2.1");
    EXPECT_EQ(parseDnsAddress("192.0.2.1")->bytes.size(), 4U);
    EXPECT_EQ(formatDnsAddress(parseDnsAddress("2001:DB8::1").value()), "2001:db8::1");
    EXPECT_FALSE(parseDnsAddress("dns.example.com"));
    EXPECT_FALSE(parseDnsAddress("192.0.2.1:53"));
}

} // namespace
} // namespace omni::dns
