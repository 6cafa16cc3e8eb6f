#include "daemon/issuer/serve/device_api.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>
#include <map>
#include <span>
#include <tuple>

#include <openssl/rand.h>

#include "daemon/core/digest/digest.hpp"
#include "daemon/core/text/json_text.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/x509_builder.hpp"
#include "daemon/issuer/provision/provision_device.hpp"
#include "daemon/issuer/serve/est.hpp"

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

nlohmann::json parsedOr(const std::string& text, nlohmann::json fallback)
{
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    return parsed.is_discarded() ? fallback : parsed;
}

HttpResponse failed(std::string_view operation, const ApiError& error)
{
    HttpResponse response = errorResponse(error);
    response.summary = std::string(operation) + " " + response.summary;
    return response;
}

ApiError notFound(const std::string& deviceId)
{
    return resourceNotFoundError("no device " + deviceId + " in this service's registry", deviceId, "device");
}

ApiError badDeviceId()
{
    return fieldValidationError({ { "DeviceId", "must be 1 to 255 characters of [a-zA-Z0-9-_]" } });
}

// The members both DescribeDeviceResponse and the list's Device shape have.
nlohmann::json deviceSummary(const registry::DeviceRecord& record, const registry::DeviceStatuses& statuses)
{
    nlohmann::json device { { "DeviceId", record.deviceId }, { "Name", record.name },
        { "CreatedTime", record.createdAt }, { "ProvisioningStatus", std::string(statuses.provisioning) },
        { "DeviceAggregatedStatus", std::string(statuses.aggregated) },
        { "Tags", parsedOr(record.tagsJson, nlohmann::json::object()) } };
    if (!record.description.empty())
        device["Description"] = record.description;
    if (record.deviceCertificateNotAfter)
        device["LeaseExpirationTime"] = *record.deviceCertificateNotAfter;
    return device;
}

