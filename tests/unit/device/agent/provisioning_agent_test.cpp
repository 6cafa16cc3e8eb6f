// The attempt pipeline with a fake network and an in-memory stick: status
// transitions of DESIGN.md section 5, the receipt, and the apply phase.
#include <map>

#include <gtest/gtest.h>

#include "daemon/core/text/json_text.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/device/agent/provisioning_agent.hpp"
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
    bool readsThrow = false; // a fault deep in an attempt
    std::string describe() const override { return "memory stick"; }
    Result<std::vector<verify::DirectoryEntry>> listRoot() override
    {
        std::vector<verify::DirectoryEntry> entries;
        for (const auto& [name, content] : files)
            entries.push_back({ name, true, content.size() });
        return entries;
    }
    Result<std::string> readFile(const std::string& name) override
    {
        if (readsThrow)
            throw std::runtime_error("simulated fault");
        return files.at(name);
    }
    Result<void> writeReceipt(const std::vector<agent::ReceiptFile>& receipt) override
    {
        for (const auto& file : receipt)
            files[file.name] = file.content;
        return {};
    }
    Result<void> renameArchive(const std::string& from, const std::string& to) override
    {
        files[to] = files[from];
        files.erase(from);
        return {};
    }
};

class Agent : public ::testing::Test {
protected:
    TestAuthority authority = TestAuthority::make(kIssuedAt);
    trust::TrustAnchors anchors = authority.anchors();
    ArchiveFactory factory { authority };
    TemporaryDirectory directory;
    state::DeviceState deviceState { directory / "state", [] { return kIssuedAt + 20; } };
    FakeNetwork network;
    agent::AgentSettings settings = [] {
        agent::AgentSettings s;
        s.buildEpoch = kIssuedAt - 86400;
        return s;
    }();
    agent::ProvisioningAgent agent { settings, deviceState, network, anchors, [] { return kIssuedAt + 10; } };
    MemoryStick stick;

    void put(const std::string& name, const TestAuthority* signer = nullptr)
    {
        ArchiveRecipe recipe;
        recipe.name = name;
        recipe.issuedAt = kIssuedAt;
        recipe.signer = signer;
        stick.files["certificates-omni_" + name + ".zip"] = factory.make(recipe);
    }
};

TEST_F(Agent, SuccessRecordsStateCredentialsAndAReceipt)
{
    put("cam-01");
    const auto report = agent.provisionFromSource(stick);
    ASSERT_EQ(report.verdict, agent::AttemptVerdict::Succeeded)
        << (report.error ? report.error->message : "");
    EXPECT_EQ(report.status.status, state::DeviceStatus::Succeeded);
    EXPECT_EQ(network.applied, 1);
    EXPECT_TRUE(std::filesystem::exists(directory / "state/credentials/private_key.pem"));
    ASSERT_TRUE(stick.files.count("omni-provision-report_cam-01.txt"));
    const auto& text = stick.files["omni-provision-report_cam-01.txt"];
    EXPECT_NE(text.find("SUCCESS"), std::string::npos) << text;
    EXPECT_NE(text.find("192.168.1.10/24"), std::string::npos) << text;
    EXPECT_NE(text.find("answered ARP"), std::string::npos) << text;
    const auto json = nlohmann::json::parse(stick.files["omni-provision-report_cam-01.json"]);
    EXPECT_EQ(json["Result"], "SUCCEEDED");
    EXPECT_EQ(json["Ethernet"][0]["Addresses"][0], "192.168.1.10/24");
}

TEST_F(Agent, ReplugOfTheSameStickIsAlreadyAppliedAndChangesNothing)
{
    put("cam-01");
    ASSERT_EQ(agent.provisionFromSource(stick).verdict, agent::AttemptVerdict::Succeeded);
    const auto before = testing::readFile(directory / "state/status.json");
    const auto report = agent.provisionFromSource(stick);
    EXPECT_EQ(report.verdict, agent::AttemptVerdict::AlreadyApplied);
    EXPECT_EQ(report.status.status, state::DeviceStatus::Succeeded);
    EXPECT_EQ(network.applied, 1);
    EXPECT_EQ(testing::readFile(directory / "state/status.json"), before);
}

