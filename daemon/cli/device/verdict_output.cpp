#include "daemon/cli/device/verdict_output.hpp"

#include <sstream>

#include "daemon/core/manifest/ipv4.hpp"
#include "daemon/core/text/text.hpp"

namespace omni::cli {
namespace {

// A ServerCa of 16 KiB may hold a dozen certificates; a terminal needs the first few.
constexpr std::size_t kShownServerCaCertificates = 3;

std::string describeEthernet(const std::optional<manifest::EthernetPayload>& payload, bool isEthernet0)
{
    if (!payload)
        return isEthernet0 ? "DHCP (not configured, so the default)" : "left as it is";
    if (payload->connectionType == manifest::ConnectionType::Dhcp || !payload->staticIp)
        return "DHCP";
    const auto& info = *payload->staticIp;
    std::string out = "STATIC_IP " + manifest::formatIpv4(info.address) + "/"
        + std::to_string(info.prefixLength) + " via " + manifest::formatIpv4(info.gateway) + ", DNS";
    for (const auto& server : info.dns)
        out += " " + server;
    return text::printable(out);
}

} // namespace

std::string verdictText(const verify::Outcome& outcome, time::UnixTime now)
{
    std::ostringstream out;
    if (!outcome.result) {
        const auto& error = outcome.result.error();
        out << "REJECT " << toString(error.reason) << ": " << text::printable(error.message) << "\n"
            << "What to do: " << reasonInfo(error.reason).advice << "\n";
        return out.str();
    }
    const auto& accepted = *outcome.result;
    const auto& request = accepted.manifest.request;
    out << "ACCEPT " << text::printable(outcome.facts.fileName) << "\n"
        << "  Device      " << text::printable(request.name) << " ("
        << text::printable(accepted.manifest.deviceId) << ")\n"
        << "  Valid       " << time::formatRfc3339(accepted.validity.notBefore) << " to "
        << time::formatRfc3339(accepted.validity.notAfter) << " (clock " << time::formatRfc3339(now) << ")\n";
    const auto& networking = request.networking;
    out << "  Ethernet0   " << describeEthernet(networking ? networking->ethernet0 : std::nullopt, true)
        << "\n"
        << "  Ethernet1   " << describeEthernet(networking ? networking->ethernet1 : std::nullopt, false)
        << "\n";
    if (networking && networking->ntp) {
        out << "  NTP        ";
        if (networking->ntp->servers.empty())
            out << " device default";
        for (const auto& server : networking->ntp->servers)
            out << " " << text::printable(server);
        out << "\n";
    }
    if (const auto& enrollment = accepted.manifest.enrollment) {
        // Where to enrol (section 10): the URL and what the server must chain
        // to, by subject and expiry; never the PEM itself.
        out << "  Enrol at    " << text::printable(enrollment->url) << "\n";
        const auto& certificates = enrollment->serverCaCertificates;
        for (std::size_t index = 0; index < certificates.size() && index < kShownServerCaCertificates;
             ++index)
            out << (index == 0 ? "  Server CA   " : "              ")
                << text::printable(certificates[index].subject) << " (until "
                << time::formatRfc3339(certificates[index].notAfter) << ")\n";
        if (certificates.size() > kShownServerCaCertificates)
            out << "              and " << certificates.size() - kShownServerCaCertificates << " more ("
                << certificates.size() << " certificates)\n";
    }
    out << "  SHA-256     " << accepted.sha256 << "\n";
    return out.str();
}

} // namespace omni::cli
