#pragma once
// An in-memory NetworkBackend for the applier's tests: links, IPv4 addresses
// and main-table default routes with the kernel behaviours the applier relies
// on (last address removed -> routes through the link flushed; NLM_F_EXCL
// refuses a taken metric), plus injected failures.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "drivers/netlink/network_backend.hpp"

namespace omni::netlink::testing {

class FakeKernel : public NetworkBackend {
public:
    struct Link {
        int ifindex = 0;
        std::string name;
        std::string mac;
        bool up = false;
        std::vector<network::ObservedAddress> addresses;

        friend bool operator==(const Link&, const Link&) = default;
    };

    std::vector<Link> links;
    std::vector<network::ObservedRoute> routes;

    // Injections.
    std::optional<std::size_t> failExecuteNumber; // 0-based count of execute() calls
    bool keepsAddressProtocol = true; // false: a kernel before 6.1
    bool ignoresLinkUp = false; // a link that will not come up
    bool restoreFails = false;

    // What happened.
    std::vector<std::pair<int, network::Operation>> executed;
    int snapshots = 0;
    int restores = 0;

    Link* link(int ifindex)
    {
        const auto found
            = std::find_if(links.begin(), links.end(), [&](const Link& l) { return l.ifindex == ifindex; });
        return found == links.end() ? nullptr : &*found;
    }

    Result<InterfaceIdentity> resolve(const network::InterfaceMatcher& matcher) override
    {
        for (const Link& candidate : links) {
            const bool matched = matcher.kind == network::MatchKind::MacAddress
                ? candidate.mac == matcher.value
                : candidate.name == matcher.value;
            if (matched) {
                return InterfaceIdentity { candidate.ifindex, candidate.name, candidate.mac };
            }
        }
        return fail(ReasonCode::InterfaceMissing, Check::InterfaceMapping,
            network::describe(matcher) + " matches no present interface");
    }

    Result<network::ObservedInterface> observeInterface(int ifindex) override
    {
        const Link* found = link(ifindex);
        if (found == nullptr) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, "reading link: No such device");
        }
        return network::ObservedInterface { ifindex, found->up, false, found->addresses };
    }

    Result<std::vector<network::ObservedRoute>> observeDefaultRoutes() override { return routes; }

    Result<void> execute(int ifindex, const network::Operation& operation) override
    {
        ++requests_;
        const std::size_t number = executed.size();
        executed.emplace_back(ifindex, operation);
        Link* target = link(ifindex);
        if (failExecuteNumber == number || target == nullptr) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
                "RTM_NEW " + network::describe(operation) + ": No such device [ENODEV]");
        }
        using network::OperationKind;
        switch (operation.kind) {
        case OperationKind::SetLinkUp:
            target->up = target->up || !ignoresLinkUp;
            break;
        case OperationKind::AddAddress:
            target->addresses.push_back(
                { operation.address, operation.prefixLength, keepsAddressProtocol, false });
            break;
        case OperationKind::RemoveAddress:
            std::erase_if(target->addresses, [&](const network::ObservedAddress& address) {
                return address.address == operation.address && address.prefixLength == operation.prefixLength;
            });
            if (target->addresses.empty()) {
                std::erase_if(
                    routes, [&](const network::ObservedRoute& route) { return route.ifindex == ifindex; });
            }
            break;
        case OperationKind::ReplaceDefaultRoute: {
            const bool taken = std::any_of(routes.begin(), routes.end(),
                [&](const network::ObservedRoute& route) { return route.metric == operation.metric; });
            if (taken && operation.routeWrite == network::RouteWrite::CreateOnly) {
                return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
                    "RTM_NEWROUTE: Object exists [EEXIST]");
            }
            std::erase_if(routes,
                [&](const network::ObservedRoute& route) { return route.metric == operation.metric; });
            routes.push_back({ ifindex, operation.gateway, operation.metric, network::kOwnRouteProtocol });
            break;
        }
        case OperationKind::DeleteDefaultRoute:
            std::erase_if(routes, [&](const network::ObservedRoute& route) {
                return route.ifindex == ifindex && route.gateway == operation.gateway
                    && route.metric == operation.metric && route.ours();
            });
            break;
        }
        return {};
    }

    Result<NetworkSnapshot> snapshot(std::span<const int> ifindexes) override
    {
        ++snapshots;
        NetworkSnapshot snapshot;
        snapshot.ifindexes.assign(ifindexes.begin(), ifindexes.end());
        for (const Link& candidate : links) {
            if (!snapshot.covers(candidate.ifindex)) {
                continue;
            }
            snapshot.links.push_back({ candidate.ifindex, candidate.name, candidate.up });
            for (const network::ObservedAddress& address : candidate.addresses) {
                AddressRecord record;
                record.ifindex = candidate.ifindex;
                record.local = record.peer = address.address;
                record.prefixLength = address.prefixLength;
                record.protocol = address.ours ? network::kOwnAddressProtocol : 0;
                record.flags = address.secondary ? 1U : 0U;
                snapshot.addresses.push_back(record);
            }
        }
        for (const network::ObservedRoute& route : routes) {
            RouteRecord record;
            record.table = 254;
            record.protocol = route.protocol;
            record.type = 1;
            record.priority = route.metric;
            record.nextHops = { { route.ifindex, route.gateway } };
            snapshot.routes.push_back(record);
        }
        return snapshot;
    }

    Result<RestoreOutcome> restore(const NetworkSnapshot& snapshot) override
    {
        ++restores;
        ++requests_;
        if (restoreFails) {
            return fail(
                ReasonCode::NetworkApplyFailed, Check::NetworkApply, "restoring route: Permission denied");
        }
        RestoreOutcome outcome;
        for (const LinkRecord& record : snapshot.links) {
            Link* target = link(record.ifindex);
            if (target == nullptr) {
                outcome.vanishedInterfaces.push_back(record);
                continue;
            }
            target->up = record.up;
            target->addresses.clear();
            for (const AddressRecord& address : snapshot.addresses) {
                if (address.ifindex == record.ifindex) {
                    target->addresses.push_back({ address.local, address.prefixLength,
                        address.protocol == network::kOwnAddressProtocol, address.flags != 0 });
                }
            }
        }
        routes.clear();
        for (const RouteRecord& route : snapshot.routes) {
            routes.push_back({ route.nextHops.front().ifindex, route.nextHops.front().gateway, route.priority,
                route.protocol });
        }
        return outcome;
    }

    std::uint64_t changeRequestsSent() const override { return requests_; }

private:
    std::uint64_t requests_ = 0;
};

} // namespace omni::netlink::testing
