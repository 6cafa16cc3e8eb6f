// The status LED against a temporary sysfs-like tree.
#include <set>

#include <gtest/gtest.h>

#include "drivers/led/status_led.hpp"
#include "tests/support/process.hpp"

namespace omni {
namespace {

using testing::readFile;
using testing::TemporaryDirectory;
using testing::writeFile;

class StatusLedTest : public ::testing::Test {
protected:
    TemporaryDirectory sysfs;
    void SetUp() override
    {
        std::filesystem::create_directories(sysfs / "status");
        for (const char* attribute : { "trigger", "brightness", "delay_on", "delay_off" })
            writeFile(sysfs / ("status/" + std::string(attribute)), "");
    }
    std::string attribute(const std::string& name) { return readFile(sysfs / ("status/" + name)); }
};

TEST_F(StatusLedTest, SucceededIsSolidOn)
{
    led::StatusLed led(sysfs.path(), "status");
    ASSERT_TRUE(led.show(led::Pattern::Succeeded));
    EXPECT_EQ(attribute("trigger"), "none");
    EXPECT_EQ(attribute("brightness"), "255");
    EXPECT_EQ(led.current(), led::Pattern::Succeeded);
}

TEST_F(StatusLedTest, FailedWorkingAndWaitingBlinkDifferently)
{
    led::StatusLed led(sysfs.path(), "status");
    std::set<std::pair<std::string, std::string>> seen;
    for (auto pattern : { led::Pattern::Waiting, led::Pattern::Working, led::Pattern::Failed }) {
        ASSERT_TRUE(led.show(pattern));
        EXPECT_EQ(attribute("trigger"), "timer");
        seen.insert({ attribute("delay_on"), attribute("delay_off") });
    }
    EXPECT_EQ(seen.size(), 3U) << "two patterns look the same";
    ASSERT_TRUE(led.show(led::Pattern::Failed));
    EXPECT_EQ(attribute("delay_on"), "1000");
}

TEST_F(StatusLedTest, OffTurnsItOff)
{
    led::StatusLed led(sysfs.path(), "status");
    ASSERT_TRUE(led.show(led::Pattern::Succeeded));
    ASSERT_TRUE(led.show(led::Pattern::Off));
    EXPECT_EQ(attribute("brightness"), "0");
}

TEST_F(StatusLedTest, MissingLedIsAClearErrorAndNoLedIsANoOp)
{
    led::StatusLed missing(sysfs.path(), "absent");
    const auto probed = missing.probe();
    ASSERT_FALSE(probed);
    EXPECT_NE(probed.error().message.find("absent"), std::string::npos);
    EXPECT_FALSE(missing.show(led::Pattern::Working));
    led::StatusLed none(sysfs.path(), "");
    EXPECT_TRUE(none.probe());
    EXPECT_TRUE(none.show(led::Pattern::Failed));
}

} // namespace
} // namespace omni
