// omni-provision serve: the ProvisionDevice API over HTTP, so fleets that
// script `aws panorama provision-device` can point --endpoint-url here.
// stdout carries one line, "listening on ADDR:PORT", once connections are
// accepted; everything for people (one line per request) goes to stderr,
// which systemd sends to the journal.
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>

#include <pthread.h>

#include "daemon/cli/cli_support.hpp"
#include "daemon/cli/issuer/serve_command.hpp"
#include "daemon/core/text/text.hpp"
#include "daemon/core/trust/x509_builder.hpp"
#include "daemon/issuer/provision/issuing_material.hpp"
#include "daemon/issuer/registry/registry.hpp"
#include "daemon/issuer/serve/credentials_file.hpp"
#include "daemon/issuer/serve/device_api.hpp"
#include "daemon/issuer/serve/http_server.hpp"

namespace omni::cli {
namespace {

struct ServeOptions {
    std::string listen;
    std::string caCertificate;
    std::string caKey;
    std::string chain;
    std::string database;
    std::string credentials;
    std::string tlsCertificate;
    std::string tlsKey;
    std::string publicUrl;
    std::string enrollServerCa;
    std::int64_t maxDevices = -1; // none
    unsigned maxConnections = 64;
    unsigned idleTimeoutSeconds = 15;
    unsigned requestTimeoutSeconds = 30;
    std::int64_t deviceCertificateDays = 365;
    registry::FleetTiming timing;
    issuer::ArnScope scope;
};

void logLine(const std::string& line)
{
    std::fprintf(stderr, "omni-provision serve: %s\n", text::printable(line).c_str());
}

int runServe(const ServeOptions& options)
{
    const auto usage
        = [](const std::string& message) { return reportUsage("serve", UsageError { message }); };

    auto listen = serve::parseListenAddress(options.listen);
    if (!listen)
        return usage(listen.error().message);
    if (options.tlsCertificate.empty() != options.tlsKey.empty())
        return usage(
            "--tls-cert and --tls-key go together: give both for HTTPS, or neither for plain HTTP on "
            "a loopback address");
    const bool tls = !options.tlsCertificate.empty();
    if (!tls && !listen->loopback)
        return usage("--listen " + options.listen
            + " is not a loopback address, and plain HTTP would carry device keys over the network: give "
              "--tls-cert and --tls-key, or listen on 127.0.0.1 / [::1]");
    // Section 10: devices enrol over TLS, authenticated by the manifest's ServerCa.
    if (!options.publicUrl.empty() && !tls)
        return usage("--public-url " + options.publicUrl
            + " needs --tls-cert and --tls-key: devices enrol only over HTTPS, authenticated by the "
              "certificate the manifest pins");
    if (!options.enrollServerCa.empty() && options.publicUrl.empty())
        return usage("--enroll-server-ca is what --public-url's server chains to; give --public-url "
                     "https://HOST[:PORT] too");

    auto authority = serve::loadIssuingAuthority({ options.caCertificate, options.caKey, options.chain });
    if (!authority)
        return usage(authority.error().message);
    auto credentials = serve::CredentialStore::load(options.credentials);
    if (!credentials)
        return usage("--credentials: " + credentials.error().message);
    // Opened once here so a bad path is a usage error, not a 500 on the first request.
    if (auto registry = registry::Registry::open(options.database); !registry)
        return usage("--db: " + registry.error().message);
    std::optional<serve::TlsMaterial> tlsMaterial;
    if (tls) {
        auto loaded = serve::loadTlsMaterial(options.tlsCertificate, options.tlsKey);
        if (!loaded)
            return usage(loaded.error().message);
        tlsMaterial = std::move(*loaded);
    }
    std::optional<manifest::Enrollment> enrollment;
    if (!options.publicUrl.empty()) {
        auto loaded = serve::loadEnrollment(
            "--public-url", options.publicUrl, options.enrollServerCa, tlsMaterial->certificatePem);
        if (!loaded)
            return usage(loaded.error().message);
        enrollment = std::move(*loaded);
    }

    serve::HttpServerOptions serverOptions;
    serverOptions.listen = *listen;
    serverOptions.maxConnections = options.maxConnections;
    serverOptions.idleTimeoutSeconds = options.idleTimeoutSeconds;
    serverOptions.requestTimeoutSeconds = options.requestTimeoutSeconds;
    if (tlsMaterial) {
        serverOptions.tlsCertificatePem = tlsMaterial->certificatePem;
        serverOptions.tlsKeyPem = tlsMaterial->keyPem;
        // EST (section 10): devices authenticate with certificates of the issuing CA.
        serverOptions.tlsClientCaPem = trust::certificateToPem(authority->certificate.get());
    }

    serve::DeviceApiSettings settings { std::move(*authority), options.scope, std::nullopt, options.database,
        serverOptions.threads, serverOptions.maxBodyBytes, options.timing };
    if (options.maxDevices >= 0)
        settings.maxDevices = options.maxDevices;
    settings.enrollment = enrollment;
    settings.deviceCertificateDays = options.deviceCertificateDays;
    const std::size_t keyCount = credentials->size();
    serve::DeviceApi api(std::move(settings), std::move(*credentials));

    // Termination signals are taken by sigwait below; the server's threads
    // inherit the mask, so none of them is interrupted.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGINT);
    sigaddset(&stopSignals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    auto server = serve::HttpServer::start(
        serverOptions,
        [&api](const serve::HttpRequest& request) { return api.handle(request, std::time(nullptr)); },
        logLine);
    if (!server) {
        logLine(server.error().message);
        return kExitRejected;
    }
    const std::string endpoint = serve::formatEndpoint(*listen, server->port());
    std::cout << "listening on " << endpoint << std::endl;
    logLine(std::string("ProvisionDevice on ") + (tls ? "https://" : "http://") + endpoint
        + "/devices (region " + options.scope.region + ", " + std::to_string(keyCount)
        + (keyCount == 1 ? " access key" : " access keys") + ", registry " + options.database
        + (options.maxDevices >= 0 ? ", at most " + std::to_string(options.maxDevices) + " devices" : "")
        + (enrollment ? ", manifests say enrol at " + enrollment->url : "") + ")");

    int received = 0;
    while (sigwait(&stopSignals, &received) != 0) { }
    logLine(std::string("stopping on ") + (received == SIGINT ? "SIGINT" : "SIGTERM")
        + "; finishing the requests in progress");
    return kExitOk;
}

} // namespace

void registerServeCommand(CLI::App& app, int& exitCode)
{
    auto* command = app.add_subcommand("serve",
        "The Panorama device API over HTTP (restJson1, AWS Signature Version 4): POST and GET /devices, "
        "GET, PUT and DELETE /devices/{DeviceId}; with TLS, EST enrolment (/.well-known/est/) and PUT "
        "/device-status");
    auto options = std::make_shared<ServeOptions>();
    command->add_option("--listen", options->listen, "ADDRESS:PORT to listen on (port 0 picks a free one)")
        ->required();
    command->add_option("--ca-cert", options->caCertificate, "Issuing CA certificate (PEM)")->required();
    command->add_option("--ca-key", options->caKey, "Issuing CA private key (PEM)")->required();
    command->add_option("--chain", options->chain, "Intermediate certificates to put in each archive (PEM)");
    command
        ->add_option(
            "--db", options->database, "SQLite registry of devices (the one create-device --registry uses)")
        ->required();
    command
        ->add_option("--credentials", options->credentials,
            "Access keys, one 'ACCESS_KEY_ID SECRET_ACCESS_KEY' per line (mode 0600)")
        ->required();
    command->add_option("--region", options->scope.region, "Region requests are signed for, and ARN region")
        ->capture_default_str();
    command->add_option("--account-id", options->scope.accountId, "ARN account ID (12 digits)")
        ->capture_default_str()
        ->check([](const std::string& value) {
            const bool digits
                = value.size() == 12 && value.find_first_not_of("0123456789") == std::string::npos;
            return digits ? std::string() : std::string("must be 12 digits");
        });
    command
        ->add_option("--max-devices", options->maxDevices,
            "Quota: the registry holds at most N devices (ServiceQuotaExceededException beyond)")
        ->check(CLI::NonNegativeNumber);
    command
        ->add_option("--offline-after", options->timing.offlineAfterSeconds,
            "Seconds after its last status report that an enrolled device counts as OFFLINE (60 to 604800)")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t { 60 }, std::int64_t { 7 * 24 * 3600 }));
    command
        ->add_option("--enroll-grace", options->timing.enrollGraceSeconds,
            "Seconds after the provisioning certificate's notAfter that enrolment is still accepted; an "
            "unenrolled device with an endpoint is FAILED after it (0 to 86400)")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t { 0 }, std::int64_t { 24 * 3600 }));
    command
        ->add_option("--device-cert-days", options->deviceCertificateDays,
            "Days the device certificates issued by EST simpleenroll/simplereenroll are valid (1 to 3650)")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t { 1 }, std::int64_t { 3650 }));
    command->add_option("--tls-cert", options->tlsCertificate, "TLS certificate chain (PEM), leaf first");
    command->add_option("--tls-key", options->tlsKey, "TLS private key (PEM)");
    command->add_option("--public-url", options->publicUrl,
        "https://HOST[:PORT] devices reach this service at; put into every manifest as where to enrol "
        "(needs --tls-cert)");
    command->add_option("--enroll-server-ca", options->enrollServerCa,
        "Certificate(s) --tls-cert chains to, pinned in the manifests (PEM, at most 16 KiB; default: "
        "the last certificate of --tls-cert)");
    command->add_option("--max-connections", options->maxConnections, "Concurrent connections at most")
        ->capture_default_str()
        ->check(CLI::Range(1u, 10000u));
    command
        ->add_option("--idle-timeout", options->idleTimeoutSeconds,
            "Seconds a connection may stay silent (headers, body or keep-alive) before it is closed")
        ->capture_default_str()
        ->check(CLI::Range(1u, 3600u));
    command
        ->add_option("--request-timeout", options->requestTimeoutSeconds,
            "Seconds a client has to send a whole request, however slowly it trickles (slow-loris)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 3600u));
    addExample(*command,
        "omni-provision ca init ca && printf 'AKIDEXAMPLE %s\\n' \"$SECRET\" > keys && chmod 600 keys\n"
        "  omni-provision serve --listen 127.0.0.1:8080 --ca-cert ca/issuing.pem --ca-key ca/issuing.key "
        "--chain ca/issuing.pem --db ca/registry.sqlite --credentials keys\n"
        "  aws panorama provision-device --endpoint-url http://127.0.0.1:8080 --name cam-01");
    command->callback([options, &exitCode] { exitCode = runServe(*options); });
}

} // namespace omni::cli
