// The "several archives on one stick" rule of DESIGN.md section 3.
#include <map>

#include <gtest/gtest.h>

#include "daemon/core/digest/digest.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/verify/select_archive.hpp"
#include "tests/support/archive_factory.hpp"

namespace omni {
namespace {

using testing::ArchiveFactory;
using testing::ArchiveRecipe;
using testing::TestAuthority;

constexpr time::UnixTime kIssuedAt = 1800000000;

class SelectArchive : public ::testing::Test {
protected:
    TestAuthority authority = TestAuthority::make(kIssuedAt);
    trust::TrustAnchors anchors = authority.anchors();
    ArchiveFactory factory { authority };
    std::map<std::string, std::string> stick; // file name -> bytes
    std::vector<verify::DirectoryEntry> extraEntries;
    int reads = 0;

    void put(const std::string& name, time::UnixTime issuedAt = kIssuedAt)
    {
        ArchiveRecipe recipe;
        recipe.name = name;
        recipe.deviceId = "device-" + name;
        recipe.issuedAt = issuedAt;
        stick["certificates-omni_" + name + ".zip"] = factory.make(recipe);
    }

    verify::Selection select(std::optional<std::string> expectedName = std::nullopt,
        std::function<bool(const std::string&)> applied = {})
    {
        verify::VerifyPolicy policy;
        policy.anchors = &anchors;
        policy.now = kIssuedAt + 10;
        policy.buildEpoch = kIssuedAt - 86400;
        policy.expectedName = std::move(expectedName);
        policy.alreadyApplied = std::move(applied);
        std::vector<verify::DirectoryEntry> entries = extraEntries;
        for (const auto& [name, bytes] : stick)
            entries.push_back({ name, true, bytes.size() });
        return verify::selectArchive(
            entries,
            [this](const std::string& name) -> Result<std::string> {
                ++reads;
                return stick.at(name);
            },
            policy);
    }

