// The applier and the libnl backend against the real kernel: two veth pairs
// between a device-under-test namespace and a peer namespace that holds the
// gateways. iproute2 is the independent reader; the peer pings.
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "daemon/core/manifest/ipv4.hpp"
#include "daemon/core/network/network_plan.hpp"
#include "daemon/device/network/network_applier.hpp"
#include "drivers/netlink/netlink_backend.hpp"
#include "tests/integration/network/netns.hpp"

namespace omni::netlink {
namespace {

using network::EthernetPort;
using network::InterfaceMatcher;
using network::MatchKind;
using network::Operation;
using omni::testing::ip;
using omni::testing::ipJson;
using omni::testing::KernelEventMonitor;
using omni::testing::NetworkNamespace;

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

manifest::EthernetPayload staticEthernet(
    const std::string& address, int prefixLength, const std::string& gateway)
{
    manifest::StaticIpConnectionInfo info;
    info.ipAddress = address;
    info.mask = std::to_string(prefixLength);
    info.defaultGateway = gateway;
    info.dns = { "192.0.2.53" };
    info.address = manifest::parseIpv4(address).value();
    info.prefixLength = prefixLength;
    info.gateway = manifest::parseIpv4(gateway).value();
    return { manifest::ConnectionType::StaticIp, info };
}

manifest::EthernetPayload dhcpEthernet()
{
    return { manifest::ConnectionType::Dhcp, std::nullopt };
}

std::uint32_t ipv4(const std::string& text)
{
    return manifest::parseIpv4(text).value();
}

class NetworkApplyTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        dut = std::make_unique<NetworkNamespace>("dut");
        peer = std::make_unique<NetworkNamespace>("peer");
        for (int index = 0; index < 2; ++index) {
            addVethPair(index);
            ip({ "-n", peer->name(), "address", "add", "10." + std::to_string(index) + ".0.1/24", "dev",
                "peer" + std::to_string(index) });
        }
        omni::testing::runInNamespace(dut->name(), [&] {
            auto opened = NetlinkBackend::open();
            ASSERT_TRUE(opened) << opened.error().message;
            backend = std::move(*opened);
        });
        ASSERT_TRUE(backend);
        mapping.ethernet0.matcher = InterfaceMatcher { MatchKind::Name, "dut0" };
        // Ethernet1 by MAC address, as a device configuration may do.
        const auto link = ipJson({ "-n", dut->name(), "link", "show", "dev", "dut1" });
        ASSERT_EQ(link.size(), 1U);
        mapping.ethernet1.matcher
            = InterfaceMatcher { MatchKind::MacAddress, link[0]["address"].get<std::string>() };
    }

    void TearDown() override
    {
        backend.reset();
        peer.reset();
        dut.reset();
    }

    // dutN <-> peerN, the peer end up in the peer namespace; the DUT end is
    // left down and bare, as a factory-fresh port.
    void addVethPair(int index)
    {
        const std::string number = std::to_string(index);
        ip({ "-n", dut->name(), "link", "add", "name", "dut" + number, "type", "veth", "peer", "name",
            "peer" + number, "netns", peer->name() });
        ip({ "-n", peer->name(), "link", "set", "peer" + number, "up" });
    }

    int ifindexOf(const std::string& name)
    {
        const auto link = ipJson({ "-n", dut->name(), "link", "show", "dev", name });
        return link.empty() ? 0 : link[0]["ifindex"].get<int>();
    }

    network::NetworkPlan plan(const manifest::NetworkingConfiguration& configuration)
    {
        auto planned = network::planNetwork(configuration, mapping);
        EXPECT_TRUE(planned) << planned.error().message;
        return planned.value_or(network::NetworkPlan {});
    }

    network::NetworkPlan bothStatic()
    {
        manifest::NetworkingConfiguration configuration;
        configuration.ethernet0 = staticEthernet("10.0.0.2", 24, "10.0.0.1");
        configuration.ethernet1 = staticEthernet("10.1.0.2", 24, "10.1.0.1");
        return plan(configuration);
    }

