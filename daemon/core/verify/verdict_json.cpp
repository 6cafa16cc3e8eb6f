#include "daemon/core/verify/verdict_json.hpp"

#include "daemon/core/time/time.hpp"

namespace omni::verify {

nlohmann::json verdictJson(const Outcome& outcome, const std::string& acceptMessage)
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
        = facts.validity ? nlohmann::json(time::formatRfc3339(facts.validity->notBefore)) : nullptr;
    json["NotAfter"]
        = facts.validity ? nlohmann::json(time::formatRfc3339(facts.validity->notAfter)) : nullptr;
    if (facts.manifest && facts.manifest->request.networking)
        json["NetworkingConfiguration"] = manifest::toJson(*facts.manifest->request.networking);
    else
        json["NetworkingConfiguration"] = nullptr;
    // Section 10's member as a script checks it: the URL and which
    // certificates are pinned, not the PEM itself (it stays in the archive).
    if (facts.manifest && facts.manifest->enrollment) {
        const auto& enrollment = *facts.manifest->enrollment;
        nlohmann::json certificates = nlohmann::json::array();
        for (const auto& certificate : enrollment.serverCaCertificates)
            certificates.push_back({ { "Subject", certificate.subject },
                { "NotAfter", time::formatRfc3339(certificate.notAfter) } });
        json["Enrollment"] = { { "Url", enrollment.url }, { "ServerCaCertificates", certificates } };
    } else {
        json["Enrollment"] = nullptr;
    }
    return json;
}

} // namespace omni::verify
