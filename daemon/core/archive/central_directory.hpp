#pragma once
// A minimal, bounds-checked walk of central-directory records in the raw
// archive bytes. It exists only because libzip 1.7.3 cannot report what an
// entry's name really is: when it reads a name it replaces every NUL byte with
// a space (zip_io_util.c, _zip_read_data with nulp) and hands out a C string,
// so zip_get_name/zip_stat can neither show the NUL nor its position, and the
// declared length always equals strlen of what it returns. It may also
// replace the name with the one of an Info-ZIP Unicode Path extra field. The
// reader uses these records to see the bytes libzip has hidden, after libzip
// has already accepted the directory; it never decides anything else.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

namespace omni::archive::detail {

struct RawCentralRecord {
    std::string_view name; // the exact bytes of the file-name field
    std::uint16_t flags = 0;
    std::uint16_t method = 0;
    std::uint32_t crc = 0;
    std::uint32_t compressedSize = 0; // 0xffffffff when it lives in a Zip64 extra field
    bool hasUnicodePathField = false; // extra field 0x7075
};

// For every distinct central-directory start offset named by an
// end-of-central-directory record found in `bytes` (or by the Zip64 record it
// points to), walks `entryCount` consecutive records and, if all of them lie
// inside `bytes`, calls `visit` with them. The records' names point into
// `bytes`. Cost is bounded by the buffer size times `entryCount`.
void forEachCentralDirectoryCandidate(std::span<const std::uint8_t> bytes, std::size_t entryCount,
    const std::function<void(std::span<const RawCentralRecord>)>& visit);

} // namespace omni::archive::detail
