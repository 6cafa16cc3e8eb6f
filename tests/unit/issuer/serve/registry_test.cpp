// The registry's schema and the fleet's statuses (DESIGN.md section 10): a
// registry written before the fleet's view is migrated in place with its rows
// kept; deleted rows stay as revocation records without holding their Name;
// the statuses are a pure function of the record, the clock and the timing.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "daemon/issuer/registry/device_status.hpp"
#include "daemon/issuer/registry/registry.hpp"
#include "tests/support/temporary_directory.hpp"

namespace omni::registry {
namespace {

// The schema as `serve --db` and `create-device --registry` wrote it before
// version 1, copied here as data: the migration must accept exactly this.
constexpr const char* kVersion0Schema = R"sql(
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    arn TEXT NOT NULL,
    iot_thing_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    tags_json TEXT NOT NULL DEFAULT '{}',
    networking_json TEXT NOT NULL DEFAULT 'null',
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    certificate_not_after INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_by_creation ON devices (created_at, device_id);
INSERT INTO devices VALUES ('device-old1', 'cam-old-1', 'arn:aws:panorama:us-east-1:123456789012:device/device-old1',
    'device-old1', 'lobby', '{"site":"berlin"}', '{"Ntp":{"NtpServers":["pool.ntp.org"]}}',
    'AWAITING_PROVISIONING', 1795000000, 1795000300);
INSERT INTO devices (device_id, name, arn, iot_thing_name, status, created_at, certificate_not_after)
    VALUES ('device-old2', 'cam-old-2', 'arn:old2', 'device-old2', 'AWAITING_PROVISIONING', 1795000001, 1795000301);
)sql";

int userVersion(const std::filesystem::path& path)
{
    sqlite3* handle = nullptr;
    int version = -1;
    if (sqlite3_open_v2(path.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* statement = nullptr;
        if (sqlite3_prepare_v2(handle, "PRAGMA user_version", -1, &statement, nullptr) == SQLITE_OK
            && sqlite3_step(statement) == SQLITE_ROW)
            version = sqlite3_column_int(statement, 0);
        sqlite3_finalize(statement);
    }
    sqlite3_close(handle);
    return version;
}

void executeRaw(const std::filesystem::path& path, const char* sql)
{
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &handle), SQLITE_OK);
    char* message = nullptr;
    const int result = sqlite3_exec(handle, sql, nullptr, nullptr, &message);
    EXPECT_EQ(result, SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
    sqlite3_close(handle);
}

DeviceRecord record(const std::string& id, const std::string& name, std::int64_t createdAt = 1795000100)
{
    DeviceRecord device;
    device.deviceId = id;
    device.name = name;
    device.arn = "arn:" + id;
    device.iotThingName = id;
    device.createdAt = createdAt;
    device.certificateNotAfter = createdAt + 300;
    device.provisioningCertificateSerial = "0A1B2C";
    return device;
}

TEST(Registry, AVersion0RegistryIsMigratedInPlaceWithItsRows)
{
    testing::TemporaryDirectory directory;
    const auto path = directory / "registry.sqlite";
    executeRaw(path, kVersion0Schema);
    ASSERT_EQ(userVersion(path), 0);

    auto registry = Registry::open(path);
    ASSERT_TRUE(registry) << registry.error().message;
    EXPECT_EQ(userVersion(path), kSchemaVersion);
    auto old = registry->findById("device-old1");
    ASSERT_TRUE(old && *old);
    EXPECT_EQ((*old)->name, "cam-old-1");
    EXPECT_EQ((*old)->arn, "arn:aws:panorama:us-east-1:123456789012:device/device-old1");
    EXPECT_EQ((*old)->description, "lobby");
    EXPECT_EQ((*old)->tagsJson, R"({"site":"berlin"})");
    EXPECT_EQ((*old)->networkingJson, R"({"Ntp":{"NtpServers":["pool.ntp.org"]}})");
    EXPECT_EQ((*old)->createdAt, 1795000000);
    EXPECT_EQ((*old)->certificateNotAfter, 1795000300);
    // What version 0 did not record is absent, not invented.
    EXPECT_EQ((*old)->provisioningCertificateSerial, "");
    EXPECT_EQ((*old)->enrollmentUrl, "");
    EXPECT_FALSE((*old)->firstContactAt || (*old)->deviceCertificateSerial || (*old)->lastReportAt);
    EXPECT_FALSE((*old)->deleted());
    EXPECT_EQ(registry->count().value_or(-1), 2);
    auto listed = registry->list(10, std::nullopt);
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), 2u);
    EXPECT_EQ((*listed)[1].deviceId, "device-old2");

    // Names stay unique among live devices after the rebuild.
    auto transaction = registry->beginWrite();
    ASSERT_TRUE(transaction);
    EXPECT_FALSE(registry->insert(record("device-dup", "cam-old-1")));
    ASSERT_TRUE(registry->insert(record("device-new", "cam-new")));
    ASSERT_TRUE(transaction->commit());

    // Opening again is a no-op.
    auto again = Registry::open(path);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->count().value_or(-1), 3);
}

