#pragma once
// How the manifest's Ethernet0/Ethernet1 map to kernel interfaces on this
// device (DESIGN.md section 4): the device configuration names each port by
// interface name, MAC address or udev ID_PATH, and gives the metric of the
// default route we install on it. Pure data; the netlink driver resolves a
// matcher to an interface index.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omni::network {

enum class EthernetPort { Ethernet0 = 0, Ethernet1 = 1 };

// Applied in this order (section 4: Ethernet0 then Ethernet1).
inline constexpr std::array<EthernetPort, 2> kEthernetPorts { EthernetPort::Ethernet0,
    EthernetPort::Ethernet1 };

std::string_view toString(EthernetPort port);
std::optional<EthernetPort> ethernetPortFromString(std::string_view name);

enum class MatchKind { Name, MacAddress, IdPath };

std::string_view toString(MatchKind kind); // "name", "mac", "id_path" (configuration keys)
std::optional<MatchKind> matchKindFromString(std::string_view name);

struct InterfaceMatcher {
    MatchKind kind = MatchKind::Name;
    std::string value; // "eth0", "02:00:00:00:00:01", "pci-0000:00:1f.6"

    friend bool operator==(const InterfaceMatcher&, const InterfaceMatcher&) = default;
};

// For messages: `interface name "eth0"`, `MAC address 02:00:00:00:00:01`,
// `udev ID_PATH "pci-0000:00:1f.6"`.
std::string describe(const InterfaceMatcher& matcher);

inline constexpr std::uint32_t kDefaultEthernet0Metric = 100;
inline constexpr std::uint32_t kDefaultEthernet1Metric = 200;

struct PortMapping {
    // Absent: the device configuration does not map this port; configuring
    // it in a manifest is then INTERFACE_MISSING.
    std::optional<InterfaceMatcher> matcher;
    // Metric of our default route on this port, so that two gateways never
    // collide (the kernel keys IPv4 routes by table, prefix, TOS and metric).
    std::uint32_t routeMetric = 0;

    friend bool operator==(const PortMapping&, const PortMapping&) = default;
};

struct InterfaceMapping {
    PortMapping ethernet0 { std::nullopt, kDefaultEthernet0Metric };
    PortMapping ethernet1 { std::nullopt, kDefaultEthernet1Metric };

    const PortMapping& operator[](EthernetPort port) const
    {
        return port == EthernetPort::Ethernet0 ? ethernet0 : ethernet1;
    }
    PortMapping& operator[](EthernetPort port)
    {
        return port == EthernetPort::Ethernet0 ? ethernet0 : ethernet1;
    }

    friend bool operator==(const InterfaceMapping&, const InterfaceMapping&) = default;
};

using MacAddress = std::array<std::uint8_t, 6>;

// "02:00:5e:10:00:01" or "02-00-5E-10-00-01" (either case); nothing else.
std::optional<MacAddress> parseMacAddress(std::string_view text);
std::string formatMacAddress(const MacAddress& address); // lowercase, colons

} // namespace omni::network
