#include "drivers/dns/resolved_backend.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace omni::dns {

using system_support::BusError;
using system_support::BusMessagePtr;

namespace {

std::string linkLabel(int ifindex, const std::string& interfaceName)
{
    return "link " + (interfaceName.empty() ? std::string() : interfaceName + " ") + "(ifindex "
        + std::to_string(ifindex) + ")";
}

std::uint64_t timeoutMicroseconds()
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(system_support::kBusCallTimeout).count());
}

std::string describeServers(const std::vector<DnsAddress>& servers)
{
    if (servers.empty()) {
        return "none";
    }
    std::string text;
    for (const DnsAddress& server : servers) {
        text += (text.empty() ? "" : " ") + formatDnsAddress(server);
    }
    return text;
}

} // namespace

std::optional<DnsAddress> parseDnsAddress(const std::string& text)
{
    DnsAddress address;
    unsigned char bytes[16] = {};
    if (inet_pton(AF_INET, text.c_str(), bytes) == 1) {
        address.family = AF_INET;
        address.bytes.assign(bytes, bytes + 4);
        return address;
    }
    if (inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
        address.family = AF_INET6;
        address.bytes.assign(bytes, bytes + 16);
        return address;
    }
    return std::nullopt;
}

std::string formatDnsAddress(const DnsAddress& address)
{
    char text[INET6_ADDRSTRLEN] = {};
    const std::size_t expected = address.family == AF_INET ? 4 : 16;
    if ((address.family != AF_INET && address.family != AF_INET6) || address.bytes.size() != expected
        || inet_ntop(address.family, address.bytes.data(), text, sizeof text) == nullptr) {
        return "(family " + std::to_string(address.family) + ", " + std::to_string(address.bytes.size())
            + " bytes)";
    }
    return text;
}

Result<std::unique_ptr<ResolvedBackend>> ResolvedBackend::open(const std::string& busAddress)
{
    return std::make_unique<ResolvedBackend>(busAddress);
}

ResolvedBackend::ResolvedBackend(std::string busAddress)
    : bus_(busAddress)
    , busName_(system_support::describeBus(busAddress))
{
}

Result<std::vector<DnsAddress>> ResolvedBackend::linkServers(int ifindex, const std::string& interfaceName)
{
    if (auto connected = bus_.connection(); !connected) {
        return tl::unexpected(std::move(connected.error()).withContext("DNS (resolved)"));
    }
    const std::string step
        = "DNS (resolved): reading the DNS servers of " + linkLabel(ifindex, interfaceName);
    const auto failed = [&](const std::string& what, BusError& error, int result) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            step + ": " + what + " on " + busName_ + " failed: " + error.describe(result), interfaceName);
    };
    BusError error;
    sd_bus_message* replied = nullptr;
    int result = sd_bus_call_method(bus_.get(), kResolvedService, kResolvedPath, kResolvedManager, "GetLink",
        error.get(), &replied, "i", ifindex);
    BusMessagePtr reply(replied);
    if (result < 0) {
        return failed("GetLink", error, result);
    }
    const char* path = nullptr;
    result = sd_bus_message_read(reply.get(), "o", &path);
    if (result < 0) {
        return failed("reading the GetLink answer", error, result);
    }
    const std::string linkPath = path;

    sd_bus_message* made = nullptr;
    result = sd_bus_message_new_method_call(
        bus_.get(), &made, kResolvedService, linkPath.c_str(), "org.freedesktop.DBus.Properties", "Get");
    BusMessagePtr request(made);
    if (result >= 0) {
        result = sd_bus_message_append(request.get(), "ss", kResolvedLink, "DNS");
    }
    if (result < 0) {
        return failed("building the property read", error, result);
    }
    replied = nullptr;
    result = sd_bus_call(bus_.get(), request.get(), timeoutMicroseconds(), error.get(), &replied);
    BusMessagePtr property(replied);
    if (result < 0) {
        return failed("reading property DNS of " + linkPath, error, result);
    }
    std::vector<DnsAddress> servers;
    result = sd_bus_message_enter_container(property.get(), 'v', "a(iay)");
    if (result >= 0) {
        result = sd_bus_message_enter_container(property.get(), 'a', "(iay)");
    }
    while (result >= 0) {
        result = sd_bus_message_enter_container(property.get(), 'r', "iay");
        if (result <= 0) {
            break;
        }
        std::int32_t family = 0;
        const void* bytes = nullptr;
        std::size_t length = 0;
        result = sd_bus_message_read(property.get(), "i", &family);
        if (result >= 0) {
            result = sd_bus_message_read_array(property.get(), 'y', &bytes, &length);
        }
        if (result >= 0) {
            result = sd_bus_message_exit_container(property.get());
        }
        if (result >= 0) {
            const auto* first = static_cast<const std::uint8_t*>(bytes);
            servers.push_back({ family, std::vector<std::uint8_t>(first, first + length) });
        }
    }
    if (result < 0) {
        return failed("decoding property DNS (a(iay)) of " + linkPath, error, result);
    }
    return servers;
}

