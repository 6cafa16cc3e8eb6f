// DeviceState on a real directory: transitions of DESIGN.md section 5, the
// applied-archive list, file modes, corrupt and interrupted state.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "daemon/core/time/time.hpp"
#include "daemon/device/state/device_state.hpp"
#include "tests/support/process.hpp"

namespace omni::state {
namespace {

namespace fs = std::filesystem;
using omni::testing::readFile;
using omni::testing::TemporaryDirectory;
using omni::testing::writeFile;

constexpr time::UnixTime kStart = 1'795'000'000;

std::string shaOf(int index)
{
    const std::string digits = std::to_string(index);
    return std::string(64 - digits.size(), 'c') + digits;
}

AppliedProvisioning provisioning(int index, nlohmann::json networking = nullptr)
{
    const std::string id = "device-" + std::to_string(index);
    return AppliedProvisioning { "cam-" + std::to_string(index), id,
        "arn:aws:panorama:us-east-1:123456789012:device/" + id, id, shaOf(index), std::move(networking) };
}

nlohmann::json staticConfiguration(const std::string& address)
{
    return { { "Ethernet0",
        { { "ConnectionType", "STATIC_IP" },
            { "StaticIpConnectionInfo",
                { { "IpAddress", address }, { "Mask", "24" }, { "DefaultGateway", "192.0.2.1" },
                    { "Dns", { "192.0.2.53" } } } } } } };
}

// Opaque stand-ins generated per test: the state never parses PEM.
CredentialFiles credentials(int index, bool withChain)
{
    const std::string tag = std::to_string(index);
    CredentialFiles files { "-----BEGIN CERTIFICATE-----\ncertificate " + tag
            + "\n-----END CERTIFICATE-----\n",
        {}, "-----BEGIN PRIVATE KEY-----\nsecret key material " + tag + "\n-----END PRIVATE KEY-----\n" };
    if (withChain)
        files.chainPem = "-----BEGIN CERTIFICATE-----\nchain " + tag + "\n-----END CERTIFICATE-----\n";
    return files;
}

mode_t modeOf(const fs::path& path)
{
    struct stat status { };
    EXPECT_EQ(::lstat(path.c_str(), &status), 0) << path;
    return status.st_mode & 07777;
}

std::set<std::string> entriesOf(const fs::path& directory)
{
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory))
        names.insert(entry.path().filename().string());
    return names;
}

class DeviceStateTest : public ::testing::Test {
protected:
    fs::path directory() const { return fs::path(temporary_.path()) / "state"; }
    DeviceState state()
    {
        return DeviceState(directory(), [this] { return now_; });
    }
    fs::path credentialsPath(const char* name) const
    {
        return directory() / kCredentialsDirectoryName / name;
    }

    StatusDocument succeed(int index, bool withChain = true, nlohmann::json networking = nullptr)
    {
        auto recorded
            = state().recordSuccess(provisioning(index, std::move(networking)), credentials(index, withChain),
                "certificates-omni_cam-" + std::to_string(index) + ".zip", "applied");
        EXPECT_TRUE(recorded) << recorded.error().message;
        return recorded ? *recorded : StatusDocument {};
    }

    StatusDocument fail(ReasonCode reason, const std::string& message)
    {
        auto recorded = state().recordFailure(reason, message, std::string("certificates-omni_cam-x.zip"));
        EXPECT_TRUE(recorded) << recorded.error().message;
        return recorded ? *recorded : StatusDocument {};
    }

    StatusDocument loaded()
    {
        auto document = state().load();
        EXPECT_TRUE(document) << document.error().message;
        return document ? *document : StatusDocument {};
    }

    void expectCredentialsOf(int index, bool withChain)
    {
        const CredentialFiles expected = credentials(index, withChain);
        EXPECT_EQ(readFile(credentialsPath(kCertificateFileName)), expected.certificatePem);
        EXPECT_EQ(readFile(credentialsPath(kPrivateKeyFileName)), expected.privateKeyPem);
        if (withChain)
            EXPECT_EQ(readFile(credentialsPath(kChainFileName)), *expected.chainPem);
        else
            EXPECT_FALSE(fs::exists(credentialsPath(kChainFileName)));
    }

