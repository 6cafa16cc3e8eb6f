#include "daemon/core/archive/central_directory.hpp"

#include <vector>

namespace omni::archive::detail {
namespace {

constexpr std::uint32_t kEndOfDirectorySignature = 0x06054b50u;
constexpr std::uint32_t kZip64LocatorSignature = 0x07064b50u;
constexpr std::uint32_t kZip64EndOfDirectorySignature = 0x06064b50u;
constexpr std::uint32_t kCentralRecordSignature = 0x02014b50u;
constexpr std::size_t kEndOfDirectoryBytes = 22;
constexpr std::size_t kZip64LocatorBytes = 20;
constexpr std::size_t kZip64EndOfDirectoryBytes = 56;
constexpr std::size_t kCentralRecordFixedBytes = 46;
constexpr std::uint16_t kUnicodePathFieldId = 0x7075;
constexpr std::size_t kMaxExtraFieldsScanned = 32;

// Reads little-endian integers; every access is checked against the buffer.
class ByteReader {
public:
    explicit ByteReader(std::span<const std::uint8_t> bytes)
        : bytes_(bytes)
    {
    }

    bool has(std::uint64_t offset, std::uint64_t length) const
    {
        return offset <= bytes_.size() && length <= bytes_.size() - offset;
    }

    std::uint16_t le16(std::size_t offset) const
    {
        return static_cast<std::uint16_t>(bytes_[offset] | (bytes_[offset + 1] << 8));
    }

    std::uint32_t le32(std::size_t offset) const
    {
        return static_cast<std::uint32_t>(le16(offset))
            | (static_cast<std::uint32_t>(le16(offset + 2)) << 16);
    }

    std::uint64_t le64(std::size_t offset) const
    {
        return static_cast<std::uint64_t>(le32(offset))
            | (static_cast<std::uint64_t>(le32(offset + 4)) << 32);
    }

    std::string_view text(std::size_t offset, std::size_t length) const
    {
        return { reinterpret_cast<const char*>(bytes_.data() + offset), length };
    }

    std::size_t size() const { return bytes_.size(); }

private:
    std::span<const std::uint8_t> bytes_;
};

bool hasUnicodePathField(const ByteReader& reader, std::size_t offset, std::size_t length)
{
    std::size_t position = offset;
    const std::size_t end = offset + length;
    // Real records carry a handful of fields. Stopping early only makes a
    // record look different from what libzip reports, which the reader
    // refuses, so the bound costs no safety.
    for (std::size_t fields = 0; fields < kMaxExtraFieldsScanned && end - position >= 4; ++fields) {
        const std::uint16_t id = reader.le16(position);
        const std::uint16_t size = reader.le16(position + 2);
        if (id == kUnicodePathFieldId) {
            return true;
        }
        if (size > end - position - 4) {
            break;
        }
        position += 4 + size;
    }
    return false;
}

// Walks `count` records from `offset`; false as soon as one is not a complete
// central record inside the buffer.
bool walkRecords(
    const ByteReader& reader, std::uint64_t offset, std::size_t count, std::vector<RawCentralRecord>& records)
{
    records.clear();
    for (std::size_t i = 0; i < count; ++i) {
        if (!reader.has(offset, kCentralRecordFixedBytes)) {
            return false;
        }
        const auto at = static_cast<std::size_t>(offset);
        if (reader.le32(at) != kCentralRecordSignature) {
            return false;
        }
        const std::size_t nameLength = reader.le16(at + 28);
        const std::size_t extraLength = reader.le16(at + 30);
        const std::size_t commentLength = reader.le16(at + 32);
        const std::uint64_t recordLength
            = kCentralRecordFixedBytes + nameLength + extraLength + commentLength;
        if (!reader.has(offset, recordLength)) {
            return false;
        }
        RawCentralRecord record;
        record.flags = reader.le16(at + 8);
        record.method = reader.le16(at + 10);
        record.crc = reader.le32(at + 16);
        record.compressedSize = reader.le32(at + 20);
        record.name = reader.text(at + kCentralRecordFixedBytes, nameLength);
        record.hasUnicodePathField
            = hasUnicodePathField(reader, at + kCentralRecordFixedBytes + nameLength, extraLength);
        records.push_back(record);
        offset += recordLength;
    }
    return true;
}

} // namespace

void forEachCentralDirectoryCandidate(std::span<const std::uint8_t> bytes, std::size_t entryCount,
    const std::function<void(std::span<const RawCentralRecord>)>& visit)
{
    const ByteReader reader(bytes);
    if (reader.size() < kEndOfDirectoryBytes) {
        return;
    }
    // Many end records may point at the same directory; each start is walked once.
    std::vector<bool> startSeen(reader.size(), false);
    std::vector<std::uint64_t> starts;
    const auto addStart = [&](std::uint64_t start) {
        if (start < reader.size() && !startSeen[static_cast<std::size_t>(start)]) {
            startSeen[static_cast<std::size_t>(start)] = true;
            starts.push_back(start);
        }
    };

    for (std::size_t eocd = 0; eocd + kEndOfDirectoryBytes <= reader.size(); ++eocd) {
        if (reader.le32(eocd) != kEndOfDirectorySignature) {
            continue;
        }
        addStart(reader.le32(eocd + 16));
        if (eocd >= kZip64LocatorBytes && reader.le32(eocd - kZip64LocatorBytes) == kZip64LocatorSignature) {
            const std::uint64_t zip64End = reader.le64(eocd - kZip64LocatorBytes + 8);
            if (reader.has(zip64End, kZip64EndOfDirectoryBytes)
                && reader.le32(static_cast<std::size_t>(zip64End)) == kZip64EndOfDirectorySignature) {
                addStart(reader.le64(static_cast<std::size_t>(zip64End) + 48));
            }
        }
    }

    std::vector<RawCentralRecord> records;
    records.reserve(entryCount);
    for (const std::uint64_t start : starts) {
        if (walkRecords(reader, start, entryCount, records)) {
            visit(records);
        }
    }
}

} // namespace omni::archive::detail
