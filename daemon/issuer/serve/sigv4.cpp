#include "daemon/issuer/serve/sigv4.hpp"

#include <algorithm>
#include <array>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "daemon/core/digest/digest.hpp"
#include "daemon/core/time/time.hpp"

namespace omni::serve::sigv4 {
namespace {

bool isUnreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
        || c == '.' || c == '~';
}

int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::string toLower(std::string_view text)
{
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
        [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
    return lower;
}

bool isBlank(char c)
{
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && isBlank(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && isBlank(text.back()))
        text.remove_suffix(1);
    return text;
}

// Trims and collapses inner runs of blanks to one space (the canonical header value).
std::string canonicalHeaderValue(std::string_view value)
{
    std::string result;
    bool pendingSpace = false;
    for (const char c : trim(value)) {
        if (isBlank(c)) {
            pendingSpace = true;
            continue;
        }
        if (pendingSpace)
            result += ' ';
        pendingSpace = false;
        result += c;
    }
    return result;
}

// botocore's remove_dot_segments: "." and empty segments vanish, ".." pops.
std::string removeDotSegments(std::string_view path)
{
    if (path.empty())
        return "/";
    std::vector<std::string_view> output;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        const std::string_view segment = path.substr(start, end - start);
        if (segment == "..") {
            if (!output.empty())
                output.pop_back();
        } else if (!segment.empty() && segment != ".") {
            output.push_back(segment);
        }
        if (slash == std::string_view::npos)
            break;
        start = slash + 1;
    }
    std::string result = path.front() == '/' ? "/" : "";
    for (std::size_t i = 0; i < output.size(); ++i) {
        if (i)
            result += '/';
        result += output[i];
    }
    if (path.back() == '/' && !output.empty())
        result += '/';
    return result;
}

bool isDigits(std::string_view text)
{
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool isLowerHex(std::string_view text)
{
    return std::all_of(
        text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::vector<std::string_view> split(std::string_view text, char separator)
{
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t at = text.find(separator, start);
        parts.push_back(
            text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
        if (at == std::string_view::npos)
            return parts;
        start = at + 1;
    }
}

const std::string* findSingleHeader(const HeaderList& headers, std::string_view lowerName, bool& repeated)
{
    const std::string* found = nullptr;
    repeated = false;
    for (const auto& [name, value] : headers) {
        if (toLower(name) != lowerName)
            continue;
        if (found)
            repeated = true;
        found = &value;
    }
    return found;
}

std::pair<std::string_view, std::string_view> splitTarget(std::string_view target)
{
    const std::size_t question = target.find('?');
    if (question == std::string_view::npos)
        return { target, {} };
    return { target.substr(0, question), target.substr(question + 1) };
}

} // namespace

std::string hmacSha256(std::string_view key, std::string_view data)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac {};
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &length)
        == nullptr)
        return {};
    return std::string(reinterpret_cast<const char*>(mac.data()), length);
}

std::string uriEncode(std::string_view bytes, bool keepSlash)
{
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string encoded;
    encoded.reserve(bytes.size());
    for (const unsigned char c : bytes) {
        if (isUnreserved(c) || (keepSlash && c == '/')) {
            encoded += static_cast<char>(c);
        } else {
            encoded += '%';
            encoded += kDigits[c >> 4];
            encoded += kDigits[c & 0x0f];
        }
    }
    return encoded;
}

std::string percentDecode(std::string_view text)
{
    std::string decoded;
    decoded.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int high = hexValue(text[i + 1]);
            const int low = hexValue(text[i + 2]);
            if (high >= 0 && low >= 0) {
                decoded += static_cast<char>(high * 16 + low);
                i += 2;
                continue;
            }
        }
        decoded += text[i];
    }
    return decoded;
}

std::string canonicalUri(std::string_view rawPath)
{
    return uriEncode(removeDotSegments(rawPath), true);
}

std::string canonicalQueryString(std::string_view rawQuery)
{
    if (rawQuery.empty())
        return {};
    std::vector<std::pair<std::string, std::string>> parameters;
    for (const std::string_view pair : split(rawQuery, '&')) {
        if (pair.empty())
            continue;
        const std::size_t equals = pair.find('=');
        const std::string_view name = pair.substr(0, equals);
        const std::string_view value
            = equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
        parameters.emplace_back(
            uriEncode(percentDecode(name), false), uriEncode(percentDecode(value), false));
    }
    std::sort(parameters.begin(), parameters.end());
    std::string canonical;
    for (const auto& [name, value] : parameters) {
        if (!canonical.empty())
            canonical += '&';
        canonical += name + "=" + value;
    }
    return canonical;
}

