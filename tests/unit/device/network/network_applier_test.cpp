// The transactional applier over a fake kernel: mapping checked before
// anything is touched, order of the ports, idempotence, rollback with the
// failing step, read-back, DHCP hand-over.
#include <gtest/gtest.h>

#include "daemon/device/network/network_applier.hpp"
#include "tests/unit/device/network/fake_kernel.hpp"

namespace omni::netlink {
namespace {

using network::EthernetPort;
using network::InterfaceMatcher;
using network::InterfaceMode;
using network::MatchKind;
using network::ObservedAddress;
using network::Operation;
using network::OperationKind;
using testing::FakeKernel;

constexpr std::uint32_t ip(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d)
{
    return a << 24 | b << 16 | c << 8 | d;
}

constexpr std::uint32_t kAddress0 = ip(10, 0, 0, 2);
constexpr std::uint32_t kGateway0 = ip(10, 0, 0, 1);
constexpr std::uint32_t kAddress1 = ip(10, 1, 0, 2);
constexpr std::uint32_t kGateway1 = ip(10, 1, 0, 1);

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

class ApplierTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        kernel.links = {
            { 1, "lo", "", true, { { ip(127, 0, 0, 1), 8, false, false } } },
            { 2, "eth0", "02:00:00:00:00:10", false, {} },
            { 3, "eth1", "02:00:00:00:00:11", false, {} },
        };
        mapping.ethernet0.matcher = InterfaceMatcher { MatchKind::Name, "eth0" };
        mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::MacAddress, "02:00:00:00:00:11" };
    }

    network::NetworkPlan plan(InterfaceMode first, InterfaceMode second) const
    {
        network::NetworkPlan plan;
        plan.interfaces[0] = { EthernetPort::Ethernet0, first, { kAddress0, 24, kGateway0 }, 100 };
        plan.interfaces[1] = { EthernetPort::Ethernet1, second, { kAddress1, 24, kGateway1 }, 200 };
        for (auto& desired : plan.interfaces) {
            if (desired.mode != InterfaceMode::Static) {
                desired.addressing = {};
            }
        }
        return plan;
    }

    network::NetworkPlan bothStatic() const { return plan(InterfaceMode::Static, InterfaceMode::Static); }

    FakeKernel kernel;
    network::InterfaceMapping mapping;
};

TEST_F(ApplierTest, FromScratchAppliesEthernet0ThenEthernet1AndReadsBack)
{
    const auto outcome = applyNetworkPlan(kernel, bothStatic(), mapping);
    ASSERT_TRUE(outcome) << outcome.error().message;

    const std::vector<std::pair<int, Operation>> expected = {
        { 2, Operation::setLinkUp() },
        { 2, Operation::addAddress(kAddress0, 24) },
        { 2, Operation::replaceDefaultRoute(kGateway0, 100, network::RouteWrite::CreateOnly) },
        { 3, Operation::setLinkUp() },
        { 3, Operation::addAddress(kAddress1, 24) },
        { 3, Operation::replaceDefaultRoute(kGateway1, 200, network::RouteWrite::CreateOnly) },
    };
    EXPECT_EQ(kernel.executed, expected);
    EXPECT_EQ(outcome->changeRequests, 6U);
    EXPECT_TRUE(outcome->changed());
    ASSERT_EQ(outcome->ports.size(), 2U);
    EXPECT_EQ(outcome->ports[0].interface, (InterfaceIdentity { 2, "eth0", "02:00:00:00:00:10" }));
    EXPECT_EQ(outcome->ports[1].interface.name, "eth1"); // resolved by MAC
    EXPECT_EQ(outcome->ports[0].operations.size(), 3U);
    EXPECT_TRUE(outcome->interfacesNeedingDhcpClient().empty());
    EXPECT_EQ(kernel.snapshots, 1);
    EXPECT_EQ(kernel.restores, 0);
}

TEST_F(ApplierTest, ApplyingTheConfigurationInForceSendsNothingAndTakesNoSnapshot)
{
    ASSERT_TRUE(applyNetworkPlan(kernel, bothStatic(), mapping));
    const auto stateAfterFirst = kernel.links;
    const auto routesAfterFirst = kernel.routes;
    kernel.executed.clear();

    const auto again = applyNetworkPlan(kernel, bothStatic(), mapping);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->changeRequests, 0U);
    EXPECT_FALSE(again->changed());
    EXPECT_TRUE(kernel.executed.empty());
    EXPECT_EQ(kernel.snapshots, 1); // only the first apply's
    EXPECT_EQ(kernel.links, stateAfterFirst);
    EXPECT_EQ(kernel.routes, routesAfterFirst);
}

