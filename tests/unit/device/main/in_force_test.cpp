// A reload that fails half-way (DESIGN.md section 7, transactional reload):
// load configuration A; reload with B, whose anchors and state are built but
// whose udev monitor cannot be opened; then handle a stick. The agent must
// still be A's, judging with A's anchors and writing A's state, and nothing
// of B (released when the reload failed) may be touched: run under ASan.
#include <map>

#include <gtest/gtest.h>

#include "daemon/core/time/time.hpp"
#include "daemon/device/main/in_force.hpp"
#include "tests/support/archive_factory.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/device/fake_network.hpp"

namespace omni {
namespace {

using testing::ArchiveFactory;
using testing::ArchiveRecipe;
using testing::FakeNetwork;
using testing::TemporaryDirectory;
using testing::TestAuthority;

constexpr time::UnixTime kIssuedAt = 1800000000;

class MemoryStick final : public agent::ArchiveSource {
public:
    std::map<std::string, std::string> files;
    std::string describe() const override { return "memory stick"; }
    Result<std::vector<verify::DirectoryEntry>> listRoot() override
    {
        std::vector<verify::DirectoryEntry> entries;
        for (const auto& [name, content] : files)
            entries.push_back({ name, true, content.size() });
        return entries;
    }
    Result<std::string> readFile(const std::string& name) override { return files.at(name); }
    Result<void> writeReceipt(const std::vector<agent::ReceiptFile>& receipt) override
    {
        for (const auto& file : receipt)
            files[file.name] = file.content;
        return {};
    }
    Result<void> renameArchive(const std::string&, const std::string&) override { return {}; }
};

class Reload : public ::testing::Test {
protected:
    TestAuthority authority = TestAuthority::make(kIssuedAt);
    ArchiveFactory factory { authority };
    TemporaryDirectory directory;
    FakeNetwork network;
    std::unique_ptr<daemon::InForce> inForce;
    MemoryStick stick;

    // A configuration of its own directory; with its root.pem installed or not.
    config::Config configuration(const std::string& name, bool anchorInstalled)
    {
        config::Config configuration;
        const std::filesystem::path base = directory / name;
        std::filesystem::create_directories(base / "trust");
        configuration.stateDirectory = base / "state";
        configuration.runtimeDirectory = base / "run";
        configuration.trust.anchors = { base / "trust/root.pem" };
        if (anchorInstalled)
            testing::writeFile((base / "trust/root.pem").string(), authority.rootPem());
        // An LED that is not there: a warning, not a failure.
        configuration.led.sysfsRoot = base / "leds";
        configuration.led.name = "status";
        return configuration;
    }

    std::unique_ptr<daemon::InForce> build(config::Config configuration)
    {
        auto trust = std::make_unique<agent::TrustStore>(configuration.trust.anchors);
        trust->refresh();
        return daemon::buildInForce(std::move(configuration), std::move(trust), network, kIssuedAt - 86400,
            [] { return kIssuedAt + 10; });
    }

    void putArchive(const std::string& name)
    {
        ArchiveRecipe recipe;
        recipe.name = name;
        recipe.issuedAt = kIssuedAt;
        stick.files["certificates-omni_" + name + ".zip"] = factory.make(recipe);
    }

    static Result<void> monitorFails(const daemon::InForce&)
    {
        return fail(ReasonCode::InternalError, Check::None, "cannot open the udev monitor");
    }
};

TEST_F(Reload, AReloadWhoseLaterStepFailsLeavesTheAgentOfTheRunningConfiguration)
{
    ASSERT_TRUE(daemon::replaceInForce(inForce, build(configuration("a", true)), nullptr));
    const auto* agentA = inForce->agent.get();
    const auto* stateA = inForce->state.get();
    const auto* trustA = inForce->trust.get();

    // B: no anchor installed, another state directory; its monitor fails.
    auto reloaded = daemon::replaceInForce(inForce, build(configuration("b", false)), &Reload::monitorFails);
    ASSERT_FALSE(reloaded);
    EXPECT_EQ(reloaded.error().message, "cannot open the udev monitor");
    EXPECT_EQ(inForce->agent.get(), agentA);
    EXPECT_EQ(inForce->state.get(), stateA);
    EXPECT_EQ(inForce->trust.get(), trustA);
    EXPECT_EQ(inForce->configuration.stateDirectory.string(), directory / "a/state");

    // A stick after the failed reload: A's anchors accept it (B's would give
    // CERT_UNTRUSTED), A's state records it, B's directory stays empty.
    putArchive("device-1");
    const auto report = inForce->agent->provisionFromSource(stick);
    EXPECT_EQ(report.verdict, agent::AttemptVerdict::Succeeded)
        << (report.error ? report.error->message : std::string());
    EXPECT_EQ(network.applied, 1);
    EXPECT_TRUE(std::filesystem::exists(directory / "a/state/status.json"));
    EXPECT_FALSE(std::filesystem::exists(directory / "b/state"));
}

TEST_F(Reload, AReloadThatSucceedsPutsEveryObjectOfTheNewConfigurationInForce)
{
    ASSERT_TRUE(daemon::replaceInForce(inForce, build(configuration("a", true)), nullptr));
    ASSERT_TRUE(daemon::replaceInForce(inForce, build(configuration("b", false)),
        [](const daemon::InForce&) -> Result<void> { return {}; }));
    EXPECT_EQ(inForce->configuration.stateDirectory.string(), directory / "b/state");

    putArchive("device-1");
    const auto report = inForce->agent->provisionFromSource(stick);
    ASSERT_TRUE(report.error);
    EXPECT_EQ(report.error->reason, ReasonCode::CertUntrusted);
    EXPECT_TRUE(std::filesystem::exists(directory / "b/state/status.json"));
    EXPECT_FALSE(std::filesystem::exists(directory / "a/state/status.json"));
}

TEST_F(Reload, AnAnchorInstalledLaterCountsForTheAgentInForce)
{
    ASSERT_TRUE(daemon::replaceInForce(inForce, build(configuration("a", false)), nullptr));
    putArchive("device-1");
    EXPECT_EQ(inForce->agent->provisionFromSource(stick).error->reason, ReasonCode::CertUntrusted);
    testing::writeFile(directory / "a/trust/root.pem", authority.rootPem());
    ASSERT_TRUE(inForce->trust->refresh());
    EXPECT_EQ(inForce->agent->provisionFromSource(stick).verdict, agent::AttemptVerdict::Succeeded);
}

} // namespace
} // namespace omni
