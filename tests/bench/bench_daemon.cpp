// The whole daemon (DESIGN.md section 9 targets), measured with the harness
// of the end-to-end test (tests/integration/daemon/daemon_harness.hpp):
//
//  (a) udev event -> SUCCEEDED with a static configuration: the real
//      omni-provisiond under umockdev, a loop-device ext4 stick, veth ports in
//      a network namespace (bare before each attempt, so every apply starts
//      from scratch), a fresh archive per attempt. End to end as the bench
//      sees it (the uevent sent -> status.json renamed with SUCCEEDED), and
//      split by stage from the daemon's own log: mount, read, unmount
//      (OMNI_STICK_TIMES_US) and find, verify, apply, persist, receipt
//      (OMNI_TIMES_US; verify there includes the reads, shown apart here).
//  (b) start -> READY=1: fork of the daemon -> the READY=1 datagram on a
//      NOTIFY_SOCKET of ours (the sd_notify protocol), with an empty state
//      and with a provisioned one (re-applied before READY). Plain daemon:
//      the real /sys, no preload library.
//  (c) idle RSS: VmRSS and VmHWM of that daemon once it waits in epoll.
//  (d) idle wake-ups over a window: times the daemon's threads were
//      scheduled (/proc/PID/task/*/schedstat) and context switches, without
//      and with a systemd watchdog (WATCHDOG_USEC), beside the WATCHDOG=1
//      pings received.
//
// Prints a table; never asserts a time. Needs root (loop devices, mounts,
// namespaces) and umockdev; exits 77 saying why otherwise. Options:
// --attempts N (25), --starts N (20), --idle-seconds S (5); Google
// Benchmark's --benchmark_* flags (scripts/run-benchmarks) are ignored.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/core/time/time.hpp"
#include "tests/integration/daemon/daemon_harness.hpp"
#include "tests/integration/network/netns.hpp"
#include "tests/support/process.hpp"

