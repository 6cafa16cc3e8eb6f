#include "tests/integration/daemon/daemon_harness.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <umockdev.h>
#include <unistd.h>

#include "tests/integration/network/netns.hpp"
#include "tests/support/process.hpp"

extern char** environ;

namespace omni::testing::daemon_harness {
namespace {

std::string losetupPath;
std::string mkfsPath;

[[noreturn]] void fail(const std::string& what)
{
    throw std::runtime_error(what);
}

std::string run(const std::vector<std::string>& argv)
{
    const auto result = runProcess(argv);
    if (result.exitCode != 0) {
        std::string command;
        for (const auto& argument : argv)
            command += (command.empty() ? "" : " ") + argument;
        fail(command + " exited " + std::to_string(result.exitCode) + ": " + result.err);
    }
    return result.out;
}

bool preloadActive()
{
    return readWholeFile("/proc/self/maps").find("libumockdev-preload") != std::string::npos;
}

// Writes the root of a stick: the archives plus what a technician's stick holds.
void fillStickContent(const fs::path& content, const std::vector<fs::path>& archives)
{
    fs::create_directories(content / "docs");
    for (const auto& archive : archives)
        fs::copy_file(archive, content / archive.filename(), fs::copy_options::overwrite_existing);
    writeWholeFile(content / "README.txt", "Plug me into the USB 3.0 port next to HDMI.\n");
    writeWholeFile(content / "docs" / "site-notes.md", "# Site\nrack 4, shelf 2\n");
    std::mt19937 generator(static_cast<unsigned>(::getpid()));
    std::string noise(96 * 1024, '\0');
    for (auto& byte : noise)
        byte = static_cast<char>(generator());
    writeWholeFile(content / "firmware.bin", noise);
}

} // namespace

std::string readWholeFile(const fs::path& path)
{
    return omni::testing::readFile(path.string());
}

void writeWholeFile(const fs::path& path, const std::string& content)
{
    std::ofstream out(path, std::ios::binary);
    out << content;
    out.close();
    if (!out)
        fail("cannot write " + path.string());
}

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

std::size_t countOccurrences(const std::string& text, const std::string& needle)
{
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size()))
        ++count;
    return count;
}

std::optional<std::string> ensurePreload(char** argv)
{
    if (!preloadActive() && !std::getenv("OMNI_DAEMON_TEST_REEXEC")) {
        const char* existing = std::getenv("LD_PRELOAD");
        const std::string preload = std::string("libumockdev-preload.so.0")
            + (existing && *existing ? std::string(":") + existing : "");
        ::setenv("LD_PRELOAD", preload.c_str(), 1);
        ::setenv("OMNI_DAEMON_TEST_REEXEC", "1", 1);
        if (!std::getenv("ASAN_OPTIONS"))
            ::setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
        ::execv("/proc/self/exe", argv);
        return std::string("cannot re-execute with umockdev's preload: ") + std::strerror(errno);
    }
    ::unsetenv("LD_PRELOAD");
    if (!preloadActive())
        return std::string("umockdev's preload library libumockdev-preload.so.0 could not be loaded (apt-get "
                           "install umockdev)");
    return std::nullopt;
}

std::optional<std::string> prepareHarness()
{
    if (::geteuid() != 0)
        return "not root: loop devices, mounts and network namespaces need it";
    const auto libraries = runProcess({ "/sbin/ldconfig", "-p" });
    if (libraries.out.find("libumockdev-preload.so.0") == std::string::npos)
        return "umockdev's preload library libumockdev-preload.so.0 is not installed (apt-get install "
               "umockdev)";
    losetupPath
        = omni::testing::firstExecutable({ "/usr/sbin/losetup", "/sbin/losetup", "/usr/bin/losetup" });
    mkfsPath = omni::testing::firstExecutable({ "/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4" });
    if (losetupPath.empty() || mkfsPath.empty())
        return "losetup or mkfs.ext4 is missing (util-linux, e2fsprogs)";
    if (::access("/dev/loop-control", R_OK | W_OK) != 0)
        return "no /dev/loop-control: loop devices are unavailable here";
    if (const auto why = whyIntegrationCannotRun())
        return why;
    // A private mount namespace: whatever the daemon or the test mounts dies
    // with it, and the host's mount table is never touched.
    if (::unshare(CLONE_NEWNS) != 0)
        return std::string("cannot make a mount namespace: ") + std::strerror(errno);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return std::string("cannot make mounts private: ") + std::strerror(errno);
    return std::nullopt;
}

