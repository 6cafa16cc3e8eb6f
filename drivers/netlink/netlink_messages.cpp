#include "drivers/netlink/netlink_messages.hpp"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstring>

namespace omni::netlink {
namespace {

std::optional<std::uint32_t> ipv4Attribute(const nlattr* attribute)
{
    if (attribute == nullptr || nla_len(attribute) != 4) {
        return std::nullopt;
    }
    std::uint32_t networkOrder = 0;
    std::memcpy(&networkOrder, nla_data(attribute), 4);
    return ntohl(networkOrder);
}

std::optional<std::uint32_t> u32Attribute(const nlattr* attribute)
{
    if (attribute == nullptr || nla_len(attribute) != 4) {
        return std::nullopt;
    }
    std::uint32_t value = 0;
    std::memcpy(&value, nla_data(attribute), 4);
    return value;
}

std::optional<std::uint8_t> u8Attribute(const nlattr* attribute)
{
    if (attribute == nullptr || nla_len(attribute) < 1) {
        return std::nullopt;
    }
    return *static_cast<const std::uint8_t*>(nla_data(attribute));
}

std::string stringAttribute(const nlattr* attribute)
{
    if (attribute == nullptr) {
        return {};
    }
    const char* text = static_cast<const char*>(nla_data(attribute));
    return std::string(text, strnlen(text, static_cast<std::size_t>(nla_len(attribute))));
}

// The header of `message` when its nlmsg_len covers the netlink header and a
// family header of `familyHeaderSize` bytes and stays within the bytes we
// have: libnl's parsers believe nlmsg_len and would read past a short buffer.
nlmsghdr* validHeader(RawMessage& message, std::size_t familyHeaderSize)
{
    if (message.size() < NLMSG_HDRLEN) {
        return nullptr;
    }
    auto* header = reinterpret_cast<nlmsghdr*>(message.data());
    if (header->nlmsg_len > message.size() || header->nlmsg_len < NLMSG_HDRLEN + familyHeaderSize) {
        return nullptr;
    }
    return header;
}

} // namespace

std::optional<AddressRecord> parseAddressMessage(RawMessage message)
{
    nlmsghdr* header = validHeader(message, sizeof(ifaddrmsg));
    if (header == nullptr || header->nlmsg_type != RTM_NEWADDR) {
        return std::nullopt;
    }
    const auto* info = static_cast<const ifaddrmsg*>(nlmsg_data(header));
    if (info->ifa_family != AF_INET) {
        return std::nullopt;
    }
    nlattr* attributes[IFA_MAX + 1] = {};
    if (nlmsg_parse(header, sizeof(ifaddrmsg), attributes, IFA_MAX, nullptr) < 0) {
        return std::nullopt;
    }
    AddressRecord record;
    record.ifindex = static_cast<int>(info->ifa_index);
    record.prefixLength = info->ifa_prefixlen;
    record.scope = info->ifa_scope;
    record.peer = ipv4Attribute(attributes[IFA_ADDRESS]).value_or(0);
    record.local = ipv4Attribute(attributes[IFA_LOCAL]).value_or(record.peer);
    record.broadcast = ipv4Attribute(attributes[IFA_BROADCAST]).value_or(0);
    record.label = stringAttribute(attributes[IFA_LABEL]);
    record.flags = u32Attribute(attributes[IFA_FLAGS]).value_or(info->ifa_flags);
    record.protocol = u8Attribute(attributes[IFA_PROTO]).value_or(0);
    record.routeMetric = u32Attribute(attributes[IFA_RT_PRIORITY]).value_or(0);
    record.message = std::move(message);
    return record;
}

std::optional<RouteRecord> parseRouteMessage(RawMessage message)
{
    nlmsghdr* header = validHeader(message, sizeof(rtmsg));
    if (header == nullptr || header->nlmsg_type != RTM_NEWROUTE) {
        return std::nullopt;
    }
    const auto* info = static_cast<const rtmsg*>(nlmsg_data(header));
    if (info->rtm_family != AF_INET || (info->rtm_flags & RTM_F_CLONED) != 0) {
        return std::nullopt;
    }
    nlattr* attributes[RTA_MAX + 1] = {};
    if (nlmsg_parse(header, sizeof(rtmsg), attributes, RTA_MAX, nullptr) < 0) {
        return std::nullopt;
    }
    RouteRecord record;
    record.table = u32Attribute(attributes[RTA_TABLE]).value_or(info->rtm_table);
    if (record.table == RT_TABLE_LOCAL) {
        return std::nullopt; // the kernel's own local and broadcast routes, made from the addresses
    }
    record.destination = ipv4Attribute(attributes[RTA_DST]).value_or(0);
    record.destinationLength = info->rtm_dst_len;
    record.tos = info->rtm_tos;
    record.protocol = info->rtm_protocol;
    record.scope = info->rtm_scope;
    record.type = info->rtm_type;
    record.priority = u32Attribute(attributes[RTA_PRIORITY]).value_or(0);
    record.preferredSource = ipv4Attribute(attributes[RTA_PREFSRC]).value_or(0);
    if (attributes[RTA_MULTIPATH] != nullptr) {
        auto* hop = static_cast<rtnexthop*>(nla_data(attributes[RTA_MULTIPATH]));
        int remaining = nla_len(attributes[RTA_MULTIPATH]);
        while (remaining >= static_cast<int>(sizeof(rtnexthop)) && hop->rtnh_len >= sizeof(rtnexthop)
            && hop->rtnh_len <= remaining) {
            NextHop next { hop->rtnh_ifindex, 0 };
            nlattr* hopAttributes[RTA_MAX + 1] = {};
            const int attributesLength = hop->rtnh_len - static_cast<int>(RTNH_ALIGN(sizeof(rtnexthop)));
            if (attributesLength > 0
                && nla_parse(hopAttributes, RTA_MAX, reinterpret_cast<nlattr*>(RTNH_DATA(hop)),
                       attributesLength, nullptr)
                    == 0) {
                next.gateway = ipv4Attribute(hopAttributes[RTA_GATEWAY]).value_or(0);
            }
            record.nextHops.push_back(next);
            remaining -= RTNH_ALIGN(hop->rtnh_len);
            hop = RTNH_NEXT(hop);
        }
    } else if (attributes[RTA_OIF] != nullptr || attributes[RTA_GATEWAY] != nullptr) {
        record.nextHops.push_back({ static_cast<int>(u32Attribute(attributes[RTA_OIF]).value_or(0)),
            ipv4Attribute(attributes[RTA_GATEWAY]).value_or(0) });
    }
    record.message = std::move(message);
    return record;
}

RawMessage sanitizedRouteMessage(RawMessage message)
{
    nlmsghdr* header = validHeader(message, sizeof(rtmsg));
    if (header == nullptr || (header->nlmsg_type != RTM_NEWROUTE && header->nlmsg_type != RTM_DELROUTE)) {
        return message;
    }
    auto* info = static_cast<rtmsg*>(nlmsg_data(header));
    info->rtm_flags &= RTNH_F_ONLINK;
    nlattr* attributes[RTA_MAX + 1] = {};
    if (nlmsg_parse(header, sizeof(rtmsg), attributes, RTA_MAX, nullptr) == 0
        && attributes[RTA_MULTIPATH] != nullptr) {
        auto* hop = static_cast<rtnexthop*>(nla_data(attributes[RTA_MULTIPATH]));
        int remaining = nla_len(attributes[RTA_MULTIPATH]);
        while (remaining >= static_cast<int>(sizeof(rtnexthop)) && hop->rtnh_len >= sizeof(rtnexthop)
            && hop->rtnh_len <= remaining) {
            hop->rtnh_flags &= RTNH_F_ONLINK;
            remaining -= RTNH_ALIGN(hop->rtnh_len);
            hop = RTNH_NEXT(hop);
        }
    }
    return message;
}

std::string extendedAckText(std::span<const std::uint8_t> message)
{
    if (message.size() < NLMSG_HDRLEN + sizeof(nlmsgerr)) {
        return {};
    }
    nlmsghdr header {};
    std::memcpy(&header, message.data(), sizeof header);
    if (header.nlmsg_type != NLMSG_ERROR || header.nlmsg_len > message.size()
        || header.nlmsg_len < NLMSG_HDRLEN + sizeof(nlmsgerr) || (header.nlmsg_flags & NLM_F_ACK_TLVS) == 0) {
        return {};
    }
    nlmsgerr error {};
    std::memcpy(&error, message.data() + NLMSG_HDRLEN, sizeof error);
    std::size_t offset = sizeof(nlmsgerr);
    if ((header.nlmsg_flags & NLM_F_CAPPED) == 0) {
        if (error.msg.nlmsg_len < NLMSG_HDRLEN) {
            return {};
        }
        offset += error.msg.nlmsg_len - NLMSG_HDRLEN; // the echoed request's payload
    }
    offset = NLMSG_ALIGN(offset);
    const std::size_t payload = header.nlmsg_len - NLMSG_HDRLEN;
    if (offset >= payload) {
        return {};
    }
    // A copy: nla_parse wants writable, aligned attributes.
    std::vector<std::uint8_t> attributeBytes(
        message.begin() + static_cast<std::ptrdiff_t>(NLMSG_HDRLEN + offset),
        message.begin() + static_cast<std::ptrdiff_t>(header.nlmsg_len));
    nlattr* found[NLMSGERR_ATTR_MAX + 1] = {};
    if (nla_parse(found, NLMSGERR_ATTR_MAX, reinterpret_cast<nlattr*>(attributeBytes.data()),
            static_cast<int>(attributeBytes.size()), nullptr)
            != 0
        || found[NLMSGERR_ATTR_MSG] == nullptr) {
        return {};
    }
    return stringAttribute(found[NLMSGERR_ATTR_MSG]);
}

} // namespace omni::netlink
