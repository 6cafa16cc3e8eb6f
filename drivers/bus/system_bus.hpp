#pragma once
// sd-bus for the DNS and NTP drivers (systemd-resolved, systemd's manager):
// RAII for the connection, messages and errors, and a connection opened
// either to the system bus or to a given address, so tests point the
// drivers at a private dbus-daemon with fake services.
#include <chrono>
#include <memory>
#include <string>

#include <systemd/sd-bus.h>

#include "daemon/core/result.hpp"

namespace omni::system_support {

struct BusDeleter {
    void operator()(sd_bus* bus) const { sd_bus_flush_close_unref(bus); }
};
using BusPtr = std::unique_ptr<sd_bus, BusDeleter>;

struct BusMessageDeleter {
    void operator()(sd_bus_message* message) const { sd_bus_message_unref(message); }
};
using BusMessagePtr = std::unique_ptr<sd_bus_message, BusMessageDeleter>;

// sd_bus_error with a destructor.
class BusError {
public:
    BusError() = default;
    ~BusError() { sd_bus_error_free(&error_); }
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;

    sd_bus_error* get() { return &error_; }
    // "org.freedesktop.resolve1.NoSuchLink: Link 7 not known", or the errno
    // text of `result` when the bus gave no error.
    std::string describe(int result) const;

private:
    sd_bus_error error_ { nullptr, nullptr, 0 }; // SD_BUS_ERROR_NULL is a C compound literal
};

// Every call the drivers make is answered at once by a healthy service; a
// bound keeps a hung one from holding the daemon.
inline constexpr std::chrono::seconds kBusCallTimeout { 10 };

// `address` empty: the system bus; otherwise a D-Bus address such as
// "unix:path=/tmp/bus". Errors are NETWORK_APPLY_FAILED naming the bus.
Result<BusPtr> openBus(const std::string& address);

// A connection the caller already has (the daemon's sd-event bus): a new
// reference is taken.
BusPtr shareBus(sd_bus* bus);

std::string describeBus(const std::string& address); // "the system bus" or "the bus at ADDRESS"

// A connection made on first use, and made again when the peer closed it:
// the daemon starts (and re-applies a static configuration) also when D-Bus
// is not up yet or restarts later; only a step that needs the bus fails.
class LazyBus {
public:
    explicit LazyBus(std::string address = {})
        : address_(std::move(address))
    {
    }
    explicit LazyBus(BusPtr connected, std::string address = {})
        : address_(std::move(address))
        , bus_(std::move(connected))
    {
    }

    // Connects when needed; errors are openBus()'s.
    Result<sd_bus*> connection();
    // The connection when one is open, else nullptr (sd-bus calls then fail with EINVAL).
    sd_bus* get() const { return bus_.get(); }
    std::string describe() const { return describeBus(address_); }

private:
    std::string address_;
    BusPtr bus_;
};

} // namespace omni::system_support
