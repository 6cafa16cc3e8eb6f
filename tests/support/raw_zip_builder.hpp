#pragma once
// Builds ZIP bytes by hand, with full control of every header field, so the
// hostile cases of DESIGN.md checks 6-10 are exact rather than whatever a
// well-behaved writer would produce.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace omni::archive::testing {

inline constexpr std::uint16_t kMadeByUnix = (3u << 8) | 20u;
inline constexpr std::uint16_t kMadeByDos = 20u;
inline constexpr std::uint32_t kUnixRegular0644 = 0100644u << 16;
inline constexpr std::uint32_t kUnixSymlink0777 = 0120777u << 16;
inline constexpr std::uint32_t kUnixDirectory0755 = (040755u << 16) | 0x10u;
inline constexpr std::uint16_t kFlagEncrypted = 0x0001u;

struct RawEntry {
    std::string name;
    // The bytes placed after the local header, exactly as given (already
    // compressed when method is 8).
    std::string payload;
    std::uint16_t method = 0;
    // Defaults are derived from the uncompressed content: CRC-32 and size of
    // `content`, payload size for the compressed size.
    std::string content;
    std::optional<std::uint32_t> crc;
    std::optional<std::uint32_t> compressedSize;
    std::optional<std::uint32_t> uncompressedSize;
    std::uint16_t flags = 0;
    std::uint16_t madeBy = kMadeByUnix;
    std::uint32_t externalAttributes = kUnixRegular0644;
    std::string centralExtra;
    std::string localExtra;
    // A different name in the local header than in the central directory.
    std::optional<std::string> localName;
};

struct RawArchiveOptions {
    std::optional<std::uint16_t> entryCountOverride;
    std::optional<std::uint32_t> centralDirectoryOffsetOverride;
    std::optional<std::uint32_t> centralDirectorySizeOverride;
    std::string comment;
    // Bytes inserted between the local records and the central directory.
    std::string padding;
};

// A stored entry: payload = content.
RawEntry storedEntry(std::string name, std::string content);
// A deflated entry: payload = raw deflate of content.
RawEntry deflatedEntry(std::string name, std::string content);

std::string buildZip(const std::vector<RawEntry>& entries, const RawArchiveOptions& options = {});

// Raw (headerless, RFC 1951) deflate of `content`.
std::string rawDeflate(const std::string& content);
// Raw deflate of `length` zero bytes, produced in chunks so that building a
// bomb never holds the inflated size in memory.
std::string rawDeflateOfZeros(std::uint64_t length);
// CRC-32 of `length` zero bytes (for bombs whose CRC should be right).
std::uint32_t crc32OfZeros(std::uint64_t length);
std::uint32_t crc32Of(const std::string& content);

// Little-endian helpers for tests that patch bytes in place.
void putLe16(std::string& bytes, std::size_t offset, std::uint16_t value);
void putLe32(std::string& bytes, std::size_t offset, std::uint32_t value);

} // namespace omni::archive::testing
