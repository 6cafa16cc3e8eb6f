// libFuzzer target for the manifest area: parseManifest on raw bytes, and
// validateProvisionRequest on whatever JSON the bytes hold. Beyond "no crash,
// no sanitizer report" it checks two properties:
//  * a manifest that parses re-serialises (toJson) into one that parses to
//    the same canonical JSON, so status.json and `inspect --json` never hold
//    something the device itself would refuse;
//  * the request validator agrees with the manifest parser on the shared
//    fields' accepted values (a valid manifest's request part is a valid
//    request).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/core/manifest/manifest.hpp"

namespace {

[[noreturn]] void propertyBroken()
{
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using omni::manifest::kMaxManifestBytes;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    const auto manifest = omni::manifest::parseManifest(bytes);
    if (manifest) {
        const nlohmann::json canonical = omni::manifest::toJson(*manifest);
        const auto again = omni::manifest::parseManifest(canonical.dump());
        if (!again || omni::manifest::toJson(*again) != canonical) {
            propertyBroken();
        }
        nlohmann::json request = canonical;
        for (const char* manifestOnly : { "FormatVersion", "DeviceId", "Arn", "IotThingName", "CreatedAt" }) {
            request.erase(manifestOnly);
        }
        if (!omni::manifest::validateProvisionRequest(request)) {
            propertyBroken();
        }
    }

    // The request validator gets any JSON value, including shapes the
    // manifest parser refuses early (too deep, duplicate keys, not an object).
    // nlohmann's parser is iterative, so the size bound only keeps runs fast.
    if (size <= kMaxManifestBytes) {
        const auto body = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
        if (!body.is_discarded()) {
            const auto result = omni::manifest::validateProvisionRequest(body);
            if (result && result->name.empty()) {
                propertyBroken();
            }
        }
    }
    return 0;
}
