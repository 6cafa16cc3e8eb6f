#pragma once
// The small interface through which the network applier touches the kernel,
// by interface index. One real implementation (NetlinkBackend, libnl-route-3);
// tests of the applier use a fake. Nothing here includes libnl.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "daemon/core/network/interface_mapping.hpp"
#include "daemon/core/network/network_diff.hpp"
#include "daemon/core/result.hpp"

namespace omni::netlink {

struct InterfaceIdentity {
    int ifindex = 0;
    std::string name;
    std::string macAddress; // lowercase with colons; empty for links without one

    friend bool operator==(const InterfaceIdentity&, const InterfaceIdentity&) = default;
};

// What a snapshot holds about one link: only the administrative state is
// ever changed by us.
struct LinkRecord {
    int ifindex = 0;
    std::string name;
    bool up = false;

    friend bool operator==(const LinkRecord&, const LinkRecord&) = default;
};

// One IPv4 address with everything the kernel reports about it, and the
// kernel's own RTM_NEWADDR message, which restore sends back unchanged (so
// label, flags, lifetimes, protocol and metric come back exactly).
struct AddressRecord {
    int ifindex = 0;
    std::uint32_t local = 0; // IFA_LOCAL (host byte order)
    std::uint32_t peer = 0; // IFA_ADDRESS
    int prefixLength = 0;
    std::uint32_t broadcast = 0;
    std::string label;
    int scope = 0;
    std::uint32_t flags = 0; // IFA_FLAGS
    std::uint8_t protocol = 0; // IFA_PROTO
    std::uint32_t routeMetric = 0; // IFA_RT_PRIORITY
    std::vector<std::uint8_t> message;

    bool sameAddress(const AddressRecord& other) const
    {
        return ifindex == other.ifindex && local == other.local && prefixLength == other.prefixLength;
    }
    bool identical(const AddressRecord& other) const; // every field but `message`
    std::string describe() const;
};

struct NextHop {
    int ifindex = 0;
    std::uint32_t gateway = 0;

    friend bool operator==(const NextHop&, const NextHop&) = default;
};

// One IPv4 route (not the local table, not a cache clone), with the kernel's
// RTM_NEWROUTE message for restore.
struct RouteRecord {
    std::uint32_t table = 0;
    std::uint32_t destination = 0;
    int destinationLength = 0;
    std::uint8_t tos = 0;
    std::uint8_t protocol = 0;
    std::uint8_t scope = 0;
    std::uint8_t type = 0;
    std::uint32_t priority = 0;
    std::uint32_t preferredSource = 0;
    std::vector<NextHop> nextHops; // one for a plain route, several for multipath
    std::vector<std::uint8_t> message;

    bool identical(const RouteRecord& other) const; // every field but `message`
    bool isMainDefaultRoute() const;
    bool goesThrough(int ifindex) const;
    std::string describe() const;
};

// Exactly what an apply may touch: the links of the configured ports, their
// IPv4 addresses, every IPv4 route through them (removing an interface's last
// address makes the kernel flush those) and every default route of the main
// table (a route write can replace one on another interface).
struct NetworkSnapshot {
    std::vector<int> ifindexes;
    std::vector<LinkRecord> links;
    std::vector<AddressRecord> addresses;
    std::vector<RouteRecord> routes;

    bool covers(int ifindex) const;
    // What `current` has that this snapshot has not, and the reverse, one
    // line each; empty when they are the same. A link absent from `current`
    // (the interface is gone) is one line, its records none; restore, which
    // cannot bring an interface back, leaves that line out.
    std::vector<std::string> differencesTo(
        const NetworkSnapshot& current, bool reportVanishedLinks = true) const;
};

// True when `records` holds one identical to `wanted` (AddressRecord,
// RouteRecord: every field but the kernel message).
template <class Record> bool containsIdentical(const std::vector<Record>& records, const Record& wanted)
{
    for (const Record& record : records) {
        if (record.identical(wanted)) {
            return true;
        }
    }
    return false;
}

struct RestoreOutcome {
    std::vector<LinkRecord> vanishedInterfaces;
};

class NetworkBackend {
public:
    virtual ~NetworkBackend() = default;

    // INTERFACE_MISSING (Check::InterfaceMapping) when nothing matches; the
    // message names the matcher and the interfaces that are present.
    virtual Result<InterfaceIdentity> resolve(const network::InterfaceMatcher& matcher) = 0;

    // Reads; errors are NETWORK_APPLY_FAILED with the step and the kernel's text.
    virtual Result<network::ObservedInterface> observeInterface(int ifindex) = 0;
    virtual Result<std::vector<network::ObservedRoute>> observeDefaultRoutes() = 0;

    // Sends one change and waits for the kernel's answer. Removing an address
    // or a route that is already gone succeeds (the kernel may have taken it
    // down with the address it depended on).
    virtual Result<void> execute(int ifindex, const network::Operation& operation) = 0;

    virtual Result<NetworkSnapshot> snapshot(std::span<const int> ifindexes) = 0;
    // Brings everything the snapshot covers back to it, reads back and
    // compares (an error lists what still differs). An interface that has
    // disappeared since cannot be restored: it is skipped and named.
    virtual Result<RestoreOutcome> restore(const NetworkSnapshot& snapshot) = 0;

    // Change requests (RTM_NEW*/RTM_DEL*) sent since construction, restore's included.
    virtual std::uint64_t changeRequestsSent() const = 0;
};

} // namespace omni::netlink