TEST_F(Agent, AFailureOnAProvisionedDeviceKeepsItSucceeded)
{
    put("cam-01");
    ASSERT_EQ(agent.provisionFromSource(stick).verdict, agent::AttemptVerdict::Succeeded);
    stick.files.clear();
    const auto foreign = TestAuthority::make(kIssuedAt, "Foreign");
    put("cam-02", &foreign);
    const auto report = agent.provisionFromSource(stick);
    EXPECT_EQ(report.verdict, agent::AttemptVerdict::Rejected);
    ASSERT_TRUE(report.error);
    EXPECT_EQ(report.error->reason, ReasonCode::CertUntrusted);
    EXPECT_EQ(report.status.status, state::DeviceStatus::Succeeded);
    ASSERT_TRUE(report.status.lastAttempt);
    EXPECT_EQ(report.status.lastAttempt->reason, ReasonCode::CertUntrusted);
    const auto& receipt = stick.files["omni-provision-report_cam-02.txt"];
    EXPECT_NE(receipt.find("FAILED: CERT_UNTRUSTED"), std::string::npos) << receipt;
    EXPECT_NE(receipt.find("What to do:"), std::string::npos) << receipt;
}

TEST_F(Agent, AFailureOnAFreshDeviceIsFailed)
{
    stick.files["certificates-omni_cam-01.zip"] = "not a zip";
    const auto report = agent.provisionFromSource(stick);
    EXPECT_EQ(report.verdict, agent::AttemptVerdict::Rejected);
    EXPECT_EQ(report.error->reason, ReasonCode::ArchiveCorrupt);
    EXPECT_EQ(report.status.status, state::DeviceStatus::Failed);
    EXPECT_TRUE(report.heldArchive);
    EXPECT_TRUE(report.receiptWritten);
    EXPECT_TRUE(stick.files.count("omni-provision-report_cam-01.txt"));
}

// DESIGN.md section 5: a stranger's stick (no certificates-omni_*.zip) never
// receives the device's addresses; the attempt is still recorded.
TEST_F(Agent, AStickWithoutAnyArchiveGetsNoReceipt)
{
    stick.files["holiday.jpg"] = "photo";
    stick.files["certificates-omni_cam-01.zip.txt"] = "not an archive name";
    const auto before = stick.files;
    const auto report = agent.provisionFromSource(stick);
    EXPECT_EQ(report.verdict, agent::AttemptVerdict::Rejected);
    ASSERT_TRUE(report.error);
    EXPECT_EQ(report.error->reason, ReasonCode::ArchiveNotFound);
    EXPECT_EQ(report.status.status, state::DeviceStatus::Failed);
    EXPECT_FALSE(report.heldArchive);
    EXPECT_FALSE(report.receiptWritten);
    EXPECT_FALSE(report.receiptError);
    EXPECT_EQ(stick.files, before);
}

TEST_F(Agent, AnEmptyStickGetsNoReceipt)
{
    const auto report = agent.provisionFromSource(stick);
    EXPECT_EQ(report.error->reason, ReasonCode::ArchiveNotFound);
    EXPECT_FALSE(report.receiptWritten);
    EXPECT_TRUE(stick.files.empty());
}

// Over the cap of candidates the stick is still a technician's: it gets the
// ARCHIVE_AMBIGUOUS receipt, and no archive was read.
TEST_F(Agent, TooManyCandidatesAreAmbiguousWithAReceipt)
{
    for (int i = 0; i < 65; ++i)
        stick.files["certificates-omni_cam-" + std::to_string(i) + ".zip"] = "unread";
    const auto report = agent.provisionFromSource(stick);
    ASSERT_TRUE(report.error);
    EXPECT_EQ(report.error->reason, ReasonCode::ArchiveAmbiguous);
    EXPECT_TRUE(report.receiptWritten);
    EXPECT_TRUE(stick.files.count("omni-provision-report_unknown.txt"));
}

// The anchors are asked for at each attempt: none at first (a fresh
// install), then installed, without a new agent.
TEST_F(Agent, AnchorsAreAskedForAtEachAttempt)
{
    agent::AnchorView view { nullptr, "no trust anchor installed: install it at /x/root.pem" };
    agent::ProvisioningAgent lateAgent { settings, deviceState, network, [&view] { return view; },
        [] { return kIssuedAt + 10; } };
    put("cam-01");
    const auto refused = lateAgent.provisionFromSource(stick);
    ASSERT_TRUE(refused.error);
    EXPECT_EQ(refused.error->reason, ReasonCode::CertUntrusted);
    EXPECT_NE(refused.error->message.find("/x/root.pem"), std::string::npos) << refused.error->message;

    view = { &anchors, {} };
    const auto accepted = lateAgent.provisionFromSource(stick);
    EXPECT_EQ(accepted.verdict, agent::AttemptVerdict::Succeeded)
        << (accepted.error ? accepted.error->message : "");
}

