// The device API as the HTTP layer drives it: signed requests in, restJson1
// responses out (status, x-amzn-ErrorType, the model's members), against a
// real SQLite registry and a CA generated for the test.
#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "daemon/core/archive/zip_reader.hpp"
#include "daemon/core/digest/digest.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/x509_builder.hpp"
#include "daemon/issuer/registry/registry.hpp"
#include "daemon/issuer/serve/device_api.hpp"
#include "tests/support/archive_factory.hpp"
#include "tests/support/process.hpp"

namespace omni::serve {
namespace {

using nlohmann::json;
using omni::testing::base64Decode;

constexpr std::int64_t kNow = 1795000000; // 2026-11-18, inside the test CA's validity
const sigv4::AccessKey kKey { "AKIDSERVETEST", "serve-test-secret-0123456789" };

const std::string kStaticRequest = R"({
  "Name": "cam-01",
  "Description": "lobby",
  "Tags": {"site": "berlin"},
  "NetworkingConfiguration": {
    "Ethernet0": {"ConnectionType": "STATIC_IP", "StaticIpConnectionInfo": {
      "IpAddress": "192.168.1.10", "Mask": "255.255.255.0", "DefaultGateway": "192.168.1.1", "Dns": ["192.168.1.1"]}},
    "Ntp": {"NtpServers": ["pool.ntp.org"]}
  }
})";

std::string named(const std::string& name)
{
    return json { { "Name", name } }.dump();
}

std::string header(const HttpResponse& response, const std::string& name)
{
    for (const auto& [key, value] : response.headers)
        if (strcasecmp(key.c_str(), name.c_str()) == 0)
            return value;
    return {};
}

json body(const HttpResponse& response)
{
    return json::parse(response.body, nullptr, false);
}

class DeviceApiTest : public ::testing::Test {
protected:
    testing::TemporaryDirectory directory;
    std::unique_ptr<DeviceApi> api;

    void SetUp() override { start(std::nullopt); }

    void start(std::optional<std::int64_t> maxDevices, registry::FleetTiming timing = {},
        bool withEnrollment = false)
    {
        api.reset();
        auto material = issuer::makeCertificateAuthority(kNow - 86400, "serve test");
        ASSERT_TRUE(material) << material.error().message;
        auto certificate = trust::loadCertificatePem(material->issuingCertificatePem, "issuing.pem");
        auto key = trust::loadPrivateKeyPem(material->issuingKeyPem, "issuing.key");
        ASSERT_TRUE(certificate && key);
        auto credentials = CredentialStore::parse(kKey.id + " " + kKey.secret + "\n", "test credentials");
        ASSERT_TRUE(credentials) << credentials.error().message;
        DeviceApiSettings settings { issuer::IssuingAuthority { std::move(*certificate), std::move(*key),
                                         material->issuingCertificatePem },
            issuer::ArnScope {}, maxDevices, directory / "registry.sqlite", 4, 1024, timing };
        if (withEnrollment) // serve --public-url
            settings.enrollment
                = manifest::Enrollment { "https://issuer.example:8443", material->issuingCertificatePem, {} };
        api = std::make_unique<DeviceApi>(std::move(settings), std::move(*credentials));
    }

    static HttpRequest signedRequest(const std::string& method, const std::string& target,
        const std::string& payload, std::int64_t signedAt = kNow, const sigv4::AccessKey& key = kKey)
    {
        HttpRequest request { method, target,
            { { "Host", "127.0.0.1:8080" }, { "Content-Type", "application/json" },
                { "X-Amz-Date", time::formatIso8601BasicUtc(signedAt) } },
            payload };
        const sigv4::Request toSign { method, target, request.headers };
        auto authorization
            = sigv4::authorizationHeader(toSign, digest::sha256Hex(payload), key, "us-east-1", "panorama");
        EXPECT_TRUE(authorization) << authorization.error();
        request.headers.emplace_back("Authorization", authorization.value_or(""));
        return request;
    }

    HttpResponse call(const std::string& method, const std::string& target, const std::string& payload = {},
        std::int64_t now = kNow)
    {
        return api->handle(signedRequest(method, target, payload, now), now);
    }

