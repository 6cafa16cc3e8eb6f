#pragma once
// omni-provision serve: ProvisionDevice over HTTP (DESIGN.md section 6).
#include <CLI/CLI.hpp>

namespace omni::cli {

void registerServeCommand(CLI::App& app, int& exitCode);

} // namespace omni::cli
