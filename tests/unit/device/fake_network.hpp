#pragma once
// The agent's network side as the device tests need it: apply() counts calls
// or fails with a given error; describe() reports one configured port.
#include <optional>
#include <vector>

#include "daemon/device/agent/network_configurator.hpp"

namespace omni::testing {

class FakeNetwork final : public agent::NetworkConfigurator {
public:
    std::optional<Error> failWith;
    int applied = 0;
    Result<agent::NetworkApplySummary> apply(const std::optional<manifest::NetworkingConfiguration>&) override
    {
        if (failWith)
            return tl::unexpected(*failWith);
        ++applied;
        return agent::NetworkApplySummary { 3, {} };
    }
    std::vector<agent::PortFacts> describe(bool) override
    {
        agent::PortFacts facts;
        facts.port = "Ethernet0";
        facts.mapping = "interface name \"eth0\"";
        facts.interfaceName = "eth0";
        facts.addresses = { "192.168.1.10/24" };
        facts.gateway = "192.168.1.1";
        facts.gatewayAnswered = true;
        return { facts };
    }
};

} // namespace omni::testing
