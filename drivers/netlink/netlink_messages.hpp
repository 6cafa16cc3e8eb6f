#pragma once
// The rtnetlink messages we read ourselves, as the kernel's bytes: libnl 3.7
// does not know IFA_PROTO, so address and route dumps are collected raw and
// parsed here (with libnl's attribute parser, nla_parse), and the kernel's
// extended-ack text is read out of an NLMSG_ERROR. Pure: no socket;
// netlink_backend.cpp does the I/O. Every function takes one whole message
// (header included) and trusts none of its lengths.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drivers/netlink/network_backend.hpp"

namespace omni::netlink {

using RawMessage = std::vector<std::uint8_t>;

// An RTM_NEWADDR for an IPv4 address, the message kept in the record;
// nullopt for another type or family, or a message too short for its
// headers or whose nlmsg_len is not within its bytes.
std::optional<AddressRecord> parseAddressMessage(RawMessage message);

// An RTM_NEWROUTE for an IPv4 route outside the local table and not a cache
// clone, the message kept in the record; nullopt otherwise (as above).
std::optional<RouteRecord> parseRouteMessage(RawMessage message);

// The kernel reports state flags (linkdown, dead, offload) in a route it will
// not accept back; only "onlink" is a request. Clears the others in rtm_flags
// and in every multipath hop; a message that is not a whole RTM_*ROUTE comes
// back unchanged.
RawMessage sanitizedRouteMessage(RawMessage message);

// NLMSGERR_ATTR_MSG of an NLMSG_ERROR carrying extended-ack attributes (the
// echoed request capped or not), e.g. "Nexthop device is not up"; empty when
// there is none or the message is malformed.
std::string extendedAckText(std::span<const std::uint8_t> message);

} // namespace omni::netlink