    // What later parts of section 10 record (enrolment, reports), written
    // straight into the registry the service reads.
    void recordInRegistry(const std::string& sql)
    {
        sqlite3* handle = nullptr;
        ASSERT_EQ(sqlite3_open((directory / "registry.sqlite").c_str(), &handle), SQLITE_OK);
        char* message = nullptr;
        EXPECT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK)
            << (message ? message : "");
        sqlite3_free(message);
        sqlite3_close(handle);
    }

    std::string provisioned(const std::string& name, std::int64_t at = kNow)
    {
        const HttpResponse response = call("POST", "/devices", named(name), at);
        EXPECT_EQ(response.status, 200) << response.body;
        return body(response).value("DeviceId", "");
    }

    std::vector<std::string> listedIds(const std::string& query, std::int64_t now = kNow)
    {
        std::vector<std::string> ids;
        std::string token;
        for (int page = 0; page < 50; ++page) {
            const HttpResponse response
                = call("GET", "/devices?" + query + (token.empty() ? "" : "&NextToken=" + token), {}, now);
            EXPECT_EQ(response.status, 200) << response.body;
            const json pageBody = body(response);
            for (const auto& device : pageBody["Devices"])
                ids.push_back(device["DeviceId"]);
            if (!pageBody.contains("NextToken"))
                break;
            token = pageBody["NextToken"];
        }
        return ids;
    }

    std::size_t listedDevices()
    {
        const auto listed = call("GET", "/devices?MaxResults=25");
        return body(listed)["Devices"].size();
    }
};

void expectError(const HttpResponse& response, int status, const std::string& type)
{
    EXPECT_EQ(response.status, status) << response.body;
    EXPECT_EQ(header(response, "x-amzn-ErrorType"), type);
    EXPECT_EQ(header(response, "Content-Type"), "application/json");
    const json error = body(response);
    ASSERT_TRUE(error.is_object()) << response.body;
    EXPECT_EQ(error.value("__type", ""), type);
    EXPECT_FALSE(error.value("Message", "").empty());
}

TEST_F(DeviceApiTest, ProvisionDeviceAnswersTheSeedResponseWithAnArchive)
{
    const HttpResponse response = call("POST", "/devices", kStaticRequest);
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(header(response, "x-amzn-ErrorType"), "");
    EXPECT_EQ(header(response, "x-amzn-RequestId").size(), 36u);
    const json device = body(response);
    EXPECT_EQ(device["Status"], "AWAITING_PROVISIONING");
    const std::string deviceId = device["DeviceId"];
    EXPECT_TRUE(std::all_of(
        deviceId.begin(), deviceId.end(), [](char c) { return std::isalnum(c) || c == '-' || c == '_'; }));
    EXPECT_EQ(device["Arn"], "arn:aws:panorama:us-east-1:123456789012:device/" + deviceId);
    EXPECT_EQ(device["IotThingName"], deviceId);
    const std::string archive = base64Decode(device["Certificates"]);
    EXPECT_EQ(archive.substr(0, 4), std::string("PK\x03\x04", 4));
    EXPECT_NE(archive.find("manifest.json"), std::string::npos);
}

TEST_F(DeviceApiTest, TheSameNameAgainIsAConflictNamingTheFirstDevice)
{
    const json first = body(call("POST", "/devices", kStaticRequest));
    const HttpResponse again = call("POST", "/devices", kStaticRequest);
    expectError(again, 409, "ConflictException");
    EXPECT_EQ(body(again)["ResourceId"], first["DeviceId"]);
    EXPECT_EQ(body(again)["ResourceType"], "device");
    EXPECT_EQ(listedDevices(), 1u);
}

TEST_F(DeviceApiTest, AQuotaOfTwoRefusesTheThirdDevice)
{
    start(2);
    EXPECT_EQ(call("POST", "/devices", named("cam-1")).status, 200);
    EXPECT_EQ(call("POST", "/devices", named("cam-2")).status, 200);
    const HttpResponse third = call("POST", "/devices", named("cam-3"));
    expectError(third, 402, "ServiceQuotaExceededException");
    EXPECT_FALSE(body(third).value("QuotaCode", "").empty());
    EXPECT_EQ(body(third)["ServiceCode"], "panorama");
    EXPECT_EQ(listedDevices(), 2u);
}

TEST_F(DeviceApiTest, ABadValueIsAValidationExceptionNamingTheField)
{
    json request = json::parse(kStaticRequest);
    request["NetworkingConfiguration"]["Ethernet0"]["StaticIpConnectionInfo"]["Mask"] = "255.0.255.0";
    const HttpResponse response = call("POST", "/devices", request.dump());
    expectError(response, 400, "ValidationException");
    const json error = body(response);
    EXPECT_EQ(error["Reason"], "FIELD_VALIDATION_FAILED");
    ASSERT_EQ(error["Fields"].size(), 1u);
    EXPECT_EQ(error["Fields"][0]["Name"], "NetworkingConfiguration.Ethernet0.StaticIpConnectionInfo.Mask");
    EXPECT_EQ(listedDevices(), 0u);
}

