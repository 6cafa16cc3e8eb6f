#include "drivers/udev/stick_match.hpp"

#include <algorithm>

namespace omni::udev {
namespace {

constexpr std::string_view plainUsbMarker = "-usb-0:";
constexpr std::string_view revisionUsbMarker = "-usbv"; // followed by a digit and "-0:"

struct UsbSegment {
    std::string controller;
    int revision = 0; // 0: plain "usb-0:", else the N of "usbvN-0:"
    std::string_view rest; // what follows "usb-0:", e.g. "1.2:1.0-scsi-0:0:0:0"
};

// path_id writes exactly one USB segment: it skips every USB parent at once.
std::optional<UsbSegment> findUsbSegment(std::string_view idPath)
{
    if (const auto at = idPath.find(plainUsbMarker); at != std::string_view::npos && at > 0)
        return UsbSegment { std::string(idPath.substr(0, at)), 0, idPath.substr(at + plainUsbMarker.size()) };
    const auto at = idPath.find(revisionUsbMarker);
    if (at == std::string_view::npos || at == 0)
        return std::nullopt;
    const std::string_view after = idPath.substr(at + revisionUsbMarker.size());
    if (after.size() < 4 || after[0] < '0' || after[0] > '9' || after.substr(1, 3) != "-0:")
        return std::nullopt;
    return UsbSegment { std::string(idPath.substr(0, at)), after[0] - '0', after.substr(4) };
}

bool isPortNumber(std::string_view text)
{
    if (text.empty() || text.size() > 3 || text.front() == '0')
        return false;
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string property(const DeviceFacts& facts, const std::string& name)
{
    const auto found = facts.properties.find(name);
    return found == facts.properties.end() ? std::string() : found->second;
}

bool isAccepted(const StickPolicy& policy, const std::string& filesystemType)
{
    return std::find(policy.filesystems.begin(), policy.filesystems.end(), filesystemType)
        != policy.filesystems.end();
}

std::string joined(const std::vector<std::string>& items)
{
    std::string text;
    for (const auto& item : items)
        text += (text.empty() ? "" : ", ") + item;
    return text.empty() ? "none" : text;
}

// A chain below `port` on the same root hub: a hub sits in between.
bool isBelow(const UsbPort& seen, const UsbPort& port)
{
    return seen.controller == port.controller && seen.rootHub == port.rootHub
        && seen.chain.size() > port.chain.size() && seen.chain.compare(0, port.chain.size(), port.chain) == 0
        && seen.chain[port.chain.size()] == '.';
}

std::string expectedPorts(const Connector& connector)
{
    std::string text = "the configured connector " + connector.superSpeed.describe();
    if (connector.highSpeedCompanion)
        text += " or its High-Speed companion " + connector.highSpeedCompanion->describe();
    else if (!connector.companionProblem.empty())
        text += " (its High-Speed companion is unknown: " + connector.companionProblem + ")";
    else
        text += " or its High-Speed companion on the USB 2 root hub";
    return text;
}

std::string speedText(unsigned mbps)
{
    return std::to_string(mbps) + " Mbit/s";
}

} // namespace

std::string UsbPort::idPath() const
{
    return controller + std::string(plainUsbMarker) + chain;
}

std::string UsbPort::describe() const
{
    return idPath() + (rootHub == RootHub::Usb3 ? " on the USB 3 root hub" : " on the USB 2 root hub");
}

bool isValidChain(std::string_view chain)
{
    if (chain.empty())
        return false;
    while (true) {
        const auto dot = chain.find('.');
        if (!isPortNumber(chain.substr(0, dot)))
            return false;
        if (dot == std::string_view::npos)
            return true;
        chain.remove_prefix(dot + 1);
    }
}

Result<UsbPort> parseConnectorIdPath(std::string_view idPath)
{
    const std::string quoted = "'" + std::string(idPath) + "'";
    const auto segment = findUsbSegment(idPath);
    if (!segment)
        return fail(ReasonCode::InternalError, Check::None,
            "connector ID_PATH " + quoted
                + " has no USB port part; expected the form 'pci-0000:00:14.0-usb-0:1' (udev ID_PATH of a "
                  "device plugged into the connector, without its ':1.0' interface part)",
            "usb.connector");
    if (segment->revision != 0 && segment->revision != 3)
        return fail(ReasonCode::InternalError, Check::None,
            "connector ID_PATH " + quoted + " names a port on the USB " + std::to_string(segment->revision)
                + " root hub; name the connector by its SuperSpeed port ('usb-0:' or 'usbv3-0:'), its "
                  "High-Speed companion is found through sysfs",
            "usb.connector");
    const std::string_view chain = segment->rest;
    if (!isValidChain(chain)) {
        const auto tail = chain.find_first_of(":-");
        if (tail != std::string_view::npos && isValidChain(chain.substr(0, tail)))
            return fail(ReasonCode::InternalError, Check::None,
                "connector ID_PATH " + quoted + " goes past the port (it ends with '"
                    + std::string(chain.substr(tail)) + "'); the connector is named by its port alone, e.g. '"
                    + segment->controller + "-usb-0:" + std::string(chain.substr(0, tail)) + "'",
                "usb.connector");
        return fail(ReasonCode::InternalError, Check::None,
            "connector ID_PATH " + quoted + ": '" + std::string(chain)
                + "' is not a port chain (port numbers joined by dots, e.g. '1' or '1.2')",
            "usb.connector");
    }
    return UsbPort { segment->controller, RootHub::Usb3, std::string(chain) };
}

std::optional<UsbPathParts> usbPartsOfIdPath(std::string_view idPath)
{
    const auto segment = findUsbSegment(idPath);
    if (!segment)
        return std::nullopt;
    const std::string_view chain = segment->rest.substr(0, segment->rest.find_first_of(":-"));
    if (!isValidChain(chain))
        return std::nullopt;
    return UsbPathParts { segment->controller, std::string(chain) };
}

std::optional<std::string> chainOfPortName(std::string_view portName)
{
    const auto marker = portName.rfind("-port");
    if (marker == std::string_view::npos)
        return std::nullopt;
    const std::string_view port = portName.substr(marker + 5);
    const std::string_view hub = portName.substr(0, marker);
    if (!isPortNumber(port))
        return std::nullopt;
    // A root hub's ports are "usbN-portM"; a hub's are "<its device name>-portM",
    // the device name being "<bus>-<chain>".
    if (hub.size() > 3 && hub.substr(0, 3) == "usb") {
        const std::string_view bus = hub.substr(3);
        if (!std::all_of(bus.begin(), bus.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return std::nullopt;
        return std::string(port);
    }
    const auto dash = hub.find('-');
    if (dash == std::string_view::npos || !isValidChain(hub.substr(dash + 1)))
        return std::nullopt;
    return std::string(hub.substr(dash + 1)) + "." + std::string(port);
}

namespace {
// The checks after the port: filesystem and speed.
Decision judgeMedium(const StickPolicy& policy, const DeviceFacts& facts, Decision decision);
} // namespace

Decision decide(const StickPolicy& policy, const Connector& connector, const DeviceFacts& facts)
{
    Decision decision;
    decision.filesystemType = property(facts, "ID_FS_TYPE");
    if (!facts.onUsb) {
        decision.reason = "not a USB device";
        return decision;
    }
    if (facts.sizeSectors && *facts.sizeSectors == 0) {
        decision.reason = "no medium";
        return decision;
    }
    const bool wholeDisk = property(facts, "DEVTYPE") == "disk";
    const std::string partitionTable = property(facts, "ID_PART_TABLE_TYPE");
    if (wholeDisk && !partitionTable.empty() && !isAccepted(policy, decision.filesystemType)) {
        decision.reason
            = "holds a " + partitionTable + " partition table; its partitions are judged one by one";
        return decision;
    }

    decision.disposition = Disposition::Ignored;
    const std::string idPath = property(facts, "ID_PATH");
    const auto parts = usbPartsOfIdPath(idPath);
    if (connector.anyPort) {
        // Any USB block device counts; the port is only reported.
        decision.role = PortRole::AnyPort;
        const auto hubSpeed = facts.rootHubSpeedMbps ? facts.rootHubSpeedMbps : facts.usbSpeedMbps;
        if (parts && hubSpeed)
            decision.portSeen = UsbPort { parts->controller,
                *hubSpeed >= superSpeedMbps ? RootHub::Usb3 : RootHub::Usb2, parts->chain };
        return judgeMedium(policy, facts, std::move(decision));
    }
    if (!parts) {
        decision.reason = idPath.empty() ? "udev gave it no ID_PATH, so its port cannot be told"
                                         : "its ID_PATH '" + idPath + "' names no USB port";
        return decision;
    }
    // A USB 3 root hub carries only SuperSpeed devices, so the device's own
    // speed tells the root hub when the root hub's is unreadable.
    const auto hubSpeed = facts.rootHubSpeedMbps ? facts.rootHubSpeedMbps : facts.usbSpeedMbps;
    if (!hubSpeed) {
        decision.reason
            = "the USB speed of it and of its root hub cannot be read, so its port cannot be told";
        return decision;
    }
    const UsbPort seen { parts->controller, *hubSpeed >= superSpeedMbps ? RootHub::Usb3 : RootHub::Usb2,
        parts->chain };
    decision.portSeen = seen;
    if (seen == connector.superSpeed) {
        decision.role = PortRole::SuperSpeedPort;
    } else if (connector.highSpeedCompanion && seen == *connector.highSpeedCompanion) {
        decision.role = PortRole::HighSpeedCompanion;
    } else if (isBelow(seen, connector.superSpeed)
        || (connector.highSpeedCompanion && isBelow(seen, *connector.highSpeedCompanion))) {
        decision.role = PortRole::BehindHub;
        decision.reason = "it is behind a hub on the configured connector (seen on port " + seen.describe()
            + "); plug the stick directly into the connector";
        return decision;
    } else {
        decision.role = PortRole::OtherPort;
        decision.reason
            = "it is on another port: seen on " + seen.describe() + "; expected " + expectedPorts(connector);
        return decision;
    }

    return judgeMedium(policy, facts, std::move(decision));
}

namespace {
Decision judgeMedium(const StickPolicy& policy, const DeviceFacts& facts, Decision decision)
{
    if (decision.filesystemType.empty()) {
        decision.reason = "no filesystem recognised on it (blank or unformatted); accepted: "
            + joined(policy.filesystems);
        return decision;
    }
    if (!isAccepted(policy, decision.filesystemType)) {
        decision.reason = "filesystem '" + decision.filesystemType
            + "' is not accepted; accepted: " + joined(policy.filesystems);
        return decision;
    }

    if (!facts.usbSpeedMbps || *facts.usbSpeedMbps < superSpeedMbps) {
        const std::string where = decision.role == PortRole::HighSpeedCompanion
            ? "on the connector's USB 2 companion port"
            : decision.role == PortRole::AnyPort ? "(no connector is configured, any USB port counts)"
                                                 : "on the connector";
        const std::string situation = (facts.usbSpeedMbps ? "it runs at " + speedText(*facts.usbSpeedMbps)
                                                          : "its USB speed cannot be read")
            + " " + where + " (a USB 2 stick, or a USB 3 stick not pushed fully in)";
        if (policy.requireSuperSpeed) {
            decision.reason
                = situation + " and usb.require_superspeed is set: use a USB 3 stick, pushed fully in";
            return decision;
        }
        decision.warning = situation + "; accepted, but a SuperSpeed (" + speedText(superSpeedMbps)
            + ") stick is expected";
    }
    decision.disposition = Disposition::Accepted;
    return decision;
}
} // namespace

std::string describeDevice(const DeviceFacts& facts)
{
    auto spaced = [](std::string text) {
        std::replace(text.begin(), text.end(), '_', ' ');
        return text;
    };
    std::string product = spaced(property(facts, "ID_VENDOR"));
    const std::string model = spaced(property(facts, "ID_MODEL"));
    if (!model.empty())
        product += (product.empty() ? "" : " ") + model;
    if (product.empty())
        product = "USB storage";

    const bool partition = property(facts, "DEVTYPE") == "partition";
    std::string text = product + (partition ? ", partition " : ", disk ") + facts.kernelName;
    const std::string type = property(facts, "ID_FS_TYPE");
    const std::string label = property(facts, "ID_FS_LABEL");
    if (type.empty())
        text += " (no filesystem)";
    else
        text += " (" + type + (label.empty() ? "" : ", label " + label) + ")";
    if (facts.usbSpeedMbps)
        text += ", " + speedText(*facts.usbSpeedMbps);
    return text;
}

std::string_view toString(PortRole role)
{
    switch (role) {
    case PortRole::SuperSpeedPort:
        return "superspeed-port";
    case PortRole::HighSpeedCompanion:
        return "high-speed-companion";
    case PortRole::BehindHub:
        return "behind-hub";
    case PortRole::OtherPort:
        return "other-port";
    case PortRole::AnyPort:
        return "any-port";
    case PortRole::Unknown:
        break;
    }
    return "unknown";
}

std::string_view toString(Disposition disposition)
{
    switch (disposition) {
    case Disposition::Accepted:
        return "accepted";
    case Disposition::Ignored:
        return "ignored";
    case Disposition::Skipped:
        break;
    }
    return "skipped";
}

} // namespace omni::udev
