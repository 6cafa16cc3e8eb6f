#include "drivers/netlink/netlink_backend.hpp"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/ip.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <new>

#include "daemon/core/manifest/ipv4.hpp"
#include "drivers/netlink/netlink_messages.hpp"

namespace omni::netlink {

using manifest::formatIpv4;
using network::Operation;
using network::OperationKind;

namespace {

// ---- RAII for every libnl object -------------------------------------------------------------

template <class T, void (*Free)(T*)> struct LibnlDeleter {
    void operator()(T* object) const noexcept { Free(object); }
};

using SocketPtr = std::unique_ptr<nl_sock, LibnlDeleter<nl_sock, nl_socket_free>>;
using MessagePtr = std::unique_ptr<nl_msg, LibnlDeleter<nl_msg, nlmsg_free>>;
using CallbacksPtr = std::unique_ptr<nl_cb, LibnlDeleter<nl_cb, nl_cb_put>>;
using CachePtr = std::unique_ptr<nl_cache, LibnlDeleter<nl_cache, nl_cache_free>>;
using LinkPtr = std::unique_ptr<rtnl_link, LibnlDeleter<rtnl_link, rtnl_link_put>>;
using AddrPtr = std::unique_ptr<rtnl_addr, LibnlDeleter<rtnl_addr, rtnl_addr_put>>;
using RoutePtr = std::unique_ptr<rtnl_route, LibnlDeleter<rtnl_route, rtnl_route_put>>;
using NextHopPtr = std::unique_ptr<rtnl_nexthop, LibnlDeleter<rtnl_nexthop, rtnl_route_nh_free>>;
using NlAddressPtr = std::unique_ptr<nl_addr, LibnlDeleter<nl_addr, nl_addr_put>>;

// ---- what the kernel said ---------------------------------------------------------------------

// The errno of the last NLMSG_ERROR and the kernel's extended-ack text
// (NLMSGERR_ATTR_MSG, e.g. "Nexthop device is not up"), when it sent one.
struct KernelAnswer {
    int error = 0;
    std::string text;
};

// libnl calls this for every NLMSG_ERROR with a non-zero error. Never lets an
// exception through the C library.
int recordKernelError(sockaddr_nl*, nlmsgerr* error, void* argument) noexcept
{
    auto* answer = static_cast<KernelAnswer*>(argument);
    try {
        answer->error = -error->error;
        const auto* header
            = reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(error) - NLMSG_HDRLEN);
        // libnl checked that nlmsg_len covers the nlmsgerr and lies within what it received.
        answer->text = extendedAckText(std::span(
            reinterpret_cast<const std::uint8_t*>(header), static_cast<std::size_t>(header->nlmsg_len)));
    } catch (...) {
        answer->text.clear();
    }
    return NL_STOP;
}

int collectMessage(nl_msg* message, void* argument) noexcept
{
    try {
        const nlmsghdr* header = nlmsg_hdr(message);
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(header);
        static_cast<std::vector<RawMessage>*>(argument)->emplace_back(bytes, bytes + header->nlmsg_len);
        return NL_OK;
    } catch (...) {
        return -NLE_NOMEM;
    }
}

NlAddressPtr ipv4Address(std::uint32_t address, int prefixLength)
{
    const std::uint32_t networkOrder = htonl(address);
    NlAddressPtr built(nl_addr_build(AF_INET, &networkOrder, sizeof networkOrder));
    if (built) {
        nl_addr_set_prefixlen(built.get(), prefixLength);
    }
    return built;
}

std::string errnoName(int error)
{
    const char* name = strerrorname_np(error);
    return name != nullptr ? name : "errno " + std::to_string(error);
}

std::string linkName(rtnl_link* link)
{
    const char* name = rtnl_link_get_name(link);
    return name != nullptr ? name : "ifindex " + std::to_string(rtnl_link_get_ifindex(link));
}

std::string linkMac(rtnl_link* link)
{
    nl_addr* address = rtnl_link_get_addr(link);
    if (address == nullptr || nl_addr_get_len(address) != 6) {
        return {};
    }
    network::MacAddress mac {};
    std::memcpy(mac.data(), nl_addr_get_binary_addr(address), mac.size());
    if (mac == network::MacAddress {}) {
        return {}; // loopback and other links without a hardware address
    }
    return network::formatMacAddress(mac);
}

} // namespace

