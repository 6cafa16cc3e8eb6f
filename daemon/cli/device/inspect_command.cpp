// omni-provision inspect: exactly the device's checks (DESIGN.md section 3) on
// one file, with no state, no configuration and no network changes.
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include "daemon/cli/cli_support.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/cli/device/verdict_output.hpp"
#include "daemon/core/build_info.hpp"
#include "daemon/core/text/json_text.hpp"
#include "daemon/core/verify/verdict_json.hpp"
#include "daemon/device/agent/named_file.hpp"

namespace omni::cli {
namespace {

struct InspectOptions {
    std::string archive;
    std::vector<std::string> trustAnchors;
    std::string now;
    std::int64_t toleranceSeconds = 30;
    std::int64_t maxLifetimeSeconds = 300;
    std::string expectedName;
    bool json = false;
};

int runInspect(const InspectOptions& options)
{
    auto anchors = loadTrustAnchors(options.trustAnchors);
    if (!anchors)
        return reportUsage("inspect", anchors.error());
    verify::VerifyPolicy policy;
    policy.anchors = &*anchors;
    policy.now = std::time(nullptr);
    if (!options.now.empty()) {
        auto now = parseNowFlag(options.now);
        if (!now)
            return reportUsage("inspect", now.error());
        policy.now = *now;
    }
    policy.toleranceSeconds = options.toleranceSeconds;
    policy.maxLifetimeSeconds = options.maxLifetimeSeconds;
    policy.buildEpoch = OMNI_BUILD_EPOCH;
    if (!options.expectedName.empty())
        policy.expectedName = options.expectedName;

    const auto outcome = agent::verifyNamedFile(options.archive, policy);
    if (options.json)
        std::cout << text::dumpJson(
            verify::verdictJson(outcome, "the archive passes every check of this device"), 2)
                  << "\n";
    else
        std::cout << verdictText(outcome, policy.now);
    return outcome.result ? kExitOk : kExitRejected;
}

} // namespace

void registerInspectCommand(CLI::App& app, int& exitCode)
{
    auto* command = app.add_subcommand(
        "inspect", "Run the device's checks on an archive (no state, no network changes)");
    auto options = std::make_shared<InspectOptions>();
    command->add_option("ARCHIVE", options->archive, "certificates-omni_<Name>.zip")->required();
    command->add_option("--trust-anchor", options->trustAnchors, "Trust anchor certificate (PEM); repeatable")
        ->required();
    command->add_option("--now", options->now, "Judge times as if the clock read this RFC 3339 time");
    command->add_option("--tolerance", options->toleranceSeconds, "Clock tolerance in seconds (0-300)")
        ->check(CLI::Range(0, 300))
        ->capture_default_str();
    command
        ->add_option("--max-lifetime", options->maxLifetimeSeconds,
            "Longest accepted certificate lifetime in seconds (1-86400)")
        ->check(CLI::Range(1, 86400))
        ->capture_default_str();
    command
        ->add_option("--expected-name", options->expectedName, "Only accept the archive for this device Name")
        ->check([](const std::string& value) {
            return isValidDeviceName(value) ? std::string()
                                            : std::string("must be 1-255 letters, digits, '-' or '_'");
        });
    command->add_flag("--json", options->json, "Print the verdict as JSON");
    addExample(
        *command, "omni-provision inspect certificates-omni_cam-01.zip --trust-anchor ca/root.pem --json");
    command->callback([options, &exitCode] { exitCode = runInspect(*options); });
}

} // namespace omni::cli