    Result<ApplyOutcome> apply(const network::NetworkPlan& desired, const ApplyHooks& hooks = {})
    {
        return applyNetworkPlan(*backend, desired, mapping, hooks);
    }

    // `ip -4 address` of one interface as "a.b.c.d/n" strings.
    std::vector<std::string> addressesOf(const std::string& device)
    {
        std::vector<std::string> addresses;
        for (const auto& link : ipJson({ "-n", dut->name(), "-4", "address", "show", "dev", device })) {
            for (const auto& info : link["addr_info"]) {
                addresses.push_back(
                    info["local"].get<std::string>() + "/" + std::to_string(info["prefixlen"].get<int>()));
            }
        }
        return addresses;
    }

    // The default routes of the main table as iproute2 prints them:
    // "via GATEWAY dev DEVICE metric M proto P", ordered by metric.
    std::vector<std::string> defaultRoutes()
    {
        std::vector<std::pair<int, std::string>> routes;
        for (const auto& route : ipJson({ "-n", dut->name(), "-4", "route", "show", "default" })) {
            const int metric = route.value("metric", 0);
            routes.emplace_back(metric,
                "via " + route.value("gateway", std::string("-")) + " dev "
                    + route.value("dev", std::string("-")) + " metric " + std::to_string(metric) + " proto "
                    + route.value("protocol", std::string("-")));
        }
        std::sort(routes.begin(), routes.end());
        std::vector<std::string> lines;
        for (auto& [metric, line] : routes) {
            lines.push_back(std::move(line));
        }
        return lines;
    }

    bool linkIsUp(const std::string& device)
    {
        const auto link = ipJson({ "-n", dut->name(), "link", "show", "dev", device });
        const auto& flags = link.at(0).at("flags");
        return std::find(flags.begin(), flags.end(), "UP") != flags.end();
    }

    // Everything the apply could touch in the DUT namespace, as iproute2
    // reads it, minus what the kernel changes on its own (carrier and the
    // linkdown route flag) and minus `lo`, which carries the event monitor's
    // markers. Optionally only what concerns one device.
    nlohmann::json namespaceState(const std::string& onlyDevice = {})
    {
        nlohmann::json state = { { "links", nlohmann::json::array() },
            { "addresses", nlohmann::json::array() }, { "routes", nlohmann::json::array() } };
        const auto wanted = [&](const nlohmann::json& value) {
            return value != "lo" && (onlyDevice.empty() || value == onlyDevice);
        };
        for (const auto& link : ipJson({ "-n", dut->name(), "link", "show" })) {
            if (wanted(link["ifname"])) {
                const auto& flags = link["flags"];
                state["links"].push_back({ { "ifname", link["ifname"] },
                    { "up", std::find(flags.begin(), flags.end(), "UP") != flags.end() } });
            }
        }
        for (const auto& link : ipJson({ "-n", dut->name(), "-4", "address", "show" })) {
            if (wanted(link["ifname"])) {
                state["addresses"].push_back(
                    { { "ifname", link["ifname"] }, { "addr_info", link["addr_info"] } });
            }
        }
        for (auto route : ipJson({ "-n", dut->name(), "-4", "route", "show", "table", "all" })) {
            if (wanted(route.value("dev", nlohmann::json()))) {
                route.erase("flags");
                state["routes"].push_back(route);
            }
        }
        return state;
    }

    std::unique_ptr<NetworkNamespace> dut;
    std::unique_ptr<NetworkNamespace> peer;
    std::unique_ptr<NetlinkBackend> backend;
    network::InterfaceMapping mapping;
};

