#pragma once
// "Did the gateway answer ARP within 2 s?" for the receipt on the stick
// (DESIGN.md section 5): one ARP request per port on an AF_PACKET socket
// bound to the interface (sent again halfway), all ports waited for
// together, so the receipt costs at most one timeout, not one per port.
// A probe reports; it never changes anything and never fails the attempt.
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace omni::netlink {

struct GatewayProbe {
    int ifindex = 0;
    std::array<std::uint8_t, 6> macAddress {};
    std::uint32_t source = 0; // our address on that link (host byte order)
    std::uint32_t gateway = 0; // host byte order
};

// "aa:bb:cc:dd:ee:ff" -> bytes; nullopt when it is not a 6-byte MAC.
std::optional<std::array<std::uint8_t, 6>> parseMacAddress(const std::string& text);

// One answer per probe, in order: true when an ARP reply from the gateway
// arrived in time, false when none did, nullopt when the probe could not be
// sent (no AF_PACKET socket: no CAP_NET_RAW, an interface gone).
std::vector<std::optional<bool>> probeGateways(
    const std::vector<GatewayProbe>& probes, std::chrono::milliseconds timeout = std::chrono::seconds(2));

} // namespace omni::netlink