// ---- the backend ------------------------------------------------------------------------------

struct NetlinkBackend::State {
    SocketPtr socket;
    KernelAnswer answer;
    int lastLinkError = 0; // libnl's code for the last failed link read
    IdPathResolver idPathResolver;
    std::uint64_t changeRequests = 0;

    Error failure(const std::string& step, int libnlError) const
    {
        std::string message = step + ": " + nl_geterror(libnlError);
        if (answer.error != 0) {
            message += " [" + errnoName(answer.error) + "]";
        }
        if (!answer.text.empty()) {
            message += " (kernel: " + answer.text + ")";
        }
        return Error { ReasonCode::NetworkApplyFailed, Check::NetworkApply, std::move(message), {} };
    }

    // Sends one change request and waits for the kernel's acknowledgement.
    // An error whose errno is in `alreadyDone` means the goal already holds.
    Result<void> sendChange(
        nl_msg* message, const std::string& step, std::initializer_list<int> alreadyDone = {})
    {
        if (message == nullptr) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, step + ": out of memory");
        }
        ++changeRequests;
        answer = {};
        int result = nl_send_auto(socket.get(), message);
        if (result >= 0) {
            result = nl_wait_for_ack(socket.get());
        }
        if (result < 0) {
            if (answer.error != 0
                && std::find(alreadyDone.begin(), alreadyDone.end(), answer.error) != alreadyDone.end()) {
                return {};
            }
            return tl::unexpected(failure(step, result));
        }
        return {};
    }

    // A whole dump, as the kernel's own messages (retried when the kernel
    // says the dump was interrupted by a concurrent change).
    Result<std::vector<RawMessage>> dump(
        int type, const void* request, std::size_t requestSize, const std::string& step)
    {
        for (int attempt = 0;; ++attempt) {
            answer = {};
            std::vector<RawMessage> messages;
            int result
                = nl_send_simple(socket.get(), type, NLM_F_DUMP, const_cast<void*>(request), requestSize);
            if (result >= 0) {
                CallbacksPtr socketCallbacks(nl_socket_get_cb(socket.get()));
                CallbacksPtr callbacks(nl_cb_clone(socketCallbacks.get()));
                if (!callbacks) {
                    return fail(
                        ReasonCode::NetworkApplyFailed, Check::NetworkApply, step + ": out of memory");
                }
                nl_cb_set(callbacks.get(), NL_CB_VALID, NL_CB_CUSTOM, collectMessage, &messages);
                result = nl_recvmsgs(socket.get(), callbacks.get());
            }
            if (result == -NLE_DUMP_INTR && attempt < 5) {
                continue;
            }
            if (result < 0) {
                return tl::unexpected(failure(step, result));
            }
            return messages;
        }
    }

    Result<LinkPtr> getLink(int ifindex)
    {
        answer = {};
        rtnl_link* link = nullptr;
        const int result = rtnl_link_get_kernel(socket.get(), ifindex, nullptr, &link);
        lastLinkError = result < 0 ? -result : 0;
        if (result < 0) {
            return tl::unexpected(failure("reading link ifindex " + std::to_string(ifindex), result));
        }
        return LinkPtr(link);
    }

    Result<CachePtr> linkCache()
    {
        answer = {};
        nl_cache* cache = nullptr;
        const int result = rtnl_link_alloc_cache(socket.get(), AF_UNSPEC, &cache);
        if (result < 0) {
            return tl::unexpected(failure("reading the list of links", result));
        }
        return CachePtr(cache);
    }

    Result<std::vector<AddressRecord>> readAddresses()
    {
        ifaddrmsg request {};
        request.ifa_family = AF_INET;
        auto messages = dump(RTM_GETADDR, &request, sizeof request, "reading the IPv4 addresses");
        if (!messages) {
            return tl::unexpected(std::move(messages.error()));
        }
        std::vector<AddressRecord> addresses;
        for (RawMessage& message : *messages) {
            if (auto record = parseAddressMessage(std::move(message))) {
                addresses.push_back(std::move(*record));
            }
        }
        return addresses;
    }

    Result<std::vector<RouteRecord>> readRoutes()
    {
        rtmsg request {};
        request.rtm_family = AF_INET;
        auto messages = dump(RTM_GETROUTE, &request, sizeof request, "reading the IPv4 routes");
        if (!messages) {
            return tl::unexpected(std::move(messages.error()));
        }
        std::vector<RouteRecord> routes;
        for (RawMessage& message : *messages) {
            if (auto record = parseRouteMessage(std::move(message))) {
                routes.push_back(std::move(*record));
            }
        }
        return routes;
    }

    Result<void> setLink(int ifindex, bool up, const std::string& step)
    {
        LinkPtr original(rtnl_link_alloc());
        LinkPtr changes(rtnl_link_alloc());
        if (!original || !changes) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, step + ": out of memory");
        }
        rtnl_link_set_ifindex(original.get(), ifindex);
        if (up) {
            rtnl_link_set_flags(changes.get(), IFF_UP);
        } else {
            rtnl_link_unset_flags(changes.get(), IFF_UP);
        }
        nl_msg* built = nullptr;
        const int result = rtnl_link_build_change_request(original.get(), changes.get(), 0, &built);
        MessagePtr message(built);
        if (result < 0) {
            return tl::unexpected(failure(step, result));
        }
        return sendChange(message.get(), step);
    }

    // A change request carrying exactly the kernel's own message for an
    // object we read before (restore).
    Result<void> replay(const RawMessage& raw, int type, int flags, const std::string& step,
        std::initializer_list<int> alreadyDone = {})
    {
        MessagePtr message(nlmsg_alloc_simple(type, flags));
        const auto* header = reinterpret_cast<const nlmsghdr*>(raw.data());
        if (!message
            || nlmsg_append(message.get(), const_cast<std::uint8_t*>(raw.data()) + NLMSG_HDRLEN,
                   header->nlmsg_len - NLMSG_HDRLEN, NLMSG_ALIGNTO)
                < 0) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, step + ": out of memory");
        }
        return sendChange(message.get(), step, alreadyDone);
    }

    Result<NetworkSnapshot> takeSnapshot(std::span<const int> ifindexes, bool skipVanished)
    {
        NetworkSnapshot snapshot;
        snapshot.ifindexes.assign(ifindexes.begin(), ifindexes.end());
        for (int ifindex : ifindexes) {
            auto link = getLink(ifindex);
            if (!link) {
                if (skipVanished && (lastLinkError == NLE_NODEV || lastLinkError == NLE_OBJ_NOTFOUND)) {
                    continue;
                }
                return tl::unexpected(std::move(link.error()));
            }
            snapshot.links.push_back(
                { ifindex, linkName(link->get()), (rtnl_link_get_flags(link->get()) & IFF_UP) != 0 });
        }
        const auto present = [&](int ifindex) {
            return std::any_of(snapshot.links.begin(), snapshot.links.end(),
                [&](const LinkRecord& link) { return link.ifindex == ifindex; });
        };
        auto addresses = readAddresses();
        if (!addresses) {
            return tl::unexpected(std::move(addresses.error()));
        }
        for (AddressRecord& address : *addresses) {
            if (present(address.ifindex)) {
                snapshot.addresses.push_back(std::move(address));
            }
        }
        auto routes = readRoutes();
        if (!routes) {
            return tl::unexpected(std::move(routes.error()));
        }
        for (RouteRecord& route : *routes) {
            const bool throughCovered = std::any_of(route.nextHops.begin(), route.nextHops.end(),
                [&](const NextHop& hop) { return present(hop.ifindex); });
            if (throughCovered || route.isMainDefaultRoute()) {
                snapshot.routes.push_back(std::move(route));
            }
        }
        return snapshot;
    }

    Result<void> addAddress(int ifindex, const Operation& operation, const std::string& step)
    {
        AddrPtr address(rtnl_addr_alloc());
        NlAddressPtr local = ipv4Address(operation.address, operation.prefixLength);
        if (!address || !local) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, step + ": out of memory");
        }
        rtnl_addr_set_ifindex(address.get(), ifindex);
        rtnl_addr_set_family(address.get(), AF_INET);
        rtnl_addr_set_local(address.get(), local.get());
        rtnl_addr_set_prefixlen(address.get(), operation.prefixLength);
        if (operation.prefixLength <= 30) {
            // As networkd and NetworkManager do: the subnet's broadcast
            // address (a /31 point-to-point pair has none, RFC 3021).
            NlAddressPtr broadcast
                = ipv4Address(operation.address | ~network::ipv4SubnetMask(operation.prefixLength), 32);
            if (!broadcast) {
                return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, step + ": out of memory");
            }
            rtnl_addr_set_broadcast(address.get(), broadcast.get());
        }
        nl_msg* built = nullptr;
        // NLM_F_EXCL: never turn an address someone else set into ours.
        int result = rtnl_addr_build_add_request(address.get(), NLM_F_EXCL, &built);
        MessagePtr message(built);
        if (result >= 0) {
            result = nla_put_u8(message.get(), IFA_PROTO, network::kOwnAddressProtocol);
        }
        if (result < 0) {
            return tl::unexpected(failure(step, result));
        }
        return sendChange(message.get(), step);
    }

    Result<void> removeAddress(int ifindex, const Operation& operation, const std::string& step)
    {
        AddrPtr address(rtnl_addr_alloc());
        NlAddressPtr local = ipv4Address(operation.address, operation.prefixLength);
        if (!address || !local) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, step + ": out of memory");
        }
        rtnl_addr_set_ifindex(address.get(), ifindex);
        rtnl_addr_set_family(address.get(), AF_INET);
        rtnl_addr_set_local(address.get(), local.get());
        rtnl_addr_set_prefixlen(address.get(), operation.prefixLength);
        nl_msg* built = nullptr;
        const int result = rtnl_addr_build_delete_request(address.get(), 0, &built);
        MessagePtr message(built);
        if (result < 0) {
            return tl::unexpected(failure(step, result));
        }
        return sendChange(message.get(), step, { EADDRNOTAVAIL });
    }

    Result<RoutePtr> defaultRoute(int ifindex, const Operation& operation)
    {
        RoutePtr route(rtnl_route_alloc());
        NlAddressPtr anywhere = ipv4Address(0, 0);
        NlAddressPtr gateway = ipv4Address(operation.gateway, 32);
        NextHopPtr hop(rtnl_route_nh_alloc());
        if (!route || !anywhere || !gateway || !hop) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, "out of memory");
        }
        rtnl_route_set_family(route.get(), AF_INET);
        rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
        rtnl_route_set_dst(route.get(), anywhere.get());
        rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
        rtnl_route_set_type(route.get(), RTN_UNICAST);
        rtnl_route_set_protocol(route.get(), network::kOwnRouteProtocol);
        rtnl_route_set_priority(route.get(), operation.metric);
        rtnl_route_nh_set_ifindex(hop.get(), ifindex);
        rtnl_route_nh_set_gateway(hop.get(), gateway.get());
        rtnl_route_add_nexthop(route.get(), hop.release()); // the route owns it now
        return route;
    }

    Result<void> writeDefaultRoute(int ifindex, const Operation& operation, const std::string& step)
    {
        auto route = defaultRoute(ifindex, operation);
        if (!route) {
            return tl::unexpected(std::move(route.error()).withContext(step));
        }
        const int flags = operation.routeWrite == network::RouteWrite::Replace ? NLM_F_REPLACE : NLM_F_EXCL;
        nl_msg* built = nullptr;
        const int result = rtnl_route_build_add_request(route->get(), flags, &built);
        MessagePtr message(built);
        if (result < 0) {
            return tl::unexpected(failure(step, result));
        }
        return sendChange(message.get(), step);
    }

    Result<void> deleteDefaultRoute(int ifindex, const Operation& operation, const std::string& step)
    {
        auto route = defaultRoute(ifindex, operation);
        if (!route) {
            return tl::unexpected(std::move(route.error()).withContext(step));
        }
        nl_msg* built = nullptr;
        const int result = rtnl_route_build_del_request(route->get(), 0, &built);
        MessagePtr message(built);
        if (result < 0) {
            return tl::unexpected(failure(step, result));
        }
        return sendChange(message.get(), step, { ESRCH });
    }

    Result<std::vector<InterfaceIdentity>> listInterfaces()
    {
        auto cache = linkCache();
        if (!cache) {
            return tl::unexpected(std::move(cache.error()));
        }
        std::vector<InterfaceIdentity> interfaces;
        for (nl_object* object = nl_cache_get_first(cache->get()); object != nullptr;
             object = nl_cache_get_next(object)) {
            auto* link = reinterpret_cast<rtnl_link*>(object);
            interfaces.push_back({ rtnl_link_get_ifindex(link), linkName(link), linkMac(link) });
        }
        return interfaces;
    }
};

