#include "drivers/dhcp/dhcp_supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "drivers/fs/files.hpp"
#include "drivers/fs/managed_file.hpp"

namespace omni::dhcp {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxInterfaceName = 15; // IFNAMSIZ - 1

bool validInterfaceName(const std::string& name)
{
    if (name.empty() || name.size() > kMaxInterfaceName || name.front() == '.' || name.front() == '-') {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
            || c == '_' || c == '-' || c == '@' || c == ':';
    });
}

Error dhcpError(const std::string& interfaceName, std::string message)
{
    return Error { ReasonCode::NetworkApplyFailed, Check::NetworkApply,
        "DHCP client on " + interfaceName + ": " + std::move(message), interfaceName };
}

std::string describeStatus(int status)
{
    if (WIFEXITED(status)) {
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status))
            + ")";
    }
    if (status == -1) {
        return "ended (it was adopted, so its exit status is unknown)";
    }
    return "ended (status " + std::to_string(status) + ")";
}

// Waits up to `timeout` for `pid` to exit and reaps it when it is our
// child; true when it did. A pidfd makes the wait an event; without one (an old
// kernel, no descriptor left) the child is polled every 20 ms instead.
bool waitForExit(pid_t pid, std::chrono::milliseconds timeout, bool ourChild = true)
{
    const auto reaped = [pid, ourChild] {
        if (!ourChild) {
            // Someone else reaps it; gone (or a zombie awaiting its parent) is exited.
            return ::kill(pid, 0) != 0 && errno == ESRCH;
        }
        int status = 0;
        for (;;) {
            const pid_t waited = ::waitpid(pid, &status, WNOHANG);
            if (waited == pid || (waited < 0 && errno == ECHILD)) {
                return true;
            }
            if (waited == 0 || errno != EINTR) {
                return false;
            }
        }
    };
    const auto deadline = Clock::now() + timeout;
    const int exitFd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    pollfd exited { exitFd, POLLIN, 0 };
    while (!reaped()) {
        // Rounded up: a truncated remainder would give up to 1 ms before the
        // bound, and a client would be killed before its time was up.
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            if (exitFd >= 0) {
                ::close(exitFd);
            }
            return false;
        }
        if (exitFd >= 0) {
            ::poll(&exited, 1, static_cast<int>(left.count()));
        } else {
            ::poll(nullptr, 0, static_cast<int>(std::min<long long>(left.count(), 20)));
        }
    }
    if (exitFd >= 0) {
        ::close(exitFd);
    }
    return true;
}

// "State: S (sleeping), wchan do_select, SigBlk ..., SigIgn ..., SigCgt ..."
// of a process, from /proc (best effort).
std::string describeProcess(pid_t pid)
{
    const std::string base = "/proc/" + std::to_string(pid);
    std::string text;
    std::ifstream status(base + "/status");
    for (std::string line; std::getline(status, line);) {
        for (const char* key : { "State:", "SigPnd:", "ShdPnd:", "SigBlk:", "SigIgn:", "SigCgt:" }) {
            if (line.rfind(key, 0) == 0) {
                text += (text.empty() ? "" : ", ") + line;
            }
        }
    }
    std::ifstream wchan(base + "/wchan");
    std::string channel;
    if (std::getline(wchan, channel) && !channel.empty()) {
        text += ", wchan " + channel;
    }
    return text;
}

// When a process started (clock ticks after boot, /proc/PID/stat field
// 22): with the pid it names one process, also after the pid is reused.
// dhcpcd rewrites its own command line (setproctitle), so that cannot.
std::optional<unsigned long long> startTimeOf(pid_t pid)
{
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(file, stat)) {
        return std::nullopt;
    }
    // The command name (field 2) may hold spaces and ')': fields count from the last ')'.
    const auto end = stat.rfind(')');
    if (end == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(stat.substr(end + 1));
    std::string field;
    for (int index = 3; index < 22 && fields >> field; ++index) { }
    unsigned long long startTime = 0;
    if (!(fields >> startTime)) {
        return std::nullopt;
    }
    return startTime;
}

// No delay for the first failure in a row, then firstRestartDelay doubling
// up to maxRestartDelay.
std::chrono::milliseconds restartDelay(const SupervisorOptions& options, unsigned failuresBefore)
{
    if (failuresBefore == 0) {
        return std::chrono::milliseconds { 0 };
    }
    const auto doubled
        = options.firstRestartDelay * (std::int64_t { 1 } << std::min(failuresBefore - 1, 16U));
    return std::min<std::chrono::milliseconds>(options.maxRestartDelay, doubled);
}

} // namespace