    TemporaryDirectory temporary_;
    time::UnixTime now_ = kStart;
};

TEST_F(DeviceStateTest, AbsentStateIsAwaitingProvisioningAndReadingCreatesNothing)
{
    EXPECT_EQ(loaded(), StatusDocument {});
    EXPECT_EQ(loaded().status, DeviceStatus::AwaitingProvisioning);
    const auto applied = state().isAlreadyApplied(shaOf(1));
    ASSERT_TRUE(applied);
    EXPECT_FALSE(*applied);
    EXPECT_FALSE(fs::exists(directory()));
}

TEST_F(DeviceStateTest, FirstSuccessStoresEverythingWithItsModes)
{
    const nlohmann::json networking = staticConfiguration("192.0.2.10");
    const StatusDocument recorded = succeed(1, true, networking);
    EXPECT_EQ(recorded.status, DeviceStatus::Succeeded);
    EXPECT_EQ(recorded.updatedAt, kStart);
    ASSERT_TRUE(recorded.applied);
    EXPECT_EQ(*recorded.applied, provisioning(1, networking));
    ASSERT_TRUE(recorded.lastAttempt);
    EXPECT_EQ(*recorded.lastAttempt,
        (LastAttempt {
            AttemptResult::Succeeded, std::nullopt, "applied", kStart, "certificates-omni_cam-1.zip" }));
    EXPECT_EQ(loaded(), recorded);
    expectCredentialsOf(1, true);

    EXPECT_EQ(modeOf(directory()), 0755);
    EXPECT_EQ(modeOf(directory() / kStatusFileName), 0644);
    EXPECT_EQ(modeOf(directory() / kAppliedArchivesFileName), 0644);
    EXPECT_EQ(modeOf(directory() / kCredentialsDirectoryName), 0700);
    EXPECT_EQ(modeOf(credentialsPath(kCertificateFileName)), 0644);
    EXPECT_EQ(modeOf(credentialsPath(kChainFileName)), 0644);
    EXPECT_EQ(modeOf(credentialsPath(kPrivateKeyFileName)), 0600);
    EXPECT_TRUE(fs::is_directory(fs::symlink_status(directory() / kCredentialsDirectoryName)));
    EXPECT_EQ(entriesOf(directory()),
        (std::set<std::string> { kStatusFileName, kAppliedArchivesFileName, kCredentialsDirectoryName }));

    auto list = state().appliedArchives();
    ASSERT_TRUE(list);
    EXPECT_EQ(*list, std::vector<std::string> { shaOf(1) });
    EXPECT_EQ(readFile(directory() / kAppliedArchivesFileName), shaOf(1) + "\n");
    // Key material stays in credentials/.
    EXPECT_EQ(readFile(directory() / kStatusFileName).find("secret key material"), std::string::npos);
}

TEST_F(DeviceStateTest, ModesDoNotDependOnTheUmask)
{
    const mode_t previous = ::umask(0);
    succeed(1);
    ::umask(previous);
    EXPECT_EQ(modeOf(directory()), 0755);
    EXPECT_EQ(modeOf(directory() / kCredentialsDirectoryName), 0700);
    EXPECT_EQ(modeOf(directory() / kStatusFileName), 0644);
    EXPECT_EQ(modeOf(credentialsPath(kPrivateKeyFileName)), 0600);
}

TEST_F(DeviceStateTest, ExistingStateDirectoryKeepsItsModeButCredentialsAreForcedTo0700)
{
    fs::create_directories(directory() / kCredentialsDirectoryName);
    ::chmod(directory().c_str(), 0750);
    ::chmod((directory() / kCredentialsDirectoryName).c_str(), 0755);
    fail(ReasonCode::CertExpired, "expired");
    EXPECT_EQ(modeOf(directory()), 0750);
    EXPECT_EQ(modeOf(directory() / kCredentialsDirectoryName), 0700);
}

