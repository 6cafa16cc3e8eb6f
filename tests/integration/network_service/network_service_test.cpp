// The whole network transaction end to end: Ethernet0 static and Ethernet1
// DHCP in a device namespace (the real kernel through libnl, the real
// dhcpcd against dnsmasq), DNS in a resolv.conf of a temporary directory,
// NTP through the timesyncd drop-in with a fake systemd manager on a
// private bus. iproute2 is the independent reader.
#include <gtest/gtest.h>

#include "daemon/core/manifest/ipv4.hpp"
#include "daemon/device/network/network_service.hpp"
#include "drivers/netlink/netlink_backend.hpp"
#include "tests/integration/dhcp/dhcp_lab.hpp"
#include "tests/support/private_bus.hpp"

#ifndef OMNI_DHCPCD_HOOK_SOURCE
#error "OMNI_DHCPCD_HOOK_SOURCE must name drivers/dhcp/dhcpcd-hook"
#endif

namespace omni::network_service {
namespace {

using namespace std::chrono_literals;
using network::EthernetPort;
using network::InterfaceMatcher;
using network::MatchKind;
using omni::testing::DhcpLab;
using omni::testing::identityOf;
using omni::testing::ipJson;
using omni::testing::readFile;
using omni::testing::waitUntil;
using Calls = std::vector<std::string>;

constexpr auto kLeaseTimeout = 40s;

manifest::EthernetPayload staticEthernet(
    const std::string& address, int prefixLength, const std::string& gateway, std::vector<std::string> dns)
{
    manifest::StaticIpConnectionInfo info;
    info.ipAddress = address;
    info.mask = std::to_string(prefixLength);
    info.defaultGateway = gateway;
    info.dns = std::move(dns);
    info.address = manifest::parseIpv4(address).value();
    info.prefixLength = prefixLength;
    info.gateway = manifest::parseIpv4(gateway).value();
    return { manifest::ConnectionType::StaticIp, info };
}

manifest::EthernetPayload dhcpEthernet()
{
    return { manifest::ConnectionType::Dhcp, std::nullopt };
}

class NetworkServiceTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (const std::string why = omni::testing::whyPrivateBusUnavailable(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        hostResolvConf = readFile("/etc/resolv.conf");
        lab.addLink(port0, peer0, "10.60.0.1/24");
        lab.addLink(port1, peer1, "10.77.0.1/24");
        lab.serveDhcp(peer1, {});
        omni::testing::runInNamespace(lab.deviceNamespace(), [&] {
            auto opened = netlink::NetlinkBackend::open();
            ASSERT_TRUE(opened) << opened.error().message;
            kernel = std::move(*opened);
        });
        ASSERT_TRUE(kernel);
        bus = std::make_unique<omni::testing::PrivateBus>();
        services = std::make_unique<omni::testing::FakeSystemServices>(*bus);
        auto timesyncd = ntp::TimesyncdBackend::open(lab.directory() / "timesyncd.conf.d", bus->address());
        ASSERT_TRUE(timesyncd) << timesyncd.error().message;
        ntpBackend = std::move(*timesyncd);
        dns = std::make_unique<dns::ResolvConfBackend>(resolvConf);
        dhcp::SupervisorOptions options;
        options.hookPath = OMNI_DHCPCD_HOOK_SOURCE;
        options.runtimeDirectory = lab.directory() / "run";
        options.networkNamespace = lab.deviceNamespacePath();
        supervisor = std::make_unique<dhcp::DhcpSupervisor>(options);
        mapping.ethernet0.matcher = InterfaceMatcher { MatchKind::Name, port0 };
        mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::Name, port1 };
        service = makeService(*dns);
    }

    void TearDown() override
    {
        service.reset();
        supervisor.reset();
        kernel.reset();
        if (!hostResolvConf.empty()) {
            EXPECT_EQ(readFile("/etc/resolv.conf"), hostResolvConf);
        }
    }

