// The real dhcpcd under DhcpSupervisor, inside a device namespace, against
// dnsmasq in a peer namespace. Waits are bounded polls of the lease file and
// of iproute2's view (no event to wait on across processes), never sleeps.
#include <signal.h>

#include <gtest/gtest.h>

#include "drivers/dhcp/dhcp_supervisor.hpp"
#include "tests/integration/dhcp/dhcp_lab.hpp"

#ifndef OMNI_DHCPCD_HOOK_SOURCE
#error "OMNI_DHCPCD_HOOK_SOURCE must name drivers/dhcp/dhcpcd-hook"
#endif

namespace omni::dhcp {
namespace {

using namespace std::chrono_literals;
using omni::testing::DhcpLab;
using omni::testing::ip;
using omni::testing::ipJson;
using omni::testing::readFile;
using omni::testing::waitUntil;

// A lease takes about 5 s (dhcpcd probes the address with ARP first).
constexpr auto kLeaseTimeout = 40s;

class DhcpIntegrationTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        hostResolvConf = readFile("/etc/resolv.conf");
        lab.addLink(device, peer, "10.77.0.1/24");
        lab.serveDhcp(peer, {});
        SupervisorOptions options;
        options.hookPath = OMNI_DHCPCD_HOOK_SOURCE;
        options.runtimeDirectory = lab.directory() / "run";
        options.networkNamespace = lab.deviceNamespacePath();
        supervisor = std::make_unique<DhcpSupervisor>(options);
    }

    void TearDown() override
    {
        supervisor.reset();
        // dhcpcd must never have touched the host's resolver configuration.
        EXPECT_EQ(readFile("/etc/resolv.conf"), hostResolvConf);
    }

    std::optional<Lease> waitForLease()
    {
        std::optional<Lease> lease;
        waitUntil(
            [&] {
                supervisor->reap();
                lease = supervisor->lease(device);
                return lease.has_value();
            },
            kLeaseTimeout, 50ms);
        return lease;
    }

    bool hasAddress(const std::string& address) const
    {
        const auto addresses = lab.addressesOf(device);
        return std::find(addresses.begin(), addresses.end(), address) != addresses.end();
    }

    nlohmann::json defaultRoutes() const
    {
        return ipJson({ "-n", lab.deviceNamespace(), "-4", "route", "show", "default", "dev", device });
    }

    DhcpLab lab;
    std::string device = DhcpLab::interfaceName("odh", "a");
    std::string peer = DhcpLab::interfaceName("odp", "a");
    std::string hostResolvConf;
    std::unique_ptr<DhcpSupervisor> supervisor;
};

TEST_F(DhcpIntegrationTest, TheLeaseAddressArrivesWithItsDnsAndNtpServers)
{
    ip({ "-n", lab.deviceNamespace(), "link", "set", device, "up" });
    auto started = supervisor->start(device, 200);
    ASSERT_TRUE(started) << started.error().message;
    ASSERT_TRUE(*started);
    const auto lease = waitForLease();
    ASSERT_TRUE(lease) << "no lease within the bound; dhcpcd said: "
                       << readFile(lab.directory() / "run" / "dhcp" / (device + ".log"));
    EXPECT_EQ(lease->interfaceName, device);
    EXPECT_EQ(lease->pid, supervisor->pid(device)); // dhcpcd's $pid is the process we started
    EXPECT_EQ(lease->prefixLength, 24);
    EXPECT_EQ(lease->addressText().rfind("10.77.0.", 0), 0U) << lease->addressText();
    EXPECT_EQ(lease->routers, std::vector<std::string> { "10.77.0.1" });
    EXPECT_EQ(lease->dnsServers, (std::vector<std::string> { "10.77.0.53", "10.77.0.54" }));
    EXPECT_EQ(lease->ntpServers, std::vector<std::string> { "10.77.0.123" });
    EXPECT_TRUE(hasAddress(lease->addressWithPrefix()));
    // dhcpcd's default route carries the port's metric.
    const auto routes = defaultRoutes();
    ASSERT_EQ(routes.size(), 1U) << routes.dump();
    EXPECT_EQ(routes[0]["gateway"], "10.77.0.1");
    EXPECT_EQ(routes[0]["metric"], 200);
}

TEST_F(DhcpIntegrationTest, AKilledClientIsRestartedAndTheLeaseComesBack)
{
    ASSERT_TRUE(supervisor->start(device, 200));
    const auto first = waitForLease();
    ASSERT_TRUE(first);
    const pid_t killed = supervisor->pid(device).value();
    ASSERT_EQ(::kill(killed, SIGKILL), 0);
    std::vector<ClientExit> exits;
    ASSERT_TRUE(waitUntil(
        [&] {
            exits = supervisor->reap();
            return !exits.empty();
        },
        10s));
    EXPECT_EQ(exits[0].pid, killed);
    EXPECT_EQ(exits[0].restartIn, 0ms);
    ASSERT_TRUE(supervisor->pid(device));
    EXPECT_NE(*supervisor->pid(device), killed);
    // The killed client's privilege-separation helpers are gone with it.
    // SIGKILL is delivered asynchronously: bounded wait for the group to be gone.
    EXPECT_TRUE(waitUntil([&] { return omni::testing::liveProcessesInGroup(killed).empty(); }, 5s));
    const auto again = waitForLease();
    ASSERT_TRUE(again) << readFile(lab.directory() / "run" / "dhcp" / (device + ".log"));
    EXPECT_EQ(again->addressWithPrefix(), first->addressWithPrefix());
    EXPECT_TRUE(hasAddress(again->addressWithPrefix()));
    EXPECT_EQ(supervisor->restarts(device), 1U);
}

TEST_F(DhcpIntegrationTest, StoppingRemovesTheLeaseAddressAndRoutes)
{
    ASSERT_TRUE(supervisor->start(device, 200));
    const auto lease = waitForLease();
    ASSERT_TRUE(lease);
    const pid_t pid = supervisor->pid(device).value();
    const StopOutcome stopped = supervisor->stop(device);
    EXPECT_TRUE(stopped.wasRunning);
    EXPECT_FALSE(stopped.killed) << "dhcpcd did not stop on SIGTERM in time (" << stopped.killedWhile
                                 << "); it said: "
                                 << readFile(lab.directory() / "run" / "dhcp" / (device + ".log"));
    ASSERT_TRUE(stopped.lastLease);
    EXPECT_EQ(stopped.lastLease->address, lease->address);
    EXPECT_FALSE(hasAddress(lease->addressWithPrefix()));
    EXPECT_TRUE(defaultRoutes().empty());
    EXPECT_TRUE(
        waitUntil([&] { return omni::testing::liveProcessesInGroup(pid).empty(); }, 5s)); // no helper left
    EXPECT_FALSE(std::filesystem::exists(supervisor->leasePath(device)));
    EXPECT_FALSE(std::filesystem::exists("/run/dhcpcd/" + device + "-4.pid"));
}

TEST_F(DhcpIntegrationTest, StartingNeverWaitsForALease)
{
    // No server on this link: start() returns at once and no lease is reported.
    const std::string lonely = DhcpLab::interfaceName("odh", "b");
    lab.addLink(lonely, DhcpLab::interfaceName("odp", "b"), "10.78.0.1/24");
    const auto began = std::chrono::steady_clock::now();
    ASSERT_TRUE(supervisor->start(lonely, 100));
    EXPECT_LT(std::chrono::steady_clock::now() - began, 2s);
    EXPECT_TRUE(supervisor->pid(lonely));
    EXPECT_FALSE(supervisor->lease(lonely));
}

} // namespace
} // namespace omni::dhcp
