#include "daemon/issuer/registry/registry.hpp"

#include <memory>

namespace omni::registry {
namespace {

constexpr int kBusyTimeoutMilliseconds = 10000;

constexpr const char* kSchema = R"sql(
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
)sql";

constexpr const char* kColumns
    = "device_id, name, arn, iot_thing_name, description, tags_json, networking_json, status, created_at, "
      "certificate_not_after";

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
    return record;
}

Result<std::optional<DeviceRecord>> findOne(sqlite3* database, const char* column, const std::string& value)
{
    auto statement
        = prepare(database, std::string("SELECT ") + kColumns + " FROM devices WHERE " + column + " = ?");
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
    if (auto schema = execute(database, kSchema); !schema)
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
    return findOne(database_, "name", name);
}

Result<std::optional<DeviceRecord>> Registry::findById(const std::string& deviceId)
{
    return findOne(database_, "device_id", deviceId);
}

Result<std::vector<DeviceRecord>> Registry::list(
    std::size_t limit, const std::optional<std::string>& afterDeviceId)
{
    std::string sql = std::string("SELECT ") + kColumns + " FROM devices";
    if (afterDeviceId)
        sql += " WHERE (created_at, device_id) > (SELECT created_at, device_id FROM devices WHERE device_id "
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
    auto statement = prepare(database_, "SELECT COUNT(*) FROM devices");
    if (!statement)
        return tl::unexpected(statement.error());
    if (sqlite3_step(statement->get()) != SQLITE_ROW)
        return tl::unexpected(databaseError(database_, "counting devices"));
    return sqlite3_column_int64(statement->get(), 0);
}

Result<void> Registry::insert(const DeviceRecord& record)
{
    auto statement = prepare(database_,
        std::string("INSERT INTO devices (") + kColumns
            + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (!statement)
        return tl::unexpected(statement.error());
    sqlite3_stmt* s = statement->get();
    int column = 1;
    for (const std::string* text : { &record.deviceId, &record.name, &record.arn, &record.iotThingName,
             &record.description, &record.tagsJson, &record.networkingJson, &record.status })
        sqlite3_bind_text(s, column++, text->c_str(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, column++, record.createdAt);
    sqlite3_bind_int64(s, column++, record.certificateNotAfter);
    if (sqlite3_step(s) != SQLITE_DONE)
        return tl::unexpected(databaseError(database_, "recording device " + record.name));
    return {};
}

Result<void> Registry::removeByName(const std::string& name)
{
    auto statement = prepare(database_, "DELETE FROM devices WHERE name = ?1");
    if (!statement)
        return tl::unexpected(statement.error());
    sqlite3_bind_text(statement->get(), 1, name.c_str(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(statement->get()) != SQLITE_DONE)
        return tl::unexpected(databaseError(database_, "removing device " + name));
    return {};
}

} // namespace omni::registry
