// The resolv.conf backend and the backend selection, against temporary
// directories.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "drivers/dns/dns_backend.hpp"
#include "tests/support/temporary_directory.hpp"

namespace omni::dns {
namespace {

using omni::testing::identityOf;
using omni::testing::readFile;
using omni::testing::TemporaryDirectory;
using omni::testing::writeFile;

DnsSettings servers(std::vector<std::string> list)
{
    DnsSettings settings;
    settings.servers = std::move(list);
    return settings;
}

mode_t modeOf(const std::filesystem::path& path)
{
    struct stat status { };
    EXPECT_EQ(::lstat(path.c_str(), &status), 0);
    return status.st_mode & 07777;
}

class ResolvConfTest : public ::testing::Test {
protected:
    TemporaryDirectory directory;
    std::filesystem::path path = directory / "resolv.conf";
    ResolvConfBackend backend { path };
};

TEST_F(ResolvConfTest, WritesTheMarkerAndOneNameserverLinePerServer)
{
    auto applied = backend.apply(servers({ "192.0.2.53", "2001:db8::53" }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_TRUE(applied->changed);
    EXPECT_TRUE(applied->warnings.empty());
    EXPECT_EQ(
        readFile(path), "# managed by omni-provision\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n");
    EXPECT_EQ(modeOf(path), 0644U);
    // Nothing but the file is left in the directory (no temporary).
    EXPECT_EQ(directory.entries(), std::vector<std::string> { "resolv.conf" });
}

TEST_F(ResolvConfTest, KeepsThreeServersAndNamesTheDroppedOnesInAWarning)
{
    auto applied
        = backend.apply(servers({ "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "2001:db8::5" }));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(
        nameserversIn(readFile(path)), (std::vector<std::string> { "192.0.2.1", "192.0.2.2", "192.0.2.3" }));
    ASSERT_EQ(applied->warnings.size(), 1U);
    const std::string& warning = applied->warnings[0];
    EXPECT_NE(warning.find("192.0.2.4"), std::string::npos) << warning;
    EXPECT_NE(warning.find("2001:db8::5"), std::string::npos) << warning;
    EXPECT_EQ(warning.find("192.0.2.3"), std::string::npos) << warning;
    EXPECT_NE(warning.find("at most 3"), std::string::npos) << warning;
}

TEST_F(ResolvConfTest, ApplyingTheSameServersAgainDoesNotRewriteTheFile)
{
    ASSERT_TRUE(backend.apply(servers({ "192.0.2.53" })));
    const auto before = identityOf(path);
    auto again = backend.apply(servers({ "192.0.2.53" }));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_FALSE(again->changed);
    EXPECT_EQ(identityOf(path), before);
}

TEST_F(ResolvConfTest, ReplacesTheFileAtomicallyByRename)
{
    writeFile(path, "nameserver 198.51.100.1\n");
    // A reader that opened the old file keeps reading the old bytes: the new
    // content arrives as a new inode renamed over the name.
    const int reader = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(reader, 0);
    const auto before = identityOf(path);
    ASSERT_TRUE(backend.apply(servers({ "192.0.2.53" })));
    EXPECT_NE(identityOf(path).inode, before.inode);
    char buffer[64] = {};
    const ssize_t got = ::pread(reader, buffer, sizeof buffer - 1, 0);
    ::close(reader);
    EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(std::max<ssize_t>(got, 0))),
        "nameserver 198.51.100.1\n");
    EXPECT_EQ(nameserversIn(readFile(path)), std::vector<std::string> { "192.0.2.53" });
}

TEST_F(ResolvConfTest, NoServersLeavesTheFileAlone)
{
    auto applied = backend.apply(servers({}));
    ASSERT_TRUE(applied);
    EXPECT_FALSE(applied->changed);
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(ResolvConfTest, RestoreBringsBackTheExactBytesAndMode)
{
    const std::string original
        = "# written by the factory\nsearch example.com\nnameserver 198.51.100.1\noptions edns0";
    writeFile(path, original);
    ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
    auto snapshot = backend.snapshot(servers({ "192.0.2.53" }));
    ASSERT_TRUE(snapshot) << snapshot.error().message;
    ASSERT_TRUE(backend.apply(servers({ "192.0.2.53" })));
    ASSERT_NE(readFile(path), original);
    auto restored = backend.restore(*snapshot);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_TRUE(*restored);
    EXPECT_EQ(readFile(path), original);
    EXPECT_EQ(modeOf(path), 0640U);
    // Restoring what is already there changes nothing.
    const auto identity = identityOf(path);
    auto again = backend.restore(*snapshot);
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
    EXPECT_EQ(identityOf(path), identity);
}

TEST_F(ResolvConfTest, RestoreOfAnAbsentFileRemovesOurs)
{
    auto snapshot = backend.snapshot({});
    ASSERT_TRUE(snapshot);
    ASSERT_TRUE(backend.apply(servers({ "192.0.2.53" })));
    ASSERT_TRUE(std::filesystem::exists(path));
    ASSERT_TRUE(backend.restore(*snapshot));
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path)));
}

// A reset: our file goes, someone else's stays, a symlink to ours stays.
TEST_F(ResolvConfTest, RemoveOverrideRemovesOnlyOurFile)
{
    ASSERT_TRUE(backend.apply(servers({ "192.0.2.53" })));
    auto removed = backend.removeOverride({});
    ASSERT_TRUE(removed) << removed.error().message;
    EXPECT_TRUE(*removed);
    EXPECT_FALSE(std::filesystem::exists(path));
    auto again = backend.removeOverride({});
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_FALSE(*again);

    writeFile(path, "nameserver 198.51.100.9\n");
    auto foreign = backend.removeOverride({});
    ASSERT_TRUE(foreign) << foreign.error().message;
    EXPECT_FALSE(*foreign);
    EXPECT_EQ(readFile(path), "nameserver 198.51.100.9\n");

    std::filesystem::remove(path);
    const auto target = directory / "state-resolv.conf";
    std::filesystem::create_symlink(target, path);
    ASSERT_TRUE(backend.apply(servers({ "192.0.2.53" })));
    auto throughLink = backend.removeOverride({});
    ASSERT_TRUE(throughLink) << throughLink.error().message;
    EXPECT_TRUE(*throughLink);
    EXPECT_TRUE(std::filesystem::is_symlink(path));
    EXPECT_FALSE(std::filesystem::exists(target));
}

TEST_F(ResolvConfTest, ASymlinksFinalTargetIsRewrittenInItsOwnDirectoryAndRestored)
{
    // As the package sets it up: /etc/resolv.conf -> a file under the state
    // directory, here through two links, the second one relative.
    const auto state = directory / "state" / "dns";
    std::filesystem::create_directories(state);
    const auto target = state / "resolv.conf";
    writeFile(target, "nameserver 198.51.100.9\n");
    ASSERT_EQ(::chmod(target.c_str(), 0644), 0);
    std::filesystem::create_symlink("dns/resolv.conf", directory / "state" / "current");
    std::filesystem::create_symlink(directory / "state" / "current", path);
    const auto before = identityOf(target);
    auto snapshot = backend.snapshot({});
    ASSERT_TRUE(snapshot) << snapshot.error().message;

    const mode_t previous = ::umask(0077); // the unit's UMask
    auto applied = backend.apply(servers({ "192.0.2.53" }));
    ::umask(previous);
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_TRUE(applied->changed);
    // The links are untouched; the target was replaced by rename (new inode),
    // stays 0644 under the unit's umask, and no temporary is left beside it.
    ASSERT_TRUE(std::filesystem::is_symlink(path));
    EXPECT_EQ(std::filesystem::read_symlink(path), directory / "state" / "current");
    EXPECT_EQ(std::filesystem::read_symlink(directory / "state" / "current"), "dns/resolv.conf");
    EXPECT_EQ(nameserversIn(readFile(target)), std::vector<std::string> { "192.0.2.53" });
    EXPECT_NE(identityOf(target), before);
    EXPECT_EQ(modeOf(target), 0644U);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(state), {}), 1);
    auto inForce = backend.serversInForce(0);
    ASSERT_TRUE(inForce);
    EXPECT_EQ(*inForce, std::vector<std::string> { "192.0.2.53" });

