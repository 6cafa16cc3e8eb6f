// The receipt on the stick (DESIGN.md section 5): a technician with no
// screen takes the stick back to a laptop and reads what happened.
#include <sstream>

#include "daemon/core/text/json_text.hpp"
#include "daemon/core/text/text.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/device/agent/provisioning_agent.hpp"

namespace omni::agent {
namespace {

std::string yesNoUnknown(const std::optional<bool>& value, const char* yes, const char* no)
{
    return value ? (*value ? yes : no) : "unknown";
}

std::string joined(const std::vector<std::string>& items, const char* empty = "none")
{
    if (items.empty())
        return empty;
    std::string text;
    for (const auto& item : items)
        text += (text.empty() ? "" : ", ") + item;
    return text;
}

nlohmann::json optionalJson(const std::optional<std::string>& value)
{
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json optionalJson(const std::optional<bool>& value)
{
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::string headline(const AttemptReport& report)
{
    switch (report.verdict) {
    case AttemptVerdict::Succeeded:
        return "SUCCESS: this device is provisioned as " + text::printable(report.deviceName()) + ".";
    case AttemptVerdict::AlreadyApplied:
        return "NOTHING CHANGED: this archive was already applied on this device.";
    default:
        return "FAILED: "
            + std::string(toString(report.error ? report.error->reason : ReasonCode::InternalError)) + ".";
    }
}

} // namespace

std::vector<ReceiptFile> renderReceipt(const AttemptReport& report, time::UnixTime now)
{
    const auto& facts = report.outcome.facts;
    const std::string baseName = "omni-provision-report_" + report.deviceName();

    nlohmann::ordered_json json;
    json["Time"] = time::formatRfc3339(now);
    json["DeviceClock"] = time::formatRfc3339(now);
    json["Attempt"] = report.attemptId;
    json["Result"] = toString(report.verdict);
    json["Reason"] = report.error ? nlohmann::json(toString(report.error->reason)) : nlohmann::json(nullptr);
    json["Message"]
        = report.error ? report.error->message : "the device is provisioned as " + report.deviceName();
    json["Archive"] = facts.fileName.empty() ? nlohmann::json(nullptr) : nlohmann::json(facts.fileName);
    json["Name"] = report.deviceName();
    json["DeviceId"] = facts.manifest ? nlohmann::json(facts.manifest->deviceId) : nlohmann::json(nullptr);
    json["NotBefore"]
        = facts.validity ? nlohmann::json(time::formatRfc3339(facts.validity->notBefore)) : nullptr;
    json["NotAfter"]
        = facts.validity ? nlohmann::json(time::formatRfc3339(facts.validity->notAfter)) : nullptr;
    json["Status"] = state::toString(report.status.status);
    auto& ports = json["Ethernet"] = nlohmann::ordered_json::array();

    std::ostringstream page;
    page << "omni-provision receipt\n"
         << "======================\n\n"
         << headline(report) << "\n\n";
    if (report.error && report.verdict != AttemptVerdict::AlreadyApplied)
        page << "What happened: " << text::printable(report.error->message) << "\n"
             << "What to do:    " << reasonInfo(report.error->reason).advice << "\n\n";
    page << "Time (device clock): " << time::formatRfc3339(now) << "\n"
         << "Archive:             "
         << (facts.fileName.empty() ? "none found" : text::printable(facts.fileName)) << "\n";
    if (facts.manifest)
        page << "Device:              " << text::printable(facts.manifest->request.name) << " ("
             << text::printable(facts.manifest->deviceId) << ")\n";
    if (facts.validity)
        page << "Certificate valid:   " << time::formatRfc3339(facts.validity->notBefore) << " to "
             << time::formatRfc3339(facts.validity->notAfter) << "\n";
    page << "Device status:       " << state::toString(report.status.status) << "\n";

    for (const auto& port : report.ports) {
        page << "\n" << port.port << " (" << port.mapping << ")\n";
        if (!port.interfaceName) {
            page << "  interface:  not present\n";
        } else {
            page << "  interface:  " << *port.interfaceName << "  MAC " << port.macAddress << "  link "
                 << yesNoUnknown(port.carrier, "up (cable connected)", "down (no cable)") << "\n"
                 << "  mode:       " << (port.mode.empty() ? "not configured" : port.mode) << "\n"
                 << "  addresses:  " << joined(port.addresses) << "\n"
                 << "  gateway:    " << port.gateway.value_or("none");
            if (port.gateway)
                page << " ("
                     << yesNoUnknown(port.gatewayAnswered, "answered ARP", "did not answer ARP within 2 s")
                     << ")";
            page << "\n"
                 << "  DNS:        " << joined(port.dns) << "\n"
                 << "  NTP:        " << joined(port.ntp, "device default") << "\n";
        }
        ports.push_back({ { "Port", port.port }, { "Mapping", port.mapping },
            { "Interface", optionalJson(port.interfaceName) }, { "MacAddress", port.macAddress },
            { "Carrier", optionalJson(port.carrier) }, { "Mode", port.mode }, { "Addresses", port.addresses },
            { "Gateway", optionalJson(port.gateway) },
            { "GatewayAnswered", optionalJson(port.gatewayAnswered) }, { "Dns", port.dns },
            { "Ntp", port.ntp } });
    }
    for (const auto& warning : report.warnings)
        page << "\nWarning: " << text::printable(warning) << "\n";
    page << "\nAttempt " << report.attemptId
         << "; details: journalctl -u omni-provisiond OMNI_ATTEMPT=" << report.attemptId << "\n";
    return { { baseName + ".txt", page.str() }, { baseName + ".json", text::dumpJson(json, 2) + "\n" } };
}

} // namespace omni::agent
