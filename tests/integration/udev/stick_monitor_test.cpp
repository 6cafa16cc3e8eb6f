// The udev driver against umockdev test beds: a fake xHCI controller with a
// USB 2 and a USB 3 root hub whose ports are paired crosswise (SuperSpeed
// port 1 <-> High-Speed port 3, ...), so "usb-0:1" names two different
// physical connectors, as on real controllers. Runs under umockdev's preload
// library (meson sets LD_PRELOAD); exits 77 without it.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <poll.h>
#include <umockdev.h>

#include "drivers/udev/stick_monitor.hpp"

namespace omni::udev {
namespace {

const std::string kControllerSyspath = "/sys/devices/pci0000:00/0000:00:14.0";
const std::string kConnector = "pci-0000:00:14.0-usb-0:1";

struct Volume {
    std::string filesystem; // empty: none recognised
    std::string label;
};

// One SCSI logical unit of a USB mass-storage device: a whole-disk
// filesystem, or a partition table with partitions.
struct Lun {
    std::optional<Volume> wholeDisk;
    std::string partitionTable;
    std::vector<Volume> partitions;
};

struct UsbStick {
    int bus = 2;
    int port = 1;
    unsigned speed = 5000;
    std::vector<Lun> luns;
};

struct BlockNode {
    std::string syspath;
    std::string kernelName;
};

// A test bed with the controller of fixtures/xhci-controller.umockdev and
// sticks written as umockdev records (P:/E:/A: lines) in code.
class MockSystem {
public:
    explicit MockSystem(bool pairPorts = true)
        : testbed_(umockdev_testbed_new())
    {
        GError* error = nullptr;
        const std::string fixture = std::string(OMNI_UDEV_FIXTURES) + "/xhci-controller.umockdev";
        if (!umockdev_testbed_add_from_file(testbed_, fixture.c_str(), &error)) {
            ADD_FAILURE() << "loading " << fixture << ": " << (error ? error->message : "unknown error");
            g_clear_error(&error);
        }
        for (int port = 1; port <= 4; ++port) {
            // SuperSpeed port N is wired to High-Speed port ((N + 1) % 4) + 1.
            const int companion = (port + 1) % 4 + 1;
            addPort(2, port, pairPorts ? companion : 0);
            addPort(1, companion, pairPorts ? port : 0);
        }
    }
    ~MockSystem() { g_object_unref(testbed_); }
    MockSystem(const MockSystem&) = delete;
    MockSystem& operator=(const MockSystem&) = delete;

    // Adds a stick's device records; returns its block devices in the order
    // the kernel announces them (disk, then its partitions).
    std::vector<BlockNode> plug(const UsbStick& stick)
    {
        const int host = nextHost_++;
        const std::string usbName = std::to_string(stick.bus) + "-" + std::to_string(stick.port);
        const std::string usbPath
            = "/devices/pci0000:00/0000:00:14.0/usb" + std::to_string(stick.bus) + "/" + usbName;
        const std::string interfacePath = usbPath + "/" + usbName + ":1.0";
        const std::string hostPath = interfacePath + "/host" + std::to_string(host);
        const std::string targetPath = hostPath + "/target" + std::to_string(host) + ":0:0";

        std::string records = "P: " + usbPath
            + "\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\nE: PRODUCT=951/1666/1\n"
              "A: speed="
            + std::to_string(stick.speed) + "\nA: busnum=" + std::to_string(stick.bus)
            + "\nA: devpath=" + std::to_string(stick.port)
            + "\nA: idVendor=0951\nA: idProduct=1666\nA: manufacturer=Kingston\n"
              "A: product=DataTraveler 3.0\n\n";
        records += "P: " + interfacePath
            + "\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_interface\nE: DRIVER=usb-storage\nA: "
              "bInterfaceClass=08\n\n";
        records += "P: " + hostPath + "\nE: SUBSYSTEM=scsi\nE: DEVTYPE=scsi_host\n\n";

        std::vector<BlockNode> blocks;
        for (std::size_t lun = 0; lun < stick.luns.size(); ++lun) {
            const Lun& unit = stick.luns[lun];
            const std::string scsiName = std::to_string(host) + ":0:0:" + std::to_string(lun);
            const std::string diskName = std::string("sd") + nextDiskLetter_++;
            const std::string idPath = "pci-0000:00:14.0-usb-0:" + std::to_string(stick.port)
                + ":1.0-scsi-0:0:0:" + std::to_string(lun);
            const std::string devicePath = targetPath + "/" + scsiName;
            const std::string diskPath = devicePath + "/block/" + diskName;
            records += "P: " + devicePath + "\nE: SUBSYSTEM=scsi\nE: DEVTYPE=scsi_device\nE: DRIVER=sd\n\n";
            records += blockRecord(diskPath, diskName, "disk", idPath, unit.wholeDisk, unit.partitionTable);
            blocks.push_back({ "/sys" + diskPath, diskName });
            for (std::size_t number = 1; number <= unit.partitions.size(); ++number) {
                const std::string partitionName = diskName + std::to_string(number);
                const std::string partitionPath = diskPath + "/" + partitionName;
                records += blockRecord(
                    partitionPath, partitionName, "partition", idPath, unit.partitions[number - 1], {});
                blocks.push_back({ "/sys" + partitionPath, partitionName });
            }
        }

        add(records);
        return blocks;
    }

