// The rtnetlink messages we parse ourselves, fed as the kernel's raw bytes:
// valid ones, truncated ones, other types and families, and lengths that lie
// (nlmsg_len, nla_len, rtnh_len, the echoed request's length in an ack).
#include <gtest/gtest.h>

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "drivers/netlink/netlink_messages.hpp"

namespace omni::netlink {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint32_t ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d)
{
    return (std::uint32_t { a } << 24) | (std::uint32_t { b } << 16) | (std::uint32_t { c } << 8) | d;
}

// The raw byte arrays below are written for a little-endian host, as the
// kernel sends netlink headers in host order.
#define SKIP_UNLESS_LITTLE_ENDIAN()                                                                          \
    if constexpr (std::endian::native != std::endian::little)                                                \
    GTEST_SKIP() << "the raw byte arrays are little-endian"

// An RTM_NEWADDR as `ip address` dumps it: 192.0.2.10/24 on ifindex 3, ours.
const Bytes kAddressMessage {
    0x54, 0x00, 0x00, 0x00, // nlmsg_len 84
    0x14, 0x00, // nlmsg_type RTM_NEWADDR
    0x02, 0x00, // nlmsg_flags NLM_F_MULTI
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid
    0x02, // ifa_family AF_INET
    0x18, // ifa_prefixlen 24
    0x80, // ifa_flags IFA_F_PERMANENT
    0x00, // ifa_scope universe
    0x03, 0x00, 0x00, 0x00, // ifa_index 3
    0x08, 0x00, 0x01, 0x00, 0xc0, 0x00, 0x02, 0x0a, // IFA_ADDRESS 192.0.2.10
    0x08, 0x00, 0x02, 0x00, 0xc0, 0x00, 0x02, 0x0a, // IFA_LOCAL 192.0.2.10
    0x08, 0x00, 0x04, 0x00, 0xc0, 0x00, 0x02, 0xff, // IFA_BROADCAST 192.0.2.255
    0x09, 0x00, 0x03, 0x00, 'd', 'u', 't', '0', 0x00, 0x00, 0x00, 0x00, // IFA_LABEL "dut0", padded
    0x08, 0x00, 0x08, 0x00, 0x80, 0x02, 0x00, 0x00, // IFA_FLAGS PERMANENT | NOPREFIXROUTE (0x280)
    0x08, 0x00, 0x09, 0x00, 0x64, 0x00, 0x00, 0x00, // IFA_RT_PRIORITY 100
    0x05, 0x00, 0x0b, 0x00, 0x9d, 0x00, 0x00, 0x00, // IFA_PROTO 157, padded
};

// An RTM_NEWROUTE: default via 192.0.2.1 dev ifindex 3 proto 157 metric 100
// src 192.0.2.10, main table.
const Bytes kRouteMessage {
    0x3c, 0x00, 0x00, 0x00, // nlmsg_len 60
    0x18, 0x00, // nlmsg_type RTM_NEWROUTE
    0x02, 0x00, // nlmsg_flags NLM_F_MULTI
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid
    0x02, // rtm_family AF_INET
    0x00, // rtm_dst_len 0: default
    0x00, // rtm_src_len
    0x00, // rtm_tos
    0xfe, // rtm_table RT_TABLE_MAIN
    0x9d, // rtm_protocol 157
    0x00, // rtm_scope universe
    0x01, // rtm_type RTN_UNICAST
    0x00, 0x00, 0x00, 0x00, // rtm_flags
    0x08, 0x00, 0x0f, 0x00, 0xfe, 0x00, 0x00, 0x00, // RTA_TABLE 254
    0x08, 0x00, 0x06, 0x00, 0x64, 0x00, 0x00, 0x00, // RTA_PRIORITY 100
    0x08, 0x00, 0x05, 0x00, 0xc0, 0x00, 0x02, 0x01, // RTA_GATEWAY 192.0.2.1
    0x08, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00, // RTA_OIF 3
};

// Netlink messages built field by field, for the variations of the arrays above.
class MessageBuilder {
public:
    MessageBuilder(std::uint16_t type, std::uint16_t flags)
    {
        nlmsghdr header {};
        header.nlmsg_type = type;
        header.nlmsg_flags = flags;
        header.nlmsg_seq = 1;
        append(&header, sizeof header);
    }

