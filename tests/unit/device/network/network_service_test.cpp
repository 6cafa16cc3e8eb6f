// The network transaction's order, union and rollback rules without root:
// the applier's fake kernel, recording DNS and NTP backends, and the real
// DhcpSupervisor running a stand-in dhcpcd (leases are written by the test
// where the hook would write them). tests/integration/network_service runs
// the real thing.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "daemon/core/manifest/ipv4.hpp"
#include "daemon/device/network/network_service.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/unit/device/network/fake_kernel.hpp"

namespace omni::network_service {
namespace {

using network::InterfaceMatcher;
using network::MatchKind;
using omni::testing::TemporaryDirectory;
using omni::testing::writeFile;

std::uint32_t ipv4(const std::string& text)
{
    return manifest::parseIpv4(text).value();
}

manifest::EthernetPayload staticEthernet(
    const std::string& address, const std::string& gateway, std::vector<std::string> dns)
{
    manifest::StaticIpConnectionInfo info;
    info.ipAddress = address;
    info.mask = "24";
    info.defaultGateway = gateway;
    info.dns = std::move(dns);
    info.address = ipv4(address);
    info.prefixLength = 24;
    info.gateway = ipv4(gateway);
    return { manifest::ConnectionType::StaticIp, info };
}

manifest::EthernetPayload dhcpEthernet()
{
    return { manifest::ConnectionType::Dhcp, std::nullopt };
}

Error injected(const std::string& what)
{
    return Error { ReasonCode::NetworkApplyFailed, Check::NetworkApply, what + " refused by the test", {} };
}

class RecordingDns : public dns::DnsBackend {
public:
    std::string_view name() const override { return "recording"; }
    Result<dns::DnsSnapshot> snapshot(const dns::DnsSettings&) override
    {
        log.push_back("snapshot");
        saved = inForce;
        return dns::DnsSnapshot {};
    }
    Result<dns::DnsApplyOutcome> apply(const dns::DnsSettings& settings) override
    {
        log.push_back("apply");
        if (failApply) {
            return tl::unexpected(injected("DNS"));
        }
        const bool changed = inForce != settings;
        inForce = settings;
        return dns::DnsApplyOutcome { changed, {} };
    }
    Result<bool> restore(const dns::DnsSnapshot&) override
    {
        log.push_back("restore");
        const bool changed = inForce != saved;
        inForce = saved;
        return changed;
    }
    Result<std::vector<std::string>> serversInForce(int) override
    {
        return inForce ? inForce->servers : std::vector<std::string> {};
    }
    Result<bool> removeOverride(const dns::DnsSettings&) override
    {
        log.push_back("remove-override");
        const bool changed = inForce.has_value();
        inForce.reset();
        return changed;
    }

    std::optional<dns::DnsSettings> inForce;
    std::optional<dns::DnsSettings> saved;
    std::vector<std::string> log;
    bool failApply = false;
};

class RecordingNtp : public ntp::NtpBackend {
public:
    std::string_view name() const override { return "recording"; }
    Result<ntp::NtpSnapshot> snapshot() override
    {
        log.push_back("snapshot");
        saved = inForce;
        return ntp::NtpSnapshot {};
    }
    Result<ntp::NtpApplyOutcome> apply(const network::NtpPlan& plan) override
    {
        log.push_back("apply");
        if (failApply) {
            return tl::unexpected(injected("NTP"));
        }
        std::optional<std::vector<std::string>> next = inForce;
        if (plan.action == network::NtpAction::Replace) {
            next = plan.servers;
        } else if (plan.action == network::NtpAction::RemoveOverride) {
            next.reset();
        }
        const bool changed = next != inForce;
        inForce = next;
        return ntp::NtpApplyOutcome { changed, {} };
    }
    Result<bool> restore(const ntp::NtpSnapshot&) override
    {
        log.push_back("restore");
        const bool changed = inForce != saved;
        inForce = saved;
        return changed;
    }
    Result<std::optional<std::vector<std::string>>> serversInForce() override { return inForce; }

