#pragma once
// The whole-daemon harness, shared by the end-to-end test (daemon_test.cpp)
// and the daemon benchmark (tests/bench/bench_daemon.cpp): the real
// omni-provisiond binary, started in a network namespace of its own under
// umockdev's preload library, with a umockdev test bed that describes a USB 3
// mass-storage stick on the configured connector. The stick's block device
// names a REAL loop device (DEVNAME=/dev/loopN) backed by an ext4 image: umockdev
// redirects what the daemon reads under /sys and /dev, but mount(2) is a plain
// syscall, so the daemon mounts the real image. The daemon is observed only
// from outside: status.json, iproute2, the image's files, mountinfo and its
// log (stderr, plain lines).
//
// Errors of the harness itself (a tool that fails, a file that cannot be
// written) are thrown as std::runtime_error: gtest reports them as the test's
// failure, and the benchmark stops with them.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/types.h>

typedef struct _UMockdevTestbed UMockdevTestbed;

namespace omni::testing::daemon_harness {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline const std::string kConnector = "pci-0000:00:14.0-usb-0:1";
inline const std::string kStickIdPath = kConnector + ":1.0-scsi-0:0:0:0";
inline const std::string kStaticAddress = "10.77.0.5";
inline const std::string kStaticGateway = "10.77.0.1";

std::string readWholeFile(const fs::path& path);
void writeWholeFile(const fs::path& path, const std::string& content);

// Polls `done` until it holds or the deadline passes; the condition is the
// point, the short pause between looks only keeps the CPU for the daemon.
bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);

std::size_t countOccurrences(const std::string& text, const std::string& needle);

// Re-executes this program with umockdev's preload library when it runs
// without it (umockdev_testbed_uevent() looks the device up through libudev
// in THIS process), then takes it out of the environment again so that the
// tools it runs (losetup, mkfs, ip, the CLI) see the real /sys; only the
// daemon gets it back, explicitly. Returns nullopt when the program may go on,
// else why it cannot (the caller skips with 77).
std::optional<std::string> ensurePreload(char** argv);

// Root, loop devices, mkfs.ext4, network namespaces; then moves this process
// into a private mount namespace (inherited by the daemons it starts) so
// that nothing mounted here outlives it. nullopt when all is well.
std::optional<std::string> prepareHarness();

// `omni-provision ARGS`; throws when it exits otherwise than `expectedExit`.
std::string cli(const std::vector<std::string>& arguments, int expectedExit = 0);

// A test CA made with the real CLI (`ca init`).
struct TestCa {
    std::string directory;
    std::string root() const { return directory + "/root.pem"; }
};
TestCa makeCa(const fs::path& directory);

nlohmann::json staticEthernet(const std::string& address, const std::string& gateway);

// An archive for `deviceName` issued with `create-device` by `ca` into
// work/<deviceName>-out; Ethernet0 as given (default: STATIC_IP kStaticAddress/24).
fs::path issueArchive(const fs::path& work, const TestCa& ca, const std::string& deviceName,
    const nlohmann::json& ethernet0 = staticEthernet(kStaticAddress, kStaticGateway));

using FileTree = std::map<std::string, std::string>; // relative path -> content
FileTree readTree(const fs::path& root);

// An ext4 image (mkfs.ext4 -d) on a loop device, detached at the end. It
// holds the archives in its root plus a few files of a technician's stick.
class LoopStick {
public:
    LoopStick(
        const fs::path& work, const std::vector<fs::path>& archives, const std::string& label = "stick");
    ~LoopStick();
    LoopStick(const LoopStick&) = delete;
    LoopStick& operator=(const LoopStick&) = delete;

    const std::string& device() const { return device_; }
    std::string majorMinor() const;
    const FileTree& original() const { return original_; }

    // What is on the stick now, read through a read-only mount of our own.
    FileTree currentFiles(const fs::path& work) const;

    // Replaces the archives in the root (the receipts and other files stay),
    // through a read-write mount of our own, then drops the device's cached
    // blocks so the daemon reads from the "stick" again.
    void replaceArchives(const fs::path& work, const std::vector<fs::path>& archives);

    // The stick is pulled: its backing file is emptied and the loop device
    // shrunk to nothing, so every read that is not cached fails with EIO (a
    // mounted filesystem stays mounted, as on a real pull).
    void yank();

private:
    fs::path image_;
    std::string device_;
    unsigned major_ = 0;
    unsigned minor_ = 0;
    FileTree original_;
};