// Version 1 (the fleet's view, before EST kept the device certificate): one
// column is added in place, the rows and their enrolment data stay.
TEST(Registry, AVersion1RegistryGainsTheDeviceCertificateColumn)
{
    testing::TemporaryDirectory directory;
    const auto path = directory / "registry.sqlite";
    {
        auto registry = Registry::open(path);
        ASSERT_TRUE(registry);
        DeviceRecord enrolled = record("device-v1", "cam-v1");
        enrolled.deviceCertificateSerial = "5EED";
        enrolled.deviceCertificateNotAfter = 1826536120;
        ASSERT_TRUE(registry->insert(enrolled));
    }
    executeRaw(path,
        "DROP INDEX devices_by_device_serial; ALTER TABLE devices DROP COLUMN device_certificate_pem; "
        "CREATE INDEX devices_by_device_serial ON devices (device_certificate_serial) "
        "WHERE device_certificate_serial IS NOT NULL; PRAGMA user_version = 1");
    ASSERT_EQ(userVersion(path), 1);

    auto registry = Registry::open(path);
    ASSERT_TRUE(registry) << registry.error().message;
    EXPECT_EQ(userVersion(path), kSchemaVersion);
    auto old = registry->findById("device-v1");
    ASSERT_TRUE(old && *old);
    EXPECT_EQ((*old)->deviceCertificateSerial, "5EED");
    EXPECT_FALSE((*old)->deviceCertificatePem);
    // Enrolment writes the new column, once per current serial.
    EXPECT_EQ(
        registry->recordEnrolment("device-v1", 1795000500, "5EEE", 1826536500, "PEM", std::nullopt), false);
    EXPECT_EQ(registry->recordEnrolment("device-v1", 1795000500, "5EEE", 1826536500, "PEM", "5EED"), true);
    EXPECT_EQ(registry->findById("device-v1").value()->deviceCertificatePem, "PEM");
    EXPECT_EQ(registry->recordEnrolment("device-v1", 1795000600, "5EEF", 1826536600, "PEM2", "5EED"), false);
}

TEST(Registry, ARegistryFromANewerVersionIsRefused)
{
    testing::TemporaryDirectory directory;
    const auto path = directory / "registry.sqlite";
    ASSERT_TRUE(Registry::open(path));
    executeRaw(path, "PRAGMA user_version = 99");
    auto registry = Registry::open(path);
    ASSERT_FALSE(registry);
    EXPECT_NE(registry.error().message.find("newer"), std::string::npos) << registry.error().message;
}

