#pragma once
// The device configuration: defaults in code, then
// /etc/omni-provision/config.yaml, then config.d/*.yaml beside it (in name
// order; later files override single keys). Strict: an unknown key, a wrong
// type or a bad value is an error with FILE:LINE:COLUMN and what was expected.
// The schema and every default are documented in config/config.yaml.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "daemon/core/network/interface_mapping.hpp"

namespace omni::config {

inline constexpr int kSchemaVersion = 1;

// A document over this size is refused before it is parsed; the shipped
// configuration is a few KiB.
inline constexpr std::size_t kMaxDocumentBytes = 1024 * 1024;
// Lists and mappings nested deeper than this are refused while parsing, so
// yaml-cpp's recursive parser never goes deeper (the schema needs 4).
inline constexpr int kMaxNestingDepth = 64;
// Scalars, lists and mappings in one document (the schema has about 40);
// bounds the memory and time a hostile document can cost.
inline constexpr std::size_t kMaxNodeCount = 10000;

inline constexpr std::string_view kDefaultMainFile = "/etc/omni-provision/config.yaml";

enum class DnsBackend { Auto, Resolved, ResolvConf, None };
enum class NtpBackend { Auto, Timesyncd, Chrony, None };
enum class AfterSuccess { Keep, Rename };

std::string_view toString(DnsBackend backend); // "auto", "resolved", "resolv.conf", "none"
std::string_view toString(NtpBackend backend); // "auto", "timesyncd", "chrony", "none"
std::string_view toString(AfterSuccess action); // "keep", "rename"
std::optional<DnsBackend> dnsBackendFromString(std::string_view text);
std::optional<NtpBackend> ntpBackendFromString(std::string_view text);
std::optional<AfterSuccess> afterSuccessFromString(std::string_view text);

struct UsbConfig {
    // udev ID_PATH of the physical USB 3.0 connector next to HDMI, e.g.
    // "pci-0000:00:14.0-usb-0:1". Empty: any USB port (a warning at start).
    std::string connectorIdPath;
    bool requireSuperSpeed = false;
    std::vector<std::string> filesystems { "vfat", "exfat" }; // allowed: vfat, exfat, ext4

    friend bool operator==(const UsbConfig&, const UsbConfig&) = default;
};

struct TrustConfig {
    std::vector<std::filesystem::path> anchors { "/etc/omni-provision/trust/root.pem" };
    std::int64_t timeToleranceSeconds = 30; // 0-300
    std::int64_t maxCertificateLifetimeSeconds = 300; // 1-86400

    friend bool operator==(const TrustConfig&, const TrustConfig&) = default;
};

struct DeviceConfig {
    std::optional<std::string> expectedName; // Name pattern, 1-255

    friend bool operator==(const DeviceConfig&, const DeviceConfig&) = default;
};

struct DnsConfig {
    DnsBackend backend = DnsBackend::Auto;
    std::filesystem::path resolvConfPath = "/etc/resolv.conf";

    friend bool operator==(const DnsConfig&, const DnsConfig&) = default;
};

struct NtpConfig {
    NtpBackend backend = NtpBackend::Auto;
    std::filesystem::path timesyncdDropInDirectory = "/etc/systemd/timesyncd.conf.d";
    std::filesystem::path chronySourcesPath = "/etc/chrony/sources.d/omni-provision.sources";

    friend bool operator==(const NtpConfig&, const NtpConfig&) = default;
};

struct DhcpConfig {
    std::filesystem::path dhcpcdPath = "/usr/sbin/dhcpcd";
    std::filesystem::path hookPath = defaultHookPath(); // records leases for us (--script)

    static std::filesystem::path defaultHookPath(); // where the package installs it

    friend bool operator==(const DhcpConfig&, const DhcpConfig&) = default;
};

struct StickConfig {
    bool writeReport = true;
    AfterSuccess afterSuccess = AfterSuccess::Keep;

    friend bool operator==(const StickConfig&, const StickConfig&) = default;
};

struct LedConfig {
    std::string name; // <sysfsRoot>/<name>; empty: no LED
    std::filesystem::path sysfsRoot = "/sys/class/leds";

    friend bool operator==(const LedConfig&, const LedConfig&) = default;
};

struct Config {
    int schemaVersion = kSchemaVersion;
    UsbConfig usb;
    TrustConfig trust;
    DeviceConfig device;
    network::InterfaceMapping interfaces = defaultInterfaces();
    DnsConfig dns;
    NtpConfig ntp;
    DhcpConfig dhcp;
    StickConfig stick;
    LedConfig led;
    std::filesystem::path stateDirectory = "/var/lib/omni-provision"; // YAML: state.directory
    std::filesystem::path runtimeDirectory = "/run/omni-provision"; // YAML: state.runtime_directory

    static network::InterfaceMapping defaultInterfaces(); // eth0 and eth1 by name

    friend bool operator==(const Config&, const Config&) = default;
};

struct ConfigError {
    std::string file; // path, or "<string>"
    int line = 0; // 1-based; 0 when unknown
    int column = 0; // 1-based; 0 when unknown
    std::string message; // what is wrong, what was expected

    // "FILE:LINE:COLUMN: message" ("FILE: message" without a position).
    std::string toString() const;
};

// Parses one YAML document on top of `base` (so layers compose): only the
// keys present change; a list replaces the whole list; `EthernetN: ~`
// unmaps a port. An empty document changes nothing. `sourceName` names it
// in errors. Never throws.
tl::expected<Config, ConfigError> applyYaml(
    const Config& base, std::string_view yaml, const std::string& sourceName);

// Defaults, then `mainFile` (absence is fine only when `mainFileOptional`),
// then `<dir of mainFile>/config.d/*.yaml` in byte order of names (hidden
// files and non-regular files skipped; a missing config.d is fine). Never throws.
tl::expected<Config, ConfigError> loadConfig(
    const std::filesystem::path& mainFile, bool mainFileOptional = false);

// systemd's STATE_DIRECTORY and RUNTIME_DIRECTORY (first entry of the
// colon-separated list, used only when absolute) override
// `stateDirectory` and `runtimeDirectory`. Call it after loadConfig.
void applySystemdDirectories(Config& config);

// The main file to load when no --config is given: CONFIGURATION_DIRECTORY
// (first entry, when set and absolute) + "/config.yaml", else kDefaultMainFile.
std::filesystem::path defaultMainFile();

// The effective configuration as YAML in the same schema (for --dump-config):
// applyYaml(Config{}, dumpYaml(c), ...) gives c back.
std::string dumpYaml(const Config& config);

} // namespace omni::config
