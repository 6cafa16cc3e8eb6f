// status.json's document: enum strings, the JSON shape of DESIGN.md section 5,
// and strict parsing that tells a corrupt file from a valid one.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "daemon/device/state/status_document.hpp"

namespace omni::state {
namespace {

constexpr time::UnixTime kUpdatedAt = 1'795'000'000; // 2026-11-18T...
constexpr time::UnixTime kAttemptAt = 1'795'000'042;

StatusDocument fullDocument()
{
    StatusDocument document;
    document.status = DeviceStatus::Succeeded;
    document.updatedAt = kUpdatedAt;
    document.applied = AppliedProvisioning {
        "cam-01",
        "device-3xk2m4q7wzt5bh6ry1pnc9d8sa",
        "arn:aws:panorama:us-east-1:123456789012:device/device-3xk2m4q7wzt5bh6ry1pnc9d8sa",
        "device-3xk2m4q7wzt5bh6ry1pnc9d8sa",
        std::string(64, 'a'),
        nlohmann::json { { "Ethernet0",
                             { { "ConnectionType", "STATIC_IP" },
                                 { "StaticIpConnectionInfo",
                                     { { "IpAddress", "192.0.2.10" }, { "Mask", "255.255.255.0" },
                                         { "DefaultGateway", "192.0.2.1" },
                                         { "Dns", { "192.0.2.53", "2001:db8::53" } } } } } },
            { "Ethernet1", { { "ConnectionType", "DHCP" } } },
            { "Ntp", { { "NtpServers", { "pool.ntp.org", "192.0.2.123:123" } } } } },
    };
    document.lastAttempt = LastAttempt { AttemptResult::Failed, ReasonCode::CertExpired,
        "the provisioning certificate expired", kAttemptAt, "certificates-omni_cam-02.zip" };
    return document;
}

Result<StatusDocument> parse(const std::string& bytes)
{
    return parseStatusDocument(bytes, "status.json");
}

TEST(DeviceStatusTest, EveryStatusRoundTripsThroughTheSeedsString)
{
    const std::vector<std::pair<DeviceStatus, std::string>> expected {
        { DeviceStatus::AwaitingProvisioning, "AWAITING_PROVISIONING" },
        { DeviceStatus::Pending, "PENDING" },
        { DeviceStatus::Succeeded, "SUCCEEDED" },
        { DeviceStatus::Failed, "FAILED" },
        { DeviceStatus::Error, "ERROR" },
        { DeviceStatus::Deleting, "DELETING" },
    };
    for (const auto& [status, text] : expected) {
        EXPECT_EQ(toString(status), text);
        EXPECT_EQ(deviceStatusFromString(text), status) << text;
    }
    EXPECT_EQ(deviceStatusFromString("succeeded"), std::nullopt);
    EXPECT_EQ(deviceStatusFromString(""), std::nullopt);
}

TEST(DeviceStatusTest, EveryAttemptResultRoundTrips)
{
    for (const auto result : { AttemptResult::Succeeded, AttemptResult::Failed, AttemptResult::Error })
        EXPECT_EQ(attemptResultFromString(toString(result)), result);
    EXPECT_EQ(toString(AttemptResult::Succeeded), "SUCCEEDED");
    EXPECT_EQ(toString(AttemptResult::Failed), "FAILED");
    EXPECT_EQ(toString(AttemptResult::Error), "ERROR");
    EXPECT_EQ(attemptResultFromString("ALREADY_APPLIED"), std::nullopt);
}

TEST(StatusDocumentTest, EveryFieldRoundTrips)
{
    const StatusDocument document = fullDocument();
    const auto parsed = parse(serializeStatusDocument(document));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, document);
}

TEST(StatusDocumentTest, JsonHasTheKeysOfSection5InOrder)
{
    const StatusDocument document = fullDocument();
    const nlohmann::ordered_json json = toJson(document);
    std::vector<std::string> keys;
    for (const auto& [key, value] : json.items())
        keys.push_back(key);
    EXPECT_EQ(keys,
        (std::vector<std::string> { "Status", "Name", "DeviceId", "Arn", "IotThingName", "UpdatedAt",
            "ArchiveSha256", "NetworkingConfiguration", "LastAttempt" }));
    EXPECT_EQ(json["Status"], "SUCCEEDED");
    EXPECT_EQ(json["Name"], document.applied->name);
    EXPECT_EQ(json["DeviceId"], document.applied->deviceId);
    EXPECT_EQ(json["Arn"], document.applied->arn);
    EXPECT_EQ(json["IotThingName"], document.applied->iotThingName);
    EXPECT_EQ(json["UpdatedAt"], time::formatRfc3339(kUpdatedAt));
    EXPECT_EQ(json["ArchiveSha256"], document.applied->archiveSha256);
    EXPECT_EQ(nlohmann::json(json["NetworkingConfiguration"]), document.applied->networkingConfiguration);
    const auto& attempt = json["LastAttempt"];
    std::vector<std::string> attemptKeys;
    for (const auto& [key, value] : attempt.items())
        attemptKeys.push_back(key);
    EXPECT_EQ(attemptKeys, (std::vector<std::string> { "Result", "Reason", "Message", "At", "FileName" }));
    EXPECT_EQ(attempt["Result"], "FAILED");
    EXPECT_EQ(attempt["Reason"], "CERT_EXPIRED");
    EXPECT_EQ(attempt["Message"], document.lastAttempt->message);
    EXPECT_EQ(attempt["At"], time::formatRfc3339(kAttemptAt));
    EXPECT_EQ(attempt["FileName"], "certificates-omni_cam-02.zip");
    const std::string bytes = serializeStatusDocument(document);
    EXPECT_EQ(bytes.back(), '\n');
    EXPECT_EQ(nlohmann::ordered_json::parse(bytes), json);
}

TEST(StatusDocumentTest, NeverWrittenDocumentHasEveryKeyNullButStatus)
{
    const nlohmann::ordered_json json = toJson(StatusDocument {});
    EXPECT_EQ(json["Status"], "AWAITING_PROVISIONING");
    for (const char* key : { "Name", "DeviceId", "Arn", "IotThingName", "UpdatedAt", "ArchiveSha256",
             "NetworkingConfiguration", "LastAttempt" })
        EXPECT_TRUE(json.at(key).is_null()) << key;
    const auto parsed = parse(serializeStatusDocument(StatusDocument {}));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, StatusDocument {});
}

