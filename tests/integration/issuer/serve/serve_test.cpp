// `omni-provision serve` as a fleet administrator meets it: the real binary
// on 127.0.0.1, driven by the unchanged AWS CLI (Debian's awscli) with test
// credentials, then by hostile raw connections. Skips when `aws` is missing.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/core/archive/zip_reader.hpp"
#include "daemon/core/digest/digest.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/certificate_checks.hpp"
#include "daemon/issuer/serve/sigv4.hpp"
#include "tests/support/archive_factory.hpp"
#include "tests/support/process.hpp"

namespace omni {
namespace {

using nlohmann::json;
using omni::testing::base64Decode;
using Clock = std::chrono::steady_clock;
using testing::ProcessResult;
using testing::runProcess;
using testing::TemporaryDirectory;
using testing::writeFile;

const serve::sigv4::AccessKey kKey { "AKIDOMNISERVETEST", "omni/serve+integration-secret-7a1c" };

const std::string kNetworking = R"({
  "Ethernet0": {"ConnectionType": "STATIC_IP", "StaticIpConnectionInfo": {
    "IpAddress": "192.168.1.10", "Mask": "255.255.255.0", "DefaultGateway": "192.168.1.1", "Dns": ["192.168.1.1"]}},
  "Ntp": {"NtpServers": ["pool.ntp.org"]}
})";

std::string cliPath()
{
    const char* path = std::getenv("OMNI_PROVISION_CLI");
    return path ? path : "omni-provision";
}

