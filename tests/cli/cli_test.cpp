// The omni-provision command line as a user runs it: a real process, real
// files, the exit codes and JSON bodies of DESIGN.md section 6.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/certificate_checks.hpp"
#include "daemon/issuer/ca/issuing.hpp"
#include "tests/support/archive_factory.hpp"
#include "tests/support/process.hpp"

namespace omni {
namespace {

using testing::ProcessResult;
using testing::readFile;
using testing::runProcess;
using testing::TemporaryDirectory;
using testing::writeFile;

const std::string kStaticRequest = R"({
  "Name": "cam-01",
  "Description": "lobby",
  "Tags": {"site": "berlin"},
  "NetworkingConfiguration": {
    "Ethernet0": {"ConnectionType": "STATIC_IP", "StaticIpConnectionInfo": {
      "IpAddress": "192.168.1.10", "Mask": "255.255.255.0", "DefaultGateway": "192.168.1.1", "Dns": ["192.168.1.1"]}}
  }
})";

std::string cliPath()
{
    const char* path = std::getenv("OMNI_PROVISION_CLI");
    return path ? path : "omni-provision";
}

ProcessResult cli(std::vector<std::string> arguments, const std::string& input = {})
{
    arguments.insert(arguments.begin(), cliPath());
    return runProcess(arguments, input);
}

class Cli : public ::testing::Test {
protected:
    TemporaryDirectory directory;
    std::string ca = directory / "ca";
    std::string out = directory / "out";

    void SetUp() override
    {
        const auto init = cli({ "ca", "init", ca });
        ASSERT_EQ(init.exitCode, 0) << init.err;
        std::filesystem::create_directory(out);
    }

    ProcessResult createDevice(const std::string& request, std::vector<std::string> extra = {})
    {
        std::vector<std::string> arguments { "create-device", "--request", "-", "--ca-cert",
            ca + "/issuing.pem", "--ca-key", ca + "/issuing.key", "--chain", ca + "/issuing.pem" };
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        return cli(arguments, request);
    }

    ProcessResult inspect(const std::string& archive, std::vector<std::string> extra = {})
    {
        std::vector<std::string> arguments { "inspect", archive, "--trust-anchor", ca + "/root.pem",
            "--json" };
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        return cli(arguments);
    }

    static nlohmann::json json(const ProcessResult& result)
    {
        auto parsed = nlohmann::json::parse(result.out, nullptr, false);
        EXPECT_FALSE(parsed.is_discarded()) << "stdout is not JSON: " << result.out << result.err;
        return parsed;
    }
};

TEST_F(Cli, CaInitWritesKeysPrivatelyAndRefusesToOverwrite)
{
    for (const char* file : { "root.key", "issuing.key" }) {
        struct stat status { };
        ASSERT_EQ(stat((ca + "/" + file).c_str(), &status), 0);
        EXPECT_EQ(status.st_mode & 0777, 0600U) << file;
    }
    const std::string before = readFile(ca + "/root.key");
    const auto again = cli({ "ca", "init", ca });
    EXPECT_EQ(again.exitCode, 2);
    EXPECT_NE(again.err.find("already"), std::string::npos) << again.err;
    EXPECT_EQ(readFile(ca + "/root.key"), before);
}