TEST(StatusDocumentTest, ProvisioningWithoutNetworkingConfigurationAndAttemptWithoutFileRoundTrip)
{
    StatusDocument document = fullDocument();
    document.status = DeviceStatus::Error;
    document.applied->networkingConfiguration = nullptr;
    document.lastAttempt = LastAttempt { AttemptResult::Error, ReasonCode::InternalError,
        "netlink socket failed", kAttemptAt, {} };
    const auto parsed = parse(serializeStatusDocument(document));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, document);
    EXPECT_TRUE(toJson(document)["LastAttempt"]["FileName"].is_null());
}

TEST(StatusDocumentTest, SucceededAttemptHasNullReason)
{
    StatusDocument document = fullDocument();
    document.lastAttempt
        = LastAttempt { AttemptResult::Succeeded, std::nullopt, "applied", kAttemptAt, "a.zip" };
    EXPECT_TRUE(toJson(document)["LastAttempt"]["Reason"].is_null());
    const auto parsed = parse(serializeStatusDocument(document));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, document);
}

TEST(StatusDocumentTest, UnknownKeysAreIgnored)
{
    nlohmann::ordered_json json = toJson(fullDocument());
    json["AddedByANewerVersion"] = { 1, 2, 3 };
    json["LastAttempt"]["Extra"] = true;
    const auto parsed = parse(json.dump());
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, fullDocument());
}

TEST(StatusDocumentTest, FileNameThatIsNotUtf8IsStoredWithReplacementCharacters)
{
    StatusDocument document = fullDocument();
    document.lastAttempt->fileName = std::string("certificates-omni_\xff\xfe.zip");
    const std::string bytes = serializeStatusDocument(document);
    const auto parsed = parse(bytes);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->lastAttempt->fileName, "certificates-omni_\xEF\xBF\xBD\xEF\xBF\xBD.zip");
}

struct CorruptCase {
    std::string name;
    std::function<std::string()> bytes;
    std::string mentions; // the key or cause the message must name
};

std::string edited(
    const std::function<void(nlohmann::ordered_json&)>& edit, const StatusDocument& document = fullDocument())
{
    nlohmann::ordered_json json = toJson(document);
    edit(json);
    return json.dump(2);
}