NetlinkBackend::NetlinkBackend(std::unique_ptr<State> state)
    : state_(std::move(state))
{
}

NetlinkBackend::~NetlinkBackend() = default;

Result<std::unique_ptr<NetlinkBackend>> NetlinkBackend::open(IdPathResolver idPathResolver)
{
    auto state = std::make_unique<State>();
    state->idPathResolver = std::move(idPathResolver);
    state->socket.reset(nl_socket_alloc());
    if (!state->socket) {
        return fail(
            ReasonCode::NetworkApplyFailed, Check::NetworkApply, "opening a netlink socket: out of memory");
    }
    const int connected = nl_connect(state->socket.get(), NETLINK_ROUTE);
    if (connected < 0) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            std::string("opening a NETLINK_ROUTE socket: ") + nl_geterror(connected));
    }
    // The kernel's own error text (extended ack) without the echoed request.
    const int on = 1;
    const int fd = nl_socket_get_fd(state->socket.get());
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
    nl_socket_modify_err_cb(state->socket.get(), NL_CB_CUSTOM, recordKernelError, &state->answer);
    return std::unique_ptr<NetlinkBackend>(new NetlinkBackend(std::move(state)));
}

std::uint64_t NetlinkBackend::changeRequestsSent() const
{
    return state_->changeRequests;
}

