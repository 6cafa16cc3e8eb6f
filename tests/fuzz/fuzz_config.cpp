// libFuzzer target for the configuration loader: any bytes are refused or
// accepted without a crash, a leak or an exception, and whatever is accepted
// prints (--dump-config) to YAML that loads back to the same configuration.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const omni::config::Config defaults;
    const auto applied = omni::config::applyYaml(defaults, text, "fuzz.yaml");
    if (!applied) {
        (void)applied.error().toString();
        return 0;
    }
    const auto reloaded = omni::config::applyYaml(defaults, omni::config::dumpYaml(*applied), "dump.yaml");
    if (!reloaded || !(*reloaded == *applied)) {
        __builtin_trap();
    }
    return 0;
}
