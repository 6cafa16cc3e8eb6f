#pragma once
// The functional core of the udev driver: given what udev and sysfs say about
// one block device, decide whether it is a provisioning stick on the
// configured connector. No libudev here, so the rules are tested table-driven
// without a device tree. drivers/udev/README.md explains the port matching
// with examples.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/result.hpp"

namespace omni::udev {

// An xHCI controller registers two root hubs: one for USB 2 (High-Speed and
// slower) and one for USB 3 (SuperSpeed). udev's ID_PATH drops the bus number,
// so the same "usb-0:1" names a port on either of them.
enum class RootHub { Usb2, Usb3 };

// One logical port: a controller, one of its root hubs, and the port numbers
// from that root hub down ("1", or "1.2" behind a hub on port 1).
struct UsbPort {
    std::string controller; // the ID_PATH prefix of the host controller, e.g. "pci-0000:00:14.0"
    RootHub rootHub = RootHub::Usb3;
    std::string chain; // e.g. "1" or "1.2"

    // The ID_PATH udev gives a USB device on this port, e.g. "pci-0000:00:14.0-usb-0:1".
    std::string idPath() const;
    // For messages: "pci-0000:00:14.0-usb-0:1 on the USB 3 root hub".
    std::string describe() const;
    bool operator==(const UsbPort&) const = default;
};

// The configured physical connector as its two logical ports, or any port
// (usb.connector_id_path "": every USB block device is a candidate).
struct Connector {
    UsbPort superSpeed;
    // From the sysfs `peer` link of the SuperSpeed port; absent when the
    // kernel did not pair the port or it could not be read.
    std::optional<UsbPort> highSpeedCompanion;
    std::string companionProblem; // why highSpeedCompanion is absent, for messages
    bool anyPort = false; // no connector configured: the ports above are unused
};

// Parses the configured connector: an ID_PATH that ends at a port,
// "pci-0000:00:14.0-usb-0:1" (the SuperSpeed port of that number) or systemd's
// ID_PATH_WITH_USB_REVISION form "pci-0000:00:14.0-usbv3-0:1".
Result<UsbPort> parseConnectorIdPath(std::string_view idPath);

// The controller and port chain of a device from its ID_PATH, e.g.
// "pci-0000:00:14.0-usb-0:1.2:1.0-scsi-0:0:0:0" -> {"pci-0000:00:14.0", "1.2"}.
// nullopt when the path has no USB segment.
struct UsbPathParts {
    std::string controller;
    std::string chain;
};
std::optional<UsbPathParts> usbPartsOfIdPath(std::string_view idPath);

// The port chain named by a sysfs USB port directory: "usb1-port3" -> "3",
// "1-2-port4" (port 4 of the hub at 1-2) -> "2.4".
std::optional<std::string> chainOfPortName(std::string_view portName);

// True for a chain of positive decimal port numbers joined by dots.
bool isValidChain(std::string_view chain);

// USB speeds as the kernel's `speed` attribute gives them, in Mbit/s.
inline constexpr unsigned superSpeedMbps = 5000;

struct StickPolicy {
    // The physical connector, see parseConnectorIdPath; "" means any USB port.
    std::string connectorIdPath;
    bool requireSuperSpeed = false;
    std::vector<std::string> filesystems { "vfat", "exfat" }; // ID_FS_TYPE values accepted
};

// What the driver read about one block device.
struct DeviceFacts {
    std::string kernelName; // "sdb1"
    std::string devnode; // "/dev/sdb1"
    std::map<std::string, std::string> properties; // udev properties of the block device
    std::optional<std::uint64_t> sizeSectors; // the `size` attribute; 0 means no medium
    bool onUsb = false; // the block device has a USB device among its parents
    // The `speed` of that USB device, and of its root hub (which tells USB 2
    // from USB 3 root hubs); nullopt when unreadable.
    std::optional<unsigned> usbSpeedMbps;
    std::optional<unsigned> rootHubSpeedMbps;
};

enum class PortRole {
    SuperSpeedPort, // the configured connector's USB 3 port
    HighSpeedCompanion, // its USB 2 companion
    BehindHub, // behind a hub plugged into the connector
    OtherPort,
    AnyPort, // no connector is configured: every USB port counts
    Unknown, // the port could not be told (no usable ID_PATH)
};

enum class Disposition {
    Accepted, // a candidate to mount; `warning` may be set
    Ignored, // a stick the technician may have meant: `reason` says why not
    Skipped, // not a candidate and not worth a log line (not USB, a partition table, no medium)
};

struct Decision {
    Disposition disposition = Disposition::Skipped;
    PortRole role = PortRole::Unknown;
    std::optional<UsbPort> portSeen;
    std::string filesystemType;
    std::string reason;
    std::string warning;
};

Decision decide(const StickPolicy& policy, const Connector& connector, const DeviceFacts& facts);

// "SanDisk Ultra, partition sdb1 (vfat, label PROVISION), 5000 Mbit/s"
std::string describeDevice(const DeviceFacts& facts);

std::string_view toString(PortRole role);
std::string_view toString(Disposition disposition);

} // namespace omni::udev