std::string dhcpcdConfiguration()
{
    return "# Generated by omni-provision for the dhcpcd instances it supervises; rewritten when\n"
           "# they start. Hooks: only omni-provision's (--script), nothing else on the host changes.\n"
           "# The lease's own client identifier (hardware address), no DUID file.\n"
           "clientid\n"
           "# DHCP only: no IPv4 link-local fallback, no IPv6.\n"
           "noipv4ll\n"
           "noipv6rs\n"
           "ipv4only\n"
           "# Wait for a server as long as it takes; starting never waits for a lease.\n"
           "timeout 0\n"
           "# Remove the lease's address and routes when stopped (no 'persistent').\n"
           "option domain_name_servers, ntp_servers\n"
           "require dhcp_server_identifier\n";
}

DhcpSupervisor::DhcpSupervisor(SupervisorOptions options)
    : options_(std::move(options))
{
}

DhcpSupervisor::~DhcpSupervisor()
{
    if (options_.keepClientsOnExit) {
        return;
    }
    for (const std::string& name : interfaces()) {
        stop(name);
    }
}

std::filesystem::path DhcpSupervisor::leasePath(const std::string& interfaceName) const
{
    return leaseDirectory() / (interfaceName + ".lease");
}

Result<void> DhcpSupervisor::prepareFiles()
{
    for (const auto& directory : { options_.runtimeDirectory, leaseDirectory() }) {
        auto made = state::ensureDirectory(directory, 0755);
        if (!made) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
                "DHCP client: the runtime directory: " + made.error().message, directory.string());
        }
    }
    auto written
        = system_support::writeFileIfDifferent(leaseDirectory() / "dhcpcd.conf", dhcpcdConfiguration(), 0644);
    if (!written) {
        return tl::unexpected(std::move(written.error()).withContext("DHCP client: writing dhcpcd.conf"));
    }
    return {};
}

std::vector<std::string> DhcpSupervisor::clientArguments(
    const std::string& interfaceName, std::uint32_t metric) const
{
    const std::string leaseDirectoryText = leaseDirectory().string();
    return { options_.dhcpcdPath.string(), "--nobackground", "--ipv4only", "--nodev", "--config",
        leaseDirectoryText + "/dhcpcd.conf", "--script", options_.hookPath.string(), "--env",
        "OMNI_PROVISION_LEASE_DIR=" + leaseDirectoryText, "--metric", std::to_string(metric), interfaceName };
}

std::filesystem::path DhcpSupervisor::pidPath(const std::string& interfaceName) const
{
    return leaseDirectory() / (interfaceName + ".pid");
}

std::optional<DhcpSupervisor::LeftClient> DhcpSupervisor::findLeftClient(
    const std::string& interfaceName) const
{
    auto content = state::readRegularFile(pidPath(interfaceName), 32, false);
    if (!content) {
        return std::nullopt;
    }
    // "PID STARTTIME METRIC" (see spawn()).
    std::istringstream fields(*content);
    LeftClient left;
    unsigned long long startTime = 0;
    if (!(fields >> left.pid >> startTime >> left.metric) || left.pid <= 1) {
        return std::nullopt;
    }
    if (startTimeOf(left.pid) != startTime) {
        return std::nullopt; // gone, or the pid now names another process
    }
    return left;
}

bool DhcpSupervisor::adoptLeftClient(const std::string& interfaceName)
{
    if (clients_.count(interfaceName) != 0) {
        return true;
    }
    const auto left = findLeftClient(interfaceName);
    if (!left) {
        return false;
    }
    Client client;
    client.metric = left->metric;
    client.pid = left->pid;
    client.startedAt = Clock::now();
    client.adopted = true;
    clients_.emplace(interfaceName, client);
    return true;
}

