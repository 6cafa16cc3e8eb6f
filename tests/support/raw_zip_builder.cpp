#include "tests/support/raw_zip_builder.hpp"

#include <stdexcept>

#include <zlib.h>

namespace omni::archive::testing {
namespace {

void appendLe16(std::string& out, std::uint16_t value)
{
    out.push_back(static_cast<char>(value & 0xffu));
    out.push_back(static_cast<char>((value >> 8) & 0xffu));
}

void appendLe32(std::string& out, std::uint32_t value)
{
    appendLe16(out, static_cast<std::uint16_t>(value & 0xffffu));
    appendLe16(out, static_cast<std::uint16_t>(value >> 16));
}

constexpr std::uint16_t kVersionNeeded = 20;
constexpr std::uint16_t kDosTime = 0; // 00:00:00
constexpr std::uint16_t kDosDate = (40u << 9) | (1u << 5) | 1u; // 2020-01-01

class RawDeflater {
public:
    RawDeflater()
    {
        if (deflateInit2(&stream_, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
            throw std::runtime_error("deflateInit2 failed");
        }
    }
    ~RawDeflater() { deflateEnd(&stream_); }
    RawDeflater(const RawDeflater&) = delete;
    RawDeflater& operator=(const RawDeflater&) = delete;

    void feed(const unsigned char* data, std::size_t size, bool finish)
    {
        stream_.next_in = const_cast<unsigned char*>(data);
        stream_.avail_in = static_cast<uInt>(size);
        unsigned char chunk[16384];
        int status = Z_OK;
        do {
            stream_.next_out = chunk;
            stream_.avail_out = sizeof(chunk);
            status = deflate(&stream_, finish ? Z_FINISH : Z_NO_FLUSH);
            if (status == Z_STREAM_ERROR) {
                throw std::runtime_error("deflate failed");
            }
            out_.append(reinterpret_cast<const char*>(chunk), sizeof(chunk) - stream_.avail_out);
        } while (stream_.avail_out == 0 || (finish && status != Z_STREAM_END));
    }

    std::string take() { return std::move(out_); }

private:
    z_stream stream_ {};
    std::string out_;
};

} // namespace

RawEntry storedEntry(std::string name, std::string content)
{
    RawEntry entry;
    entry.name = std::move(name);
    entry.payload = content;
    entry.content = std::move(content);
    entry.method = 0;
    return entry;
}

RawEntry deflatedEntry(std::string name, std::string content)
{
    RawEntry entry;
    entry.name = std::move(name);
    entry.payload = rawDeflate(content);
    entry.content = std::move(content);
    entry.method = 8;
    return entry;
}

std::string buildZip(const std::vector<RawEntry>& entries, const RawArchiveOptions& options)
{
    std::string out;
    std::vector<std::uint32_t> localOffsets;
    for (const RawEntry& entry : entries) {
        localOffsets.push_back(static_cast<std::uint32_t>(out.size()));
        const std::string& localName = entry.localName ? *entry.localName : entry.name;
        appendLe32(out, 0x04034b50u);
        appendLe16(out, kVersionNeeded);
        appendLe16(out, entry.flags);
        appendLe16(out, entry.method);
        appendLe16(out, kDosTime);
        appendLe16(out, kDosDate);
        appendLe32(out, entry.crc.value_or(crc32Of(entry.content)));
        appendLe32(out, entry.compressedSize.value_or(static_cast<std::uint32_t>(entry.payload.size())));
        appendLe32(out, entry.uncompressedSize.value_or(static_cast<std::uint32_t>(entry.content.size())));
        appendLe16(out, static_cast<std::uint16_t>(localName.size()));
        appendLe16(out, static_cast<std::uint16_t>(entry.localExtra.size()));
        out += localName;
        out += entry.localExtra;
        out += entry.payload;
    }
    out += options.padding;

    const auto directoryOffset = static_cast<std::uint32_t>(out.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const RawEntry& entry = entries[i];
        appendLe32(out, 0x02014b50u);
        appendLe16(out, entry.madeBy);
        appendLe16(out, kVersionNeeded);
        appendLe16(out, entry.flags);
        appendLe16(out, entry.method);
        appendLe16(out, kDosTime);
        appendLe16(out, kDosDate);
        appendLe32(out, entry.crc.value_or(crc32Of(entry.content)));
        appendLe32(out, entry.compressedSize.value_or(static_cast<std::uint32_t>(entry.payload.size())));
        appendLe32(out, entry.uncompressedSize.value_or(static_cast<std::uint32_t>(entry.content.size())));
        appendLe16(out, static_cast<std::uint16_t>(entry.name.size()));
        appendLe16(out, static_cast<std::uint16_t>(entry.centralExtra.size()));
        appendLe16(out, 0); // comment length
        appendLe16(out, 0); // disk number start
        appendLe16(out, 0); // internal attributes
        appendLe32(out, entry.externalAttributes);
        appendLe32(out, localOffsets[i]);
        out += entry.name;
        out += entry.centralExtra;
    }
    const auto directorySize = static_cast<std::uint32_t>(out.size() - directoryOffset);

    const std::uint16_t count
        = options.entryCountOverride.value_or(static_cast<std::uint16_t>(entries.size()));
    appendLe32(out, 0x06054b50u);
    appendLe16(out, 0); // this disk
    appendLe16(out, 0); // disk with the central directory
    appendLe16(out, count);
    appendLe16(out, count);
    appendLe32(out, options.centralDirectorySizeOverride.value_or(directorySize));
    appendLe32(out, options.centralDirectoryOffsetOverride.value_or(directoryOffset));
    appendLe16(out, static_cast<std::uint16_t>(options.comment.size()));
    out += options.comment;
    return out;
}

std::string rawDeflate(const std::string& content)
{
    RawDeflater deflater;
    deflater.feed(reinterpret_cast<const unsigned char*>(content.data()), content.size(), true);
    return deflater.take();
}

std::string rawDeflateOfZeros(std::uint64_t length)
{
    static const unsigned char zeros[65536] = {};
    RawDeflater deflater;
    while (length > sizeof(zeros)) {
        deflater.feed(zeros, sizeof(zeros), false);
        length -= sizeof(zeros);
    }
    deflater.feed(zeros, static_cast<std::size_t>(length), true);
    return deflater.take();
}

std::uint32_t crc32OfZeros(std::uint64_t length)
{
    static const unsigned char zeros[65536] = {};
    uLong crc = crc32(0L, Z_NULL, 0);
    while (length > 0) {
        const auto step = static_cast<uInt>(length < sizeof(zeros) ? length : sizeof(zeros));
        crc = crc32(crc, zeros, step);
        length -= step;
    }
    return static_cast<std::uint32_t>(crc);
}

std::uint32_t crc32Of(const std::string& content)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size()));
    return static_cast<std::uint32_t>(crc);
}

void putLe16(std::string& bytes, std::size_t offset, std::uint16_t value)
{
    bytes.at(offset) = static_cast<char>(value & 0xffu);
    bytes.at(offset + 1) = static_cast<char>(value >> 8);
}

void putLe32(std::string& bytes, std::size_t offset, std::uint32_t value)
{
    putLe16(bytes, offset, static_cast<std::uint16_t>(value & 0xffffu));
    putLe16(bytes, offset + 2, static_cast<std::uint16_t>(value >> 16));
}

} // namespace omni::archive::testing
