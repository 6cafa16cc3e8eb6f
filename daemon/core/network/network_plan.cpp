#include "daemon/core/network/network_plan.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

#include "daemon/core/manifest/ipv4.hpp"

namespace omni::network {

std::string_view toString(InterfaceMode mode)
{
    switch (mode) {
    case InterfaceMode::Static:
        return "STATIC";
    case InterfaceMode::Dhcp:
        return "DHCP";
    case InterfaceMode::LeaveAsIs:
        return "LEAVE_AS_IS";
    }
    return "?";
}

std::string_view toString(NtpAction action)
{
    switch (action) {
    case NtpAction::Untouched:
        return "UNTOUCHED";
    case NtpAction::RemoveOverride:
        return "REMOVE_OVERRIDE";
    case NtpAction::Replace:
        return "REPLACE";
    }
    return "?";
}

namespace {

// The parsed fields are filled by manifest validation; a static port that
// reaches us without them (or with values validation refuses) is a bug in
// the caller, not something a technician can fix.
Result<StaticAddressing> parsedAddressing(EthernetPort port, const manifest::StaticIpConnectionInfo& info)
{
    const StaticAddressing addressing { info.address, info.prefixLength, info.gateway };
    const std::uint32_t mask = ipv4SubnetMask(addressing.prefixLength);
    const bool valid = addressing.prefixLength >= 1 && addressing.prefixLength <= 31
        && addressing.address != 0 && addressing.gateway != 0 && addressing.gateway != addressing.address
        && (addressing.address & mask) == (addressing.gateway & mask);
    if (!valid) {
        return fail(ReasonCode::InternalError, Check::None,
            std::string(toString(port)) + " is STATIC_IP but its parsed addressing (address "
                + manifest::formatIpv4(addressing.address) + "/" + std::to_string(addressing.prefixLength)
                + ", gateway " + manifest::formatIpv4(addressing.gateway)
                + ") is not a validated one: the configuration must come from manifest validation",
            "NetworkingConfiguration." + std::string(toString(port)) + ".StaticIpConnectionInfo");
    }
    return addressing;
}

// Two spellings of one address ("2001:DB8::1", "2001:db8::1") are one server.
std::string addressKey(const std::string& text)
{
    std::array<unsigned char, 16> binary {};
    if (inet_pton(AF_INET, text.c_str(), binary.data()) == 1) {
        return "4:" + std::string(binary.begin(), binary.begin() + 4);
    }
    if (inet_pton(AF_INET6, text.c_str(), binary.data()) == 1) {
        return "6:" + std::string(binary.begin(), binary.end());
    }
    return "text:" + text;
}

} // namespace

Result<NetworkPlan> planNetwork(
    const std::optional<manifest::NetworkingConfiguration>& configuration, const InterfaceMapping& mapping)
{
    NetworkPlan plan;
    std::vector<std::string> dnsKeys;
    for (EthernetPort port : kEthernetPorts) {
        DesiredInterface& desired = plan.interfaces[static_cast<std::size_t>(port)];
        desired.port = port;
        desired.routeMetric = mapping[port].routeMetric;

        const std::optional<manifest::EthernetPayload>* payload = nullptr;
        if (configuration) {
            payload = port == EthernetPort::Ethernet0 ? &configuration->ethernet0 : &configuration->ethernet1;
        }
        if (payload == nullptr || !payload->has_value()) {
            desired.mode = port == EthernetPort::Ethernet0 ? InterfaceMode::Dhcp : InterfaceMode::LeaveAsIs;
            continue;
        }
        const manifest::EthernetPayload& ethernet = **payload;
        if (ethernet.connectionType == manifest::ConnectionType::Dhcp) {
            // A StaticIpConnectionInfo beside DHCP was validated and is ignored.
            desired.mode = InterfaceMode::Dhcp;
            continue;
        }
        if (!ethernet.staticIp) {
            return fail(ReasonCode::InternalError, Check::None,
                std::string(toString(port))
                    + " is STATIC_IP without StaticIpConnectionInfo: the configuration "
                      "must come from manifest validation",
                "NetworkingConfiguration." + std::string(toString(port)));
        }
        auto addressing = parsedAddressing(port, *ethernet.staticIp);
        if (!addressing) {
            return tl::unexpected(std::move(addressing.error()));
        }
        desired.mode = InterfaceMode::Static;
        desired.addressing = *addressing;
        for (const std::string& server : ethernet.staticIp->dns) {
            std::string key = addressKey(server);
            if (std::find(dnsKeys.begin(), dnsKeys.end(), key) == dnsKeys.end()) {
                dnsKeys.push_back(std::move(key));
                plan.dnsServers.push_back(server);
            }
        }
    }

    const DesiredInterface& first = plan[EthernetPort::Ethernet0];
    const DesiredInterface& second = plan[EthernetPort::Ethernet1];
    if (first.mode == InterfaceMode::Static && second.mode == InterfaceMode::Static
        && first.routeMetric == second.routeMetric) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            "Ethernet0 and Ethernet1 are both static and the device configuration gives both default routes "
            "metric "
                + std::to_string(first.routeMetric)
                + ": one would replace the other; give each port its own route metric");
    }

    if (configuration && configuration->ntp) {
        plan.ntp.servers = configuration->ntp->servers;
        plan.ntp.action = plan.ntp.servers.empty() ? NtpAction::RemoveOverride : NtpAction::Replace;
    }
    return plan;
}

} // namespace omni::network
