#include "daemon/core/archive/zip_reader.hpp"

#include <array>
#include <cstdio>
#include <memory>
#include <set>
#include <string_view>
#include <vector>

#include <zip.h>

#include "daemon/core/archive/libzip_types.hpp"

#include "daemon/core/archive/central_directory.hpp"
#include "daemon/core/archive/entry_name.hpp"

namespace omni::archive {
namespace {

using detail::printableEntryName;

using detail::ZipArchive;
using detail::ZipError;
using detail::ZipFile;
using detail::ZipSource;

constexpr std::uint16_t kMethodStored = 0;
constexpr std::uint16_t kMethodDeflate = 8;
constexpr std::uint16_t kFlagEncrypted = 0x0001;
constexpr std::uint16_t kFlagStrongEncryption = 0x0040;
constexpr std::uint32_t kDosDirectory = 0x10;
constexpr std::uint32_t kDosVolumeLabel = 0x08;
// 7-Zip marks UNIX mode bits in the high half this way whatever the host.
constexpr std::uint32_t kDosUnixExtension = 0x8000;
constexpr std::uint32_t kUnixTypeMask = 0170000;
constexpr std::uint32_t kUnixRegular = 0100000;
// A well-formed archive needs one pass over its names (at most 1 MiB).
constexpr std::uint64_t kCrossCheckBudgetBytes = 32ull * 1024 * 1024;

// What the central directory says about one entry, as libzip reports it,
// completed by the raw record once the directory has been cross-checked.
struct EntryFacts {
    zip_uint64_t index = 0;
    std::string name; // libzip's raw name (a NUL in the record shows as a space here)
    std::string shown;
    std::uint64_t declaredSize = 0;
    std::uint64_t compressedSize = 0;
    std::uint32_t crc = 0;
    std::uint16_t method = 0;
    std::uint16_t encryption = ZIP_EM_NONE;
    std::uint8_t hostSystem = 0;
    std::uint32_t externalAttributes = 0;
    std::string rawName;
    std::uint16_t rawFlags = 0;
};

std::string quoted(const std::string& shown)
{
    return "'" + shown + "'";
}

std::string methodName(std::uint16_t method)
{
    switch (method) {
    case 1:
        return "shrink";
    case 6:
        return "implode";
    case 9:
        return "deflate64";
    case 12:
        return "bzip2";
    case 14:
        return "LZMA";
    case 93:
        return "zstd";
    case 95:
        return "xz";
    case 98:
        return "PPMd";
    case 99:
        return "AES";
    default:
        return "unknown";
    }
}

Result<ZipArchive> openArchive(std::span<const std::uint8_t> bytes)
{
    ZipError error;
    ZipSource source(zip_source_buffer_create(bytes.data(), bytes.size(), 0, error.get()));
    if (!source) {
        return fail(ReasonCode::InternalError, Check::None, "cannot set up ZIP reading: " + error.text());
    }
    // Without ZIP_CHECKCONS: duplicates and header mismatches are judged by
    // checks 7 and 8 below, not refused by libzip with the wrong code.
    ZipArchive archive(zip_open_from_source(source.get(), ZIP_RDONLY, error.get()));
    if (!archive) {
        return fail(ReasonCode::ArchiveCorrupt, Check::ZipDirectory,
            "not a ZIP archive, or its central directory cannot be read (" + error.text() + ")");
    }
    static_cast<void>(source.release()); // the archive owns it now
    return archive;
}

Result<std::vector<EntryFacts>> readDirectory(zip_t* archive)
{
    const zip_int64_t count = zip_get_num_entries(archive, 0);
    if (count < 0) {
        return fail(ReasonCode::ArchiveCorrupt, Check::ZipDirectory, "the central directory cannot be read");
    }
    if (static_cast<std::uint64_t>(count) > kMaxEntries) {
        return fail(ReasonCode::ArchiveTooLarge, Check::ZipLimits,
            "the archive has " + std::to_string(count) + " entries; the limit is "
                + std::to_string(kMaxEntries));
    }
    std::vector<EntryFacts> entries;
    for (zip_uint64_t index = 0; index < static_cast<zip_uint64_t>(count); ++index) {
        zip_stat_t stat;
        zip_stat_init(&stat);
        constexpr zip_uint64_t kNeeded = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_CRC
            | ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
        if (zip_stat_index(archive, index, ZIP_FL_ENC_RAW, &stat) != 0 || (stat.valid & kNeeded) != kNeeded
            || stat.name == nullptr) {
            return fail(ReasonCode::ArchiveCorrupt, Check::ZipDirectory,
                "central directory record #" + std::to_string(index + 1) + " cannot be read");
        }
        EntryFacts facts;
        facts.index = index;
        facts.name = stat.name;
        facts.shown = printableEntryName(facts.name);
        facts.declaredSize = stat.size;
        facts.compressedSize = stat.comp_size;
        facts.crc = stat.crc;
        facts.method = stat.comp_method;
        facts.encryption = stat.encryption_method;
        if (zip_file_get_external_attributes(archive, index, 0, &facts.hostSystem, &facts.externalAttributes)
            != 0) {
            return fail(ReasonCode::ArchiveCorrupt, Check::ZipDirectory,
                "central directory record of " + quoted(facts.shown) + " cannot be read", facts.shown);
        }
        entries.push_back(std::move(facts));
    }
    return entries;
}

// Check 7, from the declared sizes only: nothing has been inflated yet.
Result<void> checkLimits(const std::vector<EntryFacts>& entries)
{
    std::uint64_t total = 0;
    for (const EntryFacts& entry : entries) {
        if (entry.declaredSize > kMaxEntryBytes) {
            return fail(ReasonCode::ArchiveTooLarge, Check::ZipLimits,
                "entry " + quoted(entry.shown) + " declares " + std::to_string(entry.declaredSize)
                    + " bytes uncompressed; the limit is " + std::to_string(kMaxEntryBytes),
                entry.shown);
        }
        total += entry.declaredSize; // at most kMaxEntries * kMaxEntryBytes: no overflow
    }
    if (total > kMaxDeclaredTotalBytes) {
        return fail(ReasonCode::ArchiveTooLarge, Check::ZipLimits,
            "the entries declare " + std::to_string(total) + " bytes uncompressed in total; the limit is "
                + std::to_string(kMaxDeclaredTotalBytes));
    }
    return {};
}

bool sameNameAsLibzipShowsIt(std::string_view raw, const std::string& libzipName)
{
    if (raw.size() != libzipName.size()) {
        return false;
    }
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char expected = raw[i] == '\0' ? ' ' : raw[i];
        if (expected != libzipName[i]) {
            return false;
        }
    }
    return true;
}

bool describesSameEntries(
    std::span<const detail::RawCentralRecord> records, const std::vector<EntryFacts>& entries)
{
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const detail::RawCentralRecord& record = records[i];
        const EntryFacts& entry = entries[i];
        if (record.crc != entry.crc) {
            return false;
        }
        if (record.compressedSize != 0xffffffffu && record.compressedSize != entry.compressedSize) {
            return false;
        }
        // libzip reports the Unicode Path field's name instead, if it has one.
        if (!record.hasUnicodePathField && !sameNameAsLibzipShowsIt(record.name, entry.name)) {
            return false;
        }
    }
    return true;
}