    // Sticks plugged after this look as udev sees them before its rules ran.
    void notYetProbed() { probed_ = false; }

    void add(const std::string& records)
    {
        GError* error = nullptr;
        if (!umockdev_testbed_add_from_string(testbed_, records.c_str(), &error)) {
            ADD_FAILURE() << "adding devices: " << (error ? error->message : "unknown error") << "\n"
                          << records;
            g_clear_error(&error);
        }
    }

    void announce(const std::vector<BlockNode>& blocks, const char* action)
    {
        for (const auto& block : blocks)
            umockdev_testbed_uevent(testbed_, block.syspath.c_str(), action);
    }

    void setProperty(const BlockNode& block, const char* name, const char* value)
    {
        umockdev_testbed_set_property(testbed_, block.syspath.c_str(), name, value);
    }
    void setAttribute(const BlockNode& block, const char* name, const char* value)
    {
        umockdev_testbed_set_attribute(testbed_, block.syspath.c_str(), name, value);
    }

private:
    // Port devices have no subsystem (umockdev records need one), so they
    // are made as plain directories and links in the test bed's sysfs.
    void addPort(int bus, int port, int peerPort)
    {
        gchar* root = umockdev_testbed_get_root_dir(testbed_);
        const std::string busText = std::to_string(bus);
        const std::filesystem::path directory = std::filesystem::path(root)
            / ("sys" + kControllerSyspath.substr(4)) / ("usb" + busText) / (busText + "-0:1.0")
            / ("usb" + busText + "-port" + std::to_string(port));
        g_free(root);
        std::filesystem::create_directories(directory);
        if (peerPort != 0) {
            const std::string peerBus = bus == 1 ? "2" : "1";
            std::filesystem::create_symlink("../../../usb" + peerBus + "/" + peerBus + "-0:1.0/usb" + peerBus
                    + "-port" + std::to_string(peerPort),
                directory / "peer");
        }
    }

    std::string blockRecord(const std::string& path, const std::string& name, const std::string& devtype,
        const std::string& idPath, const std::optional<Volume>& volume, const std::string& partitionTable)
    {
        std::string record = "P: " + path + "\nE: SUBSYSTEM=block\nE: DEVTYPE=" + devtype
            + "\nE: DEVNAME=/dev/" + name
            + "\nE: ID_BUS=usb\nE: ID_VENDOR=Kingston\nE: ID_MODEL=DataTraveler_3.0\n"
            + "E: ID_PATH=" + idPath + "\n";
        // What udev's database adds once it has probed the device.
        if (probed_)
            record += "E: USEC_INITIALIZED=" + std::to_string(1'000'000 + nextMinor_) + "\n";
        if (volume && !volume->filesystem.empty())
            record += "E: ID_FS_TYPE=" + volume->filesystem + "\nE: ID_FS_USAGE=filesystem\n";
        if (volume && !volume->label.empty())
            record += "E: ID_FS_LABEL=" + volume->label + "\n";
        if (!partitionTable.empty())
            record += "E: ID_PART_TABLE_TYPE=" + partitionTable + "\n";
        record += "A: size=7864320\nA: dev=8:" + std::to_string(nextMinor_++) + "\n\n";
        return record;
    }

