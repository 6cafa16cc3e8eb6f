#include "tests/integration/dhcp/dhcp_lab.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace omni::testing {

std::vector<int> liveProcessesInGroup(int group)
{
    std::vector<int> live;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream file(entry.path() / "stat");
        std::string stat;
        std::getline(file, stat);
        // "pid (comm) state ppid pgrp ...": comm may hold spaces, so from the last ')'.
        const std::size_t close = stat.rfind(')');
        if (close == std::string::npos) {
            continue;
        }
        std::istringstream fields(stat.substr(close + 1));
        char state = 0;
        int parent = 0;
        int processGroup = 0;
        if (fields >> state >> parent >> processGroup && processGroup == group && state != 'Z'
            && state != 'X') {
            live.push_back(std::stoi(name));
        }
    }
    return live;
}

std::string whyDhcpLabUnavailable()
{
    if (const auto why = whyIntegrationCannotRun()) {
        return *why;
    }
    for (const char* program : { "/usr/sbin/dhcpcd", "/usr/sbin/dnsmasq" }) {
        if (::access(program, X_OK) != 0) {
            return std::string(program) + " is not installed (apt-get install dhcpcd-base dnsmasq-base)";
        }
    }
    return {};
}

DhcpLab::DhcpLab()
    : device_(std::make_unique<NetworkNamespace>("dev"))
    , peer_(std::make_unique<NetworkNamespace>("peer"))
{
}

DhcpLab::~DhcpLab()
{
    servers_.clear();
    peer_.reset();
    device_.reset();
    // dhcpcd keeps its last lease per interface name; these names are this run's.
    for (const std::string& name : deviceInterfaces_) {
        std::error_code ignored;
        std::filesystem::remove("/var/lib/dhcpcd/" + name + ".lease", ignored);
    }
}

std::string DhcpLab::interfaceName(const std::string& prefix, const std::string& suffix)
{
    const std::string name = prefix + std::to_string(::getpid()) + suffix;
    if (name.size() > 15) {
        throw std::runtime_error("interface name " + name + " is longer than 15 characters");
    }
    return name;
}

void DhcpLab::addLink(
    const std::string& deviceName, const std::string& peerName, const std::string& peerAddress)
{
    ip({ "-n", device_->name(), "link", "add", "name", deviceName, "type", "veth", "peer", "name", peerName,
        "netns", peer_->name() });
    ip({ "-n", peer_->name(), "address", "add", peerAddress, "dev", peerName });
    ip({ "-n", peer_->name(), "link", "set", peerName, "up" });
    deviceInterfaces_.push_back(deviceName);
}

void DhcpLab::serveDhcp(const std::string& peerName, const DhcpServerSettings& settings)
{
    const std::string base = (directory_ / ("dnsmasq-" + peerName)).string();
    std::vector<std::string> arguments { "ip", "netns", "exec", peer_->name(), "dnsmasq", "--no-daemon",
        "--conf-file=/dev/null", "--port=0", "--bind-interfaces", "--interface=" + peerName,
        "--dhcp-range=" + settings.subnet + ".50," + settings.subnet + ".99,255.255.255.0,1h",
        "--dhcp-leasefile=" + base + ".leases", "--pid-file=" + base + ".pid", "--dhcp-authoritative",
        "--dhcp-option=option:router," + settings.subnet + ".1" };
    const auto joined = [](const std::vector<std::string>& list) {
        std::string text;
        for (const std::string& item : list) {
            text += (text.empty() ? "" : ",") + item;
        }
        return text;
    };
    if (!settings.dnsServers.empty()) {
        arguments.push_back("--dhcp-option=option:dns-server," + joined(settings.dnsServers));
    }
    if (!settings.ntpServers.empty()) {
        arguments.push_back("--dhcp-option=option:ntp-server," + joined(settings.ntpServers));
    }
    servers_.push_back(std::make_unique<ChildProcess>(arguments, base + ".log"));
}

std::vector<std::string> DhcpLab::addressesOf(const std::string& device) const
{
    std::vector<std::string> addresses;
    for (const auto& link : ipJson({ "-n", device_->name(), "-4", "address", "show", "dev", device })) {
        for (const auto& info : link["addr_info"]) {
            addresses.push_back(
                info["local"].get<std::string>() + "/" + std::to_string(info["prefixlen"].get<int>()));
        }
    }
    return addresses;
}

} // namespace omni::testing
