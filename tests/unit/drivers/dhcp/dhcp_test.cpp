// The DHCP driver without root: the lease format, our dhcpcd hook run as
// dhcpcd runs it, the generated dhcpcd.conf, and the supervisor's process
// handling (start, reap and restart with backoff, bounded stop) with a
// stand-in dhcpcd. tests/integration/dhcp runs the real dhcpcd.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include <gtest/gtest.h>

#include "drivers/dhcp/dhcp_supervisor.hpp"
#include "drivers/process/run_program.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temporary_directory.hpp"

#ifndef OMNI_DHCPCD_HOOK_SOURCE
#error "OMNI_DHCPCD_HOOK_SOURCE must name drivers/dhcp/dhcpcd-hook"
#endif

namespace omni::dhcp {
namespace {

using namespace std::chrono_literals;
using omni::testing::readFile;
using omni::testing::TemporaryDirectory;
using omni::testing::waitUntil;
using omni::testing::writeFile;

TEST(LeaseFile, ParsesWhatTheHookWrites)
{
    const auto lease
        = parseLease("interface=dut1\nreason=BOUND\npid=4242\nip_address=10.9.0.57\nsubnet_cidr=24\n"
                     "subnet_mask=255.255.255.0\nrouters=10.9.0.1\n"
                     "domain_name_servers=10.9.0.53 10.9.0.54\nntp_servers=10.9.0.123\nlease_time=3600\n");
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->interfaceName, "dut1");
    EXPECT_EQ(lease->reason, "BOUND");
    EXPECT_EQ(lease->pid, 4242);
    EXPECT_EQ(lease->addressWithPrefix(), "10.9.0.57/24");
    EXPECT_EQ(lease->routers, std::vector<std::string> { "10.9.0.1" });
    EXPECT_EQ(lease->dnsServers, (std::vector<std::string> { "10.9.0.53", "10.9.0.54" }));
    EXPECT_EQ(lease->ntpServers, std::vector<std::string> { "10.9.0.123" });
    EXPECT_EQ(lease->leaseSeconds, 3600U);
}

TEST(LeaseFile, TakesThePrefixFromTheMaskAndIgnoresWhatIsNotAnAddress)
{
    const auto lease = parseLease("interface=x\nip_address=192.0.2.9\nsubnet_mask=255.255.240.0\n"
                                  "domain_name_servers=192.0.2.1 evil;rm 2001:db8::1 192.0.2.2\n");
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->prefixLength, 20);
    EXPECT_EQ(lease->dnsServers, (std::vector<std::string> { "192.0.2.1", "192.0.2.2" }));
}

TEST(LeaseFile, WithoutAValidAddressAndPrefixThereIsNoLease)
{
    EXPECT_FALSE(parseLease(""));
    EXPECT_FALSE(parseLease("ip_address=10.0.0.1\n"));
    EXPECT_FALSE(parseLease("ip_address=10.0.0.300\nsubnet_cidr=24\n"));
    EXPECT_FALSE(parseLease("ip_address=10.0.0.1\nsubnet_mask=255.0.255.0\n"));
}

TEST(DhcpcdConfiguration, NeverPersistsAndAsksForDnsAndNtp)
{
    const std::string configuration = dhcpcdConfiguration();
    std::istringstream lines(configuration);
    std::vector<std::string> directives;
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line[0] != '#') {
            directives.push_back(line);
        }
    }
    for (const std::string wanted :
        { "noipv4ll", "ipv4only", "timeout 0", "option domain_name_servers, ntp_servers" }) {
        EXPECT_NE(std::find(directives.begin(), directives.end(), wanted), directives.end()) << wanted;
    }
    for (const std::string& directive : directives) {
        EXPECT_NE(directive.rfind("persistent", 0), 0U) << directive;
        EXPECT_NE(directive.rfind("script", 0), 0U) << directive;
    }
}

