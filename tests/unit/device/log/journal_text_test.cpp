// What reaches the journal, stderr and sd_notify's STATUS= when a message or
// a field quotes a stick's text: one printable line each, never a new field.
#include <algorithm>

#include <gtest/gtest.h>

#include "daemon/device/log/journal.hpp"

namespace omni::log {
namespace {

const std::string kHostileTagKey = "a\nMAINPID=1234\nWATCHDOG=trigger\n\x1b[2J";

bool isOneCleanLine(const std::string& text)
{
    return std::none_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7F || byte == 0xFF;
    });
}

TEST(JournalText, MessageAndFieldValuesAreOneLineEach)
{
    const auto lines = journalFields(Priority::Error, "0123", "MANIFEST_INVALID: Tags." + kHostileTagKey,
        { { "OMNI_ARCHIVE", "certificates-omni_\xff\n.zip" } });
    ASSERT_EQ(lines.size(), 5U);
    EXPECT_EQ(lines[0], "MESSAGE=MANIFEST_INVALID: Tags.a\\nMAINPID=1234\\nWATCHDOG=trigger\\n\\x1b[2J");
    EXPECT_EQ(lines[1], "PRIORITY=3");
    EXPECT_EQ(lines[3], "MESSAGE_ID=0123");
    EXPECT_EQ(lines[4], "OMNI_ARCHIVE=certificates-omni_\\xFF\\n.zip");
    for (const auto& line : lines)
        EXPECT_TRUE(isOneCleanLine(line)) << line;
}

TEST(JournalText, PlainMessagesAreUnchanged)
{
    const std::string message = "Provisioned as cam-01 from certificates-omni_cam-01.zip — done";
    EXPECT_EQ(journalFields(Priority::Info, {}, message, {}).front(), "MESSAGE=" + message);
    EXPECT_EQ(stderrLine(Priority::Info, message, { { "OMNI_REASON", "NONE" } }),
        "info: " + message + " OMNI_REASON=NONE");
}

TEST(JournalText, StderrLinesCannotForgeLines)
{
    const auto line = stderrLine(Priority::Warning, "set aside " + kHostileTagKey, { { "F", "x\ny" } });
    EXPECT_EQ(line, "warning: set aside a\\nMAINPID=1234\\nWATCHDOG=trigger\\n\\x1b[2J F=x\\ny");
    EXPECT_TRUE(isOneCleanLine(line));
}

TEST(StatusAssignment, IsASingleAssignment)
{
    const auto status = statusAssignment("Last attempt failed: MANIFEST_INVALID — Tags." + kHostileTagKey);
    EXPECT_EQ(status,
        "STATUS=Last attempt failed: MANIFEST_INVALID — Tags.a\\nMAINPID=1234\\nWATCHDOG=trigger\\n\\x1b[2J");
    EXPECT_EQ(status.find('\n'), std::string::npos); // sd_notify splits on newlines only
    EXPECT_EQ(
        statusAssignment("Waiting for a provisioning stick"), "STATUS=Waiting for a provisioning stick");
    EXPECT_EQ(statusAssignment("label \xff\xff"), "STATUS=label \\xFF\\xFF");
}

} // namespace
} // namespace omni::log
