#pragma once
// Reading a provisioning archive (DESIGN.md section 2 and checks 6-10 of
// section 3) from bytes already in memory. Every limit is judged from the
// central directory before anything is inflated, and inflation stops at the
// declared size plus one byte, so a lying archive never costs memory.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "daemon/core/result.hpp"

namespace omni::archive {

inline constexpr std::uint64_t kMaxArchiveBytes = 1024 * 1024; // check 4
inline constexpr std::size_t kMaxEntries = 16; // check 7
inline constexpr std::uint64_t kMaxEntryBytes = 256 * 1024; // check 7, per entry, declared
inline constexpr std::uint64_t kMaxDeclaredTotalBytes = 1024 * 1024; // check 7, all entries, declared

inline constexpr const char* kManifestEntry = "manifest.json";
inline constexpr const char* kCertificateEntry = "certificate.pem";
inline constexpr const char* kPrivateKeyEntry = "private_key.pem";
inline constexpr const char* kChainEntry = "chain.pem";

// The four known entries; unknown extra entries are checked (7, 8) but never read.
struct ArchiveEntries {
    std::string manifest;
    std::string certificate;
    std::string privateKey;
    std::optional<std::string> chain;
};

// Checks 6 to 10, in that order; the first failure decides. Errors carry
// the reason code, the Check row and, where one entry is at fault, its name
// in Error::where.
Result<ArchiveEntries> readArchive(std::span<const std::uint8_t> bytes);

} // namespace omni::archive