    static std::string reason(const verify::Selection& selection)
    {
        return selection.decisive.result ? "ACCEPT"
                                         : std::string(toString(selection.decisive.result.error().reason));
    }
};

TEST_F(SelectArchive, NothingOnTheStickIsNotFound)
{
    extraEntries.push_back({ "notes.txt", true, 10 });
    EXPECT_EQ(reason(select()), "ARCHIVE_NOT_FOUND");
}

TEST_F(SelectArchive, LinksAndFoldersDoNotCountAndAreNamed)
{
    extraEntries.push_back({ "certificates-omni_cam-01.zip", false, 0 });
    const auto selection = select();
    EXPECT_EQ(reason(selection), "ARCHIVE_NOT_FOUND");
    EXPECT_NE(
        selection.decisive.result.error().message.find("certificates-omni_cam-01.zip"), std::string::npos);
}

TEST_F(SelectArchive, OneValidAmongBrokenOnesIsUsed)
{
    put("cam-01");
    stick["certificates-omni_cam-02.zip"] = "garbage";
    stick["certificates-omni_bad name.zip"] = "garbage";
    const auto selection = select();
    ASSERT_EQ(reason(selection), "ACCEPT");
    EXPECT_EQ(selection.decisive.facts.fileName, "certificates-omni_cam-01.zip");
    EXPECT_EQ(selection.setAside.size(), 2U);
}

TEST_F(SelectArchive, TwoValidAreAmbiguousAndNamed)
{
    put("cam-01");
    put("cam-02");
    const auto selection = select();
    ASSERT_EQ(reason(selection), "ARCHIVE_AMBIGUOUS");
    const auto& message = selection.decisive.result.error().message;
    EXPECT_NE(message.find("certificates-omni_cam-01.zip"), std::string::npos) << message;
    EXPECT_NE(message.find("certificates-omni_cam-02.zip"), std::string::npos) << message;
}

TEST_F(SelectArchive, ExpectedNameMakesOnlyThatFileACandidate)
{
    put("cam-01");
    put("cam-02");
    const auto selection = select("cam-02");
    ASSERT_EQ(reason(selection), "ACCEPT");
    EXPECT_EQ(selection.decisive.facts.fileName, "certificates-omni_cam-02.zip");
    EXPECT_EQ(reads, 1); // the other archive is never read
    EXPECT_EQ(reason(select("cam-03")), "ARCHIVE_NOT_FOUND");
}

TEST_F(SelectArchive, NoSurvivorGivesTheReasonOfTheFurthestCandidate)
{
    put("cam-01", kIssuedAt - 3600); // CERT_EXPIRED (17)
    stick["certificates-omni_cam-02.zip"] = "junk"; // ARCHIVE_CORRUPT (6)
    EXPECT_EQ(reason(select()), "CERT_EXPIRED");
}

TEST_F(SelectArchive, TieGoesToTheFirstNameInByteOrder)
{
    stick["certificates-omni_b.zip"] = "junk";
    stick["certificates-omni_a.zip"] = "";
    const auto selection = select();
    EXPECT_EQ(reason(selection), "ARCHIVE_CORRUPT");
    EXPECT_EQ(selection.decisive.facts.fileName, "certificates-omni_a.zip");
}

TEST_F(SelectArchive, AnAlreadyAppliedArchiveIsSetAsideSoANewOneWins)
{
    put("cam-01");
    put("cam-02");
    const std::string oldHash = digest::toHex(digest::sha256(stick["certificates-omni_cam-01.zip"]));
    const auto selection = select(std::nullopt, [&](const std::string& sha) { return sha == oldHash; });
    ASSERT_EQ(reason(selection), "ACCEPT");
    EXPECT_EQ(selection.decisive.facts.fileName, "certificates-omni_cam-02.zip");
    // Only the old one: ALREADY_APPLIED decides.
    stick.erase("certificates-omni_cam-02.zip");
    EXPECT_EQ(reason(select(std::nullopt, [&](const std::string& sha) { return sha == oldHash; })),
        "ALREADY_APPLIED");
}

TEST_F(SelectArchive, OversizedFilesAreJudgedWithoutReading)
{
    extraEntries.push_back({ "certificates-omni_big.zip", true, 5 * 1024 * 1024 });
    EXPECT_EQ(reason(select()), "ARCHIVE_TOO_LARGE");
    EXPECT_EQ(reads, 0);
}

// DESIGN.md section 3: more than 64 candidate files are ARCHIVE_AMBIGUOUS
// without reading any of them; 64 are still judged one by one.
TEST_F(SelectArchive, SixtyFourCandidatesAreJudged)
{
    put("cam-00");
    for (int i = 1; i < 64; ++i)
        stick["certificates-omni_broken-" + std::to_string(i) + ".zip"] = "garbage";
    const auto selection = select();
    ASSERT_EQ(reason(selection), "ACCEPT");
    EXPECT_EQ(selection.decisive.facts.fileName, "certificates-omni_cam-00.zip");
    EXPECT_EQ(selection.candidates.size(), 64U);
    EXPECT_EQ(reads, 64);
}

TEST_F(SelectArchive, SixtyFiveCandidatesAreAmbiguousWithoutReadingAny)
{
    put("cam-00");
    for (int i = 1; i < 65; ++i)
        stick["certificates-omni_broken-" + std::to_string(i) + ".zip"] = "garbage";
    // Links and folders are not candidates, so they do not count.
    extraEntries.push_back({ "certificates-omni_link.zip", false, 0 });
    const auto selection = select();
    ASSERT_EQ(reason(selection), "ARCHIVE_AMBIGUOUS");
    EXPECT_EQ(reads, 0);
    const auto& message = selection.decisive.result.error().message;
    EXPECT_NE(message.find("65 candidate archives"), std::string::npos) << message;
    EXPECT_NE(message.find("device.expected_name"), std::string::npos) << message;
    EXPECT_NE(message.find("carry fewer archives"), std::string::npos) << message;
}

TEST_F(SelectArchive, WithAnExpectedNameTheCapNeverApplies)
{
    put("cam-00");
    for (int i = 1; i < 100; ++i)
        stick["certificates-omni_broken-" + std::to_string(i) + ".zip"] = "garbage";
    const auto selection = select("cam-00");
    ASSERT_EQ(reason(selection), "ACCEPT");
    EXPECT_EQ(reads, 1);
}

} // namespace
} // namespace omni