    template <class T> MessageBuilder& structure(const T& value)
    {
        append(&value, sizeof value);
        return *this;
    }

    MessageBuilder& attribute(std::uint16_t type, const void* payload, std::size_t size)
    {
        const nlattr header { static_cast<std::uint16_t>(NLA_HDRLEN + size), type };
        append(&header, sizeof header);
        append(payload, size);
        return *this;
    }
    MessageBuilder& u32(std::uint16_t type, std::uint32_t value) { return attribute(type, &value, 4); }
    MessageBuilder& address(std::uint16_t type, std::uint32_t hostOrder)
    {
        const std::uint8_t bytes[4]
            = { static_cast<std::uint8_t>(hostOrder >> 24), static_cast<std::uint8_t>(hostOrder >> 16),
                  static_cast<std::uint8_t>(hostOrder >> 8), static_cast<std::uint8_t>(hostOrder) };
        return attribute(type, bytes, 4);
    }
    MessageBuilder& u8(std::uint16_t type, std::uint8_t value) { return attribute(type, &value, 1); }
    MessageBuilder& text(std::uint16_t type, const std::string& value)
    {
        return attribute(type, value.c_str(), value.size() + 1);
    }
    MessageBuilder& nested(std::uint16_t type, const Bytes& payload)
    {
        return attribute(type, payload.data(), payload.size());
    }

    Bytes build() const
    {
        Bytes message = bytes_;
        const auto length = static_cast<std::uint32_t>(message.size());
        std::memcpy(message.data(), &length, sizeof length);
        return message;
    }

private:
    void append(const void* data, std::size_t size)
    {
        const auto* begin = static_cast<const std::uint8_t*>(data);
        bytes_.insert(bytes_.end(), begin, begin + size);
        bytes_.resize(NLMSG_ALIGN(bytes_.size()), 0);
    }

    Bytes bytes_;
};

ifaddrmsg addressHeader(std::uint8_t family = AF_INET)
{
    ifaddrmsg info {};
    info.ifa_family = family;
    info.ifa_prefixlen = 24;
    info.ifa_flags = IFA_F_PERMANENT;
    info.ifa_index = 3;
    return info;
}

rtmsg routeHeader(std::uint8_t table = RT_TABLE_MAIN, std::uint32_t flags = 0)
{
    rtmsg info {};
    info.rtm_family = AF_INET;
    info.rtm_table = table;
    info.rtm_protocol = 157;
    info.rtm_scope = RT_SCOPE_UNIVERSE;
    info.rtm_type = RTN_UNICAST;
    info.rtm_flags = flags;
    return info;
}

// One rtnexthop and its attributes, as RTA_MULTIPATH carries them.
Bytes nextHop(int ifindex, std::uint32_t gateway, std::uint8_t flags = 0)
{
    Bytes hop(sizeof(rtnexthop), 0);
    rtnexthop header {};
    header.rtnh_len = sizeof(rtnexthop) + (gateway != 0 ? 8 : 0);
    header.rtnh_flags = flags;
    header.rtnh_ifindex = ifindex;
    std::memcpy(hop.data(), &header, sizeof header);
    if (gateway != 0) {
        const nlattr attribute { 8, RTA_GATEWAY };
        const auto* header = reinterpret_cast<const std::uint8_t*>(&attribute);
        hop.insert(hop.end(), header, header + sizeof attribute);
        for (const int shift : { 24, 16, 8, 0 }) {
            hop.push_back(static_cast<std::uint8_t>(gateway >> shift));
        }
    }
    return hop;
}

Bytes concatenated(std::initializer_list<Bytes> parts)
{
    Bytes all;
    for (const Bytes& part : parts) {
        all.insert(all.end(), part.begin(), part.end());
    }
    return all;
}

void setLength(Bytes& message, std::uint32_t length)
{
    std::memcpy(message.data(), &length, sizeof length);
}

// ---- addresses ---------------------------------------------------------------------------------

