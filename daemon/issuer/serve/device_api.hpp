#pragma once
// The ProvisionDevice service behind `omni-provision serve`: a request as it
// arrived in, a restJson1 response out. Every request is authenticated (AWS
// Signature Version 4) before anything else is looked at; then
//   POST   /devices             ProvisionDevice
//   GET    /devices/{DeviceId}  DescribeDevice
//   GET    /devices             ListDevices
//   DELETE /devices/{DeviceId}  DeleteDevice
//   PUT    /devices/{DeviceId}  UpdateDeviceMetadata
// Errors carry the x-amzn-ErrorType header and the model's JSON members.
// Statuses are computed from the registry and the clock on every request
// (DESIGN.md section 10, registry/device_status.hpp).
// Safe to call from several threads at once.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "daemon/issuer/ca/issuing.hpp"
#include "daemon/issuer/provision/api_error.hpp"
#include "daemon/issuer/registry/device_status.hpp"
#include "daemon/issuer/serve/credentials_file.hpp"
#include "daemon/issuer/serve/http_message.hpp"
#include "daemon/issuer/serve/registry_pool.hpp"

namespace omni::serve {

inline constexpr std::string_view kSigningService = "panorama";
// ListDevices MaxResults (the model's MaxSize25) when the request gives none.
inline constexpr std::size_t kDefaultListPageSize = 25;

struct DeviceApiSettings {
    issuer::IssuingAuthority authority;
    issuer::ArnScope scope; // its region is also the region requests must be signed for
    std::optional<std::int64_t> maxDevices;
    std::filesystem::path registryPath;
    std::size_t registryConnections = 4;
    std::size_t maxBodyBytes = 256 * 1024;
    registry::FleetTiming timing; // serve --offline-after, --enroll-grace
    // serve --public-url: the Enrollment member of every manifest (DESIGN.md section 10).
    std::optional<manifest::Enrollment> enrollment {};
};

class DeviceApi {
public:
    DeviceApi(DeviceApiSettings settings, CredentialStore credentials);

    HttpResponse handle(const HttpRequest& request, std::int64_t now);

private:
    HttpResponse provision(const HttpRequest& request, std::int64_t now);
    HttpResponse describe(const std::string& deviceId, std::int64_t now);
    HttpResponse list(std::string_view rawQuery, std::int64_t now);
    HttpResponse remove(const std::string& deviceId, std::int64_t now);
    HttpResponse update(const std::string& deviceId, const std::string& body);

    DeviceApiSettings settings_;
    CredentialStore credentials_;
    RegistryPool registries_;
};

// The restJson1 response for an error: status, x-amzn-ErrorType, JSON body.
HttpResponse errorResponse(const ApiError& error);

} // namespace omni::serve
