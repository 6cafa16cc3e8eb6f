// DESIGN.md section 4 as planNetwork() sees it: which mode each port gets,
// DNS union, NTP, metrics, and what is refused.
#include <gtest/gtest.h>

#include "daemon/core/network/network_plan.hpp"

namespace omni::network {
namespace {

using manifest::ConnectionType;
using manifest::EthernetPayload;
using manifest::NetworkingConfiguration;
using manifest::StaticIpConnectionInfo;

constexpr std::uint32_t ip(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d)
{
    return a << 24 | b << 16 | c << 8 | d;
}

EthernetPayload staticPayload(std::uint32_t address, int prefixLength, std::uint32_t gateway,
    std::vector<std::string> dns = { "192.0.2.53" })
{
    StaticIpConnectionInfo info;
    info.ipAddress = "(text as in the manifest)";
    info.dns = std::move(dns);
    info.address = address;
    info.prefixLength = prefixLength;
    info.gateway = gateway;
    return EthernetPayload { ConnectionType::StaticIp, info };
}

EthernetPayload dhcpPayload()
{
    return EthernetPayload { ConnectionType::Dhcp, std::nullopt };
}

TEST(NetworkPlan, WithoutNetworkingConfigurationEthernet0UsesDhcpAndEthernet1IsLeftAsIs)
{
    const auto plan = planNetwork(std::nullopt, InterfaceMapping {});
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_EQ(plan->interfaces[0].port, EthernetPort::Ethernet0);
    EXPECT_EQ((*plan)[EthernetPort::Ethernet0].mode, InterfaceMode::Dhcp);
    EXPECT_EQ((*plan)[EthernetPort::Ethernet1].mode, InterfaceMode::LeaveAsIs);
    EXPECT_TRUE(plan->needsDhcpClient(EthernetPort::Ethernet0));
    EXPECT_FALSE(plan->needsDhcpClient(EthernetPort::Ethernet1));
    EXPECT_TRUE(plan->dnsServers.empty());
    EXPECT_EQ(plan->ntp.action, NtpAction::Untouched);
}

TEST(NetworkPlan, MissingEthernet0UsesDhcpEvenWhenEthernet1IsStatic)
{
    NetworkingConfiguration configuration;
    configuration.ethernet1 = staticPayload(ip(10, 1, 0, 2), 24, ip(10, 1, 0, 1));
    const auto plan = planNetwork(configuration, InterfaceMapping {});
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_EQ((*plan)[EthernetPort::Ethernet0].mode, InterfaceMode::Dhcp);
    EXPECT_EQ((*plan)[EthernetPort::Ethernet1].mode, InterfaceMode::Static);
    EXPECT_EQ((*plan)[EthernetPort::Ethernet1].addressing,
        (StaticAddressing { ip(10, 1, 0, 2), 24, ip(10, 1, 0, 1) }));
    EXPECT_EQ((*plan)[EthernetPort::Ethernet1].routeMetric, kDefaultEthernet1Metric);
}

TEST(NetworkPlan, EmptyNetworkingConfigurationBehavesLikeAbsentOne)
{
    const auto plan = planNetwork(NetworkingConfiguration {}, InterfaceMapping {});
    ASSERT_TRUE(plan);
    EXPECT_EQ(*plan, *planNetwork(std::nullopt, InterfaceMapping {}));
}

TEST(NetworkPlan, TwoStaticPortsGetTheirAddressingAndDifferentDefaultMetrics)
{
    NetworkingConfiguration configuration;
    configuration.ethernet0 = staticPayload(ip(192, 168, 10, 20), 24, ip(192, 168, 10, 1));
    configuration.ethernet1 = staticPayload(ip(172, 16, 0, 9), 31, ip(172, 16, 0, 8));
    const auto plan = planNetwork(configuration, InterfaceMapping {});
    ASSERT_TRUE(plan) << plan.error().message;
    const DesiredInterface& first = (*plan)[EthernetPort::Ethernet0];
    const DesiredInterface& second = (*plan)[EthernetPort::Ethernet1];
    EXPECT_EQ(first.mode, InterfaceMode::Static);
    EXPECT_EQ(first.addressing, (StaticAddressing { ip(192, 168, 10, 20), 24, ip(192, 168, 10, 1) }));
    EXPECT_EQ(first.routeMetric, 100U);
    EXPECT_EQ(second.addressing, (StaticAddressing { ip(172, 16, 0, 9), 31, ip(172, 16, 0, 8) }));
    EXPECT_EQ(second.routeMetric, 200U);
}

TEST(NetworkPlan, MetricsComeFromTheInterfaceMapping)
{
    InterfaceMapping mapping;
    mapping.ethernet0.routeMetric = 10;
    mapping.ethernet1.routeMetric = 20;
    NetworkingConfiguration configuration;
    configuration.ethernet0 = staticPayload(ip(10, 0, 0, 2), 24, ip(10, 0, 0, 1));
    configuration.ethernet1 = dhcpPayload();
    const auto plan = planNetwork(configuration, mapping);
    ASSERT_TRUE(plan);
    EXPECT_EQ((*plan)[EthernetPort::Ethernet0].routeMetric, 10U);
    EXPECT_EQ((*plan)[EthernetPort::Ethernet1].routeMetric, 20U);
    EXPECT_EQ((*plan)[EthernetPort::Ethernet1].mode, InterfaceMode::Dhcp);
}

TEST(NetworkPlan, DnsIsTheUnionOfBothStaticPortsEthernet0FirstWithoutDuplicates)
{
    NetworkingConfiguration configuration;
    configuration.ethernet0
        = staticPayload(ip(10, 0, 0, 2), 24, ip(10, 0, 0, 1), { "192.0.2.1", "2001:db8::53", "192.0.2.2" });
    configuration.ethernet1 = staticPayload(
        ip(10, 1, 0, 2), 24, ip(10, 1, 0, 1), { "192.0.2.2", "198.51.100.7", "2001:DB8:0::53", "192.0.2.1" });
    const auto plan = planNetwork(configuration, InterfaceMapping {});
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->dnsServers,
        (std::vector<std::string> { "192.0.2.1", "2001:db8::53", "192.0.2.2", "198.51.100.7" }));
}

TEST(NetworkPlan, StaticInfoBesideDhcpIsIgnoredAndGivesNoDns)
{
    NetworkingConfiguration configuration;
    EthernetPayload payload = staticPayload(ip(10, 0, 0, 2), 24, ip(10, 0, 0, 1), { "192.0.2.1" });
    payload.connectionType = ConnectionType::Dhcp;
    configuration.ethernet0 = payload;
    const auto plan = planNetwork(configuration, InterfaceMapping {});
    ASSERT_TRUE(plan);
    EXPECT_EQ((*plan)[EthernetPort::Ethernet0].mode, InterfaceMode::Dhcp);
    EXPECT_EQ((*plan)[EthernetPort::Ethernet0].addressing, StaticAddressing {});
    EXPECT_TRUE(plan->dnsServers.empty());
}

TEST(NetworkPlan, NtpServersReplaceEmptyListRemovesOverrideAbsentLeavesUntouched)
{
    NetworkingConfiguration configuration;
    configuration.ntp = manifest::NtpPayload { { "time.example.org", "192.0.2.123:123" } };
    auto plan = planNetwork(configuration, InterfaceMapping {});
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->ntp.action, NtpAction::Replace);
    EXPECT_EQ(plan->ntp.servers, (std::vector<std::string> { "time.example.org", "192.0.2.123:123" }));

