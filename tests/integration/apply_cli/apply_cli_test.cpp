// The network half of `omni-provision apply` tried as a new user would:
// `ca init`, `create-device` and `apply` are the real programs; the device
// is a network namespace with two veth interfaces, Ethernet0 STATIC_IP and
// Ethernet1 DHCP from dnsmasq on the peer side. iproute2 and `ip monitor`
// are the independent readers.
#include <sys/mount.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/dhcp/dhcp_lab.hpp"
#include "tests/support/archive_factory.hpp"
#include "tests/support/child_process.hpp"

namespace omni::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr auto kLeaseTimeout = 40s;

std::string environment(const char* name)
{
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
}

void writeText(const std::filesystem::path& path, const std::string& text)
{
    std::ofstream(path) << text;
}

std::string readText(const std::filesystem::path& path)
{
    std::ifstream file(path);
    return { std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>() };
}

// The addresses and routes of the device namespace as iproute2 prints them,
// without the fields that change by themselves (lifetimes, counters).
json networkState(const std::string& ns)
{
    json state = json::object();
    for (json link : ipJson({ "-n", ns, "-4", "address", "show" })) {
        json addresses = json::array();
        for (const json& address : link.value("addr_info", json::array()))
            addresses.push_back(
                address.value("local", "") + "/" + std::to_string(address.value("prefixlen", 0)));
        state["addresses"][link.value("ifname", "")] = addresses;
        state["flags"][link.value("ifname", "")] = link.value("flags", json::array());
    }
    state["routes"] = ipJson({ "-n", ns, "-4", "route", "show", "table", "all" });
    return state;
}

// A read-only bind mount of a directory for the life of the object: a
// realistic fault (a read-only /etc) that even root cannot write through.
class ReadOnlyDirectory {
public:
    explicit ReadOnlyDirectory(const std::filesystem::path& path)
        : path_(path)
    {
        if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0)
            throw std::runtime_error("bind mount of " + path.string() + " failed");
        if (::mount(nullptr, path.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
            ::umount2(path.c_str(), MNT_DETACH);
            throw std::runtime_error("read-only remount of " + path.string() + " failed");
        }
    }
    ~ReadOnlyDirectory() { ::umount2(path_.c_str(), MNT_DETACH); }
    ReadOnlyDirectory(const ReadOnlyDirectory&) = delete;
    ReadOnlyDirectory& operator=(const ReadOnlyDirectory&) = delete;

private:
    std::filesystem::path path_;
};

class ApplyCliTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        cli = environment("OMNI_PROVISION_CLI");
        ASSERT_FALSE(cli.empty()) << "OMNI_PROVISION_CLI is not set (meson sets it)";
        lab.addLink(port0, peer0, "10.61.0.1/24");
        lab.addLink(port1, peer1, "10.77.0.1/24");
        lab.serveDhcp(peer1, {});
        const CommandResult initialised = runCommand({ cli, "ca", "init", (work / "ca").string() });
        ASSERT_EQ(initialised.exitCode, 0) << initialised.err;
        std::filesystem::create_directories(work / "dns");
        writeText(resolvConf(), "nameserver 192.0.2.250\n");
        writeConfig(resolvConf());
    }

    std::filesystem::path resolvConf() const { return work / "dns" / "resolv.conf"; }
    std::filesystem::path stateDirectory() const { return work / "state"; }

    void writeConfig(const std::filesystem::path& resolvConfPath)
    {
        writeText(work / "config.yaml",
            "trust:\n  anchors: [" + (work / "ca" / "root.pem").string() + "]\n"
                + "interfaces:\n  Ethernet0:\n    match: {name: " + port0
                + "}\n  Ethernet1:\n    match: {name: " + port1 + "}\n"
                + "dns:\n  backend: resolv.conf\n  resolv_conf_path: " + resolvConfPath.string()
                + "\nntp:\n  backend: none\n" + "dhcp:\n  hook_path: " + environment("OMNI_DHCPCD_HOOK")
                + "\nstate:\n  directory: " + stateDirectory().string()
                + "\n  runtime_directory: " + (work / "run").string() + "\n");
    }

    // An archive from the administrator's command; Ethernet1 DHCP unless told.
    std::filesystem::path issue(const std::string& name, const json& ethernet1)
    {
        const json request { { "Name", name },
            { "NetworkingConfiguration",
                { { "Ethernet0",
                      { { "ConnectionType", "STATIC_IP" },
                          { "StaticIpConnectionInfo",
                              { { "IpAddress", "10.61.0.10" }, { "Mask", "255.255.255.0" },
                                  { "DefaultGateway", "10.61.0.1" }, { "Dns", { "10.61.0.53" } } } } } },
                    { "Ethernet1", ethernet1 } } } };
        const auto requestPath = work / (name + ".json");
        writeText(requestPath, request.dump());
        const auto ca = work / "ca";
        const CommandResult issued = runCommand({ cli, "create-device", "--request", requestPath.string(),
            "--ca-cert", (ca / "issuing.pem").string(), "--ca-key", (ca / "issuing.key").string(), "--chain",
            (ca / "issuing.pem").string(), "--out", work.string() });
        EXPECT_EQ(issued.exitCode, 0) << issued.out << issued.err;
        return work / ("certificates-omni_" + name + ".zip");
    }

    CommandResult inDevice(std::vector<std::string> arguments)
    {
        arguments.insert(arguments.begin(), { "ip", "netns", "exec", lab.deviceNamespace(), cli });
        arguments.insert(arguments.end(), { "--config", (work / "config.yaml").string() });
        return runCommand(arguments);
    }

    json apply(const std::filesystem::path& archive, int expectedExit = 0)
    {
        const CommandResult applied = inDevice({ "apply", archive.string(), "--json" });
        EXPECT_EQ(applied.exitCode, expectedExit) << applied.out << applied.err;
        return json::parse(applied.out, nullptr, false);
    }

    json networkShow()
    {
        const CommandResult shown = inDevice({ "network", "show", "--json" });
        EXPECT_EQ(shown.exitCode, 0) << shown.err;
        return json::parse(shown.out, nullptr, false);
    }

    std::optional<std::string> leaseAddress()
    {
        for (const std::string& address : lab.addressesOf(port1))
            if (address.rfind("10.77.0.", 0) == 0)
                return address;
        return std::nullopt;
    }

    std::string cli;
    DhcpLab lab;
    std::filesystem::path work = lab.directory().path();
    const std::string port0 = DhcpLab::interfaceName("ac", "a");
    const std::string port1 = DhcpLab::interfaceName("ac", "b");
    const std::string peer0 = DhcpLab::interfaceName("ap", "a");
    const std::string peer1 = DhcpLab::interfaceName("ap", "b");
};