TEST_F(DeviceApiTest, BodiesThatAreNotJsonObjectsCannotBeParsed)
{
    const std::string deeplyNested = std::string(900, '[') + std::string(900, ']');
    for (const std::string& payload : { std::string("{\"Name\": \"cam-\xff\"}"), deeplyNested,
             std::string("[]"), std::string("{\"Name\": \"a\", \"Name\": \"b\"}"), std::string() }) {
        const HttpResponse response = call("POST", "/devices", payload);
        expectError(response, 400, "ValidationException");
        EXPECT_EQ(body(response)["Reason"], "CANNOT_PARSE") << payload.substr(0, 40);
        EXPECT_FALSE(body(response).contains("Fields"));
    }
}

TEST_F(DeviceApiTest, NothingHappensWithoutAValidSignature)
{
    HttpRequest unsignedRequest { "POST", "/devices", { { "Host", "127.0.0.1" } }, kStaticRequest };
    expectError(api->handle(unsignedRequest, kNow), 403, "AccessDeniedException");

    const sigv4::AccessKey wrongSecret { kKey.id, "not-the-secret" };
    expectError(api->handle(signedRequest("POST", "/devices", kStaticRequest, kNow, wrongSecret), kNow), 403,
        "AccessDeniedException");

    const HttpResponse stale
        = api->handle(signedRequest("POST", "/devices", kStaticRequest, kNow - 16 * 60), kNow);
    expectError(stale, 403, "AccessDeniedException");

    // Unknown operations are not revealed to strangers either.
    HttpRequest probe { "DELETE", "/devices/x", { { "Host", "127.0.0.1" } }, {} };
    expectError(api->handle(probe, kNow), 403, "AccessDeniedException");
    EXPECT_EQ(listedDevices(), 0u);
}

TEST_F(DeviceApiTest, ClientBytesThatAreNotUtf8StillGiveAJsonError)
{
    HttpRequest request { "GET", "/devices",
        { { "Host", "127.0.0.1" }, { "X-Amz-Date", time::formatIso8601BasicUtc(kNow) },
            { "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKID\xff\xfe/" + time::formatIso8601BasicUtc(kNow).substr(0, 8)
                    + "/us-east-1/panorama/aws4_request, SignedHeaders=host;x-amz-date, Signature="
                    + std::string(64, 'a') } },
        {} };
    const HttpResponse response = api->handle(request, kNow);
    expectError(response, 403, "AccessDeniedException");
    EXPECT_NE(body(response)["Message"].get<std::string>().find("AKID\xEF\xBF\xBD"), std::string::npos)
        << response.body;
}

TEST_F(DeviceApiTest, AnOversizedBodyIs413WithoutBeingRead)
{
    HttpRequest request { "POST", "/devices", { { "Host", "127.0.0.1" } }, {}, true };
    const HttpResponse response = api->handle(request, kNow);
    expectError(response, 413, "ValidationException");
    EXPECT_NE(body(response)["Message"].get<std::string>().find("1024"), std::string::npos);
}

TEST_F(DeviceApiTest, DescribeDeviceShowsTheRecordAndItsStatus)
{
    const json issued = body(call("POST", "/devices", kStaticRequest));
    const std::string deviceId = issued["DeviceId"];
    const HttpResponse response = call("GET", "/devices/" + deviceId);
    ASSERT_EQ(response.status, 200) << response.body;
    const json device = body(response);
    EXPECT_EQ(device["DeviceId"], deviceId);
    EXPECT_EQ(device["Arn"], issued["Arn"]);
    EXPECT_EQ(device["Name"], "cam-01");
    EXPECT_EQ(device["Description"], "lobby");
    EXPECT_EQ(device["Tags"], json({ { "site", "berlin" } }));
    EXPECT_EQ(device["ProvisioningStatus"], "AWAITING_PROVISIONING");
    // Issued without an enrolment endpoint: nothing will ever connect.
    EXPECT_EQ(device["DeviceConnectionStatus"], "NOT_AVAILABLE");
    EXPECT_EQ(device["DeviceAggregatedStatus"], "AWAITING_PROVISIONING");
    EXPECT_EQ(device["CreatedTime"], kNow);
    EXPECT_EQ(device["NetworkingConfiguration"], json::parse(kStaticRequest)["NetworkingConfiguration"]);
    EXPECT_FALSE(device.contains("Certificates"));
    EXPECT_FALSE(device.contains("CurrentNetworkingStatus"));
    EXPECT_FALSE(device.contains("LeaseExpirationTime"));
}

