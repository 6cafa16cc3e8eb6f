// omni-provisiond: parses the command line (DESIGN.md section 6) and wires
// the daemon; everything else lives in daemon.cpp and below.
#include <iostream>

#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "daemon/core/build_info.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/certificate_checks.hpp"
#include "daemon/device/log/journal.hpp"
#include "daemon/device/main/daemon.hpp"

int main(int argc, char** argv)
{
    CLI::App app { "omni-provisiond: provisions this appliance from a USB stick" };
    std::string configFile;
    bool verifyConfig = false;
    bool dumpConfig = false;
    app.add_option("--config", configFile,
        "Configuration file (default: $CONFIGURATION_DIRECTORY/config.yaml or "
        "/etc/omni-provision/config.yaml, then config.d/*.yaml beside it)");
    app.add_flag("--verify-config", verifyConfig,
        "Run the checks of a start on the configuration, report FILE:LINE:COLUMN errors and warnings, exit");
    app.add_flag("--dump-config", dumpConfig, "Print the effective configuration and exit");
    app.set_version_flag("--version",
        std::string("omni-provisiond ") + OMNI_VERSION + "\nbuild time "
            + omni::time::formatRfc3339(OMNI_BUILD_EPOCH) + " (device clocks before it are CLOCK_UNTRUSTED)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : 2;
    }

    omni::daemon::DaemonOptions options;
    options.configFileExplicit = !configFile.empty();
    options.configFile
        = options.configFileExplicit ? std::filesystem::path(configFile) : omni::config::defaultMainFile();

    if (dumpConfig) {
        auto configuration = omni::config::loadConfig(options.configFile, !options.configFileExplicit);
        if (!configuration) {
            std::cerr << configuration.error().toString() << "\n";
            return 1;
        }
        omni::config::applySystemdDirectories(*configuration);
        std::cout << omni::config::dumpYaml(*configuration);
        return 0;
    }
    if (verifyConfig) {
        // Exactly the checks of a start: OK here means the daemon starts with it.
        auto checked = omni::daemon::checkConfiguration(options);
        if (!checked) {
            std::cerr << checked.error().message << "\n";
            return 1;
        }
        for (const auto& note : checked->notes)
            std::cerr << "warning: " << note.message << "\n";
        std::cerr << options.configFile.string() << ": OK\n";
        return 0;
    }

    try {
        auto daemon = omni::daemon::Daemon::create(options);
        if (!daemon) {
            omni::log::event(omni::log::Priority::Error, omni::log::Event::ConfigurationRejected,
                "not starting: " + daemon.error().message);
            return 1;
        }
        return (*daemon)->run();
    } catch (const std::exception& error) {
        omni::log::plain(omni::log::Priority::Error, std::string("internal error: ") + error.what());
        return 1;
    }
}
