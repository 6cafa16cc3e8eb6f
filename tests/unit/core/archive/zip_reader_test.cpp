// readArchive against DESIGN.md section 3, checks 6-10: every verdict is
// reached at least two ways, and the order of the checks is pinned down by
// archives that break several rules at once.
#include <cstdint>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zip.h>

#include "daemon/core/archive/zip_reader.hpp"
#include "daemon/core/archive/zip_writer.hpp"
#include "tests/support/raw_zip_builder.hpp"

namespace omni::archive {
namespace {

using testing::buildZip;
using testing::deflatedEntry;
using testing::RawArchiveOptions;
using testing::RawEntry;
using testing::storedEntry;

constexpr const char* kManifestText = R"({"FormatVersion": 1, "Name": "cam-01"})";
constexpr const char* kCertificateText
    = "-----BEGIN CERTIFICATE-----\nnot a real certificate\n-----END CERTIFICATE-----\n";
constexpr const char* kKeyText = "placeholder standing in for a key: the archive layer never parses it\n";
constexpr const char* kChainText = "-----BEGIN CERTIFICATE-----\nintermediate\n-----END CERTIFICATE-----\n";

Result<ArchiveEntries> read(const std::string& bytes)
{
    return readArchive(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

// manifest.json deflated, certificate.pem stored, private_key.pem deflated.
std::vector<RawEntry> requiredEntries()
{
    return { deflatedEntry(kManifestEntry, kManifestText), storedEntry(kCertificateEntry, kCertificateText),
        deflatedEntry(kPrivateKeyEntry, kKeyText) };
}

std::vector<RawEntry> with(std::vector<RawEntry> entries, RawEntry extra)
{
    entries.push_back(std::move(extra));
    return entries;
}

// Replaces the entry called `name` in the required set.
std::vector<RawEntry> replacing(const std::string& name, RawEntry replacement)
{
    std::vector<RawEntry> entries = requiredEntries();
    for (RawEntry& entry : entries) {
        if (entry.name == name) {
            entry = std::move(replacement);
        }
    }
    return entries;
}

// The names libzip itself reports (ZIP_FL_ENC_RAW), to pin down the premise
// of tests about what libzip hides.
std::vector<std::string> libzipNames(const std::string& bytes)
{
    std::vector<std::string> names;
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    zip_t* archive = source == nullptr ? nullptr : zip_open_from_source(source, ZIP_RDONLY, &error);
    if (archive == nullptr) {
        zip_source_free(source);
    } else {
        for (zip_int64_t i = 0; i < zip_get_num_entries(archive, 0); ++i) {
            const char* name = zip_get_name(archive, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
            names.emplace_back(name != nullptr ? name : "");
        }
        zip_discard(archive);
    }
    zip_error_fini(&error);
    return names;
}

std::string unicodePathField(
    const std::string& recordName, const std::string& utf8Name, std::size_t paddingFields)
{
    std::string field;
    for (std::size_t i = 0; i < paddingFields; ++i) {
        std::string empty(4, '\0');
        testing::putLe16(empty, 0, 0xcafe); // an unknown, empty field
        field += empty;
    }
    std::string unicode(9, '\0');
    testing::putLe16(unicode, 0, 0x7075);
    testing::putLe16(unicode, 2, static_cast<std::uint16_t>(1 + 4 + utf8Name.size()));
    unicode[4] = '\x01'; // version
    testing::putLe32(unicode, 5, testing::crc32Of(recordName));
    return field + unicode + utf8Name;
}

#define EXPECT_VERDICT(result, expectedReason, expectedCheck)                                                \
    do {                                                                                                     \
        const auto& verdict_ = (result);                                                                     \
        ASSERT_FALSE(verdict_.has_value()) << "expected " << toString(expectedReason) << ", got success";    \
        EXPECT_EQ(toString(verdict_.error().reason), toString(expectedReason)) << verdict_.error().message;  \
        EXPECT_EQ(static_cast<int>(verdict_.error().check), static_cast<int>(expectedCheck))                 \
            << verdict_.error().message;                                                                     \
    } while (false)

// ---- success paths -------------------------------------------------------

TEST(ZipReader, ReadsWhatTheWriterWrites)
{
    const auto bytes
        = writeArchive({ { kManifestEntry, kManifestText }, { kCertificateEntry, kCertificateText },
            { kPrivateKeyEntry, kKeyText }, { kChainEntry, kChainText } });
    ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
    const auto entries = read(*bytes);
    ASSERT_TRUE(entries.has_value()) << entries.error().message;
    EXPECT_EQ(entries->manifest, kManifestText);
    EXPECT_EQ(entries->certificate, kCertificateText);
    EXPECT_EQ(entries->privateKey, kKeyText);
    ASSERT_TRUE(entries->chain.has_value());
    EXPECT_EQ(*entries->chain, kChainText);
}

TEST(ZipReader, ChainIsOptional)
{
    const auto entries = read(buildZip(requiredEntries()));
    ASSERT_TRUE(entries.has_value()) << entries.error().message;
    EXPECT_EQ(entries->manifest, kManifestText);
    EXPECT_EQ(entries->certificate, kCertificateText);
    EXPECT_EQ(entries->privateKey, kKeyText);
    EXPECT_FALSE(entries->chain.has_value());
}

TEST(ZipReader, EmptyEntriesReadAsEmpty)
{
    const auto entries = read(buildZip(replacing(kCertificateEntry, storedEntry(kCertificateEntry, ""))));
    ASSERT_TRUE(entries.has_value()) << entries.error().message;
    EXPECT_EQ(entries->certificate, "");
}

TEST(ZipReader, UnknownExtraEntriesAreIgnoredAndNeverRead)
{
    // Corrupt data, an unsupported method and a space in the name: none of it
    // matters for an entry nobody reads.
    RawEntry badCrc = storedEntry("notes.txt", "hello");
    badCrc.crc = 0xdeadbeefu;
    RawEntry bzip2 = storedEntry("read me.bz2", "not bzip2 at all");
    bzip2.method = 12;
    const auto entries = read(buildZip(with(with(requiredEntries(), badCrc), bzip2)));
    ASSERT_TRUE(entries.has_value()) << entries.error().message;
    EXPECT_EQ(entries->manifest, kManifestText);
}

TEST(ZipReader, AcceptsEntriesExactlyAtTheLimits)
{
    // Four entries of 256 KiB: each at the per-entry limit, 1 MiB in total.
    const std::string full(static_cast<std::size_t>(kMaxEntryBytes), 'a');
    const auto bytes = buildZip({ deflatedEntry(kManifestEntry, full), deflatedEntry(kCertificateEntry, full),
        deflatedEntry(kPrivateKeyEntry, full), deflatedEntry(kChainEntry, full) });
    const auto entries = read(bytes);
    ASSERT_TRUE(entries.has_value()) << entries.error().message;
    EXPECT_EQ(entries->manifest.size(), kMaxEntryBytes);
    EXPECT_EQ(entries->chain->size(), kMaxEntryBytes);
}

TEST(ZipReader, AcceptsSixteenEntriesAndExactlyOneMebibyte)
{
    std::vector<RawEntry> entries = requiredEntries();
    while (entries.size() < kMaxEntries) {
        entries.push_back(storedEntry("extra-" + std::to_string(entries.size()), "x"));
    }
    std::string bytes = buildZip(entries);
    RawArchiveOptions options;
    options.padding = std::string(static_cast<std::size_t>(kMaxArchiveBytes) - bytes.size(), '\0');
    bytes = buildZip(entries, options);
    ASSERT_EQ(bytes.size(), kMaxArchiveBytes);
    const auto result = read(bytes);
    EXPECT_TRUE(result.has_value()) << result.error().message;
}

// ---- check 4 guard -------------------------------------------------------

TEST(ZipReaderSizeGuard, RefusesMoreThanOneMebibyte)
{
    RawArchiveOptions options;
    options.padding = std::string(static_cast<std::size_t>(kMaxArchiveBytes), '\0');
    const auto result = read(buildZip(requiredEntries(), options));
    EXPECT_VERDICT(result, ReasonCode::ArchiveTooLarge, Check::FileSize);
    EXPECT_NE(result.error().message.find(std::to_string(kMaxArchiveBytes)), std::string::npos);
}

TEST(ZipReaderSizeGuard, RefusesOneByteOverEvenIfGarbage)
{
    const std::string bytes(static_cast<std::size_t>(kMaxArchiveBytes) + 1, 'x');
    EXPECT_VERDICT(read(bytes), ReasonCode::ArchiveTooLarge, Check::FileSize);
}

// ---- check 6: not a ZIP --------------------------------------------------

TEST(ZipReaderCheck6, EmptyBufferIsCorrupt)
{
    const auto result = read("");
    EXPECT_VERDICT(result, ReasonCode::ArchiveCorrupt, Check::ZipDirectory);
    EXPECT_NE(result.error().message.find("empty"), std::string::npos);
}

TEST(ZipReaderCheck6, RandomGarbageIsCorrupt)
{
    std::mt19937 generator(20261126);
    for (const std::size_t size : { 1u, 21u, 22u, 4096u, 1u << 20 }) {
        std::string bytes(size, '\0');
        for (char& byte : bytes) {
            byte = static_cast<char>(generator() & 0xffu);
        }
        EXPECT_VERDICT(read(bytes), ReasonCode::ArchiveCorrupt, Check::ZipDirectory);
    }
}

TEST(ZipReaderCheck6, TextIsCorrupt)
{
    EXPECT_VERDICT(
        read("this is a text file, not an archive\n"), ReasonCode::ArchiveCorrupt, Check::ZipDirectory);
}

TEST(ZipReaderCheck6, TruncatedCentralDirectoryIsCorrupt)
{
    const std::string whole = buildZip(requiredEntries());
    // Cut inside the central directory: the end record is gone.
    const std::string cutInDirectory = whole.substr(0, whole.size() - 40);
    EXPECT_VERDICT(read(cutInDirectory), ReasonCode::ArchiveCorrupt, Check::ZipDirectory);
    // Cut inside the end record itself.
    const std::string cutInEnd = whole.substr(0, whole.size() - 10);
    EXPECT_VERDICT(read(cutInEnd), ReasonCode::ArchiveCorrupt, Check::ZipDirectory);
}

TEST(ZipReaderCheck6, LocalHeadersWithoutDirectoryAreCorrupt)
{
    const std::string whole = buildZip(requiredEntries());
    const std::string localsOnly = whole.substr(0, whole.find("PK\x01\x02"));
    EXPECT_VERDICT(read(localsOnly), ReasonCode::ArchiveCorrupt, Check::ZipDirectory);
}

TEST(ZipReaderCheck6, DirectoryOffsetPointingElsewhereIsCorrupt)
{
    RawArchiveOptions options;
    options.centralDirectoryOffsetOverride = 3;
    EXPECT_VERDICT(
        read(buildZip(requiredEntries(), options)), ReasonCode::ArchiveCorrupt, Check::ZipDirectory);
}

TEST(ZipReaderCheck6, EntryCountLargerThanTheDirectoryIsCorrupt)
{
    RawArchiveOptions options;
    options.entryCountOverride = 5;
    EXPECT_VERDICT(
        read(buildZip(requiredEntries(), options)), ReasonCode::ArchiveCorrupt, Check::ZipDirectory);
}

TEST(ZipReaderCheck6, AValidEmptyArchiveIsJudgedByCheck9)
{
    // A ZIP with zero entries is a readable directory; what it lacks is entries.
    const auto result = read(buildZip({}));
    EXPECT_VERDICT(result, ReasonCode::ArchiveMissingEntry, Check::RequiredEntries);
}

// ---- check 7: limits from the central directory --------------------------

TEST(ZipReaderCheck7, SeventeenEntriesAreTooMany)
{
    std::vector<RawEntry> entries = requiredEntries();
    while (entries.size() < kMaxEntries + 1) {
        entries.push_back(storedEntry("extra-" + std::to_string(entries.size()), "x"));
    }
    const auto result = read(buildZip(entries));
    EXPECT_VERDICT(result, ReasonCode::ArchiveTooLarge, Check::ZipLimits);
    EXPECT_NE(result.error().message.find("17 entries"), std::string::npos) << result.error().message;
    EXPECT_NE(result.error().message.find(std::to_string(kMaxEntries)), std::string::npos);
}

TEST(ZipReaderCheck7, ManyEmptyEntriesAreTooMany)
{
    std::vector<RawEntry> entries;
    for (int i = 0; i < 300; ++i) {
        entries.push_back(storedEntry("e" + std::to_string(i), ""));
    }
    EXPECT_VERDICT(read(buildZip(entries)), ReasonCode::ArchiveTooLarge, Check::ZipLimits);
}

TEST(ZipReaderCheck7, AnEntryDeclaringOver256KiBIsTooLarge)
{
    RawEntry certificate = storedEntry(kCertificateEntry, kCertificateText);
    certificate.uncompressedSize = 300 * 1024;
    const auto result = read(buildZip(replacing(kCertificateEntry, certificate)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveTooLarge, Check::ZipLimits);
    EXPECT_EQ(result.error().where, kCertificateEntry);
    EXPECT_NE(result.error().message.find("'certificate.pem' declares 307200 bytes"), std::string::npos)
        << result.error().message;
    EXPECT_NE(result.error().message.find(std::to_string(kMaxEntryBytes)), std::string::npos);
}

TEST(ZipReaderCheck7, AnUnknownEntryDeclaringOneByteTooManyIsTooLarge)
{
    RawEntry extra
        = deflatedEntry("padding.bin", std::string(static_cast<std::size_t>(kMaxEntryBytes) + 1, '\0'));
    const auto result = read(buildZip(with(requiredEntries(), extra)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveTooLarge, Check::ZipLimits);
    EXPECT_EQ(result.error().where, "padding.bin");
}

TEST(ZipReaderCheck7, DeclaredTotalOverOneMebibyteIsTooLarge)
{
    // Five entries of 230 KiB declared: each within its limit, 1150 KiB together.
    std::vector<RawEntry> entries = requiredEntries();
    entries.push_back(storedEntry("extra-1", "x"));
    entries.push_back(storedEntry("extra-2", "x"));
    for (RawEntry& entry : entries) {
        entry.uncompressedSize = 230 * 1024;
    }
    const auto result = read(buildZip(entries));
    EXPECT_VERDICT(result, ReasonCode::ArchiveTooLarge, Check::ZipLimits);
    EXPECT_NE(result.error().message.find(std::to_string(5 * 230 * 1024)), std::string::npos)
        << result.error().message;
    EXPECT_NE(result.error().message.find(std::to_string(kMaxDeclaredTotalBytes)), std::string::npos);
}

TEST(ZipReaderCheck7, OneMebibyteClaimingFourGibibytesIsTooLarge)
{
    std::vector<RawEntry> entries;
    for (std::size_t i = 0; i < kMaxEntries; ++i) {
        RawEntry entry = storedEntry("part-" + std::to_string(i), "x");
        entry.uncompressedSize = 256u * 1024 * 1024; // 16 x 256 MiB = 4 GiB declared
        entries.push_back(entry);
    }
    std::string bytes = buildZip(entries);
    RawArchiveOptions options;
    options.padding = std::string(static_cast<std::size_t>(kMaxArchiveBytes) - bytes.size(), '\0');
    bytes = buildZip(entries, options);
    ASSERT_EQ(bytes.size(), kMaxArchiveBytes);
    const auto result = read(bytes);
    EXPECT_VERDICT(result, ReasonCode::ArchiveTooLarge, Check::ZipLimits);
    EXPECT_NE(result.error().message.find(std::to_string(256u * 1024 * 1024)), std::string::npos)
        << result.error().message;
}

TEST(ZipReaderCheck7, Zip64SizeOfFourGibibytesIsTooLarge)
{
    // 0xffffffff in the record defers to the Zip64 extended information field.
    constexpr std::uint64_t kFourGiB = 4ull * 1024 * 1024 * 1024;
    std::string zip64(12, '\0');
    testing::putLe16(zip64, 0, 0x0001);
    testing::putLe16(zip64, 2, 8);
    testing::putLe32(zip64, 4, static_cast<std::uint32_t>(kFourGiB & 0xffffffffu));
    testing::putLe32(zip64, 8, static_cast<std::uint32_t>(kFourGiB >> 32));
    RawEntry key = storedEntry(kPrivateKeyEntry, kKeyText);
    key.uncompressedSize = 0xffffffffu;
    key.centralExtra = zip64;
    const auto result = read(buildZip(replacing(kPrivateKeyEntry, key)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveTooLarge, Check::ZipLimits);
    EXPECT_EQ(result.error().where, kPrivateKeyEntry);
    EXPECT_NE(result.error().message.find(std::to_string(kFourGiB)), std::string::npos)
        << result.error().message;
}

TEST(ZipReaderCheck6, SizeMarkerWithoutZip64FieldIsCorrupt)
{
    // libzip cannot read a record that defers to a Zip64 field it lacks.
    RawEntry key = storedEntry(kPrivateKeyEntry, kKeyText);
    key.uncompressedSize = 0xffffffffu;
    EXPECT_VERDICT(
        read(buildZip(replacing(kPrivateKeyEntry, key))), ReasonCode::ArchiveCorrupt, Check::ZipDirectory);
}

TEST(ZipReaderCheck7, LimitsComeBeforeEntrySafety)
{
    std::vector<RawEntry> entries = requiredEntries();
    while (entries.size() < kMaxEntries + 1) {
        entries.push_back(storedEntry("../escape-" + std::to_string(entries.size()), "x"));
    }
    EXPECT_VERDICT(read(buildZip(entries)), ReasonCode::ArchiveTooLarge, Check::ZipLimits);

    RawEntry hostile = storedEntry("../big", "x");
    hostile.uncompressedSize = 300 * 1024;
    EXPECT_VERDICT(
        read(buildZip(with(requiredEntries(), hostile))), ReasonCode::ArchiveTooLarge, Check::ZipLimits);
}

TEST(ZipReaderCheck7, LimitsComeBeforeReadingAndBeforeMissingEntries)
{
    RawEntry manifest = storedEntry(kManifestEntry, kManifestText);
    manifest.uncompressedSize = 300 * 1024;
    manifest.crc = 1;
    EXPECT_VERDICT(read(buildZip({ manifest })), ReasonCode::ArchiveTooLarge, Check::ZipLimits);
}

// ---- check 8: unsafe entries --------------------------------------------

struct UnsafeNameCase {
    std::string label;
    std::string name;
    std::string expectedInMessage;
};

class ZipReaderUnsafeName : public ::testing::TestWithParam<UnsafeNameCase> { };

TEST_P(ZipReaderUnsafeName, RefusesAnExtraEntryWithThatName)
{
    const auto result = read(buildZip(with(requiredEntries(), storedEntry(GetParam().name, "x"))));
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
    EXPECT_NE(result.error().message.find(GetParam().expectedInMessage), std::string::npos)
        << result.error().message;
    EXPECT_FALSE(result.error().where.empty());
    EXPECT_NE(result.error().message.find(result.error().where), std::string::npos) << result.error().message;
}

TEST_P(ZipReaderUnsafeName, RefusesItEvenWithoutTheRequiredEntries)
{
    // Check 8 comes before check 9.
    const auto result = read(buildZip({ storedEntry(GetParam().name, "x") }));
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
}

INSTANTIATE_TEST_SUITE_P(Names, ZipReaderUnsafeName,
    ::testing::Values(UnsafeNameCase { "DotDot", "../x", "'..'" },
        UnsafeNameCase { "DotDotInside", "a..b", "'..'" }, UnsafeNameCase { "Absolute", "/abs", "absolute" },
        UnsafeNameCase { "AbsoluteBackslash", "\\abs", "absolute" },
        UnsafeNameCase { "DriveLetter", "C:x", "absolute" }, UnsafeNameCase { "Backslash", "a\\b", "'\\'" },
        UnsafeNameCase { "Slash", "a/b", "'/'" }, UnsafeNameCase { "DirectoryName", "dir/", "'/'" },
        UnsafeNameCase { "LeadingDotSlash", "./x", "'./'" }, UnsafeNameCase { "Empty", "", "empty" },
        UnsafeNameCase { "Nul", std::string("a\0b", 3), "NUL" },
        UnsafeNameCase { "NulAfterKnownName", std::string("manifest.json\0.txt", 18), "NUL" },
        UnsafeNameCase { "NulOnly", std::string("\0", 1), "NUL" }),
    [](const ::testing::TestParamInfo<UnsafeNameCase>& info) { return info.param.label; });

TEST(ZipReaderCheck8, NulIsShownEscapedInMessageAndWhere)
{
    const std::string bytes = buildZip(with(requiredEntries(), storedEntry(std::string("a\0b", 3), "x")));
    // libzip 1.7.3 shows the NUL as a space, with the declared length intact.
    ASSERT_EQ(libzipNames(bytes).back(), "a b");
    const auto result = read(bytes);
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
    EXPECT_EQ(result.error().where, "a\\x00b");
    EXPECT_EQ(result.error().message.find('\0'), std::string::npos);
}

TEST(ZipReaderCheck8, ASpaceInANameIsFine)
{
    // libzip shows a NUL as a space; a real space must not be mistaken for one.
    const auto result = read(buildZip(with(requiredEntries(), storedEntry("a b", "x"))));
    EXPECT_TRUE(result.has_value()) << result.error().message;
}

TEST(ZipReaderCheck8, DuplicateKnownEntryIsUnsafe)
{
    const auto result = read(buildZip(with(requiredEntries(), storedEntry(kManifestEntry, "{}"))));
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
    EXPECT_EQ(result.error().where, kManifestEntry);
    EXPECT_NE(result.error().message.find("more than once"), std::string::npos);
}

TEST(ZipReaderCheck8, DuplicateUnknownEntryIsUnsafe)
{
    auto entries = with(with(requiredEntries(), storedEntry("extra", "1")), deflatedEntry("extra", "2"));
    const auto result = read(buildZip(entries));
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
    EXPECT_EQ(result.error().where, "extra");
}

TEST(ZipReaderCheck8, DuplicatesAreComparedByExactBytes)
{
    // Differing only in case is two names.
    const auto result = read(buildZip(with(requiredEntries(), storedEntry("Manifest.json", "{}"))));
    EXPECT_TRUE(result.has_value()) << result.error().message;
}

TEST(ZipReaderCheck8, SymlinkKnownEntryIsUnsafe)
{
    RawEntry key = storedEntry(kPrivateKeyEntry, "/etc/shadow");
    key.externalAttributes = testing::kUnixSymlink0777;
    const auto result = read(buildZip(replacing(kPrivateKeyEntry, key)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
    EXPECT_EQ(result.error().where, kPrivateKeyEntry);
    EXPECT_NE(result.error().message.find("symbolic link"), std::string::npos);
}

TEST(ZipReaderCheck8, SymlinkUnknownEntryIsUnsafe)
{
    RawEntry link = storedEntry("link", "/");
    link.externalAttributes = testing::kUnixSymlink0777;
    EXPECT_VERDICT(
        read(buildZip(with(requiredEntries(), link))), ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
}

TEST(ZipReaderCheck8, UnixDirectoryEntryIsUnsafe)
{
    RawEntry directory = storedEntry("dir", "");
    directory.externalAttributes = testing::kUnixDirectory0755;
    const auto result = read(buildZip(with(requiredEntries(), directory)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
    EXPECT_NE(result.error().message.find("directory"), std::string::npos);
}

TEST(ZipReaderCheck8, MsDosDirectoryAttributeIsUnsafe)
{
    RawEntry directory = storedEntry("dir", "");
    directory.madeBy = testing::kMadeByDos;
    directory.externalAttributes = 0x10;
    const auto result = read(buildZip(with(requiredEntries(), directory)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
    EXPECT_NE(result.error().message.find("directory"), std::string::npos);
}

TEST(ZipReaderCheck8, FifoIsUnsafe)
{
    RawEntry fifo = storedEntry("pipe", "");
    fifo.externalAttributes = 010644u << 16;
    EXPECT_VERDICT(
        read(buildZip(with(requiredEntries(), fifo))), ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
}

TEST(ZipReaderCheck8, MsDosRegularFileIsFine)
{
    RawEntry plain = storedEntry("readme.txt", "hello");
    plain.madeBy = testing::kMadeByDos;
    plain.externalAttributes = 0x20; // archive bit
    RawEntry modeless = storedEntry("modeless.txt", "hello");
    modeless.externalAttributes = 0; // UNIX host, no mode recorded
    const auto result = read(buildZip(with(with(requiredEntries(), plain), modeless)));
    EXPECT_TRUE(result.has_value()) << result.error().message;
}

TEST(ZipReaderCheck8, EncryptedKnownEntryIsUnsafe)
{
    RawEntry key = storedEntry(kPrivateKeyEntry, kKeyText);
    key.flags = testing::kFlagEncrypted;
    const auto result = read(buildZip(replacing(kPrivateKeyEntry, key)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
    EXPECT_NE(result.error().message.find("encrypted"), std::string::npos);
}

TEST(ZipReaderCheck8, EncryptedUnknownEntryIsUnsafe)
{
    RawEntry secret = deflatedEntry("secret", "hidden");
    secret.flags = testing::kFlagEncrypted;
    EXPECT_VERDICT(read(buildZip(with(requiredEntries(), secret))), ReasonCode::ArchiveUnsafeEntry,
        Check::ZipEntrySafety);
}

TEST(ZipReaderCheck8, UnicodePathFieldCannotHideAnUnsafeName)
{
    // Info-ZIP Unicode Path field (0x7075): libzip reports its name instead
    // of the record's when the CRC of the record's name matches.
    const std::string rawName = "../evil";
    const std::string shownName = "evil";
    RawEntry entry = storedEntry(rawName, "x");
    entry.centralExtra = unicodePathField(rawName, shownName, 0);
    const std::string bytes = buildZip(with(requiredEntries(), entry));
    ASSERT_EQ(libzipNames(bytes).back(), shownName);
    const auto result = read(bytes);
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
    EXPECT_EQ(result.error().where, rawName);
}

TEST(ZipReaderCheck8, ABenignUnicodePathFieldIsFine)
{
    RawEntry entry = storedEntry("caf\xe9.txt", "x"); // CP437/Latin-1 in the record
    entry.centralExtra = unicodePathField(entry.name, "caf\xc3\xa9.txt", 0);
    const std::string bytes = buildZip(with(requiredEntries(), entry));
    ASSERT_EQ(libzipNames(bytes).back(), "caf\xc3\xa9.txt");
    const auto result = read(bytes);
    EXPECT_TRUE(result.has_value()) << result.error().message;
}

TEST(ZipReaderCheck8, AUnicodePathFieldBuriedUnderManyFieldsIsRefused)
{
    // The reader scans a bounded number of extra fields; past that it cannot
    // confirm why libzip shows another name, so it refuses.
    RawEntry entry = storedEntry("plain.txt", "x");
    entry.centralExtra = unicodePathField(entry.name, "other.txt", 40);
    const std::string bytes = buildZip(with(requiredEntries(), entry));
    ASSERT_EQ(libzipNames(bytes).back(), "other.txt");
    EXPECT_VERDICT(read(bytes), ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
}

TEST(ZipReaderCheck8, ThousandsOfConvergingDirectoriesAreRefusedCheaply)
{
    // K end records, each pointing at its own copy of the first central
    // record; the copies' comment fields stretch so that all of them end
    // where the shared records of the other entries begin, one of which has a
    // 60000-byte name. Every directory is valid and identical, but checking
    // them all would compare K * 60000 name bytes.
    const std::vector<RawEntry> entries = with(requiredEntries(), storedEntry(std::string(60000, 'n'), "x"));
    const std::string plain = buildZip(entries);
    const std::size_t directory = plain.find("PK\x01\x02");
    const std::size_t firstRecordLength = 46 + std::string(kManifestEntry).size();
    const std::string firstRecord = plain.substr(directory, firstRecordLength);
    const std::string sharedRecords
        = plain.substr(directory + firstRecordLength, plain.size() - 22 - directory - firstRecordLength);
    constexpr std::size_t kCopies = 1100;
    std::string bytes = plain.substr(0, directory);
    std::vector<std::size_t> starts;
    for (std::size_t j = kCopies; j-- > 0;) {
        std::string copy = firstRecord;
        testing::putLe16(copy, 32, static_cast<std::uint16_t>(firstRecordLength * j)); // comment length
        starts.push_back(bytes.size());
        bytes += copy;
    }
    bytes += sharedRecords;
    const std::size_t directoryEnd = bytes.size();
    for (const std::size_t start : starts) {
        std::string end = plain.substr(plain.size() - 22);
        testing::putLe32(end, 12, static_cast<std::uint32_t>(directoryEnd - start));
        testing::putLe32(end, 16, static_cast<std::uint32_t>(start));
        bytes += end;
    }
    ASSERT_LE(bytes.size(), kMaxArchiveBytes);
    ASSERT_EQ(libzipNames(bytes).size(), entries.size());
    const auto result = read(bytes);
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
    EXPECT_NE(result.error().message.find("too many candidate central directories"), std::string::npos)
        << result.error().message;
}

TEST(ZipReaderCheck8, TwoDirectoriesDisagreeingAboutANulAreRefused)
{
    // The real directory names "a b"; a second end record, in the comment,
    // points at a copy naming "a\0b" with the same CRC and sizes. Whichever
    // libzip believes, the reader must not accept the archive as safe.
    const std::vector<RawEntry> entries = with(requiredEntries(), storedEntry("a b", "x"));
    const std::string nulArchive
        = buildZip(with(requiredEntries(), storedEntry(std::string("a\0b", 3), "x")));
    // Same local records, so both directories start at the same offset.
    const std::size_t directoryOffset = nulArchive.find("PK\x01\x02");
    ASSERT_EQ(directoryOffset, buildZip(entries).find("PK\x01\x02"));
    RawArchiveOptions options;
    options.padding = nulArchive.substr(directoryOffset, nulArchive.size() - directoryOffset - 22);
    std::string secondEnd = nulArchive.substr(nulArchive.size() - 22);
    testing::putLe32(secondEnd, 16, static_cast<std::uint32_t>(directoryOffset));
    options.comment = secondEnd;
    const std::string bytes = buildZip(entries, options);
    const auto result = read(bytes);
    EXPECT_VERDICT(result, ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
    EXPECT_NE(result.error().message.find("ambiguous"), std::string::npos) << result.error().message;
}

TEST(ZipReaderCheck8, TwoIdenticalDirectoriesAreFine)
{
    const std::vector<RawEntry> entries = with(requiredEntries(), storedEntry("a b", "x"));
    const std::string plain = buildZip(entries);
    const std::size_t directoryOffset = plain.find("PK\x01\x02");
    RawArchiveOptions options;
    options.padding = plain.substr(directoryOffset, plain.size() - directoryOffset - 22);
    std::string secondEnd = plain.substr(plain.size() - 22);
    testing::putLe32(secondEnd, 16, static_cast<std::uint32_t>(directoryOffset));
    options.comment = secondEnd;
    const auto result = read(buildZip(entries, options));
    EXPECT_TRUE(result.has_value()) << result.error().message;
}

TEST(ZipReaderCheck8, SafetyComesBeforeReading)
{
    RawEntry manifest = storedEntry(kManifestEntry, kManifestText);
    manifest.crc = 1;
    EXPECT_VERDICT(read(buildZip(with(replacing(kManifestEntry, manifest), storedEntry("../x", "x")))),
        ReasonCode::ArchiveUnsafeEntry, Check::ZipEntrySafety);
}

// ---- check 9: required entries ------------------------------------------

class ZipReaderMissingEntry : public ::testing::TestWithParam<std::string> { };

TEST_P(ZipReaderMissingEntry, NamesTheMissingEntry)
{
    std::vector<RawEntry> entries;
    for (RawEntry& entry : requiredEntries()) {
        if (entry.name != GetParam()) {
            entries.push_back(entry);
        }
    }
    entries.push_back(storedEntry(kChainEntry, kChainText));
    const auto result = read(buildZip(entries));
    EXPECT_VERDICT(result, ReasonCode::ArchiveMissingEntry, Check::RequiredEntries);
    EXPECT_EQ(result.error().where, GetParam());
    EXPECT_NE(result.error().message.find("'" + GetParam() + "'"), std::string::npos)
        << result.error().message;
}

TEST_P(ZipReaderMissingEntry, ANameDifferingInCaseDoesNotCount)
{
    std::vector<RawEntry> entries;
    for (RawEntry& entry : requiredEntries()) {
        if (entry.name == GetParam()) {
            entry.name[0] = static_cast<char>(entry.name[0] - 'a' + 'A');
        }
        entries.push_back(entry);
    }
    const auto result = read(buildZip(entries));
    EXPECT_VERDICT(result, ReasonCode::ArchiveMissingEntry, Check::RequiredEntries);
    EXPECT_EQ(result.error().where, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Required, ZipReaderMissingEntry,
    ::testing::Values(kManifestEntry, kCertificateEntry, kPrivateKeyEntry),
    [](const ::testing::TestParamInfo<std::string>& info) {
        std::string label;
        for (const char c : info.param) {
            if (std::isalnum(static_cast<unsigned char>(c))) {
                label.push_back(c);
            }
        }
        return label;
    });

TEST(ZipReaderCheck9, NamesEveryMissingEntry)
{
    const auto result = read(buildZip({ storedEntry(kChainEntry, kChainText) }));
    EXPECT_VERDICT(result, ReasonCode::ArchiveMissingEntry, Check::RequiredEntries);
    for (const char* name : { kManifestEntry, kCertificateEntry, kPrivateKeyEntry }) {
        EXPECT_NE(result.error().message.find(name), std::string::npos) << result.error().message;
    }
}

TEST(ZipReaderCheck9, MissingComesBeforeReading)
{
    RawEntry manifest = storedEntry(kManifestEntry, kManifestText);
    manifest.crc = 1;
    const auto result = read(buildZip({ manifest, storedEntry(kCertificateEntry, kCertificateText) }));
    EXPECT_VERDICT(result, ReasonCode::ArchiveMissingEntry, Check::RequiredEntries);
}

// ---- check 10: reading the known entries ---------------------------------

TEST(ZipReaderCheck10, FlippedCrcOnStoredEntryIsCorrupt)
{
    RawEntry certificate = storedEntry(kCertificateEntry, kCertificateText);
    certificate.crc = testing::crc32Of(kCertificateText) ^ 1u;
    const auto result = read(buildZip(replacing(kCertificateEntry, certificate)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveCorrupt, Check::EntryRead);
    EXPECT_EQ(result.error().where, kCertificateEntry);
    EXPECT_NE(result.error().message.find("CRC"), std::string::npos) << result.error().message;
}

TEST(ZipReaderCheck10, FlippedDataBitOnDeflatedEntryIsCorrupt)
{
    RawEntry manifest = deflatedEntry(kManifestEntry, std::string(5000, 'm') + kManifestText);
    manifest.payload[manifest.payload.size() / 2] ^= 0x10;
    const auto result = read(buildZip(replacing(kManifestEntry, manifest)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveCorrupt, Check::EntryRead);
    EXPECT_EQ(result.error().where, kManifestEntry);
}

TEST(ZipReaderCheck10, FlippedCrcOnChainIsCorrupt)
{
    RawEntry chain = deflatedEntry(kChainEntry, kChainText);
    chain.crc = 0;
    EXPECT_VERDICT(
        read(buildZip(with(requiredEntries(), chain))), ReasonCode::ArchiveCorrupt, Check::EntryRead);
}

TEST(ZipReaderCheck10, TruncatedDeflateStreamIsCorrupt)
{
    std::mt19937 generator(7);
    std::string content(20000, '\0');
    for (char& byte : content) {
        byte = static_cast<char>('a' + generator() % 26);
    }
    RawEntry key = deflatedEntry(kPrivateKeyEntry, content);
    key.payload.resize(key.payload.size() / 2); // compressed size follows the payload
    const auto result = read(buildZip(replacing(kPrivateKeyEntry, key)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveCorrupt, Check::EntryRead);
    EXPECT_EQ(result.error().where, kPrivateKeyEntry);
}

TEST(ZipReaderCheck10, DeflateEndingBeforeTheDeclaredSizeIsCorrupt)
{
    // The CRC is right for the data that is there; only the size lies.
    RawEntry manifest = deflatedEntry(kManifestEntry, kManifestText);
    manifest.uncompressedSize = static_cast<std::uint32_t>(std::string(kManifestText).size() + 100);
    const auto result = read(buildZip(replacing(kManifestEntry, manifest)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveCorrupt, Check::EntryRead);
    EXPECT_NE(result.error().message.find("truncated"), std::string::npos) << result.error().message;
}

TEST(ZipReaderCheck10, StoredDataShorterThanDeclaredIsCorrupt)
{
    RawEntry certificate = storedEntry(kCertificateEntry, kCertificateText);
    certificate.uncompressedSize = static_cast<std::uint32_t>(std::string(kCertificateText).size() + 1);
    EXPECT_VERDICT(read(buildZip(replacing(kCertificateEntry, certificate))), ReasonCode::ArchiveCorrupt,
        Check::EntryRead);
}

TEST(ZipReaderCheck10, CompressedSizeBeyondTheArchiveIsCorrupt)
{
    RawEntry certificate = storedEntry(kCertificateEntry, kCertificateText);
    certificate.compressedSize = 0x7ffffff0u;
    EXPECT_VERDICT(read(buildZip(replacing(kCertificateEntry, certificate))), ReasonCode::ArchiveCorrupt,
        Check::EntryRead);
}

TEST(ZipReaderCheck10, StoredDataLongerThanDeclaredIsCorrupt)
{
    RawEntry certificate = storedEntry(kCertificateEntry, kCertificateText);
    certificate.uncompressedSize = 5;
    const auto result = read(buildZip(replacing(kCertificateEntry, certificate)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveCorrupt, Check::EntryRead);
    EXPECT_NE(result.error().message.find("more data than its declared 5 bytes"), std::string::npos)
        << result.error().message;
}

RawEntry deflateBomb(const std::string& name, std::uint64_t inflatedSize, std::uint32_t declaredSize)
{
    RawEntry bomb;
    bomb.name = name;
    bomb.method = 8;
    bomb.payload = testing::rawDeflateOfZeros(inflatedSize);
    bomb.crc = testing::crc32OfZeros(inflatedSize);
    bomb.uncompressedSize = declaredSize;
    return bomb;
}

TEST(ZipReaderCheck10, DeflateBombDeclaringOneKilobyteIsCorrupt)
{
    const auto result
        = read(buildZip(replacing(kManifestEntry, deflateBomb(kManifestEntry, 200 * 1000, 1000))));
    EXPECT_VERDICT(result, ReasonCode::ArchiveCorrupt, Check::EntryRead);
    EXPECT_EQ(result.error().where, kManifestEntry);
    EXPECT_NE(result.error().message.find("more data than its declared 1000 bytes"), std::string::npos)
        << result.error().message;
}

std::uint64_t peakResidentKiB()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::stoull(line.substr(6));
        }
    }
    return 0;
}

TEST(ZipReaderCheck10, DeflateBombNeverCostsMemory)
{
    // 256 MiB of zeros behind 1 KiB declared: inflating it all would push the
    // peak resident size far past the bound.
    constexpr std::uint64_t kInflated = 256ull * 1024 * 1024;
    const std::string bytes
        = buildZip(replacing(kPrivateKeyEntry, deflateBomb(kPrivateKeyEntry, kInflated, 1024)));
    ASSERT_LE(bytes.size(), kMaxArchiveBytes);
    {
        // Resets VmHWM to the current resident size (Linux >= 4.0), so the
        // bound concerns the read alone and not what other tests did before.
        std::ofstream clear("/proc/self/clear_refs");
        clear << "5";
    }
    const std::uint64_t before = peakResidentKiB();
    const auto result = read(bytes);
    const std::uint64_t after = peakResidentKiB();
    EXPECT_VERDICT(result, ReasonCode::ArchiveCorrupt, Check::EntryRead);
    ASSERT_GT(after, 0u) << "VmHWM not found in /proc/self/status";
    EXPECT_LT(after - before, 8u * 1024)
        << "peak grew by " << (after - before) << " KiB while reading a bomb";
#if !defined(__SANITIZE_ADDRESS__)
    EXPECT_LT(after, 32u * 1024) << "VmHWM " << after << " KiB";
#endif
}

TEST(ZipReaderCheck10, UnsupportedMethodOnAKnownEntryIsCorruptAndNamed)
{
    RawEntry certificate = storedEntry(kCertificateEntry, kCertificateText);
    certificate.method = 12;
    const auto result = read(buildZip(replacing(kCertificateEntry, certificate)));
    EXPECT_VERDICT(result, ReasonCode::ArchiveCorrupt, Check::EntryRead);
    EXPECT_EQ(result.error().where, kCertificateEntry);
    EXPECT_NE(result.error().message.find("method 12 (bzip2)"), std::string::npos) << result.error().message;

    RawEntry manifest = storedEntry(kManifestEntry, kManifestText);
    manifest.method = 14;
    const auto lzma = read(buildZip(replacing(kManifestEntry, manifest)));
    EXPECT_VERDICT(lzma, ReasonCode::ArchiveCorrupt, Check::EntryRead);
    EXPECT_NE(lzma.error().message.find("method 14"), std::string::npos) << lzma.error().message;
}

TEST(ZipReaderCheck10, KnownEntriesAreReadInContractOrder)
{
    // Both are corrupt; manifest.json is read first, so it is the one named.
    RawEntry manifest = storedEntry(kManifestEntry, kManifestText);
    manifest.crc = 1;
    RawEntry key = storedEntry(kPrivateKeyEntry, kKeyText);
    key.crc = 1;
    std::vector<RawEntry> entries = { key, storedEntry(kCertificateEntry, kCertificateText), manifest };
    const auto result = read(buildZip(entries));
    EXPECT_VERDICT(result, ReasonCode::ArchiveCorrupt, Check::EntryRead);
    EXPECT_EQ(result.error().where, kManifestEntry);
}

} // namespace
} // namespace omni::archive
