// Text from a stick is data, never control: the escaping every output uses.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/core/text/json_text.hpp"
#include "daemon/core/text/text.hpp"

namespace omni::text {
namespace {

const std::string kHostileTagKey = "a\nMAINPID=1234\nWATCHDOG=trigger\n\x1b[2J";

bool hasControlOrInvalid(const std::string& text)
{
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F)
            return true;
    }
    return text.find("\xC2\x9B") != std::string::npos || firstInvalidUtf8(text).has_value();
}

TEST(Escaped, KeepsPlainAsciiAndLettersOfAnyScript)
{
    EXPECT_EQ(escaped("cam-01 at the lobby"), "cam-01 at the lobby");
    EXPECT_EQ(escaped("Zürich — 東京 😀"), "Zürich — 東京 😀");
    EXPECT_EQ(escaped(""), "");
}

TEST(Escaped, ShowsControlCharactersVisibly)
{
    EXPECT_EQ(escaped(kHostileTagKey), "a\\nMAINPID=1234\\nWATCHDOG=trigger\\n\\x1b[2J");
    EXPECT_EQ(escaped("\t\r\x7f"), "\\t\\r\\x7f");
    EXPECT_EQ(escaped(std::string("a\0b", 3)), "a\\x00b");
    EXPECT_EQ(escaped("\xC2\x9B"
                      "2J\xC2\x85"),
        "\\u009b2J\\u0085"); // C1 controls: 8-bit CSI and NEL
    EXPECT_EQ(escaped("\xC2\xA0"), "\xC2\xA0"); // U+00A0 is no control
}

TEST(Escaped, ShowsBytesThatAreNotUtf8AsHex)
{
    EXPECT_EQ(escaped("\xff\xff"), "\\xFF\\xFF");
    EXPECT_EQ(escaped("\xC0\xAF"), "\\xC0\\xAF"); // overlong '/'
    EXPECT_EQ(escaped("\xED\xA0\x80"), "\\xED\\xA0\\x80"); // a UTF-16 surrogate
    EXPECT_EQ(escaped("ok\xE2\x82"), "ok\\xE2\\x82"); // truncated sequence
    EXPECT_EQ(escaped("\xF4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80"); // beyond U+10FFFF
}

TEST(Escaped, EscapesTheBackslashSoTheResultIsUnambiguous)
{
    EXPECT_EQ(escaped("\\n"), "\\\\n");
    EXPECT_NE(escaped("\\x1b"), escaped("\x1b"));
    EXPECT_FALSE(hasControlOrInvalid(escaped(kHostileTagKey + "\xff\xC2\x9B")));
}

TEST(Printable, EscapesLikeEscapedButLeavesBackslashesAlone)
{
    EXPECT_EQ(printable(kHostileTagKey), "a\\nMAINPID=1234\\nWATCHDOG=trigger\\n\\x1b[2J");
    EXPECT_EQ(printable("C:\\path \xff"), "C:\\path \\xFF");
    EXPECT_EQ(
        printable("Waiting for a stick (any USB port) — 30 s"), "Waiting for a stick (any USB port) — 30 s");
}

TEST(Printable, NeverEscapesTwice)
{
    for (const std::string& hostile :
        { kHostileTagKey, std::string("\xff\xfe\\x41\xC2\x9B"), std::string("plain \\ text") }) {
        const std::string once = escaped(hostile);
        EXPECT_EQ(printable(once), once) << once;
        EXPECT_EQ(printable(printable(hostile)), printable(hostile));
        EXPECT_FALSE(hasControlOrInvalid(printable(hostile)));
    }
}

TEST(ValidUtf8, ReplacesOnlyTheBadBytes)
{
    EXPECT_EQ(validUtf8("Zürich"), "Zürich");
    EXPECT_EQ(validUtf8("a\xff"
                        "b"),
        "a\xEF\xBF\xBD"
        "b");
    EXPECT_EQ(validUtf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(validUtf8("line\none"), "line\none"); // controls are JSON's to escape
    EXPECT_FALSE(firstInvalidUtf8(validUtf8("\xC0\xAF\xED\xA0\x80\xff")).has_value());
}

TEST(FirstInvalidUtf8, FindsTheOffset)
{
    EXPECT_EQ(firstInvalidUtf8("ok"), std::nullopt);
    EXPECT_EQ(firstInvalidUtf8("ü\xff"), std::optional<std::size_t>(2));
    EXPECT_EQ(utf8SequenceLength("\xF0\x9F\x98\x80", 0), 4U);
    EXPECT_EQ(utf8SequenceLength("\xF0\x9F\x98", 0), 0U);
}

TEST(DumpJson, WritesInvalidUtf8AsReplacementCharacters)
{
    const nlohmann::json value { { "Message", "the PEM block is '\xff\xff'" }, { "Key", kHostileTagKey } };
    EXPECT_THROW((void)value.dump(), nlohmann::json::type_error);
    const std::string written = dumpJson(value);
    const auto parsed = nlohmann::json::parse(written);
    EXPECT_EQ(parsed["Message"], "the PEM block is '\xEF\xBF\xBD\xEF\xBF\xBD'");
    EXPECT_EQ(parsed["Key"], kHostileTagKey); // JSON escapes the controls itself
    EXPECT_EQ(written.find('\n'), std::string::npos);
    EXPECT_EQ(written.find('\x1b'), std::string::npos);

    nlohmann::ordered_json ordered;
    ordered["Archive"] = "certificates-omni_\xff.zip";
    EXPECT_EQ(nlohmann::json::parse(dumpJson(ordered, 2))["Archive"], "certificates-omni_\xEF\xBF\xBD.zip");
}

} // namespace
} // namespace omni::text
