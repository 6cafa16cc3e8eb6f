#pragma once
// Which archive on a stick counts (DESIGN.md section 3, "Several archives on
// one stick"): check 1 (only regular certificates-omni_*.zip files in the
// root), the expected name, then checks 3-19 on every candidate; exactly one
// survivor is used, none gives the reason of the candidate that got furthest,
// two or more are ARCHIVE_AMBIGUOUS. More than kMaxCandidates candidates are
// ARCHIVE_AMBIGUOUS without reading any (with an expected name only that file
// is a candidate, so the cap never applies).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "daemon/core/verify/verify_archive.hpp"

namespace omni::verify {

inline constexpr std::size_t kMaxCandidates = 64;

struct DirectoryEntry {
    std::string name;
    bool isRegularFile = false; // as lstat sees it: symlinks, FIFOs and directories are not
    std::uint64_t size = 0;
};

// Reads one candidate's bytes (bounded by the caller to kMaxArchiveBytes);
// an error is reported as that candidate's reason.
using ArchiveReader = std::function<Result<std::string>(const std::string& name)>;

struct Selection {
    Outcome decisive; // the survivor, or the candidate whose failure decides
    std::vector<std::string> candidates; // every certificates-omni_*.zip considered, byte order
    std::vector<Outcome> setAside; // candidates that stopped at a check (for the journal)
};

Selection selectArchive(
    std::vector<DirectoryEntry> entries, const ArchiveReader& read, const VerifyPolicy& policy);

} // namespace omni::verify
