// The whole acceptance pipeline (DESIGN.md section 3) on archives made by the
// factory: every reason code `inspect` can reach, each at least two ways, and
// the order of the checks.
#include <gtest/gtest.h>

#include "daemon/core/text/json_text.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/verify/verdict_json.hpp"
#include "daemon/core/verify/verify_archive.hpp"
#include "tests/support/archive_factory.hpp"
#include "tests/support/raw_zip_builder.hpp"

namespace omni {
namespace {

using testing::ArchiveFactory;
using testing::ArchiveRecipe;
using testing::bytesOf;
using testing::TestAuthority;

constexpr time::UnixTime kIssuedAt = 1800000000; // 2027-01-15T08:00:00Z
constexpr time::UnixTime kBuildEpoch = 1790000000;

class VerifyArchive : public ::testing::Test {
protected:
    TestAuthority authority = TestAuthority::make(kIssuedAt);
    trust::TrustAnchors anchors = authority.anchors();
    ArchiveFactory factory { authority };

    ArchiveRecipe recipe() const
    {
        ArchiveRecipe r;
        r.issuedAt = kIssuedAt;
        r.networking = { { "Ethernet0",
            { { "ConnectionType", "STATIC_IP" },
                { "StaticIpConnectionInfo",
                    { { "IpAddress", "192.168.1.10" }, { "Mask", "255.255.255.0" },
                        { "DefaultGateway", "192.168.1.1" }, { "Dns", { "192.168.1.1" } } } } } } };
        return r;
    }

    verify::VerifyPolicy policy(time::UnixTime now = kIssuedAt + 10) const
    {
        verify::VerifyPolicy p;
        p.anchors = &anchors;
        p.now = now;
        p.buildEpoch = kBuildEpoch;
        return p;
    }

    verify::Outcome check(const std::string& bytes, const verify::VerifyPolicy& p,
        const std::string& fileName = "certificates-omni_cam-01.zip") const
    {
        return verify::verifyArchive(fileName, bytesOf(bytes), p);
    }