TEST(StatusDocumentTest, CorruptDocumentsAreRejectedNamingTheProblem)
{
    const std::string valid = serializeStatusDocument(fullDocument());
    StatusDocument awaiting;
    awaiting.updatedAt = kUpdatedAt;
    const std::vector<CorruptCase> cases {
        { "empty file", [] { return std::string(); }, "empty" },
        { "truncated", [&] { return valid.substr(0, valid.size() / 2); }, "not valid JSON" },
        { "zeroed blocks", [&] { return std::string(valid.size(), '\0'); }, "not valid JSON" },
        { "one byte flipped",
            [&] {
                std::string bytes = valid;
                bytes[0] = '[';
                return bytes;
            },
            "not valid JSON" },
        { "array", [] { return std::string("[]"); }, "not a JSON object" },
        { "status missing", [] { return edited([](auto& json) { json.erase("Status"); }); },
            "Status is missing" },
        { "status unknown", [] { return edited([](auto& json) { json["Status"] = "DONE"; }); }, "Status" },
        { "status lowercase", [] { return edited([](auto& json) { json["Status"] = "succeeded"; }); },
            "Status" },
        { "status number", [] { return edited([](auto& json) { json["Status"] = 3; }); }, "Status" },
        { "updated at not a time", [] { return edited([](auto& json) { json["UpdatedAt"] = "yesterday"; }); },
            "UpdatedAt" },
        { "updated at missing", [] { return edited([](auto& json) { json.erase("UpdatedAt"); }); },
            "UpdatedAt" },
        { "sha uppercase",
            [] { return edited([](auto& json) { json["ArchiveSha256"] = std::string(64, 'A'); }); },
            "ArchiveSha256" },
        { "sha short",
            [] { return edited([](auto& json) { json["ArchiveSha256"] = std::string(63, 'a'); }); },
            "ArchiveSha256" },
        { "name null beside a provisioning",
            [] { return edited([](auto& json) { json["Name"] = nullptr; }); }, "Name" },
        { "device id number", [] { return edited([](auto& json) { json["DeviceId"] = 7; }); }, "DeviceId" },
        { "arn missing", [] { return edited([](auto& json) { json.erase("Arn"); }); }, "Arn" },
        { "configuration a string",
            [] { return edited([](auto& json) { json["NetworkingConfiguration"] = "DHCP"; }); },
            "NetworkingConfiguration" },
        { "configuration without provisioning",
            [&] {
                return edited(
                    [](auto& json) { json["NetworkingConfiguration"] = nlohmann::ordered_json::object(); },
                    awaiting);
            },
            "NetworkingConfiguration" },
        { "succeeded without provisioning",
            [&] { return edited([](auto& json) { json["Status"] = "SUCCEEDED"; }, awaiting); }, "Status" },
        { "failed with provisioning", [] { return edited([](auto& json) { json["Status"] = "FAILED"; }); },
            "Status" },
        { "last attempt a number", [] { return edited([](auto& json) { json["LastAttempt"] = 1; }); },
            "LastAttempt" },
        { "last attempt missing", [] { return edited([](auto& json) { json.erase("LastAttempt"); }); },
            "LastAttempt" },
        { "result unknown",
            [] { return edited([](auto& json) { json["LastAttempt"]["Result"] = "ALREADY_APPLIED"; }); },
            "LastAttempt.Result" },
        { "reason unknown", [] { return edited([](auto& json) { json["LastAttempt"]["Reason"] = "OOPS"; }); },
            "LastAttempt.Reason" },
        { "failure without reason",
            [] { return edited([](auto& json) { json["LastAttempt"]["Reason"] = nullptr; }); },
            "LastAttempt.Reason" },
        { "success with reason",
            [] { return edited([](auto& json) { json["LastAttempt"]["Result"] = "SUCCEEDED"; }); },
            "LastAttempt.Reason" },
        { "message null", [] { return edited([](auto& json) { json["LastAttempt"]["Message"] = nullptr; }); },
            "LastAttempt.Message" },
        { "at missing", [] { return edited([](auto& json) { json["LastAttempt"].erase("At"); }); },
            "LastAttempt.At" },
        { "at not a time",
            [] { return edited([](auto& json) { json["LastAttempt"]["At"] = "2026-13-01T00:00:00Z"; }); },
            "LastAttempt.At" },
        { "file name a number",
            [] { return edited([](auto& json) { json["LastAttempt"]["FileName"] = 1; }); },
            "LastAttempt.FileName" },
    };
    for (const auto& corrupt : cases) {
        SCOPED_TRACE(corrupt.name);
        const auto parsed = parse(corrupt.bytes());
        ASSERT_FALSE(parsed);
        EXPECT_EQ(parsed.error().reason, ReasonCode::InternalError);
        EXPECT_NE(parsed.error().message.find("status.json is corrupt"), std::string::npos)
            << parsed.error().message;
        EXPECT_NE(parsed.error().message.find(corrupt.mentions), std::string::npos) << parsed.error().message;
    }
}

TEST(StatusDocumentTest, SettledStatusFollowsWhatIsOnRecord)
{
    StatusDocument document;
    document.status = DeviceStatus::Pending;
    EXPECT_EQ(settledStatus(document), DeviceStatus::AwaitingProvisioning);
    document.lastAttempt
        = LastAttempt { AttemptResult::Error, ReasonCode::InternalError, "driver", kAttemptAt, {} };
    EXPECT_EQ(settledStatus(document), DeviceStatus::AwaitingProvisioning) << "a fault without an archive";
    document.lastAttempt->fileName = "certificates-omni_cam-01.zip";
    EXPECT_EQ(settledStatus(document), DeviceStatus::Failed) << "a fault while an archive was tried";
    document.lastAttempt
        = LastAttempt { AttemptResult::Failed, ReasonCode::ArchiveNotFound, "none", kAttemptAt, {} };
    EXPECT_EQ(settledStatus(document), DeviceStatus::Failed);
    document = fullDocument();
    document.status = DeviceStatus::Error;
    EXPECT_EQ(settledStatus(document), DeviceStatus::Succeeded);
}

} // namespace
} // namespace omni::state