TEST(AddressMessageTest, EveryFieldOfTheKernelsMessageIsRead)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    const auto record = parseAddressMessage(kAddressMessage);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->ifindex, 3);
    EXPECT_EQ(record->prefixLength, 24);
    EXPECT_EQ(record->scope, RT_SCOPE_UNIVERSE);
    EXPECT_EQ(record->peer, ipv4(192, 0, 2, 10));
    EXPECT_EQ(record->local, ipv4(192, 0, 2, 10));
    EXPECT_EQ(record->broadcast, ipv4(192, 0, 2, 255));
    EXPECT_EQ(record->label, "dut0");
    EXPECT_EQ(record->flags,
        std::uint32_t { IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE }); // IFA_FLAGS, not the 8-bit ifa_flags
    EXPECT_EQ(record->protocol, 157);
    EXPECT_EQ(record->routeMetric, 100u);
    EXPECT_EQ(record->message, kAddressMessage); // kept byte for byte for restore
}

TEST(AddressMessageTest, TheBuilderWritesTheSameBytes)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    const Bytes built = MessageBuilder(RTM_NEWADDR, NLM_F_MULTI)
                            .structure(addressHeader())
                            .address(IFA_ADDRESS, ipv4(192, 0, 2, 10))
                            .address(IFA_LOCAL, ipv4(192, 0, 2, 10))
                            .address(IFA_BROADCAST, ipv4(192, 0, 2, 255))
                            .text(IFA_LABEL, "dut0")
                            .u32(IFA_FLAGS, IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE)
                            .u32(IFA_RT_PRIORITY, 100)
                            .u8(IFA_PROTO, 157)
                            .build();
    EXPECT_EQ(built, kAddressMessage);
}

TEST(AddressMessageTest, AbsentAttributesFallBackToTheHeaderAndTheAddress)
{
    const Bytes message = MessageBuilder(RTM_NEWADDR, 0)
                              .structure(addressHeader())
                              .address(IFA_ADDRESS, ipv4(10, 1, 0, 5))
                              .build();
    const auto record = parseAddressMessage(message);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->local, ipv4(10, 1, 0, 5)); // IFA_LOCAL defaults to IFA_ADDRESS
    EXPECT_EQ(record->peer, ipv4(10, 1, 0, 5));
    EXPECT_EQ(record->flags, std::uint32_t { IFA_F_PERMANENT }); // ifa_flags without IFA_FLAGS
    EXPECT_EQ(record->protocol, 0); // not ours
    EXPECT_EQ(record->routeMetric, 0u);
    EXPECT_EQ(record->broadcast, 0u);
    EXPECT_EQ(record->label, "");
}

TEST(AddressMessageTest, OtherTypesAndFamiliesAreNotAddresses)
{
    for (const std::uint16_t type : std::initializer_list<std::uint16_t> {
             RTM_DELADDR, RTM_NEWROUTE, RTM_NEWLINK, NLMSG_ERROR, NLMSG_DONE }) {
        const Bytes message = MessageBuilder(type, 0)
                                  .structure(addressHeader())
                                  .address(IFA_LOCAL, ipv4(192, 0, 2, 10))
                                  .build();
        EXPECT_FALSE(parseAddressMessage(message).has_value()) << "type " << type;
    }
    const Bytes ipv6 = MessageBuilder(RTM_NEWADDR, 0).structure(addressHeader(AF_INET6)).build();
    EXPECT_FALSE(parseAddressMessage(ipv6).has_value());
}

TEST(AddressMessageTest, TruncatedMessagesAreRejected)
{
    for (std::size_t length = 0; length < kAddressMessage.size(); ++length) {
        const Bytes truncated(kAddressMessage.begin(), kAddressMessage.begin() + static_cast<long>(length));
        EXPECT_FALSE(parseAddressMessage(truncated).has_value()) << length << " bytes";
    }
}

TEST(AddressMessageTest, NlmsgLenThatLiesIsRejectedOrBoundsTheAttributes)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    Bytes longer = kAddressMessage;
    setLength(longer, static_cast<std::uint32_t>(longer.size() + 4)); // more than we have
    EXPECT_FALSE(parseAddressMessage(longer).has_value());
    setLength(longer, 0xffffffff);
    EXPECT_FALSE(parseAddressMessage(longer).has_value());

    for (const std::uint32_t tooShort : { 0u, 15u, 16u, 23u }) { // no room for the ifaddrmsg
        Bytes message = kAddressMessage;
        setLength(message, tooShort);
        EXPECT_FALSE(parseAddressMessage(message).has_value()) << "nlmsg_len " << tooShort;
    }

    // nlmsg_len ends after IFA_ADDRESS: what follows is not part of the message.
    Bytes shorter = kAddressMessage;
    setLength(shorter, 16 + 8 + 8);
    const auto record = parseAddressMessage(shorter);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->peer, ipv4(192, 0, 2, 10));
    EXPECT_EQ(record->broadcast, 0u);
    EXPECT_EQ(record->label, "");
    EXPECT_EQ(record->protocol, 0);
}

