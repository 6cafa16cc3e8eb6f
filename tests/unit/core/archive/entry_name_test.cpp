// The name rule of check 8 and the way names are shown in messages.
#include <gtest/gtest.h>

#include "daemon/core/archive/entry_name.hpp"

namespace omni::archive::detail {
namespace {

TEST(EntryName, AcceptsPlainRootNames)
{
    for (const char* name : { "manifest.json", "certificate.pem", "a b", ".hidden", "x.", "readme" }) {
        EXPECT_FALSE(entryNameProblem(name).has_value()) << name;
    }
}

TEST(EntryName, RefusesEverythingThatLeavesTheRoot)
{
    using namespace std::string_literals;
    for (const std::string& name : { ""s, "/"s, "/etc/passwd"s, "\\x"s, "C:x"s, "z:"s, "./x"s, ".\\x"s, ".."s,
             "../x"s, "a/../b"s, "x.."s, "a/b"s, "dir/"s, "a\\b"s, "."s, "\0"s, "x\0"s }) {
        EXPECT_TRUE(entryNameProblem(name).has_value()) << "'" << printableEntryName(name) << "'";
    }
}

TEST(EntryName, ShowsOnlyPrintableAscii)
{
    EXPECT_EQ(printableEntryName("manifest.json"), "manifest.json");
    EXPECT_EQ(printableEntryName(std::string("a\0b", 3)), "a\\x00b");
    EXPECT_EQ(printableEntryName("tab\there\n"), "tab\\x09here\\x0a");
    EXPECT_EQ(printableEntryName("it's"), "it\\x27s");
    EXPECT_EQ(printableEntryName("\xc3\xa9"), "\\xc3\\xa9");
}

TEST(EntryName, ShownNamesAreBounded)
{
    const std::string shown = printableEntryName(std::string(65535, '\x01'));
    EXPECT_LT(shown.size(), 200u);
    EXPECT_EQ(shown.substr(shown.size() - 3), "...");
}

} // namespace
} // namespace omni::archive::detail