TEST_F(DeviceApiTest, TheRegistryRecordsTheProvisioningCertificateSerialOfTheLatestArchive)
{
    const json issued = body(call("POST", "/devices", kStaticRequest));
    const std::string archive = base64Decode(issued["Certificates"]);
    auto entries = archive::readArchive(
        std::span(reinterpret_cast<const std::uint8_t*>(archive.data()), archive.size()));
    ASSERT_TRUE(entries) << entries.error().message;
    auto certificate = trust::loadCertificatePem(entries->certificate, "certificate.pem");
    ASSERT_TRUE(certificate);
    BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get_serialNumber(certificate->get()), nullptr);
    char* hex = BN_bn2hex(serial);
    const std::string expected = hex;
    OPENSSL_free(hex);
    BN_free(serial);

    auto registry = registry::Registry::open(directory / "registry.sqlite");
    ASSERT_TRUE(registry);
    auto record = registry->findById(issued["DeviceId"]);
    ASSERT_TRUE(record && *record);
    EXPECT_EQ((*record)->provisioningCertificateSerial, expected);
    EXPECT_GE(expected.size(), 16u); // 128 random bits, rarely fewer than 16 hex digits
}

TEST_F(DeviceApiTest, DescribeDeviceShowsEnrolmentAndTheLastReport)
{
    const std::string deviceId = provisioned("cam-01");
    const std::string report
        = R"({"Ethernet0Status":{"IpAddress":"192.168.1.10/24","ConnectionStatus":"CONNECTED","HwAddress":"52:54:00:12:34:56"},)"
          R"("NtpStatus":{"ConnectionStatus":"CONNECTED","IpAddress":"192.0.2.123","NtpServerName":"pool.ntp.org"}})";
    recordInRegistry("UPDATE devices SET enrollment_url = 'https://issuer.example:8443', first_contact_at = "
        + std::to_string(kNow + 10) + ", enrolled_at = " + std::to_string(kNow + 10)
        + ", device_certificate_serial = 'AB12', device_certificate_not_after = "
        + std::to_string(kNow + 86400) + ", last_report_json = '" + report
        + "', last_report_at = " + std::to_string(kNow + 20) + " WHERE device_id = '" + deviceId + "'");

    json device = body(call("GET", "/devices/" + deviceId, {}, kNow + 30));
    EXPECT_EQ(device["ProvisioningStatus"], "SUCCEEDED");
    EXPECT_EQ(device["DeviceConnectionStatus"], "ONLINE");
    EXPECT_EQ(device["DeviceAggregatedStatus"], "ONLINE");
    EXPECT_EQ(device["LeaseExpirationTime"], kNow + 86400);
    json expected = json::parse(report);
    expected["LastUpdatedTime"] = kNow + 20;
    EXPECT_EQ(device["CurrentNetworkingStatus"], expected);

    // --offline-after's default, 900 s, after the last report.
    device = body(call("GET", "/devices/" + deviceId, {}, kNow + 20 + 900));
    EXPECT_EQ(device["DeviceConnectionStatus"], "OFFLINE");
    EXPECT_EQ(device["DeviceAggregatedStatus"], "OFFLINE");
    device = body(call("GET", "/devices/" + deviceId, {}, kNow + 86401));
    EXPECT_EQ(device["DeviceAggregatedStatus"], "LEASE_EXPIRED");

    const json listed = body(call("GET", "/devices", {}, kNow + 30));
    ASSERT_EQ(listed["Devices"].size(), 1u);
    EXPECT_EQ(listed["Devices"][0]["LeaseExpirationTime"], kNow + 86400);
    EXPECT_EQ(listed["Devices"][0]["LastUpdatedTime"], kNow + 20);
    EXPECT_EQ(listed["Devices"][0]["DeviceAggregatedStatus"], "ONLINE");
    EXPECT_FALSE(listed["Devices"][0].contains("DeviceConnectionStatus")); // not in the model's Device
}

