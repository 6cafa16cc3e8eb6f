#pragma once
// The device configuration: defaults in code, then
// /etc/omni-provision/config.yaml, then config.d/*.yaml beside it (in name
// order; later files override single keys). Strict: an unknown key, a wrong
// type or a bad value is an error with FILE:LINE:COLUMN and what was expected.
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

enum class DnsBackend { Auto, Resolved, ResolvConf, None };
enum class NtpBackend { Timesyncd, Chrony, None };
enum class AfterSuccess { Keep, Rename };

std::string_view toString(DnsBackend backend);     // "auto", "resolved", "resolv.conf", "none"
std::string_view toString(NtpBackend backend);     // "timesyncd", "chrony", "none"
std::string_view toString(AfterSuccess action);    // "keep", "rename"

struct UsbConfig {
    // udev ID_PATH of the physical USB 3.0 connector next to HDMI, e.g.
    // "pci-0000:00:14.0-usb-0:1". Empty: any USB port (a warning at start).
    std::string connectorIdPath;
    bool requireSuperSpeed = false;
    std::vector<std::string> filesystems{"vfat", "exfat"};  // allowed: vfat, exfat, ext4
};

struct TrustConfig {
    std::vector<std::filesystem::path> anchors{"/etc/omni-provision/trust/root.pem"};
    std::int64_t timeToleranceSeconds = 30;            // 0-300
    std::int64_t maxCertificateLifetimeSeconds = 300;  // 1-86400
};

struct DeviceConfig {
    std::optional<std::string> expectedName;  // Name pattern, 1-255
};

struct DnsConfig {
    DnsBackend backend = DnsBackend::Auto;
    std::filesystem::path resolvConfPath = "/etc/resolv.conf";
};

struct NtpConfig {
    NtpBackend backend = NtpBackend::Timesyncd;
    std::filesystem::path timesyncdDropInDirectory = "/etc/systemd/timesyncd.conf.d";
    std::filesystem::path chronySourcesPath = "/etc/chrony/sources.d/omni-provision.sources";
};

struct DhcpConfig {
    std::filesystem::path dhcpcdPath = "/usr/sbin/dhcpcd";
};

struct StickConfig {
    bool writeReport = true;
    AfterSuccess afterSuccess = AfterSuccess::Keep;
};

struct LedConfig {
    std::string name;  // /sys/class/leds/<name>; empty: no LED
    std::filesystem::path sysfsRoot = "/sys/class/leds";
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
    std::filesystem::path stateDirectory = "/var/lib/omni-provision";
    std::filesystem::path runtimeDirectory = "/run/omni-provision";

    static network::InterfaceMapping defaultInterfaces();  // eth0 and eth1 by name
};

struct ConfigError {
    std::string file;  // path, or "<string>"
    int line = 0;      // 1-based; 0 when unknown
    int column = 0;    // 1-based; 0 when unknown
    std::string message;  // what is wrong, what was expected

    // "FILE:LINE:COLUMN: message"
    std::string toString() const;
};

// Parses one YAML document on top of `base` (so layers compose). `sourceName`
// names it in errors. Never throws.
tl::expected<Config, ConfigError> applyYaml(const Config& base, std::string_view yaml, const std::string& sourceName);

// Defaults, then `mainFile` (absence is fine only when `mainFileOptional`),
// then `<dir of mainFile>/config.d/*.yaml` in name order.
tl::expected<Config, ConfigError> loadConfig(const std::filesystem::path& mainFile, bool mainFileOptional = false);

// systemd's STATE_DIRECTORY, RUNTIME_DIRECTORY and CONFIGURATION_DIRECTORY
// (first entry of a colon-separated list) override the paths when set.
void applySystemdDirectories(Config& config);

// The effective configuration as YAML (for --dump-config), loadable again.
std::string dumpYaml(const Config& config);

}  // namespace omni::config
