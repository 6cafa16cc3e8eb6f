#include "drivers/bus/system_bus.hpp"

#include <cstdint>
#include <cstring>

namespace omni::system_support {

std::string BusError::describe(int result) const
{
    if (sd_bus_error_is_set(&error_)) {
        std::string text = error_.name;
        if (error_.message != nullptr) {
            text += std::string(": ") + error_.message;
        }
        return text;
    }
    return std::strerror(result < 0 ? -result : result);
}

std::string describeBus(const std::string& address)
{
    return address.empty() ? "the system bus" : "the bus at " + address;
}

Result<BusPtr> openBus(const std::string& address)
{
    sd_bus* opened = nullptr;
    int result = 0;
    if (address.empty()) {
        result = sd_bus_open_system(&opened);
    } else {
        result = sd_bus_new(&opened);
        if (result >= 0) {
            result = sd_bus_set_address(opened, address.c_str());
        }
        if (result >= 0) {
            result = sd_bus_set_bus_client(opened, 1);
        }
        if (result >= 0) {
            result = sd_bus_start(opened);
        }
    }
    if (result >= 0) {
        result = sd_bus_set_method_call_timeout(opened,
            static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(kBusCallTimeout).count()));
    }
    BusPtr bus(opened);
    if (result < 0) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            "cannot connect to " + describeBus(address) + ": " + std::strerror(-result));
    }
    return bus;
}

Result<sd_bus*> LazyBus::connection()
{
    if (bus_ && sd_bus_is_open(bus_.get()) > 0) {
        return bus_.get();
    }
    auto opened = openBus(address_);
    if (!opened) {
        return tl::unexpected(std::move(opened.error()));
    }
    bus_ = std::move(*opened);
    return bus_.get();
}

BusPtr shareBus(sd_bus* bus)
{
    return BusPtr(sd_bus_ref(bus));
}

} // namespace omni::system_support
