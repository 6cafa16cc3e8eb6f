// omni-provision create-device: the offline ProvisionDevice (DESIGN.md section 6).
// stdout carries exactly the API's JSON (response or error body); a one-line
// summary for people goes to stderr.
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "daemon/cli/cli_support.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/core/text/json_text.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/issuer/ca/issuing.hpp"
#include "daemon/issuer/provision/issuing_material.hpp"
#include "daemon/issuer/provision/provision_device.hpp"
#include "daemon/issuer/registry/registry.hpp"
#include "drivers/fs/files.hpp"

namespace omni::cli {
namespace {

struct CreateDeviceOptions {
    std::string request;
    std::string caCertificate;
    std::string caKey;
    std::string chain;
    std::string outDirectory;
    std::string registry;
    std::string enrollUrl;
    std::string enrollServerCa;
    bool replace = false;
    issuer::ArnScope scope;
};

int printApiError(const nlohmann::json& body)
{
    std::cout << text::dumpJson(body, 2) << "\n";
    std::cerr << "omni-provision create-device: " << body.value("__type", "") << ": "
              << body.value("Message", "") << "\n";
    return kExitRejected;
}

// Usage is judged before the request body (section 6): CA material, output
// directory and registry must all be usable first.
struct PreparedIssuer {
    issuer::IssuingAuthority authority;
    std::optional<manifest::Enrollment> enrollment;
    registry::Registry registry;
};

CliResult<PreparedIssuer> prepareIssuer(const CreateDeviceOptions& options)
{
    auto authority = serve::loadIssuingAuthority({ options.caCertificate, options.caKey, options.chain });
    if (!authority)
        return tl::unexpected(UsageError { authority.error().message });
    if (!options.outDirectory.empty() && !std::filesystem::is_directory(options.outDirectory))
        return tl::unexpected(
            UsageError { "--out " + options.outDirectory + " is not a directory; create it first" });
    // Section 10: the manifest says where to enrol only with both halves.
    if (options.enrollUrl.empty() != options.enrollServerCa.empty())
        return tl::unexpected(UsageError { options.enrollUrl.empty()
                ? "--enroll-server-ca needs --enroll-url URL: the https URL devices enrol at"
                : "--enroll-url needs --enroll-server-ca PEM: the certificate(s) the issuer's TLS server "
                  "certificate chains to" });
    std::optional<manifest::Enrollment> enrollment;
    if (!options.enrollUrl.empty()) {
        auto loaded = serve::loadEnrollment("--enroll-url", options.enrollUrl, options.enrollServerCa);
        if (!loaded)
            return tl::unexpected(UsageError { loaded.error().message });
        enrollment = std::move(*loaded);
    }

    const std::filesystem::path registryPath = !options.registry.empty()
        ? std::filesystem::path(options.registry)
        : std::filesystem::absolute(options.caCertificate).parent_path() / "registry.sqlite";
    auto registry = registry::Registry::open(registryPath);
    if (!registry)
        return tl::unexpected(UsageError { "--registry: " + registry.error().message });
    return PreparedIssuer { std::move(*authority), std::move(enrollment), std::move(*registry) };
}

int runCreateDevice(const CreateDeviceOptions& options)
{
    auto prepared = prepareIssuer(options);
    if (!prepared)
        return reportUsage("create-device", prepared.error());
    auto body = readInputFileOrStdin(options.request, "the request (--request)");
    if (!body)
        return reportUsage("create-device", body.error());

    serve::ProvisionPolicy policy;
    policy.replaceExisting = options.replace;
    policy.nameMustFitFileName = !options.outDirectory.empty();
    policy.conflictAdvice = " in " + prepared->registry.path().string() + "; use --replace to issue it again";
    policy.enrollment = prepared->enrollment;
    // The archive is written before the registry commits: a failed write
    // leaves neither a file nor a record.
    std::filesystem::path written;
    serve::ProvisionHooks hooks;
    if (!options.outDirectory.empty()) {
        hooks.beforeCommit = [&](const issuer::IssuedDevice& device) {
            written
                = std::filesystem::path(options.outDirectory) / ("certificates-omni_" + device.name + ".zip");
            return state::writeFileAtomically(written, device.archive, 0600);
        };
        hooks.commitFailed = [&](const issuer::IssuedDevice&) { std::filesystem::remove(written); };
    }
    auto device = serve::provisionDevice(
        prepared->registry, prepared->authority, options.scope, *body, policy, std::time(nullptr), hooks);
    if (!device)
        return printApiError(device.error().body);

    std::cout << text::dumpJson(issuer::provisionResponse(*device), 2) << "\n";
    std::cerr << "Issued " << device->name << " (" << device->deviceId << "), certificate valid until "
              << time::formatRfc3339(device->certificateNotAfter);
    if (!written.empty())
        std::cerr << "; archive " << written.string();
    std::cerr << ". Copy it to the stick and plug it in within 5 minutes.\n";
    return kExitOk;
}

} // namespace

void registerCreateDeviceCommand(CLI::App& app, int& exitCode)
{
    auto* command = app.add_subcommand(
        "create-device", "Offline ProvisionDevice: issue certificates-omni_<Name>.zip from your own CA");
    auto options = std::make_shared<CreateDeviceOptions>();
    command
        ->add_option(
            "--request", options->request, "ProvisionDevice request body (JSON file, or - for stdin)")
        ->required();
    command->add_option("--ca-cert", options->caCertificate, "Issuing CA certificate (PEM)")->required();
    command->add_option("--ca-key", options->caKey, "Issuing CA private key (PEM)")->required();
    command->add_option("--chain", options->chain, "Intermediate certificates to put in the archive (PEM)");
    command->add_option("--out", options->outDirectory, "Also write DIR/certificates-omni_<Name>.zip");
    command->add_option("--registry", options->registry,
        "SQLite registry of issued devices (default: registry.sqlite beside --ca-cert)");
    command->add_flag("--replace", options->replace, "Issue again for a Name already in the registry");
    command->add_option("--enroll-url", options->enrollUrl,
        "Where the device enrols (https://HOST[:PORT]), put into the manifest; needs --enroll-server-ca");
    command->add_option("--enroll-server-ca", options->enrollServerCa,
        "Certificate(s) the issuer's TLS server certificate chains to (PEM, at most 16 KiB); needs "
        "--enroll-url");
    command->add_option("--partition", options->scope.partition, "ARN partition")->capture_default_str();
    command->add_option("--region", options->scope.region, "ARN region")->capture_default_str();
    command->add_option("--account-id", options->scope.accountId, "ARN account ID (12 digits)")
        ->capture_default_str()
        ->check([](const std::string& value) {
            const bool digits
                = value.size() == 12 && value.find_first_not_of("0123456789") == std::string::npos;
            return digits ? std::string() : std::string("must be 12 digits");
        });
    addExample(*command,
        "echo '{\"Name\":\"cam-01\",\"NetworkingConfiguration\":{\"Ethernet0\":{\"ConnectionType\":"
        "\"STATIC_IP\",\"StaticIpConnectionInfo\":{\"IpAddress\":\"192.168.1.10\",\"Mask\":\"255.255.255.0\","
        "\"DefaultGateway\":\"192.168.1.1\",\"Dns\":[\"192.168.1.1\"]}}}}' |\n"
        "  omni-provision create-device --request - --ca-cert ca/issuing.pem --ca-key ca/issuing.key "
        "--chain ca/issuing.pem --out .");
    command->callback([options, &exitCode] { exitCode = runCreateDevice(*options); });
}

} // namespace omni::cli