std::string cli(const std::vector<std::string>& arguments, int expectedExit)
{
    std::vector<std::string> argv { OMNI_CLI_PATH };
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    const auto result = runProcess(argv);
    if (result.exitCode != expectedExit)
        fail("omni-provision " + arguments.front() + " exited " + std::to_string(result.exitCode) + ", not "
            + std::to_string(expectedExit) + ":\n" + result.err + result.out);
    return result.out;
}

TestCa makeCa(const fs::path& directory)
{
    TestCa ca { directory.string() };
    cli({ "ca", "init", ca.directory });
    return ca;
}

nlohmann::json staticEthernet(const std::string& address, const std::string& gateway)
{
    return { { "ConnectionType", "STATIC_IP" },
        { "StaticIpConnectionInfo",
            { { "IpAddress", address }, { "Mask", "255.255.255.0" }, { "DefaultGateway", gateway },
                { "Dns", { gateway } } } } };
}

fs::path issueArchive(
    const fs::path& work, const TestCa& ca, const std::string& deviceName, const nlohmann::json& ethernet0)
{
    const nlohmann::json request { { "Name", deviceName },
        { "NetworkingConfiguration", { { "Ethernet0", ethernet0 } } } };
    const fs::path requestFile = work / (deviceName + "-request.json");
    writeWholeFile(requestFile, request.dump(2));
    const fs::path out = work / (deviceName + "-out");
    fs::create_directories(out);
    cli({ "create-device", "--request", requestFile.string(), "--ca-cert", ca.directory + "/issuing.pem",
        "--ca-key", ca.directory + "/issuing.key", "--chain", ca.directory + "/issuing.pem", "--out",
        out.string() });
    for (const auto& entry : fs::directory_iterator(out))
        if (entry.path().extension() == ".zip")
            return entry.path();
    fail("create-device wrote no .zip into " + out.string());
}

FileTree readTree(const fs::path& root)
{
    FileTree tree;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        const std::string relative = fs::relative(entry.path(), root).string();
        if (relative.rfind("lost+found", 0) == 0)
            continue;
        if (entry.is_regular_file())
            tree[relative] = readWholeFile(entry.path());
    }
    return tree;
}

LoopStick::LoopStick(const fs::path& work, const std::vector<fs::path>& archives, const std::string& label)
{
    const fs::path content = work / (label + "-content");
    fillStickContent(content, archives);
    original_ = readTree(content);

    image_ = work / (label + ".img");
    std::ofstream(image_).close();
    if (::truncate(image_.c_str(), 32 * 1024 * 1024) != 0)
        fail("truncate " + image_.string() + ": " + std::strerror(errno));
    run({ mkfsPath, "-q", "-F", "-d", content.string(), image_.string() });
    const std::string attached = run({ losetupPath, "--find", "--show", image_.string() });
    device_ = attached.substr(0, attached.find('\n'));
    struct stat status { };
    if (::stat(device_.c_str(), &status) != 0 || !S_ISBLK(status.st_mode))
        fail(device_ + " is not a block device");
    major_ = major(status.st_rdev);
    minor_ = minor(status.st_rdev);
}

LoopStick::~LoopStick()
{
    if (!device_.empty())
        runProcess({ losetupPath, "--detach", device_ });
}

std::string LoopStick::majorMinor() const
{
    return std::to_string(major_) + ":" + std::to_string(minor_);
}

FileTree LoopStick::currentFiles(const fs::path& work) const
{
    const fs::path mountPoint = work / "inspect";
    fs::create_directories(mountPoint);
    if (::mount(device_.c_str(), mountPoint.c_str(), "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
            nullptr)
        != 0)
        fail("mounting " + device_ + " read-only: " + std::strerror(errno));
    FileTree tree = readTree(mountPoint);
    if (::umount2(mountPoint.c_str(), 0) != 0)
        fail("unmounting " + mountPoint.string() + ": " + std::strerror(errno));
    return tree;
}

