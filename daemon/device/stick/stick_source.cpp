#include "daemon/device/stick/stick_source.hpp"

namespace omni::stick {

std::string portOf(const udev::StickEvent& event)
{
    return event.portSeen ? event.portSeen->describe() : "an unknown port";
}

StickSource::StickSource(const udev::StickEvent& event, Partition* mounted, std::string mountError)
    : event_(event)
    , mounted_(mounted)
    , mountError_(std::move(mountError))
{
}

std::string StickSource::describe() const
{
    return "stick " + event_.kernelName + " (" + event_.filesystemType + ") on " + portOf(event_);
}

Result<std::vector<verify::DirectoryEntry>> StickSource::listRoot()
{
    if (!mounted_)
        return fail(
            ReasonCode::ArchiveNotFound, Check::Found, "the stick could not be mounted: " + mountError_);
    auto listing = mounted_->listRoot();
    if (!listing)
        return tl::unexpected(listing.error());
    if (listing->truncated)
        listingWarning_ = listing->warning;
    std::vector<verify::DirectoryEntry> entries;
    entries.reserve(listing->entries.size());
    for (const auto& entry : listing->entries)
        entries.push_back({ entry.name, entry.isRegularFile, entry.size });
    return entries;
}

Result<std::string> StickSource::readFile(const std::string& name)
{
    if (!mounted_)
        return fail(ReasonCode::ArchiveNotFound, Check::Found, "the stick is not mounted");
    auto content = mounted_->readFile(name);
    // An I/O error on a stick (pulled out, failing flash) is the archive's
    // problem to report, not a fault of the device.
    if (!content && content.error().reason == ReasonCode::InternalError)
        return fail(ReasonCode::ArchiveCorrupt, Check::ZipDirectory,
            "'" + name
                + "' could not be read from the stick (was it pulled out?): " + content.error().message);
    return content;
}

Result<void> StickSource::writeReceipt(const std::vector<agent::ReceiptFile>& files)
{
    if (!mounted_)
        return fail(ReasonCode::InternalError, Check::None, "the stick is not mounted");
    std::vector<mount::ReportFile> reports;
    for (const auto& file : files)
        reports.push_back({ file.name, file.content });
    return mounted_->writeReport(reports);
}

Result<void> StickSource::renameArchive(const std::string& from, const std::string& to)
{
    if (!mounted_)
        return fail(ReasonCode::InternalError, Check::None, "the stick is not mounted");
    return mounted_->rename(from, to);
}

} // namespace omni::stick