    UMockdevTestbed* testbed_;
    bool probed_ = true;
    int nextHost_ = 6;
    char nextDiskLetter_ = 'b';
    int nextMinor_ = 16;
};

StickMonitor openMonitor(bool requireSuperSpeed = false, std::string connector = kConnector)
{
    StickPolicy policy;
    policy.connectorIdPath = std::move(connector);
    policy.requireSuperSpeed = requireSuperSpeed;
    auto monitor = StickMonitor::open(policy);
    if (!monitor) {
        ADD_FAILURE() << monitor.error().message;
        std::abort();
    }
    return std::move(*monitor);
}

// umockdev delivers a uevent synchronously into the monitor's socket, so
// after announce() the events are waiting: drain() sees them without delay.
std::vector<StickEvent> waitingEvents(StickMonitor& monitor)
{
    pollfd readable { monitor.fd(), POLLIN, 0 };
    EXPECT_EQ(::poll(&readable, 1, 0), 1) << "the monitor fd should be readable";
    return monitor.drain();
}

const Lun kPartitioned { std::nullopt, "dos", { Volume { "vfat", "PROVISION" } } };
const Lun kWholeDisk { Volume { "vfat", "PROVISION" }, "", {} };

TEST(StickMonitor, SuperSpeedPortAccepted)
{
    MockSystem system;
    StickMonitor monitor = openMonitor();
    const auto blocks = system.plug(UsbStick { 2, 1, 5000, { kPartitioned } });
    system.announce(blocks, "add");

    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u) << "the partition table itself raises no event";
    const StickEvent& event = events[0];
    EXPECT_EQ(event.action, StickAction::Add);
    EXPECT_EQ(event.disposition, Disposition::Accepted) << event.reason;
    EXPECT_EQ(event.devnode, "/dev/sdb1");
    EXPECT_EQ(event.kernelName, "sdb1");
    EXPECT_EQ(event.filesystemType, "vfat");
    EXPECT_EQ(event.usbSpeedMbps, 5000u);
    EXPECT_EQ(event.role, PortRole::SuperSpeedPort);
    EXPECT_TRUE(event.onConfiguredConnector);
    EXPECT_FALSE(event.onHighSpeedCompanion);
    ASSERT_TRUE(event.portSeen);
    EXPECT_EQ(event.portSeen->describe(), "pci-0000:00:14.0-usb-0:1 on the USB 3 root hub");
    EXPECT_TRUE(event.warning.empty()) << event.warning;
    EXPECT_EQ(
        event.description, "Kingston DataTraveler 3.0, partition sdb1 (vfat, label PROVISION), 5000 Mbit/s");
}

TEST(StickMonitor, HighSpeedCompanionAcceptedWithWarning)
{
    MockSystem system;
    StickMonitor monitor = openMonitor();
    // SuperSpeed port 1 is paired with High-Speed port 3.
    system.announce(system.plug(UsbStick { 1, 3, 480, { kPartitioned } }), "add");

    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].disposition, Disposition::Accepted) << events[0].reason;
    EXPECT_EQ(events[0].role, PortRole::HighSpeedCompanion);
    EXPECT_TRUE(events[0].onConfiguredConnector);
    EXPECT_TRUE(events[0].onHighSpeedCompanion);
    EXPECT_EQ(events[0].usbSpeedMbps, 480u);
    EXPECT_NE(events[0].warning.find("480 Mbit/s"), std::string::npos) << events[0].warning;
}

TEST(StickMonitor, HighSpeedCompanionRefusedWhenSuperSpeedRequired)
{
    MockSystem system;
    StickMonitor monitor = openMonitor(true);
    system.announce(system.plug(UsbStick { 1, 3, 480, { kPartitioned } }), "add");

    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].disposition, Disposition::Ignored);
    EXPECT_EQ(events[0].role, PortRole::HighSpeedCompanion);
    EXPECT_NE(events[0].reason.find("require_superspeed"), std::string::npos) << events[0].reason;
}

