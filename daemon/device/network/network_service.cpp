#include "daemon/device/network/network_service.hpp"

#include <algorithm>
#include <fstream>

#include "daemon/core/manifest/ipv4.hpp"
#include "drivers/dns/resolved_backend.hpp"

namespace omni::network_service {

using network::EthernetPort;
using network::InterfaceMode;

namespace {

std::size_t indexOf(EthernetPort port)
{
    return static_cast<std::size_t>(port);
}

std::string portName(EthernetPort port)
{
    return std::string(network::toString(port));
}

const manifest::EthernetPayload* payloadOf(
    const std::optional<manifest::NetworkingConfiguration>& networking, EthernetPort port)
{
    if (!networking) {
        return nullptr;
    }
    const auto& payload = port == EthernetPort::Ethernet0 ? networking->ethernet0 : networking->ethernet1;
    return payload ? &*payload : nullptr;
}

// Adds each server not yet in `into`, comparing addresses (so
// "2001:DB8::1" repeats "2001:db8::1").
void addOnce(std::vector<std::string>& into, const std::vector<std::string>& servers)
{
    for (const std::string& server : servers) {
        const auto parsed = dns::parseDnsAddress(server);
        const bool present = std::any_of(into.begin(), into.end(), [&](const std::string& known) {
            const auto other = dns::parseDnsAddress(known);
            return parsed && other ? *parsed == *other : known == server;
        });
        if (!present) {
            into.push_back(server);
        }
    }
}

// Collects what undoing a failed apply says, step by step.
struct Undo {
    std::vector<std::string> problems;

    void note(const std::string& what, const Error& error)
    {
        problems.push_back(what + ": " + error.message);
    }

