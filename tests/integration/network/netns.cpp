#include "tests/integration/network/netns.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace omni::testing {

namespace {

class Pipe {
public:
    Pipe()
    {
        if (pipe2(ends_, O_CLOEXEC) != 0) {
            throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
        }
    }
    ~Pipe()
    {
        closeRead();
        closeWrite();
    }
    int readEnd() const { return ends_[0]; }
    int writeEnd() const { return ends_[1]; }
    void closeRead()
    {
        if (ends_[0] >= 0) {
            close(ends_[0]);
            ends_[0] = -1;
        }
    }
    void closeWrite()
    {
        if (ends_[1] >= 0) {
            close(ends_[1]);
            ends_[1] = -1;
        }
    }

private:
    int ends_[2] = { -1, -1 };
};

} // namespace

CommandResult runCommand(const std::vector<std::string>& arguments)
{
    Pipe out;
    Pipe err;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out.writeEnd(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.writeEnd(), STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& argument : arguments) {
        argv.push_back(const_cast<char*>(argument.c_str()));
    }
    argv.push_back(nullptr);
    pid_t child = 0;
    const int spawned = posix_spawnp(&child, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    CommandResult result;
    out.closeWrite();
    err.closeWrite();
    if (spawned != 0) {
        result.err = arguments[0] + ": " + std::strerror(spawned);
        return result;
    }
    pollfd fds[2] = { { out.readEnd(), POLLIN, 0 }, { err.readEnd(), POLLIN, 0 } };
    std::string* sinks[2] = { &result.out, &result.err };
    int open = 2;
    while (open > 0) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR) {
            break;
        }
        for (int index = 0; index < 2; ++index) {
            if (fds[index].fd < 0 || fds[index].revents == 0) {
                continue;
            }
            char buffer[4096];
            const ssize_t got = ::read(fds[index].fd, buffer, sizeof buffer);
            if (got > 0) {
                sinks[index]->append(buffer, static_cast<std::size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                fds[index].fd = -1;
                --open;
            }
        }
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) { }
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

std::string ip(const std::vector<std::string>& arguments)
{
    std::vector<std::string> command { "ip" };
    command.insert(command.end(), arguments.begin(), arguments.end());
    const CommandResult result = runCommand(command);
    if (result.exitCode != 0) {
        std::string line;
        for (const std::string& word : command) {
            line += word + " ";
        }
        throw std::runtime_error(
            line + "failed (exit " + std::to_string(result.exitCode) + "): " + result.err);
    }
    return result.out;
}

nlohmann::json ipJson(const std::vector<std::string>& arguments)
{
    std::vector<std::string> withJson { "-j" };
    withJson.insert(withJson.end(), arguments.begin(), arguments.end());
    const std::string text = ip(withJson);
    const auto parsed = nlohmann::json::parse(text.empty() ? "[]" : text, nullptr, false);
    if (parsed.is_discarded()) {
        throw std::runtime_error("ip -j printed no JSON: " + text);
    }
    return parsed;
}

std::optional<std::string> whyIntegrationCannotRun()
{
    if (geteuid() != 0) {
        return "not root: network namespaces and veth pairs need CAP_NET_ADMIN and CAP_SYS_ADMIN";
    }
    const CommandResult listed = runCommand({ "ip", "netns", "list" });
    if (listed.exitCode != 0) {
        return "`ip netns` is unavailable (install iproute2): " + listed.err;
    }
    // Creating one proves namespaces and their bind mounts work here.
    const std::string probe = std::string(kNamespacePrefix) + std::to_string(getpid()) + "-probe";
    const CommandResult added = runCommand({ "ip", "netns", "add", probe });
    if (added.exitCode != 0) {
        return "cannot create a network namespace: " + added.err;
    }
    runCommand({ "ip", "netns", "delete", probe });
    return std::nullopt;
}

std::vector<std::string> removeStaleNamespaces()
{
    std::vector<std::string> removed;
    DIR* directory = opendir("/run/netns");
    if (directory == nullptr) {
        return removed;
    }
    std::vector<std::string> names;
    while (const dirent* entry = readdir(directory)) {
        names.emplace_back(entry->d_name);
    }
    closedir(directory);
    const std::string prefix = kNamespacePrefix;
    for (const std::string& name : names) {
        if (name.rfind(prefix, 0) != 0) {
            continue;
        }
        const std::string rest = name.substr(prefix.size());
        char* end = nullptr;
        const long owner = std::strtol(rest.c_str(), &end, 10);
        const bool ownerAlive
            = end != rest.c_str() && owner > 0 && (kill(static_cast<pid_t>(owner), 0) == 0 || errno == EPERM);
        if (!ownerAlive && runCommand({ "ip", "netns", "delete", name }).exitCode == 0) {
            removed.push_back(name);
        }
    }
    return removed;
}

namespace {

std::atomic<int> namespaceCounter { 0 };

void writeFile(const std::string& path, const std::string& content)
{
    std::ofstream file(path);
    file << content;
    file.flush();
    if (!file.good()) {
        throw std::runtime_error("writing " + path + " failed");
    }
}

} // namespace

NetworkNamespace::NetworkNamespace(const std::string& role)
    : name_(std::string(kNamespacePrefix) + std::to_string(getpid()) + "-"
        + std::to_string(namespaceCounter++) + "-" + role)
{
    ip({ "netns", "add", name_ });
    runInNamespace(name_, [] {
        // /proc/sys/net is the namespace of the thread that opens it.
        writeFile("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
        writeFile("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    });
}

NetworkNamespace::~NetworkNamespace()
{
    // Deleting the namespace destroys its veth ends (and their peers).
    runCommand({ "ip", "netns", "delete", name_ });
}

void runInNamespace(const std::string& name, const std::function<void()>& work)
{
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            const std::string path = "/run/netns/" + name;
            const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                throw std::runtime_error("open " + path + ": " + std::strerror(errno));
            }
            const int joined = setns(fd, CLONE_NEWNET);
            const int setnsError = errno;
            ::close(fd);
            if (joined != 0) {
                throw std::runtime_error("setns " + path + ": " + std::strerror(setnsError));
            }
            work();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    if (failure) {
        std::rethrow_exception(failure);
    }
}

namespace {

std::uint16_t internetChecksum(const std::uint8_t* data, std::size_t length)
{
    std::uint32_t sum = 0;
    for (std::size_t at = 0; at + 1 < length; at += 2) {
        sum += static_cast<std::uint32_t>(data[at] << 8 | data[at + 1]);
    }
    if (length % 2 != 0) {
        sum += static_cast<std::uint32_t>(data[length - 1] << 8);
    }
    while (sum >> 16 != 0) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum);
}

} // namespace

bool ping(const std::string& fromNamespace, const std::string& address, std::chrono::milliseconds timeout)
{
    int fd = -1;
    runInNamespace(fromNamespace, [&] {
        fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
        if (fd < 0) {
            throw std::runtime_error(std::string("raw ICMP socket: ") + std::strerror(errno));
        }
    });
    sockaddr_in target {};
    target.sin_family = AF_INET;
    inet_pton(AF_INET, address.c_str(), &target.sin_addr);

    const std::uint16_t identifier = static_cast<std::uint16_t>(getpid());
    std::array<std::uint8_t, 16> request {};
    request[0] = ICMP_ECHO;
    request[4] = static_cast<std::uint8_t>(identifier >> 8);
    request[5] = static_cast<std::uint8_t>(identifier);
    request[7] = 1; // sequence
    std::memcpy(request.data() + 8, "omnitest", 8);
    const std::uint16_t checksum = internetChecksum(request.data(), request.size());
    request[2] = static_cast<std::uint8_t>(checksum >> 8);
    request[3] = static_cast<std::uint8_t>(checksum);

    bool answered = false;
    if (sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&target), sizeof target)
        >= 0) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!answered) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd readable { fd, POLLIN, 0 };
            if (left.count() <= 0 || poll(&readable, 1, static_cast<int>(left.count())) <= 0) {
                break;
            }
            std::array<std::uint8_t, 1500> reply {};
            sockaddr_in source {};
            socklen_t sourceLength = sizeof source;
            const ssize_t got = recvfrom(
                fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&source), &sourceLength);
            if (got < static_cast<ssize_t>(sizeof(iphdr))) {
                continue;
            }
            const std::size_t headerLength = static_cast<std::size_t>(reply[0] & 0x0F) * 4;
            if (static_cast<std::size_t>(got) < headerLength + 8) {
                continue;
            }
            const std::uint8_t* icmp = reply.data() + headerLength;
            answered = icmp[0] == ICMP_ECHOREPLY && icmp[4] == request[4] && icmp[5] == request[5]
                && source.sin_addr.s_addr == target.sin_addr.s_addr;
        }
    }
    ::close(fd);
    return answered;
}

