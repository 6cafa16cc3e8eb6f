#pragma once
// The status LED a technician reads from across a room, through the kernel's
// LED class (/sys/class/leds/NAME/). Four patterns that cannot be mistaken
// for each other: a short blip every 2 s (waiting), a fast flicker (working),
// solid on (succeeded), a slow even blink (failed).
#include <filesystem>
#include <string>
#include <string_view>

#include "daemon/core/result.hpp"

namespace omni::led {

enum class Pattern { Off, Waiting, Working, Succeeded, Failed };
std::string_view toString(Pattern pattern);

struct TimerPattern {
    bool solid = false;
    unsigned delayOnMilliseconds = 0;
    unsigned delayOffMilliseconds = 0;
};
// The sysfs settings of each pattern (pure, for tests and documentation).
TimerPattern timerPatternOf(Pattern pattern);

class StatusLed {
public:
    // `sysfsRoot` is /sys/class/leds on a device, a temporary tree in tests.
    // An empty name gives a StatusLed that does nothing (no LED configured).
    StatusLed(std::filesystem::path sysfsRoot, std::string name);

    bool configured() const { return !name_.empty(); }
    // Checks that the LED exists and is writable (at start, to warn early).
    Result<void> probe() const;
    Result<void> show(Pattern pattern);
    Pattern current() const { return current_; }

private:
    Result<void> write(const std::string& attribute, const std::string& value) const;

    std::filesystem::path directory_;
    std::string name_;
    Pattern current_ = Pattern::Off;
};

} // namespace omni::led