    std::optional<std::vector<std::string>> inForce;
    std::optional<std::vector<std::string>> saved;
    std::vector<std::string> log;
    bool failApply = false;
};

class NetworkServiceUnitTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        kernel.links = { { 2, "eth0", "02:00:00:00:00:01", false, {} },
            { 3, "eth1", "02:00:00:00:00:02", false, {} } };
        writeFile(fakeDhcpcd, "#!/bin/sh\nwhile :; do sleep 5; done\n");
        ASSERT_EQ(::chmod(fakeDhcpcd.c_str(), 0755), 0);
        options.dhcpcdPath = fakeDhcpcd;
        options.hookPath = fakeDhcpcd; // never run by the stand-in
        options.runtimeDirectory = directory / "run";
        options.stopTimeout = std::chrono::milliseconds(500);
        supervisor = std::make_unique<dhcp::DhcpSupervisor>(options);
        mapping.ethernet0.matcher = InterfaceMatcher { MatchKind::Name, "eth0" };
        mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::Name, "eth1" };
        service = std::make_unique<NetworkService>(kernel, dns, ntp, *supervisor, mapping,
            [](const netlink::InterfaceIdentity&) { return std::optional<bool>(true); });
    }

    void writeLease(const std::string& interface, const std::string& address, const std::string& dnsServers,
        const std::string& ntpServers)
    {
        writeFile(supervisor->leasePath(interface),
            "interface=" + interface + "\nreason=BOUND\nip_address=" + address
                + "\nsubnet_cidr=24\nrouters=10.9.0.1\ndomain_name_servers=" + dnsServers
                + "\nntp_servers=" + ntpServers + "\n");
    }

    TemporaryDirectory directory;
    std::filesystem::path fakeDhcpcd = directory / "dhcpcd";
    dhcp::SupervisorOptions options;
    netlink::testing::FakeKernel kernel;
    RecordingDns dns;
    RecordingNtp ntp;
    std::unique_ptr<dhcp::DhcpSupervisor> supervisor;
    network::InterfaceMapping mapping;
    std::unique_ptr<NetworkService> service;
};

TEST_F(NetworkServiceUnitTest, DnsIsTheUnionOfThePortsAndNtpTheManifests)
{
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1", { "192.0.2.1", "2001:DB8::1" });
    configuration.ethernet1 = staticEthernet("10.1.0.2", "10.1.0.1", { "2001:db8::1", "192.0.2.3" });
    configuration.ntp = manifest::NtpPayload { { "ntp.example.com" } };
    auto applied = service->apply(configuration);
    ASSERT_TRUE(applied) << applied.error().message;
    ASSERT_TRUE(dns.inForce);
    EXPECT_EQ(dns.inForce->servers, (std::vector<std::string> { "192.0.2.1", "2001:DB8::1", "192.0.2.3" }));
    ASSERT_EQ(dns.inForce->links.size(), 2U);
    EXPECT_EQ(dns.inForce->links[0], (dns::LinkDns { 2, "eth0", { "192.0.2.1", "2001:DB8::1" } }));
    EXPECT_EQ(dns.inForce->links[1], (dns::LinkDns { 3, "eth1", { "2001:db8::1", "192.0.2.3" } }));
    EXPECT_EQ(ntp.inForce, std::vector<std::string> { "ntp.example.com" });
    EXPECT_TRUE(applied->dnsChanged);
    EXPECT_TRUE(applied->ntpChanged);
    EXPECT_GT(applied->changeRequests, 0U);
}

TEST_F(NetworkServiceUnitTest, LeaseDnsAndNtpApplyUnlessTheManifestSetsNtp)
{
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1", { "192.0.2.1" });
    configuration.ethernet1 = dhcpEthernet();
    auto applied = service->apply(configuration);
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(applied->dhcpStarted, std::vector<std::string> { "eth1" });
    EXPECT_FALSE(ntp.inForce); // no lease yet: the device's NTP is left alone
    EXPECT_EQ(dns.inForce->servers, std::vector<std::string> { "192.0.2.1" });

    writeLease("eth1", "10.9.0.57", "10.9.0.53 192.0.2.1", "10.9.0.123");
    auto refreshed = service->refreshFromLeases();
    ASSERT_TRUE(refreshed) << refreshed.error().message;
    EXPECT_TRUE(refreshed->dnsChanged);
    EXPECT_EQ(dns.inForce->servers, (std::vector<std::string> { "192.0.2.1", "10.9.0.53" }));
    EXPECT_EQ(dns.inForce->links[1], (dns::LinkDns { 3, "eth1", { "10.9.0.53", "192.0.2.1" } }));
    EXPECT_EQ(ntp.inForce, std::vector<std::string> { "10.9.0.123" });

    configuration.ntp = manifest::NtpPayload { { "192.0.2.123" } };
    ASSERT_TRUE(service->apply(configuration));
    EXPECT_EQ(ntp.inForce, std::vector<std::string> { "192.0.2.123" });
    ASSERT_TRUE(service->refreshFromLeases());
    EXPECT_EQ(ntp.inForce, std::vector<std::string> { "192.0.2.123" });
}

