// diffInterface(): the minimal ordered list of changes for one port, table-
// driven. Each case states what the kernel holds and what must be sent.
#include <gtest/gtest.h>

#include "daemon/core/network/network_diff.hpp"

namespace omni::network {
namespace {

constexpr std::uint32_t ip(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d)
{
    return a << 24 | b << 16 | c << 8 | d;
}

constexpr int kIfindex = 7;
constexpr int kOtherIfindex = 8;
constexpr std::uint8_t kForeignProtocol = 4; // RTPROT_STATIC: someone else's

DesiredInterface staticPort(
    std::uint32_t address, int prefixLength, std::uint32_t gateway, std::uint32_t metric = 100)
{
    return DesiredInterface { EthernetPort::Ethernet0, InterfaceMode::Static,
        { address, prefixLength, gateway }, metric };
}

DesiredInterface dhcpPort()
{
    return DesiredInterface { EthernetPort::Ethernet0, InterfaceMode::Dhcp, {}, 100 };
}

ObservedAddress ours(std::uint32_t address, int prefixLength, bool secondary = false)
{
    return { address, prefixLength, true, secondary };
}

ObservedAddress foreign(std::uint32_t address, int prefixLength, bool secondary = false)
{
    return { address, prefixLength, false, secondary };
}

ObservedRoute ourRoute(std::uint32_t gateway, std::uint32_t metric, int ifindex = kIfindex)
{
    return { ifindex, gateway, metric, kOwnRouteProtocol };
}

ObservedRoute foreignRoute(std::uint32_t gateway, std::uint32_t metric, int ifindex = kIfindex)
{
    return { ifindex, gateway, metric, kForeignProtocol };
}

ObservedInterface up(std::vector<ObservedAddress> addresses, bool promoteSecondaries = false)
{
    return { kIfindex, true, promoteSecondaries, std::move(addresses) };
}

ObservedInterface down(std::vector<ObservedAddress> addresses)
{
    return { kIfindex, false, false, std::move(addresses) };
}

const Operation kLinkUp = Operation::setLinkUp();
Operation add(std::uint32_t address, int prefixLength)
{
    return Operation::addAddress(address, prefixLength);
}
Operation remove(std::uint32_t address, int prefixLength)
{
    return Operation::removeAddress(address, prefixLength);
}
Operation createRoute(std::uint32_t gateway, std::uint32_t metric)
{
    return Operation::replaceDefaultRoute(gateway, metric, RouteWrite::CreateOnly);
}
Operation replaceRoute(std::uint32_t gateway, std::uint32_t metric)
{
    return Operation::replaceDefaultRoute(gateway, metric, RouteWrite::Replace);
}
Operation deleteRoute(std::uint32_t gateway, std::uint32_t metric)
{
    return Operation::deleteDefaultRoute(gateway, metric);
}

struct DiffCase {
    const char* name;
    DesiredInterface desired;
    ObservedInterface observed;
    std::vector<ObservedRoute> routes;
    std::vector<Operation> expected;
};

const std::uint32_t A = ip(10, 0, 0, 5);
const std::uint32_t B = ip(10, 0, 0, 6); // same /24 as A
const std::uint32_t C = ip(10, 1, 0, 5); // another subnet
const std::uint32_t G = ip(10, 0, 0, 1);
const std::uint32_t G2 = ip(10, 0, 0, 254);
const std::uint32_t GC = ip(10, 1, 0, 1);

const DiffCase kCases[] = {
    { "static from scratch: link up, address, then the route", staticPort(A, 24, G), down({}), {},
        { kLinkUp, add(A, 24), createRoute(G, 100) } },
    { "static in force: nothing at all", staticPort(A, 24, G), up({ ours(A, 24) }), { ourRoute(G, 100) },
        {} },
    { "static in force beside foreign addresses and routes: nothing", staticPort(A, 24, G),
        up({ foreign(ip(192, 168, 1, 2), 24), ours(A, 24) }),
        { foreignRoute(ip(192, 168, 1, 1), 50), ourRoute(G, 100), ourRoute(GC, 200, kOtherIfindex) }, {} },
    { "an identical foreign address already gives exactly that address: left alone", staticPort(A, 24, G),
        up({ foreign(A, 24) }), { ourRoute(G, 100) }, {} },
    { "only the link went down: only the link comes up", staticPort(A, 24, G), down({ ours(A, 24) }),
        { ourRoute(G, 100) }, { kLinkUp } },
    { "address changed within the subnet: the old primary goes first (it would take the new one down), "
      "the last address gone flushes the route, which is written again",
        staticPort(B, 24, G), up({ ours(A, 24) }), { ourRoute(G, 100) },
        { remove(A, 24), add(B, 24), createRoute(G, 100) } },
    { "address changed within the subnet with promote_secondaries: new one first, no flush",
        staticPort(B, 24, G), up({ ours(A, 24) }, true), { ourRoute(G, 100) },
        { add(B, 24), remove(A, 24) } },
    { "address changed within the subnet beside a foreign address: the route survives", staticPort(B, 24, G),
        up({ foreign(ip(192, 168, 1, 2), 24), ours(A, 24) }), { ourRoute(G, 100) },
        { remove(A, 24), add(B, 24) } },
    { "prefix length changed: a different address for the kernel", staticPort(A, 16, G), up({ ours(A, 24) }),
        { ourRoute(G, 100) }, { add(A, 16), remove(A, 24) } },
    { "address moved to another subnet with its gateway: new address first, route replaced in place",
        staticPort(C, 24, GC), up({ ours(A, 24) }), { ourRoute(G, 100) },
        { add(C, 24), remove(A, 24), replaceRoute(GC, 100) } },
    { "gateway changed: one replace, no delete, no address touched", staticPort(A, 24, G2),
        up({ ours(A, 24) }), { ourRoute(G, 100) }, { replaceRoute(G2, 100) } },
    { "metric changed: the new route, then the old one deleted", staticPort(A, 24, G, 150),
        up({ ours(A, 24) }), { ourRoute(G, 100) }, { createRoute(G, 150), deleteRoute(G, 100) } },
    { "a foreign default route holds the metric on another interface: create only, the kernel decides",
        staticPort(A, 24, G), up({ ours(A, 24) }), { foreignRoute(ip(192, 168, 1, 1), 100, kOtherIfindex) },
        { createRoute(G, 100) } },
    { "our route with the metric on another interface (ports swapped): replaced, i.e. moved here",
        staticPort(A, 24, G), up({ ours(A, 24) }), { ourRoute(GC, 100, kOtherIfindex) },
        { replaceRoute(G, 100) } },
    { "second port with its own metric next to the first port's route", staticPort(C, 24, GC, 200), down({}),
        { ourRoute(G, 100, kOtherIfindex) }, { kLinkUp, add(C, 24), createRoute(GC, 200) } },
    { "stale secondaries of ours go before their primary", staticPort(C, 24, GC),
        up({ ours(A, 24), ours(B, 24, true), ours(C, 24) }), { ourRoute(GC, 100) },
        { remove(B, 24), remove(A, 24) } },
    { "wanted address is a secondary under a stale primary of ours: it dies with it and is added again",
        staticPort(B, 24, G), up({ foreign(ip(192, 168, 1, 2), 24), ours(A, 24), ours(B, 24, true) }),
        { ourRoute(G, 100) }, { remove(A, 24), add(B, 24) } },
    { "STATIC to DHCP: our address goes, and with it (last address) the route", dhcpPort(),
        up({ ours(A, 24) }), { ourRoute(G, 100) }, { remove(A, 24) } },
    { "STATIC to DHCP beside foreign state: only ours is removed", dhcpPort(),
        up({ foreign(ip(192, 168, 1, 2), 24), ours(A, 24) }),
        { foreignRoute(ip(192, 168, 1, 1), 100), ourRoute(G, 100), ourRoute(GC, 200, kOtherIfindex) },
        { remove(A, 24), deleteRoute(G, 100) } },
    { "DHCP in force (lease addresses are not ours): nothing", dhcpPort(),
        up({ foreign(ip(192, 168, 1, 2), 24) }), { foreignRoute(ip(192, 168, 1, 1), 1024) }, {} },
    { "DHCP on a down link: the link comes up for the client", dhcpPort(), down({}), {}, { kLinkUp } },
    { "left as is: nothing, whatever is there",
        DesiredInterface { EthernetPort::Ethernet1, InterfaceMode::LeaveAsIs, {}, 200 },
        down({ ours(A, 24) }), { ourRoute(G, 200) }, {} },
};

class DiffTable : public testing::TestWithParam<DiffCase> { };

TEST_P(DiffTable, GivesExactlyTheExpectedChanges)
{
    const DiffCase& testCase = GetParam();
    const auto operations = diffInterface(testCase.desired, testCase.observed, testCase.routes);
    EXPECT_EQ(operations, testCase.expected) << testCase.name << "\n  got:      " << describe(operations)
                                             << "\n  expected: " << describe(testCase.expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, DiffTable, testing::ValuesIn(kCases),
    [](const testing::TestParamInfo<DiffCase>& info) { return "case" + std::to_string(info.index); });

TEST(Diff, DescribesOperationsForMessages)
{
    EXPECT_EQ(describe(kLinkUp), "set link up");
    EXPECT_EQ(describe(add(A, 24)), "add address 10.0.0.5/24");
    EXPECT_EQ(describe(remove(A, 24)), "remove address 10.0.0.5/24");
    EXPECT_EQ(describe(createRoute(G, 100)), "add default route via 10.0.0.1 metric 100");
    EXPECT_EQ(describe(replaceRoute(G, 100)), "replace default route via 10.0.0.1 metric 100");
    EXPECT_EQ(describe(deleteRoute(G, 200)), "delete default route via 10.0.0.1 metric 200");
    EXPECT_EQ(describe(std::vector<Operation> {}), "nothing");
    EXPECT_EQ(
        describe(std::vector<Operation> { kLinkUp, add(A, 24) }), "set link up; add address 10.0.0.5/24");
}

TEST(Diff, OwnershipIsTheDedicatedProtocol)
{
    EXPECT_TRUE(ourRoute(G, 100).ours());
    EXPECT_FALSE(foreignRoute(G, 100).ours());
    EXPECT_FALSE((ObservedRoute { kIfindex, G, 100, 3 /* RTPROT_BOOT, `ip route add` */ }.ours()));
}

} // namespace
} // namespace omni::network