// The members and enum values of the Panorama model (botocore's
// panorama/2019-07-24/service-2.json), copied: every member this service
// answers must be one the model has, with a value the model allows.
TEST_F(DeviceApiTest, ResponsesUseOnlyTheModelsMembersAndEnumValues)
{
    const std::set<std::string> describeMembers { "AlternateSoftwares", "Arn", "Brand", "CreatedTime",
        "CurrentNetworkingStatus", "CurrentSoftware", "Description", "DeviceAggregatedStatus",
        "DeviceConnectionStatus", "DeviceId", "LatestAlternateSoftware", "LatestDeviceJob", "LatestSoftware",
        "LeaseExpirationTime", "Name", "NetworkingConfiguration", "ProvisioningStatus", "SerialNumber",
        "Tags", "Type" };
    const std::set<std::string> deviceMembers { "Brand", "CreatedTime", "CurrentSoftware", "Description",
        "DeviceAggregatedStatus", "DeviceId", "LastUpdatedTime", "LatestDeviceJob", "LeaseExpirationTime",
        "Name", "ProvisioningStatus", "Tags", "Type" };
    const std::set<std::string> networkStatusMembers { "Ethernet0Status", "Ethernet1Status",
        "LastUpdatedTime", "NtpStatus" };
    const std::set<std::string> provisioningValues { "AWAITING_PROVISIONING", "PENDING", "SUCCEEDED",
        "FAILED", "ERROR", "DELETING" };
    const std::set<std::string> connectionValues { "ONLINE", "OFFLINE", "AWAITING_CREDENTIALS",
        "NOT_AVAILABLE", "ERROR" };
    const std::set<std::string> aggregatedValues { "ERROR", "AWAITING_PROVISIONING", "PENDING", "FAILED",
        "DELETING", "ONLINE", "OFFLINE", "LEASE_EXPIRED", "UPDATE_NEEDED", "REBOOTING" };

    const std::string deviceId = provisioned("cam-01");
    recordInRegistry("UPDATE devices SET enrolled_at = " + std::to_string(kNow)
        + ", device_certificate_serial = 'AA', device_certificate_not_after = " + std::to_string(kNow + 86400)
        + R"(, last_report_json = '{"NtpStatus":{"ConnectionStatus":"CONNECTED"}}', last_report_at = )"
        + std::to_string(kNow) + " WHERE device_id = '" + deviceId + "'");
    call("PUT", "/devices/" + deviceId, R"({"Description":"lobby"})");

    const json described = body(call("GET", "/devices/" + deviceId));
    for (const auto& [member, value] : described.items())
        EXPECT_TRUE(describeMembers.count(member)) << member << " is not in DescribeDeviceResponse";
    for (const auto& [member, value] : described["CurrentNetworkingStatus"].items())
        EXPECT_TRUE(networkStatusMembers.count(member)) << member << " is not in NetworkStatus";
    EXPECT_TRUE(provisioningValues.count(described["ProvisioningStatus"]));
    EXPECT_TRUE(connectionValues.count(described["DeviceConnectionStatus"]));
    EXPECT_TRUE(aggregatedValues.count(described["DeviceAggregatedStatus"]));

    const json listed = body(call("GET", "/devices"));
    ASSERT_EQ(listed["Devices"].size(), 1u);
    for (const auto& [member, value] : listed["Devices"][0].items())
        EXPECT_TRUE(deviceMembers.count(member)) << member << " is not in Device";
    for (const auto& [member, value] : listed.items())
        EXPECT_TRUE(member == "Devices" || member == "NextToken") << member;
}

TEST_F(DeviceApiTest, AnIssuedDeviceWithAnEndpointFailsAfterTheWindowAndTheGrace)
{
    const std::string deviceId = provisioned("cam-01");
    recordInRegistry(
        "UPDATE devices SET enrollment_url = 'https://issuer.example' WHERE device_id = '" + deviceId + "'");
    EXPECT_EQ(body(call("GET", "/devices/" + deviceId, {}, kNow + 900))["ProvisioningStatus"],
        "AWAITING_PROVISIONING");
    const json failed = body(call("GET", "/devices/" + deviceId, {}, kNow + 901));
    EXPECT_EQ(failed["ProvisioningStatus"], "FAILED");
    EXPECT_EQ(failed["DeviceConnectionStatus"], "AWAITING_CREDENTIALS");
    EXPECT_EQ(failed["DeviceAggregatedStatus"], "FAILED");

    start(std::nullopt, registry::FleetTiming { 900, 1200 }); // --enroll-grace 1200
    EXPECT_EQ(body(call("GET", "/devices/" + deviceId, {}, kNow + 901))["ProvisioningStatus"],
        "AWAITING_PROVISIONING");
}

TEST_F(DeviceApiTest, ADeviceIssuedByServeWithAPublicUrlAwaitsCredentialsThenFails)
{
    start(std::nullopt, {}, true);
    const std::string deviceId = provisioned("cam-01");
    const json waiting = body(call("GET", "/devices/" + deviceId));
    EXPECT_EQ(waiting["ProvisioningStatus"], "AWAITING_PROVISIONING");
    EXPECT_EQ(waiting["DeviceConnectionStatus"], "AWAITING_CREDENTIALS");
    EXPECT_EQ(body(call("GET", "/devices/" + deviceId, {}, kNow + 901))["ProvisioningStatus"], "FAILED");
}

