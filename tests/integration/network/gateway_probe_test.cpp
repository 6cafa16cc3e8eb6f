// The receipt's "did the gateway answer ARP" against the real kernel: a veth
// pair between two namespaces, the peer's address answering, an address no
// one holds staying silent, and an interface that is gone.
#include <net/if.h>

#include <fstream>

#include <gtest/gtest.h>

#include "daemon/core/manifest/ipv4.hpp"
#include "drivers/netlink/gateway_probe.hpp"
#include "tests/integration/network/netns.hpp"

namespace omni::netlink {
namespace {

using namespace std::chrono_literals;
using omni::testing::ip;
using omni::testing::NetworkNamespace;
using omni::testing::runInNamespace;

std::string macOf(const std::string& ns, const std::string& interface)
{
    return omni::testing::ipJson({ "-n", ns, "link", "show", "dev", interface })[0].value("address", "");
}

class GatewayProbeTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ip({ "-n", device.name(), "link", "add", "name", "probe0", "type", "veth", "peer", "name", "gw0",
            "netns", peer.name() });
        ip({ "-n", device.name(), "address", "add", "10.88.0.2/24", "dev", "probe0" });
        ip({ "-n", device.name(), "link", "set", "probe0", "up" });
        ip({ "-n", peer.name(), "address", "add", "10.88.0.1/24", "dev", "gw0" });
        ip({ "-n", peer.name(), "link", "set", "gw0", "up" });
    }

    GatewayProbe probeOf(const std::string& gateway)
    {
        GatewayProbe probe;
        runInNamespace(device.name(), [&] { probe.ifindex = static_cast<int>(::if_nametoindex("probe0")); });
        probe.macAddress = parseMacAddress(macOf(device.name(), "probe0")).value();
        probe.source = manifest::parseIpv4("10.88.0.2").value();
        probe.gateway = manifest::parseIpv4(gateway).value();
        return probe;
    }

    NetworkNamespace device { "probe-dev" };
    NetworkNamespace peer { "probe-peer" };
};

TEST_F(GatewayProbeTest, APresentGatewayAnswersAndAnAbsentOneDoesNot)
{
    std::vector<std::optional<bool>> answers;
    const auto started = std::chrono::steady_clock::now();
    runInNamespace(device.name(), [&] {
        answers = probeGateways({ probeOf("10.88.0.1"), probeOf("10.88.0.77") }, 600ms);
    });
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_EQ(answers.size(), 2U);
    EXPECT_EQ(answers[0], std::optional<bool>(true));
    EXPECT_EQ(answers[1], std::optional<bool>(false));
    // Both waited together: one timeout, not two.
    EXPECT_LT(took, 1200ms);
}

TEST_F(GatewayProbeTest, AnInterfaceThatIsGoneCannotBeProbed)
{
    GatewayProbe probe = probeOf("10.88.0.1");
    ip({ "-n", device.name(), "link", "del", "probe0" });
    std::vector<std::optional<bool>> answers;
    runInNamespace(device.name(), [&] { answers = probeGateways({ probe }, 200ms); });
    ASSERT_EQ(answers.size(), 1U);
    EXPECT_EQ(answers[0], std::nullopt);
}

TEST(ParseMacAddress, AcceptsSixBytesOnly)
{
    EXPECT_EQ(parseMacAddress("02:00:5e:10:00:ff"),
        (std::optional<std::array<std::uint8_t, 6>>({ 0x02, 0x00, 0x5e, 0x10, 0x00, 0xff })));
    EXPECT_EQ(parseMacAddress("02:00:5e:10:00"), std::nullopt);
    EXPECT_EQ(parseMacAddress("02:00:5e:10:00:ff:01"), std::nullopt);
    EXPECT_EQ(parseMacAddress(""), std::nullopt);
}

} // namespace
} // namespace omni::netlink