TEST_F(ApplyCliTest, StaticAndDhcpThenNetworkShowTellsTheTruthThenTheSameAgainChangesNothing)
{
    const auto archive = issue("cam-apply", { { "ConnectionType", "DHCP" } });
    const json verdict = apply(archive);
    EXPECT_EQ(verdict.value("Verdict", ""), "ACCEPT") << verdict.dump(2);
    EXPECT_EQ(verdict.value("Status", ""), "SUCCEEDED") << verdict.dump(2);

    // Ethernet0: exactly the address, its default route with metric 100; the peer reaches it.
    EXPECT_EQ(lab.addressesOf(port0), std::vector<std::string> { "10.61.0.10/24" });
    const json routes
        = ipJson({ "-n", lab.deviceNamespace(), "-4", "route", "show", "default", "dev", port0 });
    ASSERT_EQ(routes.size(), 1U) << routes.dump();
    EXPECT_EQ(routes[0].value("gateway", ""), "10.61.0.1");
    EXPECT_EQ(routes[0].value("metric", 0), 100);
    EXPECT_TRUE(ping(lab.peerNamespace(), "10.61.0.10"));
    EXPECT_NE(readText(resolvConf()).find("nameserver 10.61.0.53"), std::string::npos)
        << readText(resolvConf());

    // Ethernet1: dhcpcd, left running by apply, gets a lease from dnsmasq.
    ASSERT_TRUE(waitUntil([&] { return leaseAddress().has_value(); }, kLeaseTimeout))
        << "no DHCP lease on " << port1 << ":\n"
        << readText(work / "run" / "dhcp" / (port1 + ".log"));
    const std::string lease = *leaseAddress();

    // network show reads the same facts back.
    json shown;
    ASSERT_TRUE(waitUntil(
        [&] {
            shown = networkShow();
            return shown.is_array() && shown.size() == 2 && shown[1].value("LeaseAddress", json()) == lease;
        },
        10s))
        << shown.dump(2);
    EXPECT_EQ(shown[0]["Port"], "Ethernet0");
    EXPECT_EQ(shown[0]["Interface"], port0);
    EXPECT_EQ(shown[0]["Mode"], "STATIC");
    EXPECT_EQ(shown[0]["Addresses"], json::array({ "10.61.0.10/24" }));
    EXPECT_EQ(shown[0]["Gateway"], "10.61.0.1");
    EXPECT_EQ(shown[0]["Dns"], json::array({ "10.61.0.53" }));
    EXPECT_EQ(shown[1]["Interface"], port1);
    EXPECT_EQ(shown[1]["Mode"], "DHCP");
    EXPECT_EQ(shown[1]["Addresses"], json::array({ lease }));
    EXPECT_EQ(shown[1]["Gateway"], "10.77.0.1");

    // The same archive again: ALREADY_APPLIED, and the kernel sees no change at all.
    const std::string dhcpcdPid = readText(work / "run" / "dhcp" / (port1 + ".pid"));
    ChildProcess monitor({ "ip", "-o", "-n", lab.deviceNamespace(), "monitor", "link", "address", "route" });
    // Marker addresses on lo bracket the apply, so every other event between
    // them is the apply's. The monitor may not listen yet when the first
    // marker goes in: markers are added until one is seen.
    bool listening = false;
    for (int marker = 100; !listening && marker < 150; ++marker) {
        ip({ "-n", lab.deviceNamespace(), "address", "add", "127.0.1." + std::to_string(marker) + "/32",
            "dev", "lo" });
        try {
            while (!listening)
                listening = monitor.readLine(500ms).find("127.0.1.") != std::string::npos;
        } catch (const std::runtime_error&) {
            // not yet listening: another marker
        }
    }
    ASSERT_TRUE(listening) << "ip monitor printed no marker";
    const json again = apply(archive);
    EXPECT_EQ(again.value("Reason", json()), "ALREADY_APPLIED") << again.dump(2);
    ip({ "-n", lab.deviceNamespace(), "address", "add", "127.0.2.1/32", "dev", "lo" });
    std::vector<std::string> events;
    for (std::string line = monitor.readLine(); line.find("127.0.2.1") == std::string::npos;
         line = monitor.readLine())
        if (line.find("127.0.1.") == std::string::npos && line.find(" lo ") == std::string::npos)
            events.push_back(line);
    EXPECT_TRUE(events.empty()) << "kernel events during the second apply:\n" << json(events).dump(2);
    EXPECT_EQ(readText(work / "run" / "dhcp" / (port1 + ".pid")), dhcpcdPid) << "dhcpcd was restarted";
    EXPECT_EQ(*leaseAddress(), lease);
}

TEST_F(ApplyCliTest, SwitchingEthernet1ToStaticStopsItsDhcpClientAndRemovesTheLease)
{
    apply(issue("cam-first", { { "ConnectionType", "DHCP" } }));
    ASSERT_TRUE(waitUntil([&] { return leaseAddress().has_value(); }, kLeaseTimeout));
    const json staticEthernet1 { { "ConnectionType", "STATIC_IP" },
        { "StaticIpConnectionInfo",
            { { "IpAddress", "10.77.0.20" }, { "Mask", "24" }, { "DefaultGateway", "10.77.0.1" },
                { "Dns", { "10.77.0.53" } } } } };
    const json verdict = apply(issue("cam-second", staticEthernet1));
    EXPECT_EQ(verdict.value("Status", ""), "SUCCEEDED") << verdict.dump(2);
    EXPECT_EQ(lab.addressesOf(port1), std::vector<std::string> { "10.77.0.20/24" });
    EXPECT_FALSE(std::filesystem::exists(work / "run" / "dhcp" / (port1 + ".pid")));
    const json shown = networkShow();
    EXPECT_EQ(shown[1]["Mode"], "STATIC") << shown.dump(2);
    EXPECT_EQ(shown[1]["LeaseAddress"], json()) << shown.dump(2);
}

