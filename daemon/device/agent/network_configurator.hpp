#pragma once
// What the agent needs from the network side (DESIGN.md section 4): apply a
// manifest's NetworkingConfiguration transactionally, and tell what is in
// force for the receipt and `omni-provision network show`.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/core/manifest/manifest.hpp"
#include "daemon/core/result.hpp"

namespace omni::agent {

struct NetworkApplySummary {
    std::uint64_t changeRequests = 0; // 0: the configuration was already in force
    std::vector<std::string> warnings; // e.g. DNS servers dropped, an NTP port not expressible
};

// Facts about one EthernetN, as the kernel and the backends see them now.
// The network service fills them (daemon/device/network), the configurator
// adds the gateway probe, the receipt and `network show` print them.
struct PortFacts {
    std::string port; // "Ethernet0"
    std::string mapping; // how the configuration names it: interface name "eth0", ..., or "not mapped"
    std::optional<std::string> interfaceName; // absent: no interface matches
    std::string macAddress;
    std::optional<bool> carrier;
    std::string mode; // STATIC, DHCP, LEAVE_AS_IS as last applied, or "" before any apply
    std::vector<std::string> addresses; // every IPv4 address on it, "192.168.1.10/24" (ours or DHCP's)
    std::optional<std::string> gateway; // of its main-table default route with the lowest metric
    std::optional<bool> gatewayAnswered; // ARP within 2 s; absent when not probed
    std::optional<std::string> leaseAddress; // DHCP: the lease's address with its prefix
    std::vector<std::string> dns; // servers in force for this interface
    std::vector<std::string> ntp; // our override's servers; empty: the device's default list
    std::string problem; // why a fact could not be read, else empty
};

class NetworkConfigurator {
public:
    virtual ~NetworkConfigurator() = default;
    // INTERFACE_MISSING before anything is touched, or NETWORK_APPLY_FAILED
    // after a complete rollback; the message names the step.
    virtual Result<NetworkApplySummary> apply(
        const std::optional<manifest::NetworkingConfiguration>& networking)
        = 0;
    // `probeGateways` waits up to 2 s per gateway for an ARP answer.
    virtual std::vector<PortFacts> describe(bool probeGateways) = 0;
};

} // namespace omni::agent
