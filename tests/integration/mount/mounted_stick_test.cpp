// The mount driver against real mounts: ext4 images (this kernel has no
// vfat) made with mkfs.ext4 -d, attached to loop devices. Needs root; runs
// in a mount namespace of its own so nothing it mounts outlives it. Exits 77
// with the reason when it cannot run.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemon/core/digest/digest.hpp"
#include "drivers/mount/mounted_stick.hpp"
#include "tests/support/process.hpp"

namespace omni::mount {
namespace {

namespace fs = std::filesystem;
using omni::testing::runProcess;
using omni::testing::TemporaryDirectory;

std::string losetupPath;
std::string mkfsPath;

void writeFile(const fs::path& path, const std::string& content)
{
    std::ofstream out(path, std::ios::binary);
    out << content;
}

// An ext4 image of the files fill() puts in a directory (mkfs.ext4 -d: no
// mount needed to fill it).
std::string makeImage(const TemporaryDirectory& work, const std::function<void(const fs::path&)>& fill,
    const std::string& inodes = "4096")
{
    const fs::path content = fs::path(work.path()) / "content";
    fs::create_directories(content);
    fill(content);
    const std::string image = work / "stick.img";
    std::ofstream(image).close();
    if (::truncate(image.c_str(), 64 * 1024 * 1024) != 0)
        ADD_FAILURE() << "truncate " << image << ": " << std::strerror(errno);
    const auto made = runProcess({ mkfsPath, "-q", "-F", "-N", inodes, "-d", content.string(), image });
    EXPECT_EQ(made.exitCode, 0) << made.err;
    return image;
}

// A loop device for an image, detached on every path out of the test.
class LoopDevice {
public:
    explicit LoopDevice(const std::string& image)
    {
        const auto attached = runProcess({ losetupPath, "--find", "--show", image });
        if (attached.exitCode != 0) {
            ADD_FAILURE() << "losetup --find --show " << image << ": " << attached.err;
            return;
        }
        path_ = attached.out.substr(0, attached.out.find('\n'));
    }
    ~LoopDevice() { detach(); }
    LoopDevice(const LoopDevice&) = delete;
    LoopDevice& operator=(const LoopDevice&) = delete;

