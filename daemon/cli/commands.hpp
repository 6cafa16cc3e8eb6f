#pragma once
// Each subcommand registers its flags and sets the exit code when it runs.
#include <CLI/CLI.hpp>

namespace omni::cli {

void registerCaCommand(CLI::App& app, int& exitCode);
void registerCreateDeviceCommand(CLI::App& app, int& exitCode);
void registerInspectCommand(CLI::App& app, int& exitCode);
void registerDeviceCommands(CLI::App& app, int& exitCode);
void registerServeCommand(CLI::App& app, int& exitCode);

} // namespace omni::cli
