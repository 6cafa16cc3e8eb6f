#pragma once
// AWS Signature Version 4 (header form), as the AWS SDKs and the AWS CLI sign
// restJson1 requests. Pure: strings in, strings out; HMAC-SHA256 and SHA-256
// through OpenSSL. The server verifies with the same functions a client signs
// with, so the tests can drive both sides.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace omni::serve::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
// DESIGN.md section 6 / the issue: over 15 minutes of skew is refused.
inline constexpr std::int64_t kMaxClockSkewSeconds = 15 * 60;

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A request as it arrived: the request-target exactly as sent (path still
// percent-encoded, optional "?query"), every header line in arrival order
// (names in any case, repeated names allowed).
struct Request {
    std::string method;
    std::string target;
    HeaderList headers;
};

// Raw 32-byte MAC (hex it with digest::toHex; SHA-256 is digest::sha256Hex).
std::string hmacSha256(std::string_view key, std::string_view data);

// RFC 3986 percent-encoding of everything but the unreserved characters
// (A-Z a-z 0-9 - _ . ~); '/' is kept when keepSlash.
std::string uriEncode(std::string_view bytes, bool keepSlash);
// %HH decoding; other bytes (including '+') are kept as they are.
std::string percentDecode(std::string_view text);

// The canonical URI of a non-S3 service: dot segments and empty segments
// removed, then the (already encoded) path encoded once more, as botocore does.
std::string canonicalUri(std::string_view rawPath);
// Parameters decoded, re-encoded with uriEncode, sorted by name then value.
std::string canonicalQueryString(std::string_view rawQuery);

struct CanonicalHeaders {
    std::string lines; // "name:value\n" per signed header
    std::string signedHeaders; // "host;x-amz-date"
};
// Values trimmed, inner runs of spaces collapsed, repeated headers joined
// with ','. Fails with the missing header's name when a signed header is absent.
tl::expected<CanonicalHeaders, std::string> canonicalHeaders(
    const HeaderList& headers, const std::vector<std::string>& signedHeaderNames);

tl::expected<std::string, std::string> canonicalRequest(const Request& request,
    const std::vector<std::string>& signedHeaderNames, std::string_view payloadSha256Hex);

struct Scope {
    std::string date; // YYYYMMDD
    std::string region;
    std::string service;
    std::string toString() const { return date + "/" + region + "/" + service + "/aws4_request"; }
};

std::string stringToSign(std::string_view amzDate, const Scope& scope, std::string_view canonicalRequestText);
// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"), raw bytes.
std::string signingKey(std::string_view secretAccessKey, const Scope& scope);

struct Authorization {
    std::string accessKeyId;
    Scope scope;
    std::vector<std::string> signedHeaders; // lowercase, as listed
    std::string signature; // 64 lowercase hex digits
};
tl::expected<Authorization, std::string> parseAuthorization(std::string_view header);

// X-Amz-Date ("20150830T123600Z") is read and written with
// time::parseIso8601BasicUtc and time::formatIso8601BasicUtc.

// Client side (tests, benchmark): signs every header in request.headers
// (which must include Host and X-Amz-Date) and returns the Authorization value.
struct AccessKey {
    std::string id;
    std::string secret;
};
tl::expected<std::string, std::string> authorizationHeader(const Request& request,
    std::string_view payloadSha256Hex, const AccessKey& key, std::string_view region,
    std::string_view service);

// Server side.
struct Policy {
    std::string region;
    std::string service;
    std::int64_t maxClockSkewSeconds = kMaxClockSkewSeconds;
};
// The secret for an access key ID, or nothing when the ID is unknown.
using SecretLookup = std::function<std::optional<std::string>(std::string_view accessKeyId)>;

struct Rejection {
    std::string message; // safe to show the client: never a secret or the expected signature
};
// The access key ID of a correctly signed, fresh request.
tl::expected<std::string, Rejection> verify(const Request& request, std::string_view payloadSha256Hex,
    const SecretLookup& secrets, const Policy& policy, std::int64_t now);

} // namespace omni::serve::sigv4
