// validateProvisionRequest: every constraint of the ProvisionDevice shapes in
// the Panorama API model, and DESIGN.md section 4 on top.
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
using test::stringList;
using test::tagsWith;

const std::string kEth0 = "/NetworkingConfiguration/Ethernet0";
const std::string kStatic0 = kEth0 + "/StaticIpConnectionInfo";
const std::string kEth1 = "/NetworkingConfiguration/Ethernet1";
const std::string kNtpServers = "/NetworkingConfiguration/Ntp/NtpServers";

const std::string kEth0Path = "NetworkingConfiguration.Ethernet0";
const std::string kStatic0Path = kEth0Path + ".StaticIpConnectionInfo";
const std::string kNtpPath = "NetworkingConfiguration.Ntp.NtpServers";

const std::string kE = "\xC3\xA9"; // U+00E9, two bytes
const std::string kEmoji = "\xF0\x9F\x98\x80"; // U+1F600, four bytes
const std::string kLineSeparator = "\xE2\x80\xA8";
const std::string kParagraphSeparator = "\xE2\x80\xA9";
const std::string kNextLine = "\xC2\x85"; // U+0085: not an ECMAScript line terminator

json validRequest()
{
    return json::parse(R"({
        "Name": "cam-01",
        "Description": "lobby",
        "Tags": {"site": "berlin", "floor": "2"},
        "NetworkingConfiguration": {
            "Ethernet0": {
                "ConnectionType": "STATIC_IP",
                "StaticIpConnectionInfo": {
                    "IpAddress": "192.168.1.10",
                    "Mask": "255.255.255.0",
                    "DefaultGateway": "192.168.1.1",
                    "Dns": ["192.168.1.1", "2001:db8::53"]
                }
            },
            "Ethernet1": {"ConnectionType": "DHCP"},
            "Ntp": {"NtpServers": ["pool.ntp.org", "192.168.1.1:123"]}
        }
    })");
}

std::string describe(const std::vector<FieldError>& errors)
{
    std::string text;
    for (const auto& error : errors) {
        text += "\n  " + error.path + ": " + error.message;
    }
    return text;
}

void checkCase(const Case& testCase)
{
    SCOPED_TRACE(testCase.label);
    const json body = test::applyEdits(validRequest(), testCase.edits);
    const auto result = validateProvisionRequest(body);
    if (!testCase.path) {
        EXPECT_TRUE(result.has_value())
            << describe(result.has_value() ? std::vector<FieldError> {} : result.error());
        return;
    }
    ASSERT_FALSE(result.has_value()) << "accepted " << body.dump();
    ASSERT_EQ(result.error().size(), 1U) << describe(result.error());
    EXPECT_EQ(result.error().front().path, *testCase.path);
    EXPECT_NE(result.error().front().message.find(testCase.messagePart), std::string::npos)
        << "message: " << result.error().front().message << "\nexpected to contain: " << testCase.messagePart;
}

TEST(ProvisionRequest, ValidRequestPasses)
{
    const auto result = validateProvisionRequest(validRequest());
    ASSERT_TRUE(result.has_value()) << describe(result.error());
    EXPECT_EQ(result->name, "cam-01");
    EXPECT_EQ(result->description, "lobby");
    EXPECT_EQ(result->tags.at("site"), "berlin");
    ASSERT_TRUE(result->networking.has_value());
    ASSERT_TRUE(result->networking->ethernet0.has_value());
    EXPECT_EQ(result->networking->ethernet0->connectionType, ConnectionType::StaticIp);
    ASSERT_TRUE(result->networking->ethernet1.has_value());
    EXPECT_EQ(result->networking->ethernet1->connectionType, ConnectionType::Dhcp);
    EXPECT_FALSE(result->networking->ethernet1->staticIp.has_value());
    ASSERT_TRUE(result->networking->ntp.has_value());
    EXPECT_EQ(
        result->networking->ntp->servers, (std::vector<std::string> { "pool.ntp.org", "192.168.1.1:123" }));
}

TEST(ProvisionRequest, MinimalRequestIsOnlyAName)
{
    const auto result = validateProvisionRequest(json { { "Name", "a" } });
    ASSERT_TRUE(result.has_value());
    EXPECT_FALSE(result->description.has_value());
    EXPECT_TRUE(result->tags.empty());
    EXPECT_FALSE(result->networking.has_value());
}

