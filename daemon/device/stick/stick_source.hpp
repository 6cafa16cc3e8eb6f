#pragma once
// A mounted partition of a stick as the agent's ArchiveSource.
#include <optional>

#include "daemon/device/agent/archive_source.hpp"
#include "daemon/device/stick/partition.hpp"
#include "drivers/udev/stick_monitor.hpp"

namespace omni::stick {

class StickSource final : public agent::ArchiveSource {
public:
    // `mounted` is empty when mounting failed; `mountError` then says why.
    StickSource(const udev::StickEvent& event, Partition* mounted, std::string mountError);

    std::string describe() const override;
    Result<std::vector<verify::DirectoryEntry>> listRoot() override;
    Result<std::string> readFile(const std::string& name) override;
    Result<void> writeReceipt(const std::vector<agent::ReceiptFile>& files) override;
    Result<void> renameArchive(const std::string& from, const std::string& to) override;

    std::optional<std::string> listingWarning() const { return listingWarning_; }

private:
    const udev::StickEvent& event_;
    Partition* mounted_;
    std::string mountError_;
    std::optional<std::string> listingWarning_;
};

std::string portOf(const udev::StickEvent& event);

} // namespace omni::stick
