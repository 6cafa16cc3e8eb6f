#include "daemon/device/main/in_force.hpp"

#include "daemon/device/log/journal.hpp"

namespace omni::daemon {

std::unique_ptr<InForce> buildInForce(config::Config configuration, std::unique_ptr<agent::TrustStore> trust,
    agent::NetworkConfigurator& network, time::UnixTime buildEpoch, agent::ProvisioningAgent::Clock clock)
{
    auto next = std::make_unique<InForce>();
    next->led = std::make_unique<led::StatusLed>(configuration.led.sysfsRoot, configuration.led.name);
    if (auto probed = next->led->probe(); !probed)
        log::plain(log::Priority::Warning, probed.error().message);
    next->state = std::make_unique<state::DeviceState>(configuration.stateDirectory);
    next->trust = std::move(trust);
    const agent::TrustStore* anchors = next->trust.get();
    next->agent = std::make_unique<agent::ProvisioningAgent>(
        agent::AgentSettings::fromConfig(configuration, buildEpoch), *next->state, network,
        [anchors] { return anchors->view(); }, std::move(clock));
    next->configuration = std::move(configuration);
    return next;
}

Result<void> replaceInForce(std::unique_ptr<InForce>& current, std::unique_ptr<InForce> next,
    const std::function<Result<void>(const InForce& next)>& remaining)
{
    if (remaining)
        if (auto done = remaining(*next); !done)
            return done;
    current = std::move(next);
    return {};
}

} // namespace omni::daemon
