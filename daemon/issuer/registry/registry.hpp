#pragma once
// The issuer's registry of devices (SQLite): Name is unique, so a second
// ProvisionDevice for the same Name is a ConflictException. Shared by
// `create-device --registry` and `serve --db`. Archive bytes are never stored:
// a 5-minute credential has no business at rest.
//
// A deleted device keeps its row (deletedAt set) so that its certificate
// serials stay on record as revoked; only live rows hold their Name, so a
// deleted Name may be issued anew. The schema is versioned with PRAGMA
// user_version and migrated in place on open (DESIGN.md section 10).
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
    // The provisioning certificate's notAfter (its 5-minute window ends here).
    std::int64_t certificateNotAfter = 0;
    // The provisioning certificate of the latest archive, uppercase hex; a
    // re-issued archive replaces it, which voids the old one. Empty in rows
    // recorded before the serial was kept.
    std::string provisioningCertificateSerial;
    // The enrolment endpoint put into the archive's manifest; empty: the
    // device was issued without one.
    std::string enrollmentUrl;
    // The device presented its provisioning certificate (first contact).
    std::optional<std::int64_t> firstContactAt;
    // The long-term device certificate, once enrolled.
    std::optional<std::int64_t> enrolledAt;
    std::optional<std::string> deviceCertificateSerial;
    std::optional<std::int64_t> deviceCertificateNotAfter;
    // Its PEM: a retry of a lost enrolment response gets exactly it again.
    std::optional<std::string> deviceCertificatePem;
    // The last PUT /device-status report: the NetworkStatus object (the value
    // of its CurrentNetworkingStatus member, without LastUpdatedTime) and when
    // it came.
    std::optional<std::string> lastReportJson;
    std::optional<std::int64_t> lastReportAt;
    // DeleteDevice: started (DELETING) and finished (revoked, hidden from the API).
    std::optional<std::int64_t> deletingAt;
    std::optional<std::int64_t> deletedAt;

    bool deleted() const { return deletedAt.has_value(); }
};

// The schema version this code writes (PRAGMA user_version): 0 is the
// original table, 1 adds the fleet's view (DESIGN.md section 10), 2 the
// device certificate's PEM.
inline constexpr int kSchemaVersion = 2;

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

    // The live (not deleted) device holding this Name.
    Result<std::optional<DeviceRecord>> findByName(const std::string& name);
    // Deleted devices too (their certificates must be refused, not unknown).
    Result<std::optional<DeviceRecord>> findById(const std::string& deviceId);
    // Live devices, ordered by creation time then DeviceId; at most `limit` records after `afterDeviceId`.
    Result<std::vector<DeviceRecord>> list(
        std::size_t limit, const std::optional<std::string>& afterDeviceId);
    // Live devices.
    Result<std::int64_t> count();
    Result<void> insert(const DeviceRecord& record);
    // Removes the live row holding this Name (create-device --replace).
    Result<void> removeByName(const std::string& name);
    // Marks a live device deleted at `now`; false when there is no such live device.
    Result<bool> markDeleted(const std::string& deviceId, std::int64_t now);
    // EST (section 10), each on a live device, false when there is none:
    // the provisioning certificate was presented (kept when already set);
    // a device certificate was issued; a status report (the NetworkStatus JSON) arrived.
    Result<bool> recordFirstContact(const std::string& deviceId, std::int64_t now);
    // recordEnrolment changes the row only while its device certificate serial
    // is still `replacing` (none for a first enrolment), so two concurrent
    // enrolments cannot both win.
    Result<bool> recordEnrolment(const std::string& deviceId, std::int64_t now,
        const std::string& certificateSerial, std::int64_t certificateNotAfter,
        const std::string& certificatePem, const std::optional<std::string>& replacing);
    Result<bool> recordReport(const std::string& deviceId, std::int64_t now, const std::string& reportJson);
    // Sets the Description of a live device; false when there is no such live device.
    Result<bool> updateDescription(const std::string& deviceId, const std::string& description);

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
