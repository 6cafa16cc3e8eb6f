// The whole daemon, end to end (daemon_harness.hpp says how): the real
// omni-provisiond binary in a network namespace of its own (veth eth0/eth1)
// under umockdev's preload library, a umockdev USB 3 stick on the configured
// connector whose block device is a real loop device with an ext4 image, and
// archives made with the real CLI (or, for an expired one, with the test
// archive factory). Where a scenario must act at an exact point of the
// daemon's work (a stick pulled while its archive is read, SIGTERM during the
// apply), the test holds the daemon with ptrace at the entry of the system
// call that marks that point, acts, and lets it go: no timing involved.
//
// Needs root (loop devices, mounts, namespaces, ptrace) and umockdev; exits
// 77 with the reason otherwise. The test process runs in a private mount
// namespace (inherited by the daemon), so nothing mounted here outlives it.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/core/time/time.hpp"
#include "tests/integration/daemon/daemon_harness.hpp"
#include "tests/integration/network/netns.hpp"
#include "tests/support/archive_factory.hpp"
#include "tests/support/process.hpp"

namespace {

using namespace omni::testing::daemon_harness;
using omni::testing::TemporaryDirectory;

constexpr auto kProvisionDeadline = 20s;

// The lines of `log` that contain `needle`.
std::vector<std::string> linesWith(const std::string& log, const std::string& needle)
{
    std::vector<std::string> lines;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
        if (line.find(needle) != std::string::npos)
            lines.push_back(line);
    return lines;
}

// Whether the daemon's sendmsg(2) at `messageHeader` carries a netlink
// request that changes a link, an address or a route (not a dump).
bool isNetlinkChange(pid_t pid, std::uint64_t messageHeader)
{
    const std::string header = readRemoteBytes(pid, messageHeader, sizeof(msghdr));
    if (header.size() != sizeof(msghdr))
        return false;
    msghdr message {};
    std::memcpy(&message, header.data(), sizeof message);
    if (message.msg_name) {
        const std::string family
            = readRemoteBytes(pid, reinterpret_cast<std::uint64_t>(message.msg_name), sizeof(sa_family_t));
        sa_family_t value = 0;
        if (family.size() == sizeof value)
            std::memcpy(&value, family.data(), sizeof value);
        if (value != AF_NETLINK)
            return false;
    }
    if (!message.msg_iov || message.msg_iovlen == 0)
        return false;
    const std::string vector
        = readRemoteBytes(pid, reinterpret_cast<std::uint64_t>(message.msg_iov), sizeof(iovec));
    if (vector.size() != sizeof(iovec))
        return false;
    iovec first {};
    std::memcpy(&first, vector.data(), sizeof first);
    if (first.iov_len < sizeof(nlmsghdr))
        return false;
    const std::string bytes
        = readRemoteBytes(pid, reinterpret_cast<std::uint64_t>(first.iov_base), sizeof(nlmsghdr));
    if (bytes.size() != sizeof(nlmsghdr))
        return false;
    nlmsghdr netlink {};
    std::memcpy(&netlink, bytes.data(), sizeof netlink);
    if ((netlink.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP)
        return false;
    switch (netlink.nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_SETLINK:
    case RTM_NEWADDR:
    case RTM_DELADDR:
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
        return true;
    default:
        return false;
    }
}

// What the namespace's two ports carry: admin state, IPv4 addresses, default routes.
struct PortsState {
    std::map<std::string, bool> up;
    std::map<std::string, std::vector<std::string>> addresses;
    std::vector<std::string> defaultRoutes; // "via GATEWAY dev IF metric M"
    bool operator==(const PortsState&) const = default;

    std::string describe() const
    {
        std::string text;
        for (const auto& [name, isUp] : up) {
            text += name + (isUp ? " UP" : " down") + ":";
            for (const auto& address : addresses.at(name))
                text += " " + address;
            text += "; ";
        }
        text += "default routes:";
        for (const auto& route : defaultRoutes)
            text += " [" + route + "]";
        return text;
    }
};

PortsState portsState(const std::string& namespaceName)
{
    PortsState state;
    for (const char* name : { "eth0", "eth1" }) {
        const auto links
            = omni::testing::ipJson({ "-n", namespaceName, "-4", "address", "show", "dev", name });
        bool isUp = false;
        std::vector<std::string> addresses;
        for (const auto& link : links) {
            for (const auto& flag : link.value("flags", nlohmann::json::array()))
                isUp = isUp || flag == "UP";
            for (const auto& info : link.value("addr_info", nlohmann::json::array()))
                addresses.push_back(
                    info.value("local", "") + "/" + std::to_string(info.value("prefixlen", -1)));
        }
        // `ip -4 address show` omits a link without IPv4 addresses: ask the link itself.
        if (links.empty())
            for (const auto& link :
                omni::testing::ipJson({ "-n", namespaceName, "link", "show", "dev", name }))
                for (const auto& flag : link.value("flags", nlohmann::json::array()))
                    isUp = isUp || flag == "UP";
        std::sort(addresses.begin(), addresses.end());
        state.up[name] = isUp;
        state.addresses[name] = addresses;
    }
    for (const auto& route : omni::testing::ipJson({ "-n", namespaceName, "-4", "route", "show", "default" }))
        state.defaultRoutes.push_back("via " + route.value("gateway", "") + " dev " + route.value("dev", "")
            + " metric " + std::to_string(route.value("metric", 0)));
    std::sort(state.defaultRoutes.begin(), state.defaultRoutes.end());
    return state;
}

// dnsmasq answering DHCP on `interfaceName` of a namespace (no DNS: --port=0).
class Dnsmasq {
public:
    Dnsmasq(const std::string& namespaceName, const std::string& interfaceName, const std::string& subnet,
        const fs::path& directory)
    {
        const std::vector<std::string> arguments { "ip", "netns", "exec", namespaceName, "dnsmasq",
            "--no-daemon", "--conf-file=/dev/null", "--port=0", "--bind-interfaces",
            "--interface=" + interfaceName,
            "--dhcp-range=" + subnet + ".50," + subnet + ".99,255.255.255.0,1h",
            "--dhcp-leasefile=" + (directory / "dnsmasq.leases").string(),
            "--pid-file=" + (directory / "dnsmasq.pid").string(), "--dhcp-authoritative",
            "--dhcp-option=option:router," + subnet + ".1",
            "--dhcp-option=option:dns-server," + subnet + ".53" };
        std::vector<char*> argv;
        for (const auto& argument : arguments)
            argv.push_back(const_cast<char*>(argument.c_str()));
        argv.push_back(nullptr);
        const int output
            = ::open((directory / "dnsmasq.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(output, STDOUT_FILENO);
            ::dup2(output, STDERR_FILENO);
            ::execvp(argv[0], argv.data());
            ::_exit(127);
        }
        if (output >= 0)
            ::close(output);
    }
    ~Dnsmasq()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    Dnsmasq(const Dnsmasq&) = delete;
    Dnsmasq& operator=(const Dnsmasq&) = delete;

private:
    pid_t pid_ = -1;
};

class DaemonTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ca_ = makeCa(work_ / "ca");
        fs::create_directories(stateDirectory());
        fs::create_directories(runtimeDirectory());
        namespace_.emplace("daemon");
        peers_.emplace("gateways");
        // The far ends hold the gateways, so the receipt's ARP probe is answered at once.
        for (const char* port : { "0", "1" }) {
            const std::string peer = std::string("peer") + port;
            omni::testing::ip({ "-n", namespace_->name(), "link", "add", std::string("eth") + port, "type",
                "veth", "peer", "name", peer, "netns", peers_->name() });
            omni::testing::ip({ "-n", peers_->name(), "address", "add",
                std::string("10.7") + (*port == '0' ? "7" : "8") + ".0.1/24", "dev", peer });
            omni::testing::ip({ "-n", peers_->name(), "link", "set", peer, "up" });
        }
    }
    void TearDown() override
    {
        // OMNI_DAEMON_TEST_LOG=1 shows the daemon's log of passing tests too.
        if (daemon_ && (::testing::Test::HasFailure() || std::getenv("OMNI_DAEMON_TEST_LOG")))
            std::cerr << "---- omni-provisiond log ----\n" << daemon_->log() << "---- end ----\n";
        // A failed test may leave the daemon mid-attempt: stop it, then let
        // go of its mount so the loop device and the directories can go.
        daemon_.reset();
        if (!dhcpInterface_.empty()) {
            // A daemon killed above leaves its dhcpcd (own process group) behind.
            const pid_t client = static_cast<pid_t>(
                std::atoi(readWholeFile(runtimeDirectory() + "/dhcp/" + dhcpInterface_ + ".pid").c_str()));
            if (client > 1
                && readWholeFile("/proc/" + std::to_string(client) + "/comm").rfind("dhcpcd", 0) == 0)
                ::killpg(client, SIGKILL);
            std::error_code ignored;
            fs::remove("/var/lib/dhcpcd/" + dhcpInterface_ + ".lease", ignored);
        }
        for (const auto* stick : { stick_ ? &*stick_ : nullptr, nextStick_ ? &*nextStick_ : nullptr }) {
            if (!stick)
                continue;
            for (const auto& line : mountsOf(stick->device(), runtimeDirectory())) {
                std::istringstream fields(line);
                std::string mountPoint;
                for (int field = 0; field < 5; ++field)
                    fields >> mountPoint;
                ::umount2(mountPoint.c_str(), MNT_DETACH);
            }
        }
    }

    std::string stateDirectory() const { return work_ / "state"; }
    std::string runtimeDirectory() const { return work_ / "run"; }

    DaemonConfig config() const
    {
        DaemonConfig configuration;
        configuration.anchors = { ca_.root() };
        configuration.stateDirectory = stateDirectory();
        configuration.runtimeDirectory = runtimeDirectory();
        return configuration;
    }

    // The stick holds an archive for `deviceName` issued by `issuer`.
    void makeStick(const std::string& deviceName, const TestCa& issuer)
    {
        deviceName_ = deviceName;
        archive_ = issueArchive(work_.path(), issuer, deviceName);
        stick_.emplace(work_.path(), std::vector<fs::path> { archive_ });
        ASSERT_FALSE(stick_->device().empty());
    }

    // The stick holds these archives; `deviceName` names the receipt expected.
    void makeStickWith(const std::vector<fs::path>& archives, const std::string& deviceName)
    {
        deviceName_ = deviceName;
        stick_.emplace(work_.path(), archives);
        ASSERT_FALSE(stick_->device().empty());
    }

    void writeConfig(const std::string& text) { writeWholeFile(work_ / "config.yaml", text); }

    void startDaemon(const DaemonConfig& configuration)
    {
        writeConfig(configuration.render());
        daemon_.emplace(DaemonProcess::Launch {
            work_ / "config.yaml", namespace_->name(), usb_.root(), work_ / "daemon.log", environment_ });
        // The monitor is open (and enumeration done) once it says so.
        ASSERT_TRUE(daemon_->waitForLog(" started; ")) << "the daemon did not start:\n" << daemon_->log();
    }
    void startDaemon() { startDaemon(config()); }

    nlohmann::json statusJson()
    {
        try {
            return nlohmann::json::parse(readWholeFile(stateDirectory() + "/status.json"));
        } catch (const std::exception&) {
            return nlohmann::json::object(); // not written yet
        }
    }
    std::string statusField(const std::string& field)
    {
        const auto status = statusJson();
        return status.contains(field) && status[field].is_string() ? status[field].get<std::string>() : "";
    }

    void waitForStatus(const std::string& expected)
    {
        const bool reached = waitUntil(
            [&] { return statusField("Status") == expected || !daemon_->running(); }, kProvisionDeadline);
        ASSERT_TRUE(reached && statusField("Status") == expected)
            << "status.json: " << readWholeFile(stateDirectory() + "/status.json") << "\nlog:\n"
            << daemon_->log();
    }

    // The attempt on `device` is over: the daemon logs its end after the unmount.
    void waitForAttemptEnd(const std::string& device, std::size_t count = 1)
    {
        ASSERT_TRUE(daemon_->waitForLog("Done with " + device + " ", count, kProvisionDeadline))
            << daemon_->log();
    }

    nlohmann::json statusCommand()
    {
        return nlohmann::json::parse(cli({ "status", "--json", "--state-dir", stateDirectory() }));
    }

    void expectStatusCommand(const std::string& status, const std::string& name)
    {
        const auto shown = statusCommand();
        EXPECT_EQ(shown.value("Status", ""), status) << shown.dump(2);
        EXPECT_EQ(shown.value("Name", std::string()), name) << shown.dump(2);
    }

    // No mount of the stick in the daemon's mount namespace (its own
    // mountinfo while it runs, else ours: it inherited our namespace).
    void expectNoStickMount(const std::string& device)
    {
        const pid_t where = daemon_ && daemon_->running() ? daemon_->pid() : 0;
        EXPECT_EQ(mountsOf(device, runtimeDirectory(), where), std::vector<std::string> {})
            << "the stick is still mounted";
    }
    void expectNoStickMount() { expectNoStickMount(stick_->device()); }

    // The stick now holds exactly what it held before plus the two receipts.
    FileTree expectStickUnchangedButReceipts()
    {
        FileTree now = stick_->currentFiles(work_.path());
        FileTree receipts;
        for (const char* extension : { ".txt", ".json" }) {
            const std::string name = "omni-provision-report_" + deviceName_ + extension;
            auto found = now.find(name);
            if (found == now.end()) {
                ADD_FAILURE() << name << " is not on the stick";
                continue;
            }
            receipts.insert(*found);
            now.erase(found);
        }
        EXPECT_EQ(now.size(), stick_->original().size());
        for (const auto& [name, content] : stick_->original()) {
            auto found = now.find(name);
            if (found == now.end())
                ADD_FAILURE() << name << " is gone from the stick";
            else
                EXPECT_TRUE(found->second == content) << name << " was changed on the stick";
        }
        return receipts;
    }

    bool hasAddress(const std::string& interfaceName, const std::string& address, int prefix)
    {
        const auto links
            = omni::testing::ipJson({ "-n", namespace_->name(), "addr", "show", "dev", interfaceName });
        for (const auto& link : links)
            for (const auto& info : link.value("addr_info", nlohmann::json::array()))
                if (info.value("local", "") == address && info.value("prefixlen", -1) == prefix)
                    return true;
        return false;
    }

    // Matches the daemon's first mount(2) of `device` (not a remount), for holdAtSyscall.
    static std::function<bool(const SyscallEntry&)> mountOf(pid_t pid, const std::string& device)
    {
        return [pid, device](const SyscallEntry& call) {
            return call.number == SYS_mount && (call.arguments[3] & MS_REMOUNT) == 0
                && readRemoteString(pid, call.arguments[0]) == device;
        };
    }

    // Plug after start and wait for success: the common beginning.
    void provisionStatically()
    {
        ASSERT_NO_FATAL_FAILURE(makeStick("edge-gw-1", ca_));
        ASSERT_NO_FATAL_FAILURE(startDaemon());
        usb_.plug(*stick_);
        ASSERT_NO_FATAL_FAILURE(waitForStatus("SUCCEEDED"));
        ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    }

    // After an accident: a new stick with a fresh archive in the same port
    // is provisioned as usual (the daemon is healthy).
    void expectNextStickProvisions(const std::string& deviceName)
    {
        const fs::path archive = issueArchive(work_.path(), ca_, deviceName);
        nextStick_.emplace(work_.path(), std::vector<fs::path> { archive }, "next-stick");
        usb_.plug(*nextStick_);
        ASSERT_NO_FATAL_FAILURE(waitForStatus("SUCCEEDED"));
        ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(nextStick_->device()));
        expectStatusCommand("SUCCEEDED", deviceName);
        EXPECT_TRUE(hasAddress("eth0", kStaticAddress, 24));
        expectNoStickMount(nextStick_->device());
        EXPECT_TRUE(daemon_->running());
    }

