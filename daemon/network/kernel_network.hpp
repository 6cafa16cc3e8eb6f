#pragma once
// The agent's NetworkConfigurator on the real system: the plan of
// daemon/core/network applied through the netlink driver (addresses, routes,
// links). DNS, NTP and the DHCP client join through the network service.
#include <memory>

#include "daemon/agent/network_configurator.hpp"
#include "daemon/core/network/interface_mapping.hpp"
#include "drivers/netlink/netlink_backend.hpp"

namespace omni::network_glue {

class KernelNetworkConfigurator final : public agent::NetworkConfigurator {
public:
    static Result<std::unique_ptr<KernelNetworkConfigurator>> open(network::InterfaceMapping mapping);

    Result<agent::NetworkApplySummary> apply(
        const std::optional<manifest::NetworkingConfiguration>& networking) override;
    std::vector<agent::PortFacts> describe(bool probeGateways) override;

    void setMapping(network::InterfaceMapping mapping) { mapping_ = std::move(mapping); }

private:
    KernelNetworkConfigurator(
        std::unique_ptr<netlink::NetlinkBackend> backend, network::InterfaceMapping mapping);

    std::unique_ptr<netlink::NetlinkBackend> backend_;
    network::InterfaceMapping mapping_;
    std::array<std::string, 2> modes_; // what the last apply set per port
    std::vector<std::string> dns_;
    std::vector<std::string> ntp_;
};

} // namespace omni::network_glue
