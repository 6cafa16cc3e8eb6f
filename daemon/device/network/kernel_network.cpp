#include "daemon/device/network/kernel_network.hpp"

#include <net/if.h>

#include "daemon/core/manifest/ipv4.hpp"
#include "daemon/core/network/network_plan.hpp"
#include "drivers/netlink/gateway_probe.hpp"

namespace omni::network_glue {

namespace {

// The DNS and NTP drivers take their own options: the product's
// configuration (dns.*, ntp.*) is mapped onto them here and nowhere else.
struct DriverOptions {
    dns::Options dns;
    ntp::Options ntp;
};

DriverOptions driverOptions(const config::Config& configuration)
{
    DriverOptions options;
    switch (configuration.dns.backend) {
    case config::DnsBackend::Auto:
        options.dns.backend = dns::BackendChoice::Auto;
        break;
    case config::DnsBackend::Resolved:
        options.dns.backend = dns::BackendChoice::Resolved;
        break;
    case config::DnsBackend::ResolvConf:
        options.dns.backend = dns::BackendChoice::ResolvConf;
        break;
    case config::DnsBackend::None:
        options.dns.backend = dns::BackendChoice::None;
        break;
    }
    options.dns.resolvConfPath = configuration.dns.resolvConfPath;
    switch (configuration.ntp.backend) {
    case config::NtpBackend::Auto:
        options.ntp.backend = ntp::BackendChoice::Auto;
        break;
    case config::NtpBackend::Timesyncd:
        options.ntp.backend = ntp::BackendChoice::Timesyncd;
        break;
    case config::NtpBackend::Chrony:
        options.ntp.backend = ntp::BackendChoice::Chrony;
        break;
    case config::NtpBackend::None:
        options.ntp.backend = ntp::BackendChoice::None;
        break;
    }
    options.ntp.timesyncdDropInDirectory = configuration.ntp.timesyncdDropInDirectory;
    options.ntp.chronySourcesPath = configuration.ntp.chronySourcesPath;
    return options;
}

} // namespace

Result<NetworkBackends> KernelNetworkConfigurator::makeBackends(const config::Config& configuration)
{
    const DriverOptions options = driverOptions(configuration);
    auto dns = dns::makeDnsBackend(options.dns);
    if (!dns)
        return tl::unexpected(dns.error());
    auto ntp = ntp::makeNtpBackend(options.ntp);
    if (!ntp)
        return tl::unexpected(ntp.error());
    return NetworkBackends { std::move(*dns), std::move(*ntp) };
}

Result<std::unique_ptr<KernelNetworkConfigurator>> KernelNetworkConfigurator::open(
    const config::Config& configuration, KernelNetworkOptions options)
{
    auto backends = makeBackends(configuration);
    if (!backends)
        return tl::unexpected(backends.error());
    return open(configuration, std::move(*backends), options);
}

Result<std::unique_ptr<KernelNetworkConfigurator>> KernelNetworkConfigurator::open(
    const config::Config& configuration, NetworkBackends backends, KernelNetworkOptions options)
{
    auto netlink = netlink::NetlinkBackend::open();
    if (!netlink)
        return tl::unexpected(netlink.error());
    std::unique_ptr<KernelNetworkConfigurator> configurator(new KernelNetworkConfigurator());
    configurator->netlink_ = std::move(*netlink);
    dhcp::SupervisorOptions dhcpOptions;
    dhcpOptions.dhcpcdPath = configuration.dhcp.dhcpcdPath;
    dhcpOptions.hookPath = configuration.dhcp.hookPath;
    dhcpOptions.runtimeDirectory = configuration.runtimeDirectory;
    dhcpOptions.keepClientsOnExit = options.keepDhcpClientsOnExit;
    configurator->dhcp_ = std::make_unique<dhcp::DhcpSupervisor>(std::move(dhcpOptions));
    configurator->install(configuration, std::move(backends));
    return configurator;
}

KernelNetworkConfigurator::~KernelNetworkConfigurator()
{
    // The service refers to the backends and the supervisor: it goes first.
    service_.reset();
}

void KernelNetworkConfigurator::install(const config::Config& configuration, NetworkBackends backends)
{
    service_.reset();
    dns_ = std::move(backends.dns);
    ntp_ = std::move(backends.ntp);
    service_ = std::make_unique<network_service::NetworkService>(
        *netlink_, *dns_, *ntp_, *dhcp_, configuration.interfaces);
}

void KernelNetworkConfigurator::reconfigure(const config::Config& configuration, NetworkBackends backends)
{
    install(configuration, std::move(backends));
}

Result<agent::NetworkApplySummary> KernelNetworkConfigurator::apply(
    const std::optional<manifest::NetworkingConfiguration>& networking)
{
    auto applied = service_->apply(networking);
    if (!applied)
        return tl::unexpected(applied.error());
    agent::NetworkApplySummary summary;
    summary.changeRequests = applied->changeRequests + (applied->dnsChanged ? 1 : 0)
        + (applied->ntpChanged ? 1 : 0) + applied->dhcpStarted.size() + applied->dhcpStopped.size();
    summary.warnings = applied->warnings;
    return summary;
}

namespace {

// The probe of a port's gateway from its address in the gateway's subnet;
// nullopt when the port has no gateway, no such address or no MAC.
std::optional<netlink::GatewayProbe> probeFor(const agent::PortFacts& port)
{
    if (!port.interfaceName || !port.gateway)
        return std::nullopt;
    const auto gateway = manifest::parseIpv4(*port.gateway);
    const auto mac = netlink::parseMacAddress(port.macAddress);
    const unsigned ifindex = ::if_nametoindex(port.interfaceName->c_str());
    if (!gateway || !mac || ifindex == 0)
        return std::nullopt;
    for (const std::string& address : port.addresses) {
        const auto slash = address.find('/');
        const auto local = manifest::parseIpv4(address.substr(0, slash));
        if (!local || slash == std::string::npos)
            continue;
        const std::uint32_t mask = network::ipv4SubnetMask(std::atoi(address.c_str() + slash + 1));
        if ((*local & mask) == (*gateway & mask))
            return netlink::GatewayProbe { static_cast<int>(ifindex), *mac, *local, *gateway };
    }
    return std::nullopt;
}

} // namespace

std::vector<agent::PortFacts> KernelNetworkConfigurator::describe(bool probeGateways)
{
    std::vector<agent::PortFacts> ports = service_->describe();
    if (!probeGateways)
        return ports;
    std::vector<netlink::GatewayProbe> probes;
    std::vector<agent::PortFacts*> probed;
    for (auto& port : ports)
        if (auto probe = probeFor(port)) {
            probes.push_back(*probe);
            probed.push_back(&port);
        }
    const auto answers = netlink::probeGateways(probes);
    for (std::size_t index = 0; index < answers.size(); ++index)
        probed[index]->gatewayAnswered = answers[index];
    return ports;
}

std::vector<std::string> KernelNetworkConfigurator::onChildExit()
{
    std::vector<std::string> lines;
    for (const auto& exit : dhcp_->reap())
        lines.push_back("the DHCP client of " + exit.interfaceName + " (pid " + std::to_string(exit.pid)
            + ") " + exit.status + "; restarting it "
            + (exit.restartIn.count() == 0 ? std::string("now")
                                           : "in " + std::to_string(exit.restartIn.count()) + " ms"));
    return lines;
}

std::optional<std::chrono::steady_clock::time_point> KernelNetworkConfigurator::nextDhcpRestartAt() const
{
    return dhcp_->nextRestartAt();
}

void KernelNetworkConfigurator::restartDueDhcpClients()
{
    dhcp_->restartDue();
}

Result<network_service::ApplySummary> KernelNetworkConfigurator::refreshFromLeases()
{
    return service_->refreshFromLeases();
}

} // namespace omni::network_glue