    // An archive from the test archive factory, its root trusted by the
    // daemon through `anchors` (the factory's authority is not the CLI's CA).
    fs::path factoryArchive(const std::string& name, omni::time::UnixTime issuedAt)
    {
        if (!authority_) {
            authority_ = omni::testing::TestAuthority::make(std::time(nullptr), "Daemon test");
            writeWholeFile(factoryRoot(), authority_->rootPem());
        }
        omni::testing::ArchiveRecipe recipe;
        recipe.name = name;
        recipe.issuedAt = issuedAt;
        recipe.networking = { { "Ethernet0", staticEthernet(kStaticAddress, kStaticGateway) } };
        const fs::path directory = work_ / ("factory-" + name);
        fs::create_directories(directory);
        const fs::path archive = directory / ("certificates-omni_" + name + ".zip");
        writeWholeFile(archive, omni::testing::ArchiveFactory(*authority_).make(recipe));
        return archive;
    }
    std::string factoryRoot() const { return work_ / "factory-root.pem"; }

    TemporaryDirectory work_;
    TestCa ca_;
    MockUsb usb_;
    std::optional<omni::testing::NetworkNamespace> namespace_;
    std::optional<omni::testing::NetworkNamespace> peers_;
    std::optional<omni::testing::TestAuthority> authority_;
    std::string deviceName_;
    std::string dhcpInterface_;
    fs::path archive_;
    std::optional<LoopStick> stick_;
    std::optional<LoopStick> nextStick_;
    std::optional<DaemonProcess> daemon_;
    std::vector<std::string> environment_; // extra NAME=VALUE entries for the daemon
};