TEST_F(DeviceStateTest, FailureOnAFreshDeviceIsFailedAndStaysFailed)
{
    const StatusDocument first = fail(ReasonCode::CertUntrusted, "not our CA");
    EXPECT_EQ(first.status, DeviceStatus::Failed);
    EXPECT_FALSE(first.applied);
    EXPECT_EQ(*first.lastAttempt,
        (LastAttempt { AttemptResult::Failed, ReasonCode::CertUntrusted, "not our CA", kStart,
            "certificates-omni_cam-x.zip" }));
    now_ += 60;
    const StatusDocument second = fail(ReasonCode::ArchiveNotFound, "no archive");
    EXPECT_EQ(second.status, DeviceStatus::Failed);
    EXPECT_EQ(second.lastAttempt->reason, ReasonCode::ArchiveNotFound);
    EXPECT_EQ(second.lastAttempt->at, kStart + 60);
    EXPECT_EQ(second.updatedAt, kStart + 60);
    EXPECT_EQ(loaded(), second);
    EXPECT_FALSE(fs::exists(directory() / kAppliedArchivesFileName));
}

TEST_F(DeviceStateTest, FailureWithoutAFileNameIsRecorded)
{
    auto recorded
        = state().recordFailure(ReasonCode::ArchiveNotFound, "no archive on the stick", std::nullopt);
    ASSERT_TRUE(recorded) << recorded.error().message;
    EXPECT_EQ(recorded->status, DeviceStatus::Failed);
    EXPECT_EQ(loaded().lastAttempt->fileName, std::nullopt);
}

TEST_F(DeviceStateTest, FailureAfterSuccessKeepsSucceededAndItsConfiguration)
{
    const StatusDocument succeeded = succeed(1, true, staticConfiguration("192.0.2.10"));
    now_ += 120;
    const StatusDocument failed = fail(ReasonCode::CertExpired, "the provisioning certificate expired");
    EXPECT_EQ(failed.status, DeviceStatus::Succeeded);
    EXPECT_EQ(failed.applied, succeeded.applied);
    EXPECT_EQ(*failed.lastAttempt,
        (LastAttempt { AttemptResult::Failed, ReasonCode::CertExpired, "the provisioning certificate expired",
            kStart + 120, "certificates-omni_cam-x.zip" }));
    EXPECT_EQ(loaded(), failed);
    expectCredentialsOf(1, true);
    auto list = state().appliedArchives();
    ASSERT_TRUE(list);
    EXPECT_EQ(*list, std::vector<std::string> { shaOf(1) });
}

TEST_F(DeviceStateTest, NewerSuccessReplacesCredentialsConfigurationAndRemovesAStaleChain)
{
    succeed(1, true, staticConfiguration("192.0.2.10"));
    fail(ReasonCode::KeyMismatch, "mixed files");
    now_ += 300;
    const StatusDocument second = succeed(2, false, staticConfiguration("192.0.2.20"));
    EXPECT_EQ(second.status, DeviceStatus::Succeeded);
    EXPECT_EQ(second.applied, provisioning(2, staticConfiguration("192.0.2.20")));
    EXPECT_EQ(second.lastAttempt->result, AttemptResult::Succeeded);
    EXPECT_EQ(loaded(), second);
    expectCredentialsOf(2, false);
    EXPECT_EQ(modeOf(credentialsPath(kPrivateKeyFileName)), 0600);
    EXPECT_EQ(modeOf(directory() / kCredentialsDirectoryName), 0700);
    auto list = state().appliedArchives();
    ASSERT_TRUE(list);
    EXPECT_EQ(*list, (std::vector<std::string> { shaOf(1), shaOf(2) }));
    EXPECT_EQ(entriesOf(directory()),
        (std::set<std::string> { kStatusFileName, kAppliedArchivesFileName, kCredentialsDirectoryName }));
    // A chain again after none.
    succeed(3, true);
    expectCredentialsOf(3, true);
}

TEST_F(DeviceStateTest, SuccessAfterFailuresOnAFreshDevice)
{
    fail(ReasonCode::ManifestInvalid, "bad mask");
    const StatusDocument succeeded = succeed(1);
    EXPECT_EQ(succeeded.status, DeviceStatus::Succeeded);
    EXPECT_EQ(loaded(), succeeded);
}