TEST_F(NetworkServiceUnitTest, TheConfigurationInForceChangesNothing)
{
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1", { "192.0.2.1" });
    configuration.ethernet1 = dhcpEthernet();
    configuration.ntp = manifest::NtpPayload { { "192.0.2.123" } };
    ASSERT_TRUE(service->apply(configuration));
    writeLease("eth1", "10.9.0.57", "10.9.0.53", "");
    ASSERT_TRUE(service->refreshFromLeases());
    const pid_t client = supervisor->pid("eth1").value();
    const std::size_t executed = kernel.executed.size();
    auto again = service->apply(configuration);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_FALSE(again->changed());
    EXPECT_EQ(kernel.executed.size(), executed);
    EXPECT_EQ(supervisor->pid("eth1"), client);
}

// A reset's network half: only what is ours goes (protocol 157), our DHCP
// client stops, DNS and NTP overrides are removed; a second run finds nothing.
TEST_F(NetworkServiceUnitTest, RemoveOurChangesLeavesOnlyWhatIsNotOurs)
{
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1", { "192.0.2.1" });
    configuration.ethernet1 = dhcpEthernet();
    configuration.ntp = manifest::NtpPayload { { "192.0.2.123" } };
    ASSERT_TRUE(service->apply(configuration));
    // Someone else's address and default route on eth0 stay.
    kernel.links[0].addresses.push_back({ 0xC6336401, 24, false, false }); // 198.51.100.1/24
    kernel.routes.push_back({ 2, 0xC63364FE, 50, 4 });
    ASSERT_TRUE(supervisor->supervises("eth1"));

    auto removed = service->removeOurChanges();
    ASSERT_TRUE(removed) << removed.error().message;
    EXPECT_EQ(removed->dhcpStopped, std::vector<std::string> { "eth1" });
    EXPECT_EQ(removed->removed,
        (std::vector<std::string> {
            "default route via 10.0.0.1 metric 100 on eth0", "address 10.0.0.2/24 on eth0" }));
    EXPECT_TRUE(removed->dnsChanged);
    EXPECT_TRUE(removed->ntpChanged);
    EXPECT_FALSE(dns.inForce);
    EXPECT_FALSE(ntp.inForce);
    EXPECT_TRUE(supervisor->interfaces().empty());
    EXPECT_EQ(kernel.links[0].addresses,
        (std::vector<network::ObservedAddress> { { 0xC6336401, 24, false, false } }));
    EXPECT_EQ(kernel.routes, (std::vector<network::ObservedRoute> { { 2, 0xC63364FE, 50, 4 } }));

    auto again = service->removeOurChanges();
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_TRUE(again->dhcpStopped.empty());
    EXPECT_TRUE(again->removed.empty());
    EXPECT_FALSE(again->dnsChanged);
    EXPECT_FALSE(again->ntpChanged);
}

TEST_F(NetworkServiceUnitTest, RemoveOurChangesSkipsAMappedInterfaceThatIsNotPresent)
{
    kernel.links.pop_back();
    auto removed = service->removeOurChanges();
    ASSERT_TRUE(removed) << removed.error().message;
    EXPECT_EQ(removed->notPresent, std::vector<std::string> { "Ethernet1 (interface name \"eth1\")" });
}

