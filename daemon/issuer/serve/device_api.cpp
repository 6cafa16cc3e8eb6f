#include "daemon/issuer/serve/device_api.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>

#include <openssl/rand.h>

#include "daemon/core/digest/digest.hpp"
#include "daemon/core/text/json_text.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/issuer/provision/provision_device.hpp"

namespace omni::serve {
namespace {

constexpr std::array<std::string_view, 10> kAggregatedStatuses { "ERROR", "AWAITING_PROVISIONING", "PENDING",
    "FAILED", "DELETING", "ONLINE", "OFFLINE", "LEASE_EXPIRED", "UPDATE_NEEDED", "REBOOTING" };
constexpr std::array<std::string_view, 4> kSortColumns { "DEVICE_ID", "CREATED_TIME", "NAME",
    "DEVICE_AGGREGATED_STATUS" };
constexpr std::array<std::string_view, 2> kSortOrders { "ASCENDING", "DESCENDING" };
constexpr std::size_t kMaxNextTokenLength = 4096;

template <std::size_t N> bool isOneOf(const std::array<std::string_view, N>& values, std::string_view value)
{
    return std::find(values.begin(), values.end(), value) != values.end();
}

template <std::size_t N> std::string joined(const std::array<std::string_view, N>& values)
{
    std::string text;
    for (const auto value : values)
        text += (text.empty() ? "" : " | ") + std::string(value);
    return text;
}

std::string newRequestId()
{
    std::array<unsigned char, 16> bytes {};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        return "00000000-0000-4000-8000-000000000000";
    bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
    const std::string hex = digest::toHex(std::span<const std::uint8_t>(bytes));
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-"
        + hex.substr(20);
}

HttpResponse jsonResponse(int status, const nlohmann::json& body, std::string summary)
{
    HttpResponse response;
    response.status = status;
    response.headers.emplace_back("Content-Type", "application/json");
    // Messages may quote what a client sent; bytes that are not UTF-8 become U+FFFD instead of an exception.
    response.body = text::dumpJson(body);
    response.summary = std::move(summary);
    return response;
}

bool isDeviceIdText(std::string_view text)
{
    return !text.empty() && text.size() <= 255 && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
            || c == '_';
    });
}

std::optional<std::string_view> aggregatedStatusOf(const registry::DeviceRecord& record)
{
    for (const auto status : kAggregatedStatuses)
        if (status == record.status)
            return status;
    return std::nullopt;
}

nlohmann::json parsedOr(const std::string& text, nlohmann::json fallback)
{
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    return parsed.is_discarded() ? fallback : parsed;
}

// The members both DescribeDeviceResponse and the list's Device shape have.
nlohmann::json deviceSummary(const registry::DeviceRecord& record)
{
    nlohmann::json device { { "DeviceId", record.deviceId }, { "Name", record.name },
        { "CreatedTime", record.createdAt }, { "ProvisioningStatus", record.status },
        { "Tags", parsedOr(record.tagsJson, nlohmann::json::object()) } };
    if (!record.description.empty())
        device["Description"] = record.description;
    if (const auto aggregated = aggregatedStatusOf(record))
        device["DeviceAggregatedStatus"] = std::string(*aggregated);
    return device;
}

struct ListQuery {
    std::size_t maxResults = kDefaultListPageSize;
    std::size_t offset = 0;
    std::optional<std::string> nameFilter;
    std::optional<std::string> statusFilter;
    std::string sortBy = "CREATED_TIME";
    std::optional<std::string> sortOrder;
};

