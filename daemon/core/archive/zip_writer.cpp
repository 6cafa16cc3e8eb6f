#include "daemon/core/archive/zip_writer.hpp"

#include <array>
#include <ctime>
#include <memory>
#include <set>

#include <zip.h>

#include "daemon/core/archive/libzip_types.hpp"

#include "daemon/core/archive/entry_name.hpp"

namespace omni::archive {
namespace {

using detail::ZipArchive;
using detail::ZipError;
using detail::ZipSource;

// Closes a source opened for reading, whatever happens while reading it.
class OpenedSource {
public:
    explicit OpenedSource(zip_source_t* source)
        : source_(source)
    {
    }
    ~OpenedSource() { zip_source_close(source_); }
    OpenedSource(const OpenedSource&) = delete;
    OpenedSource& operator=(const OpenedSource&) = delete;

private:
    zip_source_t* source_;
};

constexpr zip_uint32_t kRegularFile0600 = 0100600u << 16;
// Just an end-of-central-directory record: no entries, no comment.
constexpr std::array<char, 22> kEmptyArchive = { 'P', 'K', 5, 6 };

tl::unexpected<Error> writeFailure(const std::string& what)
{
    return fail(ReasonCode::InternalError, Check::None, "writing the archive failed: " + what);
}

// libzip stores only the MS-DOS date and time, which it derives from a time_t
// through localtime(). A time_t made by mktime() from fixed local fields
// converts back to those same fields, so the archive bytes do not depend on
// the time zone of the machine that writes them.
time_t fixedModificationTime()
{
    std::tm fields {};
    fields.tm_year = 2020 - 1900;
    fields.tm_mon = 0;
    fields.tm_mday = 1;
    fields.tm_hour = 0;
    fields.tm_isdst = -1;
    return std::mktime(&fields);
}

Result<void> checkNames(const std::vector<ArchiveFile>& files)
{
    std::set<std::string> seen;
    for (const ArchiveFile& file : files) {
        const std::string shown = detail::printableEntryName(file.name);
        if (auto problem = detail::entryNameProblem(file.name)) {
            return fail(ReasonCode::InternalError, Check::None,
                "cannot write entry '" + shown + "': it " + *problem, shown);
        }
        if (!seen.insert(file.name).second) {
            return fail(
                ReasonCode::InternalError, Check::None, "cannot write entry '" + shown + "' twice", shown);
        }
    }
    return {};
}

Result<std::string> readBack(zip_source_t* source)
{
    if (zip_source_open(source) != 0) {
        return writeFailure(zip_error_strerror(zip_source_error(source)));
    }
    const OpenedSource opened(source);
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_source_stat(source, &stat) != 0 || (stat.valid & ZIP_STAT_SIZE) == 0) {
        return writeFailure(zip_error_strerror(zip_source_error(source)));
    }
    std::string bytes(static_cast<std::size_t>(stat.size), '\0');
    std::size_t filled = 0;
    while (filled < bytes.size()) {
        const zip_int64_t got = zip_source_read(source, bytes.data() + filled, bytes.size() - filled);
        if (got <= 0) {
            return writeFailure("the written archive cannot be read back");
        }
        filled += static_cast<std::size_t>(got);
    }
    return bytes;
}

} // namespace

Result<std::string> writeArchive(const std::vector<ArchiveFile>& files)
{
    try {
        if (auto names = checkNames(files); !names) {
            return tl::unexpected(std::move(names.error()));
        }
        if (files.empty()) {
            // libzip removes an archive left without entries instead of writing it.
            return std::string(kEmptyArchive.data(), kEmptyArchive.size());
        }
        ZipError error;
        ZipSource target(zip_source_buffer_create(nullptr, 0, 0, error.get()));
        if (!target) {
            return writeFailure(error.text());
        }
        ZipArchive archive(zip_open_from_source(target.get(), ZIP_TRUNCATE | ZIP_CREATE, error.get()));
        if (!archive) {
            return writeFailure(error.text());
        }
        // The archive releases its reference on close; ours keeps the bytes.
        zip_source_keep(target.get());

        const time_t modified = fixedModificationTime();
        for (const ArchiveFile& file : files) {
            // The content is not copied: `files` outlives zip_close below.
            zip_source_t* content
                = zip_source_buffer(archive.get(), file.content.data(), file.content.size(), 0);
            if (content == nullptr) {
                return writeFailure(zip_strerror(archive.get()));
            }
            const zip_int64_t index
                = zip_file_add(archive.get(), file.name.c_str(), content, ZIP_FL_ENC_UTF_8);
            if (index < 0) {
                zip_source_free(content);
                return writeFailure("adding '" + file.name + "': " + zip_strerror(archive.get()));
            }
            const auto entry = static_cast<zip_uint64_t>(index);
            if (zip_set_file_compression(archive.get(), entry, ZIP_CM_DEFLATE, 9) != 0
                || zip_file_set_external_attributes(archive.get(), entry, 0, ZIP_OPSYS_UNIX, kRegularFile0600)
                    != 0
                || zip_file_set_mtime(archive.get(), entry, modified, 0) != 0) {
                return writeFailure("setting up '" + file.name + "': " + zip_strerror(archive.get()));
            }
        }
        if (zip_close(archive.get()) != 0) {
            return writeFailure(zip_strerror(archive.get()));
        }
        static_cast<void>(archive.release()); // zip_close freed it
        return readBack(target.get());
    } catch (const std::exception& error) {
        return writeFailure(error.what());
    }
}

} // namespace omni::archive
