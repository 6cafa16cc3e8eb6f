#pragma once
// The one place that turns seconds since the epoch into calendar text and
// back, and measures durations. Pure: no time zone, no C library time_t range
// (proleptic Gregorian over int64 seconds), so messages read the same on
// every device and in every test.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omni::time {

// Seconds since the Unix epoch, UTC.
using UnixTime = std::int64_t;

// Days from 1970-01-01 to the given proleptic Gregorian date (month 1-12,
// day 1-31; not validated).
std::int64_t daysFromCivil(std::int64_t year, unsigned month, unsigned day);

// Whether year/month/day names a real date (month 1-12, day within the month).
bool isValidDate(std::int64_t year, int month, int day);

// RFC 3339 UTC ("2026-11-26T02:30:00Z") for messages and JSON.
std::string formatRfc3339(UnixTime time);

// RFC 3339 section 5.6 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM),
// with 't'/'z' accepted as the RFC's note allows, the day checked against the
// month and leap year, a leap second (:60) accepted and counted as the first
// second of the next minute, the fraction ignored. Nothing else: no spaces, no
// "+0100", no missing seconds.
std::optional<UnixTime> parseRfc3339(std::string_view text);

// ISO 8601 basic format in UTC, "20150830T123600Z": the X-Amz-Date of AWS
// Signature Version 4. A different grammar from RFC 3339 on purpose (SigV4
// signs this exact text), so a separate pair of functions. As RFC 3339 above,
// except that 23:59:60 is refused (SigV4 verification has always refused it).
std::optional<UnixTime> parseIso8601BasicUtc(std::string_view text);
std::string formatIso8601BasicUtc(UnixTime time);

// Microseconds from one point of the monotonic clock to a later one, and
// from one point to now (journal timings).
std::int64_t microsecondsBetween(
    std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to);
std::int64_t microsecondsSince(std::chrono::steady_clock::time_point start);

} // namespace omni::time
