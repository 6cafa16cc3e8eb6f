#pragma once
// The stick as the stick attempt sees it: partitions that are mounted, read,
// written to for the receipt and unmounted. One real implementation over the
// mount driver; the tests use fakes, so the policy runs without root.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "daemon/core/result.hpp"
#include "drivers/mount/mounted_stick.hpp"
#include "drivers/udev/stick_monitor.hpp"

namespace omni::stick {

// One mounted partition of a stick. Destroying it unmounts it.
class Partition {
public:
    virtual ~Partition() = default;
    virtual Result<mount::RootListing> listRoot() const = 0;
    virtual Result<std::string> readFile(const std::string& name) const = 0;
    virtual Result<void> writeReport(const std::vector<mount::ReportFile>& files) = 0;
    // Renames an entry of the root directory, read-write only for that.
    virtual Result<void> rename(const std::string& from, const std::string& to) = 0;
    virtual Result<mount::UnmountMethod> unmount() = 0;
};

// Mounts the partition a udev event names, read-only.
class Mounter {
public:
    virtual ~Mounter() = default;
    virtual Result<std::unique_ptr<Partition>> mountReadOnly(const udev::StickEvent& event) = 0;
};

// The mount driver's partitions, under runtimeDirectory/media.
class SystemMounter final : public Mounter {
public:
    explicit SystemMounter(std::filesystem::path runtimeDirectory)
        : runtimeDirectory_(std::move(runtimeDirectory))
    {
    }
    Result<std::unique_ptr<Partition>> mountReadOnly(const udev::StickEvent& event) override;

private:
    std::filesystem::path runtimeDirectory_;
};

} // namespace omni::stick