TEST_F(ApplierTest, MissingInterfaceIsReportedBeforeAnythingIsTouched)
{
    mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::Name, "eth9" };
    const auto outcome = applyNetworkPlan(kernel, bothStatic(), mapping);
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().reason, ReasonCode::InterfaceMissing);
    EXPECT_EQ(outcome.error().check, Check::InterfaceMapping);
    EXPECT_EQ(outcome.error().where, "Ethernet1");
    EXPECT_TRUE(contains(outcome.error().message, "Ethernet1 is configured as STATIC"));
    EXPECT_TRUE(contains(outcome.error().message, "\"eth9\"")) << outcome.error().message;
    EXPECT_TRUE(kernel.executed.empty());
    EXPECT_EQ(kernel.snapshots, 0);
}

TEST_F(ApplierTest, ConfiguredPortWithoutMappingIsInterfaceMissing)
{
    mapping.ethernet0.matcher.reset();
    const auto outcome
        = applyNetworkPlan(kernel, plan(InterfaceMode::Dhcp, InterfaceMode::LeaveAsIs), mapping);
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().reason, ReasonCode::InterfaceMissing);
    EXPECT_EQ(outcome.error().where, "Ethernet0");
    EXPECT_TRUE(contains(outcome.error().message, "maps Ethernet0 to no interface"))
        << outcome.error().message;
    EXPECT_TRUE(kernel.executed.empty());
}

TEST_F(ApplierTest, PortLeftAsIsNeedsNoMappingAndIsNotTouched)
{
    mapping.ethernet1.matcher.reset();
    kernel.links[2].addresses = { { ip(192, 168, 5, 5), 24, true, false } }; // even ours stays
    const auto outcome
        = applyNetworkPlan(kernel, plan(InterfaceMode::Static, InterfaceMode::LeaveAsIs), mapping);
    ASSERT_TRUE(outcome) << outcome.error().message;
    ASSERT_EQ(outcome->ports.size(), 1U);
    for (const auto& [ifindex, operation] : kernel.executed) {
        EXPECT_EQ(ifindex, 2) << network::describe(operation);
    }
    EXPECT_EQ(kernel.links[2].addresses.size(), 1U);
}

TEST_F(ApplierTest, TwoPortsOnOneInterfaceAreRefusedBeforeAnythingIsTouched)
{
    mapping.ethernet1.matcher = InterfaceMatcher { MatchKind::MacAddress, "02:00:00:00:00:10" };
    const auto outcome = applyNetworkPlan(kernel, bothStatic(), mapping);
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().reason, ReasonCode::InterfaceMissing);
    EXPECT_TRUE(contains(outcome.error().message, "both map to interface eth0")) << outcome.error().message;
    EXPECT_TRUE(kernel.executed.empty());
}

TEST_F(ApplierTest, FailureOnTheSecondPortRestoresTheSnapshotAndNamesTheStep)
{
    kernel.links[1].addresses = { { ip(192, 168, 1, 2), 24, false, false } };
    kernel.routes = { { 2, ip(192, 168, 1, 1), 50, 4 } };
    const auto linksBefore = kernel.links;
    const auto routesBefore = kernel.routes;
    kernel.failExecuteNumber = 4; // Ethernet1's second step: its address

    const auto outcome = applyNetworkPlan(kernel, bothStatic(), mapping);
    ASSERT_FALSE(outcome);
    const Error& error = outcome.error();
    EXPECT_EQ(error.reason, ReasonCode::NetworkApplyFailed);
    EXPECT_EQ(error.check, Check::NetworkApply);
    EXPECT_EQ(error.where, "Ethernet1");
    EXPECT_TRUE(contains(error.message, "Ethernet1 (eth1, ifindex 3): step 2 of 3 (add address 10.1.0.2/24)"))
        << error.message;
    EXPECT_TRUE(contains(error.message, "No such device [ENODEV]")) << error.message;
    EXPECT_TRUE(contains(error.message, "rolled back: every interface is as it was before")) << error.message;
    EXPECT_EQ(kernel.restores, 1);
    EXPECT_EQ(kernel.links, linksBefore);
    EXPECT_EQ(kernel.routes, routesBefore);
}

