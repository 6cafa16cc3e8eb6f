// The device API as the HTTP layer drives it: signed requests in, restJson1
// responses out (status, x-amzn-ErrorType, the model's members), against a
// real SQLite registry and a CA generated for the test.
#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/core/digest/digest.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/x509_builder.hpp"
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

    void start(std::optional<std::int64_t> maxDevices)
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
            issuer::ArnScope {}, maxDevices, directory / "registry.sqlite", 4, 1024 };
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
    EXPECT_EQ(device["CreatedTime"], kNow);
    EXPECT_EQ(device["NetworkingConfiguration"], json::parse(kStaticRequest)["NetworkingConfiguration"]);
    EXPECT_FALSE(device.contains("Certificates"));
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
}

TEST_F(DeviceApiTest, AnUnknownOperationSaysWhatThereIs)
{
    const HttpResponse response = call("DELETE", "/devices/device-x");
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