tl::expected<ListQuery, ApiError> parseListQuery(std::string_view rawQuery)
{
    std::map<std::string, std::string> parameters;
    std::vector<manifest::FieldError> errors;
    std::size_t start = 0;
    while (start < rawQuery.size()) {
        std::size_t end = rawQuery.find('&', start);
        if (end == std::string_view::npos)
            end = rawQuery.size();
        const std::string_view pair = rawQuery.substr(start, end - start);
        start = end + 1;
        if (pair.empty())
            continue;
        const std::size_t equals = pair.find('=');
        std::string name = sigv4::percentDecode(pair.substr(0, equals));
        std::string value = equals == std::string_view::npos ? std::string()
                                                             : sigv4::percentDecode(pair.substr(equals + 1));
        if (!parameters.emplace(name, std::move(value)).second)
            errors.push_back({ name, "is given more than once" });
    }

    ListQuery query;
    if (const auto found = parameters.find("MaxResults"); found != parameters.end()) {
        const std::string& text = found->second;
        std::size_t value = 0;
        const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || problem != std::errc() || end != text.data() + text.size() || value > 25)
            errors.push_back(
                { "MaxResults", "must be a whole number from 0 to 25, got '" + text.substr(0, 32) + "'" });
        else if (value > 0)
            query.maxResults = value; // 0 is in the model's range; it means the default page
    }
    if (const auto found = parameters.find("NextToken"); found != parameters.end()) {
        const std::string& text = found->second;
        std::size_t value = 0;
        const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || text.size() > kMaxNextTokenLength || problem != std::errc()
            || end != text.data() + text.size())
            errors.push_back({ "NextToken", "is not a token this service returned" });
        else
            query.offset = value;
    }
    if (const auto found = parameters.find("NameFilter"); found != parameters.end())
        query.nameFilter = found->second;
    if (const auto found = parameters.find("DeviceAggregatedStatusFilter"); found != parameters.end()) {
        if (!isOneOf(kAggregatedStatuses, found->second))
            errors.push_back(
                { "DeviceAggregatedStatusFilter", "must be one of " + joined(kAggregatedStatuses) });
        query.statusFilter = found->second;
    }
    if (const auto found = parameters.find("SortBy"); found != parameters.end()) {
        if (!isOneOf(kSortColumns, found->second))
            errors.push_back({ "SortBy", "must be one of " + joined(kSortColumns) });
        query.sortBy = found->second;
    }
    if (const auto found = parameters.find("SortOrder"); found != parameters.end()) {
        if (!isOneOf(kSortOrders, found->second))
            errors.push_back({ "SortOrder", "must be one of " + joined(kSortOrders) });
        query.sortOrder = found->second;
    }
    if (!errors.empty())
        return tl::unexpected(fieldValidationError(errors));
    return query;
}

std::string sortKey(const registry::DeviceRecord& record, const std::string& column)
{
    if (column == "DEVICE_ID")
        return record.deviceId;
    if (column == "NAME")
        return record.name;
    if (column == "DEVICE_AGGREGATED_STATUS")
        return std::string(aggregatedStatusOf(record).value_or(""));
    return {};
}

} // namespace

HttpResponse errorResponse(const ApiError& error)
{
    HttpResponse response = jsonResponse(error.httpStatus, error.body, error.type + ": " + error.message());
    response.headers.emplace_back("x-amzn-ErrorType", error.type);
    return response;
}

DeviceApi::DeviceApi(DeviceApiSettings settings, CredentialStore credentials)
    : settings_(std::move(settings))
    , credentials_(std::move(credentials))
    , registries_(settings_.registryPath, settings_.registryConnections)
{
}

HttpResponse DeviceApi::handle(const HttpRequest& request, std::int64_t now)
{
    HttpResponse response;
    const std::size_t question = request.target.find('?');
    const std::string rawPath = request.target.substr(0, question);
    const std::string rawQuery
        = question == std::string::npos ? std::string() : request.target.substr(question + 1);
    const std::string path = sigv4::percentDecode(rawPath);

    if (request.bodyTooLarge) {
        // Refused on its size alone: nothing in it is read or acted on.
        response = errorResponse(payloadTooLargeError(settings_.maxBodyBytes));
    } else {
        const sigv4::Request signedRequest { request.method, request.target, request.headers };
        const auto caller = sigv4::verify(
            signedRequest, digest::sha256Hex(request.body),
            [this](std::string_view id) { return credentials_.secretFor(id); },
            sigv4::Policy {
                settings_.scope.region, std::string(kSigningService), sigv4::kMaxClockSkewSeconds },
            now);
        if (!caller) {
            response = errorResponse(accessDeniedError(caller.error().message));
        } else if (path == "/devices" && request.method == "POST") {
            response = provision(request, now);
        } else if (path == "/devices" && request.method == "GET") {
            response = list(rawQuery);
        } else if (path.rfind("/devices/", 0) == 0 && path.find('/', 9) == std::string::npos
            && request.method == "GET") {
            response = describe(path.substr(9));
        } else {
            response = errorResponse(validationError("UNKNOWN_OPERATION",
                "this service has no operation " + request.method + " " + rawPath.substr(0, 200)
                    + "; it answers POST /devices, GET /devices and GET /devices/{DeviceId}"));
        }
        if (caller)
            response.summary += " (access key " + *caller + ")";
    }
    response.headers.emplace_back("x-amzn-RequestId", newRequestId());
    return response;
}