TEST_F(Cli, RoundTripCreateDeviceThenInspectAccepts)
{
    const auto created = createDevice(kStaticRequest, { "--out", out });
    ASSERT_EQ(created.exitCode, 0) << created.out << created.err;
    const auto response = json(created);
    EXPECT_EQ(response["Status"], "AWAITING_PROVISIONING");
    const std::string deviceId = response["DeviceId"].get<std::string>();
    EXPECT_FALSE(deviceId.empty());
    EXPECT_TRUE(std::all_of(deviceId.begin(), deviceId.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    })) << deviceId;
    EXPECT_EQ(response["IotThingName"], response["DeviceId"]);
    EXPECT_EQ(response["Arn"],
        "arn:aws:panorama:us-east-1:123456789012:device/" + response["DeviceId"].get<std::string>());

    const std::string archive = out + "/certificates-omni_cam-01.zip";
    EXPECT_EQ(issuer::base64Encode(readFile(archive)), response["Certificates"]);
    struct stat status { };
    ASSERT_EQ(stat(archive.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 0777, 0600U);

    const auto inspected = inspect(archive);
    EXPECT_EQ(inspected.exitCode, 0) << inspected.out;
    const auto verdict = json(inspected);
    EXPECT_EQ(verdict["Verdict"], "ACCEPT");
    EXPECT_TRUE(verdict["Reason"].is_null());
    EXPECT_EQ(verdict["Name"], "cam-01");
    EXPECT_EQ(verdict["DeviceId"], response["DeviceId"]);
    EXPECT_EQ(verdict["NetworkingConfiguration"]["Ethernet0"]["StaticIpConnectionInfo"]["IpAddress"],
        "192.168.1.10");

    const auto notBefore = *time::parseRfc3339(verdict["NotBefore"].get<std::string>());
    EXPECT_EQ(*time::parseRfc3339(verdict["NotAfter"].get<std::string>()) - notBefore, 300);

    const auto later = inspect(archive, { "--now", time::formatRfc3339(notBefore + 360) });
    EXPECT_EQ(later.exitCode, 1);
    EXPECT_EQ(json(later)["Reason"], "CERT_EXPIRED");
    const auto early = inspect(archive, { "--now", time::formatRfc3339(notBefore - 31) });
    EXPECT_EQ(early.exitCode, 1);
    EXPECT_EQ(json(early)["Reason"], "CERT_NOT_YET_VALID");
    const auto edge = inspect(archive, { "--now", time::formatRfc3339(notBefore - 30) });
    EXPECT_EQ(json(edge)["Verdict"], "ACCEPT");
}

TEST_F(Cli, TextVerdictTellsWhatToDo)
{
    ASSERT_EQ(createDevice(kStaticRequest, { "--out", out }).exitCode, 0);
    const auto expired = cli({ "inspect", out + "/certificates-omni_cam-01.zip", "--trust-anchor",
        ca + "/root.pem", "--now", time::formatRfc3339(std::time(nullptr) + 3600) });
    EXPECT_EQ(expired.exitCode, 1);
    EXPECT_NE(expired.out.find("REJECT CERT_EXPIRED"), std::string::npos) << expired.out;
    EXPECT_NE(expired.out.find("within 5 minutes"), std::string::npos) << expired.out;
}

TEST_F(Cli, ValidationErrorsAreApiBodiesWithFieldPaths)
{
    auto request = nlohmann::json::parse(kStaticRequest);
    request["NetworkingConfiguration"]["Ethernet0"]["StaticIpConnectionInfo"]["Dns"]
        = { "192.168.1.1", "dns.local" };
    const auto result = createDevice(request.dump());
    EXPECT_EQ(result.exitCode, 1);
    const auto body = json(result);
    EXPECT_EQ(body["__type"], "ValidationException");
    EXPECT_EQ(body["Reason"], "FIELD_VALIDATION_FAILED");
    ASSERT_TRUE(body["Fields"].is_array());
    ASSERT_FALSE(body["Fields"].empty());
    EXPECT_EQ(body["Fields"][0]["Name"], "NetworkingConfiguration.Ethernet0.StaticIpConnectionInfo.Dns[1]");

    const auto missingName = createDevice(R"({"Description": "x"})");
    EXPECT_EQ(missingName.exitCode, 1);
    EXPECT_EQ(json(missingName)["Fields"][0]["Name"], "Name");
}

TEST_F(Cli, UnparseableBodiesAreCannotParseWithoutFields)
{
    for (const char* body : { "{", "[1,2]", "\"cam-01\"", "", "{\"Name\": \"\xff\"}" }) {
        const auto result = createDevice(body);
        EXPECT_EQ(result.exitCode, 1) << body;
        const auto parsed = json(result);
        EXPECT_EQ(parsed["__type"], "ValidationException") << body;
        EXPECT_EQ(parsed["Reason"], "CANNOT_PARSE") << body;
        EXPECT_FALSE(parsed.contains("Fields")) << body;
    }
}

TEST_F(Cli, SameNameTwiceIsAConflictUnlessReplaced)
{
    const auto first = createDevice(kStaticRequest);
    ASSERT_EQ(first.exitCode, 0) << first.err;
    const auto second = createDevice(kStaticRequest);
    EXPECT_EQ(second.exitCode, 1);
    const auto body = json(second);
    EXPECT_EQ(body["__type"], "ConflictException");
    EXPECT_EQ(body["ResourceId"], json(first)["DeviceId"]);
    const auto replaced = createDevice(kStaticRequest, { "--replace" });
    EXPECT_EQ(replaced.exitCode, 0) << replaced.out;
    EXPECT_NE(json(replaced)["DeviceId"], json(first)["DeviceId"]);
}

