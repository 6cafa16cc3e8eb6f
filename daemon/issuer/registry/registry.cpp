#include "daemon/issuer/registry/registry.hpp"

#include <functional>
#include <memory>

namespace omni::registry {
namespace {

constexpr int kBusyTimeoutMilliseconds = 10000;

// Version 1 (DESIGN.md section 10). Name is unique among live rows only, so
// a deleted device's row (its serials on record as revoked) does not hold
// its Name.
constexpr const char* kCreateTable = R"sql(
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    arn TEXT NOT NULL,
    iot_thing_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    tags_json TEXT NOT NULL DEFAULT '{}',
    networking_json TEXT NOT NULL DEFAULT 'null',
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    certificate_not_after INTEGER NOT NULL,
    provisioning_certificate_serial TEXT NOT NULL DEFAULT '',
    enrollment_url TEXT NOT NULL DEFAULT '',
    first_contact_at INTEGER,
    enrolled_at INTEGER,
    device_certificate_serial TEXT,
    device_certificate_not_after INTEGER,
    last_report_json TEXT,
    last_report_at INTEGER,
    deleting_at INTEGER,
    deleted_at INTEGER,
    device_certificate_pem TEXT
);
)sql";

constexpr const char* kCreateIndexes = R"sql(
CREATE UNIQUE INDEX devices_live_name ON devices (name) WHERE deleted_at IS NULL;
CREATE INDEX devices_by_creation ON devices (created_at, device_id);
CREATE INDEX devices_by_provisioning_serial ON devices (provisioning_certificate_serial)
    WHERE provisioning_certificate_serial != '';
CREATE INDEX devices_by_device_serial ON devices (device_certificate_serial)
    WHERE device_certificate_serial IS NOT NULL;
)sql";

// The columns of version 0 (the original table), carried over as they are.
constexpr const char* kVersion0Columns
    = "device_id, name, arn, iot_thing_name, description, tags_json, networking_json, status, created_at, "
      "certificate_not_after";

constexpr const char* kColumns
    = "device_id, name, arn, iot_thing_name, description, tags_json, networking_json, status, created_at, "
      "certificate_not_after, provisioning_certificate_serial, enrollment_url, first_contact_at, "
      "enrolled_at, "
      "device_certificate_serial, device_certificate_not_after, last_report_json, last_report_at, "
      "deleting_at, deleted_at, device_certificate_pem";
constexpr int kColumnCount = 21;