void LoopStick::replaceArchives(const fs::path& work, const std::vector<fs::path>& archives)
{
    const fs::path mountPoint = work / "refill";
    fs::create_directories(mountPoint);
    if (::mount(device_.c_str(), mountPoint.c_str(), "ext4", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
        fail("mounting " + device_ + " read-write: " + std::strerror(errno));
    for (const auto& entry : fs::directory_iterator(mountPoint))
        if (entry.path().extension() == ".zip")
            fs::remove(entry.path());
    for (const auto& archive : archives)
        fs::copy_file(archive, mountPoint / archive.filename());
    if (::umount2(mountPoint.c_str(), 0) != 0)
        fail("unmounting " + mountPoint.string() + ": " + std::strerror(errno));
    // Best effort: the daemon reads the blocks from the image again, not from memory.
    const int device = ::open(device_.c_str(), O_RDONLY | O_CLOEXEC);
    if (device >= 0) {
        ::posix_fadvise(device, 0, 0, POSIX_FADV_DONTNEED);
        ::close(device);
    }
}

void LoopStick::yank()
{
    if (::truncate(image_.c_str(), 0) != 0)
        fail("truncate " + image_.string() + ": " + std::strerror(errno));
    run({ losetupPath, "--set-capacity", device_ });
}

MockUsb::MockUsb()
    : testbed_(umockdev_testbed_new())
{
    GError* error = nullptr;
    const std::string fixture = std::string(OMNI_UDEV_FIXTURES) + "/xhci-controller.umockdev";
    if (!umockdev_testbed_add_from_file(testbed_, fixture.c_str(), &error)) {
        const std::string message = error ? error->message : "unknown error";
        g_clear_error(&error);
        g_object_unref(testbed_);
        fail("loading " + fixture + ": " + message);
    }
    gchar* root = umockdev_testbed_get_root_dir(testbed_);
    root_ = root;
    g_free(root);
    const fs::path controller = fs::path(root_) / "sys/devices/pci0000:00/0000:00:14.0";
    fs::create_directories(controller / "usb2/2-0:1.0/usb2-port1");
    fs::create_directories(controller / "usb1/1-0:1.0/usb1-port3");
    fs::create_symlink("../../../usb1/1-0:1.0/usb1-port3", controller / "usb2/2-0:1.0/usb2-port1/peer");
    fs::create_symlink("../../../usb2/2-0:1.0/usb2-port1", controller / "usb1/1-0:1.0/usb1-port3/peer");
}

MockUsb::~MockUsb()
{
    g_object_unref(testbed_);
}

void MockUsb::plug(const LoopStick& stick)
{
    const std::string usb = "/devices/pci0000:00/0000:00:14.0/usb2/2-1";
    const std::string interface = usb + "/2-1:1.0";
    const std::string host = interface + "/host6";
    const std::string scsi = host + "/target6:0:0/6:0:0:0";
    if (!blockSyspath_.empty()) {
        // Another stick in the same port: the same device chain, another loop device.
        umockdev_testbed_set_property(testbed_, blockSyspath_.c_str(), "DEVNAME", stick.device().c_str());
        umockdev_testbed_set_attribute(testbed_, blockSyspath_.c_str(), "dev", stick.majorMinor().c_str());
        uevent("add");
        return;
    }
    blockSyspath_ = "/sys" + scsi + "/block/sdb";
    const std::string records = "P: " + usb
        + "\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\nE: PRODUCT=951/1666/1\n"
          "A: speed=5000\nA: busnum=2\nA: devpath=1\nA: idVendor=0951\nA: idProduct=1666\n"
          "A: manufacturer=Kingston\nA: product=DataTraveler 3.0\n\n"
          "P: "
        + interface
        + "\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_interface\nE: DRIVER=usb-storage\nA: bInterfaceClass=08\n\n"
          "P: "
        + host + "\nE: SUBSYSTEM=scsi\nE: DEVTYPE=scsi_host\n\n" + "P: " + scsi
        + "\nE: SUBSYSTEM=scsi\nE: DEVTYPE=scsi_device\nE: DRIVER=sd\n\n" + "P: " + scsi + "/block/sdb"
        + "\nE: SUBSYSTEM=block\nE: DEVTYPE=disk\nE: DEVNAME=" + stick.device()
        + "\nE: ID_BUS=usb\nE: ID_VENDOR=Kingston\nE: ID_MODEL=DataTraveler_3.0\nE: ID_PATH=" + kStickIdPath
        + "\nE: USEC_INITIALIZED=1000000\nE: ID_FS_TYPE=ext4\nE: ID_FS_USAGE=filesystem\n"
          "A: size=65536\nA: dev="
        + stick.majorMinor() + "\n\n";
    GError* error = nullptr;
    if (!umockdev_testbed_add_from_string(testbed_, records.c_str(), &error)) {
        const std::string message = error ? error->message : "unknown error";
        g_clear_error(&error);
        blockSyspath_.clear();
        fail("adding the stick: " + message);
    }
}

void MockUsb::uevent(const char* action)
{
    umockdev_testbed_uevent(testbed_, blockSyspath_.c_str(), action);
}

std::string DaemonConfig::render() const
{
    std::string yaml = "schema_version: 1\n"
                       "usb:\n"
                       "  connector_id_path: \""
        + connector
        + "\"\n"
          "  filesystems: [ext4, vfat, exfat]\n"
          "trust:\n"
          "  anchors:\n";
    for (const auto& anchor : anchors)
        yaml += "    - " + anchor + "\n";
    yaml += "device:\n  expected_name: \"" + expectedName
        + "\"\n"
          "interfaces:\n"
          "  Ethernet0:\n"
          "    match: {name: "
        + ethernet0
        + "}\n"
          "  Ethernet1:\n"
          "    match: {name: "
        + ethernet1
        + "}\n"
          "dns:\n"
          "  backend: none\n"
          "ntp:\n"
          "  backend: none\n";
    if (!dhcpHookPath.empty())
        yaml += "dhcp:\n  hook_path: " + dhcpHookPath + "\n";
    yaml += "state:\n  directory: " + stateDirectory + "\n  runtime_directory: " + runtimeDirectory
        + "\nled:\n  name: \"\"\n";
    return yaml;
}

std::string readRemoteBytes(pid_t pid, std::uint64_t address, std::size_t size)
{
    std::string bytes(size, '\0');
    iovec local { bytes.data(), size };
    iovec remote { reinterpret_cast<void*>(address), size };
    const ssize_t got = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    bytes.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return bytes;
}

std::string readRemoteString(pid_t pid, std::uint64_t address, std::size_t limit)
{
    std::string text;
    // Page by page: a string near the end of a mapping must not fail the read.
    while (text.size() < limit) {
        const std::uint64_t at = address + text.size();
        const std::size_t chunk = std::min<std::size_t>(limit - text.size(), 4096 - (at % 4096));
        const std::string bytes = readRemoteBytes(pid, at, chunk);
        const auto end = bytes.find('\0');
        text += bytes.substr(0, end);
        if (end != std::string::npos || bytes.size() < chunk)
            break;
    }
    return text;
}

DaemonProcess::DaemonProcess(const Launch& launch)
    : logFile_(launch.logFile)
{
    std::vector<std::string> environment;
    for (char** variable = environ; *variable; ++variable) {
        const std::string entry = *variable;
        const std::string name = entry.substr(0, entry.find('='));
        // Plain log lines on stderr, our directories, nobody to notify.
        if (name == "JOURNAL_STREAM" || name == "NOTIFY_SOCKET" || name == "WATCHDOG_USEC"
            || name == "WATCHDOG_PID" || name == "STATE_DIRECTORY" || name == "RUNTIME_DIRECTORY"
            || name == "CONFIGURATION_DIRECTORY" || name == "LD_PRELOAD" || name == "UMOCKDEV_DIR"
            || name == "OMNI_DAEMON_TEST_REEXEC")
            continue;
        environment.push_back(entry);
    }
    if (!launch.testbedRoot.empty()) {
        environment.push_back("LD_PRELOAD=libumockdev-preload.so.0");
        environment.push_back("UMOCKDEV_DIR=" + launch.testbedRoot);
        if (!std::getenv("ASAN_OPTIONS"))
            environment.push_back("ASAN_OPTIONS=verify_asan_link_order=0");
    }
    environment.insert(environment.end(), launch.environment.begin(), launch.environment.end());
    const std::vector<std::string> arguments { OMNI_DAEMON_PATH, "--config", launch.configFile };

    std::vector<char*> argv;
    for (const auto& argument : arguments)
        argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& entry : environment)
        envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);

    const int namespaceFd = ::open(("/run/netns/" + launch.namespaceName).c_str(), O_RDONLY | O_CLOEXEC);
    const int logFd = ::open(logFile_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (namespaceFd < 0 || logFd < 0) {
        const int error = errno;
        if (namespaceFd >= 0)
            ::close(namespaceFd);
        if (logFd >= 0)
            ::close(logFd);
        fail("opening the namespace or the log: " + std::string(std::strerror(error)));
    }
    startedAt_ = std::chrono::steady_clock::now();
    pid_ = ::fork();
    if (pid_ == 0) {
        // Only async-signal-safe calls from here on.
        if (::setns(namespaceFd, CLONE_NEWNET) != 0)
            ::_exit(126);
        ::dup2(logFd, STDOUT_FILENO);
        ::dup2(logFd, STDERR_FILENO);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(namespaceFd);
    ::close(logFd);
    if (pid_ < 0)
        fail("fork: " + std::string(std::strerror(errno)));
}

DaemonProcess::~DaemonProcess()
{
    if (running()) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

bool DaemonProcess::running()
{
    if (pid_ <= 0 || exitStatus_)
        return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exitStatus_ = status;
        return false;
    }
    return true;
}

bool DaemonProcess::waitForExit(std::chrono::milliseconds timeout)
{
    return waitUntil([&] { return !running(); }, timeout);
}

const std::string& DaemonProcess::log()
{
    std::ifstream in(logFile_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(log_.size()));
    std::ostringstream more;
    more << in.rdbuf();
    log_ += more.str();
    return log_;
}

bool DaemonProcess::waitForLog(
    const std::string& needle, std::size_t count, std::chrono::milliseconds timeout)
{
    return waitUntil([&] { return countOccurrences(log(), needle) >= count || !running(); }, timeout)
        && countOccurrences(log(), needle) >= count;
}

int DaemonProcess::openFdCount() const
{
    int count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid_) + "/fd"))
        ++count;
    return count;
}