TEST_F(Cli, LongNamesFitTheApiButNotAFileName)
{
    const std::string longName(234, 'n');
    const std::string request = nlohmann::json { { "Name", longName } }.dump();
    const auto withOut = createDevice(request, { "--out", out });
    EXPECT_EQ(withOut.exitCode, 1);
    EXPECT_EQ(json(withOut)["Fields"][0]["Name"], "Name");
    EXPECT_TRUE(std::filesystem::is_empty(out));
    const auto withoutOut = createDevice(request);
    EXPECT_EQ(withoutOut.exitCode, 0) << withoutOut.out;
    const std::string fits = nlohmann::json { { "Name", std::string(233, 'f') } }.dump();
    EXPECT_EQ(createDevice(fits, { "--out", out }).exitCode, 0);
}

TEST_F(Cli, UsageErrorsExitTwoAndAreJudgedBeforeTheBody)
{
    EXPECT_EQ(cli({ "create-device", "--request", "-" }).exitCode, 2); // missing flags
    EXPECT_EQ(cli({ "frobnicate" }).exitCode, 2); // no such command
    EXPECT_EQ(
        cli({ "inspect", "x.zip", "--trust-anchor", ca + "/root.pem", "--tolerance", "301" }).exitCode, 2);
    EXPECT_EQ(
        cli({ "inspect", "x.zip", "--trust-anchor", ca + "/root.pem", "--tolerance", "-1" }).exitCode, 2);
    EXPECT_EQ(
        cli({ "inspect", "x.zip", "--trust-anchor", ca + "/root.pem", "--now", "yesterday" }).exitCode, 2);
    EXPECT_EQ(cli({ "inspect", "x.zip", "--trust-anchor", directory / "absent.pem" }).exitCode, 2);
    EXPECT_EQ(cli({ "inspect", "x.zip" }).exitCode, 2); // no trust anchor
    // A key that does not match the certificate, with an invalid body: usage wins.
    const auto mismatched = cli(
        { "create-device", "--request", "-", "--ca-cert", ca + "/issuing.pem", "--ca-key", ca + "/root.key" },
        "{");
    EXPECT_EQ(mismatched.exitCode, 2);
    EXPECT_NE(mismatched.err.find("not the key"), std::string::npos) << mismatched.err;
    EXPECT_EQ(cli({ "create-device", "--request", directory / "absent.json", "--ca-cert", ca + "/issuing.pem",
                      "--ca-key", ca + "/issuing.key" })
                  .exitCode,
        2);
    EXPECT_EQ(createDevice(kStaticRequest, { "--out", directory / "no-such-dir" }).exitCode, 2);
    EXPECT_EQ(cli({ "--help" }).exitCode, 0);
    EXPECT_NE(cli({ "create-device", "--help" }).out.find("Example"), std::string::npos);
}