std::string findProgram(const std::string& name, const std::string& preferred)
{
    if (::access(preferred.c_str(), X_OK) == 0)
        return preferred;
    const char* path = std::getenv("PATH");
    std::string directories = path ? path : "";
    std::size_t start = 0;
    while (start <= directories.size()) {
        const std::size_t end = std::min(directories.find(':', start), directories.size());
        const std::string candidate = directories.substr(start, end - start) + "/" + name;
        if (end > start && ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
        start = end + 1;
    }
    return {};
}

// The service as a child process: started with its flags, "listening on"
// awaited (bounded), SIGTERM and an awaited exit on destruction.
class ServeProcess {
public:
    ServeProcess(const std::vector<std::string>& flags, const std::string& stderrPath)
    {
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0)
            return;
        std::vector<std::string> arguments { cliPath(), "serve" };
        arguments.insert(arguments.end(), flags.begin(), flags.end());
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            const int err = ::open(stderrPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(err, STDERR_FILENO);
            std::vector<char*> argv;
            for (auto& argument : arguments)
                argv.push_back(argument.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(out[1]);
        stdout_ = out[0];
        const auto deadline = Clock::now() + std::chrono::seconds(15);
        while (Clock::now() < deadline && output_.find('\n') == std::string::npos) {
            pollfd ready { stdout_, POLLIN, 0 };
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (::poll(&ready, 1, static_cast<int>(std::max<long>(left.count(), 0))) <= 0)
                break;
            char buffer[256];
            const ssize_t got = ::read(stdout_, buffer, sizeof buffer);
            if (got <= 0)
                break;
            output_.append(buffer, static_cast<std::size_t>(got));
        }
        const std::string prefix = "listening on 127.0.0.1:";
        if (output_.rfind(prefix, 0) == 0)
            port_ = std::atoi(output_.c_str() + prefix.size());
    }
    ServeProcess(const ServeProcess&) = delete;
    ServeProcess& operator=(const ServeProcess&) = delete;
    ~ServeProcess() { stop(); }

    int port() const { return port_; }
    std::string url(const std::string& scheme = "http") const
    {
        return scheme + "://127.0.0.1:" + std::to_string(port_);
    }
    const std::string& firstLine() const { return output_; }

    // The exit status after SIGTERM (waits at most 15 s, then SIGKILL).
    int stop()
    {
        if (pid_ <= 0)
            return exitStatus_;
        ::kill(pid_, SIGTERM);
        const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
        if (pidfd >= 0) {
            pollfd exited { pidfd, POLLIN, 0 };
            if (::poll(&exited, 1, 15000) <= 0)
                ::kill(pid_, SIGKILL);
            ::close(pidfd);
        }
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        if (stdout_ >= 0)
            ::close(stdout_);
        stdout_ = -1;
        exitStatus_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exitStatus_;
    }

private:
    pid_t pid_ = -1;
    int stdout_ = -1;
    std::string output_;
    int port_ = 0;
    int exitStatus_ = -1;
};

struct RawResponse {
    int status = 0;
    std::map<std::string, std::string> headers; // lowercase names
    std::string body;
    bool closedWithoutAnswer = false;
};

int connectLoopback(int port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Reads until the server closes (the requests say Connection: close), bounded.
RawResponse readResponse(int fd, std::chrono::seconds bound = std::chrono::seconds(15))
{
    std::string data;
    const auto deadline = Clock::now() + bound;
    while (Clock::now() < deadline) {
        pollfd ready { fd, POLLIN, 0 };
        if (::poll(&ready, 1, 500) < 0)
            break;
        if (!(ready.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        char buffer[65536];
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0)
            break;
        data.append(buffer, static_cast<std::size_t>(got));
    }
    RawResponse response;
    const std::size_t headerEnd = data.find("\r\n\r\n");
    if (data.rfind("HTTP/1.", 0) != 0 || headerEnd == std::string::npos) {
        response.closedWithoutAnswer = true;
        return response;
    }
    response.status = std::atoi(data.c_str() + data.find(' ') + 1);
    std::size_t line = data.find("\r\n") + 2;
    while (line < headerEnd) {
        const std::size_t end = data.find("\r\n", line);
        const std::string text = data.substr(line, end - line);
        const std::size_t colon = text.find(':');
        std::string name = text.substr(0, colon);
        for (char& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        response.headers[name] = text.substr(text.find_first_not_of(' ', colon + 1));
        line = end + 2;
    }
    response.body = data.substr(headerEnd + 4);
    return response;
}

void sendAll(int fd, const std::string& bytes)
{
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t wrote = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (wrote <= 0)
            return;
        sent += static_cast<std::size_t>(wrote);
    }
}

// A request signed like the SDKs sign it, sent on a fresh connection.
RawResponse signedExchange(int port, const std::string& method, const std::string& target,
    const std::string& body, std::int64_t signedAt = std::time(nullptr))
{
    serve::sigv4::Request request { method, target,
        { { "Host", "127.0.0.1:" + std::to_string(port) }, { "Content-Type", "application/json" },
            { "X-Amz-Date", time::formatIso8601BasicUtc(signedAt) } } };
    const auto authorization
        = serve::sigv4::authorizationHeader(request, digest::sha256Hex(body), kKey, "us-east-1", "panorama");
    std::string wire = method + " " + target + " HTTP/1.1\r\n";
    for (const auto& [name, value] : request.headers)
        wire += name + ": " + value + "\r\n";
    wire += "Authorization: " + authorization.value_or("")
        + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    const int fd = connectLoopback(port);
    if (fd < 0)
        return RawResponse { 0, {}, {}, true };
    sendAll(fd, wire);
    RawResponse response = readResponse(fd);
    ::close(fd);
    return response;
}

class ServeWithAwsCli : public ::testing::Test {
protected:
    static inline std::string aws;
    static inline std::unique_ptr<TemporaryDirectory> shared;

    static void SetUpTestSuite()
    {
        aws = findProgram("aws", "/usr/bin/aws");
        if (aws.empty())
            return;
        shared = std::make_unique<TemporaryDirectory>();
        const auto init = runProcess({ cliPath(), "ca", "init", *shared / "ca" });
        ASSERT_EQ(init.exitCode, 0) << init.err;
        writeFile(*shared / "keys", "# integration test keys\n" + kKey.id + " " + kKey.secret + "\n");
        ASSERT_EQ(::chmod((*shared / "keys").c_str(), 0600), 0);
        writeFile(*shared / "aws-config",
            "[default]\nregion = us-east-1\noutput = json\n\n"
            "[profile wrong]\nregion = us-east-1\noutput = json\n");
        writeFile(*shared / "aws-credentials",
            "[default]\naws_access_key_id = " + kKey.id + "\naws_secret_access_key = " + kKey.secret
                + "\n\n[wrong]\naws_access_key_id = " + kKey.id
                + "\naws_secret_access_key = not-the-secret\n");
        writeFile(*shared / "net.json", kNetworking);
        // Only the test's own files and the loopback service.
        ::setenv("AWS_CONFIG_FILE", (*shared / "aws-config").c_str(), 1);
        ::setenv("AWS_SHARED_CREDENTIALS_FILE", (*shared / "aws-credentials").c_str(), 1);
        ::setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        ::setenv("AWS_PAGER", "", 1);
        ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
        for (const char* name : { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE",
                 "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy" })
            ::unsetenv(name);
    }

    static void TearDownTestSuite() { shared.reset(); }

    void SetUp() override
    {
        if (aws.empty())
            GTEST_SKIP()
                << "the AWS CLI is not installed (apt-get install awscli); the service is only tested "
                   "without a real client";
    }

    TemporaryDirectory directory;
    std::string database = directory / "registry.sqlite";

    std::unique_ptr<ServeProcess> serve(std::vector<std::string> extra = {})
    {
        std::vector<std::string> flags { "--listen", "127.0.0.1:0", "--ca-cert", *shared / "ca/issuing.pem",
            "--ca-key", *shared / "ca/issuing.key", "--chain", *shared / "ca/issuing.pem", "--db", database,
            "--credentials", *shared / "keys" };
        flags.insert(flags.end(), extra.begin(), extra.end());
        auto process = std::make_unique<ServeProcess>(flags, directory / "serve.log");
        EXPECT_GT(process->port(), 0) << "no 'listening on' line: '" << process->firstLine() << "'\n"
                                      << testing::readFile(directory / "serve.log");
        return process;
    }

    ProcessResult awsCli(const ServeProcess& service, std::vector<std::string> arguments,
        const std::vector<std::string>& extra = {})
    {
        arguments.insert(arguments.begin(), aws);
        for (const std::string& flag :
            { std::string("--endpoint-url"), service.url(), std::string("--cli-connect-timeout"),
                std::string("10"), std::string("--cli-read-timeout"), std::string("30") })
            arguments.push_back(flag);
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        return runProcess(arguments);
    }

    ProcessResult provision(
        const ServeProcess& service, const std::string& name, const std::vector<std::string>& extra = {})
    {
        return awsCli(service,
            { "panorama", "provision-device", "--name", name, "--networking-configuration",
                "file://" + (*shared / "net.json").string() },
            extra);
    }

    // Devices not deleted (a deleted one stays on record as revoked).
    std::int64_t devicesInRegistry()
    {
        sqlite3* handle = nullptr;
        std::int64_t count = -1;
        if (sqlite3_open_v2(database.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
            sqlite3_stmt* statement = nullptr;
            if (sqlite3_prepare_v2(
                    handle, "SELECT COUNT(*) FROM devices WHERE deleted_at IS NULL", -1, &statement, nullptr)
                    == SQLITE_OK
                && sqlite3_step(statement) == SQLITE_ROW)
                count = sqlite3_column_int64(statement, 0);
            sqlite3_finalize(statement);
        }
        sqlite3_close(handle);
        return count;
    }
};

TEST_F(ServeWithAwsCli, ProvisionDeviceGivesAnArchiveTheApplianceAccepts)
{
    auto service = serve();
    const ProcessResult result = provision(*service, "cam-01");
    ASSERT_EQ(result.exitCode, 0) << result.err;
    const json response = json::parse(result.out);
    EXPECT_EQ(response["Status"], "AWAITING_PROVISIONING");
    EXPECT_FALSE(response.value("DeviceId", "").empty());
    const std::string archive = directory / "certificates-omni_cam-01.zip";
    writeFile(archive, base64Decode(response["Certificates"]));

    const ProcessResult inspected
        = runProcess({ cliPath(), "inspect", archive, "--trust-anchor", *shared / "ca/root.pem", "--json" });
    EXPECT_EQ(inspected.exitCode, 0) << inspected.out << inspected.err;
    const json verdict = json::parse(inspected.out);
    EXPECT_EQ(verdict["Verdict"], "ACCEPT") << inspected.out;
    EXPECT_EQ(verdict["DeviceId"], response["DeviceId"]);
    EXPECT_EQ(verdict["NetworkingConfiguration"], json::parse(kNetworking));
    EXPECT_EQ(service->stop(), 0);
}

TEST_F(ServeWithAwsCli, AWrongSecretIsAccessDeniedAndChangesNothing)
{
    auto service = serve();
    const ProcessResult denied = provision(*service, "cam-01", { "--profile", "wrong" });
    EXPECT_NE(denied.exitCode, 0);
    EXPECT_NE(denied.err.find("AccessDeniedException"), std::string::npos) << denied.err;
    EXPECT_EQ(devicesInRegistry(), 0);
}

TEST_F(ServeWithAwsCli, ABadValueIsAValidationExceptionNamingTheField)
{
    auto service = serve();
    json networking = json::parse(kNetworking);
    networking["Ethernet0"]["StaticIpConnectionInfo"]["DefaultGateway"] = "10.0.0.1";
    writeFile(directory / "bad.json", networking.dump());
    const ProcessResult result = awsCli(*service,
        { "panorama", "provision-device", "--name", "cam-01", "--networking-configuration",
            "file://" + (directory / "bad.json").string() });
    EXPECT_NE(result.exitCode, 0);
    EXPECT_NE(result.err.find("ValidationException"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("NetworkingConfiguration.Ethernet0.StaticIpConnectionInfo.DefaultGateway"),
        std::string::npos)
        << result.err;
    EXPECT_EQ(devicesInRegistry(), 0);
}

TEST_F(ServeWithAwsCli, TheQuotaIsAServiceQuotaExceededException)
{
    auto service = serve({ "--max-devices", "1" });
    ASSERT_EQ(provision(*service, "cam-01").exitCode, 0);
    const ProcessResult over = provision(*service, "cam-02");
    EXPECT_NE(over.exitCode, 0);
    EXPECT_NE(over.err.find("ServiceQuotaExceededException"), std::string::npos) << over.err;
    EXPECT_EQ(devicesInRegistry(), 1);
}

// The five device operations as a fleet script runs them, in one service
// (each AWS CLI call costs about a second, so they share one test).
TEST_F(ServeWithAwsCli, TheFleetsViewThroughTheAwsCli)
{
    auto service = serve({ "--offline-after", "600", "--enroll-grace", "300" });
    const ProcessResult issued = provision(*service, "cam-01");
    ASSERT_EQ(issued.exitCode, 0) << issued.err;
    const std::string deviceId = json::parse(issued.out)["DeviceId"];
    const ProcessResult second = provision(*service, "cam-02");
    ASSERT_EQ(second.exitCode, 0) << second.err;
    const std::string secondId = json::parse(second.out)["DeviceId"];
    ASSERT_EQ(provision(*service, "door-01").exitCode, 0);

    // One 409 for a Name already issued.
    const ProcessResult again = provision(*service, "cam-01");
    EXPECT_NE(again.exitCode, 0);
    EXPECT_NE(again.err.find("ConflictException"), std::string::npos) << again.err;
    EXPECT_EQ(devicesInRegistry(), 3);

    const ProcessResult described
        = awsCli(*service, { "panorama", "describe-device", "--device-id", deviceId });
    ASSERT_EQ(described.exitCode, 0) << described.err;
    const json device = json::parse(described.out);
    EXPECT_EQ(device["Name"], "cam-01");
    EXPECT_EQ(device["ProvisioningStatus"], "AWAITING_PROVISIONING");
    EXPECT_EQ(device["DeviceConnectionStatus"], "NOT_AVAILABLE"); // issued without an enrolment endpoint
    EXPECT_EQ(device["DeviceAggregatedStatus"], "AWAITING_PROVISIONING");
    EXPECT_TRUE(device.contains("CreatedTime")) << described.out;
    EXPECT_EQ(device["NetworkingConfiguration"], json::parse(kNetworking));

    // A filter on the Name prefix and the status, one device per page, the
    // pages chained by NextToken.
    const std::vector<std::string> filters { "--name-filter", "cam-", "--device-aggregated-status-filter",
        "AWAITING_PROVISIONING", "--sort-by", "NAME", "--max-results", "1" };
    std::vector<std::string> arguments { "panorama", "list-devices" };
    arguments.insert(arguments.end(), filters.begin(), filters.end());
    const ProcessResult page1 = awsCli(*service, arguments);
    ASSERT_EQ(page1.exitCode, 0) << page1.err;
    const json first = json::parse(page1.out);
    ASSERT_EQ(first["Devices"].size(), 1u) << page1.out;
    EXPECT_EQ(first["Devices"][0]["Name"], "cam-01");
    EXPECT_EQ(first["Devices"][0]["DeviceAggregatedStatus"], "AWAITING_PROVISIONING");
    ASSERT_TRUE(first.contains("NextToken")) << page1.out;
    arguments.insert(arguments.end(), { "--next-token", first["NextToken"].get<std::string>() });
    const ProcessResult page2 = awsCli(*service, arguments);
    ASSERT_EQ(page2.exitCode, 0) << page2.err;
    const json next = json::parse(page2.out);
    ASSERT_EQ(next["Devices"].size(), 1u) << page2.out;
    EXPECT_EQ(next["Devices"][0]["Name"], "cam-02");
    EXPECT_FALSE(next.contains("NextToken")) << page2.out; // door-01 is filtered out

    const ProcessResult updated = awsCli(
        *service, { "panorama", "update-device-metadata", "--device-id", secondId, "--description", "hall" });
    ASSERT_EQ(updated.exitCode, 0) << updated.err;
    EXPECT_EQ(json::parse(updated.out)["DeviceId"], secondId);

    const ProcessResult deleted = awsCli(*service, { "panorama", "delete-device", "--device-id", deviceId });
    ASSERT_EQ(deleted.exitCode, 0) << deleted.err;
    EXPECT_EQ(json::parse(deleted.out)["DeviceId"], deviceId);
    EXPECT_EQ(devicesInRegistry(), 2);

    // The AWS CLI's exit status for an error the service returned is 254.
    const ProcessResult gone = awsCli(*service, { "panorama", "describe-device", "--device-id", deviceId });
    EXPECT_EQ(gone.exitCode, 254) << gone.err;
    EXPECT_NE(gone.err.find("(ResourceNotFoundException)"), std::string::npos) << gone.err;
    EXPECT_NE(gone.err.find("no device " + deviceId), std::string::npos) << gone.err;

    // The deleted Name may be issued anew: a new device, and the description
    // of the other one is what update-device-metadata set.
    const ProcessResult reissued = provision(*service, "cam-01");
    ASSERT_EQ(reissued.exitCode, 0) << reissued.err;
    EXPECT_NE(json::parse(reissued.out)["DeviceId"], deviceId);
    const ProcessResult listed = awsCli(*service, { "panorama", "list-devices", "--name-filter", "cam-" });
    ASSERT_EQ(listed.exitCode, 0) << listed.err;
    std::map<std::string, json> byName;
    const json listedPage = json::parse(listed.out);
    for (const auto& entry : listedPage["Devices"])
        byName[entry["Name"]] = entry;
    ASSERT_EQ(byName.size(), 2u) << listed.out;
    EXPECT_EQ(byName["cam-01"]["DeviceId"], json::parse(reissued.out)["DeviceId"]);
    EXPECT_EQ(byName["cam-02"]["Description"], "hall");
    EXPECT_EQ(devicesInRegistry(), 3);
    EXPECT_EQ(service->stop(), 0);

    // The timing flags are checked before anything listens.
    const ProcessResult refused = runProcess({ cliPath(), "serve", "--listen", "127.0.0.1:0", "--ca-cert",
        *shared / "ca/issuing.pem", "--ca-key", *shared / "ca/issuing.key", "--db", database, "--credentials",
        *shared / "keys", "--offline-after", "5" });
    EXPECT_EQ(refused.exitCode, 2);
    EXPECT_NE(refused.err.find("--offline-after"), std::string::npos) << refused.err;
}

TEST_F(ServeWithAwsCli, TlsWithAConfiguredCertificate)
{
    const std::string openssl = findProgram("openssl", "/usr/bin/openssl");
    if (openssl.empty())
        GTEST_SKIP() << "openssl(1) is not installed to make the test's TLS certificate";
    const std::string certificate = directory / "tls.pem";
    const std::string key = directory / "tls.key";
    const ProcessResult made = runProcess({ openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
        "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate });
    ASSERT_EQ(made.exitCode, 0) << made.err;

    auto service = serve({ "--tls-cert", certificate, "--tls-key", key });
    ProcessResult listed = runProcess({ aws, "panorama", "list-devices", "--endpoint-url",
        service->url("https"), "--ca-bundle", certificate, "--cli-connect-timeout", "10" });
    EXPECT_EQ(listed.exitCode, 0) << listed.err;
    EXPECT_TRUE(json::parse(listed.out, nullptr, false).contains("Devices")) << listed.out;

    // Plain HTTP on a non-loopback address is a usage error (exit 2), before anything listens.
    const ProcessResult refused
        = runProcess({ cliPath(), "serve", "--listen", "0.0.0.0:0", "--ca-cert", *shared / "ca/issuing.pem",
            "--ca-key", *shared / "ca/issuing.key", "--db", database, "--credentials", *shared / "keys" });
    EXPECT_EQ(refused.exitCode, 2);
    EXPECT_NE(refused.err.find("loopback"), std::string::npos) << refused.err;
}

TEST_F(ServeWithAwsCli, PublicUrlPutsWhereToEnrolIntoEveryManifest)
{
    const std::string openssl = findProgram("openssl", "/usr/bin/openssl");
    if (openssl.empty())
        GTEST_SKIP() << "openssl(1) is not installed to make the test's TLS certificates";
    // A TLS CA and a leaf it signs; --tls-cert holds the chain, leaf first, so
    // the default ServerCa is the CA (the last certificate of the file).
    const std::string tlsCa = directory / "tls-ca.pem";
    const std::string tlsCaKey = directory / "tls-ca.key";
    const std::string request = directory / "tls.csr";
    const std::string leaf = directory / "tls-leaf.pem";
    const std::string key = directory / "tls.key";
    const std::string chain = directory / "tls-chain.pem";
    for (const std::vector<std::string>& step : std::vector<std::vector<std::string>> {
             { openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-days", "2", "-subj", "/CN=omni test TLS CA", "-keyout", tlsCaKey, "-out", tlsCa },
             { openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out",
                 request },
             { openssl, "x509", "-req", "-in", request, "-CA", tlsCa, "-CAkey", tlsCaKey, "-CAcreateserial",
                 "-days", "2", "-copy_extensions", "copy", "-out", leaf } }) {
        const ProcessResult made = runProcess(step);
        ASSERT_EQ(made.exitCode, 0) << made.err;
    }
    writeFile(chain, testing::readFile(leaf) + testing::readFile(tlsCa));

    // Startup errors, before anything listens: no TLS, or a URL the manifest may not hold.
    const std::vector<std::string> base { cliPath(), "serve", "--listen", "127.0.0.1:0", "--ca-cert",
        *shared / "ca/issuing.pem", "--ca-key", *shared / "ca/issuing.key", "--db", database, "--credentials",
        *shared / "keys" };
    const auto startWith = [&](std::vector<std::string> extra) {
        std::vector<std::string> arguments = base;
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        return runProcess(arguments);
    };
    const ProcessResult withoutTls = startWith({ "--public-url", "https://issuer.example:8443" });
    EXPECT_EQ(withoutTls.exitCode, 2);
    EXPECT_NE(
        withoutTls.err.find("--public-url https://issuer.example:8443 needs --tls-cert"), std::string::npos)
        << withoutTls.err;
    const ProcessResult plainHttp
        = startWith({ "--tls-cert", chain, "--tls-key", key, "--public-url", "http://issuer.example:8443" });
    EXPECT_EQ(plainHttp.exitCode, 2);
    EXPECT_NE(plainHttp.err.find("--public-url: Enrollment.Url must use https"), std::string::npos)
        << plainHttp.err;
    const ProcessResult caWithoutUrl
        = startWith({ "--tls-cert", chain, "--tls-key", key, "--enroll-server-ca", tlsCa });
    EXPECT_EQ(caWithoutUrl.exitCode, 2);
    EXPECT_NE(caWithoutUrl.err.find("--public-url"), std::string::npos) << caWithoutUrl.err;

    auto service
        = serve({ "--tls-cert", chain, "--tls-key", key, "--public-url", "https://issuer.example:8443" });
    const ProcessResult result = runProcess({ aws, "panorama", "provision-device", "--name", "cam-01",
        "--endpoint-url", service->url("https"), "--ca-bundle", tlsCa, "--cli-connect-timeout", "10" });
    ASSERT_EQ(result.exitCode, 0) << result.err;
    const std::string archiveBytes = base64Decode(json::parse(result.out)["Certificates"]);
    const auto entries = archive::readArchive(testing::bytesOf(archiveBytes));
    ASSERT_TRUE(entries) << entries.error().message;
    const json manifest = json::parse(entries->manifest);
    ASSERT_TRUE(manifest.contains("Enrollment")) << entries->manifest;
    EXPECT_EQ(manifest["Enrollment"]["Url"], "https://issuer.example:8443");
    const auto pinned = trust::parseCertificatesPem(manifest["Enrollment"]["ServerCa"].get<std::string>());
    const auto expected = trust::parseCertificatesPem(testing::readFile(tlsCa));
    ASSERT_TRUE(pinned && expected);
    ASSERT_EQ(pinned->size(), 1U);
    EXPECT_EQ(X509_cmp(pinned->front().get(), expected->front().get()), 0) << "ServerCa is not the TLS CA";

    // The appliance's own checks accept it, and inspect shows the member.
    const std::string archive = directory / "certificates-omni_cam-01.zip";
    writeFile(archive, archiveBytes);
    const ProcessResult inspected
        = runProcess({ cliPath(), "inspect", archive, "--trust-anchor", *shared / "ca/root.pem", "--json" });
    EXPECT_EQ(inspected.exitCode, 0) << inspected.out << inspected.err;
    EXPECT_EQ(json::parse(inspected.out)["Enrollment"]["Url"], "https://issuer.example:8443")
        << inspected.out;
    EXPECT_EQ(service->stop(), 0);
}

// EST (section 10) over real TLS with an independent client: curl for
// HTTPS, openssl req/x509/pkcs7/base64 for the CSRs and the answers.
//
// simpleenroll with the provisioning certificate cannot be driven over TLS
// here: GnuTLS (under libmicrohttpd) cannot parse the certificate's manifest
// digest extension, whose OID has a 128-bit arc (2.25.<UUID>), and fails the
// handshake. The device certificate is therefore made by the test with the
// issuing CA and recorded in the registry, standing for a completed
// simpleenroll (which the unit tests drive at the handler); everything from
// there (the client certificate reaching our verification, simplereenroll,
// PUT /device-status, DescribeDevice) runs for real.
TEST_F(ServeWithAwsCli, EstOverTlsWithCurlAndOpenssl)
{
    const std::string openssl = findProgram("openssl", "/usr/bin/openssl");
    const std::string curl = findProgram("curl", "/usr/bin/curl");
    if (openssl.empty() || curl.empty())
        GTEST_SKIP() << "openssl(1) and curl(1) are the independent EST client";
    const auto path = [&](const std::string& name) { return (directory / name).string(); };
    const auto run = [&](const std::vector<std::string>& arguments) {
        const ProcessResult result = runProcess(arguments);
        EXPECT_EQ(result.exitCode, 0) << arguments[0] << " " << arguments[1] << ": " << result.err;
        return result;
    };
    run({ openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days",
        "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", path("tls.key"),
        "-out", path("tls.pem") });
    auto service = serve({ "--tls-cert", path("tls.pem"), "--tls-key", path("tls.key"), "--public-url",
        "https://127.0.0.1:8443", "--device-cert-days", "7" });
    const std::string est = service->url("https") + "/.well-known/est/";
    // curl: the HTTP status on stdout, the body into `out`.
    const auto request
        = [&](const std::vector<std::string>& extra, const std::string& url, const std::string& out) {
              std::vector<std::string> arguments { curl, "-sS", "--max-time", "20", "--cacert",
                  path("tls.pem"), "-o", path(out), "-w", "%{http_code}" };
              arguments.insert(arguments.end(), extra.begin(), extra.end());
              arguments.push_back(url);
              return run(arguments).out;
          };
    const auto subjectOf = [&](const std::string& pem) {
        return run({ openssl, "x509", "-in", path(pem), "-noout", "-subject", "-nameopt", "RFC2253" }).out;
    };
    // A new P-256 key and a base64 DER CSR for `commonName`.
    const auto makeCsr = [&](const std::string& stem, const std::string& commonName) {
        run({ openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=" + commonName, "-keyout", path(stem + ".key"), "-outform", "DER", "-out",
            path(stem + ".der") });
        run({ openssl, "base64", "-A", "-in", path(stem + ".der"), "-out", path(stem + ".b64") });
        return "@" + path(stem + ".b64");
    };
    // The certificates of a base64 PKCS#7 certs-only answer, as PEM.
    const auto certificatesOf = [&](const std::string& answer, const std::string& pem) {
        run({ openssl, "base64", "-d", "-A", "-in", path(answer), "-out", path(answer + ".der") });
        run({ openssl, "pkcs7", "-inform", "DER", "-in", path(answer + ".der"), "-print_certs", "-out",
            path(pem) });
    };

    // cacerts: no client certificate, no signature.
    EXPECT_EQ(request({}, est + "cacerts", "cacerts.b64"), "200");
    certificatesOf("cacerts.b64", "cacerts.pem");
    EXPECT_EQ(subjectOf("cacerts.pem"),
        run({ openssl, "x509", "-in", *shared / "ca/issuing.pem", "-noout", "-subject", "-nameopt",
                "RFC2253" })
            .out);

    const ProcessResult provisioned
        = runProcess({ aws, "panorama", "provision-device", "--name", "cam-est", "--endpoint-url",
            service->url("https"), "--ca-bundle", path("tls.pem"), "--cli-connect-timeout", "10" });
    ASSERT_EQ(provisioned.exitCode, 0) << provisioned.err;
    const std::string deviceId = json::parse(provisioned.out)["DeviceId"];

    // simpleenroll without a client certificate: refused before the body is read.
    const std::string csr = makeCsr("first", deviceId);
    const std::vector<std::string> pkcs10 { "-H", "Content-Type: application/pkcs10", "--data-binary" };
    auto post = pkcs10;
    post.push_back(csr);
    EXPECT_EQ(request(post, est + "simpleenroll", "refused.txt"), "403");
    EXPECT_NE(testing::readFile(path("refused.txt")).find("no TLS client certificate"), std::string::npos);

    // The device certificate of a completed simpleenroll (see above).
    writeFile(path("client.ext"), "extendedKeyUsage = clientAuth\nkeyUsage = critical, digitalSignature\n");
    run({ openssl, "req", "-new", "-key", path("first.key"), "-subj", "/CN=" + deviceId, "-out",
        path("first.csr") });
    run({ openssl, "x509", "-req", "-in", path("first.csr"), "-CA", *shared / "ca/issuing.pem", "-CAkey",
        *shared / "ca/issuing.key", "-set_serial", "0x5EED", "-days", "1", "-extfile", path("client.ext"),
        "-out", path("device.pem") });
    {
        sqlite3* handle = nullptr;
        ASSERT_EQ(sqlite3_open(database.c_str(), &handle), SQLITE_OK);
        const std::string now = std::to_string(std::time(nullptr));
        const std::string sql = "UPDATE devices SET first_contact_at = " + now + ", enrolled_at = " + now
            + ", device_certificate_serial = '5EED', device_certificate_not_after = " + now + " + 86400 "
            + "WHERE device_id = '" + deviceId + "'";
        EXPECT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(handle);
    }

    // A certificate for the same DeviceId from another CA.
    run({ openssl, "req", "-x509", "-key", path("first.key"), "-subj", "/CN=" + deviceId, "-days", "1",
        "-out", path("forged.pem") });
    auto forged = pkcs10;
    forged.insert(forged.end(),
        { makeCsr("forged-csr", deviceId), "--cert", path("forged.pem"), "--key", path("first.key") });
    EXPECT_EQ(request(forged, est + "simplereenroll", "forged.txt"), "403");
    EXPECT_NE(testing::readFile(path("forged.txt")).find("untrusted"), std::string::npos);

    // simplereenroll with the device certificate: a new one for a new key.
    auto renew = pkcs10;
    renew.insert(renew.end(),
        { makeCsr("second", deviceId), "--cert", path("device.pem"), "--key", path("first.key") });
    ASSERT_EQ(request(renew, est + "simplereenroll", "renewed.b64"), "200")
        << testing::readFile(path("renewed.b64"));
    certificatesOf("renewed.b64", "renewed.pem");
    EXPECT_EQ(subjectOf("renewed.pem"), "subject=CN=" + deviceId + "\n");
    EXPECT_NE(run({ openssl, "x509", "-in", path("renewed.pem"), "-noout", "-ext", "extendedKeyUsage" })
                  .out.find("TLS Web Client Authentication"),
        std::string::npos);
    run({ openssl, "verify", "-partial_chain", "-CAfile", *shared / "ca/issuing.pem", path("renewed.pem") });

    // PUT /device-status: the old certificate is superseded, the new one reports.
    writeFile(path("report.json"),
        R"({"CurrentNetworkingStatus": {"Ethernet0Status": {"IpAddress": "192.168.1.10/24",)"
        R"( "ConnectionStatus": "CONNECTED", "HwAddress": "52:54:00:12:34:56"}}})");
    const std::vector<std::string> put { "-X", "PUT", "-H", "Content-Type: application/json", "--data-binary",
        "@" + path("report.json") };
    auto stale = put;
    stale.insert(stale.end(), { "--cert", path("device.pem"), "--key", path("first.key") });
    EXPECT_EQ(request(stale, service->url("https") + "/device-status", "stale.txt"), "409");
    auto fresh = put;
    fresh.insert(fresh.end(), { "--cert", path("renewed.pem"), "--key", path("second.key") });
    EXPECT_EQ(request(fresh, service->url("https") + "/device-status", "reported.txt"), "200")
        << testing::readFile(path("reported.txt"));

    const ProcessResult described
        = runProcess({ aws, "panorama", "describe-device", "--device-id", deviceId, "--endpoint-url",
            service->url("https"), "--ca-bundle", path("tls.pem"), "--cli-connect-timeout", "10" });
    ASSERT_EQ(described.exitCode, 0) << described.err;
    const json device = json::parse(described.out);
    EXPECT_EQ(device["ProvisioningStatus"], "SUCCEEDED") << described.out;
    EXPECT_EQ(device["DeviceConnectionStatus"], "ONLINE") << described.out;
    EXPECT_EQ(device["CurrentNetworkingStatus"]["Ethernet0Status"]["IpAddress"], "192.168.1.10/24");
    EXPECT_EQ(service->stop(), 0);
}

TEST_F(ServeWithAwsCli, HostileInputGetsClearErrorsAndTheServiceStaysUp)
{
    auto service = serve({ "--request-timeout", "2", "--idle-timeout", "30" });
    const int port = service->port();

    // Oversized body: answered from its Content-Length, before it is sent.
    {
        const int fd = connectLoopback(port);
        ASSERT_GE(fd, 0);
        sendAll(fd,
            "POST /devices HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 10485760\r\n\r\n");
        const RawResponse tooLarge = readResponse(fd);
        ::close(fd);
        EXPECT_EQ(tooLarge.status, 413);
        EXPECT_EQ(tooLarge.headers.count("x-amzn-errortype") ? tooLarge.headers.at("x-amzn-errortype") : "",
            "ValidationException");
    }

    // Invalid UTF-8 and deeply nested JSON, correctly signed: CANNOT_PARSE, named.
    const RawResponse invalidUtf8 = signedExchange(port, "POST", "/devices", "{\"Name\": \"cam-\xc3\x28\"}");
    EXPECT_EQ(invalidUtf8.status, 400);
    EXPECT_EQ(json::parse(invalidUtf8.body, nullptr, false).value("Reason", ""), "CANNOT_PARSE")
        << invalidUtf8.body;
    EXPECT_NE(invalidUtf8.body.find("UTF-8"), std::string::npos) << invalidUtf8.body;

    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    const RawResponse nested = signedExchange(port, "POST", "/devices", deep);
    EXPECT_EQ(nested.status, 400);
    EXPECT_EQ(json::parse(nested.body, nullptr, false).value("Reason", ""), "CANNOT_PARSE") << nested.body;

    // A signature from 16 minutes ago.
    const RawResponse stale
        = signedExchange(port, "POST", "/devices", R"({"Name":"cam-01"})", std::time(nullptr) - 16 * 60);
    EXPECT_EQ(stale.status, 403);
    EXPECT_EQ(stale.headers.count("x-amzn-errortype") ? stale.headers.at("x-amzn-errortype") : "",
        "AccessDeniedException");

    // Not HTTP at all.
    {
        const int fd = connectLoopback(port);
        ASSERT_GE(fd, 0);
        // A TLS ClientHello's first bytes (a NUL among them) on the plain port.
        static constexpr char kNotHttp[] = "\x16\x03\x01\x00\xff garbage \r\n\r\n";
        sendAll(fd, std::string(kNotHttp, sizeof kNotHttp - 1));
        const RawResponse garbage = readResponse(fd);
        ::close(fd);
        EXPECT_TRUE(garbage.closedWithoutAnswer || garbage.status == 400) << garbage.status;
    }

    // Slow-loris: a request trickled one byte every 300 ms is cut at the
    // request timeout (2 s), while a real client is still served.
    {
        const int fd = connectLoopback(port);
        ASSERT_GE(fd, 0);
        const std::string trickle
            = "GET /devices HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(200, 'a');
        const auto started = Clock::now();
        bool closed = false;
        for (std::size_t i = 0; i < trickle.size() && !closed; ++i) {
            if (::send(fd, &trickle[i], 1, MSG_NOSIGNAL) != 1) {
                closed = true;
                break;
            }
            if (i == 3) {
                const ProcessResult meanwhile = awsCli(*service, { "panorama", "list-devices" });
                EXPECT_EQ(meanwhile.exitCode, 0) << meanwhile.err;
            }
            pollfd ready { fd, POLLIN, 0 };
            if (::poll(&ready, 1, 300) > 0) {
                char byte;
                closed = ::recv(fd, &byte, 1, 0) <= 0;
            }
        }
        ::close(fd);
        const auto held = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        EXPECT_TRUE(closed) << "the trickling connection was never closed";
        EXPECT_LT(held.count(), 2000 + 4000) << "held for " << held.count() << " ms";
    }

    // Still alive and consistent.
    const ProcessResult after = provision(*service, "cam-after-hostile");
    EXPECT_EQ(after.exitCode, 0) << after.err;
    EXPECT_EQ(devicesInRegistry(), 1);
    EXPECT_EQ(service->stop(), 0);
}

} // namespace
} // namespace omni
