#pragma once
// What omni-provisiond does with an accepted stick partition: mount it
// read-only, decide whether it is an attempt at all (the second-partition
// rule), hand it to the agent, unmount it, and journal the time of each
// stage. The event loop only wires this to udev, the LED and STATUS=.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "daemon/device/agent/provisioning_agent.hpp"
#include "daemon/device/stick/partition.hpp"
#include "drivers/udev/stick_monitor.hpp"

namespace omni::stick {

// The provisioning agent, as the stick attempt uses it.
class AttemptRunner {
public:
    virtual ~AttemptRunner() = default;
    virtual agent::AttemptReport provision(agent::ArchiveSource& source) = 0;
};

// Microseconds around the agent's own stages (its OMNI_TIMES_US), for the
// journal's OMNI_STICK_TIMES_US and the benchmark.
struct StickTimes {
    std::int64_t mount = 0;
    std::int64_t read = 0; // reading files from the stick, within the agent's verify
    std::int64_t unmount = 0;
    std::int64_t total = 0;
};

struct StickOutcome {
    // None: not an attempt (an empty second partition of a stick whose
    // archive was found on another partition); the agent was not asked.
    std::optional<agent::AttemptReport> report;
    StickTimes times;
};

// The disk a partition belongs to ("sdb1" -> "sdb", "mmcblk0p1" -> "mmcblk0").
std::string diskOf(const std::string& kernelName);

class StickAttempts {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    explicit StickAttempts(Clock clock = &std::chrono::steady_clock::now);

    // One accepted partition (an Add event that is neither skipped nor ignored).
    StickOutcome attempt(const udev::StickEvent& event, Mounter& mounter, AttemptRunner& agent);
    // A Remove event: the disk it names may be plugged in again with a new archive.
    void removed(const udev::StickEvent& event);

    bool archiveSeenOn(const std::string& disk) const { return disksWithArchive_.count(disk) > 0; }

private:
    Clock clock_;
    // Disks on which an archive was found since they were plugged in: an
    // empty second partition of the same stick is not a failed attempt.
    std::set<std::string> disksWithArchive_;
};

} // namespace omni::stick