TEST_F(Cli, EnrollFlagsPutWhereToEnrolIntoTheManifestAndInspectShowsIt)
{
    const auto created = createDevice(kStaticRequest,
        { "--out", out, "--enroll-url", "https://issuer.example:8443", "--enroll-server-ca",
            ca + "/root.pem" });
    ASSERT_EQ(created.exitCode, 0) << created.out << created.err;
    const std::string archive = out + "/certificates-omni_cam-01.zip";

    const auto inspected = inspect(archive);
    ASSERT_EQ(inspected.exitCode, 0) << inspected.out;
    const auto enrollment = json(inspected)["Enrollment"];
    EXPECT_EQ(enrollment["Url"], "https://issuer.example:8443");
    ASSERT_EQ(enrollment["ServerCaCertificates"].size(), 1U) << enrollment;
    const auto root = trust::TrustAnchors::fromPem({ { "root.pem", readFile(ca + "/root.pem") } });
    ASSERT_TRUE(root);
    const X509* rootCertificate = root->certificates().front().get();
    EXPECT_EQ(enrollment["ServerCaCertificates"][0]["Subject"], trust::subjectName(rootCertificate));
    EXPECT_EQ(enrollment["ServerCaCertificates"][0]["NotAfter"],
        time::formatRfc3339(trust::validityOf(rootCertificate).notAfter));

    // For people: the URL and the subject, never the PEM.
    const auto text = cli({ "inspect", archive, "--trust-anchor", ca + "/root.pem" });
    EXPECT_EQ(text.exitCode, 0) << text.out;
    EXPECT_NE(text.out.find("Enrol at    https://issuer.example:8443\n"), std::string::npos) << text.out;
    EXPECT_NE(
        text.out.find("Server CA   " + trust::subjectName(rootCertificate) + " (until "), std::string::npos)
        << text.out;
    EXPECT_EQ(text.out.find("BEGIN CERTIFICATE"), std::string::npos) << text.out;

    // Without the flags the manifest has no member, and inspect says null.
    ASSERT_EQ(createDevice(R"({"Name":"cam-02"})", { "--out", out }).exitCode, 0);
    const auto plain = json(inspect(out + "/certificates-omni_cam-02.zip"));
    EXPECT_TRUE(plain.contains("Enrollment") && plain["Enrollment"].is_null()) << plain;
    EXPECT_EQ(cli({ "inspect", out + "/certificates-omni_cam-02.zip", "--trust-anchor", ca + "/root.pem" })
                  .out.find("Enrol at"),
        std::string::npos);
}

TEST_F(Cli, EnrollFlagsGoTogetherAndAreJudgedBeforeAnythingIsWritten)
{
    const std::string registry = ca + "/registry.sqlite";
    const auto onlyUrl
        = createDevice(kStaticRequest, { "--out", out, "--enroll-url", "https://issuer.example" });
    EXPECT_EQ(onlyUrl.exitCode, 2);
    EXPECT_NE(onlyUrl.err.find("--enroll-url needs --enroll-server-ca"), std::string::npos) << onlyUrl.err;
    const auto onlyCa
        = createDevice(kStaticRequest, { "--out", out, "--enroll-server-ca", ca + "/root.pem" });
    EXPECT_EQ(onlyCa.exitCode, 2);
    EXPECT_NE(onlyCa.err.find("--enroll-server-ca needs --enroll-url"), std::string::npos) << onlyCa.err;

    struct Refused {
        std::string url;
        std::string serverCa;
        std::string messagePart;
    };
    const std::vector<Refused> cases = {
        { "http://issuer.example", ca + "/root.pem", "--enroll-url: Enrollment.Url must use https" },
        { "https://issuer.example?fleet=1", ca + "/root.pem", "Enrollment.Url must not have a query" },
        { "https://admin:pw@issuer.example", ca + "/root.pem", "Enrollment.Url must not hold userinfo" },
        { "https://issuer.example:99999", ca + "/root.pem", "Enrollment.Url has the port '99999'" },
        { "https://issuer.example", ca + "/root.key",
            "--enroll-server-ca: Enrollment.ServerCa must be one or more PEM" },
        { "https://issuer.example", directory / "absent.pem", "--enroll-server-ca: cannot read" },
    };
    for (const auto& refused : cases) {
        SCOPED_TRACE(refused.url + " " + refused.serverCa);
        // An invalid body too: usage is judged first.
        const auto result = createDevice(
            "{", { "--out", out, "--enroll-url", refused.url, "--enroll-server-ca", refused.serverCa });
        EXPECT_EQ(result.exitCode, 2) << result.out << result.err;
        EXPECT_TRUE(result.out.empty()) << result.out;
        EXPECT_NE(result.err.find(refused.messagePart), std::string::npos) << result.err;
    }
    EXPECT_TRUE(std::filesystem::is_empty(out));
    EXPECT_FALSE(std::filesystem::exists(registry));
}

TEST_F(Cli, InspectOfMissingOrNonRegularFilesIsArchiveNotFound)
{
    const auto missing = inspect(directory / "certificates-omni_cam-01.zip");
    EXPECT_EQ(missing.exitCode, 1);
    EXPECT_EQ(json(missing)["Reason"], "ARCHIVE_NOT_FOUND");
    ASSERT_EQ(createDevice(kStaticRequest, { "--out", out }).exitCode, 0);
    const std::string link = directory / "certificates-omni_cam-01.zip";
    std::filesystem::create_symlink(out + "/certificates-omni_cam-01.zip", link);
    EXPECT_EQ(json(inspect(link))["Reason"], "ARCHIVE_NOT_FOUND");
    const std::string folder = directory / "certificates-omni_dir.zip";
    std::filesystem::create_directory(folder);
    EXPECT_EQ(json(inspect(folder))["Reason"], "ARCHIVE_NOT_FOUND");
}

