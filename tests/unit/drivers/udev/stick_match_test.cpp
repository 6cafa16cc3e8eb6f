// The port, speed and filesystem rules of the udev driver (DESIGN.md section
// 7), decided from plain facts: no libudev, no device tree.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/udev/stick_match.hpp"

namespace omni::udev {
namespace {

const std::string kController = "pci-0000:00:14.0";

// The companion's port number differs from the SuperSpeed port's on purpose:
// on such controllers "usb-0:1" names two different physical connectors.
Connector connectorOnPort1()
{
    return Connector { UsbPort { kController, RootHub::Usb3, "1" },
        UsbPort { kController, RootHub::Usb2, "3" }, {} };
}

// A block device on USB, described fluently: Stick::on(path).speeds(480, 480).filesystem("ntfs").
struct Stick {
    std::string idPath;
    std::optional<unsigned> speed = 5000;
    std::optional<unsigned> rootHubSpeed = 5000;
    std::string type = "vfat";
    std::string devtype = "partition";
    std::string table;
    std::optional<std::uint64_t> sizeSectors = 7'864'320;
    bool usb = true;

    static Stick on(std::string idPath)
    {
        Stick stick;
        stick.idPath = std::move(idPath);
        return stick;
    }
    Stick speeds(std::optional<unsigned> device, std::optional<unsigned> rootHub) const
    {
        Stick copy = *this;
        copy.speed = device;
        copy.rootHubSpeed = rootHub;
        return copy;
    }
    Stick filesystem(std::string name) const
    {
        Stick copy = *this;
        copy.type = std::move(name);
        return copy;
    }
    Stick wholeDisk(std::string partitionTable = {}) const
    {
        Stick copy = *this;
        copy.devtype = "disk";
        copy.table = std::move(partitionTable);
        return copy;
    }
    Stick noMedium() const
    {
        Stick copy = *this;
        copy.sizeSectors = 0;
        return copy;
    }
    Stick notUsb() const
    {
        Stick copy = *this;
        copy.usb = false;
        copy.speed = std::nullopt;
        copy.rootHubSpeed = std::nullopt;
        return copy;
    }
};

DeviceFacts factsOf(const Stick& stick)
{
    DeviceFacts facts;
    facts.kernelName = stick.devtype == "disk" ? "sdb" : "sdb1";
    facts.devnode = "/dev/" + facts.kernelName;
    facts.onUsb = stick.usb;
    facts.usbSpeedMbps = stick.speed;
    facts.rootHubSpeedMbps = stick.rootHubSpeed;
    facts.sizeSectors = stick.sizeSectors;
    facts.properties["DEVTYPE"] = stick.devtype;
    if (!stick.idPath.empty())
        facts.properties["ID_PATH"] = stick.idPath;
    if (!stick.type.empty())
        facts.properties["ID_FS_TYPE"] = stick.type;
    if (!stick.table.empty())
        facts.properties["ID_PART_TABLE_TYPE"] = stick.table;
    return facts;
}

std::string blockPath(const std::string& chain, const std::string& controller = kController)
{
    return controller + "-usb-0:" + chain + ":1.0-scsi-0:0:0:0";
}

struct Case {
    std::string name;
    Stick stick;
    Disposition disposition = Disposition::Accepted;
    PortRole role = PortRole::SuperSpeedPort;
    std::vector<std::string> reasonMentions; // each must appear in the reason
    bool warns = false;
    bool requireSuperSpeed = false;
    std::vector<std::string> filesystems { "vfat", "exfat" };

