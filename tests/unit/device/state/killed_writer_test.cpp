// A writer killed at any instant (SIGKILL) leaves a state that load() reads
// as exactly one of the documents it wrote, and that recover() completes to
// a consistent whole. The child (state_writer_helper) runs the shared writer
// script and reports each completed step with one byte on a pipe; the test
// lets it complete a random number of steps, kills it at once, and checks.
// No sleeps: progress on the pipe bounds the random kill point; a random
// spin of at most a step's duration then spreads the kill across a step
// instead of always landing at its start (jitter, not synchronisation).
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/core/time/time.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/device/state/writer_script.hpp"

extern char** environ;

namespace omni::state::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kKills = 1000;
constexpr int kMaxStepsBeforeKill = 40; // 5 cycles of the script
constexpr time::UnixTime kRecoverTime = kScriptEpoch - 1;
// A few steps of the script on tmpfs.
constexpr int kMaxJitterMicroseconds = 2000;

fs::path helperPath()
{
    if (const char* configured = std::getenv("OMNI_STATE_WRITER_HELPER"))
        return configured;
    return fs::read_symlink("/proc/self/exe").parent_path() / "state-writer-helper";
}

// The helper process; killed and reaped at the latest on destruction.
class Writer {
public:
    Writer(const fs::path& helper, const fs::path& stateDirectory)
    {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe2 failed");
        progress_ = fds[0];
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        const std::string program = helper.string();
        const std::string argument = stateDirectory.string();
        char* argv[] = { const_cast<char*>(program.c_str()), const_cast<char*>(argument.c_str()), nullptr };
        const int spawned = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        if (spawned != 0)
            throw std::runtime_error("cannot start " + program + ": " + std::strerror(spawned));
    }
    ~Writer()
    {
        if (pid_ > 0)
            killAndReap();
        ::close(progress_);
    }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // Blocks until the child has reported `steps` completed steps; false if it exited first.
    bool waitForSteps(int steps)
    {
        char buffer[64];
        int received = 0;
        while (received < steps) {
            const ssize_t got = ::read(progress_, buffer,
                std::min<std::size_t>(sizeof buffer, static_cast<std::size_t>(steps - received)));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                return false;
            received += static_cast<int>(got);
        }
        return true;
    }

    int killAndReap()
    {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) { }
        pid_ = -1;
        return status;
    }

private:
    pid_t pid_ = -1;
    int progress_ = -1;
};

// Every document the script ever writes, by number of completed steps.
class ExpectedDocuments {
public:
    const StatusDocument& after(long steps)
    {
        while (static_cast<long>(documents_.size()) <= steps)
            documents_.push_back(expectedAfter(static_cast<long>(documents_.size())));
        return documents_[static_cast<std::size_t>(steps)];
    }

private:
    std::vector<StatusDocument> documents_;
};

void spin(std::chrono::microseconds duration)
{
    const auto until = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < until) { }
}

std::set<std::string> entriesOf(const fs::path& directory)
{
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory))
        names.insert(entry.path().filename().string());
    return names;
}

bool hasLeftovers(const fs::path& directory)
{
    for (const auto& name : entriesOf(directory)) {
        if (name.front() == '.')
            return true;
    }
    return false;
}

mode_t modeOf(const fs::path& path)
{
    struct stat status { };
    if (::lstat(path.c_str(), &status) != 0)
        return 0;
    return status.st_mode & 07777;
}

