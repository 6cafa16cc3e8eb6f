#pragma once
// The DHCP test bench: a device namespace and a peer namespace joined by
// veth pairs, dnsmasq serving DHCP (with DNS and NTP options) on the peer
// side, and names unique to this run (dhcpcd's pid files and sockets in
// /run/dhcpcd are per interface name, across namespaces).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/network/netns.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temporary_directory.hpp"

namespace omni::testing {

// Processes of process group `group` that are alive (zombies, which an
// init that does not reap may leave, are not counted).
std::vector<int> liveProcessesInGroup(int group);

// Empty when the DHCP tests can run; else why not (root, netns, dhcpcd, dnsmasq).
std::string whyDhcpLabUnavailable();

struct DhcpServerSettings {
    std::string subnet = "10.77.0"; // the peer is .1, leases .50-.99 (/24)
    std::vector<std::string> dnsServers { "10.77.0.53", "10.77.0.54" };
    std::vector<std::string> ntpServers { "10.77.0.123" };
};

class DhcpLab {
public:
    DhcpLab();
    ~DhcpLab();

    const std::string& deviceNamespace() const { return device_->name(); }
    const std::string& peerNamespace() const { return peer_->name(); }
    std::filesystem::path deviceNamespacePath() const { return "/run/netns/" + device_->name(); }
    const TemporaryDirectory& directory() const { return directory_; }

    // A veth pair: `deviceName` in the device namespace (left down, bare),
    // its peer up in the peer namespace with `peerAddress` ("10.77.0.1/24").
    void addLink(const std::string& deviceName, const std::string& peerName, const std::string& peerAddress);
    // dnsmasq on `peerName`, answering DHCP only (no DNS: --port=0).
    void serveDhcp(const std::string& peerName, const DhcpServerSettings& settings);

    // A name for this run's interfaces: "<prefix><pid><suffix>", at most 15 characters.
    static std::string interfaceName(const std::string& prefix, const std::string& suffix);

    // `ip -4 address` of one device interface as "a.b.c.d/n".
    std::vector<std::string> addressesOf(const std::string& device) const;

private:
    TemporaryDirectory directory_;
    std::unique_ptr<NetworkNamespace> device_;
    std::unique_ptr<NetworkNamespace> peer_;
    std::vector<std::unique_ptr<ChildProcess>> servers_;
    std::vector<std::string> deviceInterfaces_;
};

} // namespace omni::testing