TEST_F(Agent, ANetworkFailureIsReportedAndNothingIsPersisted)
{
    put("cam-01");
    network.failWith
        = Error { ReasonCode::NetworkApplyFailed, Check::NetworkApply, "adding the route: refused", {} };
    const auto report = agent.provisionFromSource(stick);
    EXPECT_EQ(report.verdict, agent::AttemptVerdict::ApplyFailed);
    EXPECT_EQ(report.error->reason, ReasonCode::NetworkApplyFailed);
    EXPECT_EQ(report.status.status, state::DeviceStatus::Failed);
    EXPECT_FALSE(std::filesystem::exists(directory / "state/credentials/private_key.pem"));
    // The archive was not applied, so the same stick may be tried again.
    network.failWith.reset();
    EXPECT_EQ(agent.provisionFromSource(stick).verdict, agent::AttemptVerdict::Succeeded);
}

TEST_F(Agent, RenameAfterSuccessWhenConfigured)
{
    auto renaming = settings;
    renaming.afterSuccess = config::AfterSuccess::Rename;
    agent.setSettings(renaming);
    put("cam-01");
    ASSERT_EQ(agent.provisionFromSource(stick).verdict, agent::AttemptVerdict::Succeeded);
    EXPECT_TRUE(stick.files.count("certificates-omni_cam-01.zip.applied"));
    EXPECT_FALSE(stick.files.count("certificates-omni_cam-01.zip"));
}

TEST_F(Agent, ReapplyAtStartUsesTheStoredConfiguration)
{
    EXPECT_EQ(agent.reapplyPersisted().value(), std::nullopt); // nothing stored yet
    EXPECT_EQ(network.applied, 0);
    put("cam-01");
    ASSERT_EQ(agent.provisionFromSource(stick).verdict, agent::AttemptVerdict::Succeeded);
    auto reapplied = agent.reapplyPersisted();
    ASSERT_TRUE(reapplied) << reapplied.error().message;
    EXPECT_TRUE(reapplied->has_value());
    EXPECT_EQ(network.applied, 2);
}

const std::string kHostileTagKey = "a\nMAINPID=1234\nWATCHDOG=trigger\n\x1b[2J";
const std::string kHostileLabelPem = "-----BEGIN \xff\xff-----\nAAAA\n-----END \xff\xff-----\n";

class HostileText : public Agent {
protected:
    std::string manifestWithTag(const std::string& key)
    {
        ArchiveRecipe recipe;
        recipe.issuedAt = kIssuedAt;
        auto manifest = nlohmann::json::parse(factory.manifestFor(recipe));
        manifest["Tags"] = { { key, "x" } };
        return manifest.dump(2);
    }
};

TEST_F(HostileText, ATagKeyWithNewlinesAndEscapesIsEscapedInTheReceipt)
{
    ArchiveRecipe recipe;
    recipe.issuedAt = kIssuedAt;
    recipe.manifestText = manifestWithTag(kHostileTagKey);
    stick.files["certificates-omni_cam-01.zip"] = factory.make(recipe);
    const auto report = agent.provisionFromSource(stick);
    ASSERT_TRUE(report.error);
    EXPECT_EQ(report.error->reason, ReasonCode::ManifestInvalid);
    const std::string shown = "Tags.a\\nMAINPID=1234\\nWATCHDOG=trigger\\n\\x1b[2J";
    EXPECT_NE(report.error->message.find(shown), std::string::npos) << report.error->message;

    const auto& text = stick.files["omni-provision-report_cam-01.txt"];
    EXPECT_NE(text.find("What happened: " + shown), std::string::npos) << text;
    EXPECT_FALSE(testing::hasRawControlBytes(text)) << text;
    EXPECT_EQ(text.find("\nMAINPID="), std::string::npos);
    EXPECT_EQ(text.find("\nWATCHDOG="), std::string::npos);
    const auto json = nlohmann::json::parse(stick.files["omni-provision-report_cam-01.json"]);
    EXPECT_EQ(json["Reason"], "MANIFEST_INVALID");
    EXPECT_NE(json["Message"].get<std::string>().find(shown), std::string::npos);
}

