#include "daemon/cli/verdict_output.hpp"

#include <sstream>

#include "daemon/core/manifest/ipv4.hpp"

namespace omni::cli {
namespace {

std::string describeEthernet(const std::optional<manifest::EthernetPayload>& payload, bool isEthernet0)
{
    if (!payload)
        return isEthernet0 ? "DHCP (not configured, so the default)" : "left as it is";
    if (payload->connectionType == manifest::ConnectionType::Dhcp || !payload->staticIp)
        return "DHCP";
    const auto& info = *payload->staticIp;
    std::string text = "STATIC_IP " + manifest::formatIpv4(info.address) + "/"
        + std::to_string(info.prefixLength) + " via " + manifest::formatIpv4(info.gateway) + ", DNS";
    for (const auto& server : info.dns)
        text += " " + server;
    return text;
}

} // namespace

nlohmann::json verdictJson(const verify::Outcome& outcome, const std::string& acceptMessage)
{
    const auto& facts = outcome.facts;
    nlohmann::json json;
    json["Verdict"] = outcome.result ? "ACCEPT" : "REJECT";
    json["Reason"]
        = outcome.result ? nlohmann::json(nullptr) : nlohmann::json(toString(outcome.result.error().reason));
    json["Message"] = outcome.result ? acceptMessage : outcome.result.error().message;
    if (facts.manifest)
        json["Name"] = facts.manifest->request.name;
    else if (facts.fileDeviceName)
        json["Name"] = *facts.fileDeviceName;
    else
        json["Name"] = nullptr;
    json["DeviceId"] = facts.manifest ? nlohmann::json(facts.manifest->deviceId) : nlohmann::json(nullptr);
    json["NotBefore"]
        = facts.validity ? nlohmann::json(trust::formatTime(facts.validity->notBefore)) : nullptr;
    json["NotAfter"] = facts.validity ? nlohmann::json(trust::formatTime(facts.validity->notAfter)) : nullptr;
    if (facts.manifest && facts.manifest->request.networking)
        json["NetworkingConfiguration"] = manifest::toJson(*facts.manifest->request.networking);
    else
        json["NetworkingConfiguration"] = nullptr;
    return json;
}

std::string verdictText(const verify::Outcome& outcome, trust::UnixTime now)
{
    std::ostringstream text;
    if (!outcome.result) {
        const auto& error = outcome.result.error();
        text << "REJECT " << toString(error.reason) << ": " << error.message << "\n"
             << "What to do: " << reasonInfo(error.reason).advice << "\n";
        return text.str();
    }
    const auto& accepted = *outcome.result;
    const auto& request = accepted.manifest.request;
    text << "ACCEPT " << outcome.facts.fileName << "\n"
         << "  Device      " << request.name << " (" << accepted.manifest.deviceId << ")\n"
         << "  Valid       " << trust::formatTime(accepted.validity.notBefore) << " to "
         << trust::formatTime(accepted.validity.notAfter) << " (clock " << trust::formatTime(now) << ")\n";
    const auto& networking = request.networking;
    text << "  Ethernet0   " << describeEthernet(networking ? networking->ethernet0 : std::nullopt, true)
         << "\n"
         << "  Ethernet1   " << describeEthernet(networking ? networking->ethernet1 : std::nullopt, false)
         << "\n";
    if (networking && networking->ntp) {
        text << "  NTP        ";
        if (networking->ntp->servers.empty())
            text << " device default";
        for (const auto& server : networking->ntp->servers)
            text << " " << server;
        text << "\n";
    }
    text << "  SHA-256     " << accepted.sha256 << "\n";
    return text.str();
}

} // namespace omni::cli