TEST_F(ApplierTest, HookSeesEachPortsChangesBeforeTheyAreSent)
{
    std::vector<std::pair<EthernetPort, std::size_t>> seen;
    ApplyHooks hooks;
    hooks.beforeChanges = [&](EthernetPort port, const std::vector<Operation>& operations) {
        seen.emplace_back(port, operations.size());
        EXPECT_EQ(kernel.executed.size(), port == EthernetPort::Ethernet0 ? 0U : 3U);
    };
    ASSERT_TRUE(applyNetworkPlan(kernel, bothStatic(), mapping, hooks));
    EXPECT_EQ(seen,
        (std::vector<std::pair<EthernetPort, std::size_t>> {
            { EthernetPort::Ethernet0, 3 }, { EthernetPort::Ethernet1, 3 } }));
}

TEST_F(ApplierTest, InterfaceThatVanishesMidApplyIsNamedInTheRollback)
{
    ApplyHooks hooks;
    hooks.beforeChanges = [&](EthernetPort port, const std::vector<Operation>&) {
        if (port == EthernetPort::Ethernet1) {
            std::erase_if(kernel.links, [](const FakeKernel::Link& link) { return link.name == "eth1"; });
        }
    };
    const auto outcome = applyNetworkPlan(kernel, bothStatic(), mapping, hooks);
    ASSERT_FALSE(outcome);
    EXPECT_TRUE(contains(outcome.error().message, "step 1 of 3 (set link up)")) << outcome.error().message;
    EXPECT_TRUE(contains(outcome.error().message, "except interfaces that disappeared meanwhile: eth1"))
        << outcome.error().message;
    EXPECT_FALSE(kernel.link(2)->up);
    EXPECT_TRUE(kernel.link(2)->addresses.empty());
    EXPECT_TRUE(kernel.routes.empty());
}

TEST_F(ApplierTest, FailedRollbackIsSaidPlainly)
{
    kernel.failExecuteNumber = 1;
    kernel.restoreFails = true;
    const auto outcome = applyNetworkPlan(kernel, bothStatic(), mapping);
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_TRUE(contains(outcome.error().message,
        "rolling back failed as well, the network may be half-applied: "
        "restoring route: Permission denied"))
        << outcome.error().message;
}

TEST_F(ApplierTest, AddressThatDoesNotReadBackAsOursFailsAndRollsBack)
{
    kernel.keepsAddressProtocol = false;
    const auto outcome = applyNetworkPlan(kernel, bothStatic(), mapping);
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().where, "Ethernet0");
    EXPECT_TRUE(contains(outcome.error().message, "IFA_PROTO 157")) << outcome.error().message;
    EXPECT_TRUE(contains(outcome.error().message, "Linux 6.1")) << outcome.error().message;
    EXPECT_EQ(kernel.restores, 1);
    EXPECT_TRUE(kernel.link(2)->addresses.empty());
    EXPECT_TRUE(kernel.routes.empty());
}

TEST_F(ApplierTest, KernelThatNeverConvergesFailsAfterTheLastRound)
{
    kernel.ignoresLinkUp = true;
    const auto outcome
        = applyNetworkPlan(kernel, plan(InterfaceMode::Static, InterfaceMode::LeaveAsIs), mapping);
    ASSERT_FALSE(outcome);
    EXPECT_TRUE(contains(outcome.error().message, "still differs from the plan (left to do: set link up)"))
        << outcome.error().message;
    EXPECT_EQ(kernel.restores, 1);
    const auto linkUps = std::count_if(kernel.executed.begin(), kernel.executed.end(),
        [](const auto& entry) { return entry.second.kind == OperationKind::SetLinkUp; });
    EXPECT_EQ(linkUps, kMaxApplyRounds); // one try per round
}