TEST(Registry, ADeletedDeviceKeepsItsRowButNotItsName)
{
    testing::TemporaryDirectory directory;
    auto registry = Registry::open(directory / "registry.sqlite");
    ASSERT_TRUE(registry);
    ASSERT_TRUE(registry->insert(record("device-a", "cam-1")));
    EXPECT_EQ(registry->markDeleted("device-a", 1795001000).value_or(false), true);
    EXPECT_EQ(registry->markDeleted("device-a", 1795001001).value_or(true), false);
    EXPECT_EQ(registry->updateDescription("device-a", "x").value_or(true), false);

    auto deleted = registry->findById("device-a");
    ASSERT_TRUE(deleted && *deleted);
    EXPECT_TRUE((*deleted)->deleted());
    EXPECT_EQ((*deleted)->deletedAt, 1795001000);
    EXPECT_EQ((*deleted)->provisioningCertificateSerial, "0A1B2C"); // on record, to be refused
    EXPECT_FALSE(registry->findByName("cam-1").value().has_value());
    EXPECT_EQ(registry->count().value_or(-1), 0);
    EXPECT_TRUE(registry->list(10, std::nullopt).value().empty());

    ASSERT_TRUE(registry->insert(record("device-b", "cam-1")));
    EXPECT_EQ(registry->findByName("cam-1").value()->deviceId, "device-b");
    EXPECT_EQ(registry->updateDescription("device-b", "hall").value_or(false), true);
    EXPECT_EQ(registry->findById("device-b").value()->description, "hall");
    // --replace removes the live row only: the deleted one stays on record.
    ASSERT_TRUE(registry->removeByName("cam-1"));
    EXPECT_TRUE(registry->findById("device-a").value().has_value());
    EXPECT_FALSE(registry->findById("device-b").value().has_value());
}

TEST(Registry, EveryColumnRoundTrips)
{
    testing::TemporaryDirectory directory;
    auto registry = Registry::open(directory / "registry.sqlite");
    ASSERT_TRUE(registry);
    DeviceRecord full = record("device-full", "cam-full");
    full.enrollmentUrl = "https://issuer.example:8443";
    full.firstContactAt = 1795000110;
    full.enrolledAt = 1795000120;
    full.deviceCertificateSerial = "FF01";
    full.deviceCertificateNotAfter = 1826536120;
    full.lastReportJson = R"({"NtpStatus":{"ConnectionStatus":"CONNECTED"}})";
    full.lastReportAt = 1795000130;
    ASSERT_TRUE(registry->insert(full));
    const DeviceRecord read = *registry->findById("device-full").value();
    EXPECT_EQ(read.enrollmentUrl, full.enrollmentUrl);
    EXPECT_EQ(read.firstContactAt, full.firstContactAt);
    EXPECT_EQ(read.enrolledAt, full.enrolledAt);
    EXPECT_EQ(read.deviceCertificateSerial, full.deviceCertificateSerial);
    EXPECT_EQ(read.deviceCertificateNotAfter, full.deviceCertificateNotAfter);
    EXPECT_EQ(read.lastReportJson, full.lastReportJson);
    EXPECT_EQ(read.lastReportAt, full.lastReportAt);
    EXPECT_FALSE(read.deletingAt || read.deletedAt);
}

// --- the statuses ---------------------------------------------------------

constexpr std::int64_t kIssued = 1795000000;
constexpr std::int64_t kWindowEnd = kIssued + 300;
const FleetTiming kTiming { 900, 600 };

DeviceRecord issued(bool withEndpoint)
{
    DeviceRecord device = record("device-s", "cam-s", kIssued);
    if (withEndpoint)
        device.enrollmentUrl = "https://issuer.example:8443";
    return device;
}

DeviceRecord enrolled(std::int64_t at, std::int64_t certificateDays = 365)
{
    DeviceRecord device = issued(true);
    device.firstContactAt = at;
    device.enrolledAt = at;
    device.deviceCertificateSerial = "ABCD";
    device.deviceCertificateNotAfter = at + certificateDays * 86400;
    return device;
}

struct StatusCase {
    const char* what;
    DeviceRecord device;
    std::int64_t now;
    const char* provisioning;
    const char* connection;
    const char* aggregated;
};