TEST_F(DeviceStateTest, AppliedNetworkingConfigurationIsReadableForReapplyAtBoot)
{
    succeed(1, true, staticConfiguration("192.0.2.10"));
    fail(ReasonCode::CertExpired, "expired");
    const DeviceState reopened(directory());
    const auto document = reopened.load();
    ASSERT_TRUE(document && document->applied);
    EXPECT_EQ(document->applied->networkingConfiguration, staticConfiguration("192.0.2.10"));
}

TEST_F(DeviceStateTest, IsAlreadyAppliedAnswersFromTheListInEitherCase)
{
    succeed(1);
    succeed(2);
    for (const int index : { 1, 2 }) {
        auto applied = state().isAlreadyApplied(shaOf(index));
        ASSERT_TRUE(applied);
        EXPECT_TRUE(*applied) << index;
    }
    std::string upper = shaOf(1);
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto applied = state().isAlreadyApplied(upper);
    ASSERT_TRUE(applied);
    EXPECT_TRUE(*applied);
    applied = state().isAlreadyApplied(shaOf(3));
    ASSERT_TRUE(applied);
    EXPECT_FALSE(*applied);
    EXPECT_FALSE(state().isAlreadyApplied("not-a-digest"));
    EXPECT_FALSE(state().isAlreadyApplied(shaOf(1) + "0"));
}

TEST_F(DeviceStateTest, IsAlreadyAppliedCoversACrashBeforeTheListWasUpdated)
{
    succeed(1);
    succeed(2);
    // As after a crash between status.json and the list: the list lacks the last success.
    writeFile(directory() / kAppliedArchivesFileName, shaOf(1) + "\n");
    auto applied = state().isAlreadyApplied(shaOf(2));
    ASSERT_TRUE(applied);
    EXPECT_TRUE(*applied);
    auto recovered = state().recover();
    ASSERT_TRUE(recovered) << recovered.error().message;
    auto list = state().appliedArchives();
    ASSERT_TRUE(list);
    EXPECT_EQ(*list, (std::vector<std::string> { shaOf(1), shaOf(2) }));
}

TEST_F(DeviceStateTest, AppliedListKeepsTheNewestEntriesUpToItsBound)
{
    fs::create_directories(directory());
    std::string full;
    for (std::size_t index = 0; index < kMaxAppliedArchives; ++index)
        full += shaOf(static_cast<int>(10000 + index)) + "\n";
    writeFile(directory() / kAppliedArchivesFileName, full);
    succeed(1);
    auto list = state().appliedArchives();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), kMaxAppliedArchives);
    EXPECT_EQ(list->front(), shaOf(10001)) << "the oldest entry goes";
    EXPECT_EQ(list->back(), shaOf(1));
    auto applied = state().isAlreadyApplied(shaOf(10000));
    ASSERT_TRUE(applied);
    EXPECT_FALSE(*applied);
    applied = state().isAlreadyApplied(shaOf(10999));
    ASSERT_TRUE(applied);
    EXPECT_TRUE(*applied);
}

TEST_F(DeviceStateTest, CorruptAppliedListIsAnErrorAndStopsASuccessBeforeAnyWrite)
{
    fs::create_directories(directory());
    writeFile(directory() / kAppliedArchivesFileName, shaOf(1) + "\nnot a digest\n");
    const auto applied = state().isAlreadyApplied(shaOf(1));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::InternalError);
    EXPECT_NE(applied.error().message.find("line 2"), std::string::npos) << applied.error().message;
    const auto recorded = state().recordSuccess(
        provisioning(1), credentials(1, true), "certificates-omni_cam-1.zip", "applied");
    ASSERT_FALSE(recorded);
    EXPECT_FALSE(fs::exists(directory() / kStatusFileName));
    EXPECT_FALSE(fs::exists(credentialsPath(kPrivateKeyFileName)));
    EXPECT_EQ(recorded.error().message.find("secret key material"), std::string::npos);
}

