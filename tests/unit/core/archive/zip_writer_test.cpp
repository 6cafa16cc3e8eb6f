// writeArchive: a deflate ZIP of regular 0600 files at the root, in order,
// that readArchive accepts, with bytes that do not depend on when or where
// it was written.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zip.h>

#include "daemon/core/archive/zip_reader.hpp"
#include "daemon/core/archive/zip_writer.hpp"

namespace omni::archive {
namespace {

struct ZipDiscarder {
    void operator()(zip_t* archive) const { zip_discard(archive); }
};
using ZipArchive = std::unique_ptr<zip_t, ZipDiscarder>;

// Opens the bytes with libzip directly, to inspect what the writer produced.
ZipArchive openWithLibzip(const std::string& bytes)
{
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    zip_t* archive
        = source == nullptr ? nullptr : zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
    if (archive == nullptr) {
        zip_source_free(source);
    }
    zip_error_fini(&error);
    return ZipArchive(archive);
}

std::vector<ArchiveFile> sampleFiles()
{
    return { { kManifestEntry, R"({"FormatVersion": 1})" }, { kCertificateEntry, "certificate text\n" },
        { kPrivateKeyEntry, "key placeholder\n" }, { kChainEntry, "chain text\n" } };
}

std::string randomText(std::size_t size, unsigned seed)
{
    std::mt19937 generator(seed);
    std::string text(size, '\0');
    for (char& c : text) {
        c = static_cast<char>(generator() & 0xffu);
    }
    return text;
}

TEST(ZipWriter, ProducesEntriesInOrderDeflatedAsRegular0600Files)
{
    const auto bytes = writeArchive(sampleFiles());
    ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
    const ZipArchive archive = openWithLibzip(*bytes);
    ASSERT_NE(archive, nullptr);
    const auto files = sampleFiles();
    ASSERT_EQ(zip_get_num_entries(archive.get(), 0), static_cast<zip_int64_t>(files.size()));
    for (std::size_t i = 0; i < files.size(); ++i) {
        zip_stat_t stat;
        ASSERT_EQ(zip_stat_index(archive.get(), i, ZIP_FL_ENC_RAW, &stat), 0);
        EXPECT_EQ(std::string(stat.name), files[i].name);
        EXPECT_EQ(stat.size, files[i].content.size());
        EXPECT_EQ(stat.comp_method, ZIP_CM_DEFLATE) << files[i].name;
        EXPECT_EQ(stat.encryption_method, ZIP_EM_NONE);
        zip_uint8_t host = 0;
        zip_uint32_t attributes = 0;
        ASSERT_EQ(zip_file_get_external_attributes(archive.get(), i, 0, &host, &attributes), 0);
        EXPECT_EQ(host, ZIP_OPSYS_UNIX);
        EXPECT_EQ(attributes >> 16, 0100600u) << std::oct << (attributes >> 16);
    }
}

TEST(ZipWriter, RoundTripsLargeAndBinaryContent)
{
    std::vector<ArchiveFile> files = sampleFiles();
    files[0].content = randomText(200 * 1024, 1);
    files[2].content = std::string("nul\0inside", 10);
    files.push_back({ "notes.txt", "" });
    const auto bytes = writeArchive(files);
    ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
    const auto entries
        = readArchive(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
    ASSERT_TRUE(entries.has_value()) << entries.error().message;
    EXPECT_EQ(entries->manifest, files[0].content);
    EXPECT_EQ(entries->certificate, files[1].content);
    EXPECT_EQ(entries->privateKey, files[2].content);
    EXPECT_EQ(entries->chain, files[3].content);
}

TEST(ZipWriter, IsDeterministicAcrossCallsAndTimeZones)
{
    const char* previous = std::getenv("TZ");
    const std::string saved = previous != nullptr ? previous : "";
    setenv("TZ", "UTC", 1);
    tzset();
    const auto utc = writeArchive(sampleFiles());
    const auto utcAgain = writeArchive(sampleFiles());
    setenv("TZ", "America/St_Johns", 1); // an offset that is not whole hours
    tzset();
    const auto newfoundland = writeArchive(sampleFiles());
    if (previous != nullptr) {
        setenv("TZ", saved.c_str(), 1);
    } else {
        unsetenv("TZ");
    }
    tzset();
    ASSERT_TRUE(utc.has_value() && utcAgain.has_value() && newfoundland.has_value());
    EXPECT_EQ(*utc, *utcAgain);
    EXPECT_EQ(*utc, *newfoundland);
}

TEST(ZipWriter, EmptyListGivesAnArchiveWithoutEntries)
{
    const auto bytes = writeArchive({});
    ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
    const ZipArchive archive = openWithLibzip(*bytes);
    ASSERT_NE(archive, nullptr);
    EXPECT_EQ(zip_get_num_entries(archive.get(), 0), 0);
}

TEST(ZipWriter, RefusesNamesThatAreNotAtTheRoot)
{
    for (const std::string& name : std::vector<std::string> { "../x", "a/b", "/abs", "a\\b", "./x", "" }) {
        const auto bytes = writeArchive({ { name, "content" } });
        ASSERT_FALSE(bytes.has_value()) << "accepted '" << name << "'";
        EXPECT_EQ(bytes.error().reason, ReasonCode::InternalError);
    }
    const auto nul = writeArchive({ { std::string("a\0b", 3), "content" } });
    EXPECT_FALSE(nul.has_value());
}

TEST(ZipWriter, RefusesTheSameNameTwice)
{
    const auto bytes = writeArchive({ { "a", "1" }, { "a", "2" } });
    ASSERT_FALSE(bytes.has_value());
    EXPECT_NE(bytes.error().message.find("'a'"), std::string::npos) << bytes.error().message;
}

} // namespace
} // namespace omni::archive