// Finds the raw records of the directory libzip accepted, to learn the true
// name bytes and flags. Several end records can point at different
// directories; only those that describe exactly libzip's entries qualify, and
// if two of them disagree about a name the archive is refused rather than
// guessed at.
Result<void> attachRawRecords(std::span<const std::uint8_t> bytes, std::vector<EntryFacts>& entries)
{
    if (entries.empty()) {
        return {};
    }
    bool found = false;
    bool ambiguous = false;
    bool exhausted = false;
    std::uint64_t comparedNameBytes = 0;
    detail::forEachCentralDirectoryCandidate(
        bytes, entries.size(), [&](std::span<const detail::RawCentralRecord> records) {
            if (ambiguous || exhausted) {
                return;
            }
            // End records can be made to point at hundreds of directories
            // sharing long names; a budget keeps the comparison cheap.
            for (const detail::RawCentralRecord& record : records) {
                comparedNameBytes += record.name.size();
            }
            if (comparedNameBytes > kCrossCheckBudgetBytes) {
                exhausted = true;
                return;
            }
            if (!describesSameEntries(records, entries)) {
                return;
            }
            for (std::size_t i = 0; i < entries.size(); ++i) {
                if (!found) {
                    entries[i].rawName = records[i].name;
                    entries[i].rawFlags = records[i].flags;
                } else if (entries[i].rawName != records[i].name || entries[i].rawFlags != records[i].flags) {
                    ambiguous = true;
                }
            }
            found = true;
        });
    if (exhausted) {
        return fail(ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety,
            "the archive has too many candidate central directories to establish the true names of its "
            "entries");
    }
    if (!found || ambiguous) {
        return fail(ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety,
            "the central directory is ambiguous: the true names of its entries cannot be established");
    }
    return {};
}

