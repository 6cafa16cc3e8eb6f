#include "daemon/core/time/time.hpp"

#include <array>
#include <cstdio>

namespace omni::time {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

struct CivilDate {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

// Howard Hinnant's civil_from_days, the inverse of daysFromCivil.
CivilDate civilFromDays(std::int64_t days)
{
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const auto dayOfEra = static_cast<unsigned>(days - era * 146097);
    const unsigned yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
    const unsigned dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
    const unsigned monthIndex = (5 * dayOfYear + 2) / 153;
    const unsigned day = dayOfYear - (153 * monthIndex + 2) / 5 + 1;
    const unsigned month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
    const std::int64_t year = static_cast<std::int64_t>(yearOfEra) + era * 400 + (month <= 2 ? 1 : 0);
    return { year, month, day };
}

bool isLeapYear(std::int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

std::optional<int> parseDigits(std::string_view text, std::size_t position, std::size_t count)
{
    if (position + count > text.size()) {
        return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = position; i < position + count; ++i) {
        if (text[i] < '0' || text[i] > '9') {
            return std::nullopt;
        }
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

struct DateTimeFields {
    int year;
    int month;
    int day;
    int hour;
    int minute;
    int second;
};

// A real date, hours 0-23, minutes 0-59, seconds 0-60 (a leap second).
bool isValidDateTime(const DateTimeFields& fields)
{
    return isValidDate(fields.year, fields.month, fields.day) && fields.hour <= 23 && fields.minute <= 59
        && fields.second <= 60;
}

// A leap second (:60) counts as the first second of the next minute.
UnixTime toUnixTime(const DateTimeFields& fields)
{
    const std::int64_t days
        = daysFromCivil(fields.year, static_cast<unsigned>(fields.month), static_cast<unsigned>(fields.day));
    return days * kSecondsPerDay + fields.hour * 3600 + fields.minute * 60 + fields.second;
}

// The calendar fields of a time, formatted with pattern (year, month, day,
// hour, minute, second).
std::string formatWith(const char* pattern, UnixTime time)
{
    const std::int64_t days = (time >= 0 ? time : time - (kSecondsPerDay - 1)) / kSecondsPerDay;
    const std::int64_t secondsOfDay = time - days * kSecondsPerDay;
    const CivilDate date = civilFromDays(days);
    std::array<char, 64> buffer {};
    std::snprintf(buffer.data(), buffer.size(), pattern, static_cast<long long>(date.year), date.month,
        date.day, static_cast<long long>(secondsOfDay / 3600), static_cast<long long>(secondsOfDay / 60 % 60),
        static_cast<long long>(secondsOfDay % 60));
    return buffer.data();
}

} // namespace

// Howard Hinnant's days_from_civil: proleptic Gregorian, independent of the
// C library's time_t range and time zone.
std::int64_t daysFromCivil(std::int64_t year, unsigned month, unsigned day)
{
    year -= month <= 2 ? 1 : 0;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto yearOfEra = static_cast<unsigned>(year - era * 400);
    const unsigned dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
    return era * 146097 + static_cast<std::int64_t>(dayOfEra) - 719468;
}

bool isValidDate(std::int64_t year, int month, int day)
{
    static constexpr std::array<int, 12> kDays { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month < 1 || month > 12 || day < 1) {
        return false;
    }
    const int daysInMonth = month == 2 && isLeapYear(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
    return day <= daysInMonth;
}

std::string formatRfc3339(UnixTime time)
{
    return formatWith("%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", time);
}

std::optional<UnixTime> parseRfc3339(std::string_view text)
{
    const auto year = parseDigits(text, 0, 4);
    const auto month = parseDigits(text, 5, 2);
    const auto day = parseDigits(text, 8, 2);
    const auto hour = parseDigits(text, 11, 2);
    const auto minute = parseDigits(text, 14, 2);
    const auto second = parseDigits(text, 17, 2);
    if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-'
        || (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
        return std::nullopt;
    }
    const DateTimeFields fields { *year, *month, *day, *hour, *minute, *second };
    if (!isValidDateTime(fields)) {
        return std::nullopt;
    }
    std::size_t position = 19;
    if (position < text.size() && text[position] == '.') {
        const std::size_t fractionStart = ++position;
        while (position < text.size() && text[position] >= '0' && text[position] <= '9') {
            ++position;
        }
        if (position == fractionStart) {
            return std::nullopt;
        }
    }
    if (position >= text.size()) {
        return std::nullopt;
    }
    std::int64_t offsetSeconds = 0;
    const char designator = text[position];
    if (designator == 'Z' || designator == 'z') {
        ++position;
    } else if (designator == '+' || designator == '-') {
        const auto offsetHours = parseDigits(text, position + 1, 2);
        const auto offsetMinutes = parseDigits(text, position + 4, 2);
        if (!offsetHours || !offsetMinutes || text[position + 3] != ':' || *offsetHours > 23
            || *offsetMinutes > 59) {
            return std::nullopt;
        }
        offsetSeconds = (*offsetHours * 3600 + *offsetMinutes * 60) * (designator == '+' ? 1 : -1);
        position += 6;
    } else {
        return std::nullopt;
    }
    if (position != text.size()) {
        return std::nullopt;
    }
    return toUnixTime(fields) - offsetSeconds;
}

std::optional<UnixTime> parseIso8601BasicUtc(std::string_view text)
{
    if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') {
        return std::nullopt;
    }
    const auto year = parseDigits(text, 0, 4);
    const auto month = parseDigits(text, 4, 2);
    const auto day = parseDigits(text, 6, 2);
    const auto hour = parseDigits(text, 9, 2);
    const auto minute = parseDigits(text, 11, 2);
    const auto second = parseDigits(text, 13, 2);
    if (!year || !month || !day || !hour || !minute || !second) {
        return std::nullopt;
    }
    const DateTimeFields fields { *year, *month, *day, *hour, *minute, *second };
    // 23:59:60 would carry into the next day, whose date is not the one
    // written (and SigV4's credential scope names that written date).
    if (!isValidDateTime(fields) || (fields.hour == 23 && fields.minute == 59 && fields.second == 60)) {
        return std::nullopt;
    }
    return toUnixTime(fields);
}

std::string formatIso8601BasicUtc(UnixTime time)
{
    return formatWith("%04lld%02u%02uT%02lld%02lld%02lldZ", time);
}

std::int64_t microsecondsBetween(
    std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to)
{
    return std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
}

std::int64_t microsecondsSince(std::chrono::steady_clock::time_point start)
{
    return microsecondsBetween(start, std::chrono::steady_clock::now());
}

} // namespace omni::time