TEST_F(ApplierTest, DhcpPortLosesOurStaticStateAndAsksForAClient)
{
    ASSERT_TRUE(applyNetworkPlan(kernel, bothStatic(), mapping));
    kernel.links[2].addresses.push_back({ ip(192, 168, 7, 7), 24, false, false }); // someone else's
    kernel.executed.clear();

    const auto outcome = applyNetworkPlan(kernel, plan(InterfaceMode::Static, InterfaceMode::Dhcp), mapping);
    ASSERT_TRUE(outcome) << outcome.error().message;
    ASSERT_EQ(outcome->ports.size(), 2U);
    EXPECT_FALSE(outcome->ports[0].dhcpClientRequired);
    EXPECT_TRUE(outcome->ports[0].operations.empty());
    EXPECT_TRUE(outcome->ports[1].dhcpClientRequired);
    EXPECT_EQ(outcome->ports[1].operations,
        (std::vector<Operation> {
            Operation::removeAddress(kAddress1, 24), Operation::deleteDefaultRoute(kGateway1, 200) }));
    const auto clients = outcome->interfacesNeedingDhcpClient();
    ASSERT_EQ(clients.size(), 1U);
    EXPECT_EQ(clients[0].name, "eth1");
    EXPECT_EQ(kernel.link(3)->addresses,
        (std::vector<ObservedAddress> { { ip(192, 168, 7, 7), 24, false, false } }));
    ASSERT_EQ(kernel.routes.size(), 1U);
    EXPECT_EQ(kernel.routes[0].ifindex, 2);
}

TEST_F(ApplierTest, DhcpPortAlreadyHandedOverIsIdempotentButStillNeedsItsClient)
{
    const auto first = applyNetworkPlan(kernel, plan(InterfaceMode::Dhcp, InterfaceMode::LeaveAsIs), mapping);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->changeRequests, 1U); // the link comes up for the client
    const auto second
        = applyNetworkPlan(kernel, plan(InterfaceMode::Dhcp, InterfaceMode::LeaveAsIs), mapping);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->changeRequests, 0U);
    EXPECT_EQ(second->interfacesNeedingDhcpClient().size(), 1U);
}

// NetworkSnapshot::differencesTo is what restore and the tests compare with.
TEST(NetworkSnapshot, DifferencesNameWhatChanged)
{
    NetworkSnapshot before;
    before.ifindexes = { 2, 3 };
    before.links = { { 2, "eth0", false }, { 3, "eth1", true } };
    AddressRecord address;
    address.ifindex = 3;
    address.local = address.peer = ip(10, 1, 0, 2);
    address.prefixLength = 24;
    address.label = "eth1";
    before.addresses = { address };
    RouteRecord route;
    route.table = 254;
    route.protocol = 157;
    route.type = 1;
    route.priority = 200;
    route.nextHops = { { 3, ip(10, 1, 0, 1) } };
    before.routes = { route };

    EXPECT_TRUE(before.differencesTo(before).empty());

    NetworkSnapshot after = before;
    after.links[0].up = true;
    after.addresses[0].protocol = 157;
    after.routes.clear();
    const auto differences = after.differencesTo(before);
    const std::vector<std::string> expected = {
        "interface eth0 is down, was up",
        "address missing: 10.1.0.2/24 on ifindex 3 label eth1 scope 0 flags 0x00000000 proto 157",
        "address added: 10.1.0.2/24 on ifindex 3 label eth1 scope 0 flags 0x00000000 proto 0",
        "route added: default via 10.1.0.1 dev ifindex 3 table 254 proto 157 scope 0 type 1 metric 200",
    };
    EXPECT_EQ(differences, expected);

    NetworkSnapshot eth1Gone;
    eth1Gone.ifindexes = before.ifindexes;
    eth1Gone.links = { before.links[0] };
    EXPECT_EQ(
        before.differencesTo(eth1Gone), (std::vector<std::string> { "interface eth1 (ifindex 3) is gone" }));
    EXPECT_TRUE(before.differencesTo(eth1Gone, false).empty());

    NetworkSnapshot routeChanged = before;
    routeChanged.routes[0].nextHops[0].gateway = ip(10, 1, 0, 254);
    EXPECT_EQ(before.differencesTo(routeChanged),
        (std::vector<std::string> {
            "route missing: default via 10.1.0.1 dev ifindex 3 table 254 proto 157 scope 0 type 1 metric 200",
            "route added: default via 10.1.0.254 dev ifindex 3 table 254 proto 157 scope 0 type 1 metric "
            "200" }));
}

} // namespace
} // namespace omni::netlink
