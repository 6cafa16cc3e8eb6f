#include "daemon/device/agent/trust_store.hpp"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>

#include "drivers/fs/files.hpp"

namespace omni::agent {
namespace {

constexpr std::uint64_t kMaxAnchorBytes = 1024 * 1024;

const std::string kInstallAdvice
    = "install the root certificate of your provisioning CA (root.pem from 'omni-provision ca init') there";

} // namespace

bool TrustStore::Stamp::operator==(const Stamp& other) const
{
    return error == other.error && device == other.device && inode == other.inode && size == other.size
        && modified.tv_sec == other.modified.tv_sec && modified.tv_nsec == other.modified.tv_nsec
        && changed.tv_sec == other.changed.tv_sec && changed.tv_nsec == other.changed.tv_nsec;
}

TrustStore::TrustStore(std::vector<std::filesystem::path> files)
    : files_(std::move(files))
{
}

std::vector<TrustStore::Stamp> TrustStore::look() const
{
    std::vector<Stamp> stamps;
    stamps.reserve(files_.size());
    for (const auto& file : files_) {
        Stamp stamp;
        struct stat status { };
        if (::stat(file.c_str(), &status) != 0) {
            stamp.error = errno;
        } else {
            stamp.device = status.st_dev;
            stamp.inode = status.st_ino;
            stamp.size = status.st_size;
            stamp.modified = status.st_mtim;
            stamp.changed = status.st_ctim;
        }
        stamps.push_back(stamp);
    }
    return stamps;
}

bool TrustStore::refresh()
{
    auto stamps = look();
    if (stamps_ && *stamps_ == stamps)
        return false;
    stamps_ = std::move(stamps);
    load();
    return true;
}

void TrustStore::load()
{
    anchors_.reset();
    problem_.clear();
    if (files_.empty()) {
        problem_ = "no trust anchor configured: list the root certificate of your provisioning CA in "
                   "trust.anchors";
        return;
    }
    std::vector<std::pair<std::string, std::string>> texts;
    for (const auto& file : files_) {
        auto text = state::readRegularFile(file, kMaxAnchorBytes);
        if (!text) {
            problem_ = text.error().problem == state::FileProblem::NotFound
                ? "no trust anchor installed: install the root certificate of your provisioning CA at "
                    + file.string() + " (trust.anchors)"
                : "trust anchor " + file.string() + " (trust.anchors) is unusable: " + text.error().message
                    + "; " + kInstallAdvice;
            return;
        }
        texts.emplace_back(file.string(), std::move(*text));
    }
    auto anchors = trust::TrustAnchors::fromPem(texts);
    if (!anchors) {
        problem_ = anchors.error().message + " (trust.anchors); " + kInstallAdvice;
        return;
    }
    anchors_ = std::move(*anchors);
}

} // namespace omni::agent
