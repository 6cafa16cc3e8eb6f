#pragma once
// The whole of DESIGN.md section 4 as one transaction: a
// NetworkingConfiguration in, addresses and routes (drivers/netlink), DHCP
// clients (drivers/dhcp), DNS (drivers/dns) and NTP (drivers/ntp) out.
//
// apply() is one NetworkTransaction (network_transaction.hpp) of these
// steps, in this order:
//  0. before the transaction: plan (daemon/core/network) and resolve every
//     configured port to its interface: INTERFACE_MISSING here, before
//     anything is touched; then every step's snapshot (DNS: the file, or
//     each configured link's servers; NTP: our file);
//  1. dhcp-stop, per port that becomes STATIC and has our client: stop it
//     (its lease's address and routes go with it; an address left behind is
//     removed through netlink), so our static default route never meets
//     the client's route with the same metric. Undo: start it again;
//  2. addresses: addresses, links and default routes (netlink::
//     AddressesAndRoutes). Undo: restore its netlink snapshot;
//  3. dhcp-start, per DHCP port without a client: start one (never waiting
//     for a lease). Undo: stop it;
//  4. dns: per port the static Dns, or the servers of the port's DHCP lease
//     when one is known; the union (Ethernet0's first, each once) for
//     resolv.conf, per link for resolved. Undo: restore the DNS snapshot;
//  5. ntp: the manifest's Ntp when present; without one, the NTP servers of
//     the DHCP leases ("DNS and NTP from the lease apply unless the manifest
//     sets NTP"), or nothing when no lease has any. Undo: restore the NTP
//     snapshot.
// A failure undoes the failed step's part and every step before it, in
// reverse, each once, and returns NETWORK_APPLY_FAILED whose message starts
// with the step ("DNS step failed: ...") and whose `where` is the step name.
// The configuration in force changes nothing: no netlink request, no DNS
// rewrite or bus call, no NTP restart, no DHCP client restarted.
//
// Leases arrive later: refreshFromLeases() runs the dns and ntp steps alone
// for the leases in force (the daemon calls it when a lease file changes and
// after DhcpSupervisor::reap()).
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/core/manifest/manifest.hpp"
#include "daemon/core/network/network_plan.hpp"
#include "daemon/core/result.hpp"
#include "daemon/device/agent/network_configurator.hpp"
#include "daemon/device/network/network_applier.hpp"
#include "daemon/device/network/network_transaction.hpp"
#include "drivers/dhcp/dhcp_supervisor.hpp"
#include "drivers/dns/dns_backend.hpp"
#include "drivers/ntp/ntp_backend.hpp"

namespace omni::network_service {

// Names of the steps, as NETWORK_APPLY_FAILED's `where` gives them.
inline constexpr std::string_view kStepDhcpStop = "dhcp-stop";
inline constexpr std::string_view kStepAddresses = "addresses";
inline constexpr std::string_view kStepDhcpStart = "dhcp-start";
inline constexpr std::string_view kStepDns = "dns";
inline constexpr std::string_view kStepNtp = "ntp";

struct ApplySummary {
    std::uint64_t changeRequests = 0; // netlink change requests (restore's not counted)
    bool dnsChanged = false;
    bool ntpChanged = false;
    std::vector<std::string> dhcpStarted; // interface names
    std::vector<std::string> dhcpStopped;
    std::vector<std::string> warnings; // DNS servers dropped, an NTP port not expressible

    bool changed() const
    {
        return changeRequests != 0 || dnsChanged || ntpChanged || !dhcpStarted.empty()
            || !dhcpStopped.empty();
    }
};

struct ServiceHooks {
    netlink::ApplyHooks netlink;
    // Called before each step (the names above) that changes something: the
    // seam through which tests make a step fail.
    NetworkTransaction::BeforeStep beforeStep;
};

// What removeOurChanges() did, for the reset's summary and the journal.
struct RemovalSummary {
    std::vector<std::string> dhcpStopped; // interface names
    std::vector<std::string> removed; // "address 192.0.2.10/24 on eth0", "default route via ... on eth0"
    bool dnsChanged = false;
    bool ntpChanged = false;
    std::vector<std::string> notPresent; // "Ethernet1 (interface name \"eth1\")": nothing to remove there
};

// Carrier of an interface; the default reads /sys/class/net/<name>/carrier.
using CarrierReader = std::function<std::optional<bool>(const netlink::InterfaceIdentity& interface)>;
std::optional<bool> carrierFromSysfs(const netlink::InterfaceIdentity& interface);

class NetworkService {
public:
    NetworkService(netlink::NetworkBackend& network, dns::DnsBackend& dns, ntp::NtpBackend& ntp,
        dhcp::DhcpSupervisor& dhcp, network::InterfaceMapping mapping,
        CarrierReader carrier = carrierFromSysfs);

    Result<ApplySummary> apply(
        const std::optional<manifest::NetworkingConfiguration>& networking, const ServiceHooks& hooks = {});

    // DNS and NTP from the leases now in force, for the configuration last
    // applied (nothing before the first apply). Transactional like apply()
    // for those two steps.
    Result<ApplySummary> refreshFromLeases(const ServiceHooks& hooks = {});

    // Facts about each EthernetN now, for the receipt and `omni-provision
    // network show` (the gateway is not probed here).
    std::vector<agent::PortFacts> describe();

    // Records `networking` as the configuration in force without changing
    // anything (a program that only reports, like `network show`, learns the
    // modes from the stored state). Errors: those of apply()'s first step.
    Result<void> assumeInForce(const std::optional<manifest::NetworkingConfiguration>& networking);

    // The network half of a reset (DESIGN.md section 10): on every mapped
    // interface our DHCP client (or one an earlier process left) is stopped,
    // our default routes and our addresses (recognised by their protocol
    // 157, see network_diff.hpp) are removed; the DNS backend drops what we
    // gave those links (DnsBackend::removeOverride) and our NTP override is
    // removed. Nothing else is touched. Not a transaction: every part is
    // idempotent, so an interrupted removal is finished by running it again.
    // A mapped interface that is not present is skipped (nothing of ours
    // can be on it). Afterwards no configuration is in force.
    Result<RemovalSummary> removeOurChanges();

    const network::InterfaceMapping& mapping() const { return mapping_; }

private:
    struct PortState {
        network::InterfaceMode mode = network::InterfaceMode::LeaveAsIs;
        netlink::InterfaceIdentity interface;
        std::uint32_t routeMetric = 0;
        std::vector<std::string> staticDns;
    };
    struct Applied {
        std::array<std::optional<PortState>, 2> ports; // configured ports, by EthernetPort
        network::NtpPlan ntp; // the manifest's
    };

    struct Planned {
        network::NetworkPlan plan;
        std::vector<netlink::PortOutcome> ports; // resolved, for the addresses step
        Applied applied;
    };

    Result<Planned> planPorts(const std::optional<manifest::NetworkingConfiguration>& networking);
    dns::DnsSettings dnsSettings(const Applied& applied) const;
    network::NtpPlan ntpPlan(const Applied& applied) const;
    Result<ApplySummary> applyDnsAndNtp(const Applied& applied, const ServiceHooks& hooks);

    netlink::NetworkBackend& network_;
    dns::DnsBackend& dns_;
    ntp::NtpBackend& ntp_;
    dhcp::DhcpSupervisor& dhcp_;
    network::InterfaceMapping mapping_;
    CarrierReader carrier_;
    std::optional<Applied> applied_;
};

} // namespace omni::network_service