TEST(DeviceStatus, TheTableOfSection10)
{
    DeviceRecord contacted = issued(true);
    contacted.firstContactAt = kIssued + 10;
    DeviceRecord reported = enrolled(kIssued + 20);
    reported.lastReportJson = "{}";
    reported.lastReportAt = kIssued + 30;
    DeviceRecord deleting = reported;
    deleting.deletingAt = kIssued + 40;
    DeviceRecord expired = enrolled(kIssued + 20, 1);
    expired.lastReportAt = kIssued + 30;
    DeviceRecord noEndpointButEnrolled = enrolled(kIssued + 20); // the device's own enrollment.url
    noEndpointButEnrolled.enrollmentUrl.clear();

    const StatusCase cases[] = {
        { "issued without an endpoint", issued(false), kIssued, "AWAITING_PROVISIONING", "NOT_AVAILABLE",
            "AWAITING_PROVISIONING" },
        { "no endpoint never fails", issued(false), kIssued + 86400, "AWAITING_PROVISIONING", "NOT_AVAILABLE",
            "AWAITING_PROVISIONING" },
        { "with an endpoint, waiting", issued(true), kIssued, "AWAITING_PROVISIONING", "AWAITING_CREDENTIALS",
            "AWAITING_PROVISIONING" },
        { "last second of the grace", issued(true), kWindowEnd + 600, "AWAITING_PROVISIONING",
            "AWAITING_CREDENTIALS", "AWAITING_PROVISIONING" },
        { "grace over", issued(true), kWindowEnd + 601, "FAILED", "AWAITING_CREDENTIALS", "FAILED" },
        { "first contact", contacted, kIssued + 11, "PENDING", "AWAITING_CREDENTIALS", "PENDING" },
        { "contact, never enrolled", contacted, kWindowEnd + 601, "FAILED", "AWAITING_CREDENTIALS",
            "FAILED" },
        { "enrolled, no report yet", enrolled(kIssued + 20), kIssued + 21, "PENDING", "ONLINE", "PENDING" },
        { "reported", reported, kIssued + 31, "SUCCEEDED", "ONLINE", "ONLINE" },
        { "last report just young enough", reported, kIssued + 30 + 899, "SUCCEEDED", "ONLINE", "ONLINE" },
        { "last report too old", reported, kIssued + 30 + 900, "SUCCEEDED", "OFFLINE", "OFFLINE" },
        { "enrolled long ago, window over", reported, kWindowEnd + 100000, "SUCCEEDED", "OFFLINE",
            "OFFLINE" },
        { "device certificate expired", expired, kIssued + 20 + 86400 + 1, "SUCCEEDED", "OFFLINE",
            "LEASE_EXPIRED" },
        { "device certificate on its last second", expired, kIssued + 20 + 86400, "SUCCEEDED", "OFFLINE",
            "OFFLINE" },
        { "deleting", deleting, kIssued + 41, "DELETING", "ONLINE", "DELETING" },
        { "enrolled through the device's own endpoint", noEndpointButEnrolled, kIssued + 21, "PENDING",
            "ONLINE", "PENDING" },
    };
    for (const auto& test : cases) {
        const DeviceStatuses statuses = statusesOf(test.device, test.now, kTiming);
        EXPECT_EQ(statuses.provisioning, test.provisioning) << test.what;
        EXPECT_EQ(statuses.connection, test.connection) << test.what;
        EXPECT_EQ(statuses.aggregated, test.aggregated) << test.what;
    }
}

TEST(DeviceStatus, TheTimingIsHonoured)
{
    DeviceRecord reported = enrolled(kIssued + 20);
    reported.lastReportAt = kIssued + 30;
    EXPECT_EQ(statusesOf(reported, kIssued + 30 + 100, FleetTiming { 60, 600 }).connection, "OFFLINE");
    EXPECT_EQ(statusesOf(reported, kIssued + 30 + 100, FleetTiming { 120, 600 }).connection, "ONLINE");
    EXPECT_EQ(statusesOf(issued(true), kWindowEnd + 1, FleetTiming { 900, 0 }).provisioning, "FAILED");
    EXPECT_EQ(
        statusesOf(issued(true), kWindowEnd, FleetTiming { 900, 0 }).provisioning, "AWAITING_PROVISIONING");
}

} // namespace
} // namespace omni::registry
