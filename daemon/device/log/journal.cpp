#include "daemon/device/log/journal.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "daemon/core/text/text.hpp"

namespace omni::log {
namespace {

constexpr std::array<EventInfo, 16> kEvents { {
    { Event::DaemonStarted, "DAEMON_STARTED", "58ba4924b3f7420d99e2af5ad489fa31", "omni-provisiond started",
        "The daemon started, loaded its configuration and state, re-applied any persisted network "
        "configuration, and now waits for a provisioning stick on the configured USB 3.0 connector.",
        "Nothing. Plug in a stick holding certificates-omni_<device-name>.zip to provision the device." },
    { Event::DaemonStopping, "DAEMON_STOPPING", "648dfbd6472542cd8d066dddce855edc",
        "omni-provisiond stopping",
        "The daemon is shutting down; an attempt in progress was completed or rolled back and the stick "
        "unmounted.",
        "Nothing, unless the stop was unexpected: then see the lines before this one." },
    { Event::StickSeen, "STICK_SEEN", "45759474734f4bf6ab0c0691b9c56b17",
        "a USB stick was seen on the provisioning connector",
        "A block device with a supported filesystem appeared on the configured USB connector; the daemon "
        "mounts it read-only and looks for an archive.",
        "Nothing; the result follows." },
    { Event::StickIgnored, "STICK_IGNORED", "d694ddc694924ff88406d54aca7a2abe", "a USB stick was ignored",
        "A storage device appeared on a port other than the configured provisioning connector, or with an "
        "unsupported filesystem, or at USB 2 speed while usb.require_superspeed is set. The message names "
        "the port it was seen on and the one expected.",
        "Plug the stick into the USB 3.0 port next to the HDMI output. Use a FAT32 or exFAT stick. If the "
        "connector is wrong in the configuration, fix usb.connector_id_path." },
    { Event::StickSlowSpeed, "STICK_SLOW_SPEED", "3bf03e0076ba4d64a4b0aed2119ca86d",
        "a USB stick runs at USB 2 speed on the provisioning connector",
        "The stick enumerated at High-Speed (480 Mbit/s) on the right connector: it is a USB 2 stick, or it "
        "is not fully inserted. It is accepted because usb.require_superspeed is off.",
        "Nothing is required. For faster and more reliable provisioning use a USB 3 stick and push it fully "
        "in." },
    { Event::AttemptSucceeded, "ATTEMPT_SUCCEEDED", "37f420e2e2a1471b858a60fda2daacc6",
        "the device was provisioned",
        "An archive passed every check and its network configuration was applied, verified and persisted; "
        "the credentials are stored for the next stage.",
        "Nothing. Remove the stick; a receipt was written to it." },
    { Event::ConfigurationReapplied, "CONFIGURATION_REAPPLIED", "acfcf425cd79442fb89d1ccadb48a890",
        "the persisted network configuration was re-applied",
        "At start the daemon re-applied the network configuration of the last successful provisioning "
        "(idempotently: nothing changes when it is already in force).",
        "Nothing." },
    { Event::ConfigurationReloaded, "CONFIGURATION_RELOADED", "e107699530b146fda1b08caaf358dc38",
        "the daemon configuration was reloaded",
        "SIGHUP (systemctl reload) loaded the configuration again and it is now in force.", "Nothing." },
    { Event::ConfigurationRejected, "CONFIGURATION_REJECTED", "82a64ba35a9f45779b21651941bc40f6",
        "the daemon configuration is invalid",
        "The configuration file has an error (FILE:LINE:COLUMN in the message). At start the daemon refuses "
        "to run; on reload it keeps the previous configuration.",
        "Fix the file and check it with: omni-provisiond --verify-config" },
    { Event::ReportWritten, "REPORT_WRITTEN", "4ad3a447c05e4f31bb8cef3253cd2f54",
        "a receipt was written to the stick",
        "After the attempt the daemon wrote omni-provision-report_<name>.txt and .json to the stick's root.",
        "Nothing." },
    { Event::ReportFailed, "REPORT_FAILED", "423ed3e6c6d248ff8bb97f41e2fd7863",
        "the receipt could not be written to the stick",
        "The stick could not be remounted read-write or the write failed (write-protected or full stick, or "
        "the stick was pulled). The attempt's result is unaffected.",
        "Use a writable stick with free space if you need the receipt; the journal and omni-provision status "
        "have the same information." },
    { Event::StickRemoved, "STICK_REMOVED", "5d54ba29cd4c4b239f8484b3aeefcfe2", "the stick was removed",
        "The stick was unplugged; any mount was detached.", "Nothing." },
    { Event::TrustAnchorMissing, "TRUST_ANCHOR_MISSING", "6ee4796e67e94291a1a6da59676dd67b",
        "no usable trust anchor is installed",
        "A trust anchor file of trust.anchors is missing, unreadable or holds no valid PEM certificate "
        "(the message names the file and what is wrong). The daemon runs, but every stick is refused "
        "with CERT_UNTRUSTED until the anchors load; it looks at the files again before each stick, so "
        "no restart is needed.",
        "Install the root certificate of your provisioning CA (root.pem from 'omni-provision ca init') "
        "at the path the message names, by default /etc/omni-provision/trust/root.pem, then plug the "
        "stick in again." },
    { Event::TrustAnchorsLoaded, "TRUST_ANCHORS_LOADED", "278cdb8b46ec4cf9abfe84c8bd0aa3e3",
        "the trust anchors were loaded",
        "The trust anchor files of trust.anchors changed or appeared since the last stick and were "
        "loaded; sticks are now judged against them.",
        "Nothing." },
    { Event::AnyUsbPort, "USB_ANY_PORT", "8efe372bb5294bc687cc6a64525b90ad",
        "no USB connector is configured: sticks are accepted on any USB port",
        "usb.connector_id_path is empty, so every USB storage device with a supported filesystem is "
        "read, whichever port it is plugged into.",
        "Nothing is required. To accept sticks only on the provisioning connector, set "
        "usb.connector_id_path to its udev ID_PATH (see config.yaml)." },
    { Event::DeviceReset, "DEVICE_RESET", "e4d2e7f1409e4ad4a177daf9a724e5fb",
        "the device was reset to AWAITING_PROVISIONING",
        "omni-provision reset (or the daemon finishing a reset that was interrupted) stopped our DHCP "
        "clients, removed our addresses, routes, DNS and NTP overrides, deleted the credentials and the "
        "state, and kept the list of applied archives. The device waits for a provisioning stick as a "
        "fresh one does.",
        "Nothing. Plug in a stick with a new archive to provision the device again; an archive already "
        "applied on this device is still ALREADY_APPLIED." },
} };

Sink configuredSink = Sink::Automatic;
bool debugEnabled = false;
std::mutex outputMutex;

// systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream our stderr is
// connected to; when it matches, the journal is listening.
bool stderrIsJournal()
{
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream)
        return false;
    struct stat status { };
    if (fstat(STDERR_FILENO, &status) != 0)
        return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2)
        return false;
    return device == static_cast<unsigned long long>(status.st_dev)
        && inode == static_cast<unsigned long long>(status.st_ino);
}