    // The same servers again: nothing is rewritten.
    const auto afterApply = identityOf(target);
    auto again = backend.apply(servers({ "192.0.2.53" }));
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->changed);
    EXPECT_EQ(identityOf(target), afterApply);

    auto restored = backend.restore(*snapshot);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_TRUE(*restored);
    EXPECT_EQ(readFile(target), "nameserver 198.51.100.9\n");
    ASSERT_TRUE(std::filesystem::is_symlink(path));
}

TEST_F(ResolvConfTest, ADanglingSymlinksTargetIsCreated)
{
    std::filesystem::create_directories(directory / "state");
    std::filesystem::create_symlink("state/resolv.conf", path);
    auto snapshot = backend.snapshot({});
    ASSERT_TRUE(snapshot);
    ASSERT_TRUE(backend.apply(servers({ "192.0.2.53" })));
    EXPECT_EQ(nameserversIn(readFile(directory / "state" / "resolv.conf")),
        std::vector<std::string> { "192.0.2.53" });
    ASSERT_TRUE(backend.restore(*snapshot));
    EXPECT_FALSE(std::filesystem::exists(directory / "state" / "resolv.conf"));
    EXPECT_TRUE(std::filesystem::is_symlink(path));
}

TEST_F(ResolvConfTest, ASymlinkLoopIsNetworkApplyFailed)
{
    std::filesystem::create_symlink("b", path);
    std::filesystem::create_symlink("resolv.conf", directory / "b");
    auto applied = backend.apply(servers({ "192.0.2.53" }));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
}