    configuration.ntp = manifest::NtpPayload {};
    plan = planNetwork(configuration, InterfaceMapping {});
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->ntp.action, NtpAction::RemoveOverride);
    EXPECT_TRUE(plan->ntp.servers.empty());

    configuration.ntp.reset();
    plan = planNetwork(configuration, InterfaceMapping {});
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->ntp.action, NtpAction::Untouched);
}

TEST(NetworkPlan, StaticWithoutConnectionInfoIsAnInternalError)
{
    NetworkingConfiguration configuration;
    configuration.ethernet1 = EthernetPayload { ConnectionType::StaticIp, std::nullopt };
    const auto plan = planNetwork(configuration, InterfaceMapping {});
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().reason, ReasonCode::InternalError);
    EXPECT_EQ(plan.error().where, "NetworkingConfiguration.Ethernet1");
}

TEST(NetworkPlan, UnvalidatedAddressingIsAnInternalError)
{
    struct Case {
        std::uint32_t address;
        int prefixLength;
        std::uint32_t gateway;
    };
    const Case cases[] = {
        { 0, 0, 0 }, // parsed fields never filled
        { ip(10, 0, 0, 2), 32, ip(10, 0, 0, 1) }, // /32
        { ip(10, 0, 0, 2), 24, ip(10, 0, 1, 1) }, // gateway outside the subnet
        { ip(10, 0, 0, 2), 24, ip(10, 0, 0, 2) }, // gateway is the address
    };
    for (const Case& bad : cases) {
        NetworkingConfiguration configuration;
        configuration.ethernet0 = staticPayload(bad.address, bad.prefixLength, bad.gateway);
        const auto plan = planNetwork(configuration, InterfaceMapping {});
        ASSERT_FALSE(plan) << bad.address << "/" << bad.prefixLength;
        EXPECT_EQ(plan.error().reason, ReasonCode::InternalError);
        EXPECT_EQ(plan.error().where, "NetworkingConfiguration.Ethernet0.StaticIpConnectionInfo");
    }
}

