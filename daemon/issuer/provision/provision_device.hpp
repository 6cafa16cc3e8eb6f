#pragma once
// ProvisionDevice itself, shared by `serve` (POST /devices) and
// `create-device`: request bytes in; validated, issued, recorded in the
// registry; the issued device or an API error out.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "daemon/core/time/time.hpp"
#include "daemon/issuer/ca/issuing.hpp"
#include "daemon/issuer/provision/api_error.hpp"
#include "daemon/issuer/registry/registry.hpp"

namespace omni::serve {

struct ProvisionPolicy {
    // The registry may hold at most this many devices (ServiceQuotaExceededException).
    std::optional<std::int64_t> maxDevices;
    // create-device --replace: a Name already issued is issued again.
    bool replaceExisting = false;
    // create-device --out: certificates-omni_<Name>.zip must fit a file name.
    bool nameMustFitFileName = false;
    // Appended to the ConflictException message ("; use --replace to issue it again").
    std::string conflictAdvice;
    // serve --public-url, create-device --enroll-url: the Enrollment member
    // of every manifest issued (DESIGN.md section 10), already checked with
    // manifest::makeEnrollment.
    std::optional<manifest::Enrollment> enrollment;
};

struct ProvisionHooks {
    // Runs inside the registry transaction, after the record is inserted and
    // before the commit (create-device writes the archive here). A failure
    // rolls the record back and is an InternalServerException.
    std::function<Result<void>(const issuer::IssuedDevice&)> beforeCommit;
    // The commit failed after beforeCommit succeeded (remove what it wrote).
    std::function<void(const issuer::IssuedDevice&)> commitFailed;
};

// The archive is issued before the registry's write lock is taken, so
// concurrent requests sign in parallel and only the short check-and-insert
// is serialised; Name uniqueness and the quota are decided inside the lock.
tl::expected<issuer::IssuedDevice, ApiError> provisionDevice(registry::Registry& registry,
    const issuer::IssuingAuthority& authority, const issuer::ArnScope& scope, std::string_view requestBody,
    const ProvisionPolicy& policy, time::UnixTime now, const ProvisionHooks& hooks = {});

// The registry row for an issued device (the archive itself is never stored).
registry::DeviceRecord recordFor(
    const issuer::IssuedDevice& device, const manifest::ProvisionRequest& request);

} // namespace omni::serve