    Error finish(std::string_view step, std::string_view stepTitle, Error failure) const
    {
        Error error { ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            std::string(stepTitle) + " step failed: " + failure.message, std::string(step) };
        if (failure.reason == ReasonCode::InterfaceMissing) {
            error.reason = ReasonCode::InterfaceMissing;
            error.check = Check::InterfaceMapping;
        }
        if (problems.empty()) {
            error.message
                += "; rolled back: addresses, routes, DHCP clients, DNS and NTP are as they were before";
        } else {
            error.message += "; rolling back failed as well, the network may be half-applied:";
            for (const std::string& problem : problems) {
                error.message += " " + problem + ";";
            }
            error.message.pop_back();
        }
        return error;
    }
};

std::string stepTitle(std::string_view step)
{
    if (step == kStepDhcpStop) {
        return "stopping a DHCP client";
    }
    if (step == kStepAddresses) {
        return "addresses and routes";
    }
    if (step == kStepDhcpStart) {
        return "starting a DHCP client";
    }
    if (step == kStepDns) {
        return "DNS";
    }
    return "NTP";
}

} // namespace

std::optional<bool> carrierFromSysfs(const netlink::InterfaceIdentity& interface)
{
    std::ifstream file("/sys/class/net/" + interface.name + "/carrier");
    char value = 0;
    if (!(file >> value)) {
        return std::nullopt; // the kernel refuses to read it on a down link
    }
    return value == '1';
}

NetworkService::NetworkService(netlink::NetworkBackend& network, dns::DnsBackend& dns, ntp::NtpBackend& ntp,
    dhcp::DhcpSupervisor& dhcp, network::InterfaceMapping mapping, CarrierReader carrier)
    : network_(network)
    , dns_(dns)
    , ntp_(ntp)
    , dhcp_(dhcp)
    , mapping_(std::move(mapping))
    , carrier_(std::move(carrier))
{
}

dns::DnsSettings NetworkService::dnsSettings(const Applied& applied) const
{
    dns::DnsSettings settings;
    for (EthernetPort port : network::kEthernetPorts) {
        const auto& state = applied.ports[indexOf(port)];
        if (!state) {
            continue;
        }
        std::vector<std::string> servers;
        if (state->mode == InterfaceMode::Static) {
            servers = state->staticDns;
        } else if (const auto lease = dhcp_.lease(state->interface.name)) {
            servers = lease->dnsServers;
        }
        std::vector<std::string> once;
        addOnce(once, servers);
        addOnce(settings.servers, once);
        settings.links.push_back({ state->interface.ifindex, state->interface.name, std::move(once) });
    }
    return settings;
}

network::NtpPlan NetworkService::ntpPlan(const Applied& applied) const
{
    if (applied.ntp.action != network::NtpAction::Untouched) {
        return applied.ntp;
    }
    network::NtpPlan fromLeases;
    for (EthernetPort port : network::kEthernetPorts) {
        const auto& state = applied.ports[indexOf(port)];
        if (!state || state->mode != InterfaceMode::Dhcp) {
            continue;
        }
        if (const auto lease = dhcp_.lease(state->interface.name)) {
            for (const std::string& server : lease->ntpServers) {
                if (std::find(fromLeases.servers.begin(), fromLeases.servers.end(), server)
                    == fromLeases.servers.end()) {
                    fromLeases.servers.push_back(server);
                }
            }
        }
    }
    if (!fromLeases.servers.empty()) {
        fromLeases.action = network::NtpAction::Replace;
    }
    return fromLeases;
}

Result<std::pair<network::NetworkPlan, NetworkService::Applied>> NetworkService::planPorts(
    const std::optional<manifest::NetworkingConfiguration>& networking)
{
    auto plan = network::planNetwork(networking, mapping_);
    if (!plan) {
        return tl::unexpected(std::move(plan.error()));
    }
    auto ports = netlink::resolvePlanPorts(network_, *plan, mapping_);
    if (!ports) {
        return tl::unexpected(std::move(ports.error()));
    }
    Applied wanted;
    wanted.ntp = plan->ntp;
    for (const netlink::PortOutcome& port : *ports) {
        PortState state;
        state.mode = port.mode;
        state.interface = port.interface;
        state.routeMetric = (*plan)[port.port].routeMetric;
        const manifest::EthernetPayload* payload = payloadOf(networking, port.port);
        if (port.mode == InterfaceMode::Static && payload != nullptr && payload->staticIp) {
            state.staticDns = payload->staticIp->dns;
        }
        wanted.ports[indexOf(port.port)] = std::move(state);
    }
    return std::pair { std::move(*plan), std::move(wanted) };
}

Result<void> NetworkService::assumeInForce(const std::optional<manifest::NetworkingConfiguration>& networking)
{
    auto planned = planPorts(networking);
    if (!planned) {
        return tl::unexpected(std::move(planned.error()));
    }
    applied_ = std::move(planned->second);
    return {};
}

Result<ApplySummary> NetworkService::apply(
    const std::optional<manifest::NetworkingConfiguration>& networking, const ServiceHooks& hooks)
{
    // 1. Plan and interfaces; nothing touched yet.
    auto planned = planPorts(networking);
    if (!planned) {
        return tl::unexpected(std::move(planned.error()));
    }
    const network::NetworkPlan* plan = &planned->first;
    Applied wanted = std::move(planned->second);

    // 2. Snapshots of DNS and NTP.
    dns::DnsSettings linksOnly;
    for (const auto& state : wanted.ports) {
        if (state) {
            linksOnly.links.push_back({ state->interface.ifindex, state->interface.name, {} });
        }
    }
    auto dnsSnapshot = dns_.snapshot(linksOnly);
    if (!dnsSnapshot) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            "DNS step failed before any change (snapshot): " + dnsSnapshot.error().message,
            std::string(kStepDns));
    }
    auto ntpSnapshot = ntp_.snapshot();
    if (!ntpSnapshot) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            "NTP step failed before any change (snapshot): " + ntpSnapshot.error().message,
            std::string(kStepNtp));
    }

    ApplySummary summary;
    std::vector<const PortState*> stopped;
    std::vector<std::string> started;
    std::optional<netlink::NetworkSnapshot> addressSnapshot;
    bool dnsTouched = false;
    bool ntpTouched = false;
    const auto rollBack = [&](std::string_view step, Error failure) {
        Undo undo;
        if (ntpTouched) {
            if (auto restored = ntp_.restore(*ntpSnapshot); !restored) {
                undo.note("NTP", restored.error());
            }
        }
        if (dnsTouched) {
            if (auto restored = dns_.restore(*dnsSnapshot); !restored) {
                undo.note("DNS", restored.error());
            }
        }
        for (const std::string& name : started) {
            dhcp_.stop(name);
        }
        if (addressSnapshot) {
            if (auto restored = network_.restore(*addressSnapshot); !restored) {
                undo.note("addresses and routes", restored.error());
            }
        }
        for (const PortState* state : stopped) {
            if (auto restarted = dhcp_.start(state->interface.name, state->routeMetric); !restarted) {
                undo.note("restarting the DHCP client on " + state->interface.name, restarted.error());
            }
        }
        return tl::unexpected(undo.finish(step, stepTitle(step), std::move(failure)));
    };
    const auto before = [&](std::string_view step) {
        if (hooks.beforeStep) {
            hooks.beforeStep(step);
        }
    };

    // 3. DHCP clients of ports that become static.
    for (const auto& state : wanted.ports) {
        if (!state || state->mode != InterfaceMode::Static || !dhcp_.adoptLeftClient(state->interface.name)) {
            continue;
        }
        before(kStepDhcpStop);
        const dhcp::StopOutcome outcome = dhcp_.stop(state->interface.name);
        stopped.push_back(&*state);
        summary.dhcpStopped.push_back(state->interface.name);
        if (!outcome.lastLease) {
            continue;
        }
        // dhcpcd removes its address when it stops; one that was killed
        // leaves it, and it goes here (its routes, which use it as source,
        // go with it).
        auto observed = network_.observeInterface(state->interface.ifindex);
        if (!observed) {
            return rollBack(kStepDhcpStop, observed.error());
        }
        for (const network::ObservedAddress& address : observed->addresses) {
            if (address.address == outcome.lastLease->address
                && address.prefixLength == outcome.lastLease->prefixLength && !address.ours) {
                auto removed = network_.execute(state->interface.ifindex,
                    network::Operation::removeAddress(address.address, address.prefixLength));
                if (!removed) {
                    return rollBack(kStepDhcpStop, removed.error());
                }
            }
        }
    }

    // 4. Addresses, links, default routes.
    before(kStepAddresses);
    auto applied = netlink::applyNetworkPlan(network_, *plan, mapping_, hooks.netlink);
    if (!applied) {
        // The applier has rolled its own changes back.
        return rollBack(kStepAddresses, applied.error());
    }
    summary.changeRequests = applied->changeRequests;
    addressSnapshot = std::move(applied->snapshot);

    // 5. DHCP clients of DHCP ports.
    for (const auto& state : wanted.ports) {
        if (!state || state->mode != InterfaceMode::Dhcp || dhcp_.supervises(state->interface.name)) {
            continue;
        }
        before(kStepDhcpStart);
        auto startedNow = dhcp_.start(state->interface.name, state->routeMetric);
        if (!startedNow) {
            return rollBack(kStepDhcpStart, startedNow.error());
        }
        started.push_back(state->interface.name);
        summary.dhcpStarted.push_back(state->interface.name);
    }

    // 6. DNS.
    before(kStepDns);
    dnsTouched = true;
    auto dnsApplied = dns_.apply(dnsSettings(wanted));
    if (!dnsApplied) {
        return rollBack(kStepDns, dnsApplied.error());
    }
    summary.dnsChanged = dnsApplied->changed;
    summary.warnings.insert(summary.warnings.end(), dnsApplied->warnings.begin(), dnsApplied->warnings.end());

    // 7. NTP.
    before(kStepNtp);
    ntpTouched = true;
    auto ntpApplied = ntp_.apply(ntpPlan(wanted));
    if (!ntpApplied) {
        return rollBack(kStepNtp, ntpApplied.error());
    }
    summary.ntpChanged = ntpApplied->changed;
    summary.warnings.insert(summary.warnings.end(), ntpApplied->warnings.begin(), ntpApplied->warnings.end());

    applied_ = std::move(wanted);
    return summary;
}

