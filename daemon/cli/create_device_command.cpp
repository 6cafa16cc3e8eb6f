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
#include "daemon/core/issuer/issuer.hpp"
#include "daemon/core/trust/x509_builder.hpp"
#include "daemon/registry/registry.hpp"
#include "daemon/state/files.hpp"

namespace omni::cli {
namespace {

struct CreateDeviceOptions {
    std::string request;
    std::string caCertificate;
    std::string caKey;
    std::string chain;
    std::string outDirectory;
    std::string registry;
    bool replace = false;
    issuer::ArnScope scope;
};

int printApiError(const nlohmann::json& body)
{
    std::cout << body.dump(2) << "\n";
    std::cerr << "omni-provision create-device: " << body.value("__type", "") << ": "
              << body.value("Message", "") << "\n";
    return kExitRejected;
}

int validationError(const std::string& reason, const std::string& message,
    const std::vector<manifest::FieldError>& fields = {})
{
    nlohmann::json body { { "__type", "ValidationException" }, { "Message", message }, { "Reason", reason } };
    if (!fields.empty()) {
        auto& list = body["Fields"] = nlohmann::json::array();
        for (const auto& field : fields)
            list.push_back({ { "Name", field.path }, { "Message", field.message } });
    }
    return printApiError(body);
}

int internalError(const std::string& message)
{
    return printApiError({ { "__type", "InternalServerException" }, { "Message", message } });
}

std::string describeFieldErrors(const std::vector<manifest::FieldError>& fields)
{
    std::string message = std::to_string(fields.size())
        + (fields.size() == 1 ? " validation error detected: " : " validation errors detected: ");
    for (std::size_t i = 0; i < fields.size(); ++i)
        message += (i ? "; " : "") + fields[i].path + ": " + fields[i].message;
    return message;
}

// Usage is judged before the request body (section 6): CA material, output
// directory and registry must all be usable first.
struct PreparedIssuer {
    issuer::IssuingAuthority authority;
    registry::Registry registry;
};

CliResult<PreparedIssuer> prepareIssuer(const CreateDeviceOptions& options)
{
    auto certificateText = readInputFile(options.caCertificate, "the CA certificate (--ca-cert)");
    if (!certificateText)
        return tl::unexpected(certificateText.error());
    auto certificate = trust::loadCertificatePem(*certificateText, options.caCertificate);
    if (!certificate)
        return tl::unexpected(UsageError { "--ca-cert: " + certificate.error().message });
    auto keyText = readInputFile(options.caKey, "the CA key (--ca-key)");
    if (!keyText)
        return tl::unexpected(keyText.error());
    auto key = trust::loadPrivateKeyPem(*keyText, options.caKey);
    if (!key)
        return tl::unexpected(UsageError { "--ca-key: " + key.error().message });
    if (!trust::keyMatchesCertificate(certificate->get(), key->get()))
        return tl::unexpected(
            UsageError { "--ca-key " + options.caKey + " is not the key of --ca-cert " + options.caCertificate
                + "; give the matching pair (e.g. DIR/issuing.pem "
                  "and DIR/issuing.key from 'omni-provision ca init DIR')" });
    std::string chainPem;
    if (!options.chain.empty()) {
        auto chainText = readInputFile(options.chain, "the chain (--chain)");
        if (!chainText)
            return tl::unexpected(chainText.error());
        if (auto parsed = trust::TrustAnchors::fromPem({ { options.chain, *chainText } }); !parsed)
            return tl::unexpected(UsageError { "--chain: " + parsed.error().message });
        chainPem = std::move(*chainText);
    }
    if (!options.outDirectory.empty() && !std::filesystem::is_directory(options.outDirectory))
        return tl::unexpected(
            UsageError { "--out " + options.outDirectory + " is not a directory; create it first" });

    const std::filesystem::path registryPath = !options.registry.empty()
        ? std::filesystem::path(options.registry)
        : std::filesystem::absolute(options.caCertificate).parent_path() / "registry.sqlite";
    auto registry = registry::Registry::open(registryPath);
    if (!registry)
        return tl::unexpected(UsageError { "--registry: " + registry.error().message });
    return PreparedIssuer { issuer::IssuingAuthority {
                                std::move(*certificate), std::move(*key), std::move(chainPem) },
        std::move(*registry) };
}

int runCreateDevice(const CreateDeviceOptions& options)
{
    auto prepared = prepareIssuer(options);
    if (!prepared)
        return reportUsage("create-device", prepared.error());
    auto body = readInputFileOrStdin(options.request, "the request (--request)");
    if (!body)
        return reportUsage("create-device", body.error());

    auto parsed = manifest::parseStrictJsonText(*body);
    if (!parsed)
        return validationError("CANNOT_PARSE", "the request body " + parsed.error());
    const nlohmann::json& request = *parsed;
    if (!request.is_object())
        return validationError("CANNOT_PARSE", "the request body must be a JSON object");

    auto validated = manifest::validateProvisionRequest(request);
    if (!validated)
        return validationError(
            "FIELD_VALIDATION_FAILED", describeFieldErrors(validated.error()), validated.error());
    if (!options.outDirectory.empty() && validated->name.size() > manifest::kMaxNameForFileName) {
        const std::vector<manifest::FieldError> fields { { "Name",
            "is " + std::to_string(validated->name.size())
                + " characters; with --out the file name "
                  "certificates-omni_<Name>.zip must fit in 255 bytes, so Name can be at most "
                + std::to_string(manifest::kMaxNameForFileName) + " characters" } };
        return validationError("FIELD_VALIDATION_FAILED", describeFieldErrors(fields), fields);
    }

    auto& registry = prepared->registry;
    auto transaction = registry.beginWrite();
    if (!transaction)
        return internalError(transaction.error().message);
    auto existing = registry.findByName(validated->name);
    if (!existing)
        return internalError(existing.error().message);
    if (*existing && !options.replace)
        return printApiError({ { "__type", "ConflictException" },
            { "Message",
                "a device named '" + validated->name + "' was already issued (" + (*existing)->deviceId
                    + ") in " + registry.path().string() + "; use --replace to issue it again" },
            { "ResourceId", (*existing)->deviceId }, { "ResourceType", "device" } });

    auto device = issuer::issueDevice(*validated, prepared->authority, options.scope, std::time(nullptr));
    if (!device && device.error().reason == ReasonCode::ManifestInvalid) {
        const std::vector<manifest::FieldError> fields { { device.error().where, device.error().message } };
        return validationError("FIELD_VALIDATION_FAILED", describeFieldErrors(fields), fields);
    }
    if (!device)
        return internalError(device.error().message);

    if (*existing)
        if (auto removed = registry.removeByName(validated->name); !removed)
            return internalError(removed.error().message);
    registry::DeviceRecord record;
    record.deviceId = device->deviceId;
    record.name = device->name;
    record.arn = device->arn;
    record.iotThingName = device->iotThingName;
    record.description = validated->description.value_or("");
    record.tagsJson = nlohmann::json(validated->tags).dump();
    record.networkingJson = validated->networking ? manifest::toJson(*validated->networking).dump() : "null";
    record.createdAt = device->createdAt;
    record.certificateNotAfter = device->certificateNotAfter;
    if (auto inserted = registry.insert(record); !inserted)
        return internalError(inserted.error().message);

    // The archive is written before the registry commits: a failed write
    // leaves neither a file nor a record.
    std::filesystem::path written;
    if (!options.outDirectory.empty()) {
        written
            = std::filesystem::path(options.outDirectory) / ("certificates-omni_" + device->name + ".zip");
        if (auto stored = state::writeFileAtomically(written, device->archive, 0600); !stored)
            return internalError(stored.error().message);
    }
    if (auto committed = transaction->commit(); !committed) {
        if (!written.empty())
            std::filesystem::remove(written);
        return internalError(committed.error().message);
    }

    std::cout << issuer::provisionResponse(*device).dump(2) << "\n";
    std::cerr << "Issued " << device->name << " (" << device->deviceId << "), certificate valid until "
              << trust::formatTime(device->certificateNotAfter);
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
