// RFC 3339 and ISO 8601 basic (X-Amz-Date) text, checked against the C
// library's timegm as an independent reference, and the duration helper.
#include <gtest/gtest.h>

#include <ctime>

#include "daemon/core/time/time.hpp"

namespace omni::time {
namespace {

UnixTime viaTimegm(int year, int month, int day, int hour, int minute, int second)
{
    std::tm fields {};
    fields.tm_year = year - 1900;
    fields.tm_mon = month - 1;
    fields.tm_mday = day;
    fields.tm_hour = hour;
    fields.tm_min = minute;
    fields.tm_sec = second;
    return static_cast<UnixTime>(timegm(&fields));
}

TEST(TimeFormatTest, FormatsRfc3339Utc)
{
    EXPECT_EQ(formatRfc3339(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(formatRfc3339(viaTimegm(2026, 11, 26, 2, 30, 0)), "2026-11-26T02:30:00Z");
    EXPECT_EQ(formatRfc3339(viaTimegm(2000, 2, 29, 23, 59, 59)), "2000-02-29T23:59:59Z");
    EXPECT_EQ(formatRfc3339(-1), "1969-12-31T23:59:59Z");
}

TEST(TimeFormatTest, ParsesRfc3339)
{
    const UnixTime reference = viaTimegm(2026, 11, 26, 2, 30, 0);
    EXPECT_EQ(parseRfc3339("2026-11-26T02:30:00Z"), reference);
    EXPECT_EQ(parseRfc3339("2026-11-26t02:30:00z"), reference);
    EXPECT_EQ(parseRfc3339("2026-11-26T02:30:00.999Z"), reference);
    EXPECT_EQ(parseRfc3339("2026-11-26T03:30:00+01:00"), reference);
    EXPECT_EQ(parseRfc3339("2026-11-25T21:00:00.5-05:30"), reference);
    EXPECT_EQ(parseRfc3339("2026-11-26T02:30:00+00:00"), reference);
    EXPECT_EQ(parseRfc3339("2024-02-29T00:00:00Z"), viaTimegm(2024, 2, 29, 0, 0, 0));
    EXPECT_EQ(parseRfc3339("1969-12-31T23:59:59Z"), -1);
    for (UnixTime sample : { UnixTime { 0 }, reference, UnixTime { 4102444799 } }) {
        EXPECT_EQ(parseRfc3339(formatRfc3339(sample)), sample);
    }
}

TEST(TimeFormatTest, Rfc3339LeapSecondIsTheNextMinutesFirst)
{
    // The manifest's CreatedAt accepts :60 (RFC 3339 allows it), even at the end of a day.
    EXPECT_EQ(parseRfc3339("2026-11-26T02:30:60Z"), viaTimegm(2026, 11, 26, 2, 31, 0));
    EXPECT_EQ(parseRfc3339("2016-12-31T23:59:60Z"), viaTimegm(2017, 1, 1, 0, 0, 0));
}

TEST(TimeFormatTest, RejectsAnythingElse)
{
    for (const char* text : { "", "2026-11-26", "2026-11-26T02:30:00", "2026-11-26 02:30:00Z",
             "2026-11-26T02:30Z", "2026-11-26T02:30:00.Z", "2026-11-26T02:30:00+0100",
             "2026-11-26T02:30:00+1:00", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
             "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T02:60:00Z",
             "2026-11-26T02:30:61Z", "2026-11-26T02:30:00+24:00", "2026-11-26T02:30:00Z ",
             " 2026-11-26T02:30:00Z", "20261-11-26T02:30:00Z", "2026-1-26T02:30:00Z", "2026-11-26T02:30:00ZZ",
             "+026-11-26T02:30:00Z", "2026-11-26X02:30:00Z" }) {
        EXPECT_EQ(parseRfc3339(text), std::nullopt) << text;
    }
}

// X-Amz-Date, the format AWS Signature Version 4 signs.
constexpr const char* kExampleDate = "20150830T123600Z";
constexpr UnixTime kExampleTime = 1440938160; // 2015-08-30T12:36:00Z

TEST(Iso8601BasicTest, RoundTripAndRefuseImpossibleDates)
{
    EXPECT_EQ(parseIso8601BasicUtc(kExampleDate), kExampleTime);
    EXPECT_EQ(formatIso8601BasicUtc(kExampleTime), kExampleDate);
    EXPECT_FALSE(parseIso8601BasicUtc("20150231T000000Z"));
    EXPECT_FALSE(parseIso8601BasicUtc("2015-08-30T12:36:00Z"));
    EXPECT_FALSE(parseIso8601BasicUtc("20150830T123600"));
}

TEST(Iso8601BasicTest, AgreesWithTimegm)
{
    for (const UnixTime sample : { UnixTime { 0 }, viaTimegm(2024, 2, 29, 23, 59, 59),
             viaTimegm(2000, 1, 1, 0, 0, 0), UnixTime { 4102444799 } }) {
        const std::string text = formatIso8601BasicUtc(sample);
        EXPECT_EQ(parseIso8601BasicUtc(text), sample) << text;
    }
    EXPECT_EQ(formatIso8601BasicUtc(4102444799), "20991231T235959Z");
}

TEST(Iso8601BasicTest, RejectsAnythingElse)
{
    // A leap second inside a day is the next minute's first; 23:59:60 would
    // be another day than the one written, which SigV4's scope date names.
    EXPECT_EQ(parseIso8601BasicUtc("20150830T123660Z"), viaTimegm(2015, 8, 30, 12, 37, 0));
    for (const char* text : { "", "20150830T235960Z", "20150830T123661Z", "20150830T243600Z",
             "20150830T126000Z", "20151301T000000Z", "20150001T000000Z", "20150800T000000Z",
             "20150229T000000Z", "20150830t123600Z", "20150830T123600z", "20150830T123600Z ",
             "2015083T123600ZZ", "+0150830T123600Z", "20150830 123600Z", "20150830T12360Z" }) {
        EXPECT_EQ(parseIso8601BasicUtc(text), std::nullopt) << text;
    }
}

TEST(DurationTest, MicrosecondsSinceCountsForward)
{
    const auto earlier = std::chrono::steady_clock::now() - std::chrono::milliseconds(5);
    EXPECT_GE(microsecondsSince(earlier), 5000);
    EXPECT_LE(microsecondsSince(std::chrono::steady_clock::now()), microsecondsSince(earlier));
}

} // namespace
} // namespace omni::time
