#include "daemon/cli/device/device_options.hpp"

#include <filesystem>

namespace omni::cli {

void addConfigOption(CLI::App& command, DeviceOptions& options)
{
    command.add_option("--config", options.configFile,
        "Device configuration (default: /etc/omni-provision/config.yaml if present)");
}

void addInterfaceOption(CLI::App& command, DeviceOptions& options)
{
    command.add_option(
        "--interface", options.interfaces, "Map a port to an interface: EthernetN=IFNAME; repeatable");
}

void addStateDirectoryOption(CLI::App& command, DeviceOptions& options)
{
    command.add_option("--state-dir", options.stateDirectory,
        "State directory (default: the configuration's, /var/lib/omni-provision)");
}

void addTrustAnchorOption(CLI::App& command, DeviceOptions& options)
{
    command.add_option("--trust-anchor", options.trustAnchors,
        "Trust anchor certificate (PEM); repeatable; replaces the configuration's");
}

CliResult<config::Config> loadDeviceConfig(const DeviceOptions& options)
{
    config::Config configuration;
    const bool explicitFile = !options.configFile.empty();
    const std::filesystem::path file
        = explicitFile ? std::filesystem::path(options.configFile) : config::defaultMainFile();
    auto loaded = config::loadConfig(file, /*mainFileOptional=*/!explicitFile);
    if (!loaded)
        return tl::unexpected(UsageError { loaded.error().toString() });
    configuration = std::move(*loaded);

    for (const auto& mapping : options.interfaces) {
        const auto equals = mapping.find('=');
        const auto port = network::ethernetPortFromString(mapping.substr(0, equals));
        const std::string interfaceName = equals == std::string::npos ? "" : mapping.substr(equals + 1);
        if (!port || interfaceName.empty() || interfaceName.size() > 15
            || interfaceName.find_first_of("/ \t") != std::string::npos)
            return tl::unexpected(UsageError { "--interface '" + mapping
                + "' must be Ethernet0=IFNAME or Ethernet1=IFNAME, e.g. Ethernet0=eth0" });
        configuration.interfaces[*port].matcher
            = network::InterfaceMatcher { network::MatchKind::Name, interfaceName };
    }
    if (!options.stateDirectory.empty())
        configuration.stateDirectory = options.stateDirectory;
    if (!options.trustAnchors.empty()) {
        configuration.trust.anchors.clear();
        for (const auto& anchor : options.trustAnchors)
            configuration.trust.anchors.push_back(anchor);
    }
    return configuration;
}

} // namespace omni::cli
