#pragma once
// How a verdict on one archive is shown: text for people, or the stable
// `--json` object of DESIGN.md section 6.
#include "daemon/core/time/time.hpp"
#include "daemon/core/verify/verify_archive.hpp"

namespace omni::cli {

// "ACCEPT certificates-omni_cam-01.zip" and the facts, or "REJECT CODE: message" and what to do.
std::string verdictText(const verify::Outcome& outcome, time::UnixTime now);

} // namespace omni::cli
