#include "daemon/issuer/provision/api_error.hpp"

namespace omni::serve {
namespace {

ApiError make(int status, const std::string& type, const std::string& message)
{
    return ApiError { status, type, nlohmann::json { { "__type", type }, { "Message", message } } };
}

} // namespace

std::string describeFieldErrors(const std::vector<manifest::FieldError>& fields)
{
    std::string message = std::to_string(fields.size())
        + (fields.size() == 1 ? " validation error detected: " : " validation errors detected: ");
    for (std::size_t i = 0; i < fields.size(); ++i)
        message += (i ? "; " : "") + fields[i].path + ": " + fields[i].message;
    return message;
}

ApiError validationError(
    std::string_view reason, const std::string& message, const std::vector<manifest::FieldError>& fields)
{
    ApiError error = make(400, "ValidationException", message);
    error.body["Reason"] = std::string(reason);
    if (!fields.empty()) {
        auto& list = error.body["Fields"] = nlohmann::json::array();
        for (const auto& field : fields)
            list.push_back({ { "Name", field.path }, { "Message", field.message } });
    }
    return error;
}

ApiError fieldValidationError(const std::vector<manifest::FieldError>& fields)
{
    return validationError("FIELD_VALIDATION_FAILED", describeFieldErrors(fields), fields);
}

ApiError conflictError(
    const std::string& message, const std::string& resourceId, const std::string& resourceType)
{
    ApiError error = make(409, "ConflictException", message);
    error.body["ResourceId"] = resourceId;
    error.body["ResourceType"] = resourceType;
    return error;
}

ApiError serviceQuotaExceededError(const std::string& message, const std::string& quotaCode,
    const std::string& serviceCode, const std::string& resourceType)
{
    ApiError error = make(402, "ServiceQuotaExceededException", message);
    error.body["QuotaCode"] = quotaCode;
    error.body["ServiceCode"] = serviceCode;
    error.body["ResourceType"] = resourceType;
    return error;
}

ApiError accessDeniedError(const std::string& message)
{
    return make(403, "AccessDeniedException", message);
}

ApiError resourceNotFoundError(
    const std::string& message, const std::string& resourceId, const std::string& resourceType)
{
    ApiError error = make(404, "ResourceNotFoundException", message);
    error.body["ResourceId"] = resourceId;
    error.body["ResourceType"] = resourceType;
    return error;
}

ApiError internalServerError(const std::string& message)
{
    return make(500, "InternalServerException", message);
}

ApiError payloadTooLargeError(std::size_t limitBytes)
{
    ApiError error = validationError("OTHER",
        "the request body is over " + std::to_string(limitBytes)
            + " bytes, the limit of this service (a ProvisionDevice request is far smaller)");
    error.httpStatus = 413;
    return error;
}

} // namespace omni::serve