HttpResponse DeviceApi::provision(const HttpRequest& request, std::int64_t now)
{
    auto registry = registries_.acquire();
    if (!registry)
        return errorResponse(internalServerError(registry.error().message));
    ProvisionPolicy policy;
    policy.maxDevices = settings_.maxDevices;
    policy.enrollment = settings_.enrollment;
    auto device
        = provisionDevice(**registry, settings_.authority, settings_.scope, request.body, policy, now);
    if (!device) {
        HttpResponse response = errorResponse(device.error());
        response.summary = "ProvisionDevice " + response.summary;
        return response;
    }
    return jsonResponse(200, issuer::provisionResponse(*device),
        "ProvisionDevice " + device->name + " -> " + device->deviceId + ", certificate valid until "
            + time::formatRfc3339(device->certificateNotAfter));
}

HttpResponse DeviceApi::describe(const std::string& deviceId)
{
    if (!isDeviceIdText(deviceId)) {
        HttpResponse response = errorResponse(
            fieldValidationError({ { "DeviceId", "must be 1 to 255 characters of [a-zA-Z0-9-_]" } }));
        response.summary = "DescribeDevice " + response.summary;
        return response;
    }
    auto registry = registries_.acquire();
    if (!registry)
        return errorResponse(internalServerError(registry.error().message));
    auto record = (*registry)->findById(deviceId);
    if (!record)
        return errorResponse(internalServerError(record.error().message));
    if (!*record) {
        HttpResponse response = errorResponse(resourceNotFoundError(
            "no device " + deviceId + " in this service's registry", deviceId, "device"));
        response.summary = "DescribeDevice " + response.summary;
        return response;
    }
    const registry::DeviceRecord& device = **record;
    nlohmann::json body = deviceSummary(device);
    body["Arn"] = device.arn;
    const nlohmann::json networking = parsedOr(device.networkingJson, nullptr);
    if (networking.is_object())
        body["NetworkingConfiguration"] = networking;
    return jsonResponse(200, body, "DescribeDevice " + device.deviceId + " (" + device.name + ")");
}

HttpResponse DeviceApi::list(std::string_view rawQuery)
{
    auto query = parseListQuery(rawQuery);
    if (!query) {
        HttpResponse response = errorResponse(query.error());
        response.summary = "ListDevices " + response.summary;
        return response;
    }
    auto registry = registries_.acquire();
    if (!registry)
        return errorResponse(internalServerError(registry.error().message));
    auto count = (*registry)->count();
    if (!count)
        return errorResponse(internalServerError(count.error().message));
    auto records
        = (*registry)->list(static_cast<std::size_t>(std::max<std::int64_t>(*count, 1)), std::nullopt);
    if (!records)
        return errorResponse(internalServerError(records.error().message));

    std::vector<registry::DeviceRecord> devices;
    for (auto& record : *records) {
        if (query->nameFilter && record.name.rfind(*query->nameFilter, 0) != 0)
            continue;
        if (query->statusFilter && aggregatedStatusOf(record) != std::string_view(*query->statusFilter))
            continue;
        devices.push_back(std::move(record));
    }
    // The model: CREATED_TIME sorts DESCENDING by default, every other column ASCENDING.
    const bool descending
        = query->sortOrder ? *query->sortOrder == "DESCENDING" : query->sortBy == "CREATED_TIME";
    const std::string& column = query->sortBy;
    std::stable_sort(devices.begin(), devices.end(), [&](const auto& left, const auto& right) {
        const auto key = [&](const registry::DeviceRecord& record) {
            return std::make_tuple(
                column == "CREATED_TIME" ? record.createdAt : 0, sortKey(record, column), record.deviceId);
        };
        return descending ? key(right) < key(left) : key(left) < key(right);
    });

    nlohmann::json body { { "Devices", nlohmann::json::array() } };
    const std::size_t first = std::min(query->offset, devices.size());
    const std::size_t last = std::min(first + query->maxResults, devices.size());
    for (std::size_t i = first; i < last; ++i)
        body["Devices"].push_back(deviceSummary(devices[i]));
    if (last < devices.size())
        body["NextToken"] = std::to_string(last);
    return jsonResponse(200, body,
        "ListDevices " + std::to_string(last - first) + " of " + std::to_string(devices.size()) + " devices");
}

} // namespace omni::serve
