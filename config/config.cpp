// The types of config.hpp: the enums' names, the defaults computed in
// code, ConfigError, and applyYaml (one document: the strict tree of
// yaml_tree.cpp applied by the key table of schema.cpp). Discovery and
// layering of files are in discovery.cpp, the dump in dump.cpp.
#include "config/config.hpp"

#include <exception>
#include <utility>

#include "config/schema.hpp"
#include "config/yaml_tree.hpp"

namespace omni::config {

std::string_view toString(DnsBackend backend)
{
    switch (backend) {
    case DnsBackend::Auto:
        return "auto";
    case DnsBackend::Resolved:
        return "resolved";
    case DnsBackend::ResolvConf:
        return "resolv.conf";
    case DnsBackend::None:
        return "none";
    }
    return "?";
}

std::string_view toString(NtpBackend backend)
{
    switch (backend) {
    case NtpBackend::Auto:
        return "auto";
    case NtpBackend::Timesyncd:
        return "timesyncd";
    case NtpBackend::Chrony:
        return "chrony";
    case NtpBackend::None:
        return "none";
    }
    return "?";
}

std::string_view toString(AfterSuccess action)
{
    switch (action) {
    case AfterSuccess::Keep:
        return "keep";
    case AfterSuccess::Rename:
        return "rename";
    }
    return "?";
}

namespace {

template <class Enum, std::size_t N>
std::optional<Enum> enumFromString(const std::array<Enum, N>& values, std::string_view text)
{
    for (Enum value : values) {
        if (toString(value) == text) {
            return value;
        }
    }
    return std::nullopt;
}

} // namespace

std::optional<DnsBackend> dnsBackendFromString(std::string_view text)
{
    return enumFromString(schema::kDnsBackends, text);
}

std::optional<NtpBackend> ntpBackendFromString(std::string_view text)
{
    return enumFromString(schema::kNtpBackends, text);
}

std::optional<AfterSuccess> afterSuccessFromString(std::string_view text)
{
    return enumFromString(schema::kAfterSuccessActions, text);
}

network::InterfaceMapping Config::defaultInterfaces()
{
    network::InterfaceMapping mapping;
    mapping.ethernet0 = { network::InterfaceMatcher { network::MatchKind::Name, "eth0" },
        network::kDefaultEthernet0Metric };
    mapping.ethernet1 = { network::InterfaceMatcher { network::MatchKind::Name, "eth1" },
        network::kDefaultEthernet1Metric };
    return mapping;
}

std::string ConfigError::toString() const
{
    if (line <= 0) {
        return file + ": " + message;
    }
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

std::filesystem::path DhcpConfig::defaultHookPath()
{
#ifdef OMNI_DHCPCD_HOOK_PATH
    return OMNI_DHCPCD_HOOK_PATH;
#else
    return "/usr/libexec/omni-provision/dhcpcd-hook";
#endif
}

tl::expected<Config, ConfigError> applyYaml(
    const Config& base, std::string_view yaml, const std::string& sourceName)
{
    const auto errorFrom = [&](yaml::Problem problem) {
        return tl::unexpected(
            ConfigError { sourceName, problem.at.line, problem.at.column, std::move(problem.message) });
    };
    try {
        auto root = yaml::parseDocument(yaml);
        if (!root) {
            return errorFrom(std::move(root.error()));
        }
        Config config = base;
        if (!*root) {
            return config;
        }
        if (auto applied = schema::applyDocument(**root, config); !applied) {
            return errorFrom(std::move(applied.error()));
        }
        return config;
    } catch (const std::exception& exception) {
        return tl::unexpected(
            ConfigError { sourceName, 0, 0, std::string("cannot load: ") + exception.what() });
    } catch (...) {
        return tl::unexpected(ConfigError { sourceName, 0, 0, "cannot load: unknown error" });
    }
}

} // namespace omni::config