TEST_F(DeviceApiTest, DescribeDeviceOfAnUnknownOrMalformedId)
{
    const HttpResponse missing = call("GET", "/devices/device-doesnotexist");
    expectError(missing, 404, "ResourceNotFoundException");
    EXPECT_EQ(body(missing)["ResourceId"], "device-doesnotexist");

    const HttpResponse malformed = call("GET", "/devices/bad%20id");
    expectError(malformed, 400, "ValidationException");
    EXPECT_EQ(body(malformed)["Fields"][0]["Name"], "DeviceId");
}

TEST_F(DeviceApiTest, ListDevicesPagesNewestFirstAndFilters)
{
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i)
        ids.push_back(
            body(call("POST", "/devices", named("cam-" + std::to_string(i)), kNow + i))["DeviceId"]);
    call("POST", "/devices", named("door-1"), kNow + 10);

    std::vector<std::string> listed;
    std::string token;
    for (int page = 0; page < 10; ++page) {
        const HttpResponse response = call("GET",
            "/devices?MaxResults=2&NameFilter=cam" + (token.empty() ? "" : "&NextToken=" + token), {},
            kNow + 10);
        ASSERT_EQ(response.status, 200) << response.body;
        const json pageBody = body(response);
        EXPECT_LE(pageBody["Devices"].size(), 2u);
        for (const auto& device : pageBody["Devices"])
            listed.push_back(device["DeviceId"]);
        if (!pageBody.contains("NextToken"))
            break;
        token = pageBody["NextToken"];
    }
    std::vector<std::string> newestFirst(ids.rbegin(), ids.rend());
    EXPECT_EQ(listed, newestFirst);

    const json byName = body(call("GET", "/devices?SortBy=NAME", {}, kNow + 10));
    ASSERT_EQ(byName["Devices"].size(), 6u);
    EXPECT_EQ(byName["Devices"][0]["Name"], "cam-0");
    EXPECT_EQ(byName["Devices"][5]["Name"], "door-1");
}

TEST_F(DeviceApiTest, ListDevicesRefusesValuesOutsideTheModel)
{
    const HttpResponse response = call("GET", "/devices?MaxResults=26&SortOrder=UP");
    expectError(response, 400, "ValidationException");
    std::set<std::string> fields;
    const json error = body(response);
    for (const auto& field : error["Fields"])
        fields.insert(field["Name"]);
    EXPECT_EQ(fields, (std::set<std::string> { "MaxResults", "SortOrder" }));

    for (const std::string& query : std::vector<std::string> { "MaxResults=-1", "MaxResults=2x",
             "SortBy=SIZE", "DeviceAggregatedStatusFilter=SLEEPING", "NextToken=", "NextToken=zz",
             "NextToken=7b7d", "NextToken=" + std::string(4097, 'a') }) {
        const HttpResponse refused = call("GET", "/devices?" + query);
        expectError(refused, 400, "ValidationException");
        EXPECT_EQ(body(refused)["Reason"], "FIELD_VALIDATION_FAILED") << query;
    }
}

