#pragma once
// What a configuration builds and an attempt runs with, built as one set and
// put in force as one. The agent refers to the anchors and the state of its
// own set, so it can never see another configuration's objects; a reload
// builds the next set beside the running one and swaps only when every step
// succeeded (DESIGN.md section 7, transactional reload).
#include <functional>
#include <memory>

#include "config/config.hpp"
#include "daemon/core/result.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/device/agent/network_configurator.hpp"
#include "daemon/device/agent/provisioning_agent.hpp"
#include "daemon/device/agent/trust_store.hpp"
#include "daemon/device/state/device_state.hpp"
#include "drivers/led/status_led.hpp"

namespace omni::daemon {

struct InForce {
    config::Config configuration;
    std::unique_ptr<agent::TrustStore> trust;
    std::unique_ptr<led::StatusLed> led;
    std::unique_ptr<state::DeviceState> state;
    // Declared last, released first: it refers to trust and state above.
    std::unique_ptr<agent::ProvisioningAgent> agent;
};

// The set of a checked configuration (its anchors already loaded). Nothing
// in force is touched; the network configurator is shared by every set.
std::unique_ptr<InForce> buildInForce(config::Config configuration, std::unique_ptr<agent::TrustStore> trust,
    agent::NetworkConfigurator& network, time::UnixTime buildEpoch, agent::ProvisioningAgent::Clock clock);

// Puts `next` in force after `remaining` (the steps that can still fail, with
// `next` built) succeeded. On an error `current` is exactly as before and
// `next` is released.
Result<void> replaceInForce(std::unique_ptr<InForce>& current, std::unique_ptr<InForce> next,
    const std::function<Result<void>(const InForce& next)>& remaining);

} // namespace omni::daemon