TEST(AddressMessageTest, AttributesWhoseLengthLiesAreNotRead)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    // IFA_PROTO, the last attribute, claims 200 bytes: libnl stops before it.
    Bytes beyondTheEnd = kAddressMessage;
    beyondTheEnd[76] = 200;
    auto record = parseAddressMessage(beyondTheEnd);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->protocol, 0);
    EXPECT_EQ(record->routeMetric, 100u); // the ones before it are read

    // IFA_BROADCAST claims 2 bytes, less than its own header: parsing stops there.
    Bytes belowTheHeader = kAddressMessage;
    belowTheHeader[40] = 2;
    record = parseAddressMessage(belowTheHeader);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->local, ipv4(192, 0, 2, 10));
    EXPECT_EQ(record->broadcast, 0u);
    EXPECT_EQ(record->label, "");
    EXPECT_EQ(record->protocol, 0);

    // An IPv4 attribute that is not 4 bytes is ignored, not read short.
    const Bytes shortAddress = MessageBuilder(RTM_NEWADDR, 0)
                                   .structure(addressHeader())
                                   .address(IFA_ADDRESS, ipv4(192, 0, 2, 10))
                                   .attribute(IFA_LOCAL, "\xc0\x00\x02", 3)
                                   .attribute(IFA_FLAGS, "\x80\x01", 2)
                                   .build();
    record = parseAddressMessage(shortAddress);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->local, ipv4(192, 0, 2, 10)); // falls back to IFA_ADDRESS
    EXPECT_EQ(record->flags, std::uint32_t { IFA_F_PERMANENT });
}

TEST(AddressMessageTest, LabelWithoutItsNulStopsAtTheAttribute)
{
    const Bytes message = MessageBuilder(RTM_NEWADDR, 0)
                              .structure(addressHeader())
                              .attribute(IFA_LABEL, "dut0dut0", 4)
                              .u32(IFA_FLAGS, 0)
                              .build();
    const auto record = parseAddressMessage(message);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->label, "dut0");
}

// ---- routes ------------------------------------------------------------------------------------

TEST(RouteMessageTest, EveryFieldOfTheKernelsMessageIsRead)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    const auto record = parseRouteMessage(kRouteMessage);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->table, std::uint32_t { RT_TABLE_MAIN });
    EXPECT_EQ(record->destination, 0u);
    EXPECT_EQ(record->destinationLength, 0);
    EXPECT_EQ(record->tos, 0);
    EXPECT_EQ(record->protocol, 157);
    EXPECT_EQ(record->scope, RT_SCOPE_UNIVERSE);
    EXPECT_EQ(record->type, RTN_UNICAST);
    EXPECT_EQ(record->priority, 100u);
    EXPECT_EQ(record->preferredSource, 0u);
    EXPECT_EQ(record->nextHops, (std::vector<NextHop> { { 3, ipv4(192, 0, 2, 1) } }));
    EXPECT_TRUE(record->isMainDefaultRoute());
    EXPECT_EQ(record->message, kRouteMessage);
}

TEST(RouteMessageTest, TheBuilderWritesTheSameBytes)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    const Bytes built = MessageBuilder(RTM_NEWROUTE, NLM_F_MULTI)
                            .structure(routeHeader())
                            .u32(RTA_TABLE, RT_TABLE_MAIN)
                            .u32(RTA_PRIORITY, 100)
                            .address(RTA_GATEWAY, ipv4(192, 0, 2, 1))
                            .u32(RTA_OIF, 3)
                            .build();
    EXPECT_EQ(built, kRouteMessage);
}

