#pragma once
// RAII owners for the libzip objects the reader and the writer use.
#include <memory>
#include <string>

#include <zip.h>

namespace omni::archive::detail {

struct ZipArchiveDiscarder {
    void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct ZipSourceFreer {
    void operator()(zip_source_t* source) const { zip_source_free(source); }
};
struct ZipFileCloser {
    void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using ZipArchive = std::unique_ptr<zip_t, ZipArchiveDiscarder>;
using ZipSource = std::unique_ptr<zip_source_t, ZipSourceFreer>;
using ZipFile = std::unique_ptr<zip_file_t, ZipFileCloser>;

class ZipError {
public:
    ZipError() { zip_error_init(&error_); }
    ~ZipError() { zip_error_fini(&error_); }
    ZipError(const ZipError&) = delete;
    ZipError& operator=(const ZipError&) = delete;
    zip_error_t* get() { return &error_; }
    std::string text() { return zip_error_strerror(&error_); }

private:
    zip_error_t error_ {};
};

} // namespace omni::archive::detail
