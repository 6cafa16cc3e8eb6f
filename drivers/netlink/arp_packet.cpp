#include "drivers/netlink/arp_packet.hpp"

#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/if_ether.h>

#include <cstring>

namespace omni::netlink {

static_assert(sizeof(ether_arp) == kArpPacketSize);

ArpPacket arpRequest(const std::array<std::uint8_t, 6>& senderMac, std::uint32_t sender, std::uint32_t target)
{
    ether_arp request {};
    request.arp_hrd = htons(ARPHRD_ETHER);
    request.arp_pro = htons(ETH_P_IP);
    request.arp_hln = ETH_ALEN;
    request.arp_pln = 4;
    request.arp_op = htons(ARPOP_REQUEST);
    std::memcpy(request.arp_sha, senderMac.data(), ETH_ALEN);
    const std::uint32_t senderBytes = htonl(sender);
    const std::uint32_t targetBytes = htonl(target);
    std::memcpy(request.arp_spa, &senderBytes, 4);
    std::memcpy(request.arp_tpa, &targetBytes, 4);
    ArpPacket packet {};
    std::memcpy(packet.data(), &request, packet.size());
    return packet;
}

bool isArpReplyFrom(std::span<const std::uint8_t> packet, std::uint32_t sender)
{
    if (packet.size() < kArpPacketSize)
        return false;
    ether_arp reply {};
    std::memcpy(&reply, packet.data(), sizeof reply);
    // The addresses are where they are only for Ethernet and IPv4 (6- and
    // 4-byte addresses); any other packet would be read at the wrong offsets.
    if (ntohs(reply.arp_hrd) != ARPHRD_ETHER || ntohs(reply.arp_pro) != ETH_P_IP || reply.arp_hln != ETH_ALEN
        || reply.arp_pln != 4)
        return false;
    if (ntohs(reply.arp_op) != ARPOP_REPLY)
        return false;
    std::uint32_t replySender = 0;
    std::memcpy(&replySender, reply.arp_spa, 4);
    return ntohl(replySender) == sender;
}

} // namespace omni::netlink