TEST(RouteMessageTest, DestinationAndPreferredSourceAreRead)
{
    rtmsg info = routeHeader();
    info.rtm_dst_len = 24;
    info.rtm_scope = RT_SCOPE_LINK;
    info.rtm_protocol = RTPROT_KERNEL;
    const Bytes message = MessageBuilder(RTM_NEWROUTE, 0)
                              .structure(info)
                              .address(RTA_DST, ipv4(192, 0, 2, 0))
                              .address(RTA_PREFSRC, ipv4(192, 0, 2, 10))
                              .u32(RTA_OIF, 3)
                              .build();
    const auto record = parseRouteMessage(message);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->destination, ipv4(192, 0, 2, 0));
    EXPECT_EQ(record->destinationLength, 24);
    EXPECT_EQ(record->preferredSource, ipv4(192, 0, 2, 10));
    EXPECT_EQ(record->scope, RT_SCOPE_LINK);
    EXPECT_EQ(record->protocol, RTPROT_KERNEL);
    EXPECT_EQ(record->table, std::uint32_t { RT_TABLE_MAIN }); // rtm_table without RTA_TABLE
    EXPECT_EQ(record->nextHops, (std::vector<NextHop> { { 3, 0 } }));
    EXPECT_FALSE(record->isMainDefaultRoute());
}

TEST(RouteMessageTest, RtaTableWinsOverTheHeadersEightBits)
{
    const Bytes message = MessageBuilder(RTM_NEWROUTE, 0)
                              .structure(routeHeader(RT_TABLE_COMPAT))
                              .u32(RTA_TABLE, 1000)
                              .u32(RTA_OIF, 3)
                              .build();
    const auto record = parseRouteMessage(message);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->table, 1000u);
}

TEST(RouteMessageTest, LocalTableClonesOtherTypesAndFamiliesAreSkipped)
{
    const Bytes local
        = MessageBuilder(RTM_NEWROUTE, 0).structure(routeHeader(RT_TABLE_LOCAL)).u32(RTA_OIF, 3).build();
    EXPECT_FALSE(parseRouteMessage(local).has_value());
    const Bytes localByAttribute = MessageBuilder(RTM_NEWROUTE, 0)
                                       .structure(routeHeader(RT_TABLE_MAIN))
                                       .u32(RTA_TABLE, RT_TABLE_LOCAL)
                                       .build();
    EXPECT_FALSE(parseRouteMessage(localByAttribute).has_value());
    const Bytes clone = MessageBuilder(RTM_NEWROUTE, 0)
                            .structure(routeHeader(RT_TABLE_MAIN, RTM_F_CLONED))
                            .u32(RTA_OIF, 3)
                            .build();
    EXPECT_FALSE(parseRouteMessage(clone).has_value());
    for (const std::uint16_t type :
        std::initializer_list<std::uint16_t> { RTM_DELROUTE, RTM_NEWADDR, RTM_NEWLINK, NLMSG_DONE }) {
        const Bytes message = MessageBuilder(type, 0).structure(routeHeader()).u32(RTA_OIF, 3).build();
        EXPECT_FALSE(parseRouteMessage(message).has_value()) << "type " << type;
    }
    rtmsg ipv6 = routeHeader();
    ipv6.rtm_family = AF_INET6;
    EXPECT_FALSE(parseRouteMessage(MessageBuilder(RTM_NEWROUTE, 0).structure(ipv6).build()).has_value());
}

TEST(RouteMessageTest, RouteWithoutInterfaceOrGatewayHasNoNextHop)
{
    rtmsg info = routeHeader();
    info.rtm_type = RTN_BLACKHOLE;
    const Bytes message = MessageBuilder(RTM_NEWROUTE, 0).structure(info).u32(RTA_PRIORITY, 5).build();
    const auto record = parseRouteMessage(message);
    ASSERT_TRUE(record.has_value());
    EXPECT_TRUE(record->nextHops.empty());
    EXPECT_EQ(record->type, RTN_BLACKHOLE);
}

TEST(RouteMessageTest, MultipathHopsAreReadInOrder)
{
    const Bytes hops
        = concatenated({ nextHop(3, ipv4(192, 0, 2, 1)), nextHop(4, ipv4(198, 51, 100, 1)), nextHop(5, 0) });
    const Bytes message = MessageBuilder(RTM_NEWROUTE, 0)
                              .structure(routeHeader())
                              .nested(RTA_MULTIPATH, hops)
                              .u32(RTA_OIF, 9) // ignored next to RTA_MULTIPATH
                              .build();
    const auto record = parseRouteMessage(message);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->nextHops,
        (std::vector<NextHop> { { 3, ipv4(192, 0, 2, 1) }, { 4, ipv4(198, 51, 100, 1) }, { 5, 0 } }));
}

