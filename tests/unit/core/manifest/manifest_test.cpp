// parseManifest: DESIGN.md section 2 (manifest.json), check 11 of section 3.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/core/manifest/manifest.hpp"
#include "tests/unit/core/manifest/json_edit.hpp"

namespace omni::manifest {
namespace {

using nlohmann::json;
using test::Case;
using test::repeat;

const std::string kStatic0 = "/NetworkingConfiguration/Ethernet0/StaticIpConnectionInfo";
const std::string kStatic0Path = "NetworkingConfiguration.Ethernet0.StaticIpConnectionInfo";

json validManifest()
{
    return json::parse(R"({
        "FormatVersion": 1,
        "Name": "cam-01",
        "DeviceId": "device-3xk2m4q7wzt5bh6ry1pnc9d8sa",
        "Arn": "arn:aws:panorama:us-east-1:123456789012:device/device-3xk2m4q7wzt5bh6ry1pnc9d8sa",
        "IotThingName": "device-3xk2m4q7wzt5bh6ry1pnc9d8sa",
        "Description": "lobby",
        "Tags": {"site": "berlin"},
        "CreatedAt": "2026-11-26T02:30:00Z",
        "NetworkingConfiguration": {
            "Ethernet0": {
                "ConnectionType": "STATIC_IP",
                "StaticIpConnectionInfo": {
                    "IpAddress": "192.168.1.10",
                    "Mask": "/24",
                    "DefaultGateway": "192.168.1.1",
                    "Dns": ["192.168.1.1"]
                }
            },
            "Ethernet1": {"ConnectionType": "DHCP"},
            "Ntp": {"NtpServers": ["pool.ntp.org"]}
        }
    })");
}

void expectInvalid(const Result<Manifest>& result, const std::string& path, const std::string& messagePart)
{
    ASSERT_FALSE(result.has_value()) << "accepted";
    EXPECT_EQ(result.error().reason, ReasonCode::ManifestInvalid);
    EXPECT_EQ(result.error().check, Check::Manifest);
    EXPECT_EQ(result.error().where, path);
    EXPECT_EQ(result.error().message.rfind(path + ": ", 0), 0U) << result.error().message;
    EXPECT_NE(result.error().message.find(messagePart), std::string::npos)
        << "message: " << result.error().message << "\nexpected to contain: " << messagePart;
}

void checkCase(const Case& testCase)
{
    SCOPED_TRACE(testCase.label);
    const std::string bytes = test::applyEdits(validManifest(), testCase.edits).dump();
    const auto result = parseManifest(bytes);
    if (!testCase.path) {
        EXPECT_TRUE(result.has_value()) << result.error().message;
        return;
    }
    expectInvalid(result, *testCase.path, testCase.messagePart);
}

void checkRaw(const std::string& label, const std::string& bytes, const std::string& path,
    const std::string& messagePart)
{
    SCOPED_TRACE(label);
    expectInvalid(parseManifest(bytes), path, messagePart);
}

TEST(Manifest, ValidManifestParses)
{
    const auto result = parseManifest(validManifest().dump(2));
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(result->request.name, "cam-01");
    EXPECT_EQ(result->deviceId, "device-3xk2m4q7wzt5bh6ry1pnc9d8sa");
    EXPECT_EQ(result->arn, validManifest()["Arn"]);
    EXPECT_EQ(result->iotThingName, "device-3xk2m4q7wzt5bh6ry1pnc9d8sa");
    EXPECT_EQ(result->request.description, "lobby");
    EXPECT_EQ(result->request.tags.at("site"), "berlin");
    EXPECT_EQ(result->createdAt, "2026-11-26T02:30:00Z");
    EXPECT_TRUE(result->unknownKeys.empty());
    ASSERT_TRUE(result->request.networking.has_value());
    const auto& info = *result->request.networking->ethernet0->staticIp;
    EXPECT_EQ(info.address, 0xC0A8010AU);
    EXPECT_EQ(info.prefixLength, 24);
    EXPECT_EQ(info.gateway, 0xC0A80101U);
}

TEST(Manifest, MinimalManifest)
{
    const auto result
        = parseManifest(R"({"FormatVersion":1,"Name":"a","DeviceId":"d","Arn":"arn","IotThingName":"t"})");
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_FALSE(result->request.networking.has_value());
    EXPECT_FALSE(result->createdAt.has_value());
}

TEST(Manifest, ToJsonRoundTrips)
{
    const auto parsed = parseManifest(validManifest().dump());
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(toJson(*parsed), validManifest());
    const auto again = parseManifest(toJson(*parsed).dump());
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_EQ(toJson(*again), toJson(*parsed));
}

TEST(Manifest, FormatVersion)
{
    const std::vector<Case> cases = {
        { "the number 1", { { "/FormatVersion", 1 } }, std::nullopt },
        { "the number 1.0", { { "/FormatVersion", 1.0 } }, std::nullopt },
        { "the string \"1\"", { { "/FormatVersion", "1" } }, "FormatVersion", "must be the number 1" },
        { "2", { { "/FormatVersion", 2 } }, "FormatVersion", "is 2" },
        { "0", { { "/FormatVersion", 0 } }, "FormatVersion", "is 0" },
        { "-1", { { "/FormatVersion", -1 } }, "FormatVersion", "is -1" },
        { "1.5", { { "/FormatVersion", 1.5 } }, "FormatVersion", "is 1.5" },
        { "true", { { "/FormatVersion", true } }, "FormatVersion", "must be the number 1" },
        { "a list", { { "/FormatVersion", json::array({ 1 }) } }, "FormatVersion", "must be the number 1" },
        { "missing", { { "/FormatVersion", std::nullopt } }, "FormatVersion", "is required" },
        { "null", { { "/FormatVersion", json(nullptr) } }, "FormatVersion", "is required" },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
    SCOPED_TRACE("exponent form");
    std::string bytes = validManifest().dump();
    bytes.replace(bytes.find("\"FormatVersion\":1"), 17, "\"FormatVersion\":1e0");
    EXPECT_TRUE(parseManifest(bytes).has_value());
}

TEST(Manifest, RequiredIdentityFields)
{
    const std::vector<Case> cases = {
        { "DeviceId of 64", { { "/DeviceId", repeat("d", 64) } }, std::nullopt },
        { "DeviceId of 1", { { "/DeviceId", "d" } }, std::nullopt },
        { "DeviceId of 65", { { "/DeviceId", repeat("d", 65) } }, "DeviceId", "is 65 characters long" },
        { "DeviceId empty", { { "/DeviceId", "" } }, "DeviceId", "is empty" },
        { "DeviceId with a colon", { { "/DeviceId", "device:1" } }, "DeviceId", "may contain only" },
        { "DeviceId a number", { { "/DeviceId", 7 } }, "DeviceId", "must be a string" },
        { "Name of 255", { { "/Name", repeat("n", 255) } }, std::nullopt },
        { "Name of 256", { { "/Name", repeat("n", 256) } }, "Name", "is 256 characters long" },
        { "Name with a space", { { "/Name", "cam 01" } }, "Name", "may contain only" },
        { "Arn of 255", { { "/Arn", repeat("a", 255) } }, std::nullopt },
        { "Arn of 256", { { "/Arn", repeat("a", 256) } }, "Arn", "is 256 characters long" },
        { "Arn of 255 two-byte characters", { { "/Arn", repeat("\xC3\xA9", 255) } }, std::nullopt },
        { "Arn empty", { { "/Arn", "" } }, "Arn", "is empty" },
        { "Arn an object", { { "/Arn", json::object() } }, "Arn", "must be a string" },
        { "IotThingName of 255", { { "/IotThingName", repeat("t", 255) } }, std::nullopt },
        { "IotThingName of 256", { { "/IotThingName", repeat("t", 256) } }, "IotThingName",
            "is 256 characters long" },
        { "IotThingName empty", { { "/IotThingName", "" } }, "IotThingName", "is empty" },
        { "IotThingName a boolean", { { "/IotThingName", false } }, "IotThingName", "must be a string" },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
    for (const std::string member : { "Name", "DeviceId", "Arn", "IotThingName" }) {
        checkCase({ "missing " + member, { { "/" + member, std::nullopt } }, member, "is required" });
        checkCase({ "null " + member, { { "/" + member, json(nullptr) } }, member, "is required" });
    }
}

TEST(Manifest, OptionalFieldsFollowTheRequestRules)
{
    const std::vector<Case> cases = {
        { "no Description", { { "/Description", std::nullopt } }, std::nullopt },
        { "no Tags", { { "/Tags", std::nullopt } }, std::nullopt },
        { "no CreatedAt", { { "/CreatedAt", std::nullopt } }, std::nullopt },
        { "no NetworkingConfiguration", { { "/NetworkingConfiguration", std::nullopt } }, std::nullopt },
        { "null NetworkingConfiguration", { { "/NetworkingConfiguration", json(nullptr) } }, std::nullopt },
        { "Description of 255 'é'", { { "/Description", repeat("\xC3\xA9", 255) } }, std::nullopt },
        { "Description of 256 'é'", { { "/Description", repeat("\xC3\xA9", 256) } }, "Description",
            "is 256 characters long" },
        { "Description with U+2028", { { "/Description", "a\xE2\x80\xA8" } }, "Description", "U+2028" },
        { "Tags with 51 entries", { { "/Tags", test::tagsWith(51) } }, "Tags", "has 51 entries" },
        { "Tag value with a newline", { { "/Tags/site", "ber\nlin" } }, "Tags.site", "U+000A" },
        { "Tags a list", { { "/Tags", json::array() } }, "Tags", "must be an object" },
        { "NetworkingConfiguration a string", { { "/NetworkingConfiguration", "x" } },
            "NetworkingConfiguration", "must be an object" },
        // Section 4 applies to a manifest exactly as to a request.
        { "Mask /32", { { kStatic0 + "/Mask", "/32" } }, kStatic0Path + ".Mask", "prefix length of 32" },
        { "IpAddress with a port", { { kStatic0 + "/IpAddress", "192.168.1.10:8080" } },
            kStatic0Path + ".IpAddress", "must not have a port" },
        { "gateway outside", { { kStatic0 + "/DefaultGateway", "10.0.0.1" } },
            kStatic0Path + ".DefaultGateway", "outside the subnet" },
        { "Dns name", { { kStatic0 + "/Dns/0", "dns.google" } }, kStatic0Path + ".Dns[0]", "names cannot" },
        { "Dns empty", { { kStatic0 + "/Dns", json::array() } }, kStatic0Path + ".Dns", "at least one" },
        { "STATIC_IP without info", { { kStatic0, std::nullopt } }, kStatic0Path, "is required when" },
        { "uppercase NTP name", { { "/NetworkingConfiguration/Ntp/NtpServers/0", "Pool.ntp.org" } },
            "NetworkingConfiguration.Ntp.NtpServers[0]", "lowercase DNS name" },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
}

TEST(Manifest, CreatedAt)
{
    const std::string good[] = {
        "2026-11-26T02:30:00Z",
        "2026-11-26t02:30:00z",
        "2026-11-26T02:30:00.5Z",
        "2026-11-26T02:30:00.123456789+01:00",
        "2026-11-26T02:30:00-08:00",
        "2024-02-29T00:00:00Z",
        "2000-02-29T23:59:59+23:59",
        "2016-12-31T23:59:60Z",
        "0000-01-01T00:00:00Z",
    };
    for (const auto& text : good) {
        checkCase({ "CreatedAt " + text, { { "/CreatedAt", text } }, std::nullopt });
    }
    const std::string bad[] = {
        "",
        "2026-11-26",
        "2026-11-26 02:30:00Z",
        "2026-11-26T02:30:00",
        "2026-11-26T02:30Z",
        "2026-11-26T02:30:00.Z",
        "2026-11-26T02:30:00+0100",
        "2026-11-26T02:30:00+01",
        "2026-11-26T02:30:00+24:00",
        "2026-11-26T02:30:00+01:60",
        "2026-11-26T24:00:00Z",
        "2026-11-26T23:60:00Z",
        "2026-11-26T23:59:61Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-11-00T00:00:00Z",
        "2026-11-31T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "26-11-26T02:30:00Z",
        "2026-11-26T02:30:00ZZ",
        "2026-11-26T02:30:00Z\n",
        " 2026-11-26T02:30:00Z",
        "2026-1-26T02:30:00Z",
        "+2026-11-26T02:30:00Z",
        "2026-11-26T02:30:00UTC",
    };
    for (const auto& text : bad) {
        checkCase({ "CreatedAt " + text, { { "/CreatedAt", text } }, "CreatedAt", "RFC 3339" });
    }
    checkCase({ "CreatedAt a number", { { "/CreatedAt", 1764124200 } }, "CreatedAt", "must be a string" });
    checkCase({ "CreatedAt null", { { "/CreatedAt", json(nullptr) } }, std::nullopt });
}

TEST(Manifest, UnknownKeysAreIgnoredAndCollected)
{
    json document = validManifest();
    document["Extra"] = json { { "anything", json::array({ 1, 2, 3 }) } };
    document["NetworkingConfiguration"]["Ethernet0"]["Vlan"] = 7;
    document["NetworkingConfiguration"]["Ethernet0"]["StaticIpConnectionInfo"]["Mtu"] = 1500;
    const auto result = parseManifest(document.dump());
    ASSERT_TRUE(result.has_value()) << result.error().message;
    const std::vector<std::string> expected = {
        kStatic0Path + ".Mtu",
        "NetworkingConfiguration.Ethernet0.Vlan",
        "Extra",
    };
    EXPECT_EQ(result->unknownKeys, expected);
}

TEST(Manifest, ReportsTheFirstFieldInManifestOrder)
{
    json document = validManifest();
    document["FormatVersion"] = 2;
    document["Name"] = "";
    document["Tags"] = json::array();
    checkCase({ "FormatVersion first",
        { { "/FormatVersion", 2 }, { "/Name", "" }, { "/Tags", json::array() } }, "FormatVersion", "is 2" });
    checkCase({ "then Name", { { "/Name", "" }, { "/Tags", json::array() } }, "Name", "is empty" });
    checkCase(
        { "then DeviceId before Arn", { { "/Arn", "" }, { "/DeviceId", "" } }, "DeviceId", "is empty" });
}

TEST(Manifest, SizeLimit)
{
    const std::string base = validManifest().dump();
    // Whitespace is legal JSON padding, so the size alone decides.
    std::string exactly = base;
    exactly.insert(1, kMaxManifestBytes - base.size(), ' ');
    ASSERT_EQ(exactly.size(), kMaxManifestBytes);
    EXPECT_TRUE(parseManifest(exactly).has_value());

    std::string over = base;
    over.insert(1, kMaxManifestBytes + 1 - base.size(), ' ');
    checkRaw("one byte over", over, "manifest.json", "is 65537 bytes");
    checkRaw("far over", std::string(1 << 20, '['), "manifest.json", "at most 65536");
}

TEST(Manifest, RejectsInvalidUtf8Anywhere)
{
    const std::string base = validManifest().dump();
    const auto withDescription = [&](const std::string& raw) {
        std::string bytes = base;
        const std::string target = "\"lobby\"";
        bytes.replace(bytes.find(target), target.size(), "\"" + raw + "\"");
        return bytes;
    };
    const struct {
        std::string label;
        std::string bytes;
    } cases[] = {
        { "truncated two-byte sequence", withDescription("a\xC3") },
        { "bad continuation", withDescription("\xC3\x28") },
        { "lone continuation byte", withDescription("\x80") },
        { "overlong slash", withDescription("\xC0\xAF") },
        { "overlong three-byte", withDescription("\xE0\x80\xAF") },
        { "encoded surrogate", withDescription("\xED\xA0\x80") },
        { "beyond U+10FFFF", withDescription("\xF4\x90\x80\x80") },
        { "0xFF byte", withDescription("\xFF") },
        { "in an unknown key's value", base.substr(0, base.size() - 1) + ",\"Junk\":\"\xFE\"}" },
        { "outside any string", base + "\xC3" },
    };
    for (const auto& testCase : cases) {
        checkRaw(testCase.label, testCase.bytes, "manifest.json", "not valid UTF-8");
    }
    checkRaw("escaped lone surrogate", withDescription("\\ud800"), "manifest.json", "not valid JSON");
    checkRaw("escaped lone low surrogate", withDescription("\\udc00x"), "manifest.json", "not valid JSON");
    checkRaw("byte order mark", "\xEF\xBB\xBF" + base, "manifest.json", "byte order mark");

    SCOPED_TRACE("valid multi-byte text and escaped pairs are fine");
    EXPECT_TRUE(
        parseManifest(withDescription("caf\xC3\xA9 \xF0\x9F\x98\x80 \\ud83d\\ude00 \\u00e9")).has_value());
}

TEST(Manifest, RejectsDuplicateKeysAtAnyLevel)
{
    const std::string base = validManifest().dump();
    const auto inserted = [&](const std::string& after, const std::string& text) {
        std::string bytes = base;
        bytes.insert(bytes.find(after) + after.size(), text);
        return bytes;
    };
    checkRaw("top level", inserted("{", "\"Name\":\"other\","), "manifest.json", "\"Name\" twice");
    checkRaw("same value twice", inserted("{", "\"Name\":\"cam-01\","), "manifest.json", "\"Name\" twice");
    checkRaw("escaped spelling of the same key", inserted("{", "\"N\\u0061me\":\"other\","), "manifest.json",
        "\"Name\" twice");
    checkRaw("nested in StaticIpConnectionInfo", inserted("\"StaticIpConnectionInfo\":{", "\"Mask\":\"/8\","),
        "manifest.json", "\"Mask\" twice");
    checkRaw("inside an unknown member", inserted("{", "\"X\":[{\"a\":1,\"a\":2}],"), "manifest.json",
        "\"a\" twice");
    checkRaw("unknown member twice", inserted("{", "\"X\":1,\"X\":1,"), "manifest.json", "\"X\" twice");

    SCOPED_TRACE("the same key in sibling objects is not a duplicate");
    EXPECT_TRUE(
        parseManifest(inserted("{", "\"X\":[{\"a\":1},{\"a\":2}],\"Y\":{\"a\":{\"a\":3}},")).has_value());
}

TEST(Manifest, BoundsNestingDepth)
{
    const std::string base = validManifest().dump();
    const auto nestedUnknown = [&](int depth) {
        // The root object is level 1, so the innermost array is level depth + 1.
        return base.substr(0, base.size() - 1) + ",\"Deep\":" + repeat("[", static_cast<std::size_t>(depth))
            + repeat("]", static_cast<std::size_t>(depth)) + "}";
    };
    EXPECT_TRUE(parseManifest(nestedUnknown(kMaxManifestDepth - 1)).has_value());
    checkRaw(
        "one level too deep", nestedUnknown(kMaxManifestDepth), "manifest.json", "nested deeper than 32");
    checkRaw("deep objects", repeat("{\"a\":", 10000) + "1" + repeat("}", 10000), "manifest.json",
        "nested deeper than 32");
    checkRaw("unterminated deep arrays", repeat("[", 60000), "manifest.json", "nested deeper than 32");
}

TEST(Manifest, MustBeOneJsonObject)
{
    const struct {
        std::string bytes;
        std::string messagePart;
    } cases[] = {
        { "", "not valid JSON" }, { "   ", "not valid JSON" }, { "[]", "must be a JSON object, not a list" },
        { "\"manifest\"", "must be a JSON object, not a string" },
        { "null", "must be a JSON object, not a null" }, { "1", "must be a JSON object, not a number" },
        { "{}{}", "not valid JSON" }, { "{} x", "not valid JSON" },
        { "{\"FormatVersion\":1,}", "not valid JSON" }, { "{'FormatVersion':1}", "not valid JSON" },
        { "{\"FormatVersion\":1 /* comment */}", "not valid JSON" },
        { "{\"FormatVersion\":1e999}", "not valid JSON" }, { "{\"FormatVersion\":NaN}", "not valid JSON" },
        // nlohmann stops at a NUL byte as if the input ended there, so
        // without a check anything after it would be ignored.
        { std::string("{\"FormatVersion\":1}\0", 20), "NUL byte" },
        { std::string("{\"FormatVersion\":1}\0{\"FormatVersion\":2}", 39), "NUL byte" },
        { std::string("{\"FormatVersion\":1,\"Name\":\"a\0\"}", 31), "NUL byte" },
        { "{\"Name\":\"a\tb\"}", "not valid JSON" }, // raw control character in a string
    };
    for (const auto& testCase : cases) {
        checkRaw(testCase.bytes, testCase.bytes, "manifest.json", testCase.messagePart);
    }
    checkRaw("empty object", "{}", "FormatVersion", "is required");
}

TEST(Manifest, ParseErrorMessagesAreReadable)
{
    const auto result = parseManifest("{\"FormatVersion\": 1,");
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().message.find("[json.exception"), std::string::npos) << result.error().message;
    EXPECT_NE(result.error().message.find("line 1"), std::string::npos) << result.error().message;
}

} // namespace
} // namespace omni::manifest
