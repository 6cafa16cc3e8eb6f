#pragma once
// systemd-resolved over D-Bus: org.freedesktop.resolve1 at
// /org/freedesktop/resolve1, interface org.freedesktop.resolve1.Manager.
//
//  * a link's servers now: GetLink(i ifindex) -> o, then the Link object's
//    DNS property a(iay) (org.freedesktop.resolve1.Link);
//  * SetLinkDNS(i ifindex, a(iay) addresses) when they differ from what we
//    want; RevertLink(i) for a link we stop giving servers to, only when it
//    has any (so a second apply sends nothing).
//
// Restore re-sets each link's servers as read before (an empty list is a
// RevertLink). A link whose servers came from systemd-networkd comes back
// with the same servers, now set over the bus; networkd re-sets them on its
// next reconfiguration anyway.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "drivers/bus/system_bus.hpp"
#include "drivers/dns/dns_backend.hpp"

namespace omni::dns {

inline constexpr const char* kResolvedService = "org.freedesktop.resolve1";
inline constexpr const char* kResolvedPath = "/org/freedesktop/resolve1";
inline constexpr const char* kResolvedManager = "org.freedesktop.resolve1.Manager";
inline constexpr const char* kResolvedLink = "org.freedesktop.resolve1.Link";

// One DNS server as resolved's a(iay) carries it.
struct DnsAddress {
    int family = 0; // AF_INET or AF_INET6
    std::vector<std::uint8_t> bytes; // 4 or 16, network order

    friend bool operator==(const DnsAddress&, const DnsAddress&) = default;
};

// An IPv4 or IPv6 literal; nullopt for anything else.
std::optional<DnsAddress> parseDnsAddress(const std::string& text);
std::string formatDnsAddress(const DnsAddress& address);

class ResolvedBackend final : public DnsBackend {
public:
    // `busAddress` empty: the system bus. The bus is connected on first use.
    static Result<std::unique_ptr<ResolvedBackend>> open(const std::string& busAddress = {});
    explicit ResolvedBackend(std::string busAddress);

    std::string_view name() const override { return "resolved"; }
    Result<DnsSnapshot> snapshot(const DnsSettings& settings) override;
    Result<DnsApplyOutcome> apply(const DnsSettings& settings) override;
    Result<bool> restore(const DnsSnapshot& snapshot) override;
    Result<std::vector<std::string>> serversInForce(int ifindex) override;
    Result<bool> removeOverride(const DnsSettings& links) override;

private:
    Result<std::vector<DnsAddress>> linkServers(int ifindex, const std::string& interfaceName);
    // Makes the link hold `wanted` (empty: revert); true when a call was made.
    Result<bool> bringLinkTo(
        int ifindex, const std::string& interfaceName, const std::vector<DnsAddress>& wanted);
    Result<void> setLinkDns(
        int ifindex, const std::string& interfaceName, const std::vector<DnsAddress>& servers);
    Result<void> revertLink(int ifindex, const std::string& interfaceName);

    system_support::LazyBus bus_;
    std::string busName_; // for messages
};

} // namespace omni::dns