Result<ApplySummary> NetworkService::applyDnsAndNtp(const Applied& applied, const ServiceHooks& hooks)
{
    const dns::DnsSettings settings = dnsSettings(applied);
    auto dnsSnapshot = dns_.snapshot(settings);
    if (!dnsSnapshot) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            "DNS step failed before any change (snapshot): " + dnsSnapshot.error().message,
            std::string(kStepDns));
    }
    auto ntpSnapshot = ntp_.snapshot();
    if (!ntpSnapshot) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            "NTP step failed before any change (snapshot): " + ntpSnapshot.error().message,
            std::string(kStepNtp));
    }
    ApplySummary summary;
    if (hooks.beforeStep) {
        hooks.beforeStep(kStepDns);
    }
    auto dnsApplied = dns_.apply(settings);
    if (!dnsApplied) {
        Undo undo;
        if (auto restored = dns_.restore(*dnsSnapshot); !restored) {
            undo.note("DNS", restored.error());
        }
        return tl::unexpected(undo.finish(kStepDns, stepTitle(kStepDns), std::move(dnsApplied.error())));
    }
    summary.dnsChanged = dnsApplied->changed;
    summary.warnings = dnsApplied->warnings;
    if (hooks.beforeStep) {
        hooks.beforeStep(kStepNtp);
    }
    auto ntpApplied = ntp_.apply(ntpPlan(applied));
    if (!ntpApplied) {
        Undo undo;
        if (auto restored = ntp_.restore(*ntpSnapshot); !restored) {
            undo.note("NTP", restored.error());
        }
        if (auto restored = dns_.restore(*dnsSnapshot); !restored) {
            undo.note("DNS", restored.error());
        }
        return tl::unexpected(undo.finish(kStepNtp, stepTitle(kStepNtp), std::move(ntpApplied.error())));
    }
    summary.ntpChanged = ntpApplied->changed;
    summary.warnings.insert(summary.warnings.end(), ntpApplied->warnings.begin(), ntpApplied->warnings.end());
    return summary;
}