// The umockdev test bed: the xHCI controller of the udev driver's fixture,
// its SuperSpeed port 1 paired with High-Speed port 3, and (on plug()) a
// USB 3 stick on that port whose block device is the loop device.
class MockUsb {
public:
    MockUsb();
    ~MockUsb();
    MockUsb(const MockUsb&) = delete;
    MockUsb& operator=(const MockUsb&) = delete;

    const std::string& root() const { return root_; }
    // Plugs `stick` into the connector: the first call adds the USB device
    // chain (umockdev announces each new device with an "add" uevent, as the
    // kernel does; before the daemon starts nobody hears it, which makes a
    // stick present at boot); a later call points the block device at
    // another loop device and announces it with "add".
    void plug(const LoopStick& stick);
    void uevent(const char* action);

private:
    UMockdevTestbed* testbed_;
    std::string root_;
    std::string blockSyspath_;
};

// The daemon's configuration file, written by render().
struct DaemonConfig {
    std::string connector = kConnector;
    std::vector<std::string> anchors;
    std::string ethernet0 = "eth0";
    std::string ethernet1 = "eth1";
    std::string expectedName;
    std::string stateDirectory;
    std::string runtimeDirectory;
    std::string dhcpHookPath; // empty: the built-in default
    std::string render() const;
};

// A system call the traced daemon is about to make.
struct SyscallEntry {
    long number = -1;
    std::uint64_t arguments[6] {};
};

// Memory of another process (process_vm_readv): a C string of at most `limit` bytes, and raw bytes.
std::string readRemoteString(pid_t pid, std::uint64_t address, std::size_t limit = 4096);
std::string readRemoteBytes(pid_t pid, std::uint64_t address, std::size_t size);

// omni-provisiond as a child process: joined to a network namespace, with
// stdout and stderr into a log file, and (when testbedRoot is set) under
// umockdev's preload library with that test bed.
class DaemonProcess {
public:
    struct Launch {
        std::string configFile;
        std::string namespaceName;
        std::string testbedRoot; // empty: the real /sys and /dev
        std::string logFile;
        std::vector<std::string> environment; // extra NAME=VALUE entries (NOTIFY_SOCKET, ...)
    };
    explicit DaemonProcess(const Launch& launch);
    ~DaemonProcess();
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    pid_t pid() const { return pid_; }
    // The steady-clock time just before fork().
    std::chrono::steady_clock::time_point startedAt() const { return startedAt_; }
    bool running();
    std::optional<int> exitStatus() const { return exitStatus_; }
    // True when the daemon has exited within `timeout`.
    bool waitForExit(std::chrono::milliseconds timeout);

    // Everything the daemon has written so far.
    const std::string& log();
    // Waits until the log holds `count` occurrences of `needle`; false when
    // the daemon died or the deadline passed first.
    bool waitForLog(
        const std::string& needle, std::size_t count = 1, std::chrono::milliseconds timeout = 10s);

    int openFdCount() const;
    // A line of /proc/PID/status, e.g. "VmRSS" -> "5412 kB".
    std::string procStatus(const std::string& field) const;

    // Stops the daemon (ptrace) where it is, runs `trigger` while it is held,
    // then lets it run until it enters the first system call that `match`
    // accepts, runs `atStop` while it is held at that entry, and detaches (the
    // call then proceeds). False when the daemon exited or `timeout` passed
    // first (the daemon is then killed). This is how a test acts at an exact
    // point of the daemon's work instead of at a time.
    bool holdAtSyscall(const std::function<void()>& trigger,
        const std::function<bool(const SyscallEntry&)>& match, const std::function<void()>& atStop,
        std::chrono::milliseconds timeout = 20s);

private:
    std::string logFile_;
    std::string log_;
    pid_t pid_ = -1;
    std::chrono::steady_clock::time_point startedAt_;
    std::optional<int> exitStatus_;
};

// A datagram socket for sd_notify messages (NOTIFY_SOCKET=path), bound on
// construction, removed on destruction.
class NotifySocket {
public:
    using Clock = std::chrono::steady_clock;
    explicit NotifySocket(const std::string& path);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    const std::string& path() const { return path_; }
    // The next message within `timeout`, with the time it arrived.
    std::optional<std::pair<std::string, Clock::time_point>> next(std::chrono::milliseconds timeout);
    // Messages until one holds `needle`; the time it arrived.
    std::optional<Clock::time_point> waitFor(const std::string& needle, std::chrono::milliseconds timeout);
    void drain();

private:
    std::string path_;
    int fd_ = -1;
};

// Mount points (from /proc/PID/mountinfo, `pid` 0 = this process) whose
// source is `device` or that lie under `directory`.
std::vector<std::string> mountsOf(const std::string& device, const std::string& directory, pid_t pid = 0);

} // namespace omni::testing::daemon_harness
