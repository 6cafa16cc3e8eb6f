#pragma once
// A DHCPv4 lease as our dhcpcd hook records it (drivers/dhcp/dhcpcd-hook):
// key=value lines in <runtime dir>/dhcp/<interface>.lease.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace omni::dhcp {

struct Lease {
    std::string interfaceName;
    std::string reason; // dhcpcd's: BOUND, RENEW, REBIND, REBOOT, ...
    pid_t pid = 0; // the dhcpcd that wrote it (0: not recorded)
    std::uint32_t address = 0; // host byte order
    int prefixLength = 0;
    std::vector<std::string> routers; // dotted quads, in the server's order
    std::vector<std::string> dnsServers;
    std::vector<std::string> ntpServers;
    std::optional<std::uint32_t> leaseSeconds;

    std::string addressText() const; // "10.9.0.57"
    std::string addressWithPrefix() const; // "10.9.0.57/24"

    friend bool operator==(const Lease&, const Lease&) = default;
};

// Lines that do not parse are ignored, and so are addresses in a list that
// are not IPv4 literals; nullopt when there is no valid address and prefix
// (a file that is not a lease).
std::optional<Lease> parseLease(std::string_view text);

// Largest lease file read (a real one is about 300 bytes).
inline constexpr std::uint64_t kMaxLeaseFileBytes = 16 * 1024;

} // namespace omni::dhcp
