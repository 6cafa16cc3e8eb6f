#include "daemon/device/stick/partition.hpp"

namespace omni::stick {
namespace {

class MountedPartition final : public Partition {
public:
    explicit MountedPartition(mount::MountedStick stick)
        : stick_(std::move(stick))
    {
    }
    Result<mount::RootListing> listRoot() const override { return stick_.listRoot(); }
    Result<std::string> readFile(const std::string& name) const override { return stick_.readFile(name); }
    Result<void> writeReport(const std::vector<mount::ReportFile>& files) override
    {
        return stick_.writeReport(files);
    }
    Result<void> rename(const std::string& from, const std::string& to) override
    {
        auto window = stick_.openForWriting();
        if (!window)
            return tl::unexpected(window.error());
        if (auto renamed = window->rename(from, to); !renamed)
            return renamed;
        return window->close();
    }
    Result<mount::UnmountMethod> unmount() override { return stick_.unmount(); }

private:
    mount::MountedStick stick_;
};

} // namespace

Result<std::unique_ptr<Partition>> SystemMounter::mountReadOnly(const udev::StickEvent& event)
{
    auto mounted = mount::MountedStick::mountReadOnly(
        event.devnode, event.kernelName, event.filesystemType, runtimeDirectory_);
    if (!mounted)
        return tl::unexpected(mounted.error());
    return std::unique_ptr<Partition>(std::make_unique<MountedPartition>(std::move(*mounted)));
}

} // namespace omni::stick
