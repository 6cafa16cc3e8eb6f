#pragma once
// The stable `--json` form of a verdict (DESIGN.md section 6, inspect).
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/core/verify/verify_archive.hpp"

namespace omni::verify {

// {"Verdict", "Reason", "Message", "Name", "DeviceId", "NotBefore", "NotAfter", "NetworkingConfiguration",
//  "Enrollment"}: Enrollment (section 10) is null or {"Url", "ServerCaCertificates": [{"Subject",
//  "NotAfter"}]}.
nlohmann::json verdictJson(const Outcome& outcome, const std::string& acceptMessage);

} // namespace omni::verify
