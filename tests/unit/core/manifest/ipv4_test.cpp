#include "daemon/core/manifest/ipv4.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace omni::manifest {
namespace {

TEST(ParseIpv4, AcceptsStrictDottedQuads)
{
    const struct {
        std::string text;
        std::uint32_t expected;
    } cases[] = {
        { "0.0.0.0", 0x00000000U },
        { "192.168.1.10", 0xC0A8010AU },
        { "255.255.255.255", 0xFFFFFFFFU },
        { "10.0.0.1", 0x0A000001U },
        { "1.20.199.249", 0x0114C7F9U },
    };
    for (const auto& testCase : cases) {
        SCOPED_TRACE(testCase.text);
        EXPECT_EQ(parseIpv4(testCase.text), testCase.expected);
        EXPECT_EQ(formatIpv4(testCase.expected), testCase.text);
    }
}

TEST(ParseIpv4, RejectsEverythingElse)
{
    const std::string cases[] = {
        "",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1.1.1.256",
        "01.1.1.1",
        "1.1.1.00",
        "1.2.3.4:80",
        " 1.2.3.4",
        "1.2.3.4 ",
        "1..3.4",
        "1.2.3.",
        ".1.2.3",
        "+1.2.3.4",
        "1.2.3.-4",
        "0x1.2.3.4",
        "1234.1.1.1",
        "\xD9\xA1.2.3.4", // ARABIC-INDIC DIGIT ONE: \d is ASCII only
        std::string("1.2.3.4\0", 8),
    };
    for (const auto& text : cases) {
        SCOPED_TRACE(text);
        EXPECT_EQ(parseIpv4(text), std::nullopt);
    }
}

TEST(ParseMask, AcceptsDottedQuadAndPrefixForms)
{
    const struct {
        std::string text;
        int expected;
    } cases[] = {
        { "255.255.255.0", 24 },
        { "255.255.255.252", 30 },
        { "255.255.255.254", 31 },
        { "255.255.255.255", 32 },
        { "128.0.0.0", 1 },
        { "0.0.0.0", 0 },
        { "255.255.128.0", 17 },
        { "24", 24 },
        { "/24", 24 },
        { "0", 0 },
        { "/0", 0 },
        { "1", 1 },
        { "/31", 31 },
        { "32", 32 },
    };
    for (const auto& testCase : cases) {
        SCOPED_TRACE(testCase.text);
        EXPECT_EQ(parseMask(testCase.text), testCase.expected);
    }
}

TEST(ParseMask, RejectsNonContiguousSignedPaddedOrOutOfRange)
{
    const std::string cases[] = {
        "",
        "/",
        "//24",
        "024",
        "/024",
        "00",
        "+24",
        "-24",
        " 24",
        "24 ",
        "/ 24",
        "33",
        "/33",
        "100",
        "255.0.255.0",
        "255.255.255.1",
        "0.255.255.255",
        "255.255.255",
        "255.255.255.0/24",
        "twenty-four",
    };
    for (const auto& text : cases) {
        SCOPED_TRACE(text);
        EXPECT_EQ(parseMask(text), std::nullopt);
    }
}

TEST(IsIpLiteral, AcceptsIpv4AndIpv6Literals)
{
    const std::string cases[] = {
        "192.168.1.1",
        "127.0.0.53",
        "::1",
        "::",
        "2001:db8::53",
        "2001:4860:4860::8888",
        "FE80::1",
        "::ffff:192.0.2.1",
        "1:2:3:4:5:6:7:8",
    };
    for (const auto& text : cases) {
        SCOPED_TRACE(text);
        EXPECT_TRUE(isIpLiteral(text));
    }
}

TEST(IsIpLiteral, RejectsNamesPortsBracketsAndZones)
{
    const std::string cases[] = {
        "",
        "dns.google",
        "localhost",
        "8.8.8.8:53",
        "[2001:db8::1]",
        "[2001:db8::1]:53",
        "fe80::1%eth0",
        "fe80::1%1",
        "2001:db8::g",
        "1:2:3:4:5:6:7:8:9",
        "01.2.3.4",
        "256.0.0.1",
        " ::1",
        std::string("::1\0", 4),
        "1:2:3:4:5:6:7:8:1:2:3:4:5:6:7:8:1:2:3:4:5:6:7:8",
    };
    for (const auto& text : cases) {
        SCOPED_TRACE(text);
        EXPECT_FALSE(isIpLiteral(text));
    }
}

} // namespace
} // namespace omni::manifest
