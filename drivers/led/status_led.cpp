#include "drivers/led/status_led.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace omni::led {

std::string_view toString(Pattern pattern)
{
    switch (pattern) {
    case Pattern::Off:
        return "off";
    case Pattern::Waiting:
        return "waiting";
    case Pattern::Working:
        return "working";
    case Pattern::Succeeded:
        return "succeeded";
    case Pattern::Failed:
        return "failed";
    }
    return "unknown";
}

TimerPattern timerPatternOf(Pattern pattern)
{
    switch (pattern) {
    case Pattern::Off:
        return { false, 0, 0 };
    case Pattern::Waiting:
        return { false, 50, 1950 };
    case Pattern::Working:
        return { false, 100, 100 };
    case Pattern::Succeeded:
        return { true, 0, 0 };
    case Pattern::Failed:
        return { false, 1000, 1000 };
    }
    return { false, 0, 0 };
}

StatusLed::StatusLed(std::filesystem::path sysfsRoot, std::string name)
    : directory_(name.empty() ? std::filesystem::path() : sysfsRoot / name)
    , name_(std::move(name))
{
}

Result<void> StatusLed::write(const std::string& attribute, const std::string& value) const
{
    const auto path = directory_ / attribute;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_TRUNC);
    if (fd < 0)
        return fail(ReasonCode::InternalError, Check::None,
            "status LED '" + name_ + "': cannot open " + path.string() + ": " + std::strerror(errno));
    const ssize_t written = ::write(fd, value.data(), value.size());
    const int error = errno;
    ::close(fd);
    if (written != static_cast<ssize_t>(value.size()))
        return fail(ReasonCode::InternalError, Check::None,
            "status LED '" + name_ + "': cannot write '" + value + "' to " + path.string() + ": "
                + std::strerror(error));
    return {};
}

Result<void> StatusLed::probe() const
{
    if (!configured())
        return {};
    if (::access((directory_ / "brightness").c_str(), W_OK) != 0)
        return fail(ReasonCode::InternalError, Check::None,
            "status LED '" + name_ + "' not found or not writable at " + directory_.string()
                + " (led.name in the configuration; ls /sys/class/leds lists the LEDs)");
    return {};
}

Result<void> StatusLed::show(Pattern pattern)
{
    if (!configured())
        return {};
    const auto timer = timerPatternOf(pattern);
    Result<void> result;
    if (pattern == Pattern::Off || timer.solid) {
        result = write("trigger", "none");
        if (result)
            result = write("brightness", pattern == Pattern::Off ? "0" : "255");
    } else {
        // The timer trigger creates delay_on/delay_off; set them after it.
        result = write("trigger", "timer");
        if (result)
            result = write("delay_on", std::to_string(timer.delayOnMilliseconds));
        if (result)
            result = write("delay_off", std::to_string(timer.delayOffMilliseconds));
    }
    if (result)
        current_ = pattern;
    return result;
}

} // namespace omni::led