namespace {

using namespace omni::testing::daemon_harness;
using omni::testing::TemporaryDirectory;
using Clock = std::chrono::steady_clock;

struct Options {
    int attempts = 25;
    int starts = 20;
    int idleSeconds = 5;
};

struct Summary {
    double median = 0;
    std::int64_t min = 0;
    std::int64_t max = 0;
};

Summary summarize(std::vector<std::int64_t> values)
{
    if (values.empty())
        return {};
    std::sort(values.begin(), values.end());
    const std::size_t middle = values.size() / 2;
    const double median = values.size() % 2
        ? static_cast<double>(values[middle])
        : (static_cast<double>(values[middle - 1]) + static_cast<double>(values[middle])) / 2;
    return { median, values.front(), values.back() };
}

void printRow(const std::string& what, const std::vector<std::int64_t>& microseconds)
{
    const Summary summary = summarize(microseconds);
    std::printf("  %-44s %10.2f %10.2f %10.2f\n", what.c_str(), summary.median / 1000.0,
        static_cast<double>(summary.min) / 1000.0, static_cast<double>(summary.max) / 1000.0);
}

// The daemon's namespace (eth0/eth1) and the gateways' (their far ends).
struct Ports {
    omni::testing::NetworkNamespace device { "bdaemon" };
    omni::testing::NetworkNamespace gateways { "bgateways" };
    Ports()
    {
        for (const char* port : { "0", "1" }) {
            const std::string peer = std::string("peer") + port;
            omni::testing::ip({ "-n", device.name(), "link", "add", std::string("eth") + port, "type", "veth",
                "peer", "name", peer, "netns", gateways.name() });
            omni::testing::ip({ "-n", gateways.name(), "address", "add",
                std::string("10.7") + (*port == '0' ? "7" : "8") + ".0.1/24", "dev", peer });
            omni::testing::ip({ "-n", gateways.name(), "link", "set", peer, "up" });
        }
    }
    // Both ports down and without addresses (so without routes): a device never provisioned.
    void bare()
    {
        for (const char* port : { "eth0", "eth1" }) {
            omni::testing::ip({ "-n", device.name(), "address", "flush", "dev", port });
            omni::testing::ip({ "-n", device.name(), "link", "set", port, "down" });
        }
    }
};

// The lines of `log` holding `needle`.
std::vector<std::string> linesWith(const std::string& log, const std::string& needle)
{
    std::vector<std::string> lines;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
        if (line.find(needle) != std::string::npos)
            lines.push_back(line);
    return lines;
}

nlohmann::json readStatus(const std::string& stateDirectory)
{
    try {
        return nlohmann::json::parse(readWholeFile(stateDirectory + "/status.json"));
    } catch (const std::exception&) {
        return nlohmann::json::object();
    }
}

// Waits (inotify on the state directory, bounded) until status.json says
// SUCCEEDED for another archive than `previousSha`; returns when it was seen.
std::optional<Clock::time_point> waitForSuccess(int inotifyFd, const std::string& stateDirectory,
    const std::string& previousSha, std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    while (true) {
        const auto status = readStatus(stateDirectory);
        if (status.value("Status", "") == "SUCCEEDED" && status.value("ArchiveSha256", "") != previousSha)
            return Clock::now();
        const auto left
            = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            return std::nullopt;
        pollfd watch { inotifyFd, POLLIN, 0 };
        if (::poll(&watch, 1, static_cast<int>(left)) > 0) {
            char events[4096];
            [[maybe_unused]] const ssize_t got = ::read(inotifyFd, events, sizeof events);
        }
    }
}

struct AttemptTimes {
    std::int64_t endToEnd = 0;
    std::int64_t mount = 0, find = 0, read = 0, checks = 0, apply = 0, persist = 0, receipt = 0, unmount = 0,
                 total = 0;
};

std::vector<AttemptTimes> benchProvisioning(const fs::path& work, const TestCa& ca, Ports& ports,
    const Options& options, std::string& stateDirectory, std::string& rssAfter)
{
    stateDirectory = work / "state";
    const std::string runtimeDirectory = work / "run";
    fs::create_directories(stateDirectory);
    fs::create_directories(runtimeDirectory);
    DaemonConfig configuration;
    configuration.anchors = { ca.root() };
    configuration.stateDirectory = stateDirectory;
    configuration.runtimeDirectory = runtimeDirectory;
    writeWholeFile(work / "config.yaml", configuration.render());

    std::vector<fs::path> archives;
    for (int attempt = 0; attempt < options.attempts; ++attempt)
        archives.push_back(issueArchive(work, ca, "bench-" + std::to_string(attempt),
            staticEthernet("10.77.0." + std::to_string(10 + attempt), kStaticGateway)));

    MockUsb usb;
    LoopStick stick(work, { archives.front() });
    DaemonProcess daemon({ work / "config.yaml", ports.device.name(), usb.root(), work / "daemon.log", {} });
    if (!daemon.waitForLog(" started; "))
        throw std::runtime_error("the daemon did not start:\n" + daemon.log());

    const int inotifyFd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (inotifyFd < 0
        || ::inotify_add_watch(inotifyFd, stateDirectory.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
        throw std::runtime_error("inotify on " + stateDirectory + ": " + std::strerror(errno));

    const std::regex agentTimes(
        R"(OMNI_TIMES_US=find=(\d+) verify=(\d+) apply=(\d+) persist=(\d+) receipt=(\d+))");
    const std::regex stickTimes(R"(OMNI_STICK_TIMES_US=mount=(\d+) read=(\d+) unmount=(\d+) total=(\d+))");
    std::vector<AttemptTimes> results;
    std::string previousSha;
    for (int attempt = 0; attempt < options.attempts; ++attempt) {
        if (attempt > 0)
            stick.replaceArchives(work, { archives[static_cast<std::size_t>(attempt)] });
        ports.bare();
        const auto sent = Clock::now();
        if (attempt == 0)
            usb.plug(stick);
        else
            usb.uevent("add");
        const auto succeeded = waitForSuccess(inotifyFd, stateDirectory, previousSha, 20s);
        if (!succeeded)
            throw std::runtime_error("attempt " + std::to_string(attempt) + " did not succeed:\n"
                + readWholeFile(stateDirectory + "/status.json") + "\n" + daemon.log());
        previousSha = readStatus(stateDirectory).value("ArchiveSha256", "");
        const auto count = static_cast<std::size_t>(attempt) + 1;
        if (!daemon.waitForLog("Done with " + stick.device() + " ", count, 20s))
            throw std::runtime_error("the daemon did not finish with the stick:\n" + daemon.log());
        usb.uevent("remove");
        if (!daemon.waitForLog(" was removed", count, 20s))
            throw std::runtime_error("the daemon did not see the stick go:\n" + daemon.log());

        AttemptTimes times;
        times.endToEnd = omni::time::microsecondsBetween(sent, *succeeded);
        const auto provisioned
            = linesWith(daemon.log(), "Provisioned as bench-" + std::to_string(attempt) + " ");
        const auto done = linesWith(daemon.log(), "Done with " + stick.device() + " ");
        std::smatch agent;
        std::smatch around;
        if (provisioned.size() != 1 || !std::regex_search(provisioned.front(), agent, agentTimes)
            || done.size() != count || !std::regex_search(done.back(), around, stickTimes))
            throw std::runtime_error("no stage times in the daemon's log:\n" + daemon.log());
        const auto number = [](const std::ssub_match& match) { return std::stoll(match.str()); };
        times.find = number(agent[1]);
        times.read = number(around[2]);
        times.checks = number(agent[2]) - times.read;
        times.apply = number(agent[3]);
        times.persist = number(agent[4]);
        times.receipt = number(agent[5]);
        times.mount = number(around[1]);
        times.unmount = number(around[3]);
        times.total = number(around[4]);
        results.push_back(times);
    }
    ::close(inotifyFd);
    rssAfter = daemon.procStatus("VmRSS") + " (VmHWM " + daemon.procStatus("VmHWM") + ")";
    ::kill(daemon.pid(), SIGTERM);
    daemon.waitForExit(10s);
    return results;
}

// How many times the daemon's threads were put on a CPU, and its context switches.
struct Activity {
    std::uint64_t scheduled = 0;
    std::uint64_t voluntary = 0;
    std::uint64_t involuntary = 0;
};

Activity activityOf(pid_t pid)
{
    Activity activity;
    for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        std::istringstream schedstat(readWholeFile(task.path() / "schedstat"));
        std::uint64_t onCpu = 0, waiting = 0, slices = 0;
        schedstat >> onCpu >> waiting >> slices;
        activity.scheduled += slices;
        std::istringstream status(readWholeFile(task.path() / "status"));
        for (std::string line; std::getline(status, line);) {
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
                activity.voluntary += std::stoull(line.substr(line.find(':') + 1));
            else if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
                activity.involuntary += std::stoull(line.substr(line.find(':') + 1));
        }
    }
    return activity;
}

// The daemon sleeps in the event loop's epoll call (/proc/PID/syscall names the call it is in).
bool waitsInEpoll(pid_t pid)
{
    std::istringstream syscall(readWholeFile("/proc/" + std::to_string(pid) + "/syscall"));
    long number = -1;
    syscall >> number;
#ifdef SYS_epoll_wait
    if (number == SYS_epoll_wait)
        return true;
#endif
#ifdef SYS_epoll_pwait2
    if (number == SYS_epoll_pwait2)
        return true;
#endif
    return number == SYS_epoll_pwait;
}

struct StartResults {
    std::vector<std::int64_t> fresh;
    std::vector<std::int64_t> provisioned;
    std::string rss;
    std::string hwm;
    std::string threads;
    Activity idle;
    Activity idleWithWatchdog;
    int watchdogPings = 0;
};

DaemonProcess startPlain(const fs::path& work, const std::string& configFile,
    const std::string& namespaceName, const std::string& notifyPath,
    const std::vector<std::string>& extra = {})
{
    std::vector<std::string> environment { "NOTIFY_SOCKET=" + notifyPath };
    environment.insert(environment.end(), extra.begin(), extra.end());
    return DaemonProcess({ configFile, namespaceName, "", work / "plain-daemon.log", environment });
}

void stop(DaemonProcess& daemon)
{
    ::kill(daemon.pid(), SIGTERM);
    if (!daemon.waitForExit(10s))
        throw std::runtime_error("the daemon did not stop on SIGTERM:\n" + daemon.log());
}

StartResults benchStarts(const fs::path& work, const TestCa& ca, Ports& ports, const Options& options,
    const std::string& provisionedState)
{
    StartResults results;
    const std::string notifyPath = work / "notify.sock";
    NotifySocket notify(notifyPath);
    const auto configFor = [&](const std::string& name, const std::string& stateDirectory) {
        DaemonConfig configuration;
        configuration.anchors = { ca.root() };
        configuration.stateDirectory = stateDirectory;
        configuration.runtimeDirectory = work / ("run-" + name);
        const std::string file = work / (name + ".yaml");
        writeWholeFile(file, configuration.render());
        return file;
    };
    const std::string freshConfig = configFor("fresh", work / "state-fresh");
    const std::string provisionedConfig = configFor("provisioned", provisionedState);

    for (int start = 0; start < options.starts; ++start) {
        for (const bool provisioned : { false, true }) {
            // A fresh state: nothing on disk yet, as after the first boot.
            if (!provisioned)
                fs::remove_all(work / "state-fresh");
            notify.drain();
            DaemonProcess daemon = startPlain(
                work, provisioned ? provisionedConfig : freshConfig, ports.device.name(), notifyPath);
            const auto ready = notify.waitFor("READY=1", 10s);
            if (!ready)
                throw std::runtime_error("no READY=1 within 10 s:\n" + daemon.log());
            (provisioned ? results.provisioned : results.fresh)
                .push_back(omni::time::microsecondsBetween(daemon.startedAt(), *ready));
            stop(daemon);
        }
    }

    // Idle: a daemon with a fresh state, waiting for a stick.
    fs::remove_all(work / "state-fresh");
    notify.drain();
    {
        DaemonProcess daemon = startPlain(work, freshConfig, ports.device.name(), notifyPath);
        if (!notify.waitFor("READY=1", 10s) || !waitUntil([&] { return waitsInEpoll(daemon.pid()); }, 10s))
            throw std::runtime_error("the daemon did not become idle:\n" + daemon.log());
        results.rss = daemon.procStatus("VmRSS") + " = anonymous " + daemon.procStatus("RssAnon")
            + " + files " + daemon.procStatus("RssFile") + " + shared memory "
            + daemon.procStatus("RssShmem");
        results.hwm = daemon.procStatus("VmHWM");
        results.threads = daemon.procStatus("Threads");
        const Activity before = activityOf(daemon.pid());
        // The window is the measurement: nothing to wait for, the daemon is expected to sleep.
        notify.next(std::chrono::seconds(options.idleSeconds));
        const Activity after = activityOf(daemon.pid());
        results.idle = { after.scheduled - before.scheduled, after.voluntary - before.voluntary,
            after.involuntary - before.involuntary };
        stop(daemon);
    }
    // The same under a 1 s systemd watchdog (a ping about every 0.5 s).
    notify.drain();
    {
        DaemonProcess daemon
            = startPlain(work, freshConfig, ports.device.name(), notifyPath, { "WATCHDOG_USEC=1000000" });
        if (!notify.waitFor("READY=1", 10s) || !waitUntil([&] { return waitsInEpoll(daemon.pid()); }, 10s))
            throw std::runtime_error("the daemon did not become idle:\n" + daemon.log());
        notify.drain();
        const Activity before = activityOf(daemon.pid());
        const auto end = Clock::now() + std::chrono::seconds(options.idleSeconds);
        while (Clock::now() < end) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
            const auto message = notify.next(std::max(left, 1ms));
            if (message && message->first.find("WATCHDOG=1") != std::string::npos)
                ++results.watchdogPings;
        }
        const Activity after = activityOf(daemon.pid());
        results.idleWithWatchdog = { after.scheduled - before.scheduled, after.voluntary - before.voluntary,
            after.involuntary - before.involuntary };
        stop(daemon);
    }
    return results;
}

Options parseOptions(int argc, char** argv)
{
    Options options;
    for (int index = 1; index < argc; ++index) {
        const std::string argument = argv[index];
        const auto value = [&](int& target) {
            if (index + 1 >= argc)
                throw std::runtime_error(argument + " needs a number");
            target = std::max(1, std::atoi(argv[++index]));
        };
        if (argument == "--attempts")
            value(options.attempts);
        else if (argument == "--starts")
            value(options.starts);
        else if (argument == "--idle-seconds")
            value(options.idleSeconds);
        else if (argument.rfind("--benchmark_", 0) != 0)
            throw std::runtime_error(
                "unknown option " + argument + " (--attempts N, --starts N, --idle-seconds S)");
    }
    return options;
}

} // namespace