TEST_F(HostileText, APemLabelThatIsNotUtf8KeepsEveryOutputValid)
{
    ArchiveRecipe recipe;
    recipe.issuedAt = kIssuedAt;
    recipe.certificatePem = kHostileLabelPem;
    stick.files["certificates-omni_cam-01.zip"] = factory.make(recipe);
    stick.files["certificates-omni_\xff\x1b[2J.zip"] = "not even a zip";
    const auto report = agent.provisionFromSource(stick);
    ASSERT_TRUE(report.error);
    EXPECT_EQ(report.error->reason, ReasonCode::CertInvalid);
    EXPECT_NE(report.error->message.find("'\\xFF\\xFF'"), std::string::npos) << report.error->message;
    ASSERT_EQ(report.setAside.size(), 1U);
    EXPECT_EQ(report.setAside[0].rfind("certificates-omni_\\xFF\\x1b[2J.zip: ARCHIVE_NAME_INVALID", 0), 0U)
        << report.setAside[0];

    const auto& text = stick.files["omni-provision-report_cam-01.txt"];
    EXPECT_NE(text.find("FAILED: CERT_INVALID"), std::string::npos) << text;
    EXPECT_FALSE(testing::hasRawControlBytes(text)) << text;
    const auto json = nlohmann::json::parse(stick.files["omni-provision-report_cam-01.json"]);
    EXPECT_EQ(json["Reason"], "CERT_INVALID");
    const auto attempt = nlohmann::json::parse(text::dumpJson(agent::attemptJson(report), 2));
    EXPECT_EQ(attempt["Reason"], "CERT_INVALID");
    EXPECT_EQ(attempt["Status"], "FAILED");
}

TEST_F(HostileText, RawBytesThatReachTheReceiptAreStillEscapedAndValid)
{
    // Whatever a message builder forgot, the receipt escapes at its sink.
    agent::AttemptReport report;
    report.attemptId = "0123456789abcdef";
    report.verdict = agent::AttemptVerdict::Rejected;
    report.outcome.result = tl::unexpected(Error {});
    report.outcome.facts.fileName = "certificates-omni_\xff\n\x1b[2J.zip";
    report.error
        = Error { ReasonCode::CertInvalid, Check::CertParse, "label '\xff\xff'\nWATCHDOG=trigger", {} };
    report.warnings = { "a warning \xC2\x9B"
                        "2J" };
    const auto files = agent::renderReceipt(report, kIssuedAt);
    ASSERT_EQ(files.size(), 2U);
    EXPECT_EQ(files[0].name, "omni-provision-report_unknown.txt");
    EXPECT_FALSE(testing::hasRawControlBytes(files[0].content)) << files[0].content;
    EXPECT_NE(files[0].content.find("label '\\xFF\\xFF'\\nWATCHDOG=trigger"), std::string::npos)
        << files[0].content;
    EXPECT_NE(files[0].content.find("certificates-omni_\\xFF\\n\\x1b[2J.zip"), std::string::npos);
    EXPECT_NE(files[0].content.find("a warning \\u009b2J"), std::string::npos);
    const auto json = nlohmann::json::parse(files[1].content);
    EXPECT_EQ(json["Reason"], "CERT_INVALID");
    EXPECT_EQ(json["Archive"], "certificates-omni_\xEF\xBF\xBD\n\x1b[2J.zip");
}

TEST_F(HostileText, AFaultDuringTheAttemptIsStillRecordedAndReported)
{
    put("cam-01");
    stick.readsThrow = true;
    const auto report = agent.provisionFromSource(stick);
    EXPECT_EQ(report.verdict, agent::AttemptVerdict::InternalError);
    ASSERT_TRUE(report.error);
    EXPECT_NE(report.error->message.find("simulated fault"), std::string::npos);
    EXPECT_EQ(report.status.status, state::DeviceStatus::Error);
    EXPECT_TRUE(report.receiptWritten);
    EXPECT_TRUE(stick.files.count("omni-provision-report_unknown.txt"));
}

} // namespace
} // namespace omni