TEST_F(NetworkApplyTest, StaticOnBothInterfacesIsWhatIproute2ReadsAndThePeerCanPing)
{
    const auto outcome = apply(bothStatic());
    ASSERT_TRUE(outcome) << outcome.error().message;
    EXPECT_EQ(outcome->changeRequests, 6U); // per port: link up, address, route
    ASSERT_EQ(outcome->ports.size(), 2U);
    EXPECT_EQ(outcome->ports[1].interface.name, "dut1"); // found by its MAC address

    EXPECT_EQ(addressesOf("dut0"), std::vector<std::string> { "10.0.0.2/24" });
    EXPECT_EQ(addressesOf("dut1"), std::vector<std::string> { "10.1.0.2/24" });
    EXPECT_TRUE(linkIsUp("dut0"));
    EXPECT_TRUE(linkIsUp("dut1"));
    EXPECT_EQ(defaultRoutes(),
        (std::vector<std::string> {
            "via 10.0.0.1 dev dut0 metric 100 proto 157", "via 10.1.0.1 dev dut1 metric 200 proto 157" }));
    // The broadcast address is set as networkd and NetworkManager set it.
    const auto dut0 = ipJson({ "-n", dut->name(), "-4", "address", "show", "dev", "dut0" });
    EXPECT_EQ(dut0.at(0).at("addr_info").at(0).value("broadcast", ""), "10.0.0.255");

    // The kernel kept our address protocol mark, so later applies know it is ours.
    const auto observed = backend->observeInterface(ifindexOf("dut0"));
    ASSERT_TRUE(observed) << observed.error().message;
    ASSERT_EQ(observed->addresses.size(), 1U);
    EXPECT_TRUE(observed->addresses[0].ours);

    EXPECT_TRUE(omni::testing::ping(peer->name(), "10.0.0.2"));
    EXPECT_TRUE(omni::testing::ping(peer->name(), "10.1.0.2"));
}

TEST_F(NetworkApplyTest, SecondApplySendsNoChangeAndTheKernelReportsNoEvent)
{
    KernelEventMonitor monitor(dut->name());
    ASSERT_TRUE(apply(bothStatic()));
    const auto firstEvents = monitor.eventsUntilMarker();
    EXPECT_FALSE(firstEvents.empty()) << "the monitor saw nothing of the first apply";
    // Carrier comes up after the link, reported by the kernel's linkwatch a
    // moment later: wait for that report so it cannot land in the window.
    const int dut0 = ifindexOf("dut0");
    const int dut1 = ifindexOf("dut1");
    const auto operUp = [](const std::vector<KernelEventMonitor::Event>& events, int ifindex) {
        return std::any_of(events.begin(), events.end(), [&](const auto& event) {
            return event.type == RTM_NEWLINK && event.ifindex == ifindex && event.operstate == IF_OPER_UP;
        });
    };
    if (!operUp(firstEvents, dut0) || !operUp(firstEvents, dut1)) {
        ASSERT_TRUE(monitor.waitFor([&](const auto& later) {
            return (operUp(firstEvents, dut0) || operUp(later, dut0))
                && (operUp(firstEvents, dut1) || operUp(later, dut1));
        })) << "the veth links never reported carrier";
    }
    monitor.eventsUntilMarker();
    const auto stateBefore = namespaceState();

    const auto again = apply(bothStatic());
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->changeRequests, 0U);
    for (const PortOutcome& port : again->ports) {
        EXPECT_TRUE(port.operations.empty()) << network::describe(port.operations);
    }
    const auto events = monitor.eventsUntilMarker();
    std::string described;
    for (const auto& event : events) {
        described += "\n  " + event.describe();
    }
    EXPECT_TRUE(events.empty()) << "kernel events during the second apply:" << described;
    EXPECT_EQ(namespaceState(), stateBefore);
}

TEST_F(NetworkApplyTest, NoCarrierDoesNotHoldTheApplyBack)
{
    // Section 5, "never block boot": no cable (the peer ends down) changes
    // nothing; the routes are installed, marked linkdown by the kernel.
    ip({ "-n", peer->name(), "link", "set", "peer0", "down" });
    ip({ "-n", peer->name(), "link", "set", "peer1", "down" });
    const auto outcome = apply(bothStatic());
    ASSERT_TRUE(outcome) << outcome.error().message;
    EXPECT_EQ(outcome->changeRequests, 6U);
    EXPECT_EQ(defaultRoutes(),
        (std::vector<std::string> {
            "via 10.0.0.1 dev dut0 metric 100 proto 157", "via 10.1.0.1 dev dut1 metric 200 proto 157" }));
    const auto routes = ipJson({ "-n", dut->name(), "-4", "route", "show", "default", "dev", "dut0" });
    ASSERT_EQ(routes.size(), 1U);
    const auto& flags = routes[0]["flags"];
    EXPECT_NE(std::find(flags.begin(), flags.end(), "linkdown"), flags.end()) << routes.dump();
    EXPECT_EQ(apply(bothStatic())->changeRequests, 0U);
}

