#pragma once
// The udev driver: watches block devices through libudev and reports sticks
// on the configured connector. It owns no event loop: the daemon polls fd()
// (sd-event) and calls drain() when it is readable; enumerateExisting() finds
// a stick plugged in before power-on. The decisions are made by decide() in
// stick_match.hpp; this layer only reads udev and sysfs.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/core/result.hpp"
#include "drivers/udev/stick_match.hpp"

namespace omni::udev {

enum class StickAction { Add, Remove };

struct StickEvent {
    StickAction action = StickAction::Add;
    // Accepted or Ignored; skipped devices (not USB, partition tables, no
    // medium) raise no event.
    Disposition disposition = Disposition::Ignored;
    std::string devnode; // "/dev/sdb1"
    std::string kernelName; // "sdb1"
    std::string syspath;
    std::string filesystemType; // ID_FS_TYPE, e.g. "vfat"
    std::optional<unsigned> usbSpeedMbps;
    std::optional<UsbPort> portSeen;
    PortRole role = PortRole::Unknown;
    bool onConfiguredConnector
        = false; // its SuperSpeed port or the High-Speed companion (or any, with no connector)
    bool onHighSpeedCompanion = false;
    std::string description; // for people: product, device, filesystem, speed
    std::string reason; // why it is ignored
    std::string warning; // a concern about an accepted stick
};

class StickMonitor {
public:
    // Starts monitoring (before any enumeration, so nothing falls in between).
    // Fails on a connector ID_PATH that names no port, or when libudev cannot
    // open its netlink socket. An empty connector ID_PATH means any USB port.
    static Result<StickMonitor> open(StickPolicy policy);

    ~StickMonitor();
    StickMonitor(StickMonitor&& other) noexcept;
    StickMonitor& operator=(StickMonitor&& other) noexcept;
    StickMonitor(const StickMonitor&) = delete;
    StickMonitor& operator=(const StickMonitor&) = delete;

    // Readable when events are waiting; non-blocking.
    int fd() const;
    // Every event waiting now (bounded per call; the fd stays readable if more remain).
    std::vector<StickEvent> drain();
    // Block devices already present, as Add events. A device reported once is
    // not reported again until it changes or goes away.
    // Fails only when udev cannot be enumerated at all.
    Result<std::vector<StickEvent>> enumerateExisting();

private:
    struct State;
    explicit StickMonitor(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

} // namespace omni::udev
