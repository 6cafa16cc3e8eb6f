#include "daemon/device/network/network_service.hpp"

#include <algorithm>
#include <fstream>
#include <memory>

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

// Stops our DHCP client of a port that becomes STATIC; undone by starting
// it again.
class DhcpStopStep final : public NetworkStep {
public:
    DhcpStopStep(dhcp::DhcpSupervisor& dhcp, netlink::NetworkBackend& network,
        netlink::InterfaceIdentity interface, std::uint32_t routeMetric, ApplySummary& summary)
        : dhcp_(dhcp)
        , network_(network)
        , interface_(std::move(interface))
        , routeMetric_(routeMetric)
        , summary_(summary)
    {
    }

    std::string_view name() const override { return kStepDhcpStop; }
    std::string_view title() const override { return "stopping a DHCP client"; }
    bool needed() override { return dhcp_.adoptLeftClient(interface_.name); }

    Result<void> apply() override
    {
        const dhcp::StopOutcome outcome = dhcp_.stop(interface_.name);
        stopped_ = true;
        summary_.dhcpStopped.push_back(interface_.name);
        if (!outcome.lastLease) {
            return {};
        }
        // dhcpcd removes its address when it stops; one that was killed
        // leaves it, and it goes here (its routes, which use it as source,
        // go with it).
        auto observed = network_.observeInterface(interface_.ifindex);
        if (!observed) {
            return tl::unexpected(std::move(observed.error()));
        }
        for (const network::ObservedAddress& address : observed->addresses) {
            if (address.address == outcome.lastLease->address
                && address.prefixLength == outcome.lastLease->prefixLength && !address.ours) {
                auto removed = network_.execute(interface_.ifindex,
                    network::Operation::removeAddress(address.address, address.prefixLength));
                if (!removed) {
                    return tl::unexpected(std::move(removed.error()));
                }
            }
        }
        return {};
    }

    void undo(UndoLog& log) override
    {
        if (!stopped_) {
            return;
        }
        if (auto restarted = dhcp_.start(interface_.name, routeMetric_); !restarted) {
            log.failed("restarting the DHCP client on " + interface_.name, restarted.error());
        }
    }

private:
    dhcp::DhcpSupervisor& dhcp_;
    netlink::NetworkBackend& network_;
    netlink::InterfaceIdentity interface_;
    std::uint32_t routeMetric_ = 0;
    ApplySummary& summary_;
    bool stopped_ = false;
};

// Addresses, links and default routes through netlink; undone by restoring
// the snapshot it took before its first change.
class AddressesStep final : public NetworkStep {
public:
    AddressesStep(netlink::AddressesAndRoutes changes, ApplySummary& summary)
        : changes_(std::move(changes))
        , summary_(summary)
    {
    }

    std::string_view name() const override { return kStepAddresses; }
    std::string_view title() const override { return "addresses and routes"; }

    Result<void> apply() override
    {
        auto applied = changes_.apply();
        if (!applied) {
            return tl::unexpected(std::move(applied.error()));
        }
        summary_.changeRequests = applied->changeRequests;
        return {};
    }

    void undo(UndoLog& log) override
    {
        if (!changes_.mayHaveChanged()) {
            return;
        }
        auto restored = changes_.undo();
        if (!restored) {
            log.failed("addresses and routes", restored.error());
        } else if (!restored->vanishedInterfaces.empty()) {
            std::string vanished = "interfaces that disappeared meanwhile:";
            for (const netlink::LinkRecord& link : restored->vanishedInterfaces) {
                vanished += " " + link.name;
            }
            log.except(std::move(vanished));
        }
    }

private:
    netlink::AddressesAndRoutes changes_;
    ApplySummary& summary_;
};