struct StatementDeleter {
    void operator()(sqlite3_stmt* statement) const noexcept { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

Error databaseError(sqlite3* database, const std::string& what)
{
    return Error { ReasonCode::InternalError, Check::None,
        "registry: " + what + ": " + (database ? sqlite3_errmsg(database) : "out of memory"), {} };
}

Result<Statement> prepare(sqlite3* database, const std::string& sql)
{
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(database, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK)
        return tl::unexpected(databaseError(database, "preparing a query"));
    return Statement(statement);
}

Result<void> execute(sqlite3* database, const char* sql)
{
    char* message = nullptr;
    if (sqlite3_exec(database, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message ? message : sqlite3_errmsg(database);
        sqlite3_free(message);
        return tl::unexpected(Error { ReasonCode::InternalError, Check::None, "registry: " + text, {} });
    }
    return {};
}

std::string columnText(sqlite3_stmt* statement, int column)
{
    const auto* text = sqlite3_column_text(statement, column);
    return text ? std::string(reinterpret_cast<const char*>(text)) : std::string();
}

std::optional<std::int64_t> columnOptionalInteger(sqlite3_stmt* statement, int column)
{
    if (sqlite3_column_type(statement, column) == SQLITE_NULL)
        return std::nullopt;
    return sqlite3_column_int64(statement, column);
}

std::optional<std::string> columnOptionalText(sqlite3_stmt* statement, int column)
{
    if (sqlite3_column_type(statement, column) == SQLITE_NULL)
        return std::nullopt;
    return columnText(statement, column);
}

void bindText(sqlite3_stmt* statement, int column, const std::string& text)
{
    sqlite3_bind_text(statement, column, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void bindOptional(sqlite3_stmt* statement, int column, const std::optional<std::string>& text)
{
    if (text)
        bindText(statement, column, *text);
    else
        sqlite3_bind_null(statement, column);
}

void bindOptional(sqlite3_stmt* statement, int column, const std::optional<std::int64_t>& value)
{
    if (value)
        sqlite3_bind_int64(statement, column, *value);
    else
        sqlite3_bind_null(statement, column);
}

Result<int> schemaVersion(sqlite3* database)
{
    auto statement = prepare(database, "PRAGMA user_version");
    if (!statement)
        return tl::unexpected(statement.error());
    if (sqlite3_step(statement->get()) != SQLITE_ROW)
        return tl::unexpected(databaseError(database, "reading the schema version"));
    return sqlite3_column_int(statement->get(), 0);
}

Result<bool> hasDevicesTable(sqlite3* database)
{
    auto statement
        = prepare(database, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'devices'");
    if (!statement)
        return tl::unexpected(statement.error());
    const int step = sqlite3_step(statement->get());
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return tl::unexpected(databaseError(database, "reading the schema"));
    return step == SQLITE_ROW;
}

// Brings the schema to kSchemaVersion in one write transaction: a new file
// gets the current tables; a version 0 registry (written before the fleet's
// view) is rebuilt with its rows kept, because SQLite cannot drop the old
// table-wide UNIQUE(name) in place.
Result<void> migrate(sqlite3* database)
{
    auto version = schemaVersion(database);
    if (!version)
        return tl::unexpected(version.error());
    if (*version == kSchemaVersion)
        return {};
    if (auto begun = execute(database, "BEGIN IMMEDIATE"); !begun)
        return begun;
    Registry::Transaction transaction(database);
    version = schemaVersion(database); // another process may have migrated meanwhile
    if (!version)
        return tl::unexpected(version.error());
    if (*version == kSchemaVersion)
        return {};
    if (*version > kSchemaVersion)
        return tl::unexpected(Error { ReasonCode::InternalError, Check::None,
            "registry: schema version " + std::to_string(*version)
                + " was written by a newer omni-provision (this one knows up to "
                + std::to_string(kSchemaVersion) + ")",
            {} });
    auto existing = hasDevicesTable(database);
    if (!existing)
        return tl::unexpected(existing.error());
    std::string steps;
    if (*existing && *version == 1)
        // Version 2 adds the device certificate itself (an enrolment retry gets it again).
        steps += "ALTER TABLE devices ADD COLUMN device_certificate_pem TEXT;";
    else if (*existing)
        steps += std::string("ALTER TABLE devices RENAME TO devices_v0;") + kCreateTable
            + "INSERT INTO devices (" + kVersion0Columns + ") SELECT " + kVersion0Columns
            + " FROM devices_v0; DROP TABLE devices_v0;";
    else
        steps += kCreateTable;
    if (!*existing || *version == 0)
        steps += kCreateIndexes;
    steps += "PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";";
    if (auto done = execute(database, steps.c_str()); !done)
        return done;
    return transaction.commit();
}

DeviceRecord readRecord(sqlite3_stmt* statement)
{
    DeviceRecord record;
    record.deviceId = columnText(statement, 0);
    record.name = columnText(statement, 1);
    record.arn = columnText(statement, 2);
    record.iotThingName = columnText(statement, 3);
    record.description = columnText(statement, 4);
    record.tagsJson = columnText(statement, 5);
    record.networkingJson = columnText(statement, 6);
    record.status = columnText(statement, 7);
    record.createdAt = sqlite3_column_int64(statement, 8);
    record.certificateNotAfter = sqlite3_column_int64(statement, 9);
    record.provisioningCertificateSerial = columnText(statement, 10);
    record.enrollmentUrl = columnText(statement, 11);
    record.firstContactAt = columnOptionalInteger(statement, 12);
    record.enrolledAt = columnOptionalInteger(statement, 13);
    record.deviceCertificateSerial = columnOptionalText(statement, 14);
    record.deviceCertificateNotAfter = columnOptionalInteger(statement, 15);
    record.lastReportJson = columnOptionalText(statement, 16);
    record.lastReportAt = columnOptionalInteger(statement, 17);
    record.deletingAt = columnOptionalInteger(statement, 18);
    record.deletedAt = columnOptionalInteger(statement, 19);
    record.deviceCertificatePem = columnOptionalText(statement, 20);
    return record;
}

Result<std::optional<DeviceRecord>> findOne(
    sqlite3* database, const std::string& where, const std::string& value)
{
    auto statement = prepare(database, std::string("SELECT ") + kColumns + " FROM devices WHERE " + where);
    if (!statement)
        return tl::unexpected(statement.error());
    sqlite3_bind_text(statement->get(), 1, value.c_str(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    const int step = sqlite3_step(statement->get());
    if (step == SQLITE_ROW)
        return readRecord(statement->get());
    if (step == SQLITE_DONE)
        return std::optional<DeviceRecord>();
    return tl::unexpected(databaseError(database, "reading a device"));
}

// One UPDATE of a device that is not deleted (the SQL says so): ?1 is the
// DeviceId, `bind` binds the rest. True when there was such a device.
Result<bool> updateLiveDevice(sqlite3* database, const std::string& sql, const std::string& deviceId,
    const std::string& what, const std::function<void(sqlite3_stmt*)>& bind)
{
    auto statement = prepare(database, sql);
    if (!statement)
        return tl::unexpected(statement.error());
    bindText(statement->get(), 1, deviceId);
    bind(statement->get());
    if (sqlite3_step(statement->get()) != SQLITE_DONE)
        return tl::unexpected(databaseError(database, what));
    return sqlite3_changes(database) == 1;
}

} // namespace

Result<Registry> Registry::open(const std::filesystem::path& path)
{
    sqlite3* database = nullptr;
    const int opened = sqlite3_open_v2(
        path.c_str(), &database, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    Registry registry(database, path);
    if (opened != SQLITE_OK)
        return tl::unexpected(databaseError(database, "cannot open " + path.string()));
    sqlite3_busy_timeout(database, kBusyTimeoutMilliseconds);
    sqlite3_extended_result_codes(database, 1);
    if (auto wal = execute(database, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"); !wal)
        return tl::unexpected(std::move(wal.error()).withContext(path.string()));
    if (auto schema = migrate(database); !schema)
        return tl::unexpected(std::move(schema.error()).withContext(path.string()));
    return registry;
}

Registry::Registry(Registry&& other) noexcept
    : database_(std::exchange(other.database_, nullptr))
    , path_(std::move(other.path_))
{
}

Registry& Registry::operator=(Registry&& other) noexcept
{
    if (this != &other) {
        if (database_)
            sqlite3_close_v2(database_);
        database_ = std::exchange(other.database_, nullptr);
        path_ = std::move(other.path_);
    }
    return *this;
}

Registry::~Registry()
{
    if (database_)
        sqlite3_close_v2(database_);
}

Registry::Transaction::~Transaction()
{
    if (database_)
        sqlite3_exec(database_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Result<void> Registry::Transaction::commit()
{
    auto committed = execute(database_, "COMMIT");
    if (committed)
        database_ = nullptr;
    return committed;
}

Result<Registry::Transaction> Registry::beginWrite()
{
    if (auto begun = execute(database_, "BEGIN IMMEDIATE"); !begun)
        return tl::unexpected(begun.error());
    return Transaction(database_);
}

Result<std::optional<DeviceRecord>> Registry::findByName(const std::string& name)
{
    return findOne(database_, "name = ?1 AND deleted_at IS NULL", name);
}

Result<std::optional<DeviceRecord>> Registry::findById(const std::string& deviceId)
{
    return findOne(database_, "device_id = ?1", deviceId);
}

Result<std::vector<DeviceRecord>> Registry::list(
    std::size_t limit, const std::optional<std::string>& afterDeviceId)
{
    std::string sql = std::string("SELECT ") + kColumns + " FROM devices WHERE deleted_at IS NULL";
    if (afterDeviceId)
        sql += " AND (created_at, device_id) > (SELECT created_at, device_id FROM devices WHERE device_id "
               "= ?1)";
    sql += " ORDER BY created_at, device_id LIMIT ?2";
    auto statement = prepare(database_, sql);
    if (!statement)
        return tl::unexpected(statement.error());
    if (afterDeviceId)
        sqlite3_bind_text(statement->get(), 1, afterDeviceId->c_str(),
            static_cast<int>(afterDeviceId->size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(statement->get(), 2, static_cast<sqlite3_int64>(limit));
    std::vector<DeviceRecord> records;
    int step;
    while ((step = sqlite3_step(statement->get())) == SQLITE_ROW)
        records.push_back(readRecord(statement->get()));
    if (step != SQLITE_DONE)
        return tl::unexpected(databaseError(database_, "listing devices"));
    return records;
}

Result<std::int64_t> Registry::count()
{
    auto statement = prepare(database_, "SELECT COUNT(*) FROM devices WHERE deleted_at IS NULL");
    if (!statement)
        return tl::unexpected(statement.error());
    if (sqlite3_step(statement->get()) != SQLITE_ROW)
        return tl::unexpected(databaseError(database_, "counting devices"));
    return sqlite3_column_int64(statement->get(), 0);
}

Result<void> Registry::insert(const DeviceRecord& record)
{
    std::string placeholders;
    for (int column = 1; column <= kColumnCount; ++column)
        placeholders += (column > 1 ? ", ?" : "?") + std::to_string(column);
    auto statement = prepare(
        database_, std::string("INSERT INTO devices (") + kColumns + ") VALUES (" + placeholders + ")");
    if (!statement)
        return tl::unexpected(statement.error());
    sqlite3_stmt* s = statement->get();
    int column = 1;
    for (const std::string* text : { &record.deviceId, &record.name, &record.arn, &record.iotThingName,
             &record.description, &record.tagsJson, &record.networkingJson, &record.status })
        bindText(s, column++, *text);
    sqlite3_bind_int64(s, column++, record.createdAt);
    sqlite3_bind_int64(s, column++, record.certificateNotAfter);
    bindText(s, column++, record.provisioningCertificateSerial);
    bindText(s, column++, record.enrollmentUrl);
    bindOptional(s, column++, record.firstContactAt);
    bindOptional(s, column++, record.enrolledAt);
    bindOptional(s, column++, record.deviceCertificateSerial);
    bindOptional(s, column++, record.deviceCertificateNotAfter);
    bindOptional(s, column++, record.lastReportJson);
    bindOptional(s, column++, record.lastReportAt);
    bindOptional(s, column++, record.deletingAt);
    bindOptional(s, column++, record.deletedAt);
    bindOptional(s, column++, record.deviceCertificatePem);
    if (sqlite3_step(s) != SQLITE_DONE)
        return tl::unexpected(databaseError(database_, "recording device " + record.name));
    return {};
}

Result<void> Registry::removeByName(const std::string& name)
{
    auto statement = prepare(database_, "DELETE FROM devices WHERE name = ?1 AND deleted_at IS NULL");
    if (!statement)
        return tl::unexpected(statement.error());
    bindText(statement->get(), 1, name);
    if (sqlite3_step(statement->get()) != SQLITE_DONE)
        return tl::unexpected(databaseError(database_, "removing device " + name));
    return {};
}

Result<bool> Registry::markDeleted(const std::string& deviceId, std::int64_t now)
{
    // One statement: DELETING and deleted at the same instant, since nothing
    // runs on the issuer between them yet.
    return updateLiveDevice(database_,
        "UPDATE devices SET deleting_at = COALESCE(deleting_at, ?2), deleted_at = ?2 "
        "WHERE device_id = ?1 AND deleted_at IS NULL",
        deviceId, "deleting device " + deviceId,
        [&](sqlite3_stmt* statement) { sqlite3_bind_int64(statement, 2, now); });
}

Result<bool> Registry::recordFirstContact(const std::string& deviceId, std::int64_t now)
{
    return updateLiveDevice(database_,
        "UPDATE devices SET first_contact_at = COALESCE(first_contact_at, ?2) "
        "WHERE device_id = ?1 AND deleted_at IS NULL",
        deviceId, "recording first contact of " + deviceId,
        [&](sqlite3_stmt* statement) { sqlite3_bind_int64(statement, 2, now); });
}

Result<bool> Registry::recordEnrolment(const std::string& deviceId, std::int64_t now,
    const std::string& certificateSerial, std::int64_t certificateNotAfter, const std::string& certificatePem,
    const std::optional<std::string>& replacing)
{
    return updateLiveDevice(database_,
        "UPDATE devices SET first_contact_at = COALESCE(first_contact_at, ?2), enrolled_at = ?2, "
        "device_certificate_serial = ?3, device_certificate_not_after = ?4, device_certificate_pem = ?5 "
        "WHERE device_id = ?1 AND deleted_at IS NULL AND device_certificate_serial IS ?6",
        deviceId, "recording the enrolment of " + deviceId, [&](sqlite3_stmt* statement) {
            sqlite3_bind_int64(statement, 2, now);
            bindText(statement, 3, certificateSerial);
            sqlite3_bind_int64(statement, 4, certificateNotAfter);
            bindText(statement, 5, certificatePem);
            bindOptional(statement, 6, replacing);
        });
}

Result<bool> Registry::recordReport(
    const std::string& deviceId, std::int64_t now, const std::string& reportJson)
{
    return updateLiveDevice(database_,
        "UPDATE devices SET last_report_json = ?3, last_report_at = ?2 "
        "WHERE device_id = ?1 AND deleted_at IS NULL",
        deviceId, "recording the status report of " + deviceId, [&](sqlite3_stmt* statement) {
            sqlite3_bind_int64(statement, 2, now);
            bindText(statement, 3, reportJson);
        });
}

Result<bool> Registry::updateDescription(const std::string& deviceId, const std::string& description)
{
    return updateLiveDevice(database_,
        "UPDATE devices SET description = ?2 WHERE device_id = ?1 AND deleted_at IS NULL", deviceId,
        "updating device " + deviceId, [&](sqlite3_stmt* statement) { bindText(statement, 2, description); });
}

} // namespace omni::registry