TEST_F(DeviceApiTest, ListDevicesPagesOverTiesByDeviceIdAndRefusesAForeignToken)
{
    std::vector<std::string> ids;
    for (int i = 0; i < 7; ++i)
        ids.push_back(provisioned("cam-" + std::to_string(i), kNow + i / 3)); // ties of three
    std::vector<std::string> byId = ids;
    std::sort(byId.begin(), byId.end());

    EXPECT_EQ(listedIds("SortBy=DEVICE_ID&MaxResults=2"), byId);
    std::vector<std::string> byIdDescending(byId.rbegin(), byId.rend());
    EXPECT_EQ(listedIds("SortBy=DEVICE_ID&SortOrder=DESCENDING&MaxResults=3"), byIdDescending);

    // CREATED_TIME descending; inside a second, DeviceId descending too.
    std::vector<std::pair<std::int64_t, std::string>> created;
    for (int i = 0; i < 7; ++i)
        created.emplace_back(kNow + i / 3, ids[static_cast<std::size_t>(i)]);
    std::sort(created.rbegin(), created.rend());
    std::vector<std::string> newestFirst;
    for (const auto& [at, id] : created)
        newestFirst.push_back(id);
    EXPECT_EQ(listedIds("MaxResults=1"), newestFirst);
    // 0 is in the model's range (MaxSize25: 0 to 25) and asks for the default page.
    EXPECT_EQ(listedIds("MaxResults=0"), newestFirst);
    // Every device has the same status: the order is DeviceId's.
    EXPECT_EQ(listedIds("SortBy=DEVICE_AGGREGATED_STATUS&MaxResults=4"), byId);

    // A token belongs to its query.
    const json firstPage = body(call("GET", "/devices?SortBy=NAME&MaxResults=2"));
    ASSERT_TRUE(firstPage.contains("NextToken"));
    const std::string token = firstPage["NextToken"];
    EXPECT_EQ(call("GET", "/devices?SortBy=NAME&MaxResults=2&NextToken=" + token).status, 200);
    const HttpResponse foreign = call("GET", "/devices?SortBy=DEVICE_ID&MaxResults=2&NextToken=" + token);
    expectError(foreign, 400, "ValidationException");
    EXPECT_EQ(body(foreign)["Fields"][0]["Name"], "NextToken");

    // A NameFilter of any length still gives a token within the model's 4096 characters.
    const std::string longFilter = "cam-" + std::string(3000, 'x');
    provisioned(longFilter.substr(0, 255));
    provisioned(longFilter.substr(0, 254));
    EXPECT_EQ(listedIds("MaxResults=1&NameFilter=cam-xxx").size(), 2u);
    const json longPage = body(call("GET", "/devices?MaxResults=1&NameFilter=" + longFilter.substr(0, 254)));
    ASSERT_TRUE(longPage.contains("NextToken")) << longPage.dump().substr(0, 200);
    EXPECT_LE(longPage["NextToken"].get<std::string>().size(), 4096u);
    EXPECT_EQ(call("GET",
                  "/devices?MaxResults=1&NameFilter=" + longFilter.substr(0, 254)
                      + "&NextToken=" + longPage["NextToken"].get<std::string>())
                  .status,
        200);

    // A cursor, not an offset: deleting a device already listed shifts nothing.
    const json page1 = body(call("GET", "/devices?SortBy=NAME&MaxResults=3"));
    ASSERT_EQ(call("DELETE", "/devices/" + page1["Devices"][0]["DeviceId"].get<std::string>()).status, 200);
    const json page2 = body(
        call("GET", "/devices?SortBy=NAME&MaxResults=3&NextToken=" + page1["NextToken"].get<std::string>()));
    ASSERT_EQ(page2["Devices"].size(), 3u);
    EXPECT_EQ(page2["Devices"][0]["Name"], "cam-3");
}

TEST_F(DeviceApiTest, ListDevicesFiltersByTheComputedStatus)
{
    const std::string waiting = provisioned("cam-waiting");
    const std::string online = provisioned("cam-online");
    recordInRegistry("UPDATE devices SET enrolled_at = " + std::to_string(kNow)
        + ", device_certificate_serial = 'AA', device_certificate_not_after = " + std::to_string(kNow + 86400)
        + ", last_report_json = '{}', last_report_at = " + std::to_string(kNow) + " WHERE device_id = '"
        + online + "'");
    EXPECT_EQ(listedIds("DeviceAggregatedStatusFilter=ONLINE"), std::vector<std::string> { online });
    EXPECT_EQ(listedIds("DeviceAggregatedStatusFilter=AWAITING_PROVISIONING"),
        std::vector<std::string> { waiting });
    EXPECT_EQ(
        listedIds("DeviceAggregatedStatusFilter=OFFLINE", kNow + 900), std::vector<std::string> { online });
    EXPECT_TRUE(listedIds("DeviceAggregatedStatusFilter=FAILED").empty());
    EXPECT_EQ(listedIds("NameFilter=cam-on"), std::vector<std::string> { online });
    EXPECT_TRUE(listedIds("NameFilter=online").empty()); // a prefix, not a substring
}

TEST_F(DeviceApiTest, DeleteDeviceRevokesAndFreesTheName)
{
    start(2);
    const std::string first = provisioned("cam-01");
    provisioned("cam-02");
    const HttpResponse deleted = call("DELETE", "/devices/" + first);
    ASSERT_EQ(deleted.status, 200) << deleted.body;
    EXPECT_EQ(body(deleted), json({ { "DeviceId", first } }));

    expectError(call("DELETE", "/devices/" + first), 404, "ResourceNotFoundException");
    const HttpResponse described = call("GET", "/devices/" + first);
    expectError(described, 404, "ResourceNotFoundException");
    EXPECT_EQ(body(described)["ResourceId"], first);
    EXPECT_EQ(body(described)["ResourceType"], "device");
    expectError(call("PUT", "/devices/" + first, R"({"Description":"x"})"), 404, "ResourceNotFoundException");
    EXPECT_EQ(listedDevices(), 1u);

    // The Name is free again, and a deleted device leaves the quota.
    const std::string second = provisioned("cam-01");
    EXPECT_NE(second, first);
    EXPECT_EQ(listedDevices(), 2u);

    // The revoked row stays on record, serial and all, for enrolment to refuse.
    auto registry = registry::Registry::open(directory / "registry.sqlite");
    ASSERT_TRUE(registry);
    auto revoked = registry->findById(first);
    ASSERT_TRUE(revoked && *revoked);
    EXPECT_TRUE((*revoked)->deleted());
    EXPECT_EQ((*revoked)->deletedAt, kNow);
    EXPECT_FALSE((*revoked)->provisioningCertificateSerial.empty());

    expectError(call("DELETE", "/devices/device-neverissued"), 404, "ResourceNotFoundException");
    expectError(call("DELETE", "/devices/bad%20id"), 400, "ValidationException");
}