TEST_F(Cli, InspectRefusesHugeFilesFromTheirSizeAlone)
{
    const std::string huge = directory / "certificates-omni_cam-01.zip";
    writeFile(huge, std::string(1024 * 1024 + 1, 'x'));
    const auto result = inspect(huge);
    EXPECT_EQ(result.exitCode, 1);
    EXPECT_EQ(json(result)["Reason"], "ARCHIVE_TOO_LARGE");
}

TEST_F(Cli, ExpectedNameFlagRejectsOtherDevicesArchives)
{
    ASSERT_EQ(createDevice(kStaticRequest, { "--out", out }).exitCode, 0);
    const std::string archive = out + "/certificates-omni_cam-01.zip";
    EXPECT_EQ(json(inspect(archive, { "--expected-name", "cam-02" }))["Reason"], "CERT_NAME_MISMATCH");
    EXPECT_EQ(json(inspect(archive, { "--expected-name", "cam-01" }))["Verdict"], "ACCEPT");
    EXPECT_EQ(inspect(archive, { "--expected-name", "bad name" }).exitCode, 2);
}

} // namespace
} // namespace omni

namespace omni {
namespace {

TEST_F(Cli, RequestsWhoseManifestWouldBeTooLargeAreRefusedBeforeSigning)
{
    // Valid for the API model (50 tags, keys of 128 and values of 256
    // characters, counted as Unicode characters) but, in 4-byte UTF-8, far over the device's 64 KiB manifest.
    const std::string wide = "\xF0\x9F\x98\x80"; // U+1F600
    nlohmann::json tags = nlohmann::json::object();
    for (int i = 0; i < 50; ++i) {
        std::string key = std::to_string(i);
        for (int j = static_cast<int>(key.size()); j < 128; ++j)
            key += wide;
        std::string value;
        for (int j = 0; j < 256; ++j)
            value += wide;
        tags[key] = value;
    }
    const auto result
        = createDevice(nlohmann::json { { "Name", "cam-big" }, { "Tags", tags } }.dump(), { "--out", out });
    EXPECT_EQ(result.exitCode, 1) << result.out;
    const auto body = json(result);
    EXPECT_EQ(body["__type"], "ValidationException");
    EXPECT_EQ(body["Fields"][0]["Name"], "Tags");
    EXPECT_TRUE(std::filesystem::is_empty(out));
}

TEST_F(Cli, RequestBodiesAreParsedStrictly)
{
    for (const std::string& body : { std::string("{\"Name\": \"a\", \"Name\": \"b\"}"),
             std::string("{\"Name\": \"cam-01\"}\0garbage", 27) }) {
        const auto result = createDevice(body);
        EXPECT_EQ(result.exitCode, 1);
        EXPECT_EQ(json(result)["Reason"], "CANNOT_PARSE");
    }
}

} // namespace
} // namespace omni

#include "tests/support/raw_zip_builder.hpp"

namespace omni {
namespace {

TEST_F(Cli, AOneMebibyteFileClaimingFourGibibytesIsRefusedInLittleMemory)
{
    // Four entries of a ~256 KiB stored payload each, each claiming 1 GiB:
    // 4 GiB declared in a file of about 1 MiB.
    std::vector<archive::testing::RawEntry> entries;
    for (const char* name : { "manifest.json", "certificate.pem", "private_key.pem", "chain.pem" }) {
        auto entry = archive::testing::storedEntry(name, std::string(255 * 1024, 'A'));
        entry.uncompressedSize = 0x40000000U;
        entries.push_back(entry);
    }
    const std::string bytes = archive::testing::buildZip(entries);
    ASSERT_GT(bytes.size(), 1000U * 1024U);
    ASSERT_LE(bytes.size(), 1024U * 1024U);
    const std::string path = directory / "certificates-omni_cam-01.zip";
    writeFile(path, bytes);
    const auto result = inspect(path);
    EXPECT_EQ(result.exitCode, 1);
    EXPECT_EQ(json(result)["Reason"], "ARCHIVE_TOO_LARGE");
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer's shadow memory makes RSS meaningless; the plain build asserts it.
    std::cout << "(ASan build: peak RSS not judged)\n";
#else
    EXPECT_LT(result.peakRssKiB, 32 * 1024) << "peak RSS of the inspect process";
#endif
    std::cout << "inspect of a 1 MiB file declaring 4 GiB: peak RSS " << result.peakRssKiB << " KiB\n";
}

} // namespace
} // namespace omni