TEST_F(ApplyCliTest, AFailingLaterStepRollsBothInterfacesBackExactly)
{
    ASSERT_EQ(apply(issue("cam-good", { { "ConnectionType", "DHCP" } })).value("Status", ""), "SUCCEEDED");
    ASSERT_TRUE(waitUntil([&] { return leaseAddress().has_value(); }, kLeaseTimeout));
    const json before = networkState(lab.deviceNamespace());
    const std::string resolvBefore = readText(resolvConf());

    // A new archive changes both interfaces; the DNS step then meets a read-only directory.
    const json staticEthernet1 { { "ConnectionType", "STATIC_IP" },
        { "StaticIpConnectionInfo",
            { { "IpAddress", "10.77.0.21" }, { "Mask", "24" }, { "DefaultGateway", "10.77.0.1" },
                { "Dns", { "10.77.0.53" } } } } };
    const auto archive = issue("cam-broken", staticEthernet1);
    json verdict;
    {
        ReadOnlyDirectory readOnly(work / "dns");
        verdict = apply(archive, 1);
    }
    EXPECT_EQ(verdict.value("Reason", json()), "NETWORK_APPLY_FAILED") << verdict.dump(2);
    EXPECT_NE(verdict.value("Message", "").find("DNS"), std::string::npos) << verdict.dump(2);
    // The client stopped for the switch to static is running again; once it
    // holds its lease again, everything is as it was.
    ASSERT_TRUE(waitUntil([&] { return leaseAddress().has_value(); }, kLeaseTimeout));
    EXPECT_TRUE(waitUntil([&] { return networkState(lab.deviceNamespace()) == before; }, 10s))
        << networkState(lab.deviceNamespace()).dump(2) << "\nexpected\n"
        << before.dump(2);
    EXPECT_EQ(readText(resolvConf()), resolvBefore);
    const CommandResult status = inDevice({ "status", "--json" });
    const json document = json::parse(status.out, nullptr, false);
    EXPECT_EQ(document.value("Status", ""), "SUCCEEDED") << status.out;
    EXPECT_EQ(document.value("Name", ""), "cam-good") << status.out;
}

TEST_F(ApplyCliTest, AnEthernet1MappedToAMissingInterfaceTouchesNothing)
{
    ASSERT_EQ(apply(issue("cam-ok", { { "ConnectionType", "DHCP" } })).value("Status", ""), "SUCCEEDED");
    ip({ "-n", lab.deviceNamespace(), "link", "del", port1 });
    const json afterDelete = networkState(lab.deviceNamespace());
    const json verdict = apply(issue("cam-missing", { { "ConnectionType", "DHCP" } }), 1);
    EXPECT_EQ(verdict.value("Reason", json()), "INTERFACE_MISSING") << verdict.dump(2);
    EXPECT_NE(verdict.value("Message", "").find(port1), std::string::npos) << verdict.dump(2);
    EXPECT_EQ(networkState(lab.deviceNamespace()), afterDelete);
}