TEST_F(NetworkServiceUnitTest, ADnsFailureUndoesTheKernelAndTheClientAndLeavesNtpAlone)
{
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1", { "192.0.2.1" });
    configuration.ethernet1 = dhcpEthernet();
    configuration.ntp = manifest::NtpPayload { { "192.0.2.123" } };
    const auto linksBefore = kernel.links;
    const auto routesBefore = kernel.routes;
    dns.failApply = true;
    auto applied = service->apply(configuration);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_EQ(applied.error().where, "dns");
    EXPECT_EQ(applied.error().message.rfind("DNS step failed: DNS refused by the test; rolled back", 0), 0U)
        << applied.error().message;
    EXPECT_EQ(kernel.links, linksBefore);
    EXPECT_EQ(kernel.routes, routesBefore);
    EXPECT_EQ(kernel.restores, 1);
    EXPECT_TRUE(supervisor->interfaces().empty());
    EXPECT_EQ(dns.log, (std::vector<std::string> { "snapshot", "apply", "restore" }));
    EXPECT_EQ(ntp.log, std::vector<std::string> { "snapshot" });
}

TEST_F(NetworkServiceUnitTest, AnNtpFailureAlsoPutsDnsBack)
{
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1", { "192.0.2.1" });
    ASSERT_TRUE(service->apply(configuration));
    const auto dnsBefore = dns.inForce;
    configuration.ethernet0 = staticEthernet("10.0.0.3", "10.0.0.1", { "192.0.2.9" });
    configuration.ntp = manifest::NtpPayload { { "192.0.2.123" } };
    ntp.failApply = true;
    auto applied = service->apply(configuration);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().where, "ntp");
    EXPECT_EQ(applied.error().message.rfind("NTP step failed", 0), 0U) << applied.error().message;
    EXPECT_EQ(dns.inForce, dnsBefore);
    ASSERT_EQ(kernel.links[0].addresses.size(), 1U);
    EXPECT_EQ(kernel.links[0].addresses[0].address, ipv4("10.0.0.2"));
}

TEST_F(NetworkServiceUnitTest, AnAddressFailureRestoresTheKernelOnceAndTouchesNothingAfterIt)
{
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1", { "192.0.2.1" });
    configuration.ethernet1 = dhcpEthernet();
    const auto linksBefore = kernel.links;
    kernel.failExecuteNumber = 1; // Ethernet0's address
    std::vector<std::string> steps;
    ServiceHooks hooks;
    hooks.beforeStep = [&](std::string_view step) { steps.emplace_back(step); };
    auto applied = service->apply(configuration, hooks);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_EQ(applied.error().where, "addresses");
    EXPECT_EQ(
        applied.error().message.rfind("addresses and routes step failed: Ethernet0 (eth0, ifindex 2): step 2 "
                                      "of 3 (add address 10.0.0.2/24) failed: ",
            0),
        0U)
        << applied.error().message;
    EXPECT_NE(applied.error().message.find(
                  "; rolled back: addresses, routes, DHCP clients, DNS and NTP are as they were before"),
        std::string::npos)
        << applied.error().message;
    EXPECT_EQ(steps, std::vector<std::string> { "addresses" });
    EXPECT_EQ(kernel.restores, 1);
    EXPECT_EQ(kernel.links, linksBefore);
    EXPECT_TRUE(supervisor->interfaces().empty());
    EXPECT_EQ(dns.log, std::vector<std::string> { "snapshot" });
    EXPECT_EQ(ntp.log, std::vector<std::string> { "snapshot" });
}

TEST_F(NetworkServiceUnitTest, AnInterfaceThatVanishesMidApplyIsNamedInTheRollback)
{
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1", { "192.0.2.1" });
    configuration.ethernet1 = staticEthernet("10.1.0.2", "10.1.0.1", { "192.0.2.2" });
    ServiceHooks hooks;
    hooks.netlink.beforeChanges = [&](network::EthernetPort port, const std::vector<network::Operation>&) {
        if (port == network::EthernetPort::Ethernet1) {
            std::erase_if(kernel.links, [](const auto& link) { return link.name == "eth1"; });
        }
    };
    auto applied = service->apply(configuration, hooks);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().where, "addresses");
    EXPECT_NE(
        applied.error().message.find("; rolled back: addresses, routes, DHCP clients, DNS and NTP are as "
                                     "they were before, except interfaces that disappeared meanwhile: eth1"),
        std::string::npos)
        << applied.error().message;
    EXPECT_EQ(kernel.restores, 1);
    EXPECT_TRUE(kernel.link(2)->addresses.empty());
}

