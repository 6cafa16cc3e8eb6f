// The daemon's trust anchors (DESIGN.md section 7, "no configuration at
// all"): none installed is a state, not an error; files are loaded again
// only when they appeared, changed or went away.
#include <filesystem>

#include <gtest/gtest.h>

#include "daemon/device/agent/trust_store.hpp"
#include "tests/support/archive_factory.hpp"
#include "tests/support/process.hpp"

namespace omni {
namespace {

using testing::TemporaryDirectory;
using testing::TestAuthority;

class TrustStoreTest : public ::testing::Test {
protected:
    TemporaryDirectory directory;
    std::string root = directory / "trust/root.pem";
    agent::TrustStore store { { root } };
    TestAuthority authority = TestAuthority::make(1800000000);

    void install(const std::string& content)
    {
        std::filesystem::create_directories(directory / "trust");
        // A new file each time (rename), as an installer writes it.
        testing::writeFile(root + ".new", content);
        std::filesystem::rename(root + ".new", root);
    }
};

TEST_F(TrustStoreTest, NoAnchorInstalledSaysWhereRootPemGoes)
{
    EXPECT_TRUE(store.refresh());
    EXPECT_EQ(store.anchors(), nullptr);
    EXPECT_EQ(store.problem(),
        "no trust anchor installed: install the root certificate of your provisioning CA at " + root
            + " (trust.anchors)");
    EXPECT_EQ(store.view().problem, store.problem());
    EXPECT_FALSE(store.refresh()); // nothing changed: nothing loaded
}

TEST_F(TrustStoreTest, AnAnchorInstalledLaterIsLoadedAtTheNextLook)
{
    ASSERT_TRUE(store.refresh());
    ASSERT_EQ(store.anchors(), nullptr);
    install(authority.rootPem());
    EXPECT_TRUE(store.refresh());
    ASSERT_NE(store.anchors(), nullptr);
    EXPECT_EQ(store.anchors()->certificates().size(), 1U);
    EXPECT_TRUE(store.problem().empty());
    EXPECT_FALSE(store.refresh());
}

TEST_F(TrustStoreTest, AnUnparsableAnchorNamesTheFileAndWhatIsWrong)
{
    install("not a certificate\n");
    EXPECT_TRUE(store.refresh());
    EXPECT_EQ(store.anchors(), nullptr);
    EXPECT_NE(store.problem().find("trust anchor " + root + ": line 1: text outside a PEM block"),
        std::string::npos)
        << store.problem();
    EXPECT_NE(store.problem().find("root.pem from 'omni-provision ca init'"), std::string::npos)
        << store.problem();
}

TEST_F(TrustStoreTest, ChangedOrRemovedAnchorsAreLoadedAgain)
{
    install(authority.rootPem());
    ASSERT_TRUE(store.refresh());
    ASSERT_NE(store.anchors(), nullptr);

    install("garbage\n");
    EXPECT_TRUE(store.refresh());
    EXPECT_EQ(store.anchors(), nullptr);

    const TestAuthority other = TestAuthority::make(1800000000, "Other");
    install(other.rootPem());
    EXPECT_TRUE(store.refresh());
    ASSERT_NE(store.anchors(), nullptr);

    std::filesystem::remove(root);
    EXPECT_TRUE(store.refresh());
    EXPECT_EQ(store.anchors(), nullptr);
    EXPECT_NE(store.problem().find("no trust anchor installed"), std::string::npos) << store.problem();
}

TEST(TrustStore, NoAnchorConfiguredIsAProblemToo)
{
    agent::TrustStore store { {} };
    store.refresh();
    EXPECT_EQ(store.anchors(), nullptr);
    EXPECT_NE(store.problem().find("trust.anchors"), std::string::npos) << store.problem();
}

} // namespace
} // namespace omni
