// The gateway probe's ARP packets as raw bytes: the request we send, and
// which received packets count as the gateway's reply.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "drivers/netlink/arp_packet.hpp"

namespace omni::netlink {
namespace {

constexpr std::uint32_t kGateway = 0xc0000201; // 192.0.2.1
constexpr std::uint32_t kOurs = 0xc000020a; // 192.0.2.10

// A reply as the gateway 192.0.2.1 (02:00:5e:00:00:01) sends it to us.
std::vector<std::uint8_t> replyFromGateway()
{
    return {
        0x00, 0x01, // hardware type: Ethernet
        0x08, 0x00, // protocol type: IPv4
        0x06, // hardware address length
        0x04, // protocol address length
        0x00, 0x02, // opcode: reply
        0x02, 0x00, 0x5e, 0x00, 0x00, 0x01, // sender MAC
        0xc0, 0x00, 0x02, 0x01, // sender IPv4: 192.0.2.1
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a, // target MAC (ours)
        0xc0, 0x00, 0x02, 0x0a, // target IPv4: 192.0.2.10
    };
}

TEST(ArpPacketTest, RequestHasTheBytesOfRfc826)
{
    const ArpPacket request = arpRequest({ 0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a }, kOurs, kGateway);
    const ArpPacket expected {
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // Ethernet, IPv4, 6, 4, request
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a, // sender MAC: ours
        0xc0, 0x00, 0x02, 0x0a, // sender IPv4: ours
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC: unknown
        0xc0, 0x00, 0x02, 0x01, // target IPv4: the gateway
    };
    EXPECT_EQ(request, expected);
}

TEST(ArpPacketTest, ReplyFromTheGatewayCounts)
{
    EXPECT_TRUE(isArpReplyFrom(replyFromGateway(), kGateway));
}

TEST(ArpPacketTest, ReplyWithEthernetPaddingCounts)
{
    auto padded = replyFromGateway();
    padded.resize(46, 0); // Ethernet's minimum payload
    EXPECT_TRUE(isArpReplyFrom(padded, kGateway));
}

TEST(ArpPacketTest, TruncatedPacketsDoNotCount)
{
    const auto reply = replyFromGateway();
    for (std::size_t length = 0; length < reply.size(); ++length) {
        EXPECT_FALSE(isArpReplyFrom(std::span(reply.data(), length), kGateway)) << length << " bytes";
    }
}

TEST(ArpPacketTest, RequestFromTheGatewayDoesNotCount)
{
    auto request = replyFromGateway();
    request[7] = 0x01; // opcode: request (the gateway asking, or our own request seen going out)
    EXPECT_FALSE(isArpReplyFrom(request, kGateway));
    auto other = replyFromGateway();
    other[6] = 0x02; // 0x0202: not an ARP opcode at all
    EXPECT_FALSE(isArpReplyFrom(other, kGateway));
}

TEST(ArpPacketTest, ReplyFromAnotherSenderDoesNotCount)
{
    EXPECT_FALSE(isArpReplyFrom(replyFromGateway(), 0xc0000202)); // waiting for 192.0.2.2
    auto fromUs = replyFromGateway();
    fromUs[14] = 0xc0;
    fromUs[17] = 0x0a; // sender 192.0.2.10 (ours), gateway only as target
    fromUs[27] = 0x01;
    EXPECT_FALSE(isArpReplyFrom(fromUs, kGateway));
}

TEST(ArpPacketTest, ReplyForAnotherHardwareOrProtocolDoesNotCount)
{
    auto ieee802 = replyFromGateway();
    ieee802[1] = 0x06; // hardware type IEEE 802
    EXPECT_FALSE(isArpReplyFrom(ieee802, kGateway));
    auto ipv6 = replyFromGateway();
    ipv6[2] = 0x86;
    ipv6[3] = 0xdd; // protocol type IPv6
    EXPECT_FALSE(isArpReplyFrom(ipv6, kGateway));
}

TEST(ArpPacketTest, ReplyWhoseAddressLengthsDifferDoesNotCount)
{
    // With other lengths the sender's address is elsewhere: bytes 14-17 are
    // no longer it, though here they still hold the gateway's address.
    auto longHardware = replyFromGateway();
    longHardware[4] = 8;
    EXPECT_FALSE(isArpReplyFrom(longHardware, kGateway));
    auto longProtocol = replyFromGateway();
    longProtocol[5] = 16;
    EXPECT_FALSE(isArpReplyFrom(longProtocol, kGateway));
    auto zeroLengths = replyFromGateway();
    zeroLengths[4] = 0;
    zeroLengths[5] = 0;
    EXPECT_FALSE(isArpReplyFrom(zeroLengths, kGateway));
}

} // namespace
} // namespace omni::netlink
