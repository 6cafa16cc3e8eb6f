#include "daemon/network/kernel_network.hpp"

#include <fstream>

#include "daemon/core/manifest/ipv4.hpp"
#include "drivers/netlink/network_applier.hpp"

namespace omni::network_glue {
namespace {

std::optional<bool> readCarrier(const std::string& interfaceName)
{
    std::ifstream carrier("/sys/class/net/" + interfaceName + "/carrier");
    char value = 0;
    if (!(carrier >> value))
        return std::nullopt;
    return value == '1';
}

} // namespace

Result<std::unique_ptr<KernelNetworkConfigurator>> KernelNetworkConfigurator::open(
    network::InterfaceMapping mapping)
{
    auto backend = netlink::NetlinkBackend::open();
    if (!backend)
        return tl::unexpected(backend.error());
    return std::unique_ptr<KernelNetworkConfigurator>(
        new KernelNetworkConfigurator(std::move(*backend), std::move(mapping)));
}

KernelNetworkConfigurator::KernelNetworkConfigurator(
    std::unique_ptr<netlink::NetlinkBackend> backend, network::InterfaceMapping mapping)
    : backend_(std::move(backend))
    , mapping_(std::move(mapping))
{
}

Result<agent::NetworkApplySummary> KernelNetworkConfigurator::apply(
    const std::optional<manifest::NetworkingConfiguration>& networking)
{
    auto plan = network::planNetwork(networking, mapping_);
    if (!plan)
        return tl::unexpected(plan.error());
    auto outcome = netlink::applyNetworkPlan(*backend_, *plan, mapping_);
    if (!outcome)
        return tl::unexpected(outcome.error());
    for (auto port : network::kEthernetPorts)
        if ((*plan)[port].mode != network::InterfaceMode::LeaveAsIs)
            modes_[static_cast<std::size_t>(port)] = std::string(network::toString((*plan)[port].mode));
    dns_ = plan->dnsServers;
    if (plan->ntp.action != network::NtpAction::Untouched)
        ntp_ = plan->ntp.servers;
    return agent::NetworkApplySummary { outcome->changeRequests, {} };
}

std::vector<agent::PortFacts> KernelNetworkConfigurator::describe(bool)
{
    std::vector<agent::PortFacts> ports;
    auto routes = backend_->observeDefaultRoutes();
    for (auto port : network::kEthernetPorts) {
        agent::PortFacts facts;
        facts.port = std::string(network::toString(port));
        const auto& mapping = mapping_[port];
        facts.mapping = mapping.matcher ? network::describe(*mapping.matcher) : "not mapped";
        facts.mode = modes_[static_cast<std::size_t>(port)];
        if (mapping.matcher) {
            if (auto identity = backend_->resolve(*mapping.matcher)) {
                facts.interfaceName = identity->name;
                facts.macAddress = identity->macAddress;
                facts.carrier = readCarrier(identity->name);
                if (auto observed = backend_->observeInterface(identity->ifindex))
                    for (const auto& address : observed->addresses)
                        facts.addresses.push_back(manifest::formatIpv4(address.address) + "/"
                            + std::to_string(address.prefixLength));
                if (routes)
                    for (const auto& route : *routes)
                        if (route.ifindex == identity->ifindex && route.gateway != 0) {
                            facts.gateway = manifest::formatIpv4(route.gateway);
                            break;
                        }
                facts.dns = dns_;
                facts.ntp = ntp_;
            }
        }
        ports.push_back(std::move(facts));
    }
    return ports;
}

} // namespace omni::network_glue