    std::unique_ptr<NetworkService> makeService(dns::DnsBackend& dnsBackend)
    {
        const std::string deviceNamespace = lab.deviceNamespace();
        return std::make_unique<NetworkService>(*kernel, dnsBackend, *ntpBackend, *supervisor, mapping,
            [deviceNamespace](const netlink::InterfaceIdentity& interface) -> std::optional<bool> {
                const auto link = ipJson({ "-n", deviceNamespace, "link", "show", "dev", interface.name });
                if (link.empty()) {
                    return std::nullopt;
                }
                const auto& flags = link[0]["flags"];
                return std::find(flags.begin(), flags.end(), "LOWER_UP") != flags.end();
            });
    }

    manifest::NetworkingConfiguration staticAndDhcp()
    {
        manifest::NetworkingConfiguration configuration;
        configuration.ethernet0 = staticEthernet("10.60.0.2", 24, "10.60.0.1", { "192.0.2.53" });
        configuration.ethernet1 = dhcpEthernet();
        return configuration;
    }

    std::optional<dhcp::Lease> waitForLease(const std::string& device)
    {
        std::optional<dhcp::Lease> lease;
        waitUntil(
            [&] {
                supervisor->reap();
                lease = supervisor->lease(device);
                return lease.has_value();
            },
            kLeaseTimeout, 50ms);
        return lease;
    }

    nlohmann::json defaultRoutesOf(const std::string& device)
    {
        return ipJson({ "-n", lab.deviceNamespace(), "-4", "route", "show", "default", "dev", device });
    }

    // Everything the kernel shows about the device namespace's IPv4 side.
    std::string kernelState()
    {
        return ipJson({ "-n", lab.deviceNamespace(), "-4", "address", "show" }).dump(1) + "\n"
            + ipJson({ "-n", lab.deviceNamespace(), "-4", "route", "show", "table", "all" }).dump(1) + "\n"
            + ipJson({ "-n", lab.deviceNamespace(), "link", "show" }).dump(1);
    }

