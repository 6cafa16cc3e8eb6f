#pragma once
// The issuer's registry of devices (SQLite): Name is unique, so a second
// ProvisionDevice for the same Name is a ConflictException. Shared by
// `create-device --registry` and `serve --db`. Archive bytes are never stored:
// a 5-minute credential has no business at rest.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sqlite3.h>

#include "daemon/core/result.hpp"

namespace omni::registry {

struct DeviceRecord {
    std::string deviceId;
    std::string name;
    std::string arn;
    std::string iotThingName;
    std::string description;
    std::string tagsJson = "{}";
    std::string networkingJson = "null";
    std::string status = "AWAITING_PROVISIONING";
    std::int64_t createdAt = 0;
    std::int64_t certificateNotAfter = 0;
};

class Registry {
public:
    // Opens (creating when absent) with WAL and a busy timeout, so concurrent
    // writers wait instead of failing.
    static Result<Registry> open(const std::filesystem::path& path);

    Registry(Registry&& other) noexcept;
    Registry& operator=(Registry&& other) noexcept;
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;
    ~Registry();

    // An exclusive write transaction (BEGIN IMMEDIATE); rolled back unless
    // committed.
    class Transaction {
    public:
        explicit Transaction(sqlite3* database)
            : database_(database)
        {
        }
        Transaction(Transaction&& other) noexcept
            : database_(std::exchange(other.database_, nullptr))
        {
        }
        Transaction(const Transaction&) = delete;
        Transaction& operator=(const Transaction&) = delete;
        ~Transaction();
        Result<void> commit();

    private:
        sqlite3* database_;
    };
    Result<Transaction> beginWrite();

    Result<std::optional<DeviceRecord>> findByName(const std::string& name);
    Result<std::optional<DeviceRecord>> findById(const std::string& deviceId);
    // Ordered by creation time then DeviceId; at most `limit` records after `afterDeviceId`.
    Result<std::vector<DeviceRecord>> list(
        std::size_t limit, const std::optional<std::string>& afterDeviceId);
    Result<std::int64_t> count();
    Result<void> insert(const DeviceRecord& record);
    Result<void> removeByName(const std::string& name);

    const std::filesystem::path& path() const { return path_; }

private:
    Registry(sqlite3* database, std::filesystem::path path)
        : database_(database)
        , path_(std::move(path))
    {
    }
    sqlite3* database_ = nullptr;
    std::filesystem::path path_;
};

} // namespace omni::registry
