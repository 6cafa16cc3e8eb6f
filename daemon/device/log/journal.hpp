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
    DeviceReset,
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

// What write() sends, as pure functions. Messages and field values may quote
// a stick's or a request's text, so each is made one printable line
// (text::printable): a newline can neither start a forged field nor a forged
// line, and no escape sequence reaches a terminal.
std::vector<std::string> journalFields(Priority priority, std::string_view messageId,
    const std::string& message, const std::vector<Field>& fields);
std::string stderrLine(Priority priority, const std::string& message, const std::vector<Field>& fields);

// "STATUS=<one line>" for sd_notify, which reads every line of its argument
// as an assignment: a raw "\nWATCHDOG=trigger" in a status would restart the
// daemon, "\nMAINPID=" would make systemd watch another process.
std::string statusAssignment(std::string_view status);
void notifyStatus(std::string_view status);

} // namespace omni::log