bool useJournal()
{
    static const bool automatic = stderrIsJournal();
    return configuredSink == Sink::Journal || (configuredSink == Sink::Automatic && automatic);
}

const char* priorityName(Priority priority)
{
    switch (priority) {
    case Priority::Error:
        return "error";
    case Priority::Warning:
        return "warning";
    case Priority::Notice:
        return "notice";
    case Priority::Info:
        return "info";
    case Priority::Debug:
        return "debug";
    }
    return "info";
}

} // namespace

const EventInfo& eventInfo(Event event)
{
    return kEvents[static_cast<std::size_t>(event)];
}

const EventInfo* allEvents(std::size_t& count)
{
    count = kEvents.size();
    return kEvents.data();
}

void setSink(Sink sink)
{
    configuredSink = sink;
}

void setDebug(bool enabled)
{
    debugEnabled = enabled;
}

std::vector<std::string> journalFields(Priority priority, std::string_view messageId,
    const std::string& message, const std::vector<Field>& fields)
{
    std::vector<std::string> lines;
    lines.reserve(fields.size() + 4);
    lines.push_back("MESSAGE=" + text::printable(message));
    lines.push_back("PRIORITY=" + std::to_string(static_cast<int>(priority)));
    lines.push_back("SYSLOG_IDENTIFIER=omni-provisiond");
    if (!messageId.empty())
        lines.push_back("MESSAGE_ID=" + std::string(messageId));
    for (const auto& field : fields)
        lines.push_back(field.name + "=" + text::printable(field.value));
    return lines;
}

std::string stderrLine(Priority priority, const std::string& message, const std::vector<Field>& fields)
{
    std::string line = std::string(priorityName(priority)) + ": " + text::printable(message);
    for (const auto& field : fields)
        line += " " + field.name + "=" + text::printable(field.value);
    return line;
}

void write(Priority priority, std::string_view messageId, const std::string& message,
    const std::vector<Field>& fields)
{
    if (priority == Priority::Debug && !debugEnabled)
        return;
    if (useJournal()) {
        auto lines = journalFields(priority, messageId, message, fields);
        std::vector<iovec> vectors;
        for (auto& line : lines)
            vectors.push_back({ line.data(), line.size() });
        if (sd_journal_sendv(vectors.data(), static_cast<int>(vectors.size())) >= 0)
            return;
    }
    const std::string line = stderrLine(priority, message, fields);
    std::lock_guard lock(outputMutex);
    std::cerr << line << std::endl;
}

std::string statusAssignment(std::string_view status)
{
    return "STATUS=" + text::printable(status);
}

void notifyStatus(std::string_view status)
{
    sd_notify(0, statusAssignment(status).c_str());
}

void plain(Priority priority, const std::string& message, const std::vector<Field>& fields)
{
    write(priority, {}, message, fields);
}

} // namespace omni::log
