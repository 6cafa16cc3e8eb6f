#include "daemon/core/network/network_diff.hpp"

#include <algorithm>

#include "daemon/core/manifest/ipv4.hpp"

namespace omni::network {

std::string_view toString(OperationKind kind)
{
    switch (kind) {
    case OperationKind::SetLinkUp:
        return "SET_LINK_UP";
    case OperationKind::AddAddress:
        return "ADD_ADDRESS";
    case OperationKind::RemoveAddress:
        return "REMOVE_ADDRESS";
    case OperationKind::ReplaceDefaultRoute:
        return "REPLACE_DEFAULT_ROUTE";
    case OperationKind::DeleteDefaultRoute:
        return "DELETE_DEFAULT_ROUTE";
    }
    return "?";
}

Operation Operation::addAddress(std::uint32_t address, int prefixLength)
{
    Operation operation;
    operation.kind = OperationKind::AddAddress;
    operation.address = address;
    operation.prefixLength = prefixLength;
    return operation;
}

Operation Operation::removeAddress(std::uint32_t address, int prefixLength)
{
    Operation operation = addAddress(address, prefixLength);
    operation.kind = OperationKind::RemoveAddress;
    return operation;
}

Operation Operation::replaceDefaultRoute(std::uint32_t gateway, std::uint32_t metric, RouteWrite write)
{
    Operation operation;
    operation.kind = OperationKind::ReplaceDefaultRoute;
    operation.gateway = gateway;
    operation.metric = metric;
    operation.routeWrite = write;
    return operation;
}

Operation Operation::deleteDefaultRoute(std::uint32_t gateway, std::uint32_t metric)
{
    Operation operation;
    operation.kind = OperationKind::DeleteDefaultRoute;
    operation.gateway = gateway;
    operation.metric = metric;
    return operation;
}

std::string describe(const Operation& operation)
{
    const auto prefix = [&] {
        return manifest::formatIpv4(operation.address) + "/" + std::to_string(operation.prefixLength);
    };
    const auto route = [&] {
        return "default route via " + manifest::formatIpv4(operation.gateway) + " metric "
            + std::to_string(operation.metric);
    };
    switch (operation.kind) {
    case OperationKind::SetLinkUp:
        return "set link up";
    case OperationKind::AddAddress:
        return "add address " + prefix();
    case OperationKind::RemoveAddress:
        return "remove address " + prefix();
    case OperationKind::ReplaceDefaultRoute:
        return (operation.routeWrite == RouteWrite::Replace ? "replace " : "add ") + route();
    case OperationKind::DeleteDefaultRoute:
        return "delete " + route();
    }
    return "?";
}

std::string describe(const std::vector<Operation>& operations)
{
    if (operations.empty()) {
        return "nothing";
    }
    std::string text;
    for (const Operation& operation : operations) {
        text += (text.empty() ? "" : "; ") + describe(operation);
    }
    return text;
}

namespace {

// The kernel's notion of one subnet for primary/secondary addresses: the
// same mask and the same network.
bool sameSubnet(std::uint32_t address, int prefixLength, const ObservedAddress& other)
{
    const std::uint32_t mask = ipv4SubnetMask(prefixLength);
    return other.prefixLength == prefixLength && (other.address & mask) == (address & mask);
}

// The port's IPv4 addresses as the kernel will hold them while the list is
// sent, so the removals and the routes are ordered and predicted right.
class AddressSimulation {
public:
    AddressSimulation(const ObservedInterface& observed, std::vector<Operation>& operations)
        : addresses_(observed.addresses)
        , promoteSecondaries_(observed.promoteSecondaries)
        , operations_(operations)
    {
    }

    bool contains(std::uint32_t address, int prefixLength) const
    {
        return std::any_of(addresses_.begin(), addresses_.end(), [&](const ObservedAddress& present) {
            return present.address == address && present.prefixLength == prefixLength;
        });
    }

    void add(std::uint32_t address, int prefixLength)
    {
        operations_.push_back(Operation::addAddress(address, prefixLength));
        const bool secondary = std::any_of(addresses_.begin(), addresses_.end(),
            [&](const ObservedAddress& present) { return sameSubnet(address, prefixLength, present); });
        addresses_.push_back({ address, prefixLength, true, secondary });
    }