TEST_F(DaemonTest, StickPluggedAfterStartProvisionsStaticAddress)
{
    ASSERT_NO_FATAL_FAILURE(provisionStatically());

    expectStatusCommand("SUCCEEDED", deviceName_);
    EXPECT_TRUE(hasAddress("eth0", kStaticAddress, 24))
        << omni::testing::ip({ "-n", namespace_->name(), "addr", "show" });
    EXPECT_TRUE(
        daemon_->waitForLog("Provisioned as " + deviceName_ + " from " + archive_.filename().string()))
        << daemon_->log();
    EXPECT_TRUE(daemon_->waitForLog("receipt omni-provision-report_" + deviceName_ + ".txt written"));
    expectNoStickMount();
    const FileTree receipts = expectStickUnchangedButReceipts();
    const auto json = receipts.find("omni-provision-report_" + deviceName_ + ".json");
    if (json != receipts.end()) {
        const auto receipt = nlohmann::json::parse(json->second);
        EXPECT_EQ(receipt.value("Result", ""), "SUCCEEDED") << json->second;
        EXPECT_EQ(receipt.value("Name", ""), deviceName_);
    }
    EXPECT_TRUE(daemon_->running());
}

// Text from a stick is data, never control (DESIGN.md section 7): the tag key
// of issue 13 reaches the journal, STATUS= and the receipt escaped, and
// sd_notify never sees a second assignment.
TEST_F(DaemonTest, AHostileTagKeyCannotCommandSystemdOrTheTerminal)
{
    const std::string shown = "Tags.a\\nMAINPID=1234\\nWATCHDOG=trigger\\n\\x1b[2J";
    const fs::path archive = work_ / "certificates-omni_cam-01.zip";
    writeWholeFile(archive,
        omni::testing::unsignedArchive({ { "a\nMAINPID=1234\nWATCHDOG=trigger\n\x1b[2J", "x" } },
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
    ASSERT_NO_FATAL_FAILURE(makeStickWith({ archive }, "cam-01"));
    NotifySocket notify(work_ / "notify.sock");
    environment_.push_back("NOTIFY_SOCKET=" + notify.path());
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    usb_.plug(*stick_);
    ASSERT_NO_FATAL_FAILURE(waitForStatus("FAILED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));

    const auto verdicts = linesWith(daemon_->log(), "MANIFEST_INVALID: ");
    ASSERT_FALSE(verdicts.empty()) << daemon_->log();
    EXPECT_NE(verdicts.front().find(shown), std::string::npos) << verdicts.front();
    EXPECT_FALSE(omni::testing::hasRawControlBytes(daemon_->log())) << daemon_->log();

    // The status after the attempt follows its last journal line: every
    // datagram up to it (and any already queued after it) is kept and judged.
    std::vector<std::string> datagrams;
    bool failedStatus = false;
    const auto deadline = NotifySocket::Clock::now() + 5s;
    while (!failedStatus && NotifySocket::Clock::now() < deadline) {
        const auto message = notify.next(100ms);
        if (!message)
            continue;
        datagrams.push_back(message->first);
        failedStatus = message->first.rfind("STATUS=Last attempt failed", 0) == 0;
    }
    for (auto message = notify.next(0ms); message; message = notify.next(0ms))
        datagrams.push_back(message->first);
    EXPECT_TRUE(failedStatus);
    for (const auto& datagram : datagrams) {
        EXPECT_EQ(datagram.find("\nMAINPID="), std::string::npos) << datagram;
        EXPECT_EQ(datagram.find("\nWATCHDOG="), std::string::npos) << datagram;
        EXPECT_EQ(datagram.find('\x1b'), std::string::npos) << datagram;
        if (datagram.rfind("STATUS=Last attempt failed", 0) == 0) {
            EXPECT_NE(datagram.find("MANIFEST_INVALID — " + shown), std::string::npos) << datagram;
        }
    }

    const FileTree receipts = expectStickUnchangedButReceipts();
    const auto json = receipts.find("omni-provision-report_cam-01.json");
    ASSERT_NE(json, receipts.end());
    const auto receipt = nlohmann::json::parse(json->second);
    EXPECT_EQ(receipt.value("Reason", ""), "MANIFEST_INVALID") << json->second;
    EXPECT_NE(receipt.value("Message", "").find(shown), std::string::npos) << json->second;
    const auto text = receipts.find("omni-provision-report_cam-01.txt");
    ASSERT_NE(text, receipts.end());
    EXPECT_FALSE(omni::testing::hasRawControlBytes(text->second)) << text->second;
    EXPECT_NE(text->second.find(shown), std::string::npos) << text->second;
    EXPECT_TRUE(daemon_->running());
}

TEST_F(DaemonTest, ArchiveOfForeignCaFailsWithCertUntrusted)
{
    const TestCa foreign = makeCa(work_ / "foreign-ca");
    ASSERT_NO_FATAL_FAILURE(makeStick("edge-gw-2", foreign));
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    usb_.plug(*stick_);
    ASSERT_NO_FATAL_FAILURE(waitForStatus("FAILED"));
    ASSERT_TRUE(daemon_->waitForLog("CERT_UNTRUSTED")) << daemon_->log();
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    expectNoStickMount();

    const auto shown = statusCommand();
    EXPECT_EQ(shown.value("Status", ""), "FAILED") << shown.dump(2);
    EXPECT_EQ(shown["LastAttempt"].value("Reason", ""), "CERT_UNTRUSTED") << shown.dump(2);
    EXPECT_FALSE(hasAddress("eth0", kStaticAddress, 24));
    const FileTree receipts = expectStickUnchangedButReceipts();
    const auto json = receipts.find("omni-provision-report_" + deviceName_ + ".json");
    ASSERT_NE(json, receipts.end());
    const auto receipt = nlohmann::json::parse(json->second);
    EXPECT_EQ(receipt.value("Status", ""), "FAILED") << json->second;
    EXPECT_EQ(receipt.value("Reason", ""), "CERT_UNTRUSTED") << json->second;
    const auto text = receipts.find("omni-provision-report_" + deviceName_ + ".txt");
    ASSERT_NE(text, receipts.end());
    EXPECT_NE(text->second.find("FAILED"), std::string::npos) << text->second;
}

TEST_F(DaemonTest, ExpiredArchiveFailsWithCertExpired)
{
    // Issued an hour ago: notAfter + 30 s of tolerance passed 55 minutes ago.
    const fs::path expired = factoryArchive("edge-gw-expired", std::time(nullptr) - 3600);
    ASSERT_NO_FATAL_FAILURE(makeStickWith({ expired }, "edge-gw-expired"));
    auto configuration = config();
    configuration.anchors.push_back(factoryRoot());
    ASSERT_NO_FATAL_FAILURE(startDaemon(configuration));
    usb_.plug(*stick_);
    ASSERT_NO_FATAL_FAILURE(waitForStatus("FAILED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));

    const auto shown = statusCommand();
    EXPECT_EQ(shown.value("Status", ""), "FAILED") << shown.dump(2);
    EXPECT_EQ(shown["LastAttempt"].value("Result", ""), "FAILED") << shown.dump(2);
    EXPECT_EQ(shown["LastAttempt"].value("Reason", ""), "CERT_EXPIRED") << shown.dump(2);
    EXPECT_EQ(shown["LastAttempt"].value("FileName", ""), expired.filename().string()) << shown.dump(2);
    // The journal line of the verdict carries the reason as a field.
    const auto verdicts = linesWith(daemon_->log(), "CERT_EXPIRED: ");
    ASSERT_EQ(verdicts.size(), 1U) << daemon_->log();
    EXPECT_NE(verdicts.front().find(" OMNI_REASON=CERT_EXPIRED"), std::string::npos) << verdicts.front();
    EXPECT_NE(verdicts.front().find(" OMNI_ARCHIVE=" + expired.filename().string()), std::string::npos)
        << verdicts.front();
    EXPECT_FALSE(hasAddress("eth0", kStaticAddress, 24));
    expectNoStickMount();
    const FileTree receipts = expectStickUnchangedButReceipts();
    const auto json = receipts.find("omni-provision-report_edge-gw-expired.json");
    ASSERT_NE(json, receipts.end());
    EXPECT_EQ(nlohmann::json::parse(json->second).value("Reason", ""), "CERT_EXPIRED") << json->second;
}

// DESIGN.md section 3, "Several archives on one stick": without an expected
// name, candidates that stop at checks 3-19 are set aside and exactly one
// survivor is used.
TEST_F(DaemonTest, OfTwoArchivesTheOnlyValidOneIsUsedAndTheOtherSetAside)
{
    const TestCa foreign = makeCa(work_ / "foreign-ca");
    // The foreign one sorts first: order decides nothing here.
    const fs::path untrusted = issueArchive(work_.path(), foreign, "edge-gw-a");
    const fs::path valid = issueArchive(work_.path(), ca_, "edge-gw-b");
    ASSERT_NO_FATAL_FAILURE(makeStickWith({ untrusted, valid }, "edge-gw-b"));
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    usb_.plug(*stick_);
    ASSERT_NO_FATAL_FAILURE(waitForStatus("SUCCEEDED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));

    const auto shown = statusCommand();
    EXPECT_EQ(shown.value("Name", ""), "edge-gw-b") << shown.dump(2);
    EXPECT_EQ(shown["LastAttempt"].value("FileName", ""), valid.filename().string()) << shown.dump(2);
    EXPECT_TRUE(hasAddress("eth0", kStaticAddress, 24));
    const auto setAside = linesWith(daemon_->log(), "set aside " + untrusted.filename().string() + ": ");
    ASSERT_EQ(setAside.size(), 1U) << daemon_->log();
    EXPECT_NE(setAside.front().find("CERT_UNTRUSTED"), std::string::npos) << setAside.front();
    EXPECT_TRUE(daemon_->waitForLog("Provisioned as edge-gw-b from " + valid.filename().string()));
    expectNoStickMount();
    // The receipt is the used archive's; both archives are still there.
    const FileTree receipts = expectStickUnchangedButReceipts();
    EXPECT_EQ(receipts.size(), 2U);
}

// ... two or more survivors: ARCHIVE_AMBIGUOUS naming them, nothing applied.
TEST_F(DaemonTest, TwoValidArchivesAreAmbiguous)
{
    const fs::path first = issueArchive(work_.path(), ca_, "edge-gw-c");
    const fs::path second = issueArchive(work_.path(), ca_, "edge-gw-d");
    ASSERT_NO_FATAL_FAILURE(makeStickWith({ first, second }, "unknown"));
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    usb_.plug(*stick_);
    ASSERT_NO_FATAL_FAILURE(waitForStatus("FAILED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));

    const auto shown = statusCommand();
    EXPECT_EQ(shown["LastAttempt"].value("Reason", ""), "ARCHIVE_AMBIGUOUS") << shown.dump(2);
    const std::string message = shown["LastAttempt"].value("Message", "");
    EXPECT_NE(message.find(first.filename().string()), std::string::npos) << message;
    EXPECT_NE(message.find(second.filename().string()), std::string::npos) << message;
    EXPECT_FALSE(hasAddress("eth0", kStaticAddress, 24));
    EXPECT_EQ(countOccurrences(daemon_->log(), "set aside "), 0U) << daemon_->log();
    expectNoStickMount();
}

// ... with a configured expected name only that file counts, so the other
// valid archive is no rival.
TEST_F(DaemonTest, AnExpectedNameMakesOnlyItsArchiveCount)
{
    const fs::path other = issueArchive(work_.path(), ca_, "edge-gw-e");
    const fs::path mine = issueArchive(work_.path(), ca_, "edge-gw-f");
    ASSERT_NO_FATAL_FAILURE(makeStickWith({ other, mine }, "edge-gw-f"));
    auto configuration = config();
    configuration.expectedName = "edge-gw-f";
    ASSERT_NO_FATAL_FAILURE(startDaemon(configuration));
    usb_.plug(*stick_);
    ASSERT_NO_FATAL_FAILURE(waitForStatus("SUCCEEDED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    expectStatusCommand("SUCCEEDED", "edge-gw-f");
    EXPECT_EQ(countOccurrences(daemon_->log(), "set aside "), 0U) << daemon_->log();
}

// ... no survivor: the reason of the candidate that got furthest down the
// table (an expired certificate, check 17, beats an untrusted one, check 14,
// although the untrusted one sorts first).
TEST_F(DaemonTest, WithoutSurvivorTheFurthestCandidateDecides)
{
    const TestCa foreign = makeCa(work_ / "foreign-ca");
    const fs::path untrusted = issueArchive(work_.path(), foreign, "edge-gw-g");
    const fs::path expired = factoryArchive("edge-gw-h", std::time(nullptr) - 3600);
    ASSERT_NO_FATAL_FAILURE(makeStickWith({ untrusted, expired }, "edge-gw-h"));
    auto configuration = config();
    configuration.anchors.push_back(factoryRoot());
    ASSERT_NO_FATAL_FAILURE(startDaemon(configuration));
    usb_.plug(*stick_);
    ASSERT_NO_FATAL_FAILURE(waitForStatus("FAILED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    const auto shown = statusCommand();
    EXPECT_EQ(shown["LastAttempt"].value("Reason", ""), "CERT_EXPIRED") << shown.dump(2);
    EXPECT_EQ(shown["LastAttempt"].value("FileName", ""), expired.filename().string()) << shown.dump(2);
    const auto setAside = linesWith(daemon_->log(), "set aside " + untrusted.filename().string() + ": ");
    ASSERT_EQ(setAside.size(), 1U) << daemon_->log();
    EXPECT_NE(setAside.front().find("CERT_UNTRUSTED"), std::string::npos) << setAside.front();
}

TEST_F(DaemonTest, ReplugOfAppliedStickIsAlreadyApplied)
{
    ASSERT_NO_FATAL_FAILURE(provisionStatically());
    usb_.uevent("remove");
    ASSERT_TRUE(daemon_->waitForLog(stick_->device() + " was removed")) << daemon_->log();
    usb_.uevent("add");
    ASSERT_TRUE(daemon_->waitForLog("ALREADY_APPLIED")) << daemon_->log();
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device(), 2));

    EXPECT_EQ(statusField("Status"), "SUCCEEDED");
    expectStatusCommand("SUCCEEDED", deviceName_);
    EXPECT_EQ(countOccurrences(daemon_->log(), "Provisioned as "), 1U) << daemon_->log();
    EXPECT_TRUE(hasAddress("eth0", kStaticAddress, 24));
    expectNoStickMount();
    expectStickUnchangedButReceipts();
}

TEST_F(DaemonTest, StickPresentAtStartIsFoundByEnumeration)
{
    ASSERT_NO_FATAL_FAILURE(makeStick("edge-gw-4", ca_));
    usb_.plug(*stick_); // before the daemon, and no uevent at all
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    ASSERT_NO_FATAL_FAILURE(waitForStatus("SUCCEEDED"));
    expectStatusCommand("SUCCEEDED", deviceName_);
    EXPECT_TRUE(hasAddress("eth0", kStaticAddress, 24));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    expectNoStickMount();
}

// The stick is pulled at the moment the daemon opens the archive on it
// (mounted, listed, nothing read yet): the read fails, the attempt fails
// with a reason, the mount goes, and the next stick is provisioned.
TEST_F(DaemonTest, StickPulledWhileTheArchiveIsReadLeavesNoMountAndTheDaemonHealthy)
{
    ASSERT_NO_FATAL_FAILURE(makeStick("edge-gw-pulled", ca_));
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    const pid_t pid = daemon_->pid();
    const std::string archiveName = archive_.filename().string();
    std::vector<std::string> mountedWhenPulled;
    const bool held = daemon_->holdAtSyscall([&] { usb_.plug(*stick_); },
        [&](const SyscallEntry& call) {
            return call.number == SYS_openat && readRemoteString(pid, call.arguments[1]) == archiveName;
        },
        [&] {
            mountedWhenPulled = mountsOf(stick_->device(), runtimeDirectory(), pid);
            stick_->yank();
            usb_.uevent("remove");
        });
    ASSERT_TRUE(held) << "the daemon never opened " << archiveName << ":\n" << daemon_->log();
    EXPECT_EQ(mountedWhenPulled.size(), 1U) << "the stick was not mounted when it was pulled";
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    ASSERT_TRUE(daemon_->waitForLog(stick_->device() + " was removed")) << daemon_->log();

    expectNoStickMount();
    EXPECT_FALSE(fs::exists(runtimeDirectory() + "/media/sdb")) << "the mount point was left behind";
    const auto shown = statusCommand();
    EXPECT_EQ(shown.value("Status", ""), "FAILED") << shown.dump(2);
    EXPECT_EQ(shown["LastAttempt"].value("Reason", ""), "ARCHIVE_CORRUPT") << shown.dump(2);
    EXPECT_NE(shown["LastAttempt"].value("Message", "").find("pulled out"), std::string::npos)
        << shown.dump(2);
    EXPECT_FALSE(hasAddress("eth0", kStaticAddress, 24));
    ASSERT_TRUE(daemon_->running());

    ASSERT_NO_FATAL_FAILURE(expectNextStickProvisions("edge-gw-after-pull"));
}

// The stick is pulled as the daemon calls mount(2) on it: nothing to read,
// the attempt fails, no mount and no mount point remain.
TEST_F(DaemonTest, StickPulledWhileItIsMountedLeavesNoMountAndTheDaemonHealthy)
{
    ASSERT_NO_FATAL_FAILURE(makeStick("edge-gw-pulled-early", ca_));
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    const pid_t pid = daemon_->pid();
    const std::string device = stick_->device();
    const bool held = daemon_->holdAtSyscall([&] { usb_.plug(*stick_); }, mountOf(pid, device),
        [&] {
            stick_->yank();
            usb_.uevent("remove");
        });
    ASSERT_TRUE(held) << "the daemon never mounted " << device << ":\n" << daemon_->log();
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(device));
    ASSERT_TRUE(daemon_->waitForLog(device + " was removed")) << daemon_->log();

    expectNoStickMount();
    EXPECT_FALSE(fs::exists(runtimeDirectory() + "/media/sdb")) << "the mount point was left behind";
    const auto shown = statusCommand();
    EXPECT_EQ(shown.value("Status", ""), "FAILED") << shown.dump(2);
    EXPECT_EQ(shown["LastAttempt"].value("Reason", ""), "ARCHIVE_NOT_FOUND") << shown.dump(2);
    EXPECT_NE(shown["LastAttempt"].value("Message", "").find("could not be mounted"), std::string::npos)
        << shown.dump(2);
    ASSERT_TRUE(daemon_->running());

    ASSERT_NO_FATAL_FAILURE(expectNextStickProvisions("edge-gw-after-early-pull"));
}

TEST_F(DaemonTest, SigtermStopsCleanlyWithoutMounts)
{
    ASSERT_NO_FATAL_FAILURE(provisionStatically());
    ASSERT_EQ(::kill(daemon_->pid(), SIGTERM), 0);
    ASSERT_TRUE(daemon_->waitForExit(5s)) << "still running 5 s after SIGTERM";
    ASSERT_TRUE(daemon_->exitStatus());
    EXPECT_TRUE(WIFEXITED(*daemon_->exitStatus()) && WEXITSTATUS(*daemon_->exitStatus()) == 0)
        << "wait status " << *daemon_->exitStatus();
    EXPECT_NE(daemon_->log().find("stopping on "), std::string::npos) << daemon_->log();
    expectNoStickMount();
}

// Sticks are handled one per loop iteration, below signals: a SIGTERM and
// another stick that both arrive while a stick is read (the daemon is held
// at its mount) stop the daemon after that stick, and the next one is never
// attempted.
TEST_F(DaemonTest, SigtermDuringAnAttemptIsServedBeforeTheNextQueuedStick)
{
    ASSERT_NO_FATAL_FAILURE(makeStick("edge-gw-first", ca_));
    const fs::path second = issueArchive(work_.path(), ca_, "edge-gw-second");
    nextStick_.emplace(work_.path(), std::vector<fs::path> { second }, "next-stick");
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    const pid_t pid = daemon_->pid();
    const std::string device = stick_->device();
    const bool held = daemon_->holdAtSyscall([&] { usb_.plug(*stick_); }, mountOf(pid, device),
        [&] {
            usb_.plug(*nextStick_);
            ASSERT_EQ(::kill(pid, SIGTERM), 0);
        });
    ASSERT_TRUE(held) << "the daemon never mounted " << device << ":\n" << daemon_->log();
    ASSERT_TRUE(daemon_->waitForExit(kProvisionDeadline)) << daemon_->log();
    ASSERT_TRUE(daemon_->exitStatus());
    EXPECT_TRUE(WIFEXITED(*daemon_->exitStatus()) && WEXITSTATUS(*daemon_->exitStatus()) == 0)
        << daemon_->log();
    EXPECT_EQ(countOccurrences(daemon_->log(), "Done with " + device + " "), 1U) << daemon_->log();
    EXPECT_EQ(countOccurrences(daemon_->log(), "Reading "), 1U) << daemon_->log();
    EXPECT_EQ(countOccurrences(daemon_->log(), nextStick_->device()), 0U) << daemon_->log();
    EXPECT_NE(daemon_->log().find("stopping on "), std::string::npos) << daemon_->log();
    expectStatusCommand("SUCCEEDED", "edge-gw-first");
}

// SIGTERM arrives while the apply is half done (the daemon is held just
// before its second netlink change: the first one is in force). After the
// daemon exits the ports carry either all of the new configuration or all
// of the old one, matching status.json, and the stick is unmounted.
TEST_F(DaemonTest, SigtermDuringApplyLeavesAllOfTheNewOrAllOfTheOldConfiguration)
{
    ASSERT_NO_FATAL_FAILURE(makeStick("edge-gw-term", ca_));
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    const PortsState before = portsState(namespace_->name());
    const pid_t pid = daemon_->pid();
    int changes = 0;
    std::optional<PortsState> halfway;
    const bool held = daemon_->holdAtSyscall([&] { usb_.plug(*stick_); },
        [&](const SyscallEntry& call) {
            return call.number == SYS_sendmsg && isNetlinkChange(pid, call.arguments[1]) && ++changes == 2;
        },
        [&] {
            halfway = portsState(namespace_->name());
            ::kill(pid, SIGTERM);
        });
    ASSERT_TRUE(held) << "the daemon sent fewer than 2 netlink changes:\n" << daemon_->log();
    ASSERT_TRUE(daemon_->waitForExit(kProvisionDeadline)) << "still running after SIGTERM:\n"
                                                          << daemon_->log();
    EXPECT_TRUE(WIFEXITED(*daemon_->exitStatus()) && WEXITSTATUS(*daemon_->exitStatus()) == 0)
        << "wait status " << *daemon_->exitStatus();
    EXPECT_NE(daemon_->log().find("stopping on "), std::string::npos) << daemon_->log();
    // The hold was really in the middle: something had changed already.
    EXPECT_NE(*halfway, before) << "nothing had changed before the second netlink change";

    const PortsState after = portsState(namespace_->name());
    PortsState complete = before;
    complete.up["eth0"] = true;
    complete.addresses["eth0"] = { kStaticAddress + "/24" };
    complete.defaultRoutes = { "via " + kStaticGateway + " dev eth0 metric 100" };
    const bool isNew = after == complete;
    const bool isOld = after == before;
    EXPECT_TRUE(isNew || isOld) << "half a configuration is in force:\n  before:   " << before.describe()
                                << "\n  halfway:  " << halfway->describe()
                                << "\n  after:    " << after.describe()
                                << "\n  complete: " << complete.describe();
    // status.json tells the same story.
    EXPECT_EQ(statusField("Status"), isNew ? "SUCCEEDED" : "FAILED") << statusJson().dump(2);
    std::cout << "SIGTERM during the apply: the attempt " << (isNew ? "completed" : "was rolled back")
              << " before the daemon stopped\n";
    expectNoStickMount();
    EXPECT_TRUE(fs::is_empty(runtimeDirectory() + "/media")) << "a mount point was left behind";
}

// SIGHUP: a valid new configuration takes effect (here the connector: a
// stick ignored before is provisioned after), an invalid one is refused
// with the reason in the log and the old one stays in force.
TEST_F(DaemonTest, SighupAppliesAValidConfigurationAndRefusesAnInvalidOne)
{
    ASSERT_NO_FATAL_FAILURE(makeStick("edge-gw-hup", ca_));
    auto configuration = config();
    configuration.connector = "pci-0000:00:14.0-usb-0:2"; // another connector than the stick's
    ASSERT_NO_FATAL_FAILURE(startDaemon(configuration));
    usb_.plug(*stick_);
    ASSERT_TRUE(daemon_->waitForLog("Ignored ")) << daemon_->log();
    EXPECT_NE(statusField("Status"), "SUCCEEDED");

    // Valid: the stick's connector. The same stick is provisioned on the next plug.
    configuration.connector = kConnector;
    writeConfig(configuration.render());
    ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
    ASSERT_TRUE(daemon_->waitForLog("configuration reloaded")) << daemon_->log();
    usb_.uevent("remove");
    usb_.uevent("add");
    ASSERT_NO_FATAL_FAILURE(waitForStatus("SUCCEEDED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    expectStatusCommand("SUCCEEDED", "edge-gw-hup");

    // Invalid: an unknown key (beside a connector that would ignore the stick).
    auto ignoring = configuration;
    ignoring.connector = "pci-0000:00:14.0-usb-0:2";
    writeConfig(ignoring.render() + "no_such_option: 1\n");
    ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
    ASSERT_TRUE(daemon_->waitForLog("reload refused")) << daemon_->log();
    const auto refused = linesWith(daemon_->log(), "reload refused");
    ASSERT_EQ(refused.size(), 1U);
    EXPECT_NE(refused.front().find("config.yaml:"), std::string::npos) << refused.front();
    EXPECT_NE(refused.front().find("no_such_option"), std::string::npos) << refused.front();
    // The old connector is still in force: the stick is handled, not ignored.
    usb_.uevent("remove");
    usb_.uevent("add");
    ASSERT_TRUE(daemon_->waitForLog("ALREADY_APPLIED")) << daemon_->log();
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device(), 2));
    EXPECT_EQ(countOccurrences(daemon_->log(), "Ignored "), 1U) << daemon_->log();

    // Invalid too: a connector that names more than a port, beside an anchor
    // that does not exist. Refused as a whole: the old anchors stay too.
    auto broken = configuration;
    broken.anchors = { work_ / "missing-root.pem" };
    broken.connector = kStickIdPath;
    writeConfig(broken.render());
    ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
    ASSERT_TRUE(daemon_->waitForLog("reload refused", 2)) << daemon_->log();
    EXPECT_NE(
        linesWith(daemon_->log(), "reload refused").back().find("goes past the port"), std::string::npos)
        << daemon_->log();
    // The old anchors are still in force: a new archive from our CA is accepted.
    usb_.uevent("remove");
    const fs::path newer = issueArchive(work_.path(), ca_, "edge-gw-hup-2");
    ASSERT_TRUE(daemon_->waitForLog(stick_->device() + " was removed", 2)) << daemon_->log();
    stick_->replaceArchives(work_.path(), { newer });
    usb_.uevent("add");
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device(), 3));
    expectStatusCommand("SUCCEEDED", "edge-gw-hup-2");
    EXPECT_EQ(countOccurrences(daemon_->log(), "configuration reloaded"), 1U) << daemon_->log();
    EXPECT_TRUE(daemon_->running());
}

// DESIGN.md section 10, Reset: `omni-provision reset` beside the running
// daemon removes the address and the state; SIGHUP (what reset sends under
// systemd) makes the daemon re-read status.json; the archive already applied
// stays ALREADY_APPLIED and a new one provisions the device as a fresh one.
TEST_F(DaemonTest, ResetBesideTheRunningDaemonThenSighupProvisionsTheNextStickAsNew)
{
    ASSERT_NO_FATAL_FAILURE(provisionStatically());
    ASSERT_TRUE(hasAddress("eth0", kStaticAddress, 24));
    // In the daemon's namespace, with its configuration (ip throws on a non-zero exit).
    std::string summary;
    ASSERT_NO_THROW(summary = omni::testing::ip({ "netns", "exec", namespace_->name(), OMNI_CLI_PATH, "reset",
                        "--yes", "--config", (work_ / "config.yaml").string() }));
    EXPECT_NE(summary.find("address " + kStaticAddress + "/24 on eth0"), std::string::npos) << summary;
    EXPECT_FALSE(hasAddress("eth0", kStaticAddress, 24));
    EXPECT_EQ(statusField("Status"), "AWAITING_PROVISIONING");
    EXPECT_FALSE(fs::exists(stateDirectory() + "/credentials/private_key.pem"));
    ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
    ASSERT_TRUE(daemon_->waitForLog("configuration reloaded")) << daemon_->log();

    usb_.uevent("remove");
    ASSERT_TRUE(daemon_->waitForLog(stick_->device() + " was removed")) << daemon_->log();
    usb_.uevent("add");
    ASSERT_TRUE(daemon_->waitForLog("ALREADY_APPLIED")) << daemon_->log();
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device(), 2));
    EXPECT_EQ(statusField("Status"), "AWAITING_PROVISIONING");
    EXPECT_FALSE(hasAddress("eth0", kStaticAddress, 24));
    usb_.uevent("remove");
    ASSERT_TRUE(daemon_->waitForLog(stick_->device() + " was removed", 2)) << daemon_->log();
    ASSERT_NO_FATAL_FAILURE(expectNextStickProvisions("edge-gw-after-reset"));
}

// A reset interrupted after it wrote DELETING (here: status.json says so, the
// address and the credentials are still there) is finished at the next start.
TEST_F(DaemonTest, ADeletingLeftByAnInterruptedResetIsFinishedAtStart)
{
    ASSERT_NO_FATAL_FAILURE(provisionStatically());
    daemon_.reset();
    ASSERT_TRUE(hasAddress("eth0", kStaticAddress, 24));
    auto status = statusJson();
    status["Status"] = "DELETING";
    writeWholeFile(stateDirectory() + "/status.json", status.dump(2) + "\n");
    ASSERT_TRUE(fs::exists(stateDirectory() + "/credentials/private_key.pem"));

    ASSERT_NO_FATAL_FAILURE(startDaemon());
    EXPECT_TRUE(daemon_->waitForLog("finished an interrupted reset at start")) << daemon_->log();
    EXPECT_EQ(statusField("Status"), "AWAITING_PROVISIONING");
    EXPECT_FALSE(hasAddress("eth0", kStaticAddress, 24));
    EXPECT_FALSE(fs::exists(stateDirectory() + "/credentials/private_key.pem"));
    EXPECT_NE(readWholeFile(stateDirectory() + "/applied-archives.txt"), "");
    EXPECT_TRUE(daemon_->running());
}

// A reset that stopped half-way beside the running daemon (no SIGHUP since)
// is finished before the next stick, which then provisions the device anew.
TEST_F(DaemonTest, ADeletingLeftWhileTheDaemonRunsIsFinishedBeforeTheNextStick)
{
    ASSERT_NO_FATAL_FAILURE(provisionStatically());
    auto status = statusJson();
    status["Status"] = "DELETING";
    writeWholeFile(stateDirectory() + "/status.json", status.dump(2) + "\n");
    usb_.uevent("remove");
    ASSERT_TRUE(daemon_->waitForLog(stick_->device() + " was removed")) << daemon_->log();
    ASSERT_NO_FATAL_FAILURE(expectNextStickProvisions("edge-gw-after-deleting"));
    EXPECT_TRUE(daemon_->waitForLog("finished an interrupted reset before a stick")) << daemon_->log();
}

// Ethernet0 set to DHCP: the daemon starts dhcpcd (its hook from the source
// tree) on the mapped interface, and the lease of a real DHCP server
// (dnsmasq, in the gateways' namespace) arrives on it with its default route.
TEST_F(DaemonTest, DhcpEthernet0GetsItsLeaseFromADhcpServer)
{
    for (const char* program : { "/usr/sbin/dhcpcd", "/usr/sbin/dnsmasq" })
        if (::access(program, X_OK) != 0)
            GTEST_SKIP() << program << " is not installed (apt-get install dhcpcd-base dnsmasq-base)";
    // dhcpcd's pid files and sockets are per interface name across namespaces: names of this run.
    const std::string port = "od" + std::to_string(::getpid()) + "e";
    const std::string peer = "op" + std::to_string(::getpid()) + "e";
    dhcpInterface_ = port;
    omni::testing::ip({ "-n", namespace_->name(), "link", "add", port, "type", "veth", "peer", "name", peer,
        "netns", peers_->name() });
    omni::testing::ip({ "-n", peers_->name(), "address", "add", "10.79.0.1/24", "dev", peer });
    omni::testing::ip({ "-n", peers_->name(), "link", "set", peer, "up" });
    Dnsmasq server(peers_->name(), peer, "10.79.0", work_.path());

    deviceName_ = "edge-gw-dhcp";
    archive_ = issueArchive(work_.path(), ca_, deviceName_, { { "ConnectionType", "DHCP" } });
    stick_.emplace(work_.path(), std::vector<fs::path> { archive_ });
    auto configuration = config();
    configuration.ethernet0 = port;
    configuration.dhcpHookPath = OMNI_DHCPCD_HOOK_SOURCE;
    ASSERT_NO_FATAL_FAILURE(startDaemon(configuration));
    usb_.plug(*stick_);
    // SUCCEEDED does not wait for the lease (boot is never held for one).
    ASSERT_NO_FATAL_FAILURE(waitForStatus("SUCCEEDED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    EXPECT_EQ(statusJson()["NetworkingConfiguration"]["Ethernet0"].value("ConnectionType", ""), "DHCP")
        << statusJson().dump(2);

    std::string lease;
    const auto leased = [&] {
        for (const auto& link :
            omni::testing::ipJson({ "-n", namespace_->name(), "-4", "address", "show", "dev", port }))
            for (const auto& info : link.value("addr_info", nlohmann::json::array()))
                if (info.value("local", "").rfind("10.79.0.", 0) == 0 && info.value("prefixlen", 0) == 24)
                    lease = info.value("local", "");
        return !lease.empty();
    };
    ASSERT_TRUE(waitUntil(leased, 60s))
        << "no lease on " << port << ":\n"
        << readWholeFile(runtimeDirectory() + "/dhcp/" + port + ".log") << "\n"
        << readWholeFile(work_ / "dnsmasq.log");
    const int host = std::stoi(lease.substr(lease.rfind('.') + 1));
    EXPECT_TRUE(host >= 50 && host <= 99) << lease;
    const auto routes
        = omni::testing::ipJson({ "-n", namespace_->name(), "-4", "route", "show", "default", "dev", port });
    ASSERT_EQ(routes.size(), 1U) << routes.dump();
    EXPECT_EQ(routes[0].value("gateway", ""), "10.79.0.1");
    EXPECT_EQ(routes[0].value("metric", 0), 100);
    EXPECT_FALSE(hasAddress("eth0", kStaticAddress, 24));

    // A clean stop takes the DHCP client with it.
    const std::string pidText = readWholeFile(runtimeDirectory() + "/dhcp/" + port + ".pid");
    const pid_t client = static_cast<pid_t>(std::atoi(pidText.c_str()));
    ASSERT_GT(client, 1) << pidText;
    ASSERT_EQ(::kill(daemon_->pid(), SIGTERM), 0);
    ASSERT_TRUE(daemon_->waitForExit(kProvisionDeadline)) << daemon_->log();
    EXPECT_TRUE(waitUntil([&] { return ::kill(client, 0) != 0; }, 10s))
        << "dhcpcd " << client << " outlived the daemon";
}

// The configuration as the package ships it (build/config/config.yaml), with
// a drop-in for only what a test machine needs to differ: our directories,
// the anchor's path in the work directory instead of /etc, no DNS or NTP
// backend (the host's must not change), and ext4 (the loop stick's). The
// connector stays "" as shipped: any USB port.
class ShippedConfigTest : public DaemonTest {
protected:
    std::string anchorPath() const { return work_ / "trust/root.pem"; }

    void startShipped()
    {
        fs::create_directories(work_ / "etc/config.d");
        fs::copy_file(OMNI_SHIPPED_CONFIG_YAML, work_ / "etc/config.yaml");
        writeWholeFile(work_ / "etc/config.d/test.yaml",
            "usb:\n  filesystems: [ext4, vfat, exfat]\n"
            "trust:\n  anchors: ["
                + anchorPath()
                + "]\n"
                  "dns:\n  backend: none\nntp:\n  backend: none\n"
                  "state:\n  directory: "
                + stateDirectory() + "\n  runtime_directory: " + runtimeDirectory() + "\n");
        notify_.emplace(work_ / "notify.sock");
        daemon_.emplace(DaemonProcess::Launch { work_ / "etc/config.yaml", namespace_->name(), usb_.root(),
            work_ / "daemon.log", { "NOTIFY_SOCKET=" + notify_->path() } });
    }

    std::optional<NotifySocket> notify_;
};

TEST_F(ShippedConfigTest, StartsWithoutTrustAnchorAndUsesRootPemInstalledLater)
{
    ASSERT_NO_FATAL_FAILURE(makeStick("edge-gw-fresh", ca_));
    ASSERT_NO_FATAL_FAILURE(startShipped());
    const auto verified = omni::testing::runProcess(
        { OMNI_DAEMON_PATH, "--verify-config", "--config", work_ / "etc/config.yaml" });

    // READY=1, and STATUS= names the missing anchor and where it goes.
    ASSERT_TRUE(notify_->waitFor("READY=1", 10s)) << daemon_->log();
    const auto status = notify_->waitFor("STATUS=no trust anchor installed: install the root certificate of "
                                         "your provisioning CA at "
            + anchorPath(),
        10s);
    EXPECT_TRUE(status) << daemon_->log();
    EXPECT_TRUE(daemon_->waitForLog("no trust anchor installed")) << daemon_->log();
    EXPECT_TRUE(daemon_->waitForLog("sticks are accepted on any USB port")) << daemon_->log();
    EXPECT_TRUE(daemon_->running());

    // Every stick is CERT_UNTRUSTED, and the message says where root.pem goes.
    usb_.plug(*stick_);
    ASSERT_NO_FATAL_FAILURE(waitForStatus("FAILED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    const auto failed = statusCommand();
    EXPECT_EQ(failed["LastAttempt"].value("Reason", ""), "CERT_UNTRUSTED") << failed.dump(2);
    EXPECT_NE(failed["LastAttempt"].value("Message", "").find(anchorPath()), std::string::npos)
        << failed.dump(2);

    // root.pem installed: the next stick succeeds, without a restart.
    const pid_t pid = daemon_->pid();
    fs::create_directories(work_ / "trust");
    fs::copy_file(ca_.root(), anchorPath());
    usb_.uevent("remove");
    ASSERT_TRUE(daemon_->waitForLog(stick_->device() + " was removed")) << daemon_->log();
    usb_.uevent("add");
    ASSERT_NO_FATAL_FAILURE(waitForStatus("SUCCEEDED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device(), 2));
    EXPECT_TRUE(daemon_->waitForLog("trust anchors loaded")) << daemon_->log();
    expectStatusCommand("SUCCEEDED", "edge-gw-fresh");
    EXPECT_TRUE(hasAddress("eth0", kStaticAddress, 24));
    EXPECT_EQ(daemon_->pid(), pid);
    EXPECT_TRUE(daemon_->running());

    // --verify-config said the same as the start: OK, with the warnings.
    EXPECT_EQ(verified.exitCode, 0) << verified.err;
    EXPECT_NE(verified.err.find("warning: no trust anchor installed"), std::string::npos) << verified.err;
    EXPECT_NE(verified.err.find("any USB port"), std::string::npos) << verified.err;
}

// A present anchor that does not parse: the daemon starts, says which file
// and what is wrong, and refuses sticks with CERT_UNTRUSTED naming it.
TEST_F(ShippedConfigTest, AnUnparsableAnchorIsReportedAndSticksAreUntrusted)
{
    fs::create_directories(work_ / "trust");
    writeWholeFile(anchorPath(), "not a certificate\n");
    ASSERT_NO_FATAL_FAILURE(makeStick("edge-gw-garbled", ca_));
    ASSERT_NO_FATAL_FAILURE(startShipped());
    ASSERT_TRUE(notify_->waitFor("READY=1", 10s)) << daemon_->log();
    EXPECT_TRUE(
        notify_->waitFor("STATUS=trust anchor " + anchorPath() + ": line 1: text outside a PEM block", 10s))
        << daemon_->log();
    usb_.plug(*stick_);
    ASSERT_NO_FATAL_FAILURE(waitForStatus("FAILED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    const auto failed = statusCommand();
    EXPECT_EQ(failed["LastAttempt"].value("Reason", ""), "CERT_UNTRUSTED") << failed.dump(2);
    EXPECT_NE(
        failed["LastAttempt"].value("Message", "").find(anchorPath() + ": line 1: text outside a PEM block"),
        std::string::npos)
        << failed.dump(2);
}

TEST_F(DaemonTest, AnEmptyConnectorAcceptsAStickOnAnyPort)
{
    ASSERT_NO_FATAL_FAILURE(makeStick("edge-gw-any", ca_));
    auto configuration = config();
    configuration.connector = "";
    ASSERT_NO_FATAL_FAILURE(startDaemon(configuration));
    EXPECT_TRUE(daemon_->waitForLog("sticks are accepted on any USB port")) << daemon_->log();
    usb_.plug(*stick_);
    ASSERT_NO_FATAL_FAILURE(waitForStatus("SUCCEEDED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    expectStatusCommand("SUCCEEDED", "edge-gw-any");
    EXPECT_EQ(countOccurrences(daemon_->log(), "Ignored "), 0U) << daemon_->log();
}

// DESIGN.md section 5: a stranger's stick (no certificates-omni_*.zip) is
// an attempt (ARCHIVE_NOT_FOUND) but never receives the device's addresses.
TEST_F(DaemonTest, AStickWithoutArchiveGetsNoReceipt)
{
    ASSERT_NO_FATAL_FAILURE(makeStickWith({}, "unknown"));
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    usb_.plug(*stick_);
    ASSERT_NO_FATAL_FAILURE(waitForStatus("FAILED"));
    ASSERT_NO_FATAL_FAILURE(waitForAttemptEnd(stick_->device()));
    EXPECT_EQ(statusCommand()["LastAttempt"].value("Reason", ""), "ARCHIVE_NOT_FOUND");
    EXPECT_TRUE(stick_->currentFiles(work_.path()) == stick_->original()) << "the stick was written to";
    EXPECT_EQ(countOccurrences(daemon_->log(), "receipt "), 0U) << daemon_->log();
    expectNoStickMount();
}

// --verify-config runs the checks of a start and nothing else: each
// configuration of the table is accepted by it if and only if the daemon
// starts with it (READY=1), and refused ones stop the daemon with exit 1.
TEST_F(DaemonTest, VerifyConfigAcceptsExactlyWhatTheDaemonStartsWith)
{
    writeWholeFile(work_ / "garbage-root.pem", "garbage\n");
    struct Row {
        std::string name;
        std::string yaml;
        bool starts;
    };
    const auto with = [this](const std::function<void(DaemonConfig&)>& change) {
        DaemonConfig configuration = config();
        change(configuration);
        return configuration.render();
    };
    const std::vector<Row> table {
        { "valid", with([](DaemonConfig&) {}), true },
        { "no connector", with([](DaemonConfig& c) { c.connector = ""; }), true },
        { "missing anchor", with([this](DaemonConfig& c) { c.anchors = { work_ / "absent.pem" }; }), true },
        { "garbage anchor", with([this](DaemonConfig& c) { c.anchors = { work_ / "garbage-root.pem" }; }),
            true },
        { "connector past the port", with([](DaemonConfig& c) { c.connector = kStickIdPath; }), false },
        { "connector on the USB 2 hub",
            with([](DaemonConfig& c) { c.connector = "pci-0000:00:14.0-usbv2-0:1"; }), false },
        { "connector without port", with([](DaemonConfig& c) { c.connector = "pci-0000:00:14.0"; }), false },
        { "unknown key", with([](DaemonConfig&) {}) + "no_such_option: 1\n", false },
        { "relative anchor", with([](DaemonConfig& c) { c.anchors = { "root.pem" }; }), false },
    };
    for (const Row& row : table) {
        SCOPED_TRACE(row.name);
        const std::string file = work_ / "verify.yaml";
        writeWholeFile(file, row.yaml);
        const auto verified
            = omni::testing::runProcess({ OMNI_DAEMON_PATH, "--verify-config", "--config", file });

        NotifySocket notify(work_ / "verify-notify.sock");
        DaemonProcess daemon(DaemonProcess::Launch { file, namespace_->name(), usb_.root(),
            work_ / ("verify-" + std::to_string(&row - table.data()) + ".log"),
            { "NOTIFY_SOCKET=" + notify.path() } });
        // Until READY=1 or the daemon's exit (then what it sent before), bounded.
        bool ready = false;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!ready && daemon.running() && std::chrono::steady_clock::now() < deadline) {
            const auto message = notify.next(100ms);
            ready = message && message->first.find("READY=1") != std::string::npos;
        }
        for (auto message = notify.next(0ms); !ready && message; message = notify.next(0ms))
            ready = message->first.find("READY=1") != std::string::npos;
        ASSERT_TRUE(ready || !daemon.running()) << "neither ready nor stopped:\n" << daemon.log();
        EXPECT_EQ(ready, row.starts) << daemon.log();
        EXPECT_EQ(verified.exitCode == 0, ready) << verified.err << "\n" << daemon.log();
        if (!ready) {
            ASSERT_TRUE(daemon.exitStatus());
            EXPECT_TRUE(WIFEXITED(*daemon.exitStatus()) && WEXITSTATUS(*daemon.exitStatus()) == 1)
                << daemon.log();
            EXPECT_FALSE(verified.err.empty());
        }
    }
}

TEST_F(DaemonTest, SoakOfReplugsLeaksNoDescriptors)
{
    // OMNI_DAEMON_SOAK_CYCLES: a longer soak by hand (RSS trends need more).
    const char* requested = std::getenv("OMNI_DAEMON_SOAK_CYCLES");
    const int cycles = requested ? std::max(1, std::atoi(requested)) : 200;
    ASSERT_NO_FATAL_FAILURE(provisionStatically());
    usb_.uevent("remove");
    ASSERT_TRUE(daemon_->waitForLog(" was removed", 1));
    const int fdsBefore = daemon_->openFdCount();
    const std::string rssBefore = daemon_->procStatus("VmRSS");
    const auto started = std::chrono::steady_clock::now();
    for (int cycle = 1; cycle <= cycles; ++cycle) {
        usb_.uevent("add");
        usb_.uevent("remove");
        // The remove is handled after the add's attempt (and unmount).
        ASSERT_TRUE(daemon_->waitForLog(" was removed", static_cast<std::size_t>(cycle) + 1))
            << "cycle " << cycle << "\n"
            << daemon_->log().substr(daemon_->log().size() > 4000 ? daemon_->log().size() - 4000 : 0);
    }
    const auto elapsed
        = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    const int fdsAfter = daemon_->openFdCount();
    const std::string rssAfter = daemon_->procStatus("VmRSS");
    std::cout << "soak: " << cycles << " plug cycles in " << elapsed.count() << " ms; open fds " << fdsBefore
              << " -> " << fdsAfter << "; VmRSS " << rssBefore << " -> " << rssAfter << "\n";
    RecordProperty("fds_before", fdsBefore);
    RecordProperty("fds_after", fdsAfter);

    EXPECT_LE(fdsAfter, fdsBefore);
    EXPECT_EQ(countOccurrences(daemon_->log(), "ALREADY_APPLIED"), static_cast<std::size_t>(cycles));
    EXPECT_EQ(statusField("Status"), "SUCCEEDED");
    expectNoStickMount();
    EXPECT_TRUE(daemon_->running());
}

} // namespace

int main(int argc, char** argv)
{
    if (const auto why = ensurePreload(argv)) {
        std::printf("SKIP daemon integration tests: %s\n", why->c_str());
        return 77;
    }
    if (const auto why = prepareHarness()) {
        std::printf("SKIP daemon integration tests: %s\n", why->c_str());
        return 77;
    }
    for (const std::string& name : omni::testing::removeStaleNamespaces())
        std::printf("removed stale network namespace %s\n", name.c_str());
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