Result<ApplySummary> NetworkService::refreshFromLeases(const ServiceHooks& hooks)
{
    if (!applied_) {
        return ApplySummary {};
    }
    return applyDnsAndNtp(*applied_, hooks);
}

std::vector<agent::PortFacts> NetworkService::describe()
{
    std::vector<agent::PortFacts> facts;
    auto routes = network_.observeDefaultRoutes();
    std::optional<std::vector<std::string>> ntpServers;
    std::string ntpProblem;
    if (auto inForce = ntp_.serversInForce()) {
        ntpServers = std::move(*inForce);
    } else {
        ntpProblem = "NTP: " + inForce.error().message;
    }
    for (EthernetPort port : network::kEthernetPorts) {
        agent::PortFacts fact;
        fact.port = portName(port);
        std::vector<std::string> problems;
        if (!ntpProblem.empty()) {
            problems.push_back(ntpProblem);
        }
        if (applied_) {
            const auto& state = applied_->ports[indexOf(port)];
            fact.mode = std::string(network::toString(state ? state->mode : InterfaceMode::LeaveAsIs));
        }
        fact.ntp = ntpServers.value_or(std::vector<std::string> {});
        const auto& matcher = mapping_[port].matcher;
        if (!matcher) {
            fact.mapping = "not mapped";
            fact.problem = portName(port) + " is not mapped to an interface";
            facts.push_back(std::move(fact));
            continue;
        }
        fact.mapping = network::describe(*matcher);
        auto identity = network_.resolve(*matcher);
        if (!identity) {
            problems.push_back(identity.error().message);
        } else {
            fact.interfaceName = identity->name;
            fact.macAddress = identity->macAddress;
            fact.carrier = carrier_ ? carrier_(*identity) : std::nullopt;
            if (auto observed = network_.observeInterface(identity->ifindex)) {
                for (const network::ObservedAddress& address : observed->addresses) {
                    fact.addresses.push_back(
                        manifest::formatIpv4(address.address) + "/" + std::to_string(address.prefixLength));
                }
            } else {
                problems.push_back(observed.error().message);
            }
            if (routes) {
                const network::ObservedRoute* best = nullptr;
                for (const network::ObservedRoute& route : *routes) {
                    if (route.ifindex == identity->ifindex && route.gateway != 0
                        && (best == nullptr || route.metric < best->metric)) {
                        best = &route;
                    }
                }
                if (best != nullptr) {
                    fact.gateway = manifest::formatIpv4(best->gateway);
                }
            } else {
                problems.push_back(routes.error().message);
            }
            if (const auto lease = dhcp_.lease(identity->name)) {
                fact.leaseAddress = lease->addressWithPrefix();
            }
            if (auto servers = dns_.serversInForce(identity->ifindex)) {
                fact.dns = std::move(*servers);
            } else {
                problems.push_back("DNS: " + servers.error().message);
            }
        }
        for (const std::string& problem : problems) {
            fact.problem += (fact.problem.empty() ? "" : "; ") + problem;
        }
        facts.push_back(std::move(fact));
    }
    return facts;
}

} // namespace omni::network_service
