#include "daemon/device/state/status_document.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <utility>

#include "daemon/core/text/json_text.hpp"

namespace omni::state {
namespace {

constexpr std::array<std::pair<DeviceStatus, std::string_view>, 6> kStatusNames { {
    { DeviceStatus::AwaitingProvisioning, "AWAITING_PROVISIONING" },
    { DeviceStatus::Pending, "PENDING" },
    { DeviceStatus::Succeeded, "SUCCEEDED" },
    { DeviceStatus::Failed, "FAILED" },
    { DeviceStatus::Error, "ERROR" },
    { DeviceStatus::Deleting, "DELETING" },
} };

constexpr std::array<std::pair<AttemptResult, std::string_view>, 3> kAttemptResultNames { {
    { AttemptResult::Succeeded, "SUCCEEDED" },
    { AttemptResult::Failed, "FAILED" },
    { AttemptResult::Error, "ERROR" },
} };

nlohmann::ordered_json stringOrNull(const std::optional<std::string>& value)
{
    return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

// Reads the members of one JSON object, naming the file and the key in
// every complaint.
class StrictObject {
public:
    StrictObject(const nlohmann::json& object, std::string prefix, const std::string& sourceName)
        : object_(object)
        , prefix_(std::move(prefix))
        , sourceName_(sourceName)
    {
    }

    tl::unexpected<Error> corrupt(const std::string& key, const std::string& what) const
    {
        return tl::unexpected(Error { ReasonCode::InternalError, Check::None,
            sourceName_ + " is corrupt: " + prefix_ + key + " " + what, prefix_ + key });
    }

    Result<const nlohmann::json*> member(const std::string& key) const
    {
        const auto found = object_.find(key);
        if (found == object_.end())
            return corrupt(key, "is missing");
        return &*found;
    }

    Result<std::optional<std::string>> optionalString(const std::string& key) const
    {
        auto value = member(key);
        if (!value)
            return tl::unexpected(value.error());
        if ((*value)->is_null())
            return std::optional<std::string>();
        if (!(*value)->is_string())
            return corrupt(key, "must be a string or null, not " + std::string((*value)->type_name()));
        return std::optional<std::string>((*value)->get<std::string>());
    }

    Result<std::string> string(const std::string& key) const
    {
        auto value = optionalString(key);
        if (!value)
            return tl::unexpected(value.error());
        if (!*value)
            return corrupt(key, "must be a string, not null");
        return **value;
    }

    Result<std::optional<time::UnixTime>> optionalTime(const std::string& key) const
    {
        auto text = optionalString(key);
        if (!text)
            return tl::unexpected(text.error());
        if (!*text)
            return std::optional<time::UnixTime>();
        const auto time = time::parseRfc3339(**text);
        if (!time)
            return corrupt(
                key, "must be an RFC 3339 time such as 2026-11-26T02:30:00Z, not \"" + **text + "\"");
        return std::optional<time::UnixTime>(*time);
    }

private:
    const nlohmann::json& object_;
    std::string prefix_;
    const std::string& sourceName_;
};

Result<std::optional<LastAttempt>> parseLastAttempt(
    const StrictObject& document, const std::string& sourceName)
{
    auto value = document.member("LastAttempt");
    if (!value)
        return tl::unexpected(value.error());
    if ((*value)->is_null())
        return std::optional<LastAttempt>();
    if (!(*value)->is_object())
        return document.corrupt("LastAttempt", "must be an object or null");
    const StrictObject attempt(**value, "LastAttempt.", sourceName);
    LastAttempt parsed;
    auto resultText = attempt.string("Result");
    if (!resultText)
        return tl::unexpected(resultText.error());
    const auto result = attemptResultFromString(*resultText);
    if (!result)
        return attempt.corrupt("Result", "must be SUCCEEDED, FAILED or ERROR, not \"" + *resultText + "\"");
    parsed.result = *result;
    auto reasonText = attempt.optionalString("Reason");
    if (!reasonText)
        return tl::unexpected(reasonText.error());
    if (*reasonText) {
        parsed.reason = reasonFromString(**reasonText);
        if (!parsed.reason)
            return attempt.corrupt("Reason", "\"" + **reasonText + "\" is not a reason code");
    }
    if (parsed.result == AttemptResult::Succeeded && parsed.reason)
        return attempt.corrupt("Reason", "must be null when Result is SUCCEEDED");
    if (parsed.result != AttemptResult::Succeeded && !parsed.reason)
        return attempt.corrupt(
            "Reason", "must name a reason code when Result is " + std::string(toString(parsed.result)));
    auto message = attempt.string("Message");
    if (!message)
        return tl::unexpected(message.error());
    parsed.message = std::move(*message);
    auto at = attempt.optionalTime("At");
    if (!at)
        return tl::unexpected(at.error());
    if (!*at)
        return attempt.corrupt("At", "must be a time, not null");
    parsed.at = **at;
    auto fileName = attempt.optionalString("FileName");
    if (!fileName)
        return tl::unexpected(fileName.error());
    parsed.fileName = std::move(*fileName);
    return std::optional<LastAttempt>(std::move(parsed));
}

// Name, DeviceId, Arn, IotThingName, ArchiveSha256 and NetworkingConfiguration
// describe one provisioning: all set (the configuration may be null) or all null.
Result<std::optional<AppliedProvisioning>> parseApplied(const StrictObject& document)
{
    constexpr std::array<const char*, 5> kIdentityKeys { "Name", "DeviceId", "Arn", "IotThingName",
        "ArchiveSha256" };
    std::array<std::optional<std::string>, 5> values;
    for (std::size_t index = 0; index < kIdentityKeys.size(); ++index) {
        auto value = document.optionalString(kIdentityKeys[index]);
        if (!value)
            return tl::unexpected(value.error());
        values[index] = std::move(*value);
    }
    auto configuration = document.member("NetworkingConfiguration");
    if (!configuration)
        return tl::unexpected(configuration.error());
    if (!(*configuration)->is_null() && !(*configuration)->is_object())
        return document.corrupt("NetworkingConfiguration",
            "must be an object or null, not " + std::string((*configuration)->type_name()));
    const bool anySet
        = std::any_of(values.begin(), values.end(), [](const auto& value) { return value.has_value(); });
    if (!anySet) {
        if (!(*configuration)->is_null())
            return document.corrupt("NetworkingConfiguration",
                "is set although no provisioning is recorded (Name, "
                "DeviceId, Arn, IotThingName and ArchiveSha256 are null)");
        return std::optional<AppliedProvisioning>();
    }
    for (std::size_t index = 0; index < kIdentityKeys.size(); ++index) {
        if (!values[index])
            return document.corrupt(kIdentityKeys[index],
                "is null although the other keys of the provisioning "
                "(Name, DeviceId, Arn, IotThingName, ArchiveSha256) are set");
    }
    if (!isLowercaseSha256(*values[4]))
        return document.corrupt(
            "ArchiveSha256", "must be 64 lowercase hexadecimal digits, not \"" + *values[4] + "\"");
    return std::optional<AppliedProvisioning>(
        AppliedProvisioning { std::move(*values[0]), std::move(*values[1]), std::move(*values[2]),
            std::move(*values[3]), std::move(*values[4]), **configuration });
}

} // namespace

bool isLowercaseSha256(std::string_view text)
{
    return text.size() == kSha256HexLength && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
}

std::string_view toString(DeviceStatus status)
{
    for (const auto& [value, name] : kStatusNames) {
        if (value == status)
            return name;
    }
    return "ERROR";
}

std::optional<DeviceStatus> deviceStatusFromString(std::string_view text)
{
    for (const auto& [value, name] : kStatusNames) {
        if (name == text)
            return value;
    }
    return std::nullopt;
}

std::string_view toString(AttemptResult result)
{
    for (const auto& [value, name] : kAttemptResultNames) {
        if (value == result)
            return name;
    }
    return "ERROR";
}

std::optional<AttemptResult> attemptResultFromString(std::string_view text)
{
    for (const auto& [value, name] : kAttemptResultNames) {
        if (name == text)
            return value;
    }
    return std::nullopt;
}

nlohmann::ordered_json toJson(const StatusDocument& document)
{
    nlohmann::ordered_json json;
    json["Status"] = toString(document.status);
    const AppliedProvisioning* applied = document.applied ? &*document.applied : nullptr;
    auto appliedString = [&](const std::string AppliedProvisioning::*member) {
        return applied ? nlohmann::ordered_json(applied->*member) : nlohmann::ordered_json(nullptr);
    };
    json["Name"] = appliedString(&AppliedProvisioning::name);
    json["DeviceId"] = appliedString(&AppliedProvisioning::deviceId);
    json["Arn"] = appliedString(&AppliedProvisioning::arn);
    json["IotThingName"] = appliedString(&AppliedProvisioning::iotThingName);
    json["UpdatedAt"] = document.updatedAt ? nlohmann::ordered_json(time::formatRfc3339(*document.updatedAt))
                                           : nlohmann::ordered_json(nullptr);
    json["ArchiveSha256"] = appliedString(&AppliedProvisioning::archiveSha256);
    json["NetworkingConfiguration"] = applied ? nlohmann::ordered_json(applied->networkingConfiguration)
                                              : nlohmann::ordered_json(nullptr);
    if (document.lastAttempt) {
        const LastAttempt& attempt = *document.lastAttempt;
        nlohmann::ordered_json last;
        last["Result"] = toString(attempt.result);
        last["Reason"] = attempt.reason ? nlohmann::ordered_json(toString(*attempt.reason))
                                        : nlohmann::ordered_json(nullptr);
        last["Message"] = attempt.message;
        last["At"] = time::formatRfc3339(attempt.at);
        last["FileName"] = stringOrNull(attempt.fileName);
        json["LastAttempt"] = std::move(last);
    } else {
        json["LastAttempt"] = nullptr;
    }
    return json;
}

std::string serializeStatusDocument(const StatusDocument& document)
{
    // A file name from a stick need not be UTF-8; replace rather than throw.
    return text::dumpJson(toJson(document), 2) + "\n";
}

Result<StatusDocument> parseStatusDocument(std::string_view bytes, const std::string& sourceName)
{
    try {
        nlohmann::json json;
        try {
            json = nlohmann::json::parse(bytes);
        } catch (const nlohmann::json::parse_error& error) {
            return tl::unexpected(Error { ReasonCode::InternalError, Check::None,
                sourceName + " is corrupt: not valid JSON ("
                    + std::string(
                        bytes.empty() ? "the file is empty" : "error at byte " + std::to_string(error.byte))
                    + ")",
                {} });
        }
        if (!json.is_object())
            return tl::unexpected(Error { ReasonCode::InternalError, Check::None,
                sourceName + " is corrupt: not a JSON object but " + std::string(json.type_name()), {} });
        const StrictObject object(json, {}, sourceName);
        StatusDocument document;
        auto statusText = object.string("Status");
        if (!statusText)
            return tl::unexpected(statusText.error());
        const auto status = deviceStatusFromString(*statusText);
        if (!status)
            return object.corrupt("Status", "\"" + *statusText + "\" is not a device status");
        document.status = *status;
        auto updatedAt = object.optionalTime("UpdatedAt");
        if (!updatedAt)
            return tl::unexpected(updatedAt.error());
        document.updatedAt = *updatedAt;
        auto applied = parseApplied(object);
        if (!applied)
            return tl::unexpected(applied.error());
        document.applied = std::move(*applied);
        auto lastAttempt = parseLastAttempt(object, sourceName);
        if (!lastAttempt)
            return tl::unexpected(lastAttempt.error());
        document.lastAttempt = std::move(*lastAttempt);
        if (document.status == DeviceStatus::Succeeded && !document.applied)
            return object.corrupt(
                "Status", "is SUCCEEDED but no provisioning is recorded (ArchiveSha256 is null)");
        if ((document.status == DeviceStatus::AwaitingProvisioning || document.status == DeviceStatus::Failed)
            && document.applied)
            return object.corrupt("Status",
                "is " + *statusText + " although a provisioning is recorded (ArchiveSha256 "
                    + document.applied->archiveSha256 + ")");
        return document;
    } catch (const std::exception& error) {
        // Unreachable with the checks above; kept so nothing escapes.
        return tl::unexpected(Error {
            ReasonCode::InternalError, Check::None, sourceName + " cannot be read: " + error.what(), {} });
    }
}

DeviceStatus settledStatus(const StatusDocument& document)
{
    if (document.applied)
        return DeviceStatus::Succeeded;
    const auto& attempt = document.lastAttempt;
    if (attempt && (attempt->result == AttemptResult::Failed || attempt->fileName))
        return DeviceStatus::Failed;
    return DeviceStatus::AwaitingProvisioning;
}

} // namespace omni::state