std::optional<std::string> entryTypeProblem(const EntryFacts& entry)
{
    const std::uint32_t dosAttributes = entry.externalAttributes & 0xffffu;
    const bool hasUnixMode = entry.hostSystem == ZIP_OPSYS_UNIX || entry.hostSystem == ZIP_OPSYS_OS_X
        || (dosAttributes & kDosUnixExtension) != 0;
    if (hasUnixMode) {
        const std::uint32_t type = (entry.externalAttributes >> 16) & kUnixTypeMask;
        if (type == 0120000) {
            return "is a symbolic link";
        }
        if (type == 0040000) {
            return "is a directory";
        }
        if (type != 0 && type != kUnixRegular) {
            char mode[16];
            std::snprintf(mode, sizeof(mode), "%06o", static_cast<unsigned>(entry.externalAttributes >> 16));
            return std::string("is not a regular file (UNIX mode ") + mode + ")";
        }
    }
    if ((dosAttributes & kDosDirectory) != 0) {
        return "is a directory";
    }
    if ((dosAttributes & kDosVolumeLabel) != 0) {
        return "is a volume label, not a regular file";
    }
    return std::nullopt;
}

// Check 8, from the central directory.
Result<void> checkEntrySafety(std::span<const std::uint8_t> bytes, std::vector<EntryFacts>& entries)
{
    if (auto attached = attachRawRecords(bytes, entries); !attached) {
        return attached;
    }
    std::set<std::string> rawNames;
    std::set<std::string> libzipNames;
    for (const EntryFacts& entry : entries) {
        // An empty name cannot be shown, so such an entry is named by position.
        const std::string shown = entry.rawName.empty() ? "#" + std::to_string(entry.index + 1)
                                                        : printableEntryName(entry.rawName);
        auto problem = detail::entryNameProblem(entry.rawName);
        if (!problem) {
            problem = detail::entryNameProblem(entry.name);
        }
        if (!problem) {
            problem = entryTypeProblem(entry);
        }
        if (!problem
            && (entry.encryption != ZIP_EM_NONE
                || (entry.rawFlags & (kFlagEncrypted | kFlagStrongEncryption)) != 0)) {
            problem = "is encrypted";
        }
        if (!problem && (!rawNames.insert(entry.rawName).second || !libzipNames.insert(entry.name).second)) {
            problem = "appears more than once";
        }
        if (problem) {
            const std::string named = entry.rawName.empty() ? "entry " + shown : "entry " + quoted(shown);
            return fail(ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety, named + " " + *problem, shown);
        }
    }
    return {};
}

const EntryFacts* findEntry(const std::vector<EntryFacts>& entries, std::string_view name)
{
    for (const EntryFacts& entry : entries) {
        if (entry.name == name) {
            return &entry;
        }
    }
    return nullptr;
}

std::string readFailure(zip_error_t* error)
{
    switch (zip_error_code_zip(error)) {
    case ZIP_ER_CRC:
        return "its data fails the CRC-32 check";
    case ZIP_ER_ZLIB:
    case ZIP_ER_COMPRESSED_DATA:
        return "its compressed data is invalid or truncated";
    case ZIP_ER_INCONS:
    case ZIP_ER_EOF:
        return "its data is truncated or does not match its headers";
    default:
        return std::string("it cannot be read (") + zip_error_strerror(error) + ")";
    }
}