Result<std::vector<InterfaceIdentity>> NetlinkBackend::listInterfaces()
{
    return state_->listInterfaces();
}

namespace {

bool stackedOnAnother(rtnl_link* link)
{
    static constexpr std::string_view kStackedTypes[] = { "vlan", "macvlan", "macvtap", "ipvlan", "ipvtap" };
    const char* type = rtnl_link_get_type(link);
    return rtnl_link_get_master(link) != 0
        || (type != nullptr
            && std::find(std::begin(kStackedTypes), std::end(kStackedTypes), type)
                != std::end(kStackedTypes));
}

Error missing(const network::InterfaceMatcher& matcher, const std::string& why)
{
    return Error { ReasonCode::InterfaceMissing, Check::InterfaceMapping,
        network::describe(matcher) + " " + why, {} };
}

} // namespace

Result<InterfaceIdentity> NetlinkBackend::resolve(const network::InterfaceMatcher& matcher)
{
    std::string name;
    if (matcher.kind == network::MatchKind::IdPath) {
        if (!state_->idPathResolver) {
            return tl::unexpected(
                missing(matcher, "cannot be matched: matching by udev ID_PATH needs the udev driver"));
        }
        std::optional<std::string> resolved;
        try {
            resolved = state_->idPathResolver(matcher.value);
        } catch (const std::exception& error) {
            return tl::unexpected(
                missing(matcher, std::string("could not be looked up in udev: ") + error.what()));
        }
        if (!resolved) {
            return tl::unexpected(missing(matcher, "matches no network interface known to udev"));
        }
        name = *resolved;
    }
    std::optional<network::MacAddress> mac;
    if (matcher.kind == network::MatchKind::MacAddress) {
        mac = network::parseMacAddress(matcher.value);
        if (!mac) {
            return tl::unexpected(
                missing(matcher, "is not a MAC address (expected six hex pairs, e.g. 02:00:5e:10:00:01)"));
        }
    } else if (matcher.kind == network::MatchKind::Name) {
        name = matcher.value;
    }

    auto cache = state_->linkCache();
    if (!cache) {
        return tl::unexpected(std::move(cache.error()));
    }
    std::vector<rtnl_link*> matches;
    std::string present;
    int listed = 0;
    for (nl_object* object = nl_cache_get_first(cache->get()); object != nullptr;
         object = nl_cache_get_next(object)) {
        auto* link = reinterpret_cast<rtnl_link*>(object);
        const std::string linkMacText = linkMac(link);
        if (listed++ < 16) {
            present += (present.empty() ? "" : ", ") + linkName(link)
                + (linkMacText.empty() ? "" : " " + linkMacText);
        }
        const bool matched = mac ? linkMacText == network::formatMacAddress(*mac) : linkName(link) == name;
        if (matched) {
            matches.push_back(link);
        }
    }
    if (matches.size() > 1) {
        // A MAC address is shared by VLANs, macvlans and bond or bridge
        // ports; the interface meant is the one that is none of those.
        std::erase_if(matches, stackedOnAnother);
        if (matches.size() != 1) {
            return tl::unexpected(
                missing(matcher, "is carried by several interfaces; map the port by name instead"));
        }
    }
    if (matches.empty()) {
        std::string why = "matches no present interface";
        if (matcher.kind == network::MatchKind::IdPath) {
            why = "is interface \"" + name + "\" for udev, which is not present";
        }
        return tl::unexpected(missing(matcher, why + " (present: " + present + ")"));
    }
    return InterfaceIdentity { rtnl_link_get_ifindex(matches.front()), linkName(matches.front()),
        linkMac(matches.front()) };
}