TEST_F(DeviceStateTest, CorruptStatusIsAnErrorThatOnlyASuccessReplaces)
{
    succeed(1);
    const std::string corrupt = "{\"Status\": \"SUCC";
    writeFile(directory() / kStatusFileName, corrupt);
    const auto document = state().load();
    ASSERT_FALSE(document);
    EXPECT_EQ(document.error().reason, ReasonCode::InternalError);
    EXPECT_EQ(document.error().where, (directory() / kStatusFileName).string());
    EXPECT_NE(document.error().message.find("corrupt"), std::string::npos) << document.error().message;

    EXPECT_FALSE(state().recordFailure(ReasonCode::CertExpired, "expired", std::string("a.zip")));
    EXPECT_FALSE(state().markError("driver broken"));
    EXPECT_FALSE(state().markPending());
    EXPECT_FALSE(state().recover());
    EXPECT_EQ(readFile(directory() / kStatusFileName), corrupt) << "kept as evidence";

    now_ += 10;
    const StatusDocument replaced = succeed(2);
    EXPECT_EQ(loaded(), replaced);
    expectCredentialsOf(2, true);
    auto list = state().appliedArchives();
    ASSERT_TRUE(list);
    EXPECT_EQ(*list, (std::vector<std::string> { shaOf(1), shaOf(2) }));
}

TEST_F(DeviceStateTest, StatusThatIsNotARegularFileIsAnError)
{
    fs::create_directories(directory());
    const fs::path target = fs::path(temporary_.path()) / "elsewhere.json";
    writeFile(target, serializeStatusDocument(StatusDocument {}));
    fs::create_symlink(target, directory() / kStatusFileName);
    auto document = state().load();
    ASSERT_FALSE(document);
    EXPECT_NE(document.error().message.find("symbolic link"), std::string::npos) << document.error().message;
    fs::remove(directory() / kStatusFileName);
    fs::create_directory(directory() / kStatusFileName);
    EXPECT_FALSE(state().load());
}

TEST_F(DeviceStateTest, LeftoverTemporaryFilesAreIgnoredByLoadAndRemovedByRecover)
{
    const StatusDocument succeeded = succeed(1);
    writeFile(directory() / ".status.json.Ab12Cd", "{\"Stat");
    writeFile(directory() / ".applied-archives.txt.zZ9yY8", "garbage");
    writeFile(directory() / "notes.txt", "the operator's own file");
    writeFile(directory() / ".status.json.keep", "not ours: wrong suffix length");
    EXPECT_EQ(loaded(), succeeded);
    auto recovered = state().recover();
    ASSERT_TRUE(recovered) << recovered.error().message;
    EXPECT_EQ(*recovered, succeeded);
    EXPECT_EQ(entriesOf(directory()),
        (std::set<std::string> { kStatusFileName, kAppliedArchivesFileName, kCredentialsDirectoryName,
            "notes.txt", ".status.json.keep" }));
}

TEST_F(DeviceStateTest, PendingKeepsEverythingAndRestorePutsBackTheSameBytes)
{
    succeed(1, true, staticConfiguration("192.0.2.10"));
    const StatusDocument before = loaded();
    const std::string bytes = readFile(directory() / kStatusFileName);
    now_ += 5;
    auto pending = state().markPending();
    ASSERT_TRUE(pending) << pending.error().message;
    EXPECT_EQ(pending->previous(), before);
    StatusDocument expected = before;
    expected.status = DeviceStatus::Pending;
    expected.updatedAt = kStart + 5;
    EXPECT_EQ(loaded(), expected);
    ASSERT_TRUE(state().restore(*pending));
    EXPECT_EQ(readFile(directory() / kStatusFileName), bytes);
}

TEST_F(DeviceStateTest, RestoreOnAFreshDeviceRemovesStatusAgain)
{
    auto pending = state().markPending();
    ASSERT_TRUE(pending) << pending.error().message;
    EXPECT_EQ(loaded().status, DeviceStatus::Pending);
    ASSERT_TRUE(state().restore(*pending));
    EXPECT_FALSE(fs::exists(directory() / kStatusFileName));
    EXPECT_EQ(loaded(), StatusDocument {});
}

