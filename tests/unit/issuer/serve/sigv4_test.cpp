// AWS Signature Version 4 against AWS's published test suite
// (aws-sig-v4-test-suite: key AKIDEXAMPLE, 20150830T123600Z, region
// us-east-1, service "service"), then the server-side verification rules.
#include <gtest/gtest.h>

#include "daemon/core/digest/digest.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/issuer/serve/sigv4.hpp"

namespace omni::serve::sigv4 {
namespace {

const AccessKey kExampleKey { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
constexpr const char* kExampleDate = "20150830T123600Z";
constexpr std::int64_t kExampleTime = 1440938160; // 2015-08-30T12:36:00Z
constexpr const char* kExampleScope = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

struct Vector {
    const char* name;
    const char* method;
    const char* target;
    HeaderList extraHeaders; // besides Host and X-Amz-Date
    const char* body;
    const char* canonicalUriAndQuery; // the canonical request's 2nd and 3rd lines
    const char* signedHeaders;
    const char* signature;
};

const std::vector<Vector>& suite()
{
    static const std::vector<Vector> vectors {
        { "get-vanilla", "GET", "/", {}, "", "/\n", "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
        { "post-vanilla", "POST", "/", {}, "", "/\n", "host;x-amz-date",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },
        { "post-vanilla-query", "POST", "/?Param1=value1", {}, "", "/\nParam1=value1", "host;x-amz-date",
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11" },
        { "get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", {}, "",
            "/\nParam1=value1&Param2=value2", "host;x-amz-date",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
        { "get-vanilla-query-order-value", "GET", "/?Param1=value2&Param1=value1", {}, "",
            "/\nParam1=value1&Param1=value2", "host;x-amz-date",
            "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694" },
        { "get-vanilla-query-unreserved", "GET",
            "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~"
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            {}, "",
            "/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~"
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            "host;x-amz-date", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197" },
        { "get-vanilla-utf8-query", "GET", "/?\xE1\x88\xB4=bar", {}, "", "/\n%E1%88%B4=bar",
            "host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04" },
        { "get-utf8", "GET", "/\xE1\x88\xB4", {}, "", "/%E1%88%B4\n", "host;x-amz-date",
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85" },
        { "get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", {},
            "", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n", "host;x-amz-date",
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f" },
        { "get-header-key-duplicate", "GET", "/",
            { { "My-Header1", "value2" }, { "My-Header1", "value2" }, { "My-Header1", "value1" } }, "", "/\n",
            "host;my-header1;x-amz-date",
            "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea" },
        { "get-header-value-order", "GET", "/",
            { { "My-Header1", "value4" }, { "My-Header1", "value1" }, { "My-Header1", "value3" },
                { "My-Header1", "value2" } },
            "", "/\n", "host;my-header1;x-amz-date",
            "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01" },
        { "get-header-value-trim", "GET", "/",
            { { "My-Header1", " value1" }, { "My-Header2", " \"a   b   c\"" } }, "", "/\n",
            "host;my-header1;my-header2;x-amz-date",
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },
        { "post-header-key-sort", "POST", "/", { { "My-Header1", "value1" } }, "", "/\n",
            "host;my-header1;x-amz-date",
            "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c" },
        { "post-header-value-case", "POST", "/", { { "My-Header1", "VALUE1" } }, "", "/\n",
            "host;my-header1;x-amz-date",
            "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d" },
        { "post-x-www-form-urlencoded", "POST", "/",
            { { "Content-Type", "application/x-www-form-urlencoded" } }, "Param1=value1", "/\n",
            "content-type;host;x-amz-date",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a" },
        { "post-sts-header-before", "POST", "/",
            { { "X-Amz-Security-Token",
                "AQoDYXdzEPT//////////"
                "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTf"
                "lfKD8YUuwthAx7mSEI/qkPpKPi/"
                "kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9"
                "HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"
                "scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSY"
                "vKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==" } },
            "", "/\n", "host;x-amz-date;x-amz-security-token",
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead" },
        { "normalize-path/get-relative", "GET", "/example/..", {}, "", "/\n", "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
        { "normalize-path/get-slash-pointless-dot", "GET", "/./example", {}, "", "/example\n",
            "host;x-amz-date", "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5" },
        { "normalize-path/get-slashes", "GET", "//example//", {}, "", "/example/\n", "host;x-amz-date",
            "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84" },
        { "normalize-path/get-space", "GET", "/example space/", {}, "", "/example%20space/\n",
            "host;x-amz-date", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741" },
    };
    return vectors;
}

Request requestFor(const Vector& vector)
{
    Request request { vector.method, vector.target, { { "Host", "example.amazonaws.com" } } };
    request.headers.insert(request.headers.end(), vector.extraHeaders.begin(), vector.extraHeaders.end());
    request.headers.emplace_back("X-Amz-Date", kExampleDate);
    return request;
}

Policy examplePolicy()
{
    return Policy { "us-east-1", "service", kMaxClockSkewSeconds };
}

std::optional<std::string> exampleSecrets(std::string_view id)
{
    if (id == kExampleKey.id)
        return kExampleKey.secret;
    return std::nullopt;
}

std::string headerValue(const Request& request, const std::string& name)
{
    for (const auto& [key, value] : request.headers)
        if (key == name)
            return value;
    return {};
}

TEST(SigV4, DerivesTheSigningKeyOfAwsDocumentationExample)
{
    const std::string key = signingKey(kExampleKey.secret, Scope { "20120215", "us-east-1", "iam" });
    EXPECT_EQ(digest::toHex(key), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, GetVanillaCanonicalRequestAndStringToSign)
{
    const Vector& vanilla = suite().front();
    const auto canonical
        = canonicalRequest(requestFor(vanilla), { "host", "x-amz-date" }, digest::sha256Hex(""));
    ASSERT_TRUE(canonical) << canonical.error();
    EXPECT_EQ(*canonical,
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(stringToSign(kExampleDate, Scope { "20150830", "us-east-1", "service" }, *canonical),
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
}

class PublishedVector : public ::testing::TestWithParam<Vector> { };

TEST_P(PublishedVector, SignsAsAwsDoes)
{
    const Vector& vector = GetParam();
    const Request request = requestFor(vector);
    const std::string payload = digest::sha256Hex(vector.body);
    std::vector<std::string> names;
    for (const auto& header : request.headers)
        names.push_back(header.first);

    const auto canonical = canonicalRequest(request, names, payload);
    ASSERT_TRUE(canonical) << canonical.error();
    EXPECT_NE(canonical->find(std::string(vector.method) + "\n" + vector.canonicalUriAndQuery + "\n"),
        std::string::npos)
        << *canonical;

    const auto header = authorizationHeader(request, payload, kExampleKey, "us-east-1", "service");
    ASSERT_TRUE(header) << header.error();
    EXPECT_EQ(*header,
        std::string("AWS4-HMAC-SHA256 Credential=") + kExampleScope
            + ", SignedHeaders=" + vector.signedHeaders + ", Signature=" + vector.signature);
}

TEST_P(PublishedVector, VerifiesTheSignatureAwsPublished)
{
    const Vector& vector = GetParam();
    Request request = requestFor(vector);
    request.headers.emplace_back("Authorization",
        std::string("AWS4-HMAC-SHA256 Credential=") + kExampleScope
            + ", SignedHeaders=" + vector.signedHeaders + ", Signature=" + vector.signature);
    const auto caller
        = verify(request, digest::sha256Hex(vector.body), exampleSecrets, examplePolicy(), kExampleTime);
    ASSERT_TRUE(caller) << caller.error().message;
    EXPECT_EQ(*caller, kExampleKey.id);
}

INSTANTIATE_TEST_SUITE_P(AwsTestSuite, PublishedVector, ::testing::ValuesIn(suite()),
    [](const ::testing::TestParamInfo<Vector>& info) {
        std::string name = info.param.name;
        for (char& c : name)
            if (!std::isalnum(static_cast<unsigned char>(c)))
                c = '_';
        return name;
    });

class Verification : public ::testing::Test {
protected:
    // A signed POST like the AWS CLI sends for ProvisionDevice.
    Request signedRequest(const std::string& body, std::int64_t signedAt, const AccessKey& key = kExampleKey,
        const std::string& region = "us-east-1")
    {
        Request request { "POST", "/devices",
            { { "Host", "127.0.0.1:8080" }, { "Content-Type", "application/json" },
                { "X-Amz-Date", time::formatIso8601BasicUtc(signedAt) } } };
        auto header = authorizationHeader(request, digest::sha256Hex(body), key, region, "service");
        EXPECT_TRUE(header) << header.error();
        request.headers.emplace_back("Authorization", header.value_or(""));
        return request;
    }

    tl::expected<std::string, Rejection> check(
        const Request& request, const std::string& body, std::int64_t now)
    {
        return verify(request, digest::sha256Hex(body), exampleSecrets, examplePolicy(), now);
    }
};

TEST_F(Verification, AcceptsAFreshSignatureWithinFifteenMinutesEitherWay)
{
    const std::string body = R"({"Name":"cam-01"})";
    EXPECT_TRUE(check(signedRequest(body, kExampleTime), body, kExampleTime + kMaxClockSkewSeconds));
    EXPECT_TRUE(check(signedRequest(body, kExampleTime), body, kExampleTime - kMaxClockSkewSeconds));
}

TEST_F(Verification, RefusesASignatureOverFifteenMinutesOld)
{
    const std::string body = R"({"Name":"cam-01"})";
    const auto stale
        = check(signedRequest(body, kExampleTime), body, kExampleTime + kMaxClockSkewSeconds + 1);
    ASSERT_FALSE(stale);
    EXPECT_NE(stale.error().message.find("seconds away"), std::string::npos) << stale.error().message;
    EXPECT_FALSE(check(signedRequest(body, kExampleTime), body, kExampleTime - kMaxClockSkewSeconds - 1));
}

TEST_F(Verification, RefusesAWrongSecretWithoutRevealingTheExpectedSignature)
{
    const std::string body = R"({"Name":"cam-01"})";
    const auto wrong
        = check(signedRequest(body, kExampleTime, { kExampleKey.id, "not-the-secret" }), body, kExampleTime);
    ASSERT_FALSE(wrong);
    EXPECT_NE(wrong.error().message.find("does not match"), std::string::npos);
    const Request genuine = signedRequest(body, kExampleTime);
    const std::string genuineSignature
        = headerValue(genuine, "Authorization")
              .substr(headerValue(genuine, "Authorization").find("Signature=") + 10);
    EXPECT_EQ(wrong.error().message.find(genuineSignature), std::string::npos);
    EXPECT_EQ(wrong.error().message.find(kExampleKey.secret), std::string::npos);
}

TEST_F(Verification, RefusesABodyChangedAfterSigning)
{
    const Request request = signedRequest(R"({"Name":"cam-01"})", kExampleTime);
    EXPECT_FALSE(check(request, R"({"Name":"cam-02"})", kExampleTime));
}

TEST_F(Verification, RefusesAnUnknownAccessKey)
{
    const std::string body = "{}";
    const auto unknown = check(signedRequest(body, kExampleTime, { "AKIDOTHER", "x" }), body, kExampleTime);
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("AKIDOTHER"), std::string::npos);
}

TEST_F(Verification, RefusesAnotherRegion)
{
    const std::string body = "{}";
    const auto elsewhere
        = check(signedRequest(body, kExampleTime, kExampleKey, "eu-west-1"), body, kExampleTime);
    ASSERT_FALSE(elsewhere);
    EXPECT_NE(elsewhere.error().message.find("eu-west-1"), std::string::npos);
}

TEST_F(Verification, RefusesAnUnsignedRequest)
{
    const Request request { "GET", "/devices", { { "Host", "127.0.0.1" } } };
    const auto unsignedRequest = check(request, "", kExampleTime);
    ASSERT_FALSE(unsignedRequest);
    EXPECT_NE(unsignedRequest.error().message.find("Authorization"), std::string::npos);
}

TEST_F(Verification, RefusesAHeaderTheSignatureDoesNotCover)
{
    const std::string body = "{}";
    Request request = signedRequest(body, kExampleTime);
    for (auto& [name, value] : request.headers)
        if (name == "Authorization")
            value.replace(value.find("content-type;"), 13, "");
    EXPECT_FALSE(check(request, body, kExampleTime));
}

TEST_F(Verification, RefusesASignatureWithoutHost)
{
    Request request { "GET", "/devices", { { "X-Amz-Date", kExampleDate } } };
    auto header = authorizationHeader(request, digest::sha256Hex(""), kExampleKey, "us-east-1", "service");
    ASSERT_TRUE(header);
    request.headers.emplace_back("Host", "127.0.0.1");
    request.headers.emplace_back("Authorization", *header);
    const auto result = check(request, "", kExampleTime);
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("Host"), std::string::npos);
}

TEST(SigV4Authorization, RejectsMalformedHeaders)
{
    for (const char* header : {
             "",
             "AWS4-HMAC-SHA1 Credential=A/20150830/us-east-1/service/aws4_request, SignedHeaders=host, "
             "Signature=00",
             "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service, SignedHeaders=host, Signature="
             "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
             "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, SignedHeaders=Host, "
             "Signature="
             "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
             "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, SignedHeaders=host, "
             "Signature=xyz",
             "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, Credential=B, "
             "SignedHeaders=host",
         })
        EXPECT_FALSE(parseAuthorization(header)) << header;
}

TEST(SigV4Encoding, EncodesEverythingButUnreservedCharacters)
{
    EXPECT_EQ(uriEncode("a b+c/d~", false), "a%20b%2Bc%2Fd~");
    EXPECT_EQ(uriEncode("a b+c/d~", true), "a%20b%2Bc/d~");
    EXPECT_EQ(percentDecode("a%20b%2fc%zz%4"), "a b/c%zz%4");
    // The AWS CLI sends paths already percent-encoded; non-S3 services sign them encoded again.
    EXPECT_EQ(canonicalUri("/devices/a%20b"), "/devices/a%2520b");
}

} // namespace
} // namespace omni::serve::sigv4