void expectConsistentAfterRecover(const fs::path& directory, const StatusDocument& recovered)
{
    const fs::path credentials = directory / kCredentialsDirectoryName;
    EXPECT_EQ(modeOf(credentials), 0700u);
    std::vector<std::string> successes;
    if (!recovered.applied) {
        EXPECT_TRUE(fs::is_empty(credentials));
        EXPECT_EQ(
            entriesOf(directory), (std::set<std::string> { kStatusFileName, kCredentialsDirectoryName }));
    } else {
        const long step = stepOfArchive(recovered.applied->archiveSha256);
        const CredentialFiles expected = credentialsFor(step);
        EXPECT_EQ(omni::testing::readFile(credentials / kCertificateFileName), expected.certificatePem);
        EXPECT_EQ(omni::testing::readFile(credentials / kPrivateKeyFileName), expected.privateKeyPem);
        EXPECT_EQ(modeOf(credentials / kPrivateKeyFileName), 0600u);
        if (expected.chainPem)
            EXPECT_EQ(omni::testing::readFile(credentials / kChainFileName), *expected.chainPem);
        else
            EXPECT_FALSE(fs::exists(credentials / kChainFileName));
        for (long earlier = 0; earlier <= step; ++earlier) {
            if (stepKind(earlier) == StepKind::Success)
                successes.push_back(provisioningFor(earlier).archiveSha256);
        }
        EXPECT_EQ(entriesOf(directory),
            (std::set<std::string> { kStatusFileName, kAppliedArchivesFileName, kCredentialsDirectoryName }));
    }
    const auto list = DeviceState(directory).appliedArchives();
    ASSERT_TRUE(list) << list.error().message;
    EXPECT_EQ(*list, successes);
}

TEST(KilledWriterTest, EveryKillLeavesOneWrittenDocumentAndRecoverCompletesIt)
{
    const fs::path helper = helperPath();
    ASSERT_TRUE(fs::exists(helper)) << helper << " (set OMNI_STATE_WRITER_HELPER)";
    omni::testing::TemporaryDirectory base;
    const unsigned seed = std::random_device {}();
    SCOPED_TRACE("seed " + std::to_string(seed) + ", base " + base.path().string());
    std::mt19937 random(seed);
    std::uniform_int_distribution<int> stepsBeforeKill(1, kMaxStepsBeforeKill);
    std::uniform_int_distribution<int> jitter(0, kMaxJitterMicroseconds);
    ExpectedDocuments expected;
    int killsWithLeftovers = 0;
    int killsWhilePending = 0;
    for (int kill = 0; kill < kKills; ++kill) {
        const fs::path directory = fs::path(base.path()) / ("kill-" + std::to_string(kill));
        const int reported = stepsBeforeKill(random);
        SCOPED_TRACE(
            "kill " + std::to_string(kill) + " after " + std::to_string(reported) + " reported steps");
        {
            Writer writer(helper, directory);
            ASSERT_TRUE(writer.waitForSteps(reported)) << "the writer stopped on its own";
            spin(std::chrono::microseconds(jitter(random)));
            const int status = writer.killAndReap();
            ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;
        }
        killsWithLeftovers += hasLeftovers(directory) ? 1 : 0;

        DeviceState state(directory, [] { return kRecoverTime; });
        const auto loaded = state.load();
        ASSERT_TRUE(loaded) << loaded.error().message;
        // The child completed `reported` steps and may have run a few more
        // before the signal landed.
        long matching = -1;
        for (long steps = reported; steps <= reported + 10'000; ++steps) {
            if (expected.after(steps) == *loaded) {
                matching = steps;
                break;
            }
        }
        ASSERT_GE(matching, 0) << "status.json is none of the documents written:\n"
                               << serializeStatusDocument(*loaded);
        killsWhilePending += loaded->status == DeviceStatus::Pending ? 1 : 0;

        const auto recovered = state.recover();
        ASSERT_TRUE(recovered) << recovered.error().message;
        StatusDocument settled = *loaded;
        if (settled.status == DeviceStatus::Pending) {
            settled.status = settled.applied
                ? DeviceStatus::Succeeded
                : (settled.lastAttempt ? DeviceStatus::Failed : DeviceStatus::AwaitingProvisioning);
            settled.updatedAt = kRecoverTime;
        }
        EXPECT_EQ(*recovered, settled);
        const auto reloaded = state.load();
        ASSERT_TRUE(reloaded);
        EXPECT_EQ(*reloaded, settled);
        expectConsistentAfterRecover(directory, *recovered);
        if (::testing::Test::HasFailure())
            return;
        fs::remove_all(directory);
    }
    std::cout << "[          ] " << kKills << " kills: " << killsWithLeftovers
              << " left an interrupted write behind, " << killsWhilePending << " found an attempt PENDING\n";
    // Otherwise the kills never landed inside a write and the test proved nothing.
    EXPECT_GT(killsWithLeftovers, 0);
}

} // namespace
} // namespace omni::state::testing