TEST_F(NetworkApplyTest, ChangingAddressAndGatewayConvergesInOneRound)
{
    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", 24, "10.0.0.1");
    ASSERT_TRUE(apply(plan(configuration)));
    ip({ "-n", peer->name(), "address", "add", "10.0.0.254/24", "dev", "peer0" });

    configuration.ethernet0 = staticEthernet("10.0.0.3", 24, "10.0.0.254");
    const auto changed = apply(plan(configuration));
    ASSERT_TRUE(changed) << changed.error().message;
    // The old primary goes before the new address (which it would take down
    // as its secondary); that empties the port, the kernel flushes its route,
    // and the route is written again: exactly what the diff predicted.
    ASSERT_EQ(changed->ports.size(), 1U);
    EXPECT_EQ(changed->ports[0].operations,
        (std::vector<Operation> { Operation::removeAddress(ipv4("10.0.0.2"), 24),
            Operation::addAddress(ipv4("10.0.0.3"), 24),
            Operation::replaceDefaultRoute(ipv4("10.0.0.254"), 100, network::RouteWrite::CreateOnly) }))
        << network::describe(changed->ports[0].operations);
    EXPECT_EQ(addressesOf("dut0"), std::vector<std::string> { "10.0.0.3/24" });
    EXPECT_EQ(defaultRoutes(), std::vector<std::string> { "via 10.0.0.254 dev dut0 metric 100 proto 157" });
    EXPECT_TRUE(omni::testing::ping(peer->name(), "10.0.0.3"));

    // Gateway only: one replace in place.
    configuration.ethernet0 = staticEthernet("10.0.0.3", 24, "10.0.0.1");
    const auto gatewayOnly = apply(plan(configuration));
    ASSERT_TRUE(gatewayOnly) << gatewayOnly.error().message;
    EXPECT_EQ(gatewayOnly->ports[0].operations,
        (std::vector<Operation> {
            Operation::replaceDefaultRoute(ipv4("10.0.0.1"), 100, network::RouteWrite::Replace) }));
    EXPECT_EQ(defaultRoutes(), std::vector<std::string> { "via 10.0.0.1 dev dut0 metric 100 proto 157" });
    EXPECT_EQ(apply(plan(configuration))->changeRequests, 0U);
}

TEST_F(NetworkApplyTest, SwitchingToDhcpRemovesOnlyWhatIsOurs)
{
    ip({ "-n", dut->name(), "link", "set", "dut1", "up" });
    ip({ "-n", dut->name(), "address", "add", "192.168.50.2/24", "dev", "dut1" });
    ip({ "-n", dut->name(), "route", "add", "172.16.0.0/16", "via", "192.168.50.1", "dev", "dut1" });
    ASSERT_TRUE(apply(bothStatic()));
    EXPECT_EQ(addressesOf("dut1"), (std::vector<std::string> { "192.168.50.2/24", "10.1.0.2/24" }));

    manifest::NetworkingConfiguration configuration;
    configuration.ethernet0 = staticEthernet("10.0.0.2", 24, "10.0.0.1");
    configuration.ethernet1 = dhcpEthernet();
    const auto outcome = apply(plan(configuration));
    ASSERT_TRUE(outcome) << outcome.error().message;
    ASSERT_EQ(outcome->ports.size(), 2U);
    EXPECT_TRUE(outcome->ports[0].operations.empty());
    EXPECT_TRUE(outcome->ports[1].dhcpClientRequired);
    ASSERT_EQ(outcome->interfacesNeedingDhcpClient().size(), 1U);
    EXPECT_EQ(outcome->interfacesNeedingDhcpClient()[0].name, "dut1");

    EXPECT_EQ(addressesOf("dut1"), std::vector<std::string> { "192.168.50.2/24" });
    EXPECT_EQ(defaultRoutes(), std::vector<std::string> { "via 10.0.0.1 dev dut0 metric 100 proto 157" });
    const auto foreignRoute = ipJson({ "-n", dut->name(), "-4", "route", "show", "172.16.0.0/16" });
    ASSERT_EQ(foreignRoute.size(), 1U);
    EXPECT_EQ(foreignRoute[0]["gateway"], "192.168.50.1");
    EXPECT_TRUE(linkIsUp("dut1")); // up for the DHCP client
}