tl::expected<CanonicalHeaders, std::string> canonicalHeaders(
    const HeaderList& headers, const std::vector<std::string>& signedHeaderNames)
{
    std::vector<std::string> names;
    names.reserve(signedHeaderNames.size());
    for (const auto& name : signedHeaderNames)
        names.push_back(toLower(name));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());

    CanonicalHeaders canonical;
    for (const auto& name : names) {
        std::string joined;
        bool present = false;
        for (const auto& [headerName, value] : headers) {
            if (toLower(headerName) != name)
                continue;
            if (present)
                joined += ',';
            joined += canonicalHeaderValue(value);
            present = true;
        }
        if (!present)
            return tl::unexpected("the signed header '" + name + "' is not in the request");
        canonical.lines += name + ":" + joined + "\n";
        if (!canonical.signedHeaders.empty())
            canonical.signedHeaders += ';';
        canonical.signedHeaders += name;
    }
    return canonical;
}

tl::expected<std::string, std::string> canonicalRequest(const Request& request,
    const std::vector<std::string>& signedHeaderNames, std::string_view payloadSha256Hex)
{
    auto headers = canonicalHeaders(request.headers, signedHeaderNames);
    if (!headers)
        return tl::unexpected(headers.error());
    const auto [path, query] = splitTarget(request.target);
    return request.method + "\n" + canonicalUri(path) + "\n" + canonicalQueryString(query) + "\n"
        + headers->lines + "\n" + headers->signedHeaders + "\n" + std::string(payloadSha256Hex);
}

std::string stringToSign(std::string_view amzDate, const Scope& scope, std::string_view canonicalRequestText)
{
    return std::string(kAlgorithm) + "\n" + std::string(amzDate) + "\n" + scope.toString() + "\n"
        + digest::sha256Hex(canonicalRequestText);
}

std::string signingKey(std::string_view secretAccessKey, const Scope& scope)
{
    const std::string dateKey = hmacSha256("AWS4" + std::string(secretAccessKey), scope.date);
    const std::string regionKey = hmacSha256(dateKey, scope.region);
    const std::string serviceKey = hmacSha256(regionKey, scope.service);
    return hmacSha256(serviceKey, "aws4_request");
}

tl::expected<Authorization, std::string> parseAuthorization(std::string_view header)
{
    header = trim(header);
    if (header.substr(0, kAlgorithm.size()) != kAlgorithm || header.size() == kAlgorithm.size()
        || !isBlank(header[kAlgorithm.size()]))
        return tl::unexpected(std::string(
            "the Authorization header is not AWS Signature Version 4 (" + std::string(kAlgorithm) + ")"));
    std::optional<std::string_view> credential, signedHeaders, signature;
    for (std::string_view component : split(header.substr(kAlgorithm.size()), ',')) {
        component = trim(component);
        const std::size_t equals = component.find('=');
        const std::string_view key = component.substr(0, equals);
        const std::string_view value
            = equals == std::string_view::npos ? std::string_view() : component.substr(equals + 1);
        std::optional<std::string_view>* slot = key == "Credential" ? &credential
            : key == "SignedHeaders"                                ? &signedHeaders
            : key == "Signature"                                    ? &signature
                                                                    : nullptr;
        if (slot == nullptr || equals == std::string_view::npos)
            return tl::unexpected("the Authorization header has an unexpected part '"
                + std::string(component.substr(0, 40)) + "'");
        if (slot->has_value())
            return tl::unexpected("the Authorization header names " + std::string(key) + " twice");
        *slot = value;
    }
    if (!credential || !signedHeaders || !signature)
        return tl::unexpected(
            std::string("the Authorization header needs Credential, SignedHeaders and Signature"));

    const auto scopeParts = split(*credential, '/');
    if (scopeParts.size() != 5 || scopeParts[0].empty() || scopeParts[1].size() != 8
        || !isDigits(scopeParts[1]) || scopeParts[2].empty() || scopeParts[3].empty()
        || scopeParts[4] != "aws4_request")
        return tl::unexpected(
            std::string("the Credential must be ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request"));
    Authorization authorization;
    authorization.accessKeyId = std::string(scopeParts[0]);
    authorization.scope
        = Scope { std::string(scopeParts[1]), std::string(scopeParts[2]), std::string(scopeParts[3]) };
    for (const std::string_view name : split(*signedHeaders, ';')) {
        if (name.empty() || toLower(name) != name)
            return tl::unexpected(
                std::string("SignedHeaders must be lowercase header names separated by ';'"));
        authorization.signedHeaders.emplace_back(name);
    }
    if (signature->size() != 64 || !isLowerHex(*signature))
        return tl::unexpected(std::string("the Signature must be 64 lowercase hexadecimal digits"));
    authorization.signature = std::string(*signature);
    return authorization;
}

