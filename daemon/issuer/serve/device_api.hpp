#pragma once
// The ProvisionDevice service behind `omni-provision serve`: a request as it
// arrived in, a restJson1 response out. Every request is authenticated (AWS
// Signature Version 4) before anything else is looked at; then
//   POST   /devices             ProvisionDevice
//   GET    /devices/{DeviceId}  DescribeDevice
//   GET    /devices             ListDevices
//   DELETE /devices/{DeviceId}  DeleteDevice
//   PUT    /devices/{DeviceId}  UpdateDeviceMetadata
// and, authenticated by the TLS client certificate instead (section 10, est.hpp):
//   GET    /.well-known/est/cacerts        the issuing chain (no client certificate)
//   POST   /.well-known/est/simpleenroll   provisioning certificate -> device certificate
//   POST   /.well-known/est/simplereenroll device certificate -> a new one
//   PUT    /device-status                  the device's CurrentNetworkingStatus
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
#include "daemon/issuer/serve/est.hpp"
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
    // serve --device-cert-days: the validity of the device certificates EST issues.
    std::int64_t deviceCertificateDays = 365;
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
    HttpResponse caCertificates();
    HttpResponse enrol(const HttpRequest& request, std::int64_t now);
    HttpResponse reenrol(const HttpRequest& request, std::int64_t now);
    HttpResponse reportStatus(const HttpRequest& request, std::int64_t now);

    // The verified device certificate and the device it names (its CN is the
    // DeviceId), judged before anything of the body is looked at.
    struct DeviceCaller {
        trust::X509Ptr certificate;
        std::string deviceId;
    };
    tl::expected<DeviceCaller, est::Refusal> deviceCaller(const HttpRequest& request, std::int64_t now);
    HttpResponse issueDeviceCertificate(std::string_view operation, registry::Registry& registry,
        const std::string& deviceId, X509_REQ* csr, const std::optional<std::string>& replacing,
        std::int64_t now);

    DeviceApiSettings settings_;
    CredentialStore credentials_;
    RegistryPool registries_;
};

// The restJson1 response for an error: status, x-amzn-ErrorType, JSON body.
HttpResponse errorResponse(const ApiError& error);

} // namespace omni::serve
