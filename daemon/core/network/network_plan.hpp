#pragma once
// DESIGN.md section 4 as a pure function: a validated NetworkingConfiguration
// and the device's interface mapping in, the desired state of each port, DNS
// and NTP out. No system is looked at here; drivers/netlink applies the
// interface part, the DNS and NTP drivers the rest.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/manifest/manifest.hpp"
#include "daemon/core/network/interface_mapping.hpp"
#include "daemon/core/result.hpp"

namespace omni::network {

enum class InterfaceMode {
    Static, // exactly our one address, link up, our default route
    Dhcp, // our static addresses and routes removed; a DHCP client takes over
    LeaveAsIs, // not configured by the manifest: nothing is read or changed
};

std::string_view toString(InterfaceMode mode); // "STATIC", "DHCP", "LEAVE_AS_IS"

// 24 -> 0xffffff00 (host byte order); 0 -> 0.
constexpr std::uint32_t ipv4SubnetMask(int prefixLength)
{
    return prefixLength <= 0 ? 0U : ~std::uint32_t { 0 } << (32 - prefixLength);
}

struct StaticAddressing {
    std::uint32_t address = 0; // host byte order
    int prefixLength = 0; // 1-31
    std::uint32_t gateway = 0; // host byte order, inside the subnet

    friend bool operator==(const StaticAddressing&, const StaticAddressing&) = default;
};

struct DesiredInterface {
    EthernetPort port = EthernetPort::Ethernet0;
    InterfaceMode mode = InterfaceMode::LeaveAsIs;
    StaticAddressing addressing; // meaningful for Static only
    std::uint32_t routeMetric = 0;

    friend bool operator==(const DesiredInterface&, const DesiredInterface&) = default;
};

enum class NtpAction {
    Untouched, // no Ntp in the manifest: the device's NTP setup is not changed
    RemoveOverride, // Ntp with an empty NtpServers: our override is removed
    Replace, // those servers replace the device's default list
};

std::string_view toString(NtpAction action);

struct NtpPlan {
    NtpAction action = NtpAction::Untouched;
    std::vector<std::string> servers; // Replace only, as the manifest gives them (a :port may follow)

    friend bool operator==(const NtpPlan&, const NtpPlan&) = default;
};

struct NetworkPlan {
    std::array<DesiredInterface, 2> interfaces; // indexed by EthernetPort
    // Union of the static ports' Dns, Ethernet0's first, each address once
    // (compared as addresses, so "2001:DB8::1" repeats "2001:db8::1"). Empty
    // when no port is static: DHCP leases then supply DNS.
    std::vector<std::string> dnsServers;
    NtpPlan ntp;

    const DesiredInterface& operator[](EthernetPort port) const
    {
        return interfaces[static_cast<std::size_t>(port)];
    }
    bool needsDhcpClient(EthernetPort port) const { return (*this)[port].mode == InterfaceMode::Dhcp; }

    friend bool operator==(const NetworkPlan&, const NetworkPlan&) = default;
};

// Section 4: no NetworkingConfiguration or no Ethernet0 -> Ethernet0 DHCP; no
// Ethernet1 -> Ethernet1 left as it is. The configuration must already be
// validated (manifest::parseManifest fills the parsed address fields); a
// static port without parsed addressing is an internal error, and two static
// ports with the same route metric are refused (their default routes would
// replace each other).
Result<NetworkPlan> planNetwork(
    const std::optional<manifest::NetworkingConfiguration>& configuration, const InterfaceMapping& mapping);

} // namespace omni::network