TEST_F(DeviceStateTest, AlreadyAppliedChangesNothing)
{
    succeed(1);
    fail(ReasonCode::CertExpired, "expired");
    const std::string status = readFile(directory() / kStatusFileName);
    const std::string list = readFile(directory() / kAppliedArchivesFileName);
    now_ += 1000;
    auto pending = state().markPending();
    ASSERT_TRUE(pending);
    ASSERT_TRUE(state().recordAlreadyApplied(*pending));
    EXPECT_EQ(readFile(directory() / kStatusFileName), status);
    EXPECT_EQ(readFile(directory() / kAppliedArchivesFileName), list);
    expectCredentialsOf(1, true);
}

TEST_F(DeviceStateTest, SuccessAndFailureEndAPendingAttempt)
{
    ASSERT_TRUE(state().markPending());
    EXPECT_EQ(fail(ReasonCode::CertExpired, "expired").status, DeviceStatus::Failed);
    ASSERT_TRUE(state().markPending());
    EXPECT_EQ(succeed(1).status, DeviceStatus::Succeeded);
    ASSERT_TRUE(state().markPending());
    EXPECT_EQ(fail(ReasonCode::CertExpired, "expired").status, DeviceStatus::Succeeded);
}

TEST_F(DeviceStateTest, RecoverSettlesAnInterruptedAttempt)
{
    ASSERT_TRUE(state().markPending());
    now_ += 7;
    auto recovered = state().recover();
    ASSERT_TRUE(recovered) << recovered.error().message;
    EXPECT_EQ(recovered->status, DeviceStatus::AwaitingProvisioning);
    EXPECT_EQ(recovered->updatedAt, kStart + 7);
    EXPECT_EQ(loaded(), *recovered);

    succeed(1);
    ASSERT_TRUE(state().markPending());
    recovered = state().recover();
    ASSERT_TRUE(recovered);
    EXPECT_EQ(recovered->status, DeviceStatus::Succeeded);
    EXPECT_EQ(loaded().status, DeviceStatus::Succeeded);
}

TEST_F(DeviceStateTest, RecoverOfAFailedDeviceInterruptedIsFailed)
{
    fail(ReasonCode::CertUntrusted, "untrusted");
    ASSERT_TRUE(state().markPending());
    auto recovered = state().recover();
    ASSERT_TRUE(recovered);
    EXPECT_EQ(recovered->status, DeviceStatus::Failed);
}

TEST_F(DeviceStateTest, ErrorKeepsTheProvisioningAndClearsBackToIt)
{
    const StatusDocument succeeded = succeed(1, true, staticConfiguration("192.0.2.10"));
    now_ += 30;
    auto error = state().markError("netlink: operation not permitted");
    ASSERT_TRUE(error) << error.error().message;
    EXPECT_EQ(error->status, DeviceStatus::Error);
    EXPECT_EQ(error->applied, succeeded.applied);
    EXPECT_EQ(*error->lastAttempt,
        (LastAttempt { AttemptResult::Error, ReasonCode::InternalError, "netlink: operation not permitted",
            kStart + 30, std::nullopt }));
    EXPECT_EQ(loaded(), *error);
    now_ += 30;
    auto cleared = state().clearError();
    ASSERT_TRUE(cleared);
    EXPECT_EQ(cleared->status, DeviceStatus::Succeeded);
    EXPECT_EQ(cleared->lastAttempt, error->lastAttempt);
    EXPECT_EQ(loaded(), *cleared);
    // Not in ERROR: nothing is written.
    const std::string bytes = readFile(directory() / kStatusFileName);
    now_ += 30;
    ASSERT_TRUE(state().clearError());
    EXPECT_EQ(readFile(directory() / kStatusFileName), bytes);
}

TEST_F(DeviceStateTest, ErrorOnAFreshDeviceClearsToAwaitingProvisioning)
{
    ASSERT_TRUE(state().markError("the LED driver is broken"));
    EXPECT_EQ(loaded().status, DeviceStatus::Error);
    auto cleared = state().clearError();
    ASSERT_TRUE(cleared);
    EXPECT_EQ(cleared->status, DeviceStatus::AwaitingProvisioning);
}

