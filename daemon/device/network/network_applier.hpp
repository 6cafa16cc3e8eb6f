#pragma once
// The interface part of a NetworkPlan (addresses, link, default routes) as
// one undoable step of the DESIGN.md section 4 transaction, over any
// NetworkBackend:
//
//  1. resolvePlanPorts: every configured port to a present interface, or
//     INTERFACE_MISSING before anything is touched (the transaction does it
//     before its first step);
//  2. AddressesAndRoutes::apply: the ports are observed and diffed; when
//     nothing differs the apply ends here (no snapshot, no change request:
//     idempotent);
//  3. snapshot of exactly what the changes may touch;
//  4. Ethernet0's changes, then Ethernet1's, each computed from a fresh read
//     (Ethernet0's changes can move routes Ethernet1 sees);
//  5. read back through the backend until every port diffs empty (a second
//     round repairs what the kernel did on its own, e.g. a route flushed with
//     the last address); addresses we added must read back as ours;
//  6. a failure in 2-5 is NETWORK_APPLY_FAILED naming the port, the step and
//     the kernel's text, and rolls nothing back by itself: undo() restores
//     the snapshot, after that failure or after a later step's.
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

    bool changed() const { return changeRequests != 0; }
    std::vector<InterfaceIdentity> interfacesNeedingDhcpClient() const;
};

// Two rounds of changes at most; a third read that still differs fails.
inline constexpr int kMaxApplyRounds = 2;

// Step 1: every configured port to a present, distinct interface
// (INTERFACE_MISSING otherwise); nothing is read beyond the links and
// nothing is changed.
Result<std::vector<PortOutcome>> resolvePlanPorts(
    NetworkBackend& backend, const network::NetworkPlan& plan, const network::InterfaceMapping& mapping);

// Steps 2-6 for the ports step 1 resolved.
class AddressesAndRoutes {
public:
    AddressesAndRoutes(NetworkBackend& backend, network::NetworkPlan plan, std::vector<PortOutcome> ports,
        ApplyHooks hooks = {});

    Result<ApplyOutcome> apply();

    // True once a snapshot was taken: something may have changed, undo()
    // has work to do.
    bool mayHaveChanged() const { return snapshot_.has_value(); }
    // Restores the snapshot (once; later calls do nothing). Without one,
    // nothing was changed and nothing is done.
    Result<RestoreOutcome> undo();

private:
    NetworkBackend& backend_;
    network::NetworkPlan plan_;
    std::vector<PortOutcome> ports_;
    ApplyHooks hooks_;
    std::optional<NetworkSnapshot> snapshot_;
};

// The step alone, undone when it fails: steps 1-6, then on a failure the
// snapshot restored and the message saying so. For callers with nothing
// else in the transaction (the applier's tests, the benchmark).
Result<ApplyOutcome> applyNetworkPlan(NetworkBackend& backend, const network::NetworkPlan& plan,
    const network::InterfaceMapping& mapping, const ApplyHooks& hooks = {});

} // namespace omni::netlink
