#pragma once
// Structured logging for the journal: every line a MESSAGE_ID (the catalog in
// systemd/omni-provision.catalog explains each), OMNI_* fields, and plain
// lines on stderr when not running under journald.
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/reason.hpp"

namespace omni::log {

enum class Event {
    DaemonStarted,
    DaemonStopping,
    StickSeen,
    StickIgnored,
    StickSlowSpeed,
    AttemptSucceeded,
    ConfigurationReapplied,
    ConfigurationReloaded,
    ConfigurationRejected,
    ReportWritten,
    ReportFailed,
    StickRemoved,
    TrustAnchorMissing,
    TrustAnchorsLoaded,
    AnyUsbPort,
};

struct EventInfo {
    Event event;
    std::string_view name;
    std::string_view messageId;
    std::string_view subject;
    std::string_view explanation;
    std::string_view advice;
};

const EventInfo& eventInfo(Event event);
const EventInfo* allEvents(std::size_t& count);

// syslog priorities
enum class Priority { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

struct Field {
    std::string name; // e.g. "OMNI_REASON"
    std::string value;
};

// Where lines go: the journal (native protocol, structured) or stderr.
enum class Sink { Automatic, Journal, Stderr };
void setSink(Sink sink);
void setDebug(bool enabled);

void write(Priority priority, std::string_view messageId, const std::string& message,
    const std::vector<Field>& fields);
inline void event(
    Priority priority, Event what, const std::string& message, const std::vector<Field>& fields = {})
{
    write(priority, eventInfo(what).messageId, message, fields);
}
inline void reason(
    Priority priority, ReasonCode code, const std::string& message, std::vector<Field> fields = {})
{
    fields.push_back({ "OMNI_REASON", std::string(toString(code)) });
    write(priority, reasonInfo(code).messageId, message, fields);
}
void plain(Priority priority, const std::string& message, const std::vector<Field>& fields = {});

} // namespace omni::log
