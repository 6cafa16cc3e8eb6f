#include "drivers/netlink/gateway_probe.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/if_ether.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "drivers/netlink/arp_packet.hpp"

namespace omni::netlink {
namespace {

using Clock = std::chrono::steady_clock;

class PacketSocket {
public:
    explicit PacketSocket(int fd)
        : fd_(fd)
    {
    }
    ~PacketSocket()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    PacketSocket(PacketSocket&& other) noexcept
        : fd_(other.fd_)
    {
        other.fd_ = -1;
    }
    PacketSocket(const PacketSocket&) = delete;
    PacketSocket& operator=(const PacketSocket&) = delete;
    PacketSocket& operator=(PacketSocket&&) = delete;
    int fd() const { return fd_; }

private:
    int fd_ = -1;
};

// An ARP socket bound to one interface; -1 when it cannot be made.
int openArpSocket(int ifindex)
{
    const int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));
    if (fd < 0)
        return -1;
    sockaddr_ll local {};
    local.sll_family = AF_PACKET;
    local.sll_protocol = htons(ETH_P_ARP);
    local.sll_ifindex = ifindex;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool sendRequest(int fd, const GatewayProbe& probe)
{
    const ArpPacket request = arpRequest(probe.macAddress, probe.source, probe.gateway);
    sockaddr_ll broadcast {};
    broadcast.sll_family = AF_PACKET;
    broadcast.sll_protocol = htons(ETH_P_ARP);
    broadcast.sll_ifindex = probe.ifindex;
    broadcast.sll_halen = ETH_ALEN;
    std::memset(broadcast.sll_addr, 0xff, ETH_ALEN);
    return ::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<const sockaddr*>(&broadcast),
               sizeof broadcast)
        == static_cast<ssize_t>(request.size());
}

bool isReplyFrom(int fd, std::uint32_t gateway)
{
    // A reply padded to Ethernet's minimum arrives cut to the buffer, which
    // is all isArpReplyFrom reads.
    ArpPacket packet {};
    for (;;) {
        const ssize_t received = ::recv(fd, packet.data(), packet.size(), 0);
        if (received < 0)
            return false; // EAGAIN: nothing more queued
        if (isArpReplyFrom(std::span(packet.data(), static_cast<std::size_t>(received)), gateway))
            return true;
    }
}

} // namespace

std::optional<std::array<std::uint8_t, 6>> parseMacAddress(const std::string& text)
{
    std::array<std::uint8_t, 6> bytes {};
    unsigned values[6] = {};
    char extra = 0;
    if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &values[0], &values[1], &values[2], &values[3],
            &values[4], &values[5], &extra)
        != 6)
        return std::nullopt;
    for (std::size_t index = 0; index < bytes.size(); ++index)
        bytes[index] = static_cast<std::uint8_t>(values[index]);
    return bytes;
}

std::vector<std::optional<bool>> probeGateways(
    const std::vector<GatewayProbe>& probes, std::chrono::milliseconds timeout)
{
    std::vector<std::optional<bool>> answers(probes.size());
    std::vector<PacketSocket> sockets;
    std::vector<pollfd> waiting;
    std::vector<std::size_t> probeOf; // waiting[i] belongs to probes[probeOf[i]]
    for (std::size_t index = 0; index < probes.size(); ++index) {
        PacketSocket socket(openArpSocket(probes[index].ifindex));
        if (socket.fd() < 0 || !sendRequest(socket.fd(), probes[index]))
            continue;
        answers[index] = false;
        waiting.push_back({ socket.fd(), POLLIN, 0 });
        probeOf.push_back(index);
        sockets.push_back(std::move(socket));
    }
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    bool resent = false;
    std::size_t open = waiting.size();
    while (open > 0) {
        const auto now = Clock::now();
        if (now >= deadline)
            break;
        // A request lost on a link that just came up gets a second chance halfway.
        const auto halfway = start + timeout / 2;
        if (!resent && now >= halfway) {
            resent = true;
            for (std::size_t slot = 0; slot < waiting.size(); ++slot)
                if (waiting[slot].fd >= 0)
                    sendRequest(waiting[slot].fd, probes[probeOf[slot]]);
        }
        const auto until = resent ? deadline : halfway;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
        const int ready
            = ::poll(waiting.data(), waiting.size(), static_cast<int>(std::max<long long>(left, 1)));
        if (ready < 0 && errno != EINTR)
            break;
        for (std::size_t slot = 0; slot < waiting.size(); ++slot) {
            if (waiting[slot].fd < 0 || (waiting[slot].revents & POLLIN) == 0)
                continue;
            if (isReplyFrom(waiting[slot].fd, probes[probeOf[slot]].gateway)) {
                answers[probeOf[slot]] = true;
                waiting[slot].fd = -1; // poll ignores negative descriptors
                --open;
            }
        }
    }
    return answers;
}

} // namespace omni::netlink