struct ListQuery {
    std::size_t maxResults = kDefaultListPageSize;
    std::optional<std::string> nextToken;
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
        if (text.empty() || problem != std::errc() || end != text.data() + text.size()
            || value > kDefaultListPageSize)
            errors.push_back(
                { "MaxResults", "must be a whole number from 0 to 25, got '" + text.substr(0, 32) + "'" });
        else if (value > 0) // the model allows 0 (MaxSize25: min 0); it asks for the default page
            query.maxResults = value;
    }
    if (const auto found = parameters.find("NextToken"); found != parameters.end()) {
        if (found->second.empty() || found->second.size() > kMaxNextTokenLength)
            errors.push_back({ "NextToken", "is not a token this service returned" });
        query.nextToken = found->second;
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

// A listed device with what it sorts by: (created time, column text, DeviceId),
// the DeviceId breaking every tie so the order is total and pages never
// overlap or skip.
struct Listed {
    registry::DeviceRecord record;
    registry::DeviceStatuses statuses;
    std::tuple<std::int64_t, std::string, std::string> key;
};

std::tuple<std::int64_t, std::string, std::string> sortKey(
    const registry::DeviceRecord& record, const registry::DeviceStatuses& statuses, const std::string& column)
{
    std::string text;
    if (column == "NAME")
        text = record.name;
    else if (column == "DEVICE_AGGREGATED_STATUS")
        text = std::string(statuses.aggregated);
    return { column == "CREATED_TIME" ? record.createdAt : 0, std::move(text), record.deviceId };
}

// NextToken: where the previous page ended (its last key) and a digest of
// the query it belongs to, as hex of a small JSON object. Opaque to clients;
// a cursor instead of an offset, so devices added or deleted between pages do
// not shift the pages. A token from another query is refused. The digest
// keeps a token well under the model's 4096 characters whatever NameFilter
// holds (Name and DeviceId are at most 255 characters each).
std::string tokenQuery(const ListQuery& query, bool descending)
{
    const nlohmann::json described { { "SortBy", query.sortBy }, { "Descending", descending },
        { "NameFilter", query.nameFilter ? nlohmann::json(*query.nameFilter) : nlohmann::json() },
        { "StatusFilter", query.statusFilter ? nlohmann::json(*query.statusFilter) : nlohmann::json() } };
    return digest::sha256Hex(text::dumpJson(described));
}

std::string encodeToken(const ListQuery& query, bool descending,
    const std::tuple<std::int64_t, std::string, std::string>& lastKey)
{
    const nlohmann::json token { { "V", 1 }, { "Query", tokenQuery(query, descending) },
        { "After", { std::get<0>(lastKey), std::get<1>(lastKey), std::get<2>(lastKey) } } };
    const std::string text = text::dumpJson(token);
    return digest::toHex(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::optional<std::tuple<std::int64_t, std::string, std::string>> decodeToken(
    const std::string& token, const ListQuery& query, bool descending)
{
    if (token.size() % 2 != 0)
        return std::nullopt;
    std::string text;
    for (std::size_t i = 0; i < token.size(); i += 2) {
        unsigned value = 0;
        const auto [end, problem] = std::from_chars(token.data() + i, token.data() + i + 2, value, 16);
        if (problem != std::errc() || end != token.data() + i + 2)
            return std::nullopt;
        text.push_back(static_cast<char>(value));
    }
    const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
    if (!parsed.is_object() || parsed.value("V", nlohmann::json()) != 1
        || parsed.value("Query", nlohmann::json()) != nlohmann::json(tokenQuery(query, descending)))
        return std::nullopt;
    const nlohmann::json after = parsed.value("After", nlohmann::json());
    if (!after.is_array() || after.size() != 3 || !after[0].is_number_integer() || !after[1].is_string()
        || !after[2].is_string())
        return std::nullopt;
    return std::make_tuple(
        after[0].get<std::int64_t>(), after[1].get<std::string>(), after[2].get<std::string>());
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
    const bool isDevicePath = path.rfind("/devices/", 0) == 0 && path.find('/', 9) == std::string::npos;

    if (request.bodyTooLarge) {
        // Refused on its size alone: nothing in it is read or acted on.
        response = errorResponse(payloadTooLargeError(settings_.maxBodyBytes));
    } else if (path == "/.well-known/est/cacerts" && request.method == "GET") {
        response = caCertificates();
    } else if (path == "/.well-known/est/simpleenroll" && request.method == "POST") {
        response = enrol(request, now);
    } else if (path == "/.well-known/est/simplereenroll" && request.method == "POST") {
        response = reenrol(request, now);
    } else if (path == "/device-status" && request.method == "PUT") {
        response = reportStatus(request, now);
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
            response = list(rawQuery, now);
        } else if (isDevicePath && request.method == "GET") {
            response = describe(path.substr(9), now);
        } else if (isDevicePath && request.method == "DELETE") {
            response = remove(path.substr(9), now);
        } else if (isDevicePath && request.method == "PUT") {
            response = update(path.substr(9), request.body);
        } else {
            response = errorResponse(validationError("UNKNOWN_OPERATION",
                "this service has no operation " + request.method + " " + rawPath.substr(0, 200)
                    + "; it answers POST and GET /devices, and GET, PUT and DELETE /devices/{DeviceId}"));
        }
        if (caller)
            response.summary += " (access key " + *caller + ")";
    }
    response.headers.emplace_back("x-amzn-RequestId", newRequestId());
    return response;
}

namespace {

HttpResponse textResponse(int status, const std::string& text, std::string summary)
{
    HttpResponse response;
    response.status = status;
    response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    response.body = text + "\n";
    response.summary = std::move(summary);
    return response;
}

HttpResponse refused(std::string_view operation, const est::Refusal& refusal)
{
    return textResponse(
        refusal.status, refusal.reason, std::string(operation) + " refused: " + refusal.reason);
}

HttpResponse certsOnly(std::string_view operation, const std::vector<const X509*>& certificates,
    std::string summary, bool smimeType)
{
    auto body = est::certsOnlyBase64(certificates);
    if (!body)
        return textResponse(500, "internal error", std::string(operation) + " " + body.error().message);
    HttpResponse response;
    response.headers.emplace_back("Content-Type",
        smimeType ? "application/pkcs7-mime; smime-type=certs-only" : "application/pkcs7-mime");
    response.headers.emplace_back("Content-Transfer-Encoding", "base64");
    response.body = *body;
    response.summary = std::string(operation) + " " + summary;
    return response;
}

} // namespace

HttpResponse DeviceApi::caCertificates()
{
    std::vector<const X509*> certificates { settings_.authority.certificate.get() };
    std::vector<trust::X509Ptr> chain;
    if (!settings_.authority.chainPem.empty()) {
        auto parsed = trust::parseCertificatesPem(settings_.authority.chainPem);
        if (parsed)
            chain = std::move(*parsed);
    }
    for (const auto& certificate : chain)
        if (X509_cmp(certificate.get(), settings_.authority.certificate.get()) != 0)
            certificates.push_back(certificate.get());
    return certsOnly(
        "EST cacerts", certificates, std::to_string(certificates.size()) + " certificates", false);
}

HttpResponse DeviceApi::enrol(const HttpRequest& request, std::int64_t now)
{
    constexpr std::string_view operation = "EST simpleenroll";
    auto certificate = est::verifyClientCertificate(
        request.clientCertificateChainDer, settings_.authority.certificate.get());
    if (!certificate)
        return refused(operation, certificate.error());
    const auto deviceId = trust::commonName(certificate->get());
    if (!deviceId)
        return refused(operation, { 403, "unknown: the client certificate has no single subject CN" });
    auto registry = registries_.acquire();
    if (!registry)
        return errorResponse(internalServerError(registry.error().message));
    auto record = (*registry)->findById(*deviceId);
    if (!record)
        return errorResponse(internalServerError(record.error().message));
    if (auto judged = est::judgeProvisioningCertificate(*record, est::serialHex(certificate->get())); !judged)
        return refused(operation, judged.error());
    if (auto window
        = est::checkWindow(trust::validityOf(certificate->get()), now, settings_.timing.enrollGraceSeconds);
        !window)
        return refused(operation, window.error());
    if (auto contact = (*registry)->recordFirstContact(*deviceId, now); !contact)
        return errorResponse(internalServerError(contact.error().message));

    auto csr = est::parseCsr(request.body);
    if (!csr)
        return refused(operation, csr.error());
    if (auto checked = est::checkCsr(csr->get(), *deviceId, X509_get0_pubkey(certificate->get())); !checked)
        return refused(operation, checked.error());
    const registry::DeviceRecord& device = **record;
    trust::X509Ptr enrolled;
    if (device.deviceCertificatePem) {
        auto loaded = trust::loadCertificatePem(*device.deviceCertificatePem, "the registry");
        if (loaded)
            enrolled = std::move(*loaded);
    }
    const bool sameKey
        = enrolled && est::samePublicKey(X509_REQ_get0_pubkey(csr->get()), X509_get0_pubkey(enrolled.get()));
    auto step = est::judgeRetry(device, sameKey);
    if (!step)
        return refused(operation, step.error());
    if (*step == est::EnrolmentStep::Resend)
        return certsOnly(operation, { enrolled.get() },
            *deviceId + ": the same device certificate again (a retry), serial "
                + est::serialHex(enrolled.get()),
            true);
    return issueDeviceCertificate(operation, **registry, *deviceId, csr->get(), std::nullopt, now);
}

HttpResponse DeviceApi::issueDeviceCertificate(std::string_view operation, registry::Registry& registry,
    const std::string& deviceId, X509_REQ* csr, const std::optional<std::string>& replacing, std::int64_t now)
{
    trust::CertificateSpec spec;
    spec.commonName = deviceId;
    spec.notBefore = now;
    spec.notAfter = now + settings_.deviceCertificateDays * 24 * 3600;
    auto issued = trust::issueCertificate(spec, X509_REQ_get0_pubkey(csr),
        settings_.authority.certificate.get(), settings_.authority.key.get());
    if (!issued)
        return errorResponse(internalServerError(issued.error().message));
    const std::string serial = est::serialHex(issued->get());
    auto recorded = registry.recordEnrolment(
        deviceId, now, serial, spec.notAfter, trust::certificateToPem(issued->get()), replacing);
    if (!recorded)
        return errorResponse(internalServerError(recorded.error().message));
    if (!*recorded) // another enrolment, or a deletion, came first
        return refused(operation,
            { 409, "consumed: the device " + deviceId + " was enrolled or deleted while this request ran" });
    return certsOnly(operation, { issued->get() },
        deviceId + ": device certificate serial " + serial + " valid until "
            + time::formatRfc3339(spec.notAfter),
        true);
}

HttpResponse DeviceApi::reenrol(const HttpRequest& request, std::int64_t now)
{
    constexpr std::string_view operation = "EST simplereenroll";
    auto caller = deviceCaller(request, now);
    if (!caller)
        return refused(operation, caller.error());
    auto csr = est::parseCsr(request.body);
    if (!csr)
        return refused(operation, csr.error());
    if (auto checked
        = est::checkCsr(csr->get(), caller->deviceId, X509_get0_pubkey(caller->certificate.get()));
        !checked)
        return refused(operation, checked.error());
    auto registry = registries_.acquire();
    if (!registry)
        return errorResponse(internalServerError(registry.error().message));
    return issueDeviceCertificate(
        operation, **registry, caller->deviceId, csr->get(), est::serialHex(caller->certificate.get()), now);
}

tl::expected<DeviceApi::DeviceCaller, est::Refusal> DeviceApi::deviceCaller(
    const HttpRequest& request, std::int64_t now)
{
    auto certificate = est::verifyClientCertificate(
        request.clientCertificateChainDer, settings_.authority.certificate.get());
    if (!certificate)
        return tl::unexpected(certificate.error());
    const auto deviceId = trust::commonName(certificate->get());
    if (!deviceId)
        return tl::unexpected(
            est::Refusal { 403, "unknown: the client certificate has no single subject CN" });
    auto registry = registries_.acquire();
    if (!registry)
        return tl::unexpected(est::Refusal { 500, registry.error().message });
    auto record = (*registry)->findById(*deviceId);
    if (!record)
        return tl::unexpected(est::Refusal { 500, record.error().message });
    if (auto judged = est::judgeDeviceCertificate(
            *record, est::serialHex(certificate->get()), trust::validityOf(certificate->get()), now);
        !judged)
        return tl::unexpected(judged.error());
    return DeviceCaller { std::move(*certificate), *deviceId };
}

HttpResponse DeviceApi::reportStatus(const HttpRequest& request, std::int64_t now)
{
    constexpr std::string_view operation = "PUT /device-status";
    auto caller = deviceCaller(request, now);
    if (!caller)
        return refused(operation, caller.error());
    auto report = est::parseStatusReport(request.body);
    if (!report)
        return refused(operation, report.error());
    auto registry = registries_.acquire();
    if (!registry)
        return errorResponse(internalServerError(registry.error().message));
    auto recorded = (*registry)->recordReport(caller->deviceId, now, *report);
    if (!recorded)
        return errorResponse(internalServerError(recorded.error().message));
    if (!*recorded)
        return refused(operation, { 409, "deleted: the device " + caller->deviceId + " was deleted" });
    return textResponse(200, "recorded", std::string(operation) + " " + caller->deviceId + ": recorded");
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

HttpResponse DeviceApi::describe(const std::string& deviceId, std::int64_t now)
{
    if (!isDeviceIdText(deviceId))
        return failed("DescribeDevice", badDeviceId());
    auto registry = registries_.acquire();
    if (!registry)
        return errorResponse(internalServerError(registry.error().message));
    auto record = (*registry)->findById(deviceId);
    if (!record)
        return errorResponse(internalServerError(record.error().message));
    if (!*record || (*record)->deleted())
        return failed("DescribeDevice", notFound(deviceId));
    const registry::DeviceRecord& device = **record;
    const auto statuses = registry::statusesOf(device, now, settings_.timing);
    nlohmann::json body = deviceSummary(device, statuses);
    body["Arn"] = device.arn;
    body["DeviceConnectionStatus"] = std::string(statuses.connection);
    const nlohmann::json networking = parsedOr(device.networkingJson, nullptr);
    if (networking.is_object())
        body["NetworkingConfiguration"] = networking;
    if (device.lastReportJson && device.lastReportAt) {
        nlohmann::json report = parsedOr(*device.lastReportJson, nullptr);
        if (report.is_object()) {
            report["LastUpdatedTime"] = *device.lastReportAt;
            body["CurrentNetworkingStatus"] = std::move(report);
        }
    }
    return jsonResponse(200, body,
        "DescribeDevice " + device.deviceId + " (" + device.name + ", " + std::string(statuses.aggregated)
            + ")");
}

HttpResponse DeviceApi::list(std::string_view rawQuery, std::int64_t now)
{
    auto query = parseListQuery(rawQuery);
    if (!query)
        return failed("ListDevices", query.error());
    // The model: CREATED_TIME sorts DESCENDING by default, every other column ASCENDING.
    const bool descending
        = query->sortOrder ? *query->sortOrder == "DESCENDING" : query->sortBy == "CREATED_TIME";
    std::optional<std::tuple<std::int64_t, std::string, std::string>> after;
    if (query->nextToken) {
        after = decodeToken(*query->nextToken, *query, descending);
        if (!after)
            return failed("ListDevices",
                fieldValidationError({ { "NextToken",
                    "is not a token this service returned for this query (same SortBy, SortOrder, "
                    "NameFilter and DeviceAggregatedStatusFilter)" } }));
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

    std::vector<Listed> devices;
    for (auto& record : *records) {
        if (query->nameFilter && record.name.rfind(*query->nameFilter, 0) != 0)
            continue;
        const auto statuses = registry::statusesOf(record, now, settings_.timing);
        if (query->statusFilter && statuses.aggregated != *query->statusFilter)
            continue;
        auto key = sortKey(record, statuses, query->sortBy);
        devices.push_back({ std::move(record), statuses, std::move(key) });
    }
    const auto before = [descending](const auto& left, const auto& right) {
        return descending ? right < left : left < right;
    };
    std::sort(devices.begin(), devices.end(),
        [&](const Listed& left, const Listed& right) { return before(left.key, right.key); });
    auto first = devices.begin();
    if (after)
        first = std::upper_bound(devices.begin(), devices.end(), *after,
            [&](const auto& key, const Listed& device) { return before(key, device.key); });

    nlohmann::json body { { "Devices", nlohmann::json::array() } };
    const auto last = first
        + static_cast<std::ptrdiff_t>(
            std::min<std::size_t>(query->maxResults, static_cast<std::size_t>(devices.end() - first)));
    for (auto device = first; device != last; ++device) {
        nlohmann::json entry = deviceSummary(device->record, device->statuses);
        if (device->record.lastReportAt)
            entry["LastUpdatedTime"] = *device->record.lastReportAt;
        body["Devices"].push_back(std::move(entry));
    }
    if (last != devices.end())
        body["NextToken"] = encodeToken(*query, descending, std::prev(last)->key);
    return jsonResponse(200, body,
        "ListDevices " + std::to_string(last - first) + " of " + std::to_string(devices.size()) + " devices");
}

HttpResponse DeviceApi::remove(const std::string& deviceId, std::int64_t now)
{
    if (!isDeviceIdText(deviceId))
        return failed("DeleteDevice", badDeviceId());
    auto registry = registries_.acquire();
    if (!registry)
        return errorResponse(internalServerError(registry.error().message));
    auto deleted = (*registry)->markDeleted(deviceId, now);
    if (!deleted)
        return errorResponse(internalServerError(deleted.error().message));
    if (!*deleted)
        return failed("DeleteDevice", notFound(deviceId));
    return jsonResponse(200, nlohmann::json { { "DeviceId", deviceId } },
        "DeleteDevice " + deviceId + ": revoked, its Name may be issued again");
}

HttpResponse DeviceApi::update(const std::string& deviceId, const std::string& requestBody)
{
    if (!isDeviceIdText(deviceId))
        return failed("UpdateDeviceMetadata", badDeviceId());
    auto parsed = manifest::parseStrictJsonText(requestBody.empty() ? std::string_view("{}") : requestBody);
    if (!parsed)
        return failed(
            "UpdateDeviceMetadata", validationError("CANNOT_PARSE", "the request body " + parsed.error()));
    if (!parsed->is_object())
        return failed("UpdateDeviceMetadata",
            validationError("CANNOT_PARSE", "the request body must be a JSON object"));
    std::optional<std::string> description;
    if (parsed->contains("Description")) {
        // The model's Description rule, exactly as ProvisionDevice applies it.
        auto checked = manifest::validateProvisionRequest(
            nlohmann::json { { "Name", "x" }, { "Description", (*parsed)["Description"] } });
        if (!checked)
            return failed("UpdateDeviceMetadata", fieldValidationError(checked.error()));
        description = checked->description.value_or("");
    }
    auto registry = registries_.acquire();
    if (!registry)
        return errorResponse(internalServerError(registry.error().message));
    auto record = (*registry)->findById(deviceId);
    if (!record)
        return errorResponse(internalServerError(record.error().message));
    if (!*record || (*record)->deleted())
        return failed("UpdateDeviceMetadata", notFound(deviceId));
    if (description) {
        auto updated = (*registry)->updateDescription(deviceId, *description);
        if (!updated)
            return errorResponse(internalServerError(updated.error().message));
        if (!*updated) // deleted meanwhile
            return failed("UpdateDeviceMetadata", notFound(deviceId));
    }
    return jsonResponse(200, nlohmann::json { { "DeviceId", deviceId } },
        "UpdateDeviceMetadata " + deviceId + (description ? ": Description changed" : ": nothing to change"));
}

} // namespace omni::serve
