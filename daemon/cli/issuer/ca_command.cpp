// omni-provision ca init DIR: the administrator's own root and issuing CA.
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include "daemon/cli/cli_support.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/issuer/ca/issuing.hpp"
#include "drivers/fs/files.hpp"

namespace omni::cli {
namespace {

struct CaFile {
    const char* name;
    mode_t mode;
};
constexpr CaFile kCaFiles[]
    = { { "root.pem", 0644 }, { "root.key", 0600 }, { "issuing.pem", 0644 }, { "issuing.key", 0600 } };

struct CaInitOptions {
    std::string directory;
    std::string organization = "omni-provision";
};

int runCaInit(const std::filesystem::path& directory, const std::string& organization)
{
    for (const auto& file : kCaFiles)
        if (std::filesystem::exists(std::filesystem::symlink_status(directory / file.name)))
            return reportUsage("ca init",
                { (directory / file.name).string()
                    + " already exists; this directory already holds a CA. Nothing was "
                      "changed. Choose an empty directory." });
    if (auto made = state::ensureDirectory(directory, 0700); !made)
        return reportUsage("ca init", { made.error().message });

    auto material = issuer::makeCertificateAuthority(std::time(nullptr), organization);
    if (!material) {
        std::cerr << "omni-provision ca init: " << material.error().message << "\n";
        return kExitRejected;
    }
    const std::string* contents[] = { &material->rootCertificatePem, &material->rootKeyPem,
        &material->issuingCertificatePem, &material->issuingKeyPem };
    for (std::size_t i = 0; i < std::size(kCaFiles); ++i) {
        if (auto written
            = state::writeFileAtomically(directory / kCaFiles[i].name, *contents[i], kCaFiles[i].mode);
            !written) {
            for (std::size_t j = 0; j < i; ++j)
                std::filesystem::remove(directory / kCaFiles[j].name);
            std::cerr << "omni-provision ca init: " << written.error().message << " (nothing was kept)\n";
            return kExitRejected;
        }
    }
    const std::string dir = directory.string();
    std::cout << "Created a provisioning CA in " << dir << ":\n"
              << "  " << dir << "/root.pem      trust anchor: install on each device\n"
              << "  " << dir << "/root.key      root key (0600): keep offline\n"
              << "  " << dir << "/issuing.pem   issuing CA certificate\n"
              << "  " << dir << "/issuing.key   issuing key (0600)\n"
              << "Next:\n"
              << "  omni-provision create-device --request req.json --ca-cert " << dir
              << "/issuing.pem --ca-key " << dir << "/issuing.key --chain " << dir
              << "/issuing.pem --out .\n";
    return kExitOk;
}

} // namespace

void registerCaCommand(CLI::App& app, int& exitCode)
{
    auto* ca = app.add_subcommand("ca", "Manage the administrator's provisioning CA");
    ca->require_subcommand(1);
    auto* init
        = ca->add_subcommand("init", "Create a root CA and an issuing CA (EC P-256, keys 0600) in DIR");
    auto options = std::make_shared<CaInitOptions>();
    init->add_option("DIR", options->directory, "Directory for root.pem, root.key, issuing.pem, issuing.key")
        ->required();
    init->add_option("--organization", options->organization, "Organization name in the CA certificates")
        ->capture_default_str();
    addExample(*init, "omni-provision ca init /etc/omni-provision/ca");
    init->callback([options, &exitCode] { exitCode = runCaInit(options->directory, options->organization); });
}

} // namespace omni::cli