TEST_F(NetworkApplyTest, SecondInterfaceVanishingMidApplyRollsTheFirstBackExactly)
{
    ip({ "-n", dut->name(), "link", "set", "dut0", "up" });
    ip({ "-n", dut->name(), "address", "add", "192.168.60.2/24", "dev", "dut0" });
    ip({ "-n", dut->name(), "route", "add", "172.17.0.0/16", "via", "192.168.60.1", "dev", "dut0" });
    const auto dut0Before = namespaceState("dut0");

    ApplyHooks hooks;
    hooks.beforeChanges = [&](EthernetPort port, const std::vector<Operation>&) {
        if (port == EthernetPort::Ethernet1) {
            ip({ "-n", dut->name(), "link", "delete", "dut1" });
        }
    };
    const auto outcome = apply(bothStatic(), hooks);
    ASSERT_FALSE(outcome);
    const Error& error = outcome.error();
    EXPECT_EQ(error.reason, ReasonCode::NetworkApplyFailed);
    EXPECT_EQ(error.check, Check::NetworkApply);
    EXPECT_EQ(error.where, "Ethernet1");
    EXPECT_TRUE(contains(error.message, "Ethernet1 (dut1, ifindex")) << error.message;
    EXPECT_TRUE(contains(error.message, "step 1 of 3 (set link up) failed: RTM_NEWLINK")) << error.message;
    EXPECT_TRUE(contains(error.message, "No such device"))
        << error.message; // the kernel's ENODEV, in libnl's words
    EXPECT_TRUE(contains(error.message, "[ENODEV]")) << error.message;
    EXPECT_TRUE(contains(error.message, "rolled back, except interfaces that disappeared meanwhile: dut1"))
        << error.message;

    EXPECT_EQ(namespaceState("dut0"), dut0Before);
}

TEST_F(NetworkApplyTest, KernelRefusingARouteRollsBothInterfacesBackExactly)
{
    // Someone else's default route already holds Ethernet1's metric: the
    // kernel refuses ours (NLM_F_EXCL) rather than let it overwrite that one.
    addVethPair(2);
    ip({ "-n", dut->name(), "link", "set", "dut2", "up" });
    ip({ "-n", dut->name(), "address", "add", "192.168.70.2/24", "dev", "dut2" });
    ip({ "-n", dut->name(), "route", "add", "default", "via", "192.168.70.1", "dev", "dut2", "metric",
        "200" });
    // Ethernet0 starts with a foreign address on a down link, Ethernet1 up.
    ip({ "-n", dut->name(), "address", "add", "192.168.60.2/24", "dev", "dut0" });
    ip({ "-n", dut->name(), "link", "set", "dut1", "up" });
    const auto before = namespaceState();

    const auto outcome = apply(bothStatic());
    ASSERT_FALSE(outcome);
    const Error& error = outcome.error();
    EXPECT_EQ(error.reason, ReasonCode::NetworkApplyFailed);
    EXPECT_EQ(error.where, "Ethernet1");
    EXPECT_TRUE(contains(error.message, "step 2 of 2 (add default route via 10.1.0.1 metric 200) failed"))
        << error.message;
    EXPECT_TRUE(contains(error.message, "[EEXIST]")) << error.message;
    EXPECT_TRUE(contains(error.message, "rolled back: every interface is as it was before")) << error.message;

    EXPECT_EQ(namespaceState(), before);
    EXPECT_FALSE(linkIsUp("dut0"));
    EXPECT_TRUE(linkIsUp("dut1"));
}