Result<network::ObservedInterface> NetlinkBackend::observeInterface(int ifindex)
{
    auto link = state_->getLink(ifindex);
    if (!link) {
        return tl::unexpected(std::move(link.error()));
    }
    network::ObservedInterface observed;
    observed.ifindex = ifindex;
    observed.linkUp = (rtnl_link_get_flags(link->get()) & IFF_UP) != 0;
    std::uint32_t promote = 0;
    observed.promoteSecondaries
        = rtnl_link_inet_get_conf(link->get(), IPV4_DEVCONF_PROMOTE_SECONDARIES, &promote) == 0
        && promote != 0;
    auto addresses = state_->readAddresses();
    if (!addresses) {
        return tl::unexpected(std::move(addresses.error()));
    }
    for (const AddressRecord& address : *addresses) {
        if (address.ifindex == ifindex) {
            observed.addresses.push_back({ address.local, address.prefixLength,
                address.protocol == network::kOwnAddressProtocol, (address.flags & IFA_F_SECONDARY) != 0 });
        }
    }
    return observed;
}

Result<std::vector<network::ObservedRoute>> NetlinkBackend::observeDefaultRoutes()
{
    auto routes = state_->readRoutes();
    if (!routes) {
        return tl::unexpected(std::move(routes.error()));
    }
    std::vector<network::ObservedRoute> observed;
    for (const RouteRecord& route : *routes) {
        if (!route.isMainDefaultRoute() || route.type != RTN_UNICAST || route.tos != 0) {
            continue;
        }
        for (const NextHop& hop : route.nextHops) {
            observed.push_back({ hop.ifindex, hop.gateway, route.priority, route.protocol });
        }
    }
    return observed;
}

