#pragma once
// The ProvisionDevice API's errors (the seed's names and HTTP codes, the
// members of the Panorama model's error shapes), as one value that both the
// HTTP service (x-amzn-ErrorType header + JSON body, restJson1) and
// `create-device` (the body on stdout) print.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/core/manifest/manifest.hpp"

namespace omni::serve {

struct ApiError {
    int httpStatus = 500;
    std::string type; // "ValidationException", ...; also the body's "__type"
    nlohmann::json body; // "__type", "Message" and the model's members

    std::string message() const { return body.value("Message", ""); }
};

// "2 validation errors detected: Name: ...; Tags.site: ..."
std::string describeFieldErrors(const std::vector<manifest::FieldError>& fields);

// reason: the model's ValidationExceptionReason (CANNOT_PARSE, FIELD_VALIDATION_FAILED, UNKNOWN_OPERATION,
// OTHER).
ApiError validationError(std::string_view reason, const std::string& message,
    const std::vector<manifest::FieldError>& fields = {});
// FIELD_VALIDATION_FAILED with the message describeFieldErrors() makes.
ApiError fieldValidationError(const std::vector<manifest::FieldError>& fields);
ApiError conflictError(
    const std::string& message, const std::string& resourceId, const std::string& resourceType);
ApiError serviceQuotaExceededError(const std::string& message, const std::string& quotaCode,
    const std::string& serviceCode, const std::string& resourceType);
ApiError accessDeniedError(const std::string& message);
ApiError resourceNotFoundError(
    const std::string& message, const std::string& resourceId, const std::string& resourceType);
ApiError internalServerError(const std::string& message);
// A body over the size limit: HTTP 413 carrying a ValidationException, so
// the SDKs still name the problem.
ApiError payloadTooLargeError(std::size_t limitBytes);

} // namespace omni::serve