Result<void> ResolvedBackend::setLinkDns(
    int ifindex, const std::string& interfaceName, const std::vector<DnsAddress>& servers)
{
    if (auto connected = bus_.connection(); !connected) {
        return tl::unexpected(std::move(connected.error()).withContext("DNS (resolved)"));
    }
    BusError error;
    sd_bus_message* made = nullptr;
    int result = sd_bus_message_new_method_call(
        bus_.get(), &made, kResolvedService, kResolvedPath, kResolvedManager, "SetLinkDNS");
    BusMessagePtr request(made);
    if (result >= 0) {
        result = sd_bus_message_append(request.get(), "i", ifindex);
    }
    if (result >= 0) {
        result = sd_bus_message_open_container(request.get(), 'a', "(iay)");
    }
    for (const DnsAddress& server : servers) {
        if (result >= 0) {
            result = sd_bus_message_open_container(request.get(), 'r', "iay");
        }
        if (result >= 0) {
            result = sd_bus_message_append(request.get(), "i", static_cast<std::int32_t>(server.family));
        }
        if (result >= 0) {
            result
                = sd_bus_message_append_array(request.get(), 'y', server.bytes.data(), server.bytes.size());
        }
        if (result >= 0) {
            result = sd_bus_message_close_container(request.get());
        }
    }
    if (result >= 0) {
        result = sd_bus_message_close_container(request.get());
    }
    sd_bus_message* replied = nullptr;
    if (result >= 0) {
        result = sd_bus_call(bus_.get(), request.get(), timeoutMicroseconds(), error.get(), &replied);
    }
    BusMessagePtr reply(replied);
    if (result < 0) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            "DNS (resolved): SetLinkDNS " + linkLabel(ifindex, interfaceName) + " to "
                + describeServers(servers) + " on " + busName_ + " failed: " + error.describe(result),
            interfaceName);
    }
    return {};
}

Result<void> ResolvedBackend::revertLink(int ifindex, const std::string& interfaceName)
{
    if (auto connected = bus_.connection(); !connected) {
        return tl::unexpected(std::move(connected.error()).withContext("DNS (resolved)"));
    }
    BusError error;
    sd_bus_message* replied = nullptr;
    const int result = sd_bus_call_method(bus_.get(), kResolvedService, kResolvedPath, kResolvedManager,
        "RevertLink", error.get(), &replied, "i", ifindex);
    BusMessagePtr reply(replied);
    if (result < 0) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            "DNS (resolved): RevertLink " + linkLabel(ifindex, interfaceName) + " on " + busName_
                + " failed: " + error.describe(result),
            interfaceName);
    }
    return {};
}

Result<bool> ResolvedBackend::bringLinkTo(
    int ifindex, const std::string& interfaceName, const std::vector<DnsAddress>& wanted)
{
    auto current = linkServers(ifindex, interfaceName);
    if (!current) {
        return tl::unexpected(std::move(current.error()));
    }
    if (*current == wanted) {
        return false;
    }
    auto done
        = wanted.empty() ? revertLink(ifindex, interfaceName) : setLinkDns(ifindex, interfaceName, wanted);
    if (!done) {
        return tl::unexpected(std::move(done.error()));
    }
    return true;
}

Result<DnsSnapshot> ResolvedBackend::snapshot(const DnsSettings& settings)
{
    DnsSnapshot snapshot;
    for (const LinkDns& link : settings.links) {
        auto servers = linkServers(link.ifindex, link.interfaceName);
        if (!servers) {
            return tl::unexpected(std::move(servers.error()));
        }
        LinkDns before { link.ifindex, link.interfaceName, {} };
        for (const DnsAddress& server : *servers) {
            before.servers.push_back(formatDnsAddress(server));
        }
        snapshot.links.push_back(std::move(before));
    }
    return snapshot;
}

Result<DnsApplyOutcome> ResolvedBackend::apply(const DnsSettings& settings)
{
    DnsApplyOutcome outcome;
    for (const LinkDns& link : settings.links) {
        std::vector<DnsAddress> wanted;
        for (const std::string& server : link.servers) {
            auto address = parseDnsAddress(server);
            if (!address) {
                return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
                    "DNS (resolved): " + linkLabel(link.ifindex, link.interfaceName) + ": \"" + server
                        + "\" is not an IPv4 or IPv6 address",
                    link.interfaceName);
            }
            if (std::find(wanted.begin(), wanted.end(), *address) == wanted.end()) {
                wanted.push_back(std::move(*address));
            }
        }
        auto changed = bringLinkTo(link.ifindex, link.interfaceName, wanted);
        if (!changed) {
            return tl::unexpected(std::move(changed.error()));
        }
        outcome.changed = outcome.changed || *changed;
    }
    return outcome;
}

Result<bool> ResolvedBackend::restore(const DnsSnapshot& snapshot)
{
    bool changed = false;
    std::string failures;
    for (const LinkDns& link : snapshot.links) {
        std::vector<DnsAddress> before;
        for (const std::string& server : link.servers) {
            if (auto address = parseDnsAddress(server)) {
                before.push_back(std::move(*address));
            }
        }
        auto restored = bringLinkTo(link.ifindex, link.interfaceName, before);
        if (!restored) {
            // The other links are still put back.
            failures += (failures.empty() ? "" : "; ") + restored.error().message;
            continue;
        }
        changed = changed || *restored;
    }
    if (!failures.empty()) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply, failures);
    }
    return changed;
}

Result<std::vector<std::string>> ResolvedBackend::serversInForce(int ifindex)
{
    auto servers = linkServers(ifindex, {});
    if (!servers) {
        return tl::unexpected(std::move(servers.error()));
    }
    std::vector<std::string> texts;
    for (const DnsAddress& server : *servers) {
        texts.push_back(formatDnsAddress(server));
    }
    return texts;
}

Result<bool> ResolvedBackend::removeOverride(const DnsSettings& links)
{
    bool changed = false;
    for (const LinkDns& link : links.links) {
        auto reverted = bringLinkTo(link.ifindex, link.interfaceName, {});
        if (!reverted) {
            return tl::unexpected(std::move(reverted.error()));
        }
        changed = changed || *reverted;
    }
    return changed;
}

} // namespace omni::dns