// Check 10 for one known entry. The buffer holds the declared size plus one
// byte and reading stops when it is full, so an entry that inflates to more
// than it declares is caught without inflating the rest.
Result<std::string> readEntry(zip_t* archive, const EntryFacts& entry)
{
    const std::string where = entry.shown;
    const std::string named = "entry " + quoted(entry.shown);
    if (entry.method != kMethodStored && entry.method != kMethodDeflate) {
        return fail(ReasonCode::ArchiveCorrupt, Check::EntryRead,
            named + " uses compression method " + std::to_string(entry.method) + " ("
                + methodName(entry.method) + "); only stored (0) and deflate (8) are supported",
            where);
    }
    ZipFile file(zip_fopen_index(archive, entry.index, 0));
    if (!file) {
        const std::string why = readFailure(zip_get_error(archive));
        zip_error_clear(archive);
        return fail(ReasonCode::ArchiveCorrupt, Check::EntryRead, named + " cannot be opened: " + why, where);
    }
    // declaredSize <= kMaxEntryBytes (check 7), so this allocation is bounded.
    const std::size_t capacity = static_cast<std::size_t>(entry.declaredSize) + 1;
    std::string content(capacity, '\0');
    std::size_t filled = 0;
    while (true) {
        if (filled == capacity) {
            return fail(ReasonCode::ArchiveCorrupt, Check::EntryRead,
                named + " holds more data than its declared " + std::to_string(entry.declaredSize) + " bytes",
                where);
        }
        // A read that returns 0 is where libzip compares the CRC-32.
        const zip_int64_t got = zip_fread(file.get(), content.data() + filled, capacity - filled);
        if (got < 0) {
            return fail(ReasonCode::ArchiveCorrupt, Check::EntryRead,
                named + " is corrupt: " + readFailure(zip_file_get_error(file.get())) + " (after "
                    + std::to_string(filled) + " of its declared " + std::to_string(entry.declaredSize)
                    + " bytes)",
                where);
        }
        if (got == 0) {
            break;
        }
        filled += static_cast<std::size_t>(got);
    }
    // libzip 1.7.3 does not compare the length with the declared size when
    // the CRC-32 of the shorter data matches, so this is checked here.
    if (filled != entry.declaredSize) {
        return fail(ReasonCode::ArchiveCorrupt, Check::EntryRead,
            named + " is truncated: it holds " + std::to_string(filled) + " bytes but declares "
                + std::to_string(entry.declaredSize),
            where);
    }
    content.resize(filled);
    return content;
}

} // namespace

Result<ArchiveEntries> readArchive(std::span<const std::uint8_t> bytes)
{
    try {
        if (bytes.size() > kMaxArchiveBytes) {
            return fail(ReasonCode::ArchiveTooLarge, Check::FileSize,
                "the archive is " + std::to_string(bytes.size()) + " bytes; the limit is "
                    + std::to_string(kMaxArchiveBytes));
        }
        // libzip would open zero bytes as an empty archive.
        if (bytes.empty()) {
            return fail(
                ReasonCode::ArchiveCorrupt, Check::ZipDirectory, "the archive is empty (0 bytes), not a ZIP");
        }

        auto archive = openArchive(bytes);
        if (!archive) {
            return tl::unexpected(std::move(archive.error()));
        }
        auto entries = readDirectory(archive->get());
        if (!entries) {
            return tl::unexpected(std::move(entries.error()));
        }
        if (auto limits = checkLimits(*entries); !limits) {
            return tl::unexpected(std::move(limits.error()));
        }
        if (auto safety = checkEntrySafety(bytes, *entries); !safety) {
            return tl::unexpected(std::move(safety.error()));
        }

        const std::array<const char*, 3> required = { kManifestEntry, kCertificateEntry, kPrivateKeyEntry };
        std::string missing;
        std::string firstMissing;
        for (const char* name : required) {
            if (findEntry(*entries, name) == nullptr) {
                missing += (missing.empty() ? "'" : ", '") + std::string(name) + "'";
                if (firstMissing.empty()) {
                    firstMissing = name;
                }
            }
        }
        if (!missing.empty()) {
            return fail(ReasonCode::ArchiveMissingEntry, Check::RequiredEntries,
                "the archive lacks the required "
                    + std::string(missing.find(',') == std::string::npos ? "entry " : "entries ") + missing,
                firstMissing);
        }

        ArchiveEntries result;
        const std::array<std::pair<const char*, std::string*>, 3> targets = { {
            { kManifestEntry, &result.manifest },
            { kCertificateEntry, &result.certificate },
            { kPrivateKeyEntry, &result.privateKey },
        } };
        for (const auto& [name, target] : targets) {
            auto content = readEntry(archive->get(), *findEntry(*entries, name));
            if (!content) {
                return tl::unexpected(std::move(content.error()));
            }
            *target = std::move(*content);
        }
        if (const EntryFacts* chain = findEntry(*entries, kChainEntry)) {
            auto content = readEntry(archive->get(), *chain);
            if (!content) {
                return tl::unexpected(std::move(content.error()));
            }
            result.chain = std::move(*content);
        }
        return result;
    } catch (const std::exception& error) {
        return fail(ReasonCode::InternalError, Check::None,
            std::string("reading the archive failed: ") + error.what());
    }
}

} // namespace omni::archive