TEST_F(ResolvConfTest, ASymlinkIntoSystemdResolveIsRefusedWithAdvice)
{
    std::filesystem::create_symlink("/run/systemd/resolve/stub-resolv.conf", path);
    auto applied = backend.apply(servers({ "192.0.2.53" }));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_NE(applied.error().message.find("dns.backend"), std::string::npos) << applied.error().message;
    EXPECT_TRUE(std::filesystem::is_symlink(path));
}

TEST_F(ResolvConfTest, AMissingDirectoryIsNetworkApplyFailedNamingThePath)
{
    ResolvConfBackend missing(directory / "absent" / "resolv.conf");
    auto applied = missing.apply(servers({ "192.0.2.53" }));
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().reason, ReasonCode::NetworkApplyFailed);
    EXPECT_EQ(applied.error().check, Check::NetworkApply);
    EXPECT_NE(applied.error().message.find((directory / "absent").string()), std::string::npos)
        << applied.error().message;
}

TEST_F(ResolvConfTest, ServersInForceAreTheFilesNameservers)
{
    writeFile(
        path, "# comment\nnameserver 192.0.2.1\nnameserver\t2001:db8::2 \nnameservers 1.1.1.1\nsearch x\n");
    auto inForce = backend.serversInForce(7);
    ASSERT_TRUE(inForce);
    EXPECT_EQ(*inForce, (std::vector<std::string> { "192.0.2.1", "2001:db8::2" }));
}

TEST(DnsSelection, AutoPicksResolvedOnlyForASymlinkIntoRunSystemdResolve)
{
    TemporaryDirectory directory;
    Options options;
    options.backend = BackendChoice::Auto;

    options.resolvConfPath = directory / "regular";
    writeFile(options.resolvConfPath, "nameserver 192.0.2.1\n");
    EXPECT_EQ(effectiveDnsBackend(options), BackendChoice::ResolvConf);

    options.resolvConfPath = directory / "absolute";
    std::filesystem::create_symlink("/run/systemd/resolve/stub-resolv.conf", options.resolvConfPath);
    EXPECT_EQ(effectiveDnsBackend(options), BackendChoice::Resolved);

    // Relative, as Debian's systemd-resolved package links it from /etc.
    options.resolvConfPath = directory / "relative";
    std::string upwards;
    for (auto part = directory.path().begin(); part != directory.path().end(); ++part) {
        if (*part != "/") {
            upwards += "../";
        }
    }
    std::filesystem::create_symlink(upwards + "run/systemd/resolve/resolv.conf", options.resolvConfPath);
    EXPECT_EQ(effectiveDnsBackend(options), BackendChoice::Resolved);

    options.resolvConfPath = directory / "elsewhere";
    std::filesystem::create_symlink("/run/resolvconf/resolv.conf", options.resolvConfPath);
    EXPECT_EQ(effectiveDnsBackend(options), BackendChoice::ResolvConf);

    options.resolvConfPath = directory / "lookalike";
    std::filesystem::create_symlink("/run/systemd/resolvers/x", options.resolvConfPath);
    EXPECT_EQ(effectiveDnsBackend(options), BackendChoice::ResolvConf);

    options.backend = BackendChoice::None;
    auto none = makeDnsBackend(options);
    ASSERT_TRUE(none);
    EXPECT_EQ((*none)->name(), "none");

    options.backend = BackendChoice::Auto;
    options.resolvConfPath = directory / "regular";
    auto file = makeDnsBackend(options);
    ASSERT_TRUE(file);
    EXPECT_EQ((*file)->name(), "resolv.conf");
}

} // namespace
} // namespace omni::dns