TEST(RouteMessageTest, MultipathHopWhoseLengthLiesEndsTheList)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    Bytes overlong = concatenated({ nextHop(3, ipv4(192, 0, 2, 1)), nextHop(4, ipv4(198, 51, 100, 1)) });
    overlong[16] = 200; // the second hop's rtnh_len: beyond RTA_MULTIPATH
    auto record = parseRouteMessage(
        MessageBuilder(RTM_NEWROUTE, 0).structure(routeHeader()).nested(RTA_MULTIPATH, overlong).build());
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->nextHops, (std::vector<NextHop> { { 3, ipv4(192, 0, 2, 1) } }));

    Bytes belowItsHeader = overlong;
    belowItsHeader[16] = 4; // less than an rtnexthop
    record = parseRouteMessage(MessageBuilder(RTM_NEWROUTE, 0)
                                   .structure(routeHeader())
                                   .nested(RTA_MULTIPATH, belowItsHeader)
                                   .build());
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->nextHops, (std::vector<NextHop> { { 3, ipv4(192, 0, 2, 1) } }));

    Bytes cut = nextHop(3, ipv4(192, 0, 2, 1));
    cut.resize(6); // not even an rtnexthop
    record = parseRouteMessage(
        MessageBuilder(RTM_NEWROUTE, 0).structure(routeHeader()).nested(RTA_MULTIPATH, cut).build());
    ASSERT_TRUE(record.has_value());
    EXPECT_TRUE(record->nextHops.empty());

    // A hop's gateway attribute that claims more than the hop holds is not read.
    Bytes lyingGateway = nextHop(3, ipv4(192, 0, 2, 1));
    lyingGateway[8] = 12;
    record = parseRouteMessage(
        MessageBuilder(RTM_NEWROUTE, 0).structure(routeHeader()).nested(RTA_MULTIPATH, lyingGateway).build());
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->nextHops, (std::vector<NextHop> { { 3, 0 } }));
}

TEST(RouteMessageTest, TruncatedMessagesAndLyingLengthsAreRejected)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    for (std::size_t length = 0; length < kRouteMessage.size(); ++length) {
        const Bytes truncated(kRouteMessage.begin(), kRouteMessage.begin() + static_cast<long>(length));
        EXPECT_FALSE(parseRouteMessage(truncated).has_value()) << length << " bytes";
    }
    Bytes longer = kRouteMessage;
    setLength(longer, static_cast<std::uint32_t>(longer.size() + 1));
    EXPECT_FALSE(parseRouteMessage(longer).has_value());
    for (const std::uint32_t tooShort : { 0u, 16u, 27u }) { // no room for the rtmsg
        Bytes message = kRouteMessage;
        setLength(message, tooShort);
        EXPECT_FALSE(parseRouteMessage(message).has_value()) << "nlmsg_len " << tooShort;
    }
    // nlmsg_len ends before RTA_GATEWAY and RTA_OIF.
    Bytes shorter = kRouteMessage;
    setLength(shorter, 16 + 12 + 8 + 8);
    const auto record = parseRouteMessage(shorter);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->priority, 100u);
    EXPECT_TRUE(record->nextHops.empty());
}

// ---- routes sent back by restore ---------------------------------------------------------------