TEST_F(NetworkServiceUnitTest, AClientThatCannotStartRollsBackNamingTheStep)
{
    options.dhcpcdPath = directory / "absent-dhcpcd";
    dhcp::DhcpSupervisor broken(options);
    NetworkService withBrokenDhcp(kernel, dns, ntp, broken, mapping);
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1", { "192.0.2.1" });
    configuration.ethernet1 = dhcpEthernet();
    const auto linksBefore = kernel.links;
    auto applied = withBrokenDhcp.apply(configuration);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().where, "dhcp-start");
    EXPECT_NE(applied.error().message.find("absent-dhcpcd"), std::string::npos) << applied.error().message;
    EXPECT_EQ(kernel.links, linksBefore);
    EXPECT_EQ(dns.log, std::vector<std::string> { "snapshot" });
}

TEST_F(NetworkServiceUnitTest, GoingStaticStopsTheClientAndRemovesALeaseAddressLeftBehind)
{
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet1 = dhcpEthernet();
    configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1", { "192.0.2.1" });
    ASSERT_TRUE(service->apply(configuration));
    ASSERT_TRUE(supervisor->supervises("eth1"));
    // As a client killed without cleaning up would leave it.
    writeLease("eth1", "10.9.0.57", "10.9.0.53", "");
    kernel.links[1].addresses.push_back({ ipv4("10.9.0.57"), 24, false, false });

    configuration.ethernet1 = staticEthernet("10.1.0.2", "10.1.0.1", { "192.0.2.2" });
    auto applied = service->apply(configuration);
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(applied->dhcpStopped, std::vector<std::string> { "eth1" });
    EXPECT_FALSE(supervisor->supervises("eth1"));
    ASSERT_EQ(kernel.links[1].addresses.size(), 1U);
    EXPECT_EQ(kernel.links[1].addresses[0].address, ipv4("10.1.0.2"));
    const auto removal = std::find_if(kernel.executed.begin(), kernel.executed.end(), [](const auto& entry) {
        return entry.second == network::Operation::removeAddress(ipv4("10.9.0.57"), 24);
    });
    EXPECT_NE(removal, kernel.executed.end());
}

TEST_F(NetworkServiceUnitTest, AMissingInterfaceTouchesNothing)
{
    mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::Name, "eth9" };
    NetworkService unmapped(kernel, dns, ntp, *supervisor, mapping);
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet1 = dhcpEthernet();
    auto applied = unmapped.apply(configuration);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::InterfaceMissing);
    EXPECT_TRUE(dns.log.empty());
    EXPECT_TRUE(ntp.log.empty());
    EXPECT_TRUE(kernel.executed.empty());
    EXPECT_TRUE(supervisor->interfaces().empty());
}

TEST_F(NetworkServiceUnitTest, DescribeReportsEachPortsFacts)
{
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1", { "192.0.2.1" });
    configuration.ntp = manifest::NtpPayload { { "192.0.2.123" } };
    ASSERT_TRUE(service->apply(configuration));
    const auto facts = service->describe();
    ASSERT_EQ(facts.size(), 2U);
    EXPECT_EQ(facts[0].port, "Ethernet0");
    EXPECT_EQ(facts[0].mapping, "interface name \"eth0\"");
    EXPECT_EQ(facts[0].interfaceName, "eth0");
    EXPECT_EQ(facts[0].macAddress, "02:00:00:00:00:01");
    EXPECT_EQ(facts[0].carrier, true);
    EXPECT_EQ(facts[0].mode, "STATIC");
    EXPECT_EQ(facts[0].addresses, std::vector<std::string> { "10.0.0.2/24" });
    EXPECT_EQ(facts[0].gateway, "10.0.0.1");
    EXPECT_EQ(facts[0].dns, std::vector<std::string> { "192.0.2.1" });
    EXPECT_EQ(facts[0].ntp, std::vector<std::string> { "192.0.2.123" });
    EXPECT_EQ(facts[1].mode, "LEAVE_AS_IS");
    EXPECT_EQ(facts[1].interfaceName, "eth1");
    EXPECT_TRUE(facts[1].addresses.empty());
    EXPECT_FALSE(facts[1].gateway);
}

} // namespace
} // namespace omni::network_service