std::string DaemonProcess::procStatus(const std::string& field) const
{
    std::istringstream status(readWholeFile("/proc/" + std::to_string(pid_) + "/status"));
    for (std::string line; std::getline(status, line);)
        if (line.rfind(field + ":", 0) == 0) {
            std::string value = line.substr(field.size() + 1);
            return value.erase(0, value.find_first_not_of(" \t"));
        }
    return "?";
}

bool DaemonProcess::holdAtSyscall(const std::function<void()>& trigger,
    const std::function<bool(const SyscallEntry&)>& match, const std::function<void()>& atStop,
    std::chrono::milliseconds timeout)
{
    if (!running())
        return false;
    if (::ptrace(PTRACE_SEIZE, pid_, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACESYSGOOD)) != 0)
        fail("ptrace(PTRACE_SEIZE) of the daemon: " + std::string(std::strerror(errno)));
    if (::ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr) != 0) {
        const int error = errno;
        ::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);
        fail("ptrace(PTRACE_INTERRUPT) of the daemon: " + std::string(std::strerror(error)));
    }
    // The bound: past the deadline the daemon is killed, which ends the wait below.
    std::mutex mutex;
    std::condition_variable finishedChanged;
    bool finished = false;
    bool expired = false;
    std::thread guard([&] {
        std::unique_lock lock(mutex);
        if (!finishedChanged.wait_for(lock, timeout, [&] { return finished; })) {
            expired = true;
            ::kill(pid_, SIGKILL);
        }
    });

    bool held = false;
    bool attached = true;
    bool triggered = false;
    std::exception_ptr error;
    try {
        while (true) {
            int status = 0;
            if (::waitpid(pid_, &status, __WALL) != pid_)
                fail("waitpid on the traced daemon: " + std::string(std::strerror(errno)));
            if (WIFEXITED(status) || WIFSIGNALED(status)) {
                exitStatus_ = status;
                attached = false;
                break;
            }
            if (!WIFSTOPPED(status))
                continue;
            int deliver = 0;
            const int signal = WSTOPSIG(status);
            if (signal == (SIGTRAP | 0x80)) {
                __ptrace_syscall_info info {};
                if (::ptrace(PTRACE_GET_SYSCALL_INFO, pid_, reinterpret_cast<void*>(sizeof info), &info) <= 0)
                    fail("ptrace(PTRACE_GET_SYSCALL_INFO): " + std::string(std::strerror(errno)));
                if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
                    SyscallEntry entry;
                    entry.number = static_cast<long>(info.entry.nr);
                    std::copy(
                        std::begin(info.entry.args), std::end(info.entry.args), std::begin(entry.arguments));
                    if (match(entry)) {
                        held = true;
                        atStop();
                        break;
                    }
                }
            } else if ((status >> 16) == PTRACE_EVENT_STOP) {
                // Our interrupt (or a group stop): the daemon is held.
                if (!triggered) {
                    triggered = true;
                    trigger();
                }
            } else {
                deliver = signal; // a signal for the daemon: pass it on
            }
            if (::ptrace(PTRACE_SYSCALL, pid_, nullptr, reinterpret_cast<void*>(static_cast<long>(deliver)))
                != 0)
                fail("ptrace(PTRACE_SYSCALL): " + std::string(std::strerror(errno)));
        }
    } catch (...) {
        error = std::current_exception();
    }
    if (attached)
        ::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);
    {
        std::lock_guard lock(mutex);
        finished = true;
    }
    finishedChanged.notify_one();
    guard.join();
    if (error)
        std::rethrow_exception(error);
    return held && !expired;
}

