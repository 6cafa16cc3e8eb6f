// libFuzzer target: readArchive (DESIGN.md checks 6-10) on arbitrary bytes.
// Besides the sanitizers, it traps when a verdict breaks the contract: a
// reason code paired with the wrong Check row, or an accepted archive holding
// more than the limits allow. An accepted archive is written back with
// writeArchive and must read back identically.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "daemon/core/archive/zip_reader.hpp"
#include "daemon/core/archive/zip_writer.hpp"

namespace {

using omni::Check;
using omni::ReasonCode;

bool consistent(const omni::Error& error)
{
    switch (error.reason) {
    case ReasonCode::ArchiveTooLarge:
        return error.check == Check::FileSize || error.check == Check::ZipLimits;
    case ReasonCode::ArchiveCorrupt:
        return error.check == Check::ZipDirectory || error.check == Check::EntryRead;
    case ReasonCode::ArchiveUnsafeEntry:
        return error.check == Check::ZipEntrySafety;
    case ReasonCode::ArchiveMissingEntry:
        return error.check == Check::RequiredEntries;
    default:
        return false;
    }
}

void require(bool condition)
{
    if (!condition) {
        __builtin_trap();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace omni::archive;
    const auto result = readArchive(std::span<const std::uint8_t>(data, size));
    if (!result) {
        require(consistent(result.error()));
        require(!result.error().message.empty());
        require(result.error().message.find('\0') == std::string::npos);
        return 0;
    }
    const ArchiveEntries& entries = *result;
    const std::uint64_t chainSize = entries.chain ? entries.chain->size() : 0;
    require(entries.manifest.size() <= kMaxEntryBytes && entries.certificate.size() <= kMaxEntryBytes
        && entries.privateKey.size() <= kMaxEntryBytes && chainSize <= kMaxEntryBytes);
    require(entries.manifest.size() + entries.certificate.size() + entries.privateKey.size() + chainSize
        <= kMaxDeclaredTotalBytes);

    std::vector<ArchiveFile> files = { { kManifestEntry, entries.manifest },
        { kCertificateEntry, entries.certificate }, { kPrivateKeyEntry, entries.privateKey } };
    if (entries.chain) {
        files.push_back({ kChainEntry, *entries.chain });
    }
    const auto rewritten = writeArchive(files);
    require(rewritten.has_value());
    if (rewritten->size() <= kMaxArchiveBytes) {
        const auto reread = readArchive(std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(rewritten->data()), rewritten->size()));
        require(reread.has_value() && reread->manifest == entries.manifest
            && reread->certificate == entries.certificate && reread->privateKey == entries.privateKey
            && reread->chain == entries.chain);
    }
    return 0;
}