// DESIGN.md section 10, Reset: our addresses, routes, DHCP client and DNS go,
// the status is AWAITING_PROVISIONING, the credentials are gone, and the list
// of applied archives is kept, so the same archive is ALREADY_APPLIED.
TEST_F(ApplyCliTest, ResetRemovesWhatApplyDidAndKeepsTheAppliedList)
{
    const auto archive = issue("cam-reset", { { "ConnectionType", "DHCP" } });
    ASSERT_EQ(apply(archive).value("Status", ""), "SUCCEEDED");
    ASSERT_TRUE(waitUntil([&] { return leaseAddress().has_value(); }, kLeaseTimeout));
    ASSERT_TRUE(std::filesystem::exists(stateDirectory() / "credentials" / "private_key.pem"));
    const std::string appliedList = readText(stateDirectory() / "applied-archives.txt");
    ASSERT_FALSE(appliedList.empty());

    // Without --yes and without a terminal: a usage error, nothing changed.
    const CommandResult refused = inDevice({ "reset" });
    EXPECT_EQ(refused.exitCode, 2) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("--yes"), std::string::npos) << refused.err;
    EXPECT_EQ(lab.addressesOf(port0), std::vector<std::string> { "10.61.0.10/24" });

    const CommandResult reset = inDevice({ "reset", "--yes" });
    ASSERT_EQ(reset.exitCode, 0) << reset.out << reset.err;
    EXPECT_NE(reset.out.find("reset to AWAITING_PROVISIONING"), std::string::npos) << reset.out;
    EXPECT_NE(reset.out.find("address 10.61.0.10/24 on " + port0), std::string::npos) << reset.out;

    // Ethernet0: no address and no default route of ours; Ethernet1: the client and its lease are gone.
    for (const json& link : ipJson({ "-n", lab.deviceNamespace(), "-4", "address", "show", "dev", port0 }))
        EXPECT_EQ(link.value("addr_info", json::array()), json::array()) << link.dump(2);
    EXPECT_EQ(ipJson({ "-n", lab.deviceNamespace(), "-4", "route", "show", "default" }), json::array());
    EXPECT_EQ(leaseAddress(), std::nullopt);
    EXPECT_FALSE(std::filesystem::exists(work / "run" / "dhcp" / (port1 + ".pid")));
    // Our resolv.conf goes (the state has no record of what was there before).
    EXPECT_FALSE(std::filesystem::exists(resolvConf()));

    const CommandResult status = inDevice({ "status", "--json" });
    const json document = json::parse(status.out, nullptr, false);
    EXPECT_EQ(document.value("Status", ""), "AWAITING_PROVISIONING") << status.out;
    EXPECT_EQ(document.value("Name", json()), json()) << status.out;
    EXPECT_EQ(document.value("LastAttempt", json()), json()) << status.out;
    EXPECT_FALSE(std::filesystem::exists(stateDirectory() / "credentials" / "private_key.pem"));
    EXPECT_FALSE(std::filesystem::exists(stateDirectory() / "credentials" / "certificate.pem"));
    EXPECT_EQ(readText(stateDirectory() / "applied-archives.txt"), appliedList);

    // The same archive again: check 5, ALREADY_APPLIED; nothing changes.
    const json again = apply(archive);
    EXPECT_EQ(again.value("Reason", json()), "ALREADY_APPLIED") << again.dump(2);
    EXPECT_EQ(again.value("Status", ""), "AWAITING_PROVISIONING") << again.dump(2);
    EXPECT_EQ(lab.addressesOf(port0), std::vector<std::string> {});

    // A second reset finds nothing of ours and succeeds.
    const CommandResult second = inDevice({ "reset", "--yes" });
    EXPECT_EQ(second.exitCode, 0) << second.out << second.err;
    EXPECT_NE(second.out.find("no network change of ours"), std::string::npos) << second.out;
}

// Text from a stick is data, never control: a tag key (check 11) and a PEM
// label that is not UTF-8 (check 12) need no CA signature to reach apply's output.
TEST_F(ApplyCliTest, HostileTagKeysAndPemLabelsAreEscapedAndTheJsonStaysValid)
{
    const auto archive = work / "certificates-omni_cam-01.zip";
    const std::string pemLabel = "-----BEGIN \xff\xff-----\nAAAA\n-----END \xff\xff-----\n";
    const std::string goodPemShape = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const struct {
        json tags;
        std::string certificate;
        std::string reason;
        std::string shown;
    } cases[] = {
        { { { "a\nMAINPID=1234\nWATCHDOG=trigger\n\x1b[2J", "x" } }, goodPemShape, "MANIFEST_INVALID",
            "Tags.a\\nMAINPID=1234\\nWATCHDOG=trigger\\n\\x1b[2J" },
        { json::object(), pemLabel, "CERT_INVALID", "'\\xFF\\xFF'" },
    };
    for (const auto& hostile : cases) {
        writeText(archive, unsignedArchive(hostile.tags, hostile.certificate));
        const json verdict = apply(archive, 1);
        ASSERT_FALSE(verdict.is_discarded()) << hostile.reason;
        EXPECT_EQ(verdict.value("Reason", json()), hostile.reason) << verdict.dump(2);
        EXPECT_EQ(verdict.value("Status", ""), "FAILED") << verdict.dump(2);
        EXPECT_NE(verdict.value("Message", "").find(hostile.shown), std::string::npos) << verdict.dump(2);

        const CommandResult text = inDevice({ "apply", archive.string() });
        EXPECT_EQ(text.exitCode, 1);
        EXPECT_NE(text.out.find(hostile.shown), std::string::npos) << text.out;
        EXPECT_FALSE(hasRawControlBytes(text.out)) << text.out;
        EXPECT_FALSE(hasRawControlBytes(text.err)) << text.err;
    }
}

} // namespace
} // namespace omni::testing