// ---- kernel events ----------------------------------------------------------------------------

std::string KernelEventMonitor::Event::describe() const
{
    std::string name;
    switch (type) {
    case RTM_NEWLINK:
        name = "RTM_NEWLINK operstate " + std::to_string(operstate);
        break;
    case RTM_DELLINK:
        name = "RTM_DELLINK";
        break;
    case RTM_NEWADDR:
        name = "RTM_NEWADDR " + local;
        break;
    case RTM_DELADDR:
        name = "RTM_DELADDR " + local;
        break;
    case RTM_NEWROUTE:
        name = "RTM_NEWROUTE";
        break;
    case RTM_DELROUTE:
        name = "RTM_DELROUTE";
        break;
    default:
        name = "type " + std::to_string(type);
    }
    return name + " ifindex " + std::to_string(ifindex);
}

KernelEventMonitor::KernelEventMonitor(const std::string& namespaceName)
    : namespaceName_(namespaceName)
{
    runInNamespace(namespaceName, [&] {
        fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd_ < 0) {
            throw std::runtime_error(std::string("netlink socket: ") + std::strerror(errno));
        }
    });
    sockaddr_nl local {};
    local.nl_family = AF_NETLINK;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        throw std::runtime_error(std::string("bind netlink: ") + std::strerror(errno));
    }
    for (int group : { RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE }) {
        if (setsockopt(fd_, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) {
            throw std::runtime_error(std::string("NETLINK_ADD_MEMBERSHIP: ") + std::strerror(errno));
        }
    }
    const int bufferSize = 4 * 1024 * 1024;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bufferSize, sizeof bufferSize);
}