TEST_F(NetworkApplyTest, MissingInterfaceIsReportedAndNothingIsTouched)
{
    const auto before = namespaceState();
    mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::Name, "nosuch0" };
    const auto byName = apply(bothStatic());
    ASSERT_FALSE(byName);
    EXPECT_EQ(byName.error().reason, ReasonCode::InterfaceMissing);
    EXPECT_EQ(byName.error().check, Check::InterfaceMapping);
    EXPECT_EQ(byName.error().where, "Ethernet1");
    EXPECT_TRUE(contains(byName.error().message, "interface name \"nosuch0\" matches no present interface"))
        << byName.error().message;
    EXPECT_TRUE(contains(byName.error().message, "present: lo, dut0")) << byName.error().message;

    mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::MacAddress, "02:00:00:00:00:99" };
    const auto byMac = apply(bothStatic());
    ASSERT_FALSE(byMac);
    EXPECT_EQ(byMac.error().reason, ReasonCode::InterfaceMissing);
    EXPECT_TRUE(contains(byMac.error().message, "MAC address 02:00:00:00:00:99 matches no present interface"))
        << byMac.error().message;

    mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::IdPath, "pci-0000:00:1f.6" };
    const auto byIdPath = apply(bothStatic());
    ASSERT_FALSE(byIdPath);
    EXPECT_TRUE(contains(byIdPath.error().message, "needs the udev driver")) << byIdPath.error().message;

    EXPECT_EQ(backend->changeRequestsSent(), 0U);
    EXPECT_EQ(namespaceState(), before);
}

TEST_F(NetworkApplyTest, KernelsOwnErrorTextReachesTheMessage)
{
    // Not something a plan produces (its gateway is always on-link): a
    // direct request the kernel refuses with an extended-ack text.
    const auto refused = backend->execute(ifindexOf("dut0"),
        Operation::replaceDefaultRoute(ipv4("192.0.2.1"), 300, network::RouteWrite::CreateOnly));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().reason, ReasonCode::NetworkApplyFailed);
    const std::string& message = refused.error().message;
    EXPECT_TRUE(contains(message, "RTM_NEWROUTE add default route via 192.0.2.1 metric 300 on ifindex"))
        << message;
    EXPECT_TRUE(contains(message, "(kernel: Nexthop has invalid gateway)")) << message;
    EXPECT_EQ(backend->changeRequestsSent(), 1U);
}

TEST_F(NetworkApplyTest, IdPathIsResolvedThroughTheCallersResolver)
{
    omni::testing::runInNamespace(dut->name(), [&] {
        auto opened = NetlinkBackend::open([](const std::string& idPath) -> std::optional<std::string> {
            if (idPath == "pci-0000:00:1f.6") {
                return "dut1";
            }
            return std::nullopt;
        });
        ASSERT_TRUE(opened);
        backend = std::move(*opened);
    });
    mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::IdPath, "pci-0000:00:1f.6" };
    const auto outcome = apply(bothStatic());
    ASSERT_TRUE(outcome) << outcome.error().message;
    EXPECT_EQ(outcome->ports[1].interface.name, "dut1");

    mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::IdPath, "pci-0000:00:03.0" };
    const auto unknown = apply(bothStatic());
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().reason, ReasonCode::InterfaceMissing);
    EXPECT_TRUE(contains(unknown.error().message, "matches no network interface known to udev"))
        << unknown.error().message;
}

TEST(StaleNamespaces, ThoseOfDeadRunsAreRemovedAndLiveOnesKept)
{
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    const std::string stale
        = std::string(omni::testing::kNamespacePrefix) + std::to_string(child) + "-0-stale";
    ip({ "netns", "add", stale });
    NetworkNamespace live("live");

    const auto removed = omni::testing::removeStaleNamespaces();
    EXPECT_NE(std::find(removed.begin(), removed.end(), stale), removed.end());
    EXPECT_FALSE(std::filesystem::exists("/run/netns/" + stale));
    EXPECT_TRUE(std::filesystem::exists("/run/netns/" + live.name()));
}

} // namespace
} // namespace omni::netlink