TEST(StickMonitor, OtherPortIgnoredNamingBothPorts)
{
    MockSystem system;
    StickMonitor monitor = openMonitor();
    system.announce(system.plug(UsbStick { 2, 2, 5000, { kPartitioned } }), "add");

    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].disposition, Disposition::Ignored);
    EXPECT_EQ(events[0].role, PortRole::OtherPort);
    EXPECT_FALSE(events[0].onConfiguredConnector);
    const std::string& reason = events[0].reason;
    EXPECT_NE(reason.find("pci-0000:00:14.0-usb-0:2 on the USB 3 root hub"), std::string::npos) << reason;
    EXPECT_NE(reason.find("pci-0000:00:14.0-usb-0:1 on the USB 3 root hub"), std::string::npos) << reason;
    EXPECT_NE(reason.find("pci-0000:00:14.0-usb-0:3 on the USB 2 root hub"), std::string::npos) << reason;
}

// High-Speed port 1 has the configured ID_PATH text, but it is wired to
// SuperSpeed port 3: another physical connector.
TEST(StickMonitor, SamePortNumberOnUsb2RootHubIsAnotherConnector)
{
    MockSystem system;
    StickMonitor monitor = openMonitor();
    system.announce(system.plug(UsbStick { 1, 1, 480, { kPartitioned } }), "add");

    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].disposition, Disposition::Ignored);
    EXPECT_EQ(events[0].role, PortRole::OtherPort);
    EXPECT_NE(events[0].reason.find("pci-0000:00:14.0-usb-0:1 on the USB 2 root hub"), std::string::npos)
        << events[0].reason;
}

TEST(StickMonitor, UnpairedPortExplainsTheUnknownCompanion)
{
    MockSystem system(false);
    StickMonitor monitor = openMonitor();
    system.announce(system.plug(UsbStick { 1, 3, 480, { kPartitioned } }), "add");

    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].disposition, Disposition::Ignored);
    EXPECT_NE(events[0].reason.find("paired no USB 2 port"), std::string::npos) << events[0].reason;
    EXPECT_NE(events[0].reason.find("usb2-port1/peer"), std::string::npos) << events[0].reason;
}

TEST(StickMonitor, WholeDiskFilesystemAccepted)
{
    MockSystem system;
    StickMonitor monitor = openMonitor();
    system.announce(system.plug(UsbStick { 2, 1, 5000, { kWholeDisk } }), "add");

    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].disposition, Disposition::Accepted) << events[0].reason;
    EXPECT_EQ(events[0].devnode, "/dev/sdb");
    EXPECT_EQ(
        events[0].description, "Kingston DataTraveler 3.0, disk sdb (vfat, label PROVISION), 5000 Mbit/s");
}

TEST(StickMonitor, PartitionsJudgedOneByOne)
{
    MockSystem system;
    StickMonitor monitor = openMonitor();
    const Lun mixed { std::nullopt, "gpt",
        { Volume { "ntfs", "DATA" }, Volume { "exfat", "PROVISION" }, Volume { "", "" } } };
    system.announce(system.plug(UsbStick { 2, 1, 5000, { mixed } }), "add");

    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].kernelName, "sdb1");
    EXPECT_EQ(events[0].disposition, Disposition::Ignored);
    EXPECT_NE(events[0].reason.find("'ntfs'"), std::string::npos) << events[0].reason;
    EXPECT_EQ(events[1].kernelName, "sdb2");
    EXPECT_EQ(events[1].disposition, Disposition::Accepted) << events[1].reason;
    EXPECT_EQ(events[1].filesystemType, "exfat");
    EXPECT_EQ(events[2].kernelName, "sdb3");
    EXPECT_EQ(events[2].disposition, Disposition::Ignored);
    EXPECT_NE(events[2].reason.find("no filesystem"), std::string::npos) << events[2].reason;
}

TEST(StickMonitor, CardReaderWithTwoLuns)
{
    MockSystem system;
    StickMonitor monitor = openMonitor();
    const Lun secondSlot { std::nullopt, "dos", { Volume { "exfat", "SD" } } };
    const auto blocks = system.plug(UsbStick { 2, 1, 5000, { kWholeDisk, secondSlot } });
    ASSERT_EQ(blocks.size(), 3u);
    system.announce(blocks, "add");

    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].devnode, "/dev/sdb");
    EXPECT_EQ(events[1].devnode, "/dev/sdc1");
    for (const auto& event : events) {
        EXPECT_EQ(event.disposition, Disposition::Accepted) << event.reason;
        EXPECT_EQ(event.role, PortRole::SuperSpeedPort);
    }
    EXPECT_NE(events[0].syspath, events[1].syspath);
}

