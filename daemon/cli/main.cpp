// omni-provision: the device-side and administrator-side command line.
// main only wires the subcommands; each lives in its own file.
#include <iostream>

#include <CLI/CLI.hpp>

#include "daemon/cli/cli_support.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/core/build_info.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/certificate_checks.hpp"

int main(int argc, char** argv)
{
    CLI::App app {
        "omni-provision: provision appliances from a USB stick, and issue the archives they accept"
    };
    app.require_subcommand(1);
    app.set_version_flag("--version",
        std::string("omni-provision ") + OMNI_VERSION + " (built "
            + omni::time::formatRfc3339(OMNI_BUILD_EPOCH) + ")");
    int exitCode = omni::cli::kExitOk;
    omni::cli::registerCaCommand(app, exitCode);
    omni::cli::registerCreateDeviceCommand(app, exitCode);
    omni::cli::registerInspectCommand(app, exitCode);
    omni::cli::registerDeviceCommands(app, exitCode);
    omni::cli::registerServeCommand(app, exitCode);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int code = app.exit(error);
        return code == 0 ? omni::cli::kExitOk : omni::cli::kExitUsage;
    } catch (const std::exception& error) {
        std::cerr << "omni-provision: internal error: " << error.what() << "\n";
        return omni::cli::kExitRejected;
    }
    return exitCode;
}