    void remove(const ObservedAddress& victim)
    {
        const auto found
            = std::find_if(addresses_.begin(), addresses_.end(), [&](const ObservedAddress& present) {
                  return present.address == victim.address && present.prefixLength == victim.prefixLength;
              });
        if (found == addresses_.end()) {
            return; // already taken down with its primary
        }
        const ObservedAddress removed = *found;
        operations_.push_back(Operation::removeAddress(removed.address, removed.prefixLength));
        addresses_.erase(found);
        if (!removed.secondary) {
            // Linux: the secondaries of a removed primary go with it, unless
            // promote_secondaries makes the first of them the new primary.
            bool promoted = false;
            std::erase_if(addresses_, [&](ObservedAddress& present) {
                if (!present.secondary || !sameSubnet(removed.address, removed.prefixLength, present)) {
                    return false;
                }
                if (promoteSecondaries_ && !promoted) {
                    promoted = true;
                    present.secondary = false;
                    return false;
                }
                return !promoteSecondaries_;
            });
        }
        // The last IPv4 address gone: the kernel flushes every route through
        // the device (fib_disable_ip).
        if (addresses_.empty()) {
            routesFlushed_ = true;
        }
    }

    bool routesFlushed() const { return routesFlushed_; }

private:
    std::vector<ObservedAddress> addresses_;
    bool promoteSecondaries_;
    std::vector<Operation>& operations_;
    bool routesFlushed_ = false;
};

} // namespace

std::vector<Operation> diffInterface(const DesiredInterface& desired, const ObservedInterface& observed,
    std::span<const ObservedRoute> defaultRoutes)
{
    std::vector<Operation> operations;
    if (desired.mode == InterfaceMode::LeaveAsIs) {
        return operations;
    }
    if (!observed.linkUp) {
        operations.push_back(Operation::setLinkUp());
    }

    const bool wantsStatic = desired.mode == InterfaceMode::Static;
    const StaticAddressing& wanted = desired.addressing;
    const auto isWanted = [&](const ObservedAddress& address) {
        return wantsStatic && address.address == wanted.address
            && address.prefixLength == wanted.prefixLength;
    };

    std::vector<ObservedAddress> stale;
    for (const ObservedAddress& address : observed.addresses) {
        if (address.ours && !isWanted(address)) {
            stale.push_back(address);
        }
    }
    // Secondaries before primaries: removing a primary first could take a
    // secondary of ours down with it, and the list would name a gone address.
    std::stable_partition(
        stale.begin(), stale.end(), [](const ObservedAddress& address) { return address.secondary; });

    AddressSimulation addresses(observed, operations);
    if (wantsStatic) {
        if (!observed.promoteSecondaries) {
            // A stale primary of ours in the wanted subnet would make the
            // wanted address its secondary, and take it down when removed.
            for (const ObservedAddress& address : stale) {
                if (!address.secondary && sameSubnet(wanted.address, wanted.prefixLength, address)) {
                    addresses.remove(address);
                }
            }
        }
        if (!addresses.contains(wanted.address, wanted.prefixLength)) {
            addresses.add(wanted.address, wanted.prefixLength);
        }
    }
    for (const ObservedAddress& address : stale) {
        addresses.remove(address);
    }

    std::vector<ObservedRoute> routes(defaultRoutes.begin(), defaultRoutes.end());
    if (addresses.routesFlushed()) {
        std::erase_if(routes, [&](const ObservedRoute& route) { return route.ifindex == observed.ifindex; });
    }
    if (wantsStatic) {
        const bool inForce = std::any_of(routes.begin(), routes.end(), [&](const ObservedRoute& route) {
            return route.ifindex == observed.ifindex && route.ours() && route.gateway == wanted.gateway
                && route.metric == desired.routeMetric;
        });
        if (!inForce) {
            const bool metricHeldByUs
                = std::any_of(routes.begin(), routes.end(), [&](const ObservedRoute& route) {
                      return route.ours() && route.metric == desired.routeMetric;
                  });
            operations.push_back(Operation::replaceDefaultRoute(wanted.gateway, desired.routeMetric,
                metricHeldByUs ? RouteWrite::Replace : RouteWrite::CreateOnly));
        }
    }
    for (const ObservedRoute& route : routes) {
        const bool replacedInPlace = wantsStatic && route.metric == desired.routeMetric;
        if (route.ifindex == observed.ifindex && route.ours() && !replacedInPlace) {
            operations.push_back(Operation::deleteDefaultRoute(route.gateway, route.metric));
        }
    }
    return operations;
}

} // namespace omni::network
