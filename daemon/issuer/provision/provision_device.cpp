#include "daemon/issuer/provision/provision_device.hpp"

#include "daemon/core/text/json_text.hpp"

namespace omni::serve {
namespace {

ApiError conflictFor(const registry::DeviceRecord& existing, const ProvisionPolicy& policy)
{
    return conflictError("a device named '" + existing.name + "' was already issued (" + existing.deviceId
            + ")" + policy.conflictAdvice,
        existing.deviceId, "device");
}

ApiError quotaFor(std::int64_t maxDevices)
{
    return serviceQuotaExceededError("the registry already holds " + std::to_string(maxDevices)
            + (maxDevices == 1 ? " device" : " devices")
            + ", the quota this service was started with (--max-devices " + std::to_string(maxDevices) + ")",
        "max-devices", "panorama", "device");
}

} // namespace

registry::DeviceRecord recordFor(const issuer::IssuedDevice& device,
    const manifest::ProvisionRequest& request, const std::optional<manifest::Enrollment>& enrollment)
{
    registry::DeviceRecord record;
    record.deviceId = device.deviceId;
    record.name = device.name;
    record.arn = device.arn;
    record.iotThingName = device.iotThingName;
    record.description = request.description.value_or("");
    record.tagsJson = text::dumpJson(nlohmann::json(request.tags));
    record.networkingJson
        = request.networking ? text::dumpJson(manifest::toJson(*request.networking)) : "null";
    record.createdAt = device.createdAt;
    record.certificateNotAfter = device.certificateNotAfter;
    record.provisioningCertificateSerial = device.certificateSerial;
    // Section 10: a device issued without an endpoint is NOT_AVAILABLE, never FAILED.
    record.enrollmentUrl = enrollment ? enrollment->url : std::string();
    return record;
}

tl::expected<issuer::IssuedDevice, ApiError> provisionDevice(registry::Registry& registry,
    const issuer::IssuingAuthority& authority, const issuer::ArnScope& scope, std::string_view requestBody,
    const ProvisionPolicy& policy, time::UnixTime now, const ProvisionHooks& hooks)
{
    auto parsed = manifest::parseStrictJsonText(requestBody);
    if (!parsed)
        return tl::unexpected(validationError("CANNOT_PARSE", "the request body " + parsed.error()));
    if (!parsed->is_object())
        return tl::unexpected(validationError("CANNOT_PARSE", "the request body must be a JSON object"));
    auto request = manifest::validateProvisionRequest(*parsed);
    if (!request)
        return tl::unexpected(fieldValidationError(request.error()));
    if (policy.nameMustFitFileName && request->name.size() > manifest::kMaxNameForFileName)
        return tl::unexpected(fieldValidationError({ { "Name",
            "is " + std::to_string(request->name.size())
                + " characters; with --out the file name certificates-omni_<Name>.zip must fit in 255 bytes, "
                  "so "
                  "Name can be at most "
                + std::to_string(manifest::kMaxNameForFileName) + " characters" } }));

    // Cheap early answers, so a duplicate or a full registry costs no signature;
    // repeated under the write lock below, where they decide.
    auto existing = registry.findByName(request->name);
    if (!existing)
        return tl::unexpected(internalServerError(existing.error().message));
    if (*existing && !policy.replaceExisting)
        return tl::unexpected(conflictFor(**existing, policy));

    auto device = issuer::issueDevice(*request, authority, scope, now, policy.enrollment);
    if (!device && device.error().reason == ReasonCode::ManifestInvalid)
        return tl::unexpected(fieldValidationError({ { device.error().where, device.error().message } }));
    if (!device)
        return tl::unexpected(internalServerError(device.error().message));

    auto transaction = registry.beginWrite();
    if (!transaction)
        return tl::unexpected(internalServerError(transaction.error().message));
    existing = registry.findByName(request->name);
    if (!existing)
        return tl::unexpected(internalServerError(existing.error().message));
    if (*existing && !policy.replaceExisting)
        return tl::unexpected(conflictFor(**existing, policy));
    if (policy.maxDevices) {
        auto count = registry.count();
        if (!count)
            return tl::unexpected(internalServerError(count.error().message));
        const std::int64_t afterInsert = *count + (*existing ? 0 : 1);
        if (afterInsert > *policy.maxDevices)
            return tl::unexpected(quotaFor(*policy.maxDevices));
    }
    if (*existing)
        if (auto removed = registry.removeByName(request->name); !removed)
            return tl::unexpected(internalServerError(removed.error().message));
    if (auto inserted = registry.insert(recordFor(*device, *request, policy.enrollment)); !inserted)
        return tl::unexpected(internalServerError(inserted.error().message));
    if (hooks.beforeCommit)
        if (auto done = hooks.beforeCommit(*device); !done)
            return tl::unexpected(internalServerError(done.error().message));
    if (auto committed = transaction->commit(); !committed) {
        if (hooks.beforeCommit && hooks.commitFailed)
            hooks.commitFailed(*device);
        return tl::unexpected(internalServerError(committed.error().message));
    }
    return std::move(*device);
}

} // namespace omni::serve