    Case warning() const
    {
        Case copy = *this;
        copy.warns = true;
        return copy;
    }
    Case superSpeedRequired() const
    {
        Case copy = *this;
        copy.requireSuperSpeed = true;
        return copy;
    }
    Case allowing(std::vector<std::string> types) const
    {
        Case copy = *this;
        copy.filesystems = std::move(types);
        return copy;
    }
};

Case expect(std::string name, Stick stick, Disposition disposition, PortRole role,
    std::vector<std::string> reasonMentions = {})
{
    Case result;
    result.name = std::move(name);
    result.stick = std::move(stick);
    result.disposition = disposition;
    result.role = role;
    result.reasonMentions = std::move(reasonMentions);
    return result;
}

class Decide : public ::testing::TestWithParam<Case> { };

TEST_P(Decide, FollowsTheRules)
{
    const Case& test = GetParam();
    StickPolicy policy;
    policy.connectorIdPath = kController + "-usb-0:1";
    policy.requireSuperSpeed = test.requireSuperSpeed;
    policy.filesystems = test.filesystems;

    const Decision decision = decide(policy, connectorOnPort1(), factsOf(test.stick));

    EXPECT_EQ(toString(decision.disposition), toString(test.disposition)) << decision.reason;
    EXPECT_EQ(toString(decision.role), toString(test.role)) << decision.reason;
    for (const auto& mention : test.reasonMentions)
        EXPECT_NE(decision.reason.find(mention), std::string::npos)
            << "reason '" << decision.reason << "' should mention '" << mention << "'";
    EXPECT_EQ(!decision.warning.empty(), test.warns) << decision.warning;
    if (decision.disposition == Disposition::Accepted)
        EXPECT_TRUE(decision.reason.empty());
    else
        EXPECT_FALSE(decision.reason.empty());
}

const std::string kSuperSpeed1 = "pci-0000:00:14.0-usb-0:1 on the USB 3 root hub";
const std::string kHighSpeed3 = "pci-0000:00:14.0-usb-0:3 on the USB 2 root hub";

INSTANTIATE_TEST_SUITE_P(Table, Decide,
    ::testing::Values(
        expect("SuperSpeedPort", Stick::on(blockPath("1")), Disposition::Accepted, PortRole::SuperSpeedPort),
        expect("SuperSpeedPlusStick", Stick::on(blockPath("1")).speeds(10000, 10000), Disposition::Accepted,
            PortRole::SuperSpeedPort),
        expect("CompanionWarns", Stick::on(blockPath("3")).speeds(480, 480), Disposition::Accepted,
            PortRole::HighSpeedCompanion)
            .warning(),
        expect("CompanionRefusedWhenSuperSpeedRequired", Stick::on(blockPath("3")).speeds(480, 480),
            Disposition::Ignored, PortRole::HighSpeedCompanion, { "480 Mbit/s", "require_superspeed" })
            .superSpeedRequired(),
        expect("FullSpeedStickOnCompanionWarns", Stick::on(blockPath("3")).speeds(12, 480),
            Disposition::Accepted, PortRole::HighSpeedCompanion)
            .warning(),
        // Same text as the configured ID_PATH, but on the USB 2 root hub: a
        // different physical connector on this controller.
        expect("SameNumberOnUsb2RootHubIsAnotherConnector", Stick::on(blockPath("1")).speeds(480, 480),
            Disposition::Ignored, PortRole::OtherPort,
            { "pci-0000:00:14.0-usb-0:1 on the USB 2 root hub", kSuperSpeed1, kHighSpeed3 }),
        expect("OtherSuperSpeedPort", Stick::on(blockPath("2")), Disposition::Ignored, PortRole::OtherPort,
            { "pci-0000:00:14.0-usb-0:2 on the USB 3 root hub", kSuperSpeed1, kHighSpeed3 }),
        expect("PortTenIsNotPortOne", Stick::on(blockPath("10")), Disposition::Ignored, PortRole::OtherPort,
            { "usb-0:10 on the USB 3 root hub" }),
        expect("OtherController", Stick::on(blockPath("1", "pci-0000:00:14.1")), Disposition::Ignored,
            PortRole::OtherPort, { "pci-0000:00:14.1-usb-0:1", kSuperSpeed1 }),
        expect("BehindHubOnSuperSpeedPort", Stick::on(blockPath("1.2")), Disposition::Ignored,
            PortRole::BehindHub, { "hub", "pci-0000:00:14.0-usb-0:1.2 on the USB 3 root hub" }),
        expect("BehindUsb2HubOnCompanion", Stick::on(blockPath("3.4")).speeds(480, 480), Disposition::Ignored,
            PortRole::BehindHub, { "hub", "usb-0:3.4 on the USB 2 root hub" }),
        expect("WholeDiskFilesystem", Stick::on(blockPath("1")).wholeDisk(), Disposition::Accepted,
            PortRole::SuperSpeedPort),
        expect("WholeDiskExfat", Stick::on(blockPath("1")).filesystem("exfat").wholeDisk(),
            Disposition::Accepted, PortRole::SuperSpeedPort),
        expect("PartitionTableAloneIsSkipped", Stick::on(blockPath("1")).filesystem("").wholeDisk("gpt"),
            Disposition::Skipped, PortRole::Unknown, { "gpt" }),
        expect("PartitionTableOnOtherPortIsSkippedToo",
            Stick::on(blockPath("2")).filesystem("").wholeDisk("dos"), Disposition::Skipped,
            PortRole::Unknown, { "dos" }),
        expect("UnsupportedFilesystem", Stick::on(blockPath("1")).filesystem("ntfs"), Disposition::Ignored,
            PortRole::SuperSpeedPort, { "'ntfs'", "vfat, exfat" }),
        expect("Ext4NotByDefault", Stick::on(blockPath("1")).filesystem("ext4"), Disposition::Ignored,
            PortRole::SuperSpeedPort, { "'ext4'" }),
        expect("Ext4WhenAllowed", Stick::on(blockPath("1")).filesystem("ext4"), Disposition::Accepted,
            PortRole::SuperSpeedPort)
            .allowing({ "vfat", "exfat", "ext4" }),
        expect("BlankPartition", Stick::on(blockPath("1")).filesystem(""), Disposition::Ignored,
            PortRole::SuperSpeedPort, { "no filesystem" }),
        expect("BlankWholeDisk", Stick::on(blockPath("1")).filesystem("").wholeDisk(), Disposition::Ignored,
            PortRole::SuperSpeedPort, { "no filesystem" }),
        expect("WrongPortWinsOverWrongFilesystem", Stick::on(blockPath("2")).filesystem("ntfs"),
            Disposition::Ignored, PortRole::OtherPort, { "usb-0:2" }),
        expect("NotUsb", Stick::on("pci-0000:00:1f.2-ata-1").filesystem("ext4").notUsb(),
            Disposition::Skipped, PortRole::Unknown, { "not a USB device" }),
        expect("NoMedium", Stick::on(blockPath("1")).filesystem("").wholeDisk().noMedium(),
            Disposition::Skipped, PortRole::Unknown, { "no medium" }),
        expect("NoIdPath", Stick::on(""), Disposition::Ignored, PortRole::Unknown, { "no ID_PATH" }),
        expect("IdPathWithoutUsb", Stick::on("pci-0000:00:1f.2-ata-1"), Disposition::Ignored,
            PortRole::Unknown, { "pci-0000:00:1f.2-ata-1" }),
        expect("RootHubSpeedUnreadableDeviceSpeedDecides",
            Stick::on(blockPath("1")).speeds(5000, std::nullopt), Disposition::Accepted,
            PortRole::SuperSpeedPort),
        expect("SpeedUnreadableOnCompanionWarns", Stick::on(blockPath("3")).speeds(std::nullopt, 480),
            Disposition::Accepted, PortRole::HighSpeedCompanion)
            .warning(),
        expect("NoSpeedAtAll", Stick::on(blockPath("1")).speeds(std::nullopt, std::nullopt),
            Disposition::Ignored, PortRole::Unknown, { "speed" })),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(Decide, ConnectorBehindOnBoardHub)
{
    StickPolicy policy;
    const Connector connector { UsbPort { kController, RootHub::Usb3, "1.2" },
        UsbPort { kController, RootHub::Usb2, "4.2" }, {} };
    EXPECT_EQ(decide(policy, connector, factsOf(Stick::on(blockPath("1.2")))).role, PortRole::SuperSpeedPort);
    EXPECT_EQ(decide(policy, connector, factsOf(Stick::on(blockPath("4.2")).speeds(480, 480))).role,
        PortRole::HighSpeedCompanion);
    EXPECT_EQ(decide(policy, connector, factsOf(Stick::on(blockPath("1")))).role, PortRole::OtherPort);
    EXPECT_EQ(decide(policy, connector, factsOf(Stick::on(blockPath("1.2.3")))).role, PortRole::BehindHub);
    EXPECT_EQ(decide(policy, connector, factsOf(Stick::on(blockPath("1.22")))).role, PortRole::OtherPort);
}

// usb.connector_id_path "": every USB block device is a candidate, on any
// port, behind a hub, or without a usable ID_PATH; speed and filesystem are
// still judged.
TEST(Decide, NoConnectorAcceptsAnyUsbPort)
{
    StickPolicy policy;
    Connector anyPort;
    anyPort.anyPort = true;
    for (const Stick& stick : { Stick::on(blockPath("1")), Stick::on(blockPath("2")),
             Stick::on(blockPath("1.2.3")), Stick::on(blockPath("1", "pci-0000:00:14.1")), Stick::on("") }) {
        const Decision decision = decide(policy, anyPort, factsOf(stick));
        EXPECT_EQ(decision.disposition, Disposition::Accepted) << stick.idPath << ": " << decision.reason;
        EXPECT_EQ(decision.role, PortRole::AnyPort) << stick.idPath;
        EXPECT_TRUE(decision.warning.empty()) << decision.warning;
    }
    const Decision seen = decide(policy, anyPort, factsOf(Stick::on(blockPath("2"))));
    ASSERT_TRUE(seen.portSeen);
    EXPECT_EQ(seen.portSeen->describe(), "pci-0000:00:14.0-usb-0:2 on the USB 3 root hub");

    const Decision slow = decide(policy, anyPort, factsOf(Stick::on(blockPath("2")).speeds(480, 480)));
    EXPECT_EQ(slow.disposition, Disposition::Accepted);
    EXPECT_NE(slow.warning.find("480 Mbit/s"), std::string::npos) << slow.warning;

    policy.requireSuperSpeed = true;
    const Decision refused = decide(policy, anyPort, factsOf(Stick::on(blockPath("2")).speeds(480, 480)));
    EXPECT_EQ(refused.disposition, Disposition::Ignored);
    EXPECT_NE(refused.reason.find("require_superspeed"), std::string::npos) << refused.reason;
    EXPECT_EQ(decide(policy, anyPort, factsOf(Stick::on(blockPath("2")))).disposition, Disposition::Accepted);

    EXPECT_EQ(decide(policy, anyPort, factsOf(Stick::on(blockPath("2")).filesystem("ntfs"))).disposition,
        Disposition::Ignored);
    EXPECT_EQ(decide(policy, anyPort, factsOf(Stick::on("pci-0000:00:1f.2-ata-1").notUsb())).disposition,
        Disposition::Skipped);
}

TEST(Decide, UnknownCompanionIsExplained)
{
    StickPolicy policy;
    const Connector connector { UsbPort { kController, RootHub::Usb3, "1" }, std::nullopt,
        "the kernel paired no USB 2 port with it" };
    const Decision decision = decide(policy, connector, factsOf(Stick::on(blockPath("3")).speeds(480, 480)));
    EXPECT_EQ(decision.disposition, Disposition::Ignored);
    EXPECT_EQ(decision.role, PortRole::OtherPort);
    EXPECT_NE(decision.reason.find("the kernel paired no USB 2 port with it"), std::string::npos)
        << decision.reason;
}

TEST(Decide, SeenPortIsReported)
{
    const Decision decision
        = decide(StickPolicy {}, connectorOnPort1(), factsOf(Stick::on(blockPath("3")).speeds(480, 480)));
    ASSERT_TRUE(decision.portSeen.has_value());
    EXPECT_EQ(*decision.portSeen, (UsbPort { kController, RootHub::Usb2, "3" }));
    EXPECT_EQ(decision.filesystemType, "vfat");
}

TEST(ParseConnectorIdPath, AcceptsPortPaths)
{
    const auto plain = parseConnectorIdPath("pci-0000:00:14.0-usb-0:1");
    ASSERT_TRUE(plain) << plain.error().message;
    EXPECT_EQ(*plain, (UsbPort { "pci-0000:00:14.0", RootHub::Usb3, "1" }));

    const auto withRevision = parseConnectorIdPath("pci-0000:00:14.0-usbv3-0:2");
    ASSERT_TRUE(withRevision) << withRevision.error().message;
    EXPECT_EQ(*withRevision, (UsbPort { "pci-0000:00:14.0", RootHub::Usb3, "2" }));

    const auto behindHub = parseConnectorIdPath("platform-xhci-hcd.1.auto-usb-0:1.4");
    ASSERT_TRUE(behindHub) << behindHub.error().message;
    EXPECT_EQ(*behindHub, (UsbPort { "platform-xhci-hcd.1.auto", RootHub::Usb3, "1.4" }));
}

TEST(ParseConnectorIdPath, ExplainsWhatIsWrong)
{
    struct Bad {
        std::string idPath;
        std::string mention;
    };
    const std::vector<Bad> cases {
        { "pci-0000:00:14.0-usb-0:1:1.0-scsi-0:0:0:0", "'pci-0000:00:14.0-usb-0:1'" },
        { "pci-0000:00:14.0-usb-0:1:1.0", "':1.0'" },
        { "pci-0000:00:14.0-usbv2-0:1", "USB 2 root hub" },
        { "pci-0000:00:14.0", "no USB port part" },
        { "", "no USB port part" },
        { "usb-0:1", "no USB port part" },
        { "pci-0000:00:14.0-usb-0:0", "not a port chain" },
        { "pci-0000:00:14.0-usb-0:1..2", "not a port chain" },
        { "pci-0000:00:14.0-usb-0:", "not a port chain" },
    };
    for (const auto& bad : cases) {
        const auto parsed = parseConnectorIdPath(bad.idPath);
        ASSERT_FALSE(parsed) << bad.idPath;
        EXPECT_NE(parsed.error().message.find(bad.mention), std::string::npos)
            << bad.idPath << ": " << parsed.error().message;
        EXPECT_NE(parsed.error().message.find("'" + bad.idPath + "'"), std::string::npos)
            << parsed.error().message;
        EXPECT_EQ(parsed.error().where, "usb.connector");
    }
}

TEST(UsbPartsOfIdPath, SplitsControllerAndChain)
{
    const auto disk = usbPartsOfIdPath("pci-0000:00:14.0-usb-0:1.2:1.0-scsi-0:0:0:1");
    ASSERT_TRUE(disk);
    EXPECT_EQ(disk->controller, "pci-0000:00:14.0");
    EXPECT_EQ(disk->chain, "1.2");

    const auto revision = usbPartsOfIdPath("pci-0000:00:14.0-usbv2-0:4:1.0-scsi-0:0:0:0");
    ASSERT_TRUE(revision);
    EXPECT_EQ(revision->chain, "4");

    const auto device = usbPartsOfIdPath("pci-0000:00:14.0-usb-0:7");
    ASSERT_TRUE(device);
    EXPECT_EQ(device->chain, "7");

    EXPECT_FALSE(usbPartsOfIdPath("pci-0000:00:1f.2-ata-1"));
    EXPECT_FALSE(usbPartsOfIdPath("pci-0000:00:14.0-usb-0:x:1.0"));
}

TEST(ChainOfPortName, ReadsRootHubAndHubPorts)
{
    EXPECT_EQ(chainOfPortName("usb1-port3"), "3");
    EXPECT_EQ(chainOfPortName("usb12-port14"), "14");
    EXPECT_EQ(chainOfPortName("1-4-port2"), "4.2");
    EXPECT_EQ(chainOfPortName("3-1.2-port1"), "1.2.1");
    EXPECT_FALSE(chainOfPortName("usb1-port"));
    EXPECT_FALSE(chainOfPortName("usb1-port0"));
    EXPECT_FALSE(chainOfPortName("usbx-port1"));
    EXPECT_FALSE(chainOfPortName("1-0:1.0"));
    EXPECT_FALSE(chainOfPortName(""));
}

TEST(DescribeDevice, NamesProductDeviceFilesystemAndSpeed)
{
    DeviceFacts facts = factsOf(Stick::on(blockPath("1")));
    facts.properties["ID_VENDOR"] = "SanDisk";
    facts.properties["ID_MODEL"] = "Ultra_USB_3.0";
    facts.properties["ID_FS_LABEL"] = "PROVISION";
    EXPECT_EQ(
        describeDevice(facts), "SanDisk Ultra USB 3.0, partition sdb1 (vfat, label PROVISION), 5000 Mbit/s");

    const DeviceFacts blank = factsOf(Stick::on(blockPath("1")).speeds(480, 480).filesystem("").wholeDisk());
    EXPECT_EQ(describeDevice(blank), "USB storage, disk sdb (no filesystem), 480 Mbit/s");
}

} // namespace
} // namespace omni::udev
