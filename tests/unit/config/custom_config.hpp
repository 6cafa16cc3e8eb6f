#pragma once
// A configuration with every value different from the default, for tests
// that must see each key change.
#include "config/config.hpp"

namespace omni::config::test {

inline Config customConfig()
{
    Config config;
    config.usb.connectorIdPath = "pci-0000:00:14.0-usb-0:2";
    config.usb.requireSuperSpeed = true;
    config.usb.filesystems = { "ext4", "vfat" };
    config.trust.anchors = { "/etc/site/root-a.pem", "/etc/site/root-b.pem" };
    config.trust.timeToleranceSeconds = 0;
    config.trust.maxCertificateLifetimeSeconds = 86400;
    config.device.expectedName = "cam-01";
    config.interfaces.ethernet0
        = { network::InterfaceMatcher { network::MatchKind::MacAddress, "02:00:5e:10:00:01" }, 4294967295U };
    config.interfaces.ethernet1
        = { network::InterfaceMatcher { network::MatchKind::IdPath, "pci-0000:00:1f.6" }, 0 };
    config.dns = { DnsBackend::ResolvConf, "/run/test/resolv.conf" };
    config.ntp = { NtpBackend::Chrony, "/run/test/timesyncd.conf.d", "/run/test/omni.sources" };
    config.dhcp.dhcpcdPath = "/opt/dhcpcd/sbin/dhcpcd";
    config.dhcp.hookPath = "/opt/dhcpcd/libexec/hook";
    config.stick = { false, AfterSuccess::Rename };
    config.led = { "omni:green:status", "/run/test/leds" };
    config.stateDirectory = "/run/test/state";
    config.runtimeDirectory = "/run/test/runtime";
    return config;
}

} // namespace omni::config::test