    const std::string& path() const { return path_; }
    std::string kernelName() const { return fs::path(path_).filename().string(); }
    bool attached() const
    {
        return !path_.empty() && fs::exists("/sys/block/" + kernelName() + "/loop/backing_file");
    }
    // losetup -d: on a mounted device the kernel only marks it to be freed
    // when the last user (the mount) lets go.
    void detach()
    {
        if (!path_.empty() && attached())
            runProcess({ losetupPath, "-d", path_ });
    }

private:
    std::string path_;
};

struct MountInfo {
    std::set<std::string> mountOptions;
    std::set<std::string> superOptions;
    std::string filesystemType;
};

std::set<std::string> splitOptions(const std::string& text)
{
    std::set<std::string> options;
    std::stringstream stream(text);
    for (std::string option; std::getline(stream, option, ',');)
        options.insert(option);
    return options;
}

// The entry of /proc/self/mountinfo for a mount point, if it is mounted.
std::optional<MountInfo> mountInfo(const fs::path& mountPoint)
{
    std::ifstream file("/proc/self/mountinfo");
    for (std::string line; std::getline(file, line);) {
        std::stringstream fields(line);
        std::string id, parent, devices, root, point, options;
        fields >> id >> parent >> devices >> root >> point >> options;
        if (point != mountPoint.string())
            continue;
        std::string field;
        while (fields >> field && field != "-") { }
        MountInfo info;
        std::string source, superOptions;
        fields >> info.filesystemType >> source >> superOptions;
        info.mountOptions = splitOptions(options);
        info.superOptions = splitOptions(superOptions);
        return info;
    }
    return std::nullopt;
}

// SHA-256 of every regular file under a directory, by relative path.
std::map<std::string, std::string> hashTree(const fs::path& root)
{
    std::map<std::string, std::string> hashes;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (!fs::is_regular_file(entry.symlink_status()))
            continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream content;
        content << in.rdbuf();
        hashes[fs::relative(entry.path(), root).string()] = digest::sha256Hex(content.str());
    }
    return hashes;
}

std::string patterned(std::size_t size)
{
    std::string content(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        content[i] = static_cast<char>('a' + (i * 7) % 26);
    return content;
}

class MountedStickTest : public ::testing::Test {
protected:
    TemporaryDirectory work;
    fs::path runtime = fs::path(work.path()) / "run";

    MountedStick mountImage(const LoopDevice& loop)
    {
        auto stick = MountedStick::mountReadOnly(loop.path(), loop.kernelName(), "ext4", runtime);
        if (!stick) {
            ADD_FAILURE() << stick.error().message;
            throw std::runtime_error("mount failed");
        }
        return std::move(*stick);
    }
};

void fillTypical(const fs::path& content)
{
    writeFile(content / "certificates-omni_cam-01.zip", patterned(4000));
    writeFile(content / "notes.txt", "hello\n");
    fs::create_directory(content / "folder");
    writeFile(content / "folder" / "inside.txt", "inside\n");
    fs::create_symlink("certificates-omni_cam-01.zip", content / "certificates-omni_link.zip");
    ::mkfifo((content / "certificates-omni_fifo.zip").c_str(), 0644);
    fs::create_directory(content / "certificates-omni_dir.zip");
}

TEST_F(MountedStickTest, MountsReadOnlyWithRestrictiveFlags)
{
    LoopDevice loop(makeImage(work, fillTypical));
    MountedStick stick = mountImage(loop);

    EXPECT_EQ(stick.mountPoint(), runtime / "media" / loop.kernelName());
    const auto info = mountInfo(stick.mountPoint());
    ASSERT_TRUE(info) << stick.mountPoint() << " is not in /proc/self/mountinfo";
    EXPECT_EQ(info->filesystemType, "ext4");
    for (const char* option : { "ro", "nosuid", "nodev", "noexec", "noatime" })
        EXPECT_TRUE(info->mountOptions.count(option)) << "mount options lack " << option;
    EXPECT_TRUE(info->superOptions.count("ro"));

    for (const fs::path& directory : { runtime, runtime / "media" }) {
        struct stat status { };
        ASSERT_EQ(::lstat(directory.c_str(), &status), 0);
        EXPECT_EQ(status.st_mode & 07777, 0700u) << directory;
    }
    ASSERT_GE(stick.directoryFd(), 0);
    const int created = ::openat(stick.directoryFd(), "new.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    EXPECT_LT(created, 0);
    EXPECT_EQ(errno, EROFS);
}

TEST_F(MountedStickTest, ListsRootEntriesWithoutFollowingThem)
{
    LoopDevice loop(makeImage(work, fillTypical));
    MountedStick stick = mountImage(loop);

    const auto listing = stick.listRoot();
    ASSERT_TRUE(listing) << listing.error().message;
    EXPECT_FALSE(listing->truncated);
    std::map<std::string, StickEntry> byName;
    for (const auto& entry : listing->entries)
        byName[entry.name] = entry;
    EXPECT_FALSE(byName.count(".") || byName.count(".."));
    ASSERT_TRUE(byName.count("certificates-omni_cam-01.zip"));
    EXPECT_TRUE(byName["certificates-omni_cam-01.zip"].isRegularFile);
    EXPECT_EQ(byName["certificates-omni_cam-01.zip"].size, 4000u);
    EXPECT_TRUE(byName["notes.txt"].isRegularFile);
    for (const char* notRegular : { "certificates-omni_link.zip", "certificates-omni_fifo.zip",
             "certificates-omni_dir.zip", "folder" }) {
        ASSERT_TRUE(byName.count(notRegular)) << notRegular;
        EXPECT_FALSE(byName[notRegular].isRegularFile) << notRegular;
    }
}

TEST_F(MountedStickTest, ListingStopsAfterTheLimitWithAWarning)
{
    // mkfs.ext4 -d links directory entries one at a time (quadratic: half a
    // minute for 10,000 files); the kernel fills the image in two seconds.
    LoopDevice loop(makeImage(
        work, [](const fs::path&) {}, "12000"));
    const fs::path filling = fs::path(work.path()) / "filling";
    fs::create_directories(filling);
    ASSERT_EQ(::mount(loop.path().c_str(), filling.c_str(), "ext4", 0, nullptr), 0) << std::strerror(errno);
    for (int i = 0; i < 10'050; ++i)
        writeFile(filling / ("file-" + std::to_string(i)), "");
    ASSERT_EQ(::umount2(filling.c_str(), 0), 0) << std::strerror(errno);
    MountedStick stick = mountImage(loop);

    const auto listing = stick.listRoot();
    ASSERT_TRUE(listing) << listing.error().message;
    EXPECT_EQ(listing->entries.size(), maxListedEntries);
    EXPECT_TRUE(listing->truncated);
    EXPECT_NE(listing->warning.find("10000"), std::string::npos) << listing->warning;

    const auto small = stick.listRoot(5);
    ASSERT_TRUE(small);
    EXPECT_EQ(small->entries.size(), 5u);
    EXPECT_TRUE(small->truncated);
}

TEST_F(MountedStickTest, ReadsAreBoundedAndOnlyRegularFiles)
{
    LoopDevice loop(makeImage(work, [](const fs::path& content) {
        fillTypical(content);
        writeFile(content / "exactly-limit.zip", patterned(maxFileBytes));
        writeFile(content / "one-over.zip", patterned(maxFileBytes + 1));
        writeFile(content / "two-mib.zip", patterned(2 * 1024 * 1024));
    }));
    MountedStick stick = mountImage(loop);

    const auto archive = stick.readFile("certificates-omni_cam-01.zip");
    ASSERT_TRUE(archive) << archive.error().message;
    EXPECT_EQ(*archive, patterned(4000));

    const auto atLimit = stick.readFile("exactly-limit.zip");
    ASSERT_TRUE(atLimit) << atLimit.error().message;
    EXPECT_EQ(atLimit->size(), maxFileBytes);

    for (const char* name : { "one-over.zip", "two-mib.zip" }) {
        const auto refused = stick.readFile(name);
        ASSERT_FALSE(refused) << name;
        EXPECT_EQ(refused.error().reason, ReasonCode::ArchiveTooLarge);
        EXPECT_EQ(refused.error().check, Check::FileSize);
        EXPECT_EQ(refused.error().where, name);
    }
    EXPECT_NE(stick.readFile("two-mib.zip").error().message.find("2097152 bytes"), std::string::npos);

    const auto small = stick.readFile("notes.txt", 3);
    ASSERT_FALSE(small);
    EXPECT_EQ(small.error().reason, ReasonCode::ArchiveTooLarge);

    struct NotReadable {
        const char* name;
        const char* mention;
    };
    for (const auto& [name, mention] : { NotReadable { "certificates-omni_link.zip", "symbolic link" },
             NotReadable { "certificates-omni_fifo.zip", "not a regular file" },
             NotReadable { "certificates-omni_dir.zip", "not a regular file" },
             NotReadable { "missing.zip", "not on the stick" } }) {
        const auto refused = stick.readFile(name);
        ASSERT_FALSE(refused) << name;
        EXPECT_EQ(refused.error().reason, ReasonCode::ArchiveNotFound) << name;
        EXPECT_NE(refused.error().message.find(mention), std::string::npos) << refused.error().message;
    }
    for (const char* outside : { "folder/inside.txt", "..", "", "." })
        EXPECT_FALSE(stick.readFile(outside)) << outside;
}

TEST_F(MountedStickTest, ReportWriteTouchesNoOtherFileAndEndsReadOnly)
{
    LoopDevice loop(makeImage(work, fillTypical));
    MountedStick stick = mountImage(loop);
    const auto before = hashTree(stick.mountPoint());
    ASSERT_FALSE(before.empty());
    const auto listedBefore = stick.listRoot();
    ASSERT_TRUE(listedBefore);

    const std::vector<ReportFile> report { { "omni-provision-report_cam-01.txt", "Verdict: ACCEPT\n" },
        { "omni-provision-report_cam-01.json", "{\"Verdict\": \"ACCEPT\"}\n" } };
    const auto written = stick.writeReport(report);
    ASSERT_TRUE(written) << written.error().message;

    const auto info = mountInfo(stick.mountPoint());
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->mountOptions.count("ro"));
    for (const char* option : { "nosuid", "nodev", "noexec", "noatime" })
        EXPECT_TRUE(info->mountOptions.count(option)) << option;

    auto after = hashTree(stick.mountPoint());
    for (const auto& file : report) {
        const auto read = stick.readFile(file.name);
        ASSERT_TRUE(read) << read.error().message;
        EXPECT_EQ(*read, file.content);
        EXPECT_EQ(after.erase(file.name), 1u);
    }
    EXPECT_EQ(after, before);
    const auto listedAfter = stick.listRoot();
    ASSERT_TRUE(listedAfter);
    EXPECT_EQ(listedAfter->entries.size(), listedBefore->entries.size() + report.size())
        << "a temporary file remained";

    // A second attempt replaces the report, still touching nothing else.
    ASSERT_TRUE(stick.writeReport({ { "omni-provision-report_cam-01.txt", "Verdict: REJECT\n" } }));
    EXPECT_EQ(*stick.readFile("omni-provision-report_cam-01.txt"), "Verdict: REJECT\n");
    auto again = hashTree(stick.mountPoint());
    again.erase("omni-provision-report_cam-01.txt");
    again.erase("omni-provision-report_cam-01.json");
    EXPECT_EQ(again, before);
}

TEST_F(MountedStickTest, FailedReportWriteStillEndsReadOnly)
{
    LoopDevice loop(makeImage(work, [](const fs::path& content) {
        fillTypical(content);
        fs::create_directory(content / "omni-provision-report_unknown.txt");
    }));
    MountedStick stick = mountImage(loop);
    const auto before = hashTree(stick.mountPoint());

    const auto written = stick.writeReport({ { "omni-provision-report_unknown.txt", "text" } });
    ASSERT_FALSE(written);
    EXPECT_NE(written.error().message.find("omni-provision-report_unknown.txt"), std::string::npos)
        << written.error().message;
    const auto info = mountInfo(stick.mountPoint());
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->mountOptions.count("ro"));
    EXPECT_EQ(hashTree(stick.mountPoint()), before);
    const auto listing = stick.listRoot();
    ASSERT_TRUE(listing);
    for (const auto& entry : listing->entries)
        EXPECT_EQ(entry.name.find(".omni-tmp"), std::string::npos) << entry.name;
}

TEST_F(MountedStickTest, WindowClosedOnScopeExitAndRenameRefusesToReplace)
{
    LoopDevice loop(makeImage(work, fillTypical));
    MountedStick stick = mountImage(loop);
    {
        auto window = stick.openForWriting();
        ASSERT_TRUE(window) << window.error().message;
        EXPECT_FALSE(mountInfo(stick.mountPoint())->mountOptions.count("ro"));
        EXPECT_FALSE(stick.openForWriting()) << "one window at a time";
        ASSERT_TRUE(window->rename("certificates-omni_cam-01.zip", "certificates-omni_cam-01.zip.applied"));
        const auto replacing = window->rename("notes.txt", "certificates-omni_cam-01.zip.applied");
        ASSERT_FALSE(replacing);
        EXPECT_NE(replacing.error().message.find("File exists"), std::string::npos)
            << replacing.error().message;
    }
    EXPECT_TRUE(mountInfo(stick.mountPoint())->mountOptions.count("ro"));
    EXPECT_TRUE(stick.readFile("certificates-omni_cam-01.zip.applied"));
    EXPECT_EQ(*stick.readFile("notes.txt"), "hello\n");
}

TEST_F(MountedStickTest, UnmountsOnScopeExit)
{
    LoopDevice loop(makeImage(work, fillTypical));
    fs::path mountPoint;
    {
        MountedStick stick = mountImage(loop);
        mountPoint = stick.mountPoint();
        ASSERT_TRUE(mountInfo(mountPoint));
        MountedStick moved = std::move(stick);
        EXPECT_FALSE(stick.mounted());
        EXPECT_TRUE(moved.mounted());
    }
    EXPECT_FALSE(mountInfo(mountPoint));
    EXPECT_FALSE(fs::exists(mountPoint));
    EXPECT_TRUE(fs::exists(runtime / "media"));
}

TEST_F(MountedStickTest, BusyMountIsDetachedLazily)
{
    LoopDevice loop(makeImage(work, fillTypical));
    MountedStick stick = mountImage(loop);
    const fs::path mountPoint = stick.mountPoint();
    const int busy = ::openat(stick.directoryFd(), "notes.txt", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(busy, 0);

    const auto method = stick.unmount();
    ASSERT_TRUE(method) << method.error().message;
    EXPECT_EQ(*method, UnmountMethod::LazyDetach);
    EXPECT_FALSE(mountInfo(mountPoint));
    EXPECT_FALSE(fs::exists(mountPoint));
    char buffer[16] = {};
    EXPECT_EQ(::read(busy, buffer, sizeof buffer), 6)
        << "a detached mount stays readable to whoever holds it";
    ::close(busy);
    EXPECT_TRUE(stick.unmount()) << "a second unmount is harmless";
}

TEST_F(MountedStickTest, LoopDeviceDetachedWhileMounted)
{
    LoopDevice loop(makeImage(work, fillTypical));
    MountedStick stick = mountImage(loop);
    const fs::path mountPoint = stick.mountPoint();

    loop.detach();
    ASSERT_TRUE(loop.attached()) << "the kernel keeps a mounted loop device until the mount lets go";
    const auto method = stick.unmount();
    ASSERT_TRUE(method) << method.error().message;
    EXPECT_FALSE(mountInfo(mountPoint));
    EXPECT_FALSE(fs::exists(mountPoint));
    EXPECT_FALSE(loop.attached()) << "unmounting released the detached loop device";
}

TEST_F(MountedStickTest, DeviceNodeGoneMeansLazyDetach)
{
    LoopDevice loop(makeImage(work, fillTypical));
    struct stat device { };
    ASSERT_EQ(::stat(loop.path().c_str(), &device), 0);
    // Our own node for the loop device, so the test can make it vanish the
    // way /dev/sdb1 does when a stick is pulled.
    const std::string node = work / "stick-node";
    ASSERT_EQ(::mknod(node.c_str(), S_IFBLK | 0600, device.st_rdev), 0) << std::strerror(errno);
    auto stick = MountedStick::mountReadOnly(node, "sdz1", "ext4", runtime);
    ASSERT_TRUE(stick) << stick.error().message;
    ASSERT_TRUE(stick->readFile("notes.txt"));

    ASSERT_EQ(::unlink(node.c_str()), 0);
    const auto method = stick->unmount();
    ASSERT_TRUE(method) << method.error().message;
    EXPECT_EQ(*method, UnmountMethod::LazyDetach);
    EXPECT_FALSE(mountInfo(runtime / "media" / "sdz1"));
}

TEST_F(MountedStickTest, MountFailuresNameTheStepAndLeaveNoMountPoint)
{
    LoopDevice loop(makeImage(work, fillTypical));
    const auto wrongType = MountedStick::mountReadOnly(loop.path(), loop.kernelName(), "nosuchfs", runtime);
    ASSERT_FALSE(wrongType);
    EXPECT_NE(wrongType.error().message.find("mounting " + loop.path() + " (nosuchfs) read-only"),
        std::string::npos)
        << wrongType.error().message;
    EXPECT_NE(wrongType.error().message.find(std::strerror(ENODEV)), std::string::npos)
        << wrongType.error().message;
    EXPECT_FALSE(fs::exists(runtime / "media" / loop.kernelName()));

    EXPECT_FALSE(MountedStick::mountReadOnly(loop.path(), "../escape", "ext4", runtime));
    EXPECT_FALSE(MountedStick::mountReadOnly(loop.path(), "", "ext4", runtime));
    EXPECT_FALSE(MountedStick::mountReadOnly(loop.path(), loop.kernelName(), "", runtime));
}

TEST_F(MountedStickTest, MountCyclesLeakNoFd)
{
    LoopDevice loop(makeImage(work, fillTypical));
    auto cycle = [&] {
        MountedStick stick = mountImage(loop);
        ASSERT_TRUE(stick.listRoot());
        ASSERT_TRUE(stick.readFile("certificates-omni_cam-01.zip"));
        ASSERT_TRUE(stick.writeReport({ { "omni-provision-report_cam-01.txt", "report" } }));
    };
    cycle();
    std::size_t before = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd"))
        ++before;
    for (int i = 0; i < 20; ++i)
        cycle();
    std::size_t after = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd"))
        ++after;
    EXPECT_EQ(after, before);
    EXPECT_FALSE(mountInfo(runtime / "media" / loop.kernelName()));
}

TEST(MountData, FatAndExfatOwnedByRootWithUtf8Names)
{
    EXPECT_EQ(mountDataFor("vfat"), "uid=0,gid=0,umask=077,utf8");
    EXPECT_EQ(mountDataFor("exfat"), "uid=0,gid=0,umask=077,iocharset=utf8");
    EXPECT_EQ(mountDataFor("ext4"), "");
}

} // namespace
} // namespace omni::mount

int main(int argc, char** argv)
{
    using omni::mount::losetupPath;
    using omni::mount::mkfsPath;
    auto skip = [](const std::string& reason) {
        std::printf("SKIP: %s\n", reason.c_str());
        return 77;
    };
    if (::geteuid() != 0)
        return skip("mount tests need root (loop devices and mount(2))");
    losetupPath = omni::testing::firstExecutable({ "/usr/sbin/losetup", "/sbin/losetup" });
    mkfsPath = omni::testing::firstExecutable({ "/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4" });
    if (losetupPath.empty() || mkfsPath.empty())
        return skip("losetup (util-linux) and mkfs.ext4 (e2fsprogs) are needed");
    if (::access("/dev/loop-control", F_OK) != 0)
        return skip("no /dev/loop-control: this kernel has no loop devices");
    std::ifstream filesystems("/proc/filesystems");
    const std::string known((std::istreambuf_iterator<char>(filesystems)), std::istreambuf_iterator<char>());
    if (known.find("\text4\n") == std::string::npos)
        return skip("this kernel has no ext4");
    // Everything mounted here stays in this process's namespace.
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return skip(std::string("cannot make a private mount namespace: ") + std::strerror(errno));
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