class HookTest : public ::testing::Test {
protected:
    system_support::ProgramResult runHook(const std::vector<std::string>& environment)
    {
        std::vector<std::string> arguments { "/usr/bin/env", "-i", "PATH=/usr/bin:/bin" };
        arguments.insert(arguments.end(), environment.begin(), environment.end());
        arguments.insert(arguments.end(), { "/bin/sh", OMNI_DHCPCD_HOOK_SOURCE });
        return system_support::runProgram(arguments, 10s);
    }

    TemporaryDirectory directory;
    std::string leaseDirectory = "OMNI_PROVISION_LEASE_DIR=" + directory.path().string();
};

TEST_F(HookTest, RecordsABoundLeaseAndRemovesItWhenDhcpcdStops)
{
    auto ran = runHook({ leaseDirectory, "interface=dut1", "reason=BOUND", "pid=77",
        "new_ip_address=10.9.0.57", "new_subnet_cidr=24", "new_subnet_mask=255.255.255.0",
        "new_routers=10.9.0.1", "new_domain_name_servers=10.9.0.53 10.9.0.54", "new_ntp_servers=10.9.0.123",
        "new_dhcp_lease_time=3600" });
    ASSERT_TRUE(ran.succeeded()) << ran.describe();
    EXPECT_EQ(directory.entries(), std::vector<std::string> { "dut1.lease" }); // no temporary left
    const auto lease = parseLease(readFile(directory / "dut1.lease"));
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->addressWithPrefix(), "10.9.0.57/24");
    EXPECT_EQ(lease->reason, "BOUND");
    EXPECT_EQ(lease->pid, 77);
    EXPECT_EQ(lease->dnsServers, (std::vector<std::string> { "10.9.0.53", "10.9.0.54" }));
    EXPECT_EQ(lease->ntpServers, std::vector<std::string> { "10.9.0.123" });

    // Reasons that carry no lease leave the file; STOP removes it.
    ASSERT_TRUE(runHook({ leaseDirectory, "interface=dut1", "reason=CARRIER" }).succeeded());
    EXPECT_TRUE(std::filesystem::exists(directory / "dut1.lease"));
    ASSERT_TRUE(runHook({ leaseDirectory, "interface=dut1", "reason=STOP" }).succeeded());
    EXPECT_FALSE(std::filesystem::exists(directory / "dut1.lease"));
}

TEST_F(HookTest, ExpiryAndNakRemoveTheLease)
{
    for (const std::string reason : { "EXPIRE", "NAK", "NOCARRIER" }) {
        writeFile(directory / "dut1.lease", "ip_address=10.0.0.1\nsubnet_cidr=8\n");
        ASSERT_TRUE(runHook({ leaseDirectory, "interface=dut1", "reason=" + reason }).succeeded());
        EXPECT_FALSE(std::filesystem::exists(directory / "dut1.lease")) << reason;
    }
}

TEST_F(HookTest, NeverWritesOutsideItsDirectory)
{
    for (const std::string name : { "../escape", ".hidden", "a/b", "" }) {
        auto ran = runHook({ leaseDirectory, "interface=" + name, "reason=BOUND", "new_ip_address=10.0.0.2",
            "new_subnet_cidr=8" });
        EXPECT_TRUE(ran.succeeded()) << ran.describe();
    }
    EXPECT_TRUE(directory.entries().empty());
    EXPECT_FALSE(std::filesystem::exists(directory.path().parent_path() / "escape.lease"));
    // Without the directory variable, nothing at all.
    EXPECT_TRUE(runHook({ "interface=dut1", "reason=BOUND", "new_ip_address=10.0.0.2", "new_subnet_cidr=8" })
                    .succeeded());
    EXPECT_TRUE(directory.entries().empty());
}