Result<void> NetlinkBackend::execute(int ifindex, const Operation& operation)
{
    const std::string step = network::describe(operation) + " on ifindex " + std::to_string(ifindex);
    switch (operation.kind) {
    case OperationKind::SetLinkUp:
        return state_->setLink(ifindex, true, "RTM_NEWLINK " + step);
    case OperationKind::AddAddress:
        return state_->addAddress(ifindex, operation, "RTM_NEWADDR " + step);
    case OperationKind::RemoveAddress:
        return state_->removeAddress(ifindex, operation, "RTM_DELADDR " + step);
    case OperationKind::ReplaceDefaultRoute:
        return state_->writeDefaultRoute(ifindex, operation, "RTM_NEWROUTE " + step);
    case OperationKind::DeleteDefaultRoute:
        return state_->deleteDefaultRoute(ifindex, operation, "RTM_DELROUTE " + step);
    }
    return fail(ReasonCode::InternalError, Check::NetworkApply, "unknown operation");
}

Result<NetworkSnapshot> NetlinkBackend::snapshot(std::span<const int> ifindexes)
{
    return state_->takeSnapshot(ifindexes, false);
}

Result<RestoreOutcome> NetlinkBackend::restore(const NetworkSnapshot& before)
{
    State& state = *state_;
    std::vector<std::string> failures;
    const auto note = [&](const Result<void>& result) {
        if (!result) {
            failures.push_back(result.error().message);
        }
    };

    auto current = state.takeSnapshot(before.ifindexes, true);
    if (!current) {
        return tl::unexpected(std::move(current.error()).withContext("reading the state to restore"));
    }
    RestoreOutcome outcome;
    const auto linkNow = [&](int ifindex) -> const LinkRecord* {
        const auto found = std::find_if(current->links.begin(), current->links.end(),
            [&](const LinkRecord& link) { return link.ifindex == ifindex; });
        return found == current->links.end() ? nullptr : &*found;
    };
    for (const LinkRecord& link : before.links) {
        const LinkRecord* now = linkNow(link.ifindex);
        if (now == nullptr) {
            outcome.vanishedInterfaces.push_back(link);
        } else if (link.up && !now->up) {
            note(state.setLink(link.ifindex, true, "setting " + link.name + " up again"));
        }
    }
    const auto stillPresent = [&](int ifindex) { return linkNow(ifindex) != nullptr; };

    // Addresses before routes: a route's gateway or source needs its address.
    for (const AddressRecord& address : current->addresses) {
        if (!containsIdentical(before.addresses, address)) {
            note(state.replay(address.message, RTM_DELADDR, 0, "removing address " + address.describe(),
                { EADDRNOTAVAIL }));
        }
    }
    for (const AddressRecord& address : before.addresses) {
        if (stillPresent(address.ifindex) && !containsIdentical(current->addresses, address)) {
            note(state.replay(address.message, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE,
                "restoring address " + address.describe()));
        }
    }

    // Removing an interface's last address flushed its routes: read again.
    auto routesNow = state.takeSnapshot(before.ifindexes, true);
    if (!routesNow) {
        return tl::unexpected(std::move(routesNow.error()).withContext("reading the routes to restore"));
    }
    for (const RouteRecord& route : routesNow->routes) {
        if (!containsIdentical(before.routes, route)) {
            note(state.replay(sanitizedRouteMessage(route.message), RTM_DELROUTE, 0,
                "removing route " + route.describe(), { ESRCH }));
        }
    }
    for (const RouteRecord& route : before.routes) {
        const bool throughVanished = std::any_of(route.nextHops.begin(), route.nextHops.end(),
            [&](const NextHop& hop) { return before.covers(hop.ifindex) && !stillPresent(hop.ifindex); });
        if (!throughVanished && !containsIdentical(routesNow->routes, route)) {
            note(state.replay(sanitizedRouteMessage(route.message), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
                "restoring route " + route.describe()));
        }
    }

    // A link that was down goes down last: that flushes its routes, as it
    // had none.
    for (const LinkRecord& link : before.links) {
        const LinkRecord* now = linkNow(link.ifindex);
        if (now != nullptr && !link.up && now->up) {
            note(state.setLink(link.ifindex, false, "setting " + link.name + " down again"));
        }
    }

    auto after = state.takeSnapshot(before.ifindexes, true);
    if (!after) {
        return tl::unexpected(std::move(after.error()).withContext("reading back after restoring"));
    }
    for (const std::string& difference : before.differencesTo(*after, false)) {
        failures.push_back("still different after restoring: " + difference);
    }
    if (!failures.empty()) {
        std::string message;
        for (const std::string& failure : failures) {
            message += (message.empty() ? "" : "; ") + failure;
        }
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, message);
    }
    return outcome;
}

} // namespace omni::netlink