// Starts a DHCP client for a DHCP port that has none; undone by stopping it.
class DhcpStartStep final : public NetworkStep {
public:
    DhcpStartStep(dhcp::DhcpSupervisor& dhcp, netlink::InterfaceIdentity interface, std::uint32_t routeMetric,
        ApplySummary& summary)
        : dhcp_(dhcp)
        , interface_(std::move(interface))
        , routeMetric_(routeMetric)
        , summary_(summary)
    {
    }

    std::string_view name() const override { return kStepDhcpStart; }
    std::string_view title() const override { return "starting a DHCP client"; }
    bool needed() override { return !dhcp_.supervises(interface_.name); }

    Result<void> apply() override
    {
        auto started = dhcp_.start(interface_.name, routeMetric_);
        if (!started) {
            return tl::unexpected(std::move(started.error()));
        }
        started_ = true;
        summary_.dhcpStarted.push_back(interface_.name);
        return {};
    }

    void undo(UndoLog&) override
    {
        if (started_) {
            dhcp_.stop(interface_.name);
        }
    }

private:
    dhcp::DhcpSupervisor& dhcp_;
    netlink::InterfaceIdentity interface_;
    std::uint32_t routeMetric_ = 0;
    ApplySummary& summary_;
    bool started_ = false;
};

// DNS servers or NTP servers as a step: the settings are computed when the
// step runs (after the DHCP clients, whose leases they may use), written
// through the backend, and undone by restoring the snapshot taken before any
// step changed anything.
template <typename Backend, typename Settings, typename Snapshot>
class ManagedSettingsStep final : public NetworkStep {
public:
    ManagedSettingsStep(std::string_view name, std::string_view title, Backend& backend,
        std::function<Result<Snapshot>()> takeSnapshot, std::function<Settings()> wanted,
        bool ApplySummary::*changed, ApplySummary& summary)
        : name_(name)
        , title_(title)
        , backend_(backend)
        , takeSnapshot_(std::move(takeSnapshot))
        , wanted_(std::move(wanted))
        , changed_(changed)
        , summary_(summary)
    {
    }

    std::string_view name() const override { return name_; }
    std::string_view title() const override { return title_; }

    Result<void> snapshot() override
    {
        auto taken = takeSnapshot_();
        if (!taken) {
            return tl::unexpected(std::move(taken.error()));
        }
        snapshot_ = std::move(*taken);
        return {};
    }

    Result<void> apply() override
    {
        touched_ = true; // a failed write may have changed part of it
        auto applied = backend_.apply(wanted_());
        if (!applied) {
            return tl::unexpected(std::move(applied.error()));
        }
        summary_.*changed_ = applied->changed;
        summary_.warnings.insert(summary_.warnings.end(), applied->warnings.begin(), applied->warnings.end());
        return {};
    }

    void undo(UndoLog& log) override
    {
        if (touched_ && snapshot_) {
            if (auto restored = backend_.restore(*snapshot_); !restored) {
                log.failed(std::string(title_), restored.error());
            }
        }
    }

private:
    std::string_view name_;
    std::string_view title_;
    Backend& backend_;
    std::function<Result<Snapshot>()> takeSnapshot_;
    std::function<Settings()> wanted_;
    bool ApplySummary::*changed_;
    ApplySummary& summary_;
    std::optional<Snapshot> snapshot_;
    bool touched_ = false;
};
using DnsStep = ManagedSettingsStep<dns::DnsBackend, dns::DnsSettings, dns::DnsSnapshot>;
using NtpStep = ManagedSettingsStep<ntp::NtpBackend, network::NtpPlan, ntp::NtpSnapshot>;

// The DNS step; its snapshot covers the links of `snapshotOf`.
std::unique_ptr<NetworkStep> dnsStep(dns::DnsBackend& dns, dns::DnsSettings snapshotOf,
    std::function<dns::DnsSettings()> wanted, ApplySummary& summary)
{
    return std::make_unique<DnsStep>(
        kStepDns, "DNS", dns, [&dns, snapshotOf = std::move(snapshotOf)] { return dns.snapshot(snapshotOf); },
        std::move(wanted), &ApplySummary::dnsChanged, summary);
}