// A stand-in dhcpcd: records its arguments, then waits to be signalled
// (or ignores SIGTERM when told so by a file).
class SupervisorTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        writeFile(fakeDhcpcd,
            "#!/bin/sh\nif [ -e '" + (directory / "stubborn").string()
                + "' ]; then trap '' TERM; fi\necho \"$@\" >> '" + (directory / "calls").string()
                + "'\nwhile :; do sleep 5; done\n");
        ASSERT_EQ(::chmod(fakeDhcpcd.c_str(), 0755), 0);
        options.dhcpcdPath = fakeDhcpcd;
        options.hookPath = OMNI_DHCPCD_HOOK_SOURCE;
        options.runtimeDirectory = directory / "run";
        options.stopTimeout = 300ms;
        options.firstRestartDelay = 200ms;
        options.maxRestartDelay = 400ms;
    }

    std::vector<std::string> calls() const
    {
        std::vector<std::string> lines;
        std::istringstream text(readFile(directory / "calls"));
        for (std::string line; std::getline(text, line);) {
            lines.push_back(line);
        }
        return lines;
    }

    bool waitForCalls(std::size_t count)
    {
        return waitUntil([&] { return calls().size() >= count; }, 10s);
    }

    // Kills the client and waits (bounded) until reap() has seen it.
    std::vector<ClientExit> killAndReap(DhcpSupervisor& supervisor, const std::string& name)
    {
        const pid_t pid = supervisor.pid(name).value();
        ::kill(pid, SIGKILL);
        std::vector<ClientExit> exits;
        waitUntil(
            [&] {
                exits = supervisor.reap();
                return !exits.empty();
            },
            10s);
        return exits;
    }

    TemporaryDirectory directory;
    std::filesystem::path fakeDhcpcd = directory / "dhcpcd";
    SupervisorOptions options;
};

TEST_F(SupervisorTest, StartsOneClientPerInterfaceWithOurHookAndConfiguration)
{
    DhcpSupervisor supervisor(options);
    auto started = supervisor.start("dut7", 200);
    ASSERT_TRUE(started) << started.error().message;
    EXPECT_TRUE(*started);
    auto again = supervisor.start("dut7", 200);
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
    ASSERT_TRUE(waitForCalls(1));
    const std::string run = (directory / "run" / "dhcp").string();
    EXPECT_EQ(calls(),
        std::vector<std::string> { "--nobackground --ipv4only --nodev --config " + run
            + "/dhcpcd.conf --script " + std::string(OMNI_DHCPCD_HOOK_SOURCE)
            + " --env OMNI_PROVISION_LEASE_DIR=" + run + " --metric 200 dut7" });
    EXPECT_EQ(readFile(directory / "run" / "dhcp" / "dhcpcd.conf"), dhcpcdConfiguration());
    EXPECT_EQ(supervisor.childPids(), std::vector<pid_t> { supervisor.pid("dut7").value() });
    // Its own process group, so helpers it forks go with it.
    EXPECT_EQ(::getpgid(supervisor.pid("dut7").value()), supervisor.pid("dut7").value());
}

TEST_F(SupervisorTest, RestartsADeadClientAtOnceThenWithGrowingDelays)
{
    DhcpSupervisor supervisor(options);
    ASSERT_TRUE(supervisor.start("dut7", 100));
    const pid_t first = supervisor.pid("dut7").value();

    auto exits = killAndReap(supervisor, "dut7");
    ASSERT_EQ(exits.size(), 1U);
    EXPECT_EQ(exits[0].pid, first);
    EXPECT_NE(exits[0].status.find("signal 9"), std::string::npos) << exits[0].status;
    EXPECT_EQ(exits[0].restartIn, 0ms);
    ASSERT_TRUE(supervisor.pid("dut7"));
    EXPECT_NE(*supervisor.pid("dut7"), first);
    EXPECT_EQ(supervisor.restarts("dut7"), 1U);

    exits = killAndReap(supervisor, "dut7");
    ASSERT_EQ(exits.size(), 1U);
    EXPECT_EQ(exits[0].restartIn, 200ms);
    EXPECT_FALSE(supervisor.pid("dut7"));
    ASSERT_TRUE(supervisor.nextRestartAt());
    supervisor.restartDue(*supervisor.nextRestartAt() - 1ms);
    EXPECT_FALSE(supervisor.pid("dut7"));
    supervisor.restartDue(*supervisor.nextRestartAt());
    ASSERT_TRUE(supervisor.pid("dut7"));
    EXPECT_FALSE(supervisor.nextRestartAt());

    exits = killAndReap(supervisor, "dut7");
    ASSERT_EQ(exits.size(), 1U);
    EXPECT_EQ(exits[0].restartIn, 400ms);
    exits = [&] {
        supervisor.restartDue(*supervisor.nextRestartAt());
        return killAndReap(supervisor, "dut7");
    }();
    ASSERT_EQ(exits.size(), 1U);
    EXPECT_EQ(exits[0].restartIn, 400ms); // bounded
    EXPECT_EQ(supervisor.restarts("dut7"), 4U);
}