TEST(StickMonitor, RemoveReportsWhatWasAdded)
{
    MockSystem system;
    StickMonitor monitor = openMonitor();
    const auto blocks = system.plug(UsbStick { 2, 1, 5000, { kPartitioned } });
    system.announce(blocks, "add");
    const auto added = waitingEvents(monitor);
    ASSERT_EQ(added.size(), 1u);

    // The kernel removes partitions before their disk.
    system.announce({ blocks[1], blocks[0] }, "remove");
    const auto removed = waitingEvents(monitor);
    ASSERT_EQ(removed.size(), 1u) << "the disk was never reported, so its removal is not either";
    EXPECT_EQ(removed[0].action, StickAction::Remove);
    EXPECT_EQ(removed[0].devnode, "/dev/sdb1");
    EXPECT_EQ(removed[0].syspath, added[0].syspath);
    EXPECT_EQ(removed[0].disposition, Disposition::Accepted);
    EXPECT_EQ(removed[0].role, PortRole::SuperSpeedPort);

    system.announce({ blocks[1] }, "remove");
    EXPECT_TRUE(monitor.drain().empty()) << "a second remove reports nothing";
}

TEST(StickMonitor, MediumTakenOutOfCardReaderIsARemove)
{
    MockSystem system;
    StickMonitor monitor = openMonitor();
    const auto blocks = system.plug(UsbStick { 2, 1, 5000, { kWholeDisk } });
    system.announce(blocks, "add");
    ASSERT_EQ(waitingEvents(monitor).size(), 1u);

    system.setAttribute(blocks[0], "size", "0");
    system.setProperty(blocks[0], "ID_FS_TYPE", "");
    system.announce(blocks, "change");
    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].action, StickAction::Remove);
    EXPECT_EQ(events[0].devnode, "/dev/sdb");

    system.setAttribute(blocks[0], "size", "7864320");
    system.setProperty(blocks[0], "ID_FS_TYPE", "vfat");
    system.announce(blocks, "change");
    const auto reinserted = waitingEvents(monitor);
    ASSERT_EQ(reinserted.size(), 1u);
    EXPECT_EQ(reinserted[0].action, StickAction::Add);
    EXPECT_EQ(reinserted[0].disposition, Disposition::Accepted) << reinserted[0].reason;
}

TEST(StickMonitor, StickPresentAtStartIsFoundByEnumeration)
{
    MockSystem system;
    const auto blocks = system.plug(UsbStick { 2, 1, 5000, { kPartitioned } });
    system.plug(UsbStick { 2, 2, 5000, { kWholeDisk } });
    StickMonitor monitor = openMonitor();

    const auto existing = monitor.enumerateExisting();
    ASSERT_TRUE(existing) << existing.error().message;
    ASSERT_EQ(existing->size(), 2u);
    const StickEvent* accepted = nullptr;
    for (const auto& event : *existing)
        if (event.disposition == Disposition::Accepted)
            accepted = &event;
    ASSERT_NE(accepted, nullptr);
    EXPECT_EQ(accepted->devnode, "/dev/sdb1");
    EXPECT_EQ(accepted->action, StickAction::Add);

    // udev's own "add" arriving after the enumeration is not a second stick.
    system.announce(blocks, "add");
    EXPECT_TRUE(monitor.drain().empty());
    const auto again = monitor.enumerateExisting();
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->empty());
}

TEST(StickMonitor, EnumerationLeavesUnprobedDevicesToTheMonitor)
{
    MockSystem system;
    system.notYetProbed();
    const auto blocks = system.plug(UsbStick { 2, 1, 5000, { kWholeDisk } });
    StickMonitor monitor = openMonitor();

    const auto existing = monitor.enumerateExisting();
    ASSERT_TRUE(existing) << existing.error().message;
    EXPECT_TRUE(existing->empty());

    system.announce(blocks, "add");
    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].disposition, Disposition::Accepted) << events[0].reason;
}

