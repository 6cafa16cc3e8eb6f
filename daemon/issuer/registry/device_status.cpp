#include "daemon/issuer/registry/device_status.hpp"

#include <algorithm>

namespace omni::registry {

DeviceStatuses statusesOf(const DeviceRecord& record, std::int64_t now, const FleetTiming& timing)
{
    const bool hasEndpoint = !record.enrollmentUrl.empty();
    const bool enrolled = record.deviceCertificateSerial.has_value();
    const bool deleting = record.deletingAt.has_value();
    const bool windowClosed = now > record.certificateNotAfter + timing.enrollGraceSeconds;

    DeviceStatuses statuses;
    if (deleting)
        statuses.provisioning = "DELETING";
    else if (enrolled && record.lastReportAt)
        statuses.provisioning = "SUCCEEDED";
    else if (!enrolled && hasEndpoint && windowClosed)
        statuses.provisioning = "FAILED";
    else if (enrolled || record.firstContactAt)
        statuses.provisioning = "PENDING";
    else
        statuses.provisioning = "AWAITING_PROVISIONING";

    if (enrolled) {
        const std::int64_t lastContact
            = std::max(record.lastReportAt.value_or(0), record.enrolledAt.value_or(0));
        statuses.connection = now - lastContact < timing.offlineAfterSeconds ? "ONLINE" : "OFFLINE";
    } else if (!hasEndpoint && !record.firstContactAt) {
        statuses.connection = "NOT_AVAILABLE";
    } else {
        statuses.connection = "AWAITING_CREDENTIALS";
    }

    const bool leaseExpired
        = enrolled && record.deviceCertificateNotAfter && now > *record.deviceCertificateNotAfter;
    if (statuses.provisioning == "DELETING" || statuses.provisioning == "FAILED")
        statuses.aggregated = statuses.provisioning;
    else if (leaseExpired)
        statuses.aggregated = "LEASE_EXPIRED";
    else if (statuses.provisioning == "AWAITING_PROVISIONING" || statuses.provisioning == "PENDING")
        statuses.aggregated = statuses.provisioning;
    else
        statuses.aggregated = statuses.connection;
    return statuses;
}

} // namespace omni::registry