TEST(SanitizedRouteTest, OnlyOnlinkIsKeptInTheRouteAndItsHops)
{
    constexpr std::uint8_t kStateFlags = RTNH_F_DEAD | RTNH_F_LINKDOWN | RTNH_F_OFFLOAD;
    const Bytes hops = concatenated({ nextHop(3, ipv4(192, 0, 2, 1), RTNH_F_ONLINK | kStateFlags),
        nextHop(4, ipv4(198, 51, 100, 1), kStateFlags) });
    const Bytes message = MessageBuilder(RTM_NEWROUTE, NLM_F_MULTI)
                              .structure(routeHeader(RT_TABLE_MAIN, RTNH_F_ONLINK | kStateFlags))
                              .u32(RTA_PRIORITY, 100)
                              .nested(RTA_MULTIPATH, hops)
                              .build();
    const Bytes sanitized = sanitizedRouteMessage(message);
    ASSERT_EQ(sanitized.size(), message.size());
    Bytes expected = message;
    const std::size_t flagsOffset = NLMSG_HDRLEN + offsetof(rtmsg, rtm_flags);
    expected[flagsOffset] = RTNH_F_ONLINK; // the low byte; the others held no flag
    const std::size_t hopsOffset = NLMSG_HDRLEN + sizeof(rtmsg) + 8 + NLA_HDRLEN;
    expected[hopsOffset + offsetof(rtnexthop, rtnh_flags)] = RTNH_F_ONLINK;
    expected[hopsOffset + 16 + offsetof(rtnexthop, rtnh_flags)] = 0;
    EXPECT_EQ(sanitized, expected);
    EXPECT_EQ(parseRouteMessage(sanitized)->nextHops, parseRouteMessage(message)->nextHops);
}

TEST(SanitizedRouteTest, WhatIsNotAWholeRouteMessageComesBackUnchanged)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    Bytes flagged = kRouteMessage;
    flagged[NLMSG_HDRLEN + offsetof(rtmsg, rtm_flags)] = RTNH_F_LINKDOWN;
    for (std::size_t length = 0; length < NLMSG_HDRLEN + sizeof(rtmsg); ++length) {
        const Bytes truncated(flagged.begin(), flagged.begin() + static_cast<long>(length));
        EXPECT_EQ(sanitizedRouteMessage(truncated), truncated) << length << " bytes";
    }
    Bytes lying = flagged;
    setLength(lying, 200);
    EXPECT_EQ(sanitizedRouteMessage(lying), lying);
    Bytes address = flagged;
    address[4] = RTM_NEWADDR;
    EXPECT_EQ(sanitizedRouteMessage(address), address);
}

// ---- extended acks -----------------------------------------------------------------------------

// An NLMSG_ERROR for a failed RTM_NEWROUTE: nlmsgerr, the request's payload
// unless capped, then the extended-ack attributes.
Bytes kernelError(std::uint16_t flags, const Bytes& requestPayload, const Bytes& attributes)
{
    nlmsgerr error {};
    error.error = -EINVAL;
    error.msg.nlmsg_len = static_cast<std::uint32_t>(NLMSG_HDRLEN + requestPayload.size());
    error.msg.nlmsg_type = RTM_NEWROUTE;
    error.msg.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
    error.msg.nlmsg_seq = 7;
    Bytes payload(sizeof error);
    std::memcpy(payload.data(), &error, sizeof error);
    if ((flags & NLM_F_CAPPED) == 0) {
        payload.insert(payload.end(), requestPayload.begin(), requestPayload.end());
    }
    payload.resize(NLMSG_ALIGN(payload.size()), 0);
    payload.insert(payload.end(), attributes.begin(), attributes.end());
    nlmsghdr header {};
    header.nlmsg_len = static_cast<std::uint32_t>(NLMSG_HDRLEN + payload.size());
    header.nlmsg_type = NLMSG_ERROR;
    header.nlmsg_flags = flags;
    header.nlmsg_seq = 7;
    Bytes message(sizeof header + payload.size());
    std::memcpy(message.data(), &header, sizeof header);
    std::memcpy(message.data() + sizeof header, payload.data(), payload.size());
    return message;
}

// NLMSGERR_ATTR_MSG "Nexthop has invalid gateway" and NLMSGERR_ATTR_OFFS 32.
const Bytes kAckAttributes {
    0x20, 0x00, 0x01, 0x00, // nla_len 32, NLMSGERR_ATTR_MSG
    'N', 'e', 'x', 't', 'h', 'o', 'p', ' ', 'h', 'a', 's', ' ', 'i', 'n', 'v', 'a', 'l', 'i', 'd', ' ', 'g',
    'a', 't', 'e', 'w', 'a', 'y', 0x00, // 28 bytes with the NUL
    0x08, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, // NLMSGERR_ATTR_OFFS 32
};

