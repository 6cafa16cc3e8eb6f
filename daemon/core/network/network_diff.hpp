#pragma once
// The difference between what one port should look like and what the kernel
// reports, as the minimal ordered list of netlink changes. Pure: the observed
// state is handed in. Applying a configuration already in force yields no
// operation at all, so nothing is deleted and re-added and no link flaps.
//
// Ownership. We only ever remove what we added, and recognise it without any
// state file, so it survives a lost state directory and is visible to an
// administrator:
//  * our IPv4 addresses carry IFA_PROTO = kOwnAddressProtocol (Linux >= 6.1
//    keeps this per-address "protocol"; iproute2 >= 6.3 shows it as `proto`);
//  * our default routes carry rtm_protocol = kOwnRouteProtocol (`ip route`
//    shows "proto 157", or a name from /etc/iproute2/rt_protos.d).
// 157 is free in iproute2's registry of route protocols and in the kernel's
// IFAPROT_* values; RTPROT_STATIC (4) is not used because networkd,
// NetworkManager and administrators use it too.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "daemon/core/network/network_plan.hpp"

namespace omni::network {

inline constexpr std::uint8_t kOwnRouteProtocol = 157;
inline constexpr std::uint8_t kOwnAddressProtocol = 157;

struct ObservedAddress {
    std::uint32_t address = 0; // IFA_LOCAL, host byte order
    int prefixLength = 0;
    bool ours = false; // IFA_PROTO == kOwnAddressProtocol
    bool secondary = false; // IFA_F_SECONDARY

    friend bool operator==(const ObservedAddress&, const ObservedAddress&) = default;
};

struct ObservedInterface {
    int ifindex = 0;
    bool linkUp = false; // IFF_UP (administrative state, not carrier)
    // net.ipv4.conf.<interface>.promote_secondaries: when off, removing a
    // primary address also removes the secondaries of its subnet.
    bool promoteSecondaries = false;
    std::vector<ObservedAddress> addresses; // IPv4 only

    friend bool operator==(const ObservedInterface&, const ObservedInterface&) = default;
};

// An IPv4 default route (0.0.0.0/0) of the main table.
struct ObservedRoute {
    int ifindex = 0; // nexthop device
    std::uint32_t gateway = 0; // 0: no gateway (device route)
    std::uint32_t metric = 0; // RTA_PRIORITY
    std::uint8_t protocol = 0; // rtm_protocol

    bool ours() const { return protocol == kOwnRouteProtocol; }
    friend bool operator==(const ObservedRoute&, const ObservedRoute&) = default;
};

enum class OperationKind {
    SetLinkUp,
    AddAddress, // with IFA_PROTO kOwnAddressProtocol; never replaces an existing address
    RemoveAddress, // only addresses that are ours
    ReplaceDefaultRoute, // ours, via gateway with the port's metric
    DeleteDefaultRoute, // only routes that are ours
};

std::string_view toString(OperationKind kind);

// How ReplaceDefaultRoute writes: Replace when a route of ours already holds
// the metric (NLM_F_REPLACE swaps it in place, no moment without a default
// route); CreateOnly otherwise (NLM_F_EXCL: a foreign default route with the
// same metric makes the kernel refuse instead of being overwritten).
enum class RouteWrite { CreateOnly, Replace };

struct Operation {
    OperationKind kind = OperationKind::SetLinkUp;
    std::uint32_t address = 0; // Add/RemoveAddress
    int prefixLength = 0; // Add/RemoveAddress
    std::uint32_t gateway = 0; // Replace/DeleteDefaultRoute
    std::uint32_t metric = 0; // Replace/DeleteDefaultRoute
    RouteWrite routeWrite = RouteWrite::CreateOnly; // ReplaceDefaultRoute

    static Operation setLinkUp() { return {}; }
    static Operation addAddress(std::uint32_t address, int prefixLength);
    static Operation removeAddress(std::uint32_t address, int prefixLength);
    static Operation replaceDefaultRoute(std::uint32_t gateway, std::uint32_t metric, RouteWrite write);
    static Operation deleteDefaultRoute(std::uint32_t gateway, std::uint32_t metric);

    friend bool operator==(const Operation&, const Operation&) = default;
};

// For messages and logs: "set link up", "add address 10.0.0.2/24",
// "replace default route via 10.0.0.1 metric 100", ...
std::string describe(const Operation& operation);
std::string describe(const std::vector<Operation>& operations); // "a; b; c" or "nothing"

// The changes that bring one port from `observed` to `desired`, in the order
// they must be sent:
//  1. link up (before anything that needs it: an address's prefix route only
//     exists on an up link, and a route via a gateway needs that);
//  2. removal of our stale addresses that would otherwise turn the desired
//     address into a secondary one they take down with them (same subnet,
//     promote_secondaries off);
//  3. the desired address, unless present (ours or not: an identical foreign
//     address already gives the port exactly that address, and is left alone);
//  4. removal of our other stale addresses;
//  5. our default route, unless an identical one of ours is present;
//  6. removal of our default routes with another metric.
// When the removals leave the port without any IPv4 address the kernel
// flushes every route through it, which the list accounts for (the route is
// written again, the flushed ones are not deleted twice). `defaultRoutes` is
// every IPv4 default route of the main table, on every interface: one on
// another interface can hold the metric we need. DHCP: link up, our addresses
// and our default routes removed. LeaveAsIs: nothing.
std::vector<Operation> diffInterface(const DesiredInterface& desired, const ObservedInterface& observed,
    std::span<const ObservedRoute> defaultRoutes);

} // namespace omni::network
