// The manifest's Enrollment member: DESIGN.md section 10 "Where to enrol"
// (Enrollment.Url and Enrollment.ServerCa, else MANIFEST_INVALID there).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/core/manifest/manifest.hpp"
#include "daemon/core/text/json_text.hpp"
#include "tests/support/archive_factory.hpp"
#include "tests/unit/core/manifest/json_edit.hpp"

namespace omni::manifest {
namespace {

using nlohmann::json;
using test::repeat;

constexpr time::UnixTime kNow = 1795000000;

const testing::TestAuthority& authority()
{
    static const testing::TestAuthority made = testing::TestAuthority::make(kNow, "Enrol");
    return made;
}

json manifestWith(const json& enrollment)
{
    json document = {
        { "FormatVersion", 1 },
        { "Name", "cam-01" },
        { "DeviceId", "device-3xk2m4q7wzt5bh6ry1pnc9d8sa" },
        { "Arn", "arn:aws:panorama:us-east-1:123456789012:device/device-3xk2m4q7wzt5bh6ry1pnc9d8sa" },
        { "IotThingName", "device-3xk2m4q7wzt5bh6ry1pnc9d8sa" },
    };
    document["Enrollment"] = enrollment;
    return document;
}

json validEnrollment()
{
    return json { { "Url", "https://issuer.example:8443" }, { "ServerCa", authority().rootPem() } };
}

void expectManifestInvalidAt(const json& document, const std::string& path, const std::string& messagePart)
{
    const auto result = parseManifest(document.dump());
    ASSERT_FALSE(result.has_value()) << "accepted";
    EXPECT_EQ(result.error().reason, ReasonCode::ManifestInvalid);
    EXPECT_EQ(result.error().where, path);
    EXPECT_EQ(result.error().message.rfind(path + ": ", 0), 0U) << result.error().message;
    EXPECT_NE(result.error().message.find(messagePart), std::string::npos)
        << "message: " << result.error().message << "\nexpected to contain: " << messagePart;
}

TEST(EnrollmentUrl, AcceptsAbsoluteHttpsUrlsWithAHost)
{
    for (const std::string& url :
        std::vector<std::string> { "https://issuer.example", "https://issuer.example:8443",
            "https://issuer.example/", "https://issuer.example:443/est/fleet-1", "HTTPS://Issuer.Example",
            "https://192.168.1.2:8443", "https://[2001:db8::1]:8443", "https://[::1]", "https://localhost",
            "https://xn--bcher-kva.example", "https://a.example/p%20q/~x_y-z.(1);a=b,c:d@e",
            "https://h:65535", "https://h:1", "https://" + repeat("a", 63) + ".example" }) {
        EXPECT_EQ(enrollmentUrlProblem(url), std::nullopt) << url << ": " << *enrollmentUrlProblem(url);
    }
}

TEST(EnrollmentUrl, RefusesWhatTheRulesExclude)
{
    struct Refused {
        std::string url;
        std::string messagePart;
    };
    const std::vector<Refused> cases = {
        { "", "is empty" },
        { "http://issuer.example", "must use https, not http" },
        { "HTTP://issuer.example", "must use https, not http" },
        { "ftp://issuer.example", "must use https, not 'ftp'" },
        { "issuer.example:8443", "must use https, not 'issuer.example'" },
        { "issuer.example", "must be an absolute URL" },
        { "/relative/path", "must be an absolute URL" },
        { "https:issuer.example", "must have a host after 'https://'" },
        { "https:/issuer.example", "must have a host after 'https://'" },
        // A missing host.
        { "https://", "has no host" },
        { "https:///path", "has no host" },
        { "https://:8443", "has no host" },
        { "https://?x", "has no host" },
        // Userinfo, with or without a password.
        { "https://user@issuer.example", "must not hold userinfo" },
        { "https://user:secret@issuer.example", "must not hold userinfo" },
        { "https://@issuer.example", "must not hold userinfo" },
        // Query and fragment, also empty ones.
        { "https://issuer.example?x=1", "must not have a query" },
        { "https://issuer.example/est?", "must not have a query" },
        { "https://issuer.example#top", "must not have a fragment" },
        { "https://issuer.example/est#", "must not have a fragment" },
        { "https://issuer.example/#a?b", "must not have a fragment" },
        // Bad ports.
        { "https://issuer.example:", "no port" },
        { "https://issuer.example:0", "has the port '0'" },
        { "https://issuer.example:65536", "has the port '65536'" },
        { "https://issuer.example:08443", "has the port '08443'" },
        { "https://issuer.example:84a3", "has the port '84a3'" },
        { "https://issuer.example:-1", "has the port '-1'" },
        { "https://issuer.example:443:443", "has the port '443:443'" },
        { "https://issuer.example:123456", "has the port '123456'" },
        { "https://[::1]:", "no port" },
        { "https://[::1]:99999", "has the port '99999'" },
        // Hosts that are not a DNS name, an IPv4 address or a bracketed IPv6 address.
        { "https://256.1.1.1", "not an IPv4 address" },
        { "https://1.2.3", "not an IPv4 address" },
        { "https://issuer..example", "empty label" },
        { "https://.issuer.example", "empty label" },
        { "https://issuer.example.", "empty label" },
        { "https://-issuer.example", "not a DNS name" },
        { "https://issuer_1.example", "not a DNS name" },
        { "https://issuer%2eexample", "not a DNS name" },
        { "https://issuer.example\\@evil.example", "must not hold userinfo" },
        { "https://issuer.example\\evil", "not a DNS name" },
        { "https://" + repeat("a", 64) + ".example", "over 63 characters" },
        { "https://" + repeat("a.", 127) + "ab", "at most 253" },
        { "https://[2001:db8::1", "without its ']'" },
        { "https://[192.168.1.1]", "not a bracketed IPv6 address" },
        { "https://[::1]x", "only ':PORT' may follow" },
        { "https://2001:db8::1", "'2001', which is not an IPv4 address" }, // IPv6 needs brackets
        // The path: only RFC 3986 path characters, percent signs with two hex digits.
        { "https://issuer.example/a%2", "not followed by two hexadecimal digits" },
        { "https://issuer.example/a%zz", "not followed by two hexadecimal digits" },
        { "https://issuer.example/a\"b", "has the character '\"' at character 25" },
        { "https://issuer.example/a<b>", "has the character '<'" },
        { "https://issuer.example/a\\b", "has the character '\\'" },
        // Non-ASCII and control characters, spaces.
        { "https://b\xC3\xBC"
          "cher.example",
            "must be ASCII, but byte 10" },
        { "https://issuer.example/\xE2\x80\xA8", "must be ASCII" },
        { "https://issuer.example/\xFF", "must be ASCII" },
        { "https://issuer.example\n", "control character U+000A at character 23" },
        { "https://issuer.example/\tx", "control character U+0009" },
        { std::string("https://issuer.example/\0", 24), "control character U+0000" },
        { "https://issuer.example/\x7F", "control character U+007F" },
        { "https://issuer .example", "contains a space at character 15" },
        { " https://issuer.example", "contains a space at character 1" },
    };
    for (const auto& refused : cases) {
        SCOPED_TRACE(text::dumpJson(json(refused.url)));
        const auto problem = enrollmentUrlProblem(refused.url);
        ASSERT_TRUE(problem.has_value()) << "accepted";
        EXPECT_NE(problem->find(refused.messagePart), std::string::npos)
            << "message: " << *problem << "\nexpected to contain: " << refused.messagePart;
    }
}

TEST(EnrollmentUrl, AtMost2048Characters)
{
    const std::string prefix = "https://issuer.example/";
    const std::string longest = prefix + repeat("a", 2048 - prefix.size());
    ASSERT_EQ(longest.size(), 2048U);
    EXPECT_EQ(enrollmentUrlProblem(longest), std::nullopt);
    const auto tooLong = enrollmentUrlProblem(longest + "a");
    ASSERT_TRUE(tooLong.has_value());
    EXPECT_NE(tooLong->find("is 2049 characters long; at most 2048"), std::string::npos) << *tooLong;
    // Characters, not bytes: 2049 two-byte characters are 2049, not 4098.
    const auto wide = enrollmentUrlProblem(prefix + repeat("\xC3\xA9", 2049 - prefix.size()));
    ASSERT_TRUE(wide.has_value());
    EXPECT_NE(wide->find("is 2049 characters long"), std::string::npos) << *wide;
}

TEST(EnrollmentServerCa, OneOrMoreCertificatesAtMost16KiB)
{
    const auto one = parseServerCa(authority().rootPem());
    ASSERT_TRUE(one) << one.error();
    ASSERT_EQ(one->size(), 1U);
    EXPECT_EQ(one->front().subject, trust::subjectName(authority().root.get()));
    EXPECT_NE(one->front().subject.find("CN="), std::string::npos) << one->front().subject;
    EXPECT_EQ(one->front().notAfter, trust::validityOf(authority().root.get()).notAfter);

    const auto two = parseServerCa(authority().issuingPem() + "\n" + authority().rootPem());
    ASSERT_TRUE(two) << two.error();
    EXPECT_EQ(two->size(), 2U);

    // Exactly 16 KiB passes; one byte more does not (blank lines pad it: they are allowed).
    std::string padded = authority().rootPem();
    padded += std::string(kMaxServerCaBytes - padded.size(), '\n');
    EXPECT_TRUE(parseServerCa(padded)) << parseServerCa(padded).error();
    const auto tooLarge = parseServerCa(padded + "\n");
    ASSERT_FALSE(tooLarge);
    EXPECT_NE(tooLarge.error().find("is 16385 bytes; at most 16384"), std::string::npos) << tooLarge.error();
}

TEST(EnrollmentServerCa, RefusesWhatIsNotPemCertificates)
{
    const std::string certificate = authority().rootPem();
    const std::string key = trust::privateKeyToPem(authority().rootKey.get());
    struct Refused {
        std::string label;
        std::string pem;
        std::string messagePart;
    };
    std::string corrupted = certificate;
    corrupted[certificate.size() / 2] = '*';
    std::string notDer = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const std::vector<Refused> cases = {
        { "empty", "", "holds no PEM certificate" },
        { "blank lines only", "\n\n", "holds no PEM certificate" },
        { "a private key", key, "not 'CERTIFICATE'" },
        { "a certificate then a key", certificate + key, "not 'CERTIFICATE'" },
        { "text outside a block", "issuer CA\n" + certificate, "text outside a PEM block" },
        { "truncated", certificate.substr(0, certificate.size() / 2), "has no '-----END CERTIFICATE-----'" },
        { "bad Base64", corrupted, "does not decode" },
        { "not X.509", notDer, "is not an X.509 certificate" },
        { "DER bytes", std::string("\x30\x82\x01\x00", 4), "binary data" },
    };
    for (const auto& refused : cases) {
        SCOPED_TRACE(refused.label);
        const auto parsed = parseServerCa(refused.pem);
        ASSERT_FALSE(parsed) << "accepted";
        EXPECT_EQ(parsed.error().rfind("must be one or more PEM certificates: ", 0), 0U) << parsed.error();
        EXPECT_NE(parsed.error().find(refused.messagePart), std::string::npos)
            << "message: " << parsed.error() << "\nexpected to contain: " << refused.messagePart;
    }
}

TEST(ManifestEnrollment, ParsesIntoTheModelWithSummaries)
{
    const auto result = parseManifest(manifestWith(validEnrollment()).dump());
    ASSERT_TRUE(result.has_value()) << result.error().message;
    ASSERT_TRUE(result->enrollment.has_value());
    EXPECT_EQ(result->enrollment->url, "https://issuer.example:8443");
    EXPECT_EQ(result->enrollment->serverCa, authority().rootPem());
    ASSERT_EQ(result->enrollment->serverCaCertificates.size(), 1U);
    EXPECT_EQ(
        result->enrollment->serverCaCertificates[0].subject, trust::subjectName(authority().root.get()));
    EXPECT_TRUE(result->unknownKeys.empty());
    EXPECT_EQ(toJson(*result), manifestWith(validEnrollment()));
}

TEST(ManifestEnrollment, ViolationsAreManifestInvalidAtTheField)
{
    json document = manifestWith(validEnrollment());
    document["Enrollment"]["Url"] = "http://issuer.example";
    expectManifestInvalidAt(document, "Enrollment.Url", "must use https");
    document["Enrollment"]["Url"] = 8443;
    expectManifestInvalidAt(document, "Enrollment.Url", "must be a string, not a number");
    document["Enrollment"].erase("Url");
    expectManifestInvalidAt(document, "Enrollment.Url", "is required");
    document["Enrollment"]["Url"] = nullptr;
    expectManifestInvalidAt(document, "Enrollment.Url", "is required");

    document = manifestWith(validEnrollment());
    document["Enrollment"]["ServerCa"] = "not a certificate";
    expectManifestInvalidAt(document, "Enrollment.ServerCa", "must be one or more PEM certificates");
    document["Enrollment"]["ServerCa"] = json::array({ authority().rootPem() });
    expectManifestInvalidAt(document, "Enrollment.ServerCa", "must be a string, not a list");
    document["Enrollment"].erase("ServerCa");
    expectManifestInvalidAt(document, "Enrollment.ServerCa", "is required");

    expectManifestInvalidAt(
        manifestWith("https://issuer.example"), "Enrollment", "must be an object, not a string");
    expectManifestInvalidAt(manifestWith(json::array()), "Enrollment", "must be an object, not a list");

    // Both wrong: the first in the member order of section 10 (Url, then ServerCa) decides.
    document = manifestWith({ { "Url", "https://issuer.example?x" }, { "ServerCa", "" } });
    expectManifestInvalidAt(document, "Enrollment.Url", "must not have a query");
}

TEST(ManifestEnrollment, NullIsAbsentAndUnknownMembersAreIgnoredAsElsewhere)
{
    const auto absent = parseManifest(manifestWith(nullptr).dump());
    ASSERT_TRUE(absent.has_value()) << absent.error().message;
    EXPECT_FALSE(absent->enrollment.has_value());

    json enrollment = validEnrollment();
    enrollment["Protocol"] = "EST";
    enrollment["Retry"] = json { { "Seconds", 60 } };
    const auto result = parseManifest(manifestWith(enrollment).dump());
    ASSERT_TRUE(result.has_value()) << result.error().message;
    ASSERT_TRUE(result->enrollment.has_value());
    EXPECT_EQ(result->unknownKeys, (std::vector<std::string> { "Enrollment.Protocol", "Enrollment.Retry" }));
    // The model keeps only what it knows.
    EXPECT_EQ(toJson(*result)["Enrollment"], validEnrollment());
}

TEST(ManifestEnrollment, AManifestWithoutTheMemberReEncodesToTheSameBytes)
{
    json document = manifestWith(nullptr);
    document.erase("Enrollment");
    document["NetworkingConfiguration"] = { { "Ethernet0", { { "ConnectionType", "DHCP" } } } };
    document["CreatedAt"] = "2026-11-26T02:30:00Z";
    const std::string bytes = text::dumpJson(document, 2) + "\n"; // as the issuer writes it
    const auto parsed = parseManifest(bytes);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_FALSE(parsed->enrollment.has_value());
    EXPECT_FALSE(toJson(*parsed).contains("Enrollment"));
    EXPECT_EQ(text::dumpJson(toJson(*parsed), 2) + "\n", bytes);

    // And with the member, re-encoding is stable too.
    const std::string withEnrollment = text::dumpJson(manifestWith(validEnrollment()), 2) + "\n";
    const auto reparsed = parseManifest(withEnrollment);
    ASSERT_TRUE(reparsed.has_value()) << reparsed.error().message;
    EXPECT_EQ(text::dumpJson(toJson(*reparsed), 2) + "\n", withEnrollment);
}

TEST(ManifestEnrollment, MakeEnrollmentJudgesFlagsByTheSameRules)
{
    const auto made = makeEnrollment("https://issuer.example:8443", authority().rootPem());
    ASSERT_TRUE(made) << made.error().message;
    EXPECT_EQ(made->serverCaCertificates.size(), 1U);
    EXPECT_EQ(toJson(*made), validEnrollment());

    const auto badUrl = makeEnrollment("https://issuer.example#x", authority().rootPem());
    ASSERT_FALSE(badUrl);
    EXPECT_EQ(badUrl.error().path, "Enrollment.Url");
    EXPECT_NE(badUrl.error().message.find("fragment"), std::string::npos);

    const auto badCa = makeEnrollment("https://issuer.example", "");
    ASSERT_FALSE(badCa);
    EXPECT_EQ(badCa.error().path, "Enrollment.ServerCa");
}

} // namespace
} // namespace omni::manifest
