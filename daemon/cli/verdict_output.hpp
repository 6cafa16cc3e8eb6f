#pragma once
// How a verdict on one archive is shown: text for people, or the stable
// `--json` object of DESIGN.md section 6.
#include <nlohmann/json.hpp>

#include "daemon/core/verify/verify_archive.hpp"

namespace omni::cli {

// {"Verdict", "Reason", "Message", "Name", "DeviceId", "NotBefore", "NotAfter", "NetworkingConfiguration"}
nlohmann::json verdictJson(const verify::Outcome& outcome, const std::string& acceptMessage);

// "ACCEPT certificates-omni_cam-01.zip" and the facts, or "REJECT CODE: message" and what to do.
std::string verdictText(const verify::Outcome& outcome, trust::UnixTime now);

} // namespace omni::cli
