#pragma once
// The transactional apply of DESIGN.md section 4 for the interface part of a
// NetworkPlan (addresses, link, default routes), over any NetworkBackend:
//
//  1. every configured port is resolved to a present interface, or
//     INTERFACE_MISSING before anything is touched;
//  2. the ports are observed and diffed; when nothing differs the apply ends
//     here (no snapshot, no change request: idempotent);
//  3. snapshot of exactly what the changes may touch;
//  4. Ethernet0's changes, then Ethernet1's, each computed from a fresh read
//     (Ethernet0's changes can move routes Ethernet1 sees);
//  5. read back through the backend until every port diffs empty (a second
//     round repairs what the kernel did on its own, e.g. a route flushed with
//     the last address); addresses we added must read back as ours;
//  6. on any failure in 4-5 the snapshot is restored and the result is
//     NETWORK_APPLY_FAILED naming the port, the step and the kernel's text.
//
// DNS and NTP are not applied here. A DHCP port only loses our static
// addresses and routes; starting its DHCP client is the caller's job, and
// the outcome says which interfaces need one.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "daemon/core/network/network_plan.hpp"
#include "drivers/netlink/network_backend.hpp"

namespace omni::netlink {

struct ApplyHooks {
    // Called once per port after its changes are computed and before the
    // first one is sent: the seam through which tests make a step fail.
    std::function<void(network::EthernetPort, const std::vector<network::Operation>&)> beforeChanges;
};

struct PortOutcome {
    network::EthernetPort port = network::EthernetPort::Ethernet0;
    network::InterfaceMode mode = network::InterfaceMode::LeaveAsIs;
    InterfaceIdentity interface;
    std::vector<network::Operation> operations; // what was sent, in order
    bool dhcpClientRequired = false; // mode is DHCP: start (or keep) a DHCP client on it
};

struct ApplyOutcome {
    std::vector<PortOutcome> ports; // configured ports only (LEAVE_AS_IS ones are not listed)
    std::uint64_t changeRequests = 0; // sent by this apply
    // The snapshot taken before the changes (absent when nothing had to
    // change): a caller whose later step (DNS, NTP, DHCP) fails hands it to
    // NetworkBackend::restore() to undo this completed apply.
    std::optional<NetworkSnapshot> snapshot;

    bool changed() const { return changeRequests != 0; }
    std::vector<InterfaceIdentity> interfacesNeedingDhcpClient() const;
};

// Two rounds of changes at most; a third read that still differs fails.
inline constexpr int kMaxApplyRounds = 2;

// Step 1 alone: every configured port to a present, distinct interface
// (INTERFACE_MISSING otherwise); nothing is read beyond the links and
// nothing is changed. For callers that must act on the interfaces before
// the apply (stopping a DHCP client on a port that becomes static).
Result<std::vector<PortOutcome>> resolvePlanPorts(
    NetworkBackend& backend, const network::NetworkPlan& plan, const network::InterfaceMapping& mapping);

Result<ApplyOutcome> applyNetworkPlan(NetworkBackend& backend, const network::NetworkPlan& plan,
    const network::InterfaceMapping& mapping, const ApplyHooks& hooks = {});

} // namespace omni::netlink