TEST_F(DeviceApiTest, UpdateDeviceMetadataChangesTheDescriptionWithinTheModel)
{
    const std::string deviceId = provisioned("cam-01");
    const HttpResponse updated = call("PUT", "/devices/" + deviceId, R"({"Description":"hall, 2nd floor"})");
    ASSERT_EQ(updated.status, 200) << updated.body;
    EXPECT_EQ(body(updated), json({ { "DeviceId", deviceId } }));
    EXPECT_EQ(body(call("GET", "/devices/" + deviceId))["Description"], "hall, 2nd floor");

    // No Description: nothing changes.
    EXPECT_EQ(call("PUT", "/devices/" + deviceId, "{}").status, 200);
    EXPECT_EQ(body(call("GET", "/devices/" + deviceId))["Description"], "hall, 2nd floor");

    for (const json& bad : { json(std::string(256, 'd')), json("two\nlines"), json(7) }) {
        const HttpResponse refused
            = call("PUT", "/devices/" + deviceId, json({ { "Description", bad } }).dump());
        expectError(refused, 400, "ValidationException");
        EXPECT_EQ(body(refused)["Fields"][0]["Name"], "Description") << bad.dump();
    }
    const HttpResponse notJson = call("PUT", "/devices/" + deviceId, "{\"Description\": ");
    expectError(notJson, 400, "ValidationException");
    EXPECT_EQ(body(notJson)["Reason"], "CANNOT_PARSE");
    EXPECT_EQ(body(call("GET", "/devices/" + deviceId))["Description"], "hall, 2nd floor");

    // The longest the model allows, and empty (which removes it).
    EXPECT_EQ(
        call("PUT", "/devices/" + deviceId, json({ { "Description", std::string(255, 'd') } }).dump()).status,
        200);
    EXPECT_EQ(call("PUT", "/devices/" + deviceId, R"({"Description":""})").status, 200);
    EXPECT_FALSE(body(call("GET", "/devices/" + deviceId)).contains("Description"));

    expectError(call("PUT", "/devices/device-neverissued", "{}"), 404, "ResourceNotFoundException");
}

TEST_F(DeviceApiTest, AnUnknownOperationSaysWhatThereIs)
{
    const HttpResponse response = call("PATCH", "/devices/device-x");
    expectError(response, 400, "ValidationException");
    EXPECT_EQ(body(response)["Reason"], "UNKNOWN_OPERATION");
}

TEST_F(DeviceApiTest, ConcurrentRequestsGetDistinctDevicesAndOneWinnerPerName)
{
    constexpr int kThreads = 8;
    std::vector<std::thread> threads;
    std::vector<HttpResponse> distinct(kThreads), sameName(kThreads);
    for (int i = 0; i < kThreads; ++i)
        threads.emplace_back([&, i] {
            distinct[static_cast<std::size_t>(i)]
                = call("POST", "/devices", named("cam-" + std::to_string(i)));
            sameName[static_cast<std::size_t>(i)] = call("POST", "/devices", named("shared"));
        });
    for (auto& thread : threads)
        thread.join();
    std::set<std::string> ids;
    for (const auto& response : distinct) {
        ASSERT_EQ(response.status, 200) << response.body;
        ids.insert(body(response)["DeviceId"].get<std::string>());
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads));
    const auto winners
        = std::count_if(sameName.begin(), sameName.end(), [](const auto& r) { return r.status == 200; });
    const auto conflicts
        = std::count_if(sameName.begin(), sameName.end(), [](const auto& r) { return r.status == 409; });
    EXPECT_EQ(winners, 1);
    EXPECT_EQ(conflicts, kThreads - 1);
    EXPECT_EQ(listedDevices(), static_cast<std::size_t>(kThreads + 1));
}

} // namespace
} // namespace omni::serve
