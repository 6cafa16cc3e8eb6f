// Every stage event's MESSAGE_ID has an entry in the journal catalog, and
// no two MESSAGE_IDs (events and reason codes) collide.
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "daemon/device/log/journal.hpp"

namespace omni {
namespace {

std::string catalogText()
{
    std::ifstream stream(OMNI_CATALOG_PATH);
    std::stringstream content;
    content << stream.rdbuf();
    return content.str();
}

TEST(JournalCatalog, EveryEventHasAnEntryWithAdvice)
{
    const std::string catalog = catalogText();
    ASSERT_FALSE(catalog.empty()) << OMNI_CATALOG_PATH;
    std::size_t count = 0;
    const log::EventInfo* events = log::allEvents(count);
    for (std::size_t i = 0; i < count; ++i) {
        EXPECT_EQ(static_cast<std::size_t>(events[i].event), i) << events[i].name;
        const auto at = catalog.find("-- " + std::string(events[i].messageId) + "\n");
        ASSERT_NE(at, std::string::npos) << events[i].name << " has no catalog entry";
        const auto entry = catalog.substr(at, catalog.find("\n-- ", at + 1) - at);
        EXPECT_NE(entry.find("Subject: "), std::string::npos) << events[i].name;
        EXPECT_NE(entry.find("What to do:"), std::string::npos) << events[i].name;
    }
}

TEST(JournalCatalog, MessageIdsAreUniqueAcrossEventsAndReasons)
{
    std::set<std::string_view> ids;
    std::size_t count = 0;
    const log::EventInfo* events = log::allEvents(count);
    for (std::size_t i = 0; i < count; ++i)
        EXPECT_TRUE(ids.insert(events[i].messageId).second) << events[i].name;
    const ReasonInfo* reasons = allReasons(count);
    for (std::size_t i = 0; i < count; ++i)
        EXPECT_TRUE(ids.insert(reasons[i].messageId).second) << reasons[i].name;
    // The catalog holds exactly these entries, each once.
    const std::string catalog = catalogText();
    std::size_t entries = 0;
    for (auto at = catalog.find("\n-- "); at != std::string::npos; at = catalog.find("\n-- ", at + 1))
        ++entries;
    EXPECT_EQ(entries, ids.size());
}

} // namespace
} // namespace omni