TEST(ProvisionRequest, FillsParsedAddressFields)
{
    json body = validRequest();
    body[json::json_pointer(kStatic0 + "/Mask")] = "/24";
    const auto result = validateProvisionRequest(body);
    ASSERT_TRUE(result.has_value()) << describe(result.error());
    const auto& info = *result->networking->ethernet0->staticIp;
    EXPECT_EQ(info.address, 0xC0A8010AU);
    EXPECT_EQ(info.prefixLength, 24);
    EXPECT_EQ(info.gateway, 0xC0A80101U);
    EXPECT_EQ(info.mask, "/24"); // the original text is kept
    EXPECT_EQ(info.dns, (std::vector<std::string> { "192.168.1.1", "2001:db8::53" }));
}

TEST(ProvisionRequest, BodyMustBeAnObject)
{
    for (const json& body : { json::array(), json("x"), json(nullptr), json(5) }) {
        SCOPED_TRACE(body.dump());
        const auto result = validateProvisionRequest(body);
        ASSERT_FALSE(result.has_value());
        ASSERT_EQ(result.error().size(), 1U);
        EXPECT_NE(result.error().front().message.find("must be a JSON object"), std::string::npos);
    }
}

TEST(ProvisionRequest, Name)
{
    const std::vector<Case> cases = {
        { "1 character", { { "/Name", "a" } }, std::nullopt },
        { "255 characters", { { "/Name", repeat("a", 255) } }, std::nullopt },
        { "all allowed characters", { { "/Name", "azAZ09-_" } }, std::nullopt },
        { "empty", { { "/Name", "" } }, "Name", "is empty" },
        { "256 characters", { { "/Name", repeat("a", 256) } }, "Name", "is 256 characters long" },
        { "space", { { "/Name", "cam 01" } }, "Name", "may contain only" },
        { "dot", { { "/Name", "cam.01" } }, "Name", "may contain only" },
        { "slash", { { "/Name", "cam/01" } }, "Name", "may contain only" },
        { "non-ASCII letter", { { "/Name", "cam" + kE } }, "Name", "may contain only" },
        { "trailing newline", { { "/Name", "cam\n" } }, "Name", "may contain only" },
        { "missing", { { "/Name", std::nullopt } }, "Name", "is required" },
        { "null", { { "/Name", json(nullptr) } }, "Name", "is required" },
        { "number", { { "/Name", 5 } }, "Name", "must be a string" },
        { "list", { { "/Name", json::array({ "a" }) } }, "Name", "must be a string" },
        { "object", { { "/Name", json::object() } }, "Name", "must be a string" },
        { "boolean", { { "/Name", true } }, "Name", "must be a string" },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
}

TEST(ProvisionRequest, Description)
{
    const std::vector<Case> cases = {
        { "empty", { { "/Description", "" } }, std::nullopt },
        { "255 characters", { { "/Description", repeat("a", 255) } }, std::nullopt },
        { "255 two-byte characters", { { "/Description", repeat(kE, 255) } }, std::nullopt },
        { "255 four-byte characters", { { "/Description", repeat(kEmoji, 255) } }, std::nullopt },
        { "tab and NEL are not line terminators", { { "/Description", "a\tb" + kNextLine + "c" } },
            std::nullopt },
        { "NUL is matched by .", { { "/Description", std::string("a\0b", 3) } }, std::nullopt },
        { "missing", { { "/Description", std::nullopt } }, std::nullopt },
        { "null", { { "/Description", json(nullptr) } }, std::nullopt },
        { "256 characters", { { "/Description", repeat("a", 256) } }, "Description",
            "is 256 characters long" },
        { "256 two-byte characters", { { "/Description", repeat(kE, 256) } }, "Description",
            "is 256 characters long" },
        { "line feed", { { "/Description", "a\nb" } }, "Description", "U+000A" },
        { "trailing line feed", { { "/Description", "lobby\n" } }, "Description", "U+000A" },
        { "carriage return", { { "/Description", "a\rb" } }, "Description", "U+000D" },
        { "line separator", { { "/Description", "a" + kLineSeparator + "b" } }, "Description", "U+2028" },
        { "paragraph separator", { { "/Description", "a" + kParagraphSeparator } }, "Description", "U+2029" },
        { "length before pattern", { { "/Description", repeat("\n", 300) } }, "Description",
            "is 300 characters long" },
        { "number", { { "/Description", 1 } }, "Description", "must be a string" },
        { "list", { { "/Description", json::array() } }, "Description", "must be a string" },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
}

TEST(ProvisionRequest, Tags)
{
    const std::vector<Case> cases = {
        { "no tags", { { "/Tags", json::object() } }, std::nullopt },
        { "missing", { { "/Tags", std::nullopt } }, std::nullopt },
        { "null", { { "/Tags", json(nullptr) } }, std::nullopt },
        { "50 entries", { { "/Tags", tagsWith(50) } }, std::nullopt },
        { "51 entries", { { "/Tags", tagsWith(51) } }, "Tags", "has 51 entries" },
        { "key of 128", { { "/Tags", json { { repeat("k", 128), "v" } } } }, std::nullopt },
        { "key of 128 two-byte characters", { { "/Tags", json { { repeat(kE, 128), "v" } } } },
            std::nullopt },
        { "key of 129", { { "/Tags", json { { repeat("k", 129), "v" } } } }, "Tags." + repeat("k", 129),
            "is 129 characters long" },
        { "empty key", { { "/Tags", json { { "", "v" } } } }, "Tags.", "is empty" },
        { "key with a line feed", { { "/Tags", json { { "a\nb", "v" } } } }, "Tags.a\\nb", "U+000A" },
        { "key with U+2028", { { "/Tags", json { { "a" + kLineSeparator, "v" } } } },
            "Tags.a" + kLineSeparator, "U+2028" },
        { "key with a dot", { { "/Tags", json { { "a.b", "v" } } } }, std::nullopt },
        { "empty value", { { "/Tags", json { { "k", "" } } } }, std::nullopt },
        { "value of 256", { { "/Tags", json { { "k", repeat("v", 256) } } } }, std::nullopt },
        { "value of 256 four-byte characters", { { "/Tags", json { { "k", repeat(kEmoji, 256) } } } },
            std::nullopt },
        { "value of 257", { { "/Tags", json { { "k", repeat("v", 257) } } } }, "Tags.k",
            "is 257 characters long" },
        { "value with a line feed", { { "/Tags/k", "a\n" } }, "Tags.k", "U+000A" },
        { "value with a carriage return", { { "/Tags/k", "\r" } }, "Tags.k", "U+000D" },
        { "value with U+2029", { { "/Tags/k", kParagraphSeparator } }, "Tags.k", "U+2029" },
        { "value a number", { { "/Tags/k", 5 } }, "Tags.k", "must be a string" },
        { "value null", { { "/Tags/k", json(nullptr) } }, "Tags.k", "must be a string" },
        { "value an object", { { "/Tags/k", json::object() } }, "Tags.k", "must be a string" },
        { "a list", { { "/Tags", json::array({ "a", "b" }) } }, "Tags", "must be an object" },
        { "a string", { { "/Tags", "site=berlin" } }, "Tags", "must be an object" },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
}

TEST(ProvisionRequest, NetworkingConfigurationShape)
{
    const std::vector<Case> cases = {
        { "missing", { { "/NetworkingConfiguration", std::nullopt } }, std::nullopt },
        { "null", { { "/NetworkingConfiguration", json(nullptr) } }, std::nullopt },
        { "empty", { { "/NetworkingConfiguration", json::object() } }, std::nullopt },
        { "a string", { { "/NetworkingConfiguration", "dhcp" } }, "NetworkingConfiguration",
            "must be an object" },
        { "a list", { { "/NetworkingConfiguration", json::array() } }, "NetworkingConfiguration",
            "must be an object" },
        { "Ethernet0 null", { { kEth0, json(nullptr) } }, std::nullopt },
        { "Ethernet0 a string", { { kEth0, "DHCP" } }, kEth0Path, "must be an object" },
        { "Ethernet1 a number", { { kEth1, 1 } }, "NetworkingConfiguration.Ethernet1", "must be an object" },
        { "Ntp a list", { { "/NetworkingConfiguration/Ntp", json::array() } }, "NetworkingConfiguration.Ntp",
            "must be an object" },
        { "unknown members are ignored",
            { { "/NetworkingConfiguration/Ethernet2", json { { "ConnectionType", "bogus" } } },
                { kEth0 + "/Vlan", 5 }, { kStatic0 + "/Mtu", "x" },
                { "/NetworkingConfiguration/Ntp/Pool", true }, { "/Extra", json::array() } },
            std::nullopt },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
}

TEST(ProvisionRequest, ConnectionType)
{
    const std::vector<Case> cases = {
        { "DHCP", { { kEth0, json { { "ConnectionType", "DHCP" } } } }, std::nullopt },
        { "lowercase static_ip", { { kEth0 + "/ConnectionType", "static_ip" } },
            kEth0Path + ".ConnectionType", "must be STATIC_IP or DHCP" },
        { "lowercase dhcp", { { kEth1 + "/ConnectionType", "dhcp" } },
            "NetworkingConfiguration.Ethernet1.ConnectionType", "must be STATIC_IP or DHCP" },
        { "empty", { { kEth0 + "/ConnectionType", "" } }, kEth0Path + ".ConnectionType",
            "must be STATIC_IP or DHCP" },
        { "padded", { { kEth0 + "/ConnectionType", "DHCP " } }, kEth0Path + ".ConnectionType",
            "must be STATIC_IP or DHCP" },
        { "missing", { { kEth0 + "/ConnectionType", std::nullopt } }, kEth0Path + ".ConnectionType",
            "is required" },
        { "null", { { kEth0 + "/ConnectionType", json(nullptr) } }, kEth0Path + ".ConnectionType",
            "is required" },
        { "a number", { { kEth0 + "/ConnectionType", 0 } }, kEth0Path + ".ConnectionType",
            "must be a string" },
        { "STATIC_IP without StaticIpConnectionInfo", { { kStatic0, std::nullopt } }, kStatic0Path,
            "is required when ConnectionType is STATIC_IP" },
        { "STATIC_IP with null StaticIpConnectionInfo", { { kStatic0, json(nullptr) } }, kStatic0Path,
            "is required when ConnectionType is STATIC_IP" },
        { "StaticIpConnectionInfo a string", { { kStatic0, "192.168.1.10/24" } }, kStatic0Path,
            "must be an object" },
        { "DHCP with a valid StaticIpConnectionInfo", { { kEth0 + "/ConnectionType", "DHCP" } },
            std::nullopt },
        { "DHCP with an invalid StaticIpConnectionInfo is still validated",
            { { kEth0 + "/ConnectionType", "DHCP" }, { kStatic0 + "/Mask", "/32" } }, kStatic0Path + ".Mask",
            "prefix length of 32" },
        { "DHCP with an incomplete StaticIpConnectionInfo",
            { { kEth0 + "/ConnectionType", "DHCP" }, { kStatic0 + "/Dns", std::nullopt } },
            kStatic0Path + ".Dns", "is required" },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
}

TEST(ProvisionRequest, StaticIpRequiredMembersAndTypes)
{
    for (const std::string member : { "IpAddress", "Mask", "DefaultGateway", "Dns" }) {
        checkCase({ "missing " + member, { { kStatic0 + "/" + member, std::nullopt } },
            kStatic0Path + "." + member, "is required" });
        checkCase({ "null " + member, { { kStatic0 + "/" + member, json(nullptr) } },
            kStatic0Path + "." + member, "is required" });
    }
    for (const std::string member : { "IpAddress", "Mask", "DefaultGateway" }) {
        checkCase({ member + " a number", { { kStatic0 + "/" + member, 24 } }, kStatic0Path + "." + member,
            "must be a string" });
        checkCase({ member + " a list", { { kStatic0 + "/" + member, json::array({ "a" }) } },
            kStatic0Path + "." + member, "must be a string" });
        checkCase({ member + " empty", { { kStatic0 + "/" + member, "" } }, kStatic0Path + "." + member,
            "is empty" });
        checkCase({ member + " 256 characters", { { kStatic0 + "/" + member, repeat("1", 256) } },
            kStatic0Path + "." + member, "is 256 characters long" });
    }
}

TEST(ProvisionRequest, IpAddress)
{
    const std::string path = kStatic0Path + ".IpAddress";
    const std::string pointer = kStatic0 + "/IpAddress";
    const std::vector<Case> cases = {
        { "host address", { { pointer, "192.168.1.254" } }, std::nullopt },
        { "octet 256", { { pointer, "192.168.1.256" } }, path, "must be an IPv4 address" },
        { "leading zero octet", { { pointer, "192.168.01.10" } }, path, "must be an IPv4 address" },
        { "three octets", { { pointer, "192.168.1" } }, path, "must be an IPv4 address" },
        { "name", { { pointer, "camera.local" } }, path, "must be an IPv4 address" },
        { "CIDR suffix", { { pointer, "192.168.1.10/24" } }, path, "must be an IPv4 address" },
        { "IPv6", { { pointer, "2001:db8::10" } }, path, "must be an IPv4 address" },
        { "leading space", { { pointer, " 192.168.1.10" } }, path, "must be an IPv4 address" },
        { "trailing newline", { { pointer, "192.168.1.10\n" } }, path, "must be an IPv4 address" },
        { "non-ASCII digit", { { pointer, "192.168.1.\xD9\xA1" } }, path, "must be an IPv4 address" },
        // The model allows a port 1-65535; section 4 then refuses any port.
        { "model port 1", { { pointer, "192.168.1.10:1" } }, path, "must not have a port" },
        { "model port 65535", { { pointer, "192.168.1.10:65535" } }, path, "must not have a port" },
        { "model port 0", { { pointer, "192.168.1.10:0" } }, path, "must be an IPv4 address" },
        { "model port 65536", { { pointer, "192.168.1.10:65536" } }, path, "must be an IPv4 address" },
        { "model port with a leading zero", { { pointer, "192.168.1.10:080" } }, path,
            "must be an IPv4 address" },
        { "empty port", { { pointer, "192.168.1.10:" } }, path, "must be an IPv4 address" },
        { "0.0.0.0/8", { { pointer, "0.1.2.3" } }, path, "0.0.0.0/8" },
        { "loopback", { { pointer, "127.0.0.2" } }, path, "loopback" },
        { "multicast low", { { pointer, "224.0.0.10" }, { kStatic0 + "/DefaultGateway", "192.168.1.1" } },
            path, "multicast" },
        { "multicast high", { { pointer, "239.255.255.10" } }, path, "multicast" },
        { "240.0.0.0/4", { { pointer, "240.0.0.10" } }, path, "240.0.0.0/4" },
        { "limited broadcast", { { pointer, "255.255.255.255" } }, path, "240.0.0.0/4" },
        { "just below multicast",
            { { pointer, "223.255.255.10" }, { kStatic0 + "/DefaultGateway", "223.255.255.1" } },
            std::nullopt },
        { "just above 0.0.0.0/8", { { pointer, "1.0.0.10" }, { kStatic0 + "/DefaultGateway", "1.0.0.1" } },
            std::nullopt },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
}

TEST(ProvisionRequest, Mask)
{
    const std::string path = kStatic0Path + ".Mask";
    const std::string pointer = kStatic0 + "/Mask";
    const std::vector<Case> cases = {
        { "dotted quad", { { pointer, "255.255.255.0" } }, std::nullopt },
        { "prefix", { { pointer, "24" } }, std::nullopt },
        { "slash prefix", { { pointer, "/24" } }, std::nullopt },
        { "prefix 16", { { pointer, "/16" } }, std::nullopt },
        { "prefix 1",
            { { pointer, "1" }, { kStatic0 + "/IpAddress", "10.0.0.10" },
                { kStatic0 + "/DefaultGateway", "10.0.0.1" } },
            std::nullopt },
        { "/32", { { pointer, "/32" } }, path, "prefix length of 32" },
        { "32", { { pointer, "32" } }, path, "prefix length of 32" },
        { "255.255.255.255", { { pointer, "255.255.255.255" } }, path, "prefix length of 32" },
        { "/0", { { pointer, "/0" } }, path, "prefix length of 0" },
        { "0", { { pointer, "0" } }, path, "prefix length of 0" },
        { "0.0.0.0", { { pointer, "0.0.0.0" } }, path, "prefix length of 0" },
        { "33", { { pointer, "33" } }, path, "contiguous dotted-quad mask" },
        { "leading zero", { { pointer, "024" } }, path, "contiguous dotted-quad mask" },
        { "plus sign", { { pointer, "+24" } }, path, "contiguous dotted-quad mask" },
        { "leading space", { { pointer, " 24" } }, path, "contiguous dotted-quad mask" },
        { "trailing space", { { pointer, "/24 " } }, path, "contiguous dotted-quad mask" },
        { "double slash", { { pointer, "//24" } }, path, "contiguous dotted-quad mask" },
        { "non-contiguous", { { pointer, "255.0.255.0" } }, path, "contiguous dotted-quad mask" },
        { "host bits", { { pointer, "255.255.255.1" } }, path, "contiguous dotted-quad mask" },
        { "octet with leading zero", { { pointer, "255.255.255.00" } }, path, "contiguous dotted-quad mask" },
        { "line feed", { { pointer, "24\n" } }, path, "U+000A" },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
}

TEST(ProvisionRequest, SubnetRules)
{
    const std::string addressPath = kStatic0Path + ".IpAddress";
    const std::string gatewayPath = kStatic0Path + ".DefaultGateway";
    const auto net = [](const std::string& address, const std::string& mask, const std::string& gateway) {
        return std::vector<test::Edit> { { kStatic0 + "/IpAddress", address }, { kStatic0 + "/Mask", mask },
            { kStatic0 + "/DefaultGateway", gateway } };
    };
    const std::vector<Case> cases = {
        { "/30 first host", net("10.0.0.1", "/30", "10.0.0.2"), std::nullopt },
        { "/30 address is the network", net("10.0.0.0", "/30", "10.0.0.1"), addressPath,
            "network address of 10.0.0.0/30" },
        { "/30 address is the broadcast", net("10.0.0.3", "/30", "10.0.0.1"), addressPath,
            "broadcast address of 10.0.0.0/30" },
        { "/30 gateway is the network", net("10.0.0.1", "/30", "10.0.0.0"), gatewayPath, "network address" },
        { "/30 gateway is the broadcast", net("10.0.0.1", "/30", "10.0.0.3"), gatewayPath,
            "broadcast address" },
        { "/31 lower address, upper gateway", net("10.0.0.0", "/31", "10.0.0.1"), std::nullopt },
        { "/31 upper address, lower gateway", net("10.0.0.1", "255.255.255.254", "10.0.0.0"), std::nullopt },
        { "/31 gateway outside", net("10.0.0.0", "31", "10.0.0.2"), gatewayPath,
            "outside the subnet 10.0.0.0/31" },
        { "/24 address is the network", net("192.168.1.0", "/24", "192.168.1.1"), addressPath,
            "network address" },
        { "/24 address is the broadcast", net("192.168.1.255", "/24", "192.168.1.1"), addressPath,
            "broadcast address of 192.168.1.0/24" },
        { "/24 gateway is the broadcast", net("192.168.1.10", "/24", "192.168.1.255"), gatewayPath,
            "broadcast address" },
        { "/8 large subnet", net("10.200.3.4", "255.0.0.0", "10.0.0.1"), std::nullopt },
        { "/1 subnet", net("100.0.0.1", "/1", "1.2.3.4"), std::nullopt },
        { "gateway outside the subnet", net("192.168.1.10", "/24", "192.168.2.1"), gatewayPath,
            "192.168.2.1 is outside the subnet 192.168.1.0/24" },
        { "gateway equals the address", net("192.168.1.10", "/24", "192.168.1.10"), gatewayPath,
            "device's own IpAddress" },
        { "gateway with a port", net("192.168.1.10", "/24", "192.168.1.1:80"), gatewayPath,
            "must not have a port" },
        { "gateway a name", net("192.168.1.10", "/24", "router.local"), gatewayPath,
            "must be an IPv4 address" },
        { "gateway loopback", net("192.168.1.10", "/24", "127.0.0.1"), gatewayPath, "loopback" },
        { "gateway multicast", net("192.168.1.10", "/24", "224.0.0.1"), gatewayPath, "multicast" },
        { "gateway line feed", net("192.168.1.10", "/24", "192.168.1.1\n"), gatewayPath, "U+000A" },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
}

TEST(ProvisionRequest, Dns)
{
    const std::string path = kStatic0Path + ".Dns";
    const std::string pointer = kStatic0 + "/Dns";
    const std::vector<Case> cases = {
        { "one IPv4", { { pointer, json::array({ "9.9.9.9" }) } }, std::nullopt },
        { "IPv6", { { pointer, json::array({ "2001:4860:4860::8888", "::1" }) } }, std::nullopt },
        { "IPv4-mapped IPv6", { { pointer, json::array({ "::ffff:192.0.2.53" }) } }, std::nullopt },
        { "loopback stub resolver", { { pointer, json::array({ "127.0.0.53" }) } }, std::nullopt },
        { "many", { { pointer, stringList(10, "192.168.1.1") } }, std::nullopt },
        { "empty list", { { pointer, json::array() } }, path, "at least one DNS server" },
        { "a string", { { pointer, "192.168.1.1" } }, path, "must be a list of strings" },
        { "an object", { { pointer, json::object() } }, path, "must be a list of strings" },
        { "name", { { pointer, json::array({ "192.168.1.1", "dns.google" }) } }, path + "[1]",
            "names cannot" },
        { "IPv4 with a port", { { pointer, json::array({ "192.168.1.1", "8.8.8.8:53" }) } }, path + "[1]",
            "without a port" },
        { "IPv6 in brackets", { { pointer, json::array({ "[2001:db8::1]" }) } }, path + "[0]",
            "without brackets" },
        { "IPv6 in brackets with port", { { pointer, json::array({ "[2001:db8::1]:53" }) } }, path + "[0]",
            "without brackets" },
        { "IPv6 with a zone", { { pointer, json::array({ "fe80::1%eth0" }) } }, path + "[0]",
            "without a zone" },
        { "octet 256", { { pointer, json::array({ "1.1.1.256" }) } }, path + "[0]", "IPv4 or IPv6 address" },
        { "empty item", { { pointer, json::array({ "1.1.1.1", "" }) } }, path + "[1]", "is empty" },
        { "item 256 characters", { { pointer, json::array({ repeat("1", 256) }) } }, path + "[0]",
            "is 256 characters long" },
        { "item with a line feed", { { pointer, json::array({ "1.1.1.1\n" }) } }, path + "[0]", "U+000A" },
        { "item a number", { { pointer, json::array({ "1.1.1.1", 5 }) } }, path + "[1]", "must be a string" },
        { "item null", { { pointer, json::array({ "1.1.1.1", "1.0.0.1", nullptr }) } }, path + "[2]",
            "must be a string" },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
}

TEST(ProvisionRequest, NtpServers)
{
    const std::string pointer = kNtpServers;
    const std::vector<Case> cases = {
        { "empty list", { { pointer, json::array() } }, std::nullopt },
        { "5 servers", { { pointer, stringList(5, "pool.ntp.org") } }, std::nullopt },
        { "6 servers", { { pointer, stringList(6, "pool.ntp.org") } }, kNtpPath, "has 6 servers" },
        { "missing", { { pointer, std::nullopt } }, kNtpPath, "is required" },
        { "null", { { pointer, json(nullptr) } }, kNtpPath, "is required" },
        { "a string", { { pointer, "pool.ntp.org" } }, kNtpPath, "must be a list of strings" },
        { "item a number", { { pointer, json::array({ 1 }) } }, kNtpPath + "[0]", "must be a string" },
        { "two labels", { { pointer, json::array({ "ntp.org" }) } }, std::nullopt },
        { "hyphens and digits", { { pointer, json::array({ "time-1.a1-b2-c3.example.com" }) } },
            std::nullopt },
        { "numeric label", { { pointer, json::array({ "0.debian.pool.ntp.org" }) } }, std::nullopt },
        { "255 characters", { { pointer, json::array({ repeat("a", 251) + ".com" }) } }, std::nullopt },
        { "256 characters", { { pointer, json::array({ repeat("a", 252) + ".com" }) } }, kNtpPath + "[0]",
            "is 256 characters long" },
        { "IPv4", { { pointer, json::array({ "192.168.1.1" }) } }, std::nullopt },
        { "IPv4 port 1", { { pointer, json::array({ "192.168.1.1:1" }) } }, std::nullopt },
        { "IPv4 port 123", { { pointer, json::array({ "192.168.1.1:123" }) } }, std::nullopt },
        { "IPv4 port 65535", { { pointer, json::array({ "192.168.1.1:65535" }) } }, std::nullopt },
        { "IPv4 port 0", { { pointer, json::array({ "192.168.1.1:0" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "IPv4 port 65536", { { pointer, json::array({ "192.168.1.1:65536" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "IPv4 port 99999", { { pointer, json::array({ "192.168.1.1:99999" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "IPv4 port leading zero", { { pointer, json::array({ "192.168.1.1:0123" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "IPv4 octet 256", { { pointer, json::array({ "192.168.1.256" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "IPv4 octet with leading zero", { { pointer, json::array({ "192.168.1.01" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "uppercase name", { { pointer, json::array({ "Pool.ntp.org" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "all uppercase", { { pointer, json::array({ "POOL.NTP.ORG" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "name with a port", { { pointer, json::array({ "pool.ntp.org:123" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "single label", { { pointer, json::array({ "localhost" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "trailing dot", { { pointer, json::array({ "pool.ntp.org." }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "one-letter TLD", { { pointer, json::array({ "ntp.o" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "digit in TLD", { { pointer, json::array({ "ntp.c0m" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "leading hyphen", { { pointer, json::array({ "-ntp.org" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "trailing hyphen in label", { { pointer, json::array({ "ntp-.org" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "double hyphen", { { pointer, json::array({ "a--b.org" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "empty label", { { pointer, json::array({ "a..org" }) } }, kNtpPath + "[0]", "lowercase DNS name" },
        { "underscore", { { pointer, json::array({ "ntp_1.org" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "IPv6", { { pointer, json::array({ "2001:db8::123" }) } }, kNtpPath + "[0]", "lowercase DNS name" },
        { "trailing newline", { { pointer, json::array({ "pool.ntp.org\n" }) } }, kNtpPath + "[0]",
            "lowercase DNS name" },
        { "empty item", { { pointer, json::array({ "" }) } }, kNtpPath + "[0]", "is empty" },
    };
    for (const auto& testCase : cases) {
        checkCase(testCase);
    }
}

TEST(ProvisionRequest, TooManyNtpServersStillChecksEachItem)
{
    json body = validRequest();
    body[json::json_pointer(kNtpServers)]
        = json::array({ "a.org", "b.org", "c.org", "d.org", "e.org", "BAD" });
    const auto result = validateProvisionRequest(body);
    ASSERT_FALSE(result.has_value());
    ASSERT_EQ(result.error().size(), 2U) << describe(result.error());
    EXPECT_EQ(result.error()[0].path, kNtpPath);
    EXPECT_EQ(result.error()[1].path, kNtpPath + "[5]");
}

TEST(ProvisionRequest, ReportsEveryErrorInModelOrder)
{
    json body = validRequest();
    body["Description"] = "two\nlines";
    body["Name"] = "bad name";
    body["Tags"] = json { { "ok", "fine" }, { "zz", 1 }, { "aa", "x\n" } };
    auto& eth0 = body["NetworkingConfiguration"]["Ethernet0"]["StaticIpConnectionInfo"];
    eth0["IpAddress"] = "127.0.0.1";
    eth0["Mask"] = "/33";
    eth0["DefaultGateway"] = "gateway";
    eth0["Dns"] = json::array({ "1.1.1.1", "one.one", 3 });
    body["NetworkingConfiguration"]["Ethernet1"] = json { { "ConnectionType", "static" } };
    body["NetworkingConfiguration"]["Ntp"]["NtpServers"] = json::array({ "ok.org", "NOT.OK" });

    const auto result = validateProvisionRequest(body);
    ASSERT_FALSE(result.has_value());
    std::vector<std::string> paths;
    for (const auto& error : result.error()) {
        paths.push_back(error.path);
    }
    const std::vector<std::string> expected = {
        "Description",
        "Name",
        kStatic0Path + ".DefaultGateway",
        kStatic0Path + ".Dns[1]",
        kStatic0Path + ".Dns[2]",
        kStatic0Path + ".IpAddress",
        kStatic0Path + ".Mask",
        "NetworkingConfiguration.Ethernet1.ConnectionType",
        kNtpPath + "[1]",
        "Tags.aa",
        "Tags.zz",
    };
    EXPECT_EQ(paths, expected) << describe(result.error());
}

TEST(ProvisionRequest, OneErrorPerFieldEvenWhenSeveralRulesBreak)
{
    json body = validRequest();
    // Too long, not an address, and a line break: reported once, as too long.
    body[json::json_pointer(kStatic0 + "/IpAddress")] = repeat("x\n", 200);
    // A tag whose key and value are both bad is one field.
    body["Tags"] = json { { "", repeat("v", 300) } };
    const auto result = validateProvisionRequest(body);
    ASSERT_FALSE(result.has_value());
    ASSERT_EQ(result.error().size(), 2U) << describe(result.error());
    EXPECT_EQ(result.error()[0].path, kStatic0Path + ".IpAddress");
    EXPECT_NE(result.error()[0].message.find("is 400 characters long"), std::string::npos);
    EXPECT_EQ(result.error()[1].path, "Tags.");
    EXPECT_NE(result.error()[1].message.find("tag key"), std::string::npos);
}

TEST(ProvisionRequest, MessagesQuoteValuesSafely)
{
    json body = validRequest();
    body[json::json_pointer(kStatic0 + "/Dns/1")] = "evil\tname" + repeat("x", 200);
    const auto result = validateProvisionRequest(body);
    ASSERT_FALSE(result.has_value());
    ASSERT_EQ(result.error().size(), 1U);
    const std::string& message = result.error().front().message;
    EXPECT_EQ(message.find('\t'), std::string::npos) << message;
    EXPECT_NE(message.find("\"evil\\tname"), std::string::npos) << message;
    EXPECT_LT(message.size(), 250U) << message;
}

TEST(ProvisionRequest, InvalidUtf8InAProgrammaticDocumentIsAnErrorNotACrash)
{
    json body = validRequest();
    body["Description"] = std::string("bad \xC3\x28 byte");
    const auto result = validateProvisionRequest(body);
    ASSERT_FALSE(result.has_value());
    ASSERT_EQ(result.error().size(), 1U);
    EXPECT_EQ(result.error().front().path, "Description");
    EXPECT_NE(result.error().front().message.find("UTF-8"), std::string::npos);
}

TEST(ProvisionRequest, ToJsonEmitsTheRequestShapeWithOriginalStrings)
{
    json body = validRequest();
    body[json::json_pointer(kStatic0 + "/Mask")] = "/24";
    body["NetworkingConfiguration"]["Ethernet1"] = json::parse(R"({
        "ConnectionType": "DHCP",
        "StaticIpConnectionInfo": {"IpAddress": "10.1.0.5", "Mask": "16", "DefaultGateway": "10.1.0.1",
                                   "Dns": ["::1"]}
    })");
    const auto result = validateProvisionRequest(body);
    ASSERT_TRUE(result.has_value()) << describe(result.error());
    EXPECT_EQ(toJson(*result->networking), body["NetworkingConfiguration"]);
}

TEST(ProvisionRequest, ToJsonOfPartialConfigurations)
{
    NetworkingConfiguration onlyNtp;
    onlyNtp.ntp = NtpPayload {};
    EXPECT_EQ(toJson(onlyNtp), json::parse(R"({"Ntp": {"NtpServers": []}})"));
    EXPECT_EQ(toJson(NetworkingConfiguration {}), json::object());
    EXPECT_EQ(toString(ConnectionType::StaticIp), "STATIC_IP");
    EXPECT_EQ(toString(ConnectionType::Dhcp), "DHCP");
}

} // namespace
} // namespace omni::manifest