TEST_F(DeviceStateTest, FailureAfterErrorOnAProvisionedDeviceIsSucceeded)
{
    succeed(1);
    ASSERT_TRUE(state().markError("driver"));
    EXPECT_EQ(fail(ReasonCode::CertExpired, "expired").status, DeviceStatus::Succeeded);
}

// Crash states of recordSuccess, laid out by hand.
class InterruptedSuccessTest : public DeviceStateTest {
protected:
    void SetUp() override { succeed(1); }

    void stage(const std::string& name, int index)
    {
        const fs::path staged = directory() / name;
        fs::create_directories(staged);
        const CredentialFiles files = credentials(index, false);
        writeFile(staged / kCertificateFileName, files.certificatePem);
        writeFile(staged / kPrivateKeyFileName, files.privateKeyPem);
        ::chmod((staged / kPrivateKeyFileName).c_str(), 0600);
        ::chmod(staged.c_str(), 0700);
    }

    // status.json naming archive 2, as written by the commit.
    void commitStatusOf(int index)
    {
        StatusDocument document;
        document.status = DeviceStatus::Succeeded;
        document.updatedAt = kStart;
        document.applied = provisioning(index);
        document.lastAttempt
            = LastAttempt { AttemptResult::Succeeded, std::nullopt, "applied", kStart, std::string("a.zip") };
        writeFile(directory() / kStatusFileName, serializeStatusDocument(document));
    }

    void expectCleanLayout()
    {
        EXPECT_EQ(entriesOf(directory()),
            (std::set<std::string> { kStatusFileName, kAppliedArchivesFileName, kCredentialsDirectoryName }));
    }
};

TEST_F(InterruptedSuccessTest, CredentialsStagedBeforeTheCommitAreDiscarded)
{
    stage(".credentials.partial", 2);
    stage(".credentials-" + shaOf(2), 2);
    auto recovered = state().recover();
    ASSERT_TRUE(recovered) << recovered.error().message;
    EXPECT_EQ(recovered->applied, provisioning(1));
    expectCredentialsOf(1, true);
    expectCleanLayout();
}

TEST_F(InterruptedSuccessTest, CredentialsStagedAndCommittedAreInstalled)
{
    stage(".credentials-" + shaOf(2), 2);
    commitStatusOf(2);
    auto recovered = state().recover();
    ASSERT_TRUE(recovered) << recovered.error().message;
    expectCredentialsOf(2, false);
    EXPECT_EQ(modeOf(directory() / kCredentialsDirectoryName), 0700);
    expectCleanLayout();
    auto list = state().appliedArchives();
    ASSERT_TRUE(list);
    EXPECT_EQ(*list, (std::vector<std::string> { shaOf(1), shaOf(2) }));
}

TEST_F(InterruptedSuccessTest, CrashBetweenTheTwoRenamesIsFinished)
{
    stage(".credentials-" + shaOf(2), 2);
    commitStatusOf(2);
    fs::rename(directory() / kCredentialsDirectoryName, directory() / ".credentials.old");
    auto recovered = state().recover();
    ASSERT_TRUE(recovered) << recovered.error().message;
    expectCredentialsOf(2, false);
    expectCleanLayout();
}

TEST_F(InterruptedSuccessTest, CrashWhileRemovingTheOldCredentialsIsFinished)
{
    stage(".credentials.old", 0);
    auto recovered = state().recover();
    ASSERT_TRUE(recovered) << recovered.error().message;
    expectCredentialsOf(1, true);
    expectCleanLayout();
}

TEST_F(InterruptedSuccessTest, ANewSuccessFirstSettlesLeftovers)
{
    stage(".credentials-" + shaOf(7), 7); // never committed
    stage(".credentials.partial", 8);
    now_ += 1;
    succeed(2, false);
    expectCredentialsOf(2, false);
    expectCleanLayout();
}

} // namespace
} // namespace omni::state
