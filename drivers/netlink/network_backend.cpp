#include "drivers/netlink/network_backend.hpp"

#include <algorithm>
#include <cstdio>

#include "daemon/core/manifest/ipv4.hpp"

namespace omni::netlink {

using manifest::formatIpv4;

bool AddressRecord::identical(const AddressRecord& other) const
{
    return sameAddress(other) && peer == other.peer && broadcast == other.broadcast && label == other.label
        && scope == other.scope && flags == other.flags && protocol == other.protocol
        && routeMetric == other.routeMetric;
}

std::string AddressRecord::describe() const
{
    std::string text
        = formatIpv4(local) + "/" + std::to_string(prefixLength) + " on ifindex " + std::to_string(ifindex);
    if (peer != local) {
        text += " peer " + formatIpv4(peer);
    }
    if (broadcast != 0) {
        text += " brd " + formatIpv4(broadcast);
    }
    text += " label " + label + " scope " + std::to_string(scope) + " flags 0x";
    char flagsText[12];
    std::snprintf(flagsText, sizeof flagsText, "%08x", flags);
    text += flagsText;
    text += " proto " + std::to_string(protocol);
    if (routeMetric != 0) {
        text += " metric " + std::to_string(routeMetric);
    }
    return text;
}

bool RouteRecord::identical(const RouteRecord& other) const
{
    return table == other.table && destination == other.destination
        && destinationLength == other.destinationLength && tos == other.tos && protocol == other.protocol
        && scope == other.scope && type == other.type && priority == other.priority
        && preferredSource == other.preferredSource && nextHops == other.nextHops;
}

bool RouteRecord::isMainDefaultRoute() const
{
    constexpr std::uint32_t kMainTable = 254; // RT_TABLE_MAIN
    return table == kMainTable && destinationLength == 0;
}

bool RouteRecord::goesThrough(int ifindex) const
{
    return std::any_of(
        nextHops.begin(), nextHops.end(), [&](const NextHop& hop) { return hop.ifindex == ifindex; });
}

std::string RouteRecord::describe() const
{
    std::string text = destinationLength == 0
        ? std::string("default")
        : formatIpv4(destination) + "/" + std::to_string(destinationLength);
    for (const NextHop& hop : nextHops) {
        if (hop.gateway != 0) {
            text += " via " + formatIpv4(hop.gateway);
        }
        text += " dev ifindex " + std::to_string(hop.ifindex);
    }
    text += " table " + std::to_string(table) + " proto " + std::to_string(protocol) + " scope "
        + std::to_string(scope) + " type " + std::to_string(type) + " metric " + std::to_string(priority);
    if (tos != 0) {
        text += " tos " + std::to_string(tos);
    }
    if (preferredSource != 0) {
        text += " src " + formatIpv4(preferredSource);
    }
    return text;
}

bool NetworkSnapshot::covers(int ifindex) const
{
    return std::find(ifindexes.begin(), ifindexes.end(), ifindex) != ifindexes.end();
}

std::vector<std::string> NetworkSnapshot::differencesTo(
    const NetworkSnapshot& current, bool reportVanishedLinks) const
{
    std::vector<std::string> differences;
    std::vector<int> gone;
    for (const LinkRecord& link : links) {
        const auto now = std::find_if(current.links.begin(), current.links.end(),
            [&](const LinkRecord& candidate) { return candidate.ifindex == link.ifindex; });
        if (now == current.links.end()) {
            gone.push_back(link.ifindex);
            if (reportVanishedLinks) {
                differences.push_back(
                    "interface " + link.name + " (ifindex " + std::to_string(link.ifindex) + ") is gone");
            }
        } else if (now->up != link.up) {
            differences.push_back("interface " + link.name + " is " + (now->up ? "up" : "down") + ", was "
                + (link.up ? "up" : "down"));
        }
    }
    const auto onGoneInterface
        = [&](int ifindex) { return std::find(gone.begin(), gone.end(), ifindex) != gone.end(); };

    for (const AddressRecord& address : addresses) {
        if (!onGoneInterface(address.ifindex) && !containsIdentical(current.addresses, address)) {
            differences.push_back("address missing: " + address.describe());
        }
    }
    for (const AddressRecord& address : current.addresses) {
        if (!containsIdentical(addresses, address)) {
            differences.push_back("address added: " + address.describe());
        }
    }
    for (const RouteRecord& route : routes) {
        const bool throughGone = std::any_of(route.nextHops.begin(), route.nextHops.end(),
            [&](const NextHop& hop) { return onGoneInterface(hop.ifindex); });
        if (!throughGone && !containsIdentical(current.routes, route)) {
            differences.push_back("route missing: " + route.describe());
        }
    }
    for (const RouteRecord& route : current.routes) {
        if (!containsIdentical(routes, route)) {
            differences.push_back("route added: " + route.describe());
        }
    }
    return differences;
}

} // namespace omni::netlink