Result<pid_t> DhcpSupervisor::spawn(const std::string& interfaceName, std::uint32_t metric)
{
    const std::string leaseDirectoryText = leaseDirectory().string();
    const std::vector<std::string> arguments = clientArguments(interfaceName, metric);
    std::vector<char*> argv;
    for (const std::string& argument : arguments) {
        argv.push_back(const_cast<char*>(argument.c_str()));
    }
    argv.push_back(nullptr);
    std::string path = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    char* envp[] = { path.data(), nullptr };

    // Everything the child needs is opened before fork: between fork and
    // exec only async-signal-safe calls are made (the daemon may have threads).
    const std::string logPath = leaseDirectoryText + "/" + interfaceName + ".log";
    const int logFd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logFd < 0) {
        return tl::unexpected(
            dhcpError(interfaceName, "cannot open " + logPath + ": " + std::strerror(errno)));
    }
    const int nullFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int namespaceFd = -1;
    if (!options_.networkNamespace.empty()) {
        namespaceFd = ::open(options_.networkNamespace.c_str(), O_RDONLY | O_CLOEXEC);
        if (namespaceFd < 0) {
            const int error = errno;
            ::close(logFd);
            if (nullFd >= 0) {
                ::close(nullFd);
            }
            return tl::unexpected(dhcpError(interfaceName,
                "cannot open the network namespace " + options_.networkNamespace.string() + ": "
                    + std::strerror(error)));
        }
    }
    const pid_t child = ::fork();
    if (child == 0) {
        ::setpgid(0, 0);
        if (namespaceFd >= 0 && ::setns(namespaceFd, CLONE_NEWNET) != 0) {
            ::_exit(126);
        }
        ::dup2(nullFd, STDIN_FILENO);
        ::dup2(logFd, STDOUT_FILENO);
        ::dup2(logFd, STDERR_FILENO);
        // The daemon blocks signals it reads through signalfd; dhcpcd must
        // get SIGTERM, so the mask and dispositions start clean.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction defaults { };
        defaults.sa_handler = SIG_DFL;
        for (int signal = 1; signal < NSIG; ++signal) {
            ::sigaction(signal, &defaults, nullptr);
        }
        ::syscall(SYS_close_range, 3U, ~0U, 0U);
        ::execve(argv[0], argv.data(), envp);
        ::_exit(127);
    }
    const int forkError = errno;
    ::close(logFd);
    if (nullFd >= 0) {
        ::close(nullFd);
    }
    if (namespaceFd >= 0) {
        ::close(namespaceFd);
    }
    if (child < 0) {
        return tl::unexpected(dhcpError(interfaceName, std::string("fork: ") + std::strerror(forkError)));
    }
    // Also here, so the group exists before anyone signals it.
    ::setpgid(child, child);
    // For a later supervisor's adoption (keepClientsOnExit); best effort.
    if (const auto startTime = startTimeOf(child)) {
        (void)state::writeFileAtomically(pidPath(interfaceName),
            std::to_string(child) + " " + std::to_string(*startTime) + " " + std::to_string(metric) + "\n",
            0644);
    }
    return child;
}

void DhcpSupervisor::launch(const std::string& interfaceName, Client& client)
{
    client.restartAt.reset();
    auto spawned = spawn(interfaceName, client.metric);
    if (!spawned) {
        // Tried again like a client that died at once.
        const auto delay = restartDelay(options_, client.quickFailures + 1);
        ++client.quickFailures;
        client.restartAt = Clock::now() + delay;
        return;
    }
    client.pid = *spawned;
    client.startedAt = Clock::now();
}

Result<bool> DhcpSupervisor::start(const std::string& interfaceName, std::uint32_t routeMetric)
{
    if (!validInterfaceName(interfaceName)) {
        return tl::unexpected(dhcpError(interfaceName, "not a usable interface name"));
    }
    if (adoptLeftClient(interfaceName)) {
        if (clients_.at(interfaceName).metric == routeMetric || !clients_.at(interfaceName).adopted) {
            return false;
        }
        // Left by an earlier supervisor with another metric: replaced.
        stop(interfaceName);
    }
    for (const auto& [what, path] :
        { std::pair { "dhcpcd", options_.dhcpcdPath }, std::pair { "the dhcpcd hook", options_.hookPath } }) {
        if (::access(path.c_str(), X_OK) != 0) {
            return tl::unexpected(dhcpError(interfaceName,
                std::string(what) + " " + path.string() + " is not executable: " + std::strerror(errno)
                    + (std::string(what) == "dhcpcd" ? " (install dhcpcd-base)" : "")));
        }
    }
    auto prepared = prepareFiles();
    if (!prepared) {
        return tl::unexpected(std::move(prepared.error()));
    }
    // A lease file of an earlier client is not this one's.
    ::unlink(leasePath(interfaceName).c_str());
    auto spawned = spawn(interfaceName, routeMetric);
    if (!spawned) {
        return tl::unexpected(std::move(spawned.error()));
    }
    Client client;
    client.metric = routeMetric;
    client.pid = *spawned;
    client.startedAt = Clock::now();
    clients_.emplace(interfaceName, client);
    return true;
}

StopOutcome DhcpSupervisor::stop(const std::string& interfaceName)
{
    StopOutcome outcome;
    const auto found = clients_.find(interfaceName);
    if (found == clients_.end()) {
        return outcome;
    }
    outcome.lastLease = lease(interfaceName);
    const pid_t pid = found->second.pid;
    if (pid > 0) {
        outcome.wasRunning = true;
        // SIGTERM: dhcpcd releases nothing to the server but removes the
        // lease's address and routes (we never give it 'persistent').
        const bool ourChild = !found->second.adopted;
        ::kill(pid, SIGTERM);
        // Once in about ten test runs dhcpcd 9.4.1 did not act on a SIGTERM
        // that arrived right after it bound (its log has no "received
        // SIGTERM"); a second one halfway through the bound costs nothing.
        const auto half = options_.stopTimeout / 2;
        bool exited = waitForExit(pid, half, ourChild);
        if (!exited) {
            ::kill(pid, SIGTERM);
            exited = waitForExit(pid, options_.stopTimeout - half, ourChild);
        }
        if (!exited) {
            outcome.killed = true;
            outcome.killedWhile = describeProcess(pid);
            ::killpg(pid, SIGKILL);
            if (ourChild) {
                int status = 0;
                while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
            } else {
                waitForExit(pid, options_.stopTimeout, false);
            }
        }
        // Helpers that outlived their parent (privilege separation).
        ::killpg(pid, SIGKILL);
    }
    ::unlink(leasePath(interfaceName).c_str());
    ::unlink(pidPath(interfaceName).c_str());
    clients_.erase(found);
    return outcome;
}