TEST_F(SupervisorTest, StopTerminatesAndForgetsTheLease)
{
    DhcpSupervisor supervisor(options);
    ASSERT_TRUE(supervisor.start("dut7", 100));
    ASSERT_TRUE(waitForCalls(1));
    writeFile(
        supervisor.leasePath("dut7"), "interface=dut7\nreason=BOUND\nip_address=10.9.0.5\nsubnet_cidr=24\n");
    const auto lease = supervisor.lease("dut7");
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->addressWithPrefix(), "10.9.0.5/24");
    const pid_t pid = supervisor.pid("dut7").value();
    // A lease written by another dhcpcd (an earlier, killed one) is not this client's.
    writeFile(supervisor.leasePath("dut7"),
        "interface=dut7\nreason=BOUND\npid=" + std::to_string(pid + 100000)
            + "\nip_address=10.9.0.6\nsubnet_cidr=24\n");
    EXPECT_FALSE(supervisor.lease("dut7"));
    writeFile(supervisor.leasePath("dut7"),
        "interface=dut7\nreason=BOUND\npid=" + std::to_string(pid)
            + "\nip_address=10.9.0.5\nsubnet_cidr=24\n");
    const StopOutcome stopped = supervisor.stop("dut7");
    EXPECT_TRUE(stopped.wasRunning);
    EXPECT_FALSE(stopped.killed);
    ASSERT_TRUE(stopped.lastLease);
    EXPECT_EQ(stopped.lastLease->addressWithPrefix(), "10.9.0.5/24");
    EXPECT_FALSE(supervisor.supervises("dut7"));
    EXPECT_FALSE(std::filesystem::exists(supervisor.leasePath("dut7")));
    EXPECT_NE(::kill(pid, 0), 0); // reaped, gone
    EXPECT_FALSE(supervisor.lease("dut7"));
}

TEST_F(SupervisorTest, AClientIgnoringSigtermIsKilledAfterTheBound)
{
    writeFile(directory / "stubborn", "");
    DhcpSupervisor supervisor(options);
    ASSERT_TRUE(supervisor.start("dut7", 100));
    ASSERT_TRUE(waitForCalls(1)); // the trap is set before the call is recorded
    const auto began = std::chrono::steady_clock::now();
    const StopOutcome stopped = supervisor.stop("dut7");
    EXPECT_TRUE(stopped.killed);
    EXPECT_GE(std::chrono::steady_clock::now() - began, options.stopTimeout);
    EXPECT_TRUE(supervisor.childPids().empty());
}

TEST_F(SupervisorTest, AMissingDhcpcdOrABadNameIsRefusedUpFront)
{
    options.dhcpcdPath = directory / "no-such-dhcpcd";
    DhcpSupervisor supervisor(options);
    auto started = supervisor.start("dut7", 100);
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_NE(started.error().message.find("no-such-dhcpcd"), std::string::npos) << started.error().message;
    for (const std::string name : { "", "../x", "a/b", "sixteen-chars-xx", "-x" }) {
        EXPECT_FALSE(supervisor.start(name, 100)) << name;
    }
    EXPECT_TRUE(supervisor.interfaces().empty());
}

} // namespace
} // namespace omni::dhcp
