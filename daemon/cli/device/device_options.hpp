#pragma once
// Flags shared by the device-side subcommands (apply, status, network show):
// the configuration file and the overrides that flags give on top of it.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "daemon/cli/cli_support.hpp"

namespace omni::cli {

struct DeviceOptions {
    std::string configFile; // empty: /etc/omni-provision/config.yaml when it exists
    std::vector<std::string> interfaces; // "Ethernet0=eth0"
    std::string stateDirectory;
    std::vector<std::string> trustAnchors;
};

void addConfigOption(CLI::App& command, DeviceOptions& options);
void addInterfaceOption(CLI::App& command, DeviceOptions& options);
void addStateDirectoryOption(CLI::App& command, DeviceOptions& options);
void addTrustAnchorOption(CLI::App& command, DeviceOptions& options);

// The configuration file (strict, FILE:LINE:COLUMN errors) with the flags applied on top.
CliResult<config::Config> loadDeviceConfig(const DeviceOptions& options);

} // namespace omni::cli