    DhcpLab lab;
    std::string port0 = DhcpLab::interfaceName("ons", "a");
    std::string port1 = DhcpLab::interfaceName("ons", "b");
    std::string peer0 = DhcpLab::interfaceName("onp", "a");
    std::string peer1 = DhcpLab::interfaceName("onp", "b");
    std::filesystem::path resolvConf = lab.directory() / "resolv.conf";
    std::filesystem::path dropIn = lab.directory() / "timesyncd.conf.d" / "50-omni-provision.conf";
    std::string hostResolvConf;
    std::unique_ptr<netlink::NetlinkBackend> kernel;
    std::unique_ptr<omni::testing::PrivateBus> bus;
    std::unique_ptr<omni::testing::FakeSystemServices> services;
    std::unique_ptr<ntp::NtpBackend> ntpBackend;
    std::unique_ptr<dns::DnsBackend> dns;
    std::unique_ptr<dhcp::DhcpSupervisor> supervisor;
    network::InterfaceMapping mapping;
    std::unique_ptr<NetworkService> service;
};

TEST_F(NetworkServiceTest, StaticAndDhcpEndToEndThenTheSameAgainChangesNothing)
{
    auto applied = service->apply(staticAndDhcp());
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_GT(applied->changeRequests, 0U);
    EXPECT_EQ(applied->dhcpStarted, std::vector<std::string> { port1 });
    EXPECT_TRUE(applied->dnsChanged);
    EXPECT_FALSE(applied->ntpChanged); // no Ntp in the manifest and no lease yet
    EXPECT_EQ(readFile(resolvConf), "# managed by omni-provision\nnameserver 192.0.2.53\n");
    EXPECT_EQ(lab.addressesOf(port0), std::vector<std::string> { "10.60.0.2/24" });
    const auto routes0 = defaultRoutesOf(port0);
    ASSERT_EQ(routes0.size(), 1U) << routes0.dump();
    EXPECT_EQ(routes0[0]["gateway"], "10.60.0.1");
    EXPECT_EQ(routes0[0]["metric"], 100);

    // The lease arrives later; its DNS joins the static one, its NTP applies
    // because the manifest sets none.
    const auto lease = waitForLease(port1);
    ASSERT_TRUE(lease) << readFile(lab.directory() / "run" / "dhcp" / (port1 + ".log"));
    auto refreshed = service->refreshFromLeases();
    ASSERT_TRUE(refreshed) << refreshed.error().message;
    EXPECT_TRUE(refreshed->dnsChanged);
    EXPECT_TRUE(refreshed->ntpChanged);
    EXPECT_EQ(readFile(resolvConf),
        "# managed by omni-provision\nnameserver 192.0.2.53\nnameserver 10.77.0.53\nnameserver 10.77.0.54\n");
    EXPECT_EQ(readFile(dropIn), "# managed by omni-provision\n[Time]\nNTP=10.77.0.123\n");
    EXPECT_EQ(services->calls(), Calls { "RestartUnit systemd-timesyncd.service replace" });
    const auto routes1 = defaultRoutesOf(port1);
    ASSERT_EQ(routes1.size(), 1U) << routes1.dump();
    EXPECT_EQ(routes1[0]["metric"], 200);

    // The configuration in force: no kernel change, no rewrite, no restart.
    const auto resolvIdentity = identityOf(resolvConf);
    const auto dropInIdentity = identityOf(dropIn);
    const pid_t client = supervisor->pid(port1).value();
    omni::testing::KernelEventMonitor monitor(lab.deviceNamespace());
    services->clearCalls();
    auto again = service->apply(staticAndDhcp());
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_FALSE(again->changed());
    EXPECT_EQ(again->changeRequests, 0U);
    EXPECT_TRUE(again->dhcpStarted.empty());
    EXPECT_TRUE(again->dhcpStopped.empty());
    EXPECT_EQ(identityOf(resolvConf), resolvIdentity);
    EXPECT_EQ(identityOf(dropIn), dropInIdentity);
    EXPECT_EQ(services->calls(), Calls {});
    EXPECT_EQ(supervisor->pid(port1), client);
    const auto events = monitor.eventsUntilMarker();
    EXPECT_TRUE(events.empty()) << events.size() << " kernel events, first: " << events.front().describe();

    // What the receipt and `network show` report.
    const auto facts = service->describe();
    ASSERT_EQ(facts.size(), 2U);
    const auto link0 = ipJson({ "-n", lab.deviceNamespace(), "link", "show", "dev", port0 });
    EXPECT_EQ(facts[0].interfaceName, port0);
    EXPECT_EQ(facts[0].macAddress, link0[0]["address"].get<std::string>());
    EXPECT_EQ(facts[0].carrier, true);
    EXPECT_EQ(facts[0].mode, "STATIC");
    EXPECT_EQ(facts[0].addresses, std::vector<std::string> { "10.60.0.2/24" });
    EXPECT_EQ(facts[0].gateway, "10.60.0.1");
    EXPECT_EQ(facts[0].dns, (std::vector<std::string> { "192.0.2.53", "10.77.0.53", "10.77.0.54" }));
    EXPECT_EQ(facts[0].ntp, std::vector<std::string> { "10.77.0.123" });
    EXPECT_EQ(facts[0].problem, "");
    EXPECT_EQ(facts[1].interfaceName, port1);
    EXPECT_EQ(facts[1].mode, "DHCP");
    EXPECT_EQ(facts[1].leaseAddress, lease->addressWithPrefix());
    EXPECT_EQ(facts[1].addresses, std::vector<std::string> { lease->addressWithPrefix() });
    EXPECT_EQ(facts[1].gateway, "10.77.0.1");
}

TEST_F(NetworkServiceTest, SwitchingADhcpPortToStaticStopsItsClientAndDropsTheLease)
{
    ASSERT_TRUE(service->apply(staticAndDhcp()));
    const auto lease = waitForLease(port1);
    ASSERT_TRUE(lease);
    const pid_t client = supervisor->pid(port1).value();

    manifest::NetworkingConfiguration bothStatic = staticAndDhcp();
    bothStatic.ethernet1 = staticEthernet("10.77.0.2", 24, "10.77.0.1", { "192.0.2.54" });
    bothStatic.ntp = manifest::NtpPayload { { "192.0.2.123:1123" } };
    auto applied = service->apply(bothStatic);
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(applied->dhcpStopped, std::vector<std::string> { port1 });
    EXPECT_FALSE(supervisor->supervises(port1));
    EXPECT_TRUE(waitUntil([&] { return omni::testing::liveProcessesInGroup(client).empty(); }, 5s));
    EXPECT_EQ(lab.addressesOf(port1), std::vector<std::string> { "10.77.0.2/24" });
    const auto routes = defaultRoutesOf(port1);
    ASSERT_EQ(routes.size(), 1U) << routes.dump();
    EXPECT_EQ(routes[0]["gateway"], "10.77.0.1");
    EXPECT_EQ(routes[0]["metric"], 200);
    EXPECT_EQ(routes[0]["protocol"], "157");
    EXPECT_EQ(
        readFile(resolvConf), "# managed by omni-provision\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n");
    // The manifest's NTP, without the port timesyncd cannot express.
    EXPECT_EQ(readFile(dropIn), "# managed by omni-provision\n[Time]\nNTP=192.0.2.123\n");
    ASSERT_EQ(applied->warnings.size(), 1U);
    EXPECT_NE(applied->warnings[0].find("1123"), std::string::npos) << applied->warnings[0];
}

TEST_F(NetworkServiceTest, AFailingDnsStepRollsBackAddressesRoutesAndClientsExactly)
{
    manifest::NetworkingConfiguration bothStatic;
    bothStatic.ethernet0 = staticEthernet("10.60.0.2", 24, "10.60.0.1", { "192.0.2.53" });
    bothStatic.ethernet1 = staticEthernet("10.77.0.2", 24, "10.77.0.1", { "192.0.2.54" });
    ASSERT_TRUE(service->apply(bothStatic));
    const std::string before = kernelState();
    const std::string resolvBefore = readFile(resolvConf);

    // Another address on Ethernet0, Ethernet1 to DHCP, and NTP: every step
    // up to DNS changes something, and DNS cannot be written.
    dns::ResolvConfBackend unwritable(lab.directory() / "no-such-directory" / "resolv.conf");
    auto broken = makeService(unwritable);
    manifest::NetworkingConfiguration changed;
    changed.ethernet0 = staticEthernet("10.60.0.3", 24, "10.60.0.1", { "192.0.2.99" });
    changed.ethernet1 = dhcpEthernet();
    changed.ntp = manifest::NtpPayload { { "192.0.2.123" } };
    auto applied = broken->apply(changed);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_EQ(applied.error().check, Check::NetworkApply);
    EXPECT_EQ(applied.error().where, "dns");
    EXPECT_EQ(applied.error().message.rfind("DNS step failed: ", 0), 0U) << applied.error().message;
    EXPECT_NE(applied.error().message.find("no-such-directory"), std::string::npos)
        << applied.error().message;
    EXPECT_NE(applied.error().message.find("rolled back"), std::string::npos) << applied.error().message;

    EXPECT_EQ(kernelState(), before);
    EXPECT_FALSE(supervisor->supervises(port1));
    EXPECT_EQ(readFile(resolvConf), resolvBefore);
    EXPECT_FALSE(std::filesystem::exists(dropIn));
    EXPECT_EQ(services->calls(), Calls {});
}

TEST_F(NetworkServiceTest, AnUnmappedPortIsInterfaceMissingBeforeAnythingIsTouched)
{
    mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::Name, "absent0" };
    auto unmapped = makeService(*dns);
    const std::string before = kernelState();
    auto applied = unmapped->apply(staticAndDhcp());
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::InterfaceMissing);
    EXPECT_EQ(kernelState(), before);
    EXPECT_FALSE(std::filesystem::exists(resolvConf));
    EXPECT_TRUE(supervisor->interfaces().empty());
}

} // namespace
} // namespace omni::network_service