// The request's rtmsg and one RTA_GATEWAY, as echoed in an uncapped ack.
const Bytes kRequestPayload { 0x02, 0x00, 0x00, 0x00, 0xfe, 0x9d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x08,
    0x00, 0x05, 0x00, 0x0a, 0x00, 0x00, 0x01 };

TEST(ExtendedAckTest, TextOfACappedAckIsRead)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    const Bytes message = kernelError(NLM_F_CAPPED | NLM_F_ACK_TLVS, kRequestPayload, kAckAttributes);
    EXPECT_EQ(extendedAckText(message), "Nexthop has invalid gateway");
}

TEST(ExtendedAckTest, TextAfterTheEchoedRequestIsRead)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    const Bytes message = kernelError(NLM_F_ACK_TLVS, kRequestPayload, kAckAttributes);
    EXPECT_EQ(
        message.size(), NLMSG_HDRLEN + sizeof(nlmsgerr) + kRequestPayload.size() + kAckAttributes.size());
    EXPECT_EQ(extendedAckText(message), "Nexthop has invalid gateway");
}

TEST(ExtendedAckTest, NoTextWithoutAckAttributesOrWithoutAMessage)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    EXPECT_EQ(extendedAckText(kernelError(NLM_F_CAPPED, kRequestPayload, kAckAttributes)), "");
    EXPECT_EQ(extendedAckText(kernelError(NLM_F_CAPPED | NLM_F_ACK_TLVS, kRequestPayload, {})), "");
    const Bytes offsetOnly(kAckAttributes.end() - 8, kAckAttributes.end());
    EXPECT_EQ(extendedAckText(kernelError(NLM_F_CAPPED | NLM_F_ACK_TLVS, kRequestPayload, offsetOnly)), "");
}

TEST(ExtendedAckTest, TextWithoutItsNulStopsAtTheAttribute)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    Bytes attributes = kAckAttributes;
    attributes[0] = 4 + 7; // "Nexthop", the rest is padding and the next attribute
    attributes.erase(attributes.begin() + 12, attributes.begin() + 32); // ' ' left as padding, not a NUL
    const Bytes message = kernelError(NLM_F_CAPPED | NLM_F_ACK_TLVS, kRequestPayload, attributes);
    EXPECT_EQ(extendedAckText(message), "Nexthop");
}

TEST(ExtendedAckTest, OtherTypesTruncatedMessagesAndLyingLengthsGiveNoText)
{
    SKIP_UNLESS_LITTLE_ENDIAN();
    const Bytes valid = kernelError(NLM_F_ACK_TLVS, kRequestPayload, kAckAttributes);
    Bytes notAnError = valid;
    notAnError[4] = RTM_NEWROUTE;
    EXPECT_EQ(extendedAckText(notAnError), "");

    for (std::size_t length = 0; length < valid.size(); ++length) {
        const Bytes truncated(valid.begin(), valid.begin() + static_cast<long>(length));
        EXPECT_EQ(extendedAckText(truncated), "") << length << " bytes";
    }

    Bytes longer = valid;
    setLength(longer, static_cast<std::uint32_t>(valid.size() + 4));
    EXPECT_EQ(extendedAckText(longer), "");
    Bytes tooShort = valid;
    setLength(tooShort, NLMSG_HDRLEN + 4); // no room for the nlmsgerr
    EXPECT_EQ(extendedAckText(tooShort), "");

    // The echoed request's nlmsg_len: beyond the message, or less than a header.
    const std::size_t echoedLength = NLMSG_HDRLEN + offsetof(nlmsgerr, msg);
    for (const std::uint32_t lie : { 0xffffff00u, 4096u, 0u, 8u }) {
        Bytes message = valid;
        std::memcpy(message.data() + echoedLength, &lie, sizeof lie);
        EXPECT_EQ(extendedAckText(message), "") << "echoed nlmsg_len " << lie;
    }

    // NLMSGERR_ATTR_MSG claims more than the message holds.
    Bytes overlong = kernelError(NLM_F_CAPPED | NLM_F_ACK_TLVS, kRequestPayload, kAckAttributes);
    overlong[NLMSG_HDRLEN + sizeof(nlmsgerr)] = 200;
    EXPECT_EQ(extendedAckText(overlong), "");
}

} // namespace
} // namespace omni::netlink
