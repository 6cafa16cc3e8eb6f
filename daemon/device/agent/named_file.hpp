#pragma once
// Checks 1 to 19 on one archive named on the command line (`inspect`,
// `apply`): it must exist as a regular file (a symlink does not count, as on
// a stick) and be small enough to read; then verifyArchive.
#include <filesystem>

#include "daemon/core/verify/verify_archive.hpp"

namespace omni::agent {

verify::Outcome verifyNamedFile(const std::filesystem::path& path, const verify::VerifyPolicy& policy);

} // namespace omni::agent
