#pragma once
// Writing the archive the issuer hands out (create-device, POST /devices).
#include <string>
#include <vector>

#include "daemon/core/result.hpp"

namespace omni::archive {

struct ArchiveFile {
    std::string name;
    std::string content;
};

// A deflate ZIP holding the files in the given order, all at the root,
// as regular files with mode 0600 (the archive carries a private key).
Result<std::string> writeArchive(const std::vector<ArchiveFile>& files);

} // namespace omni::archive