TEST(StickMonitor, NonUsbBlockDevicesRaiseNoEvent)
{
    MockSystem system;
    const std::vector<BlockNode> others {
        { "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda", "sda" },
        { "/sys/devices/virtual/block/loop0", "loop0" }
    };
    system.add("P: /devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda\n"
               "E: SUBSYSTEM=block\nE: DEVTYPE=disk\nE: DEVNAME=/dev/sda\nE: ID_PATH=pci-0000:00:17.0-ata-1\n"
               "E: ID_FS_TYPE=vfat\nA: size=1000\nA: dev=8:0\n\n"
               "P: /devices/virtual/block/loop0\n"
               "E: SUBSYSTEM=block\nE: DEVTYPE=disk\nE: DEVNAME=/dev/loop0\nE: ID_FS_TYPE=vfat\n"
               "A: size=1000\nA: dev=7:0\n");
    StickMonitor monitor = openMonitor();

    const auto existing = monitor.enumerateExisting();
    ASSERT_TRUE(existing) << existing.error().message;
    EXPECT_TRUE(existing->empty());
    system.announce(others, "add");
    EXPECT_TRUE(waitingEvents(monitor).empty());
}

std::size_t openFdCount()
{
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
        ++count;
    return count;
}

TEST(StickMonitor, PlugCyclesLeakNoFd)
{
    MockSystem system;
    StickMonitor monitor = openMonitor();
    const auto blocks = system.plug(UsbStick { 2, 1, 5000, { kPartitioned } });
    auto cycle = [&] {
        system.announce(blocks, "add");
        ASSERT_EQ(waitingEvents(monitor).size(), 1u);
        system.announce({ blocks[1], blocks[0] }, "remove");
        ASSERT_EQ(waitingEvents(monitor).size(), 1u);
    };
    cycle();
    const std::size_t before = openFdCount();
    for (int i = 0; i < 50; ++i)
        cycle();
    EXPECT_EQ(openFdCount(), before);
}

// usb.connector_id_path "": a stick on any port is a candidate, and its
// port is still reported.
TEST(StickMonitor, EmptyConnectorAcceptsSticksOnAnyPort)
{
    MockSystem system;
    StickMonitor monitor = openMonitor(false, "");
    system.announce(system.plug(UsbStick { 2, 2, 5000, { kPartitioned } }), "add");
    auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].disposition, Disposition::Accepted) << events[0].reason;
    EXPECT_EQ(events[0].role, PortRole::AnyPort);
    EXPECT_TRUE(events[0].onConfiguredConnector);
    ASSERT_TRUE(events[0].portSeen);
    EXPECT_EQ(events[0].portSeen->describe(), "pci-0000:00:14.0-usb-0:2 on the USB 3 root hub");

    system.announce(system.plug(UsbStick { 1, 1, 480, { kPartitioned } }), "add");
    events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].disposition, Disposition::Accepted) << events[0].reason;
    EXPECT_NE(events[0].warning.find("480 Mbit/s"), std::string::npos) << events[0].warning;
}

TEST(StickMonitor, EmptyConnectorStillRefusesSlowSticksWhenSuperSpeedIsRequired)
{
    MockSystem system;
    StickMonitor monitor = openMonitor(true, "");
    system.announce(system.plug(UsbStick { 1, 1, 480, { kPartitioned } }), "add");
    const auto events = waitingEvents(monitor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].disposition, Disposition::Ignored);
    EXPECT_NE(events[0].reason.find("require_superspeed"), std::string::npos) << events[0].reason;
}

TEST(StickMonitor, ConnectorThatNamesNoPortIsRefused)
{
    MockSystem system;
    StickPolicy policy;
    policy.connectorIdPath = "pci-0000:00:14.0-usb-0:1:1.0-scsi-0:0:0:0";
    const auto monitor = StickMonitor::open(policy);
    ASSERT_FALSE(monitor);
    EXPECT_NE(monitor.error().message.find("'pci-0000:00:14.0-usb-0:1'"), std::string::npos)
        << monitor.error().message;
}

} // namespace
} // namespace omni::udev

int main(int argc, char** argv)
{
    // umockdev_in_mock_environment() also wants a test bed to exist already.
    const char* preload = std::getenv("LD_PRELOAD");
    if (!preload || !std::strstr(preload, "libumockdev-preload")) {
        std::printf("SKIP: not running under umockdev's preload library; run through `meson test` or "
                    "`umockdev-wrapper %s`\n",
            argv[0]);
        return 77;
    }
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
