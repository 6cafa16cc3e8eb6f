#pragma once
// The ARP packets of the gateway probe (RFC 826, Ethernet and IPv4) as the
// bytes an AF_PACKET SOCK_DGRAM socket sends and receives: the ARP header and
// its addresses, no Ethernet header. Pure: gateway_probe.cpp does the socket
// work.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace omni::netlink {

// 8 bytes of header, then sender MAC, sender IPv4, target MAC, target IPv4.
inline constexpr std::size_t kArpPacketSize = 28;
using ArpPacket = std::array<std::uint8_t, kArpPacketSize>;

// "Who has `target`? Tell `sender`": a request from our MAC and address
// (host byte order) with the target MAC unknown (zero).
ArpPacket arpRequest(
    const std::array<std::uint8_t, 6>& senderMac, std::uint32_t sender, std::uint32_t target);

// True when `packet` (what one recv returned) is an ARP reply whose sender
// protocol address is `sender` (host byte order). Anything shorter than an
// Ethernet/IPv4 ARP packet, another hardware or protocol type or address
// length, a request, or another sender is not; bytes after the packet
// (Ethernet padding) are ignored.
bool isArpReplyFrom(std::span<const std::uint8_t> packet, std::uint32_t sender);

} // namespace omni::netlink