    // The reason code, or "ACCEPT".
    std::string verdict(const verify::Outcome& outcome) const
    {
        return outcome.result ? "ACCEPT" : std::string(toString(outcome.result.error().reason));
    }
    std::string verdict(const ArchiveRecipe& r, time::UnixTime now = kIssuedAt + 10) const
    {
        return verdict(check(factory.make(r), policy(now)));
    }
};

TEST_F(VerifyArchive, AcceptsAValidArchiveAndReportsItsFacts)
{
    const auto outcome = check(factory.make(recipe()), policy());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message;
    EXPECT_EQ(outcome.result->manifest.request.name, "cam-01");
    EXPECT_EQ(outcome.result->validity.notBefore, kIssuedAt);
    EXPECT_EQ(outcome.result->validity.notAfter, kIssuedAt + 300);
    EXPECT_EQ(outcome.result->sha256.size(), 64U);
    ASSERT_TRUE(outcome.facts.manifest);
    EXPECT_EQ(outcome.facts.manifest->deviceId, "device-3xk2m4q7wzt5bh6ry1pnc9d8sa");
}

TEST_F(VerifyArchive, FileNamePrefixAndSuffixAreCaseInsensitiveButTheNameIsExact)
{
    const auto bytes = factory.make(recipe());
    EXPECT_EQ(verdict(check(bytes, policy(), "CERTIFICATES-OMNI_cam-01.ZIP")), "ACCEPT");
    EXPECT_EQ(verdict(check(bytes, policy(), "Certificates-Omni_cam-01.Zip")), "ACCEPT");
    EXPECT_EQ(verdict(check(bytes, policy(), "certificates-omni_CAM-01.zip")), "CERT_NAME_MISMATCH");
}

TEST_F(VerifyArchive, ArchiveNameInvalid)
{
    const auto bytes = factory.make(recipe());
    EXPECT_EQ(verdict(check(bytes, policy(), "certificates-omni_cam 01.zip")), "ARCHIVE_NAME_INVALID");
    EXPECT_EQ(verdict(check(bytes, policy(), "certificates-omni_.zip")), "ARCHIVE_NAME_INVALID");
    EXPECT_EQ(verdict(check(bytes, policy(), "certificates-omni_cam.01.zip")), "ARCHIVE_NAME_INVALID");
    EXPECT_EQ(verdict(check(bytes, policy(), "certificates-omni_" + std::string(256, 'a') + ".zip")),
        "ARCHIVE_NAME_INVALID");
    EXPECT_EQ(verdict(check(bytes, policy(), "cam-01.zip")), "ARCHIVE_NAME_INVALID");
}

TEST_F(VerifyArchive, ArchiveTooLarge)
{
    EXPECT_EQ(verdict(check(std::string(archive::kMaxArchiveBytes + 1, 'x'), policy())), "ARCHIVE_TOO_LARGE");
    auto r = recipe();
    for (int i = 0; i < 13; ++i)
        r.extraEntries.push_back({ "extra" + std::to_string(i) + ".txt", "x" });
    EXPECT_EQ(verdict(r), "ARCHIVE_TOO_LARGE"); // 17 entries
    auto big = recipe();
    big.extraEntries.push_back({ "padding.bin", std::string(300 * 1024, 'a') });
    EXPECT_EQ(verdict(big), "ARCHIVE_TOO_LARGE"); // one entry over 256 KiB, compresses to little
    EXPECT_TRUE(verify::checkArchiveSize(archive::kMaxArchiveBytes, "x"));
    EXPECT_FALSE(verify::checkArchiveSize(archive::kMaxArchiveBytes + 1, "x"));
}

TEST_F(VerifyArchive, AlreadyAppliedIsJudgedBeforeTheContentAndUsesTheFileHash)
{
    const auto bytes = factory.make(recipe());
    auto p = policy();
    std::string seen;
    p.alreadyApplied = [&](const std::string& sha) {
        seen = sha;
        return true;
    };
    const auto outcome = check(bytes, p);
    EXPECT_EQ(verdict(outcome), "ALREADY_APPLIED");
    EXPECT_EQ(outcome.facts.sha256, seen);
    // Even an expired archive that was applied once stays ALREADY_APPLIED (check 5 before 17).
    EXPECT_EQ(verdict(check(bytes,
                  [&] {
                      auto late = policy(kIssuedAt + 3600);
                      late.alreadyApplied = [](const std::string&) { return true; };
                      return late;
                  }())),
        "ALREADY_APPLIED");
    p.alreadyApplied = [](const std::string&) { return false; };
    EXPECT_EQ(verdict(check(bytes, p)), "ACCEPT");
}

TEST_F(VerifyArchive, ArchiveCorrupt)
{
    EXPECT_EQ(verdict(check("", policy())), "ARCHIVE_CORRUPT");
    EXPECT_EQ(verdict(check("this is not a zip file at all", policy())), "ARCHIVE_CORRUPT");
    auto bytes = factory.make(recipe());
    EXPECT_EQ(verdict(check(bytes.substr(0, bytes.size() / 2), policy())), "ARCHIVE_CORRUPT");
}

TEST_F(VerifyArchive, ArchiveUnsafeEntry)
{
    // A valid archive's entries, rebuilt by hand with one hostile extra.
    const auto valid = archive::readArchive(bytesOf(factory.make(recipe())));
    ASSERT_TRUE(valid);
    auto rebuiltWith = [&](archive::testing::RawEntry extra) {
        std::vector<archive::testing::RawEntry> entries { archive::testing::storedEntry(
                                                              "manifest.json", valid->manifest),
            archive::testing::storedEntry("certificate.pem", valid->certificate),
            archive::testing::storedEntry("private_key.pem", valid->privateKey),
            archive::testing::storedEntry("chain.pem", *valid->chain), std::move(extra) };
        return archive::testing::buildZip(entries);
    };
    EXPECT_EQ(
        verdict(check(rebuiltWith(archive::testing::storedEntry("extra.txt", "x")), policy())), "ACCEPT");
    for (const char* name : { "../evil", "dir/file", "a\\b", "/etc/passwd", "./x" })
        EXPECT_EQ(verdict(check(rebuiltWith(archive::testing::storedEntry(name, "x")), policy())),
            "ARCHIVE_UNSAFE_ENTRY")
            << name;
    auto link = archive::testing::storedEntry("link", "/etc/shadow");
    link.externalAttributes = archive::testing::kUnixSymlink0777;
    EXPECT_EQ(verdict(check(rebuiltWith(link), policy())), "ARCHIVE_UNSAFE_ENTRY");
    auto duplicate = archive::testing::storedEntry("manifest.json", valid->manifest);
    EXPECT_EQ(verdict(check(rebuiltWith(duplicate), policy())), "ARCHIVE_UNSAFE_ENTRY");
}

TEST_F(VerifyArchive, ArchiveMissingEntry)
{
    for (const char* entry : { "manifest.json", "certificate.pem", "private_key.pem" }) {
        auto r = recipe();
        r.omitEntries = { entry };
        EXPECT_EQ(verdict(r), "ARCHIVE_MISSING_ENTRY") << entry;
    }
    auto noChain = recipe();
    noChain.includeChain = false; // chain.pem is optional, but then the path cannot be built
    EXPECT_EQ(verdict(noChain), "CERT_UNTRUSTED");
}

TEST_F(VerifyArchive, ManifestInvalidNamesTheField)
{
    auto notJson = recipe();
    notJson.manifestText = "{not json";
    EXPECT_EQ(verdict(notJson), "MANIFEST_INVALID");

    auto badMask = recipe();
    badMask.networking["Ethernet0"]["StaticIpConnectionInfo"]["Mask"] = "255.0.255.0";
    const auto outcome = check(factory.make(badMask), policy());
    ASSERT_EQ(verdict(outcome), "MANIFEST_INVALID");
    EXPECT_NE(
        outcome.result.error().message.find("NetworkingConfiguration.Ethernet0.StaticIpConnectionInfo.Mask"),
        std::string::npos)
        << outcome.result.error().message;

    auto version = recipe();
    version.manifestText
        = R"({"FormatVersion": "1", "Name": "cam-01", "DeviceId": "d", "Arn": "a", "IotThingName": "t"})";
    EXPECT_EQ(verdict(version), "MANIFEST_INVALID");
}

TEST_F(VerifyArchive, CertInvalid)
{
    auto garbageCertificate = recipe();
    garbageCertificate.certificatePem
        = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
    EXPECT_EQ(verdict(garbageCertificate), "CERT_INVALID");
    auto smallRsa = recipe();
    smallRsa.keyType = trust::KeyType::Rsa1024;
    EXPECT_EQ(verdict(smallRsa), "CERT_INVALID");
    auto ed25519 = recipe();
    ed25519.keyType = trust::KeyType::Ed25519;
    EXPECT_EQ(verdict(ed25519), "CERT_INVALID");
}

TEST_F(VerifyArchive, AcceptedKeyTypes)
{
    for (auto type : { trust::KeyType::EcP256, trust::KeyType::EcP384, trust::KeyType::Rsa2048 }) {
        auto r = recipe();
        r.keyType = type;
        EXPECT_EQ(verdict(r), "ACCEPT") << static_cast<int>(type);
    }
}

TEST_F(VerifyArchive, KeyMismatch)
{
    auto otherKey = recipe();
    otherKey.privateKeyPem = trust::privateKeyToPem(trust::generateKey(trust::KeyType::EcP256)->get());
    EXPECT_EQ(verdict(otherKey), "KEY_MISMATCH");
    auto otherRsaKey = recipe();
    otherRsaKey.keyType = trust::KeyType::Rsa2048;
    otherRsaKey.privateKeyPem = trust::privateKeyToPem(trust::generateKey(trust::KeyType::Rsa2048)->get());
    EXPECT_EQ(verdict(otherRsaKey), "KEY_MISMATCH");
}

TEST_F(VerifyArchive, CertUntrusted)
{
    const auto foreign = TestAuthority::make(kIssuedAt, "Foreign");
    auto foreignSigner = recipe();
    foreignSigner.signer = &foreign;
    EXPECT_EQ(verdict(foreignSigner), "CERT_UNTRUSTED");
    // The archive cannot bring its own anchor: a foreign root in chain.pem does not help.
    auto smuggledRoot = recipe();
    smuggledRoot.signer = &foreign;
    smuggledRoot.chainPem = foreign.issuingPem() + foreign.rootPem();
    EXPECT_EQ(verdict(smuggledRoot), "CERT_UNTRUSTED");
}

TEST_F(VerifyArchive, CertLifetimeTooLong)
{
    auto r = recipe();
    r.lifetime = 301;
    EXPECT_EQ(verdict(r), "CERT_LIFETIME_TOO_LONG");
    r.lifetime = 300;
    EXPECT_EQ(verdict(r), "ACCEPT");
    auto p = policy();
    p.maxLifetimeSeconds = 299;
    EXPECT_EQ(verdict(check(factory.make(r), p)), "CERT_LIFETIME_TOO_LONG");
}

TEST_F(VerifyArchive, ClockUntrustedBeforeBuildTime)
{
    const auto bytes = factory.make(recipe());
    EXPECT_EQ(verdict(check(bytes, policy(kBuildEpoch - 1))), "CLOCK_UNTRUSTED");
    EXPECT_EQ(verdict(check(bytes, policy(0))), "CLOCK_UNTRUSTED");
}

TEST_F(VerifyArchive, ValidityWindowIsClosedWithTolerance)
{
    const auto bytes = factory.make(recipe());
    EXPECT_EQ(verdict(check(bytes, policy(kIssuedAt + 300 + 30))), "ACCEPT");
    EXPECT_EQ(verdict(check(bytes, policy(kIssuedAt + 300 + 31))), "CERT_EXPIRED");
    EXPECT_EQ(verdict(check(bytes, policy(kIssuedAt + 360))), "CERT_EXPIRED");
    EXPECT_EQ(verdict(check(bytes, policy(kIssuedAt - 30))), "ACCEPT");
    EXPECT_EQ(verdict(check(bytes, policy(kIssuedAt - 31))), "CERT_NOT_YET_VALID");
    auto strict = policy(kIssuedAt + 301);
    strict.toleranceSeconds = 0;
    EXPECT_EQ(verdict(check(bytes, strict)), "CERT_EXPIRED");
    strict.now = kIssuedAt - 1;
    EXPECT_EQ(verdict(check(bytes, strict)), "CERT_NOT_YET_VALID");
}

TEST_F(VerifyArchive, ExpiredMessageTellsTheTechnicianTheTimesAndWhatToDo)
{
    const auto outcome = check(factory.make(recipe()), policy(kIssuedAt + 360));
    ASSERT_FALSE(outcome.result);
    const auto& message = outcome.result.error().message;
    EXPECT_NE(message.find(time::formatRfc3339(kIssuedAt)), std::string::npos) << message;
    EXPECT_NE(message.find(time::formatRfc3339(kIssuedAt + 300)), std::string::npos) << message;
    EXPECT_NE(message.find(time::formatRfc3339(kIssuedAt + 360)), std::string::npos) << message;
}

TEST_F(VerifyArchive, CertNameMismatch)
{
    auto wrongCommonName = recipe();
    wrongCommonName.commonName = "device-other";
    EXPECT_EQ(verdict(wrongCommonName), "CERT_NAME_MISMATCH");
    const auto bytes = factory.make(recipe());
    EXPECT_EQ(verdict(check(bytes, policy(), "certificates-omni_cam-02.zip")), "CERT_NAME_MISMATCH");
    auto expecting = policy();
    expecting.expectedName = "cam-02";
    EXPECT_EQ(verdict(check(bytes, expecting)), "CERT_NAME_MISMATCH");
    expecting.expectedName = "cam-01";
    EXPECT_EQ(verdict(check(bytes, expecting)), "ACCEPT");
}

TEST_F(VerifyArchive, ManifestDigestMismatch)
{
    auto missing = recipe();
    missing.omitDigest = true;
    EXPECT_EQ(verdict(missing), "MANIFEST_DIGEST_MISMATCH");
    auto otherBytes = recipe();
    otherBytes.digestOverManifest = factory.manifestFor(recipe()) + " ";
    EXPECT_EQ(verdict(otherBytes), "MANIFEST_DIGEST_MISMATCH");
    auto notOctetString = recipe();
    notOctetString.rawDigestExtension = std::string("\x0c\x03"
                                                    "abc",
        5); // a UTF8String
    EXPECT_EQ(verdict(notOctetString), "MANIFEST_DIGEST_MISMATCH");
}

TEST_F(VerifyArchive, EarlierChecksWinOverLaterOnes)
{
    // Expired AND wrong digest: the validity (17) decides before the digest (19).
    auto r = recipe();
    r.omitDigest = true;
    EXPECT_EQ(verdict(r, kIssuedAt + 3600), "CERT_EXPIRED");
    // Foreign signer AND expired: the chain (14) decides before time (17).
    const auto foreign = TestAuthority::make(kIssuedAt, "Foreign");
    auto both = recipe();
    both.signer = &foreign;
    EXPECT_EQ(verdict(both, kIssuedAt + 3600), "CERT_UNTRUSTED");
    // Bad manifest AND bad key: the manifest (11) decides before the certificate (12).
    auto manifestAndKey = recipe();
    manifestAndKey.manifestText = "[]";
    manifestAndKey.keyType = trust::KeyType::Rsa1024;
    EXPECT_EQ(verdict(manifestAndKey), "MANIFEST_INVALID");
}

TEST_F(VerifyArchive, ChecksCarryTheirRowOfTheTable)
{
    const auto expired = check(factory.make(recipe()), policy(kIssuedAt + 3600));
    ASSERT_FALSE(expired.result);
    EXPECT_EQ(expired.result.error().check, Check::Validity);
    const auto corrupt = check("x", policy());
    ASSERT_FALSE(corrupt.result);
    EXPECT_EQ(corrupt.result.error().check, Check::ZipDirectory);
}

// The verdict JSON of `inspect --json` and `apply --json` when the archive's
// text is hostile: valid JSON, the right reason, the text escaped.
nlohmann::json writtenVerdict(const verify::Outcome& outcome)
{
    const std::string written = text::dumpJson(verify::verdictJson(outcome, "accepted"), 2);
    auto parsed = nlohmann::json::parse(written, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << written;
    return parsed;
}

TEST_F(VerifyArchive, VerdictJsonOfAPemLabelThatIsNotUtf8IsCertInvalidAndEscaped)
{
    auto r = recipe();
    r.certificatePem = "-----BEGIN \xff\xff-----\nAAAA\n-----END \xff\xff-----\n";
    const auto verdict = writtenVerdict(check(factory.make(r), policy()));
    EXPECT_EQ(verdict["Verdict"], "REJECT");
    EXPECT_EQ(verdict["Reason"], "CERT_INVALID");
    const auto message = verdict["Message"].get<std::string>();
    EXPECT_NE(message.find("'\\xFF\\xFF'"), std::string::npos) << message;
}

TEST_F(VerifyArchive, VerdictJsonOfATagKeyWithControlsHasAnEscapedPath)
{
    auto r = recipe();
    auto manifest = nlohmann::json::parse(factory.manifestFor(r));
    manifest["Tags"] = { { "a\nMAINPID=1234\nWATCHDOG=trigger\n\x1b[2J", "x" } };
    r.manifestText = manifest.dump();
    const auto verdict = writtenVerdict(check(factory.make(r), policy()));
    EXPECT_EQ(verdict["Reason"], "MANIFEST_INVALID");
    const auto message = verdict["Message"].get<std::string>();
    EXPECT_EQ(message.rfind("Tags.a\\nMAINPID=1234\\nWATCHDOG=trigger\\n\\x1b[2J: ", 0), 0U) << message;
}

TEST_F(VerifyArchive, VerdictJsonOfAFileNameThatIsNotUtf8IsValid)
{
    const auto verdict
        = writtenVerdict(check(factory.make(recipe()), policy(), "certificates-omni_\xff\x1b.zip"));
    EXPECT_EQ(verdict["Reason"], "ARCHIVE_NAME_INVALID");
    EXPECT_EQ(verdict["Name"], "\xEF\xBF\xBD\x1b"); // the file's <Name>, as data
    const auto message = verdict["Message"].get<std::string>();
    EXPECT_NE(message.find("'certificates-omni_\\xFF\\x1b.zip'"), std::string::npos) << message;
}

} // namespace
// Section 10: the Enrollment member is judged at check 11 like the rest of the
// manifest, and the verdict JSON shows it without the PEM.
TEST_F(VerifyArchive, VerdictJsonShowsTheEnrollmentMember)
{
    auto r = recipe();
    auto manifest = nlohmann::json::parse(factory.manifestFor(r));
    manifest["Enrollment"] = { { "Url", "https://issuer.example:8443" },
        { "ServerCa", authority.issuingPem() + authority.rootPem() } };
    r.manifestText = manifest.dump();
    const auto verdict = writtenVerdict(check(factory.make(r), policy()));
    EXPECT_EQ(verdict["Verdict"], "ACCEPT") << verdict;
    EXPECT_EQ(verdict["Enrollment"]["Url"], "https://issuer.example:8443");
    const auto& certificates = verdict["Enrollment"]["ServerCaCertificates"];
    ASSERT_EQ(certificates.size(), 2U) << verdict;
    EXPECT_EQ(certificates[0]["Subject"], trust::subjectName(authority.issuing.get()));
    EXPECT_EQ(
        certificates[1]["NotAfter"], time::formatRfc3339(trust::validityOf(authority.root.get()).notAfter));
    EXPECT_EQ(verdict.dump().find("BEGIN CERTIFICATE"), std::string::npos);

    EXPECT_TRUE(writtenVerdict(check(factory.make(recipe()), policy()))["Enrollment"].is_null());

    manifest["Enrollment"]["Url"] = "https://issuer.example:8443?x";
    r.manifestText = manifest.dump();
    const auto refused = writtenVerdict(check(factory.make(r), policy()));
    EXPECT_EQ(refused["Reason"], "MANIFEST_INVALID");
    EXPECT_EQ(refused["Message"].get<std::string>().rfind("Enrollment.Url: ", 0), 0U) << refused;
}

} // namespace omni
