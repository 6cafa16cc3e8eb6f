#pragma once
// Where an attempt's archives come from: a mounted stick (the daemon) or a
// directory given on the command line. Reads are bounded by the source.
#include <string>
#include <vector>

#include "daemon/core/result.hpp"
#include "daemon/core/verify/select_archive.hpp"

namespace omni::agent {

struct ReceiptFile {
    std::string name;
    std::string content;
};

class ArchiveSource {
public:
    virtual ~ArchiveSource() = default;
    // For people and the journal: "stick sdb1 (vfat) on usb-0:1".
    virtual std::string describe() const = 0;
    virtual Result<std::vector<verify::DirectoryEntry>> listRoot() = 0;
    // At most archive::kMaxArchiveBytes; a larger or non-regular file is an error.
    virtual Result<std::string> readFile(const std::string& name) = 0;
    // The receipt (section 5); sources that cannot hold one do nothing.
    virtual Result<void> writeReceipt(const std::vector<ReceiptFile>& files) = 0;
    // stick.after_success: rename appends ".applied" to the archive's name.
    virtual Result<void> renameArchive(const std::string& from, const std::string& to) = 0;
};

} // namespace omni::agent