tl::expected<std::string, std::string> authorizationHeader(const Request& request,
    std::string_view payloadSha256Hex, const AccessKey& key, std::string_view region,
    std::string_view service)
{
    bool repeated = false;
    const std::string* amzDate = findSingleHeader(request.headers, "x-amz-date", repeated);
    if (!amzDate || repeated || !time::parseIso8601BasicUtc(*amzDate))
        return tl::unexpected(std::string("the request needs one X-Amz-Date header (YYYYMMDDTHHMMSSZ)"));
    std::vector<std::string> names;
    for (const auto& header : request.headers)
        names.push_back(toLower(header.first));
    auto canonical = canonicalRequest(request, names, payloadSha256Hex);
    if (!canonical)
        return tl::unexpected(canonical.error());
    const Scope scope { amzDate->substr(0, 8), std::string(region), std::string(service) };
    const std::string signature
        = digest::toHex(hmacSha256(signingKey(key.secret, scope), stringToSign(*amzDate, scope, *canonical)));
    auto headers = canonicalHeaders(request.headers, names);
    return std::string(kAlgorithm) + " Credential=" + key.id + "/" + scope.toString()
        + ", SignedHeaders=" + headers->signedHeaders + ", Signature=" + signature;
}

tl::expected<std::string, Rejection> verify(const Request& request, std::string_view payloadSha256Hex,
    const SecretLookup& secrets, const Policy& policy, std::int64_t now)
{
    const auto reject = [](std::string message) { return tl::unexpected(Rejection { std::move(message) }); };
    bool repeated = false;
    const std::string* header = findSingleHeader(request.headers, "authorization", repeated);
    if (header == nullptr) {
        const bool presigned
            = splitTarget(request.target).second.find("X-Amz-Signature=") != std::string_view::npos;
        return reject(presigned
                ? "presigned URLs are not accepted; sign with the Authorization header "
                  "(AWS Signature Version 4)"
                : "the request is not signed: it needs an AWS Signature Version 4 Authorization "
                  "header");
    }
    if (repeated)
        return reject("the request has more than one Authorization header");
    auto authorization = parseAuthorization(*header);
    if (!authorization)
        return reject(authorization.error());

    const std::string* amzDate = findSingleHeader(request.headers, "x-amz-date", repeated);
    if (amzDate == nullptr || repeated)
        return reject("the request needs exactly one X-Amz-Date header");
    const auto signedAt = time::parseIso8601BasicUtc(*amzDate);
    if (!signedAt)
        return reject("the X-Amz-Date header must be a UTC time such as 20150830T123600Z");
    const Scope& scope = authorization->scope;
    if (scope.date != amzDate->substr(0, 8))
        return reject(
            "the credential scope date " + scope.date + " is not the date of X-Amz-Date " + *amzDate);
    if (scope.service != policy.service)
        return reject("the credential scope names service '" + scope.service + "'; this service signs as '"
            + policy.service + "'");
    if (scope.region != policy.region)
        return reject("the credential scope names region '" + scope.region + "'; this service's region is '"
            + policy.region + "' (aws --region " + policy.region + ")");
    const std::int64_t skew = *signedAt > now ? *signedAt - now : now - *signedAt;
    if (skew > policy.maxClockSkewSeconds)
        return reject("the request was signed at " + *amzDate + ", " + std::to_string(skew)
            + " seconds away from the service's clock (" + time::formatIso8601BasicUtc(now) + "); at most "
            + std::to_string(policy.maxClockSkewSeconds) + " seconds are allowed: check the client's clock");
    if (std::find(authorization->signedHeaders.begin(), authorization->signedHeaders.end(), "host")
        == authorization->signedHeaders.end())
        return reject("the signature must cover the Host header");

    const auto secret = secrets(authorization->accessKeyId);
    if (!secret)
        return reject("the access key ID " + authorization->accessKeyId + " is not known to this service");
    auto canonical = canonicalRequest(request, authorization->signedHeaders, payloadSha256Hex);
    if (!canonical)
        return reject(canonical.error());
    const std::string expected
        = digest::toHex(hmacSha256(signingKey(*secret, scope), stringToSign(*amzDate, scope, *canonical)));
    if (expected.size() != authorization->signature.size()
        || CRYPTO_memcmp(expected.data(), authorization->signature.data(), expected.size()) != 0)
        return reject("the request signature does not match the one computed with the secret access key of "
            + authorization->accessKeyId + "; check the secret key and the region");
    return authorization->accessKeyId;
}

} // namespace omni::serve::sigv4