std::vector<std::string> mountsOf(const std::string& device, const std::string& directory, pid_t pid)
{
    std::vector<std::string> found;
    const std::string file = pid > 0 ? "/proc/" + std::to_string(pid) + "/mountinfo" : "/proc/self/mountinfo";
    std::istringstream mountinfo(readWholeFile(file));
    for (std::string line; std::getline(mountinfo, line);) {
        std::istringstream fields(line);
        std::vector<std::string> parts;
        for (std::string part; fields >> part;)
            parts.push_back(part);
        if (parts.size() < 5)
            continue;
        const auto separator = std::find(parts.begin(), parts.end(), "-");
        const bool fromDevice
            = separator != parts.end() && separator + 2 < parts.end() && *(separator + 2) == device;
        if (fromDevice || parts[4].rfind(directory, 0) == 0)
            found.push_back(line);
    }
    return found;
}

NotifySocket::NotifySocket(const std::string& path)
    : path_(path)
{
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address {};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path)
        throw std::runtime_error("socket path too long: " + path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        throw std::runtime_error("binding " + path + ": " + std::strerror(errno));
}

NotifySocket::~NotifySocket()
{
    ::close(fd_);
    ::unlink(path_.c_str());
}

std::optional<std::pair<std::string, NotifySocket::Clock::time_point>> NotifySocket::next(
    std::chrono::milliseconds timeout)
{
    pollfd watch { fd_, POLLIN, 0 };
    if (::poll(&watch, 1, static_cast<int>(timeout.count())) <= 0)
        return std::nullopt;
    const auto arrived = Clock::now();
    char buffer[4096];
    const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
    if (got < 0)
        return std::nullopt;
    return std::make_pair(std::string(buffer, static_cast<std::size_t>(got)), arrived);
}

std::optional<NotifySocket::Clock::time_point> NotifySocket::waitFor(
    const std::string& needle, std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        const auto message = next(std::max(left, 1ms));
        if (message && message->first.find(needle) != std::string::npos)
            return message->second;
    }
    return std::nullopt;
}

void NotifySocket::drain()
{
    while (next(0ms)) { }
}

} // namespace omni::testing::daemon_harness