TEST(NetworkPlan, TwoStaticPortsWithTheSameMetricAreRefused)
{
    InterfaceMapping mapping;
    mapping.ethernet1.routeMetric = mapping.ethernet0.routeMetric;
    NetworkingConfiguration configuration;
    configuration.ethernet0 = staticPayload(ip(10, 0, 0, 2), 24, ip(10, 0, 0, 1));
    configuration.ethernet1 = staticPayload(ip(10, 1, 0, 2), 24, ip(10, 1, 0, 1));
    const auto plan = planNetwork(configuration, mapping);
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_NE(plan.error().message.find("metric 100"), std::string::npos) << plan.error().message;

    configuration.ethernet1 = dhcpPayload(); // one route only: no collision
    EXPECT_TRUE(planNetwork(configuration, mapping));
}

TEST(InterfaceMapping, DefaultsMapNothingAndUseMetrics100And200)
{
    const InterfaceMapping mapping;
    EXPECT_FALSE(mapping[EthernetPort::Ethernet0].matcher);
    EXPECT_FALSE(mapping[EthernetPort::Ethernet1].matcher);
    EXPECT_EQ(mapping[EthernetPort::Ethernet0].routeMetric, 100U);
    EXPECT_EQ(mapping[EthernetPort::Ethernet1].routeMetric, 200U);
}

TEST(InterfaceMapping, MacAddressesParseInBothNotationsAndFormatLowercase)
{
    const auto colons = parseMacAddress("02:00:5E:10:0a:FF");
    ASSERT_TRUE(colons);
    EXPECT_EQ(formatMacAddress(*colons), "02:00:5e:10:0a:ff");
    EXPECT_EQ(parseMacAddress("02-00-5e-10-0a-ff"), colons);
    for (const char* bad : { "", "02:00:5e:10:0a", "02:00:5e:10:0a:ff:00", "02:00-5e:10:0a:ff",
             "02:00:5e:10:0a:fg", "0200.5e10.0aff", " 02:00:5e:10:0a:ff" }) {
        EXPECT_FALSE(parseMacAddress(bad)) << bad;
    }
}

TEST(InterfaceMapping, NamesRoundTrip)
{
    for (EthernetPort port : kEthernetPorts) {
        EXPECT_EQ(ethernetPortFromString(toString(port)), port);
    }
    EXPECT_FALSE(ethernetPortFromString("Ethernet2"));
    for (MatchKind kind : { MatchKind::Name, MatchKind::MacAddress, MatchKind::IdPath }) {
        EXPECT_EQ(matchKindFromString(toString(kind)), kind);
    }
    EXPECT_EQ(describe(InterfaceMatcher { MatchKind::IdPath, "pci-0000:00:1f.6" }),
        "udev ID_PATH \"pci-0000:00:1f.6\"");
}

} // namespace
} // namespace omni::network
