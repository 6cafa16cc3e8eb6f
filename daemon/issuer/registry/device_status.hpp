#pragma once
// The fleet's view of one device (DESIGN.md section 10): ProvisioningStatus,
// DeviceConnectionStatus and DeviceAggregatedStatus as the Panorama model
// names them, computed from the registry record and the clock, never stored,
// so they cannot go stale.
#include <cstdint>
#include <string_view>

#include "daemon/issuer/registry/registry.hpp"

namespace omni::registry {

struct FleetTiming {
    // serve --offline-after: a device whose last contact is this old is OFFLINE.
    std::int64_t offlineAfterSeconds = 900;
    // serve --enroll-grace: enrolment is accepted until the provisioning
    // certificate's notAfter plus this; after it, an unenrolled device FAILED.
    std::int64_t enrollGraceSeconds = 600;
};

struct DeviceStatuses {
    std::string_view provisioning; // DeviceStatus
    std::string_view connection; // DeviceConnectionStatus
    std::string_view aggregated; // DeviceAggregatedStatus
};

// Pure: the same record, time and timing give the same answer.
//  provisioning: DELETING while deletion runs; SUCCEEDED once enrolled and a
//    status report arrived; PENDING after first contact or enrolment;
//    FAILED when the window plus grace passed without an enrolment (only for
//    a device issued with an endpoint: one without could never enrol);
//    else AWAITING_PROVISIONING.
//  connection: ONLINE while the last contact after enrolment (report, else
//    the enrolment) is younger than offlineAfter, then OFFLINE;
//    AWAITING_CREDENTIALS before enrolment; NOT_AVAILABLE for a device issued
//    without an endpoint that never made contact.
//  aggregated: DELETING, FAILED, LEASE_EXPIRED (the device certificate's
//    notAfter passed), AWAITING_PROVISIONING, PENDING, else the connection.
DeviceStatuses statusesOf(const DeviceRecord& record, std::int64_t now, const FleetTiming& timing);

} // namespace omni::registry