std::vector<ClientExit> DhcpSupervisor::reap()
{
    std::vector<ClientExit> exits;
    for (auto& [name, client] : clients_) {
        if (client.pid <= 0) {
            continue;
        }
        int status = 0;
        if (client.adopted) {
            // Not our child: no SIGCHLD, no status; gone is all we learn.
            if (::kill(client.pid, 0) == 0 || errno != ESRCH) {
                continue;
            }
            client.adopted = false;
            status = -1;
        } else {
            pid_t waited = 0;
            do {
                waited = ::waitpid(client.pid, &status, WNOHANG);
            } while (waited < 0 && errno == EINTR);
            if (waited != client.pid) {
                continue;
            }
        }
        const pid_t dead = client.pid;
        ::killpg(dead, SIGKILL);
        ::unlink(leasePath(name).c_str());
        client.pid = 0;
        const auto now = Clock::now();
        if (now - client.startedAt >= options_.stableAfter) {
            client.quickFailures = 0;
        }
        const std::chrono::milliseconds delay = restartDelay(options_, client.quickFailures);
        ++client.quickFailures;
        ++client.restarts;
        exits.push_back({ name, dead, describeStatus(status), delay });
        if (delay.count() == 0) {
            launch(name, client);
        } else {
            client.restartAt = now + delay;
        }
    }
    return exits;
}

std::optional<std::chrono::steady_clock::time_point> DhcpSupervisor::nextRestartAt() const
{
    std::optional<Clock::time_point> next;
    for (const auto& [name, client] : clients_) {
        if (client.pid == 0 && client.restartAt && (!next || *client.restartAt < *next)) {
            next = client.restartAt;
        }
    }
    return next;
}

void DhcpSupervisor::restartDue(std::chrono::steady_clock::time_point now)
{
    for (auto& [name, client] : clients_) {
        if (client.pid == 0 && client.restartAt && *client.restartAt <= now) {
            launch(name, client);
        }
    }
}

bool DhcpSupervisor::adopted(const std::string& interfaceName) const
{
    const auto found = clients_.find(interfaceName);
    return found != clients_.end() && found->second.adopted;
}

bool DhcpSupervisor::supervises(const std::string& interfaceName) const
{
    return clients_.count(interfaceName) != 0;
}

std::vector<std::string> DhcpSupervisor::interfaces() const
{
    std::vector<std::string> names;
    for (const auto& [name, client] : clients_) {
        names.push_back(name);
    }
    return names;
}

std::optional<pid_t> DhcpSupervisor::pid(const std::string& interfaceName) const
{
    const auto found = clients_.find(interfaceName);
    if (found == clients_.end() || found->second.pid <= 0) {
        return std::nullopt;
    }
    return found->second.pid;
}

std::vector<pid_t> DhcpSupervisor::childPids() const
{
    std::vector<pid_t> pids;
    for (const auto& [name, client] : clients_) {
        if (client.pid > 0) {
            pids.push_back(client.pid);
        }
    }
    return pids;
}

unsigned DhcpSupervisor::restarts(const std::string& interfaceName) const
{
    const auto found = clients_.find(interfaceName);
    return found == clients_.end() ? 0 : found->second.restarts;
}

std::optional<Lease> DhcpSupervisor::lease(const std::string& interfaceName) const
{
    // A client left by an earlier supervisor is looked at, not adopted.
    std::optional<pid_t> client = pid(interfaceName);
    if (!client && !supervises(interfaceName)) {
        if (const auto left = findLeftClient(interfaceName)) {
            client = left->pid;
        }
    }
    if (!client) {
        return std::nullopt;
    }
    auto content = state::readRegularFile(leasePath(interfaceName), kMaxLeaseFileBytes, false);
    if (!content) {
        return std::nullopt;
    }
    auto parsed = parseLease(*content);
    // dhcpcd's $pid is the process we started: a lease another client wrote
    // (one killed while its hook still ran) is not this client's.
    if (!parsed || parsed->interfaceName != interfaceName || (parsed->pid != 0 && parsed->pid != *client)) {
        return std::nullopt;
    }
    return parsed;
}

} // namespace omni::dhcp