int main(int argc, char** argv)
{
    if (const auto why = ensurePreload(argv)) {
        std::printf("SKIP daemon benchmark: %s\n", why->c_str());
        return 77;
    }
    if (const auto why = prepareHarness()) {
        std::printf("SKIP daemon benchmark: %s\n", why->c_str());
        return 77;
    }
    try {
        const Options options = parseOptions(argc, argv);
        omni::testing::removeStaleNamespaces();
        TemporaryDirectory work;
        const TestCa ca = makeCa(work / "ca");
        Ports ports;

        std::string provisionedState;
        std::string rssAfterAttempts;
        const auto attempts
            = benchProvisioning(work.path(), ca, ports, options, provisionedState, rssAfterAttempts);
        const StartResults starts = benchStarts(work.path(), ca, ports, options, provisionedState);

        const auto column = [&](std::int64_t AttemptTimes::*member) {
            std::vector<std::int64_t> values;
            for (const auto& attempt : attempts)
                values.push_back(attempt.*member);
            return values;
        };
        std::vector<std::int64_t> other;
        for (const auto& attempt : attempts)
            other.push_back(attempt.total
                - (attempt.mount + attempt.find + attempt.read + attempt.checks + attempt.apply
                    + attempt.persist + attempt.receipt + attempt.unmount));

        std::printf(
            "omni-provisiond, %d attempts (a fresh archive each, ports bare before each), %d starts each\n",
            options.attempts, options.starts);
        std::printf("  %-44s %10s %10s %10s\n", "(a) udev event -> SUCCEEDED, static", "median ms", "min ms",
            "max ms");
        printRow("end to end (uevent sent -> status.json)", column(&AttemptTimes::endToEnd));
        printRow("  mount", column(&AttemptTimes::mount));
        printRow("  find (list the root)", column(&AttemptTimes::find));
        printRow("  read (the archive's bytes)", column(&AttemptTimes::read));
        printRow("  verify (checks 1-19, without the read)", column(&AttemptTimes::checks));
        printRow("  apply (netlink)", column(&AttemptTimes::apply));
        printRow("  persist (state, credentials)", column(&AttemptTimes::persist));
        std::printf("  after SUCCEEDED:\n");
        printRow("  receipt on the stick", column(&AttemptTimes::receipt));
        printRow("  unmount", column(&AttemptTimes::unmount));
        printRow("  rest (gateway probe, logging)", other);
        printRow("mount -> unmount done, in the daemon", column(&AttemptTimes::total));
        std::printf(
            "  %-44s %10s %10s %10s\n", "(b) start -> READY=1 (sd_notify)", "median ms", "min ms", "max ms");
        printRow("empty state", starts.fresh);
        printRow("provisioned state (re-applied before READY)", starts.provisioned);
        std::printf("(c) idle RSS: VmRSS %s, VmHWM %s, threads %s (plain daemon, real /sys)\n",
            starts.rss.c_str(), starts.hwm.c_str(), starts.threads.c_str());
        std::printf("    after %d attempts under umockdev's preload library: VmRSS %s\n", options.attempts,
            rssAfterAttempts.c_str());
        std::printf(
            "(d) idle wake-ups in %d s: %llu times scheduled (%llu voluntary, %llu involuntary switches) "
            "without a watchdog;\n    %llu times scheduled with WATCHDOG_USEC=1s, %d WATCHDOG=1 pings "
            "received\n",
            options.idleSeconds, static_cast<unsigned long long>(starts.idle.scheduled),
            static_cast<unsigned long long>(starts.idle.voluntary),
            static_cast<unsigned long long>(starts.idle.involuntary),
            static_cast<unsigned long long>(starts.idleWithWatchdog.scheduled), starts.watchdogPings);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "daemon benchmark: %s\n", error.what());
        return 1;
    }
    return 0;
}