namespace omni {
namespace {

// Text from a stick is data, never control (DESIGN.md section 7): a hostile
// tag key (check 11) and a PEM label that is not UTF-8 (check 12) need no CA
// signature to reach the output.
const std::string kHostileTagKey = "a\nMAINPID=1234\nWATCHDOG=trigger\n\x1b[2J";
const std::string kShownTagKey = "a\\nMAINPID=1234\\nWATCHDOG=trigger\\n\\x1b[2J";

// No control byte but the line ends the program writes, and only UTF-8.
void expectCleanText(const std::string& text)
{
    EXPECT_FALSE(testing::hasRawControlBytes(text)) << text;
    EXPECT_EQ(text.find("\nMAINPID="), std::string::npos) << text;
    EXPECT_EQ(text.find("\nWATCHDOG="), std::string::npos) << text;
}

TEST_F(Cli, InspectEscapesAHostileTagKey)
{
    const std::string path = directory / "certificates-omni_cam-01.zip";
    writeFile(path,
        testing::unsignedArchive(
            { { kHostileTagKey, "x" } }, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));

    const auto verdict = json(inspect(path));
    EXPECT_EQ(verdict["Reason"], "MANIFEST_INVALID");
    EXPECT_NE(verdict["Message"].get<std::string>().find("Tags." + kShownTagKey), std::string::npos)
        << verdict.dump(2);

    const auto text = cli({ "inspect", path, "--trust-anchor", ca + "/root.pem" });
    EXPECT_EQ(text.exitCode, 1);
    EXPECT_EQ(text.out.rfind("REJECT MANIFEST_INVALID: Tags." + kShownTagKey, 0), 0U) << text.out;
    expectCleanText(text.out);
    expectCleanText(text.err);
}

TEST_F(Cli, InspectOfAPemLabelThatIsNotUtf8IsValidJson)
{
    const std::string path = directory / "certificates-omni_cam-01.zip";
    writeFile(path, testing::unsignedArchive({}, "-----BEGIN \xff\xff-----\nAAAA\n-----END \xff\xff-----\n"));

    const auto result = inspect(path);
    EXPECT_EQ(result.exitCode, 1) << result.err;
    const auto verdict = json(result);
    EXPECT_EQ(verdict["Reason"], "CERT_INVALID");
    EXPECT_NE(verdict["Message"].get<std::string>().find("'\\xFF\\xFF'"), std::string::npos)
        << verdict.dump(2);

    const auto text = cli({ "inspect", path, "--trust-anchor", ca + "/root.pem" });
    EXPECT_EQ(text.exitCode, 1);
    EXPECT_EQ(text.out.rfind("REJECT CERT_INVALID: ", 0), 0U) << text.out;
    EXPECT_NE(text.out.find("'\\xFF\\xFF'"), std::string::npos) << text.out;
    expectCleanText(text.out);
}

TEST_F(Cli, InspectOfAFileNameWithControlsAndInvalidUtf8)
{
    const std::string path = directory / "certificates-omni_\xff\x1b[2J.zip";
    writeFile(path, "whatever");
    const auto result = inspect(path);
    EXPECT_EQ(result.exitCode, 1) << result.err;
    const auto verdict = json(result);
    EXPECT_EQ(verdict["Reason"], "ARCHIVE_NAME_INVALID");
    EXPECT_NE(
        verdict["Message"].get<std::string>().find("certificates-omni_\\xFF\\x1b[2J.zip"), std::string::npos)
        << verdict.dump(2);
    const auto text = cli({ "inspect", path, "--trust-anchor", ca + "/root.pem" });
    expectCleanText(text.out);
}

} // namespace
} // namespace omni