std::unique_ptr<NetworkStep> ntpStep(
    ntp::NtpBackend& ntp, std::function<network::NtpPlan()> wanted, ApplySummary& summary)
{
    return std::make_unique<NtpStep>(
        kStepNtp, "NTP", ntp, [&ntp] { return ntp.snapshot(); }, std::move(wanted), &ApplySummary::ntpChanged,
        summary);
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

Result<NetworkService::Planned> NetworkService::planPorts(
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
    Planned planned { std::move(*plan), std::move(*ports), {} };
    planned.applied.ntp = planned.plan.ntp;
    for (const netlink::PortOutcome& port : planned.ports) {
        PortState state;
        state.mode = port.mode;
        state.interface = port.interface;
        state.routeMetric = planned.plan[port.port].routeMetric;
        const manifest::EthernetPayload* payload = payloadOf(networking, port.port);
        if (port.mode == InterfaceMode::Static && payload != nullptr && payload->staticIp) {
            state.staticDns = payload->staticIp->dns;
        }
        planned.applied.ports[indexOf(port.port)] = std::move(state);
    }
    return planned;
}

Result<void> NetworkService::assumeInForce(const std::optional<manifest::NetworkingConfiguration>& networking)
{
    auto planned = planPorts(networking);
    if (!planned) {
        return tl::unexpected(std::move(planned.error()));
    }
    applied_ = std::move(planned->applied);
    return {};
}

Result<ApplySummary> NetworkService::apply(
    const std::optional<manifest::NetworkingConfiguration>& networking, const ServiceHooks& hooks)
{
    // Plan and interfaces; nothing touched yet.
    auto planned = planPorts(networking);
    if (!planned) {
        return tl::unexpected(std::move(planned.error()));
    }
    Applied wanted = std::move(planned->applied);

    ApplySummary summary;
    NetworkTransaction transaction(hooks.beforeStep);
    for (const auto& state : wanted.ports) {
        if (state && state->mode == InterfaceMode::Static) {
            transaction.add(std::make_unique<DhcpStopStep>(
                dhcp_, network_, state->interface, state->routeMetric, summary));
        }
    }
    transaction.add(
        std::make_unique<AddressesStep>(netlink::AddressesAndRoutes(network_, std::move(planned->plan),
                                            std::move(planned->ports), hooks.netlink),
            summary));
    for (const auto& state : wanted.ports) {
        if (state && state->mode == InterfaceMode::Dhcp) {
            transaction.add(
                std::make_unique<DhcpStartStep>(dhcp_, state->interface, state->routeMetric, summary));
        }
    }
    // The DNS snapshot covers the configured links; what they get is only
    // known once the DHCP clients run (a lease already held).
    dns::DnsSettings linksOnly;
    for (const auto& state : wanted.ports) {
        if (state) {
            linksOnly.links.push_back({ state->interface.ifindex, state->interface.name, {} });
        }
    }
    transaction.add(dnsStep(
        dns_, std::move(linksOnly), [&] { return dnsSettings(wanted); }, summary));
    transaction.add(ntpStep(
        ntp_, [&] { return ntpPlan(wanted); }, summary));
    if (auto done = transaction.run(); !done) {
        return tl::unexpected(std::move(done.error()));
    }
    applied_ = std::move(wanted);
    return summary;
}

Result<ApplySummary> NetworkService::applyDnsAndNtp(const Applied& applied, const ServiceHooks& hooks)
{
    const dns::DnsSettings settings = dnsSettings(applied);
    ApplySummary summary;
    NetworkTransaction transaction(hooks.beforeStep);
    transaction.add(dnsStep(
        dns_, settings, [&] { return settings; }, summary));
    transaction.add(ntpStep(
        ntp_, [&] { return ntpPlan(applied); }, summary));
    if (auto done = transaction.run(); !done) {
        return tl::unexpected(std::move(done.error()));
    }
    return summary;
}

Result<ApplySummary> NetworkService::refreshFromLeases(const ServiceHooks& hooks)
{
    if (!applied_) {
        return ApplySummary {};
    }
    return applyDnsAndNtp(*applied_, hooks);
}

Result<RemovalSummary> NetworkService::removeOurChanges()
{
    RemovalSummary summary;
    dns::DnsSettings links;
    for (EthernetPort port : network::kEthernetPorts) {
        const auto& matcher = mapping_[port].matcher;
        if (!matcher) {
            continue;
        }
        auto interface = network_.resolve(*matcher);
        if (!interface) {
            summary.notPresent.push_back(portName(port) + " (" + network::describe(*matcher) + ")");
            continue;
        }
        links.links.push_back({ interface->ifindex, interface->name, {} });
        if (dhcp_.adoptLeftClient(interface->name)) {
            const dhcp::StopOutcome stopped = dhcp_.stop(interface->name);
            summary.dhcpStopped.push_back(interface->name);
            // A client that had to be killed leaves its lease's address (not
            // ours by protocol): it goes as in the dhcp-stop step.
            if (stopped.lastLease) {
                auto observed = network_.observeInterface(interface->ifindex);
                if (!observed) {
                    return tl::unexpected(std::move(observed.error()));
                }
                for (const network::ObservedAddress& address : observed->addresses) {
                    if (address.address == stopped.lastLease->address
                        && address.prefixLength == stopped.lastLease->prefixLength && !address.ours) {
                        if (auto removed = network_.execute(interface->ifindex,
                                network::Operation::removeAddress(address.address, address.prefixLength));
                            !removed) {
                            return tl::unexpected(std::move(removed.error()));
                        }
                    }
                }
            }
        }
        // Routes before addresses: a route via a gateway of the removed
        // subnet would otherwise go with the address and be looked for again.
        auto routes = network_.observeDefaultRoutes();
        if (!routes) {
            return tl::unexpected(std::move(routes.error()));
        }
        for (const network::ObservedRoute& route : *routes) {
            if (route.ifindex != interface->ifindex || !route.ours()) {
                continue;
            }
            if (auto removed = network_.execute(
                    interface->ifindex, network::Operation::deleteDefaultRoute(route.gateway, route.metric));
                !removed) {
                return tl::unexpected(std::move(removed.error()));
            }
            summary.removed.push_back("default route via " + manifest::formatIpv4(route.gateway) + " metric "
                + std::to_string(route.metric) + " on " + interface->name);
        }
        auto observed = network_.observeInterface(interface->ifindex);
        if (!observed) {
            return tl::unexpected(std::move(observed.error()));
        }
        // Secondaries first: removing a primary may take them with it.
        std::vector<network::ObservedAddress> ours;
        for (const network::ObservedAddress& address : observed->addresses) {
            if (address.ours) {
                ours.push_back(address);
            }
        }
        std::stable_partition(
            ours.begin(), ours.end(), [](const auto& address) { return address.secondary; });
        for (const network::ObservedAddress& address : ours) {
            if (auto removed = network_.execute(interface->ifindex,
                    network::Operation::removeAddress(address.address, address.prefixLength));
                !removed) {
                return tl::unexpected(std::move(removed.error()));
            }
            summary.removed.push_back("address " + manifest::formatIpv4(address.address) + "/"
                + std::to_string(address.prefixLength) + " on " + interface->name);
        }
    }
    auto dns = dns_.removeOverride(links);
    if (!dns) {
        return tl::unexpected(std::move(dns.error()));
    }
    summary.dnsChanged = *dns;
    auto ntp = ntp_.apply(network::NtpPlan { network::NtpAction::RemoveOverride, {} });
    if (!ntp) {
        return tl::unexpected(std::move(ntp.error()));
    }
    summary.ntpChanged = ntp->changed;
    applied_.reset();
    return summary;
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