KernelEventMonitor::~KernelEventMonitor()
{
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::vector<KernelEventMonitor::Event> KernelEventMonitor::read(std::chrono::milliseconds timeout)
{
    std::vector<Event> events;
    pollfd readable { fd_, POLLIN, 0 };
    if (poll(&readable, 1, static_cast<int>(timeout.count())) <= 0) {
        return events;
    }
    std::vector<std::uint8_t> buffer(256 * 1024);
    const ssize_t got = recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (got < 0) {
        // ENOBUFS would mean lost events: never count on a partial picture.
        throw std::runtime_error(std::string("reading kernel events: ") + std::strerror(errno));
    }
    int remaining = static_cast<int>(got);
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer.data()); nlmsg_ok(header, remaining);
         header = nlmsg_next(header, &remaining)) {
        Event event;
        event.type = header->nlmsg_type;
        if (header->nlmsg_type == RTM_NEWLINK || header->nlmsg_type == RTM_DELLINK) {
            const auto* info = static_cast<const ifinfomsg*>(nlmsg_data(header));
            event.ifindex = info->ifi_index;
            nlattr* attributes[IFLA_MAX + 1] = {};
            if (nlmsg_parse(header, sizeof(ifinfomsg), attributes, IFLA_MAX, nullptr) == 0
                && attributes[IFLA_OPERSTATE] != nullptr) {
                event.operstate = *static_cast<const std::uint8_t*>(nla_data(attributes[IFLA_OPERSTATE]));
            }
        } else if (header->nlmsg_type == RTM_NEWADDR || header->nlmsg_type == RTM_DELADDR) {
            const auto* info = static_cast<const ifaddrmsg*>(nlmsg_data(header));
            event.ifindex = static_cast<int>(info->ifa_index);
            nlattr* attributes[IFA_MAX + 1] = {};
            if (nlmsg_parse(header, sizeof(ifaddrmsg), attributes, IFA_MAX, nullptr) == 0
                && attributes[IFA_LOCAL] != nullptr && nla_len(attributes[IFA_LOCAL]) == 4) {
                char text[INET_ADDRSTRLEN] = {};
                inet_ntop(AF_INET, nla_data(attributes[IFA_LOCAL]), text, sizeof text);
                event.local = text;
            }
        } else if (header->nlmsg_type == RTM_NEWROUTE || header->nlmsg_type == RTM_DELROUTE) {
            nlattr* attributes[RTA_MAX + 1] = {};
            if (nlmsg_parse(header, sizeof(rtmsg), attributes, RTA_MAX, nullptr) == 0
                && attributes[RTA_OIF] != nullptr) {
                event.ifindex = static_cast<int>(nla_get_u32(attributes[RTA_OIF]));
            }
        }
        events.push_back(event);
    }
    return events;
}

std::vector<KernelEventMonitor::Event> KernelEventMonitor::eventsUntilMarker()
{
    const std::string marker = "127.0.0." + std::to_string(100 + markers_++);
    ip({ "-n", namespaceName_, "address", "add", marker + "/8", "dev", "lo" });
    std::vector<Event> before;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        for (const Event& event : read(std::chrono::duration_cast<std::chrono::milliseconds>(
                 deadline - std::chrono::steady_clock::now()))) {
            if (event.type == RTM_NEWADDR && event.local == marker) {
                // What follows the marker (its own route events) is not counted.
                while (!read(std::chrono::milliseconds(0)).empty()) { }
                return before;
            }
            before.push_back(event);
        }
    }
    throw std::runtime_error("the marker address " + marker + " never showed up in the kernel events");
}

bool KernelEventMonitor::waitFor(
    const std::function<bool(const std::vector<Event>&)>& done, std::chrono::milliseconds timeout)
{
    std::vector<Event> seen;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(seen)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        for (const Event& event : read(left)) {
            seen.push_back(event);
        }
    }
    return true;
}

} // namespace omni::testing
