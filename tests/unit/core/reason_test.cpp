#include <set>
#include <string>

#include <gtest/gtest.h>

#include "daemon/core/reason.hpp"

namespace omni {
namespace {

TEST(ReasonCodes, EveryCodeHasUniqueNameMessageIdAndAdvice)
{
    std::size_t count = 0;
    const ReasonInfo* reasons = allReasons(count);
    std::set<std::string_view> names;
    std::set<std::string_view> ids;
    for (std::size_t i = 0; i < count; ++i) {
        const ReasonInfo& info = reasons[i];
        EXPECT_EQ(static_cast<std::size_t>(info.code), i) << info.name << " is out of declaration order";
        EXPECT_TRUE(names.insert(info.name).second) << "duplicate name " << info.name;
        EXPECT_TRUE(ids.insert(info.messageId).second) << "duplicate MESSAGE_ID for " << info.name;
        EXPECT_EQ(info.messageId.size(), 32U) << info.name;
        EXPECT_EQ(info.messageId.find_first_not_of("0123456789abcdef"), std::string_view::npos) << info.name;
        EXPECT_GT(info.advice.size(), 20U) << info.name << " needs advice for a technician";
    }
}

TEST(ReasonCodes, StringFormRoundTrips)
{
    std::size_t count = 0;
    const ReasonInfo* reasons = allReasons(count);
    for (std::size_t i = 0; i < count; ++i)
        EXPECT_EQ(reasonFromString(toString(reasons[i].code)), reasons[i].code);
    EXPECT_EQ(reasonFromString("NO_SUCH_CODE"), std::nullopt);
    EXPECT_EQ(toString(ReasonCode::CertExpired), "CERT_EXPIRED");
}

} // namespace
} // namespace omni

#include <fstream>
#include <sstream>

namespace omni {
namespace {

TEST(ReasonCodes, EveryCodeHasAJournalCatalogEntry)
{
    std::ifstream stream(OMNI_CATALOG_PATH);
    ASSERT_TRUE(stream) << "cannot open " << OMNI_CATALOG_PATH;
    std::stringstream content;
    content << stream.rdbuf();
    const std::string catalog = content.str();
    std::size_t count = 0;
    const ReasonInfo* reasons = allReasons(count);
    for (std::size_t i = 0; i < count; ++i) {
        const auto header = "-- " + std::string(reasons[i].messageId)
            + "\nSubject: omni-provision: " + std::string(reasons[i].name) + "\n";
        const auto at = catalog.find(header);
        ASSERT_NE(at, std::string::npos) << reasons[i].name << " has no catalog entry";
        const auto next = catalog.find("\n-- ", at + header.size());
        const auto entry = catalog.substr(at, next - at);
        EXPECT_NE(entry.find("What to do:"), std::string::npos) << reasons[i].name;
    }
}

} // namespace
} // namespace omni
