// loadConfig (defaults -> config.yaml -> config.d/*.yaml), the systemd
// directory variables, and the shipped config/config.yaml.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "config/config.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/unit/config/custom_config.hpp"

namespace omni::config {
namespace {

namespace fs = std::filesystem;
using test::customConfig;

using omni::testing::TemporaryDirectory;

Config loadValid(const fs::path& mainFile, bool optional = false)
{
    auto loaded = loadConfig(mainFile, optional);
    EXPECT_TRUE(loaded.has_value()) << loaded.error().toString();
    return loaded.value_or(Config {});
}

TEST(LoadConfig, MainFileOnly)
{
    TemporaryDirectory directory;
    const fs::path main = directory.write("config.yaml", "led:\n  name: status\n");
    Config expected;
    expected.led.name = "status";
    EXPECT_EQ(loadValid(main), expected);
}

TEST(LoadConfig, DropInsApplyInNameOrderAndOverrideSingleKeys)
{
    TemporaryDirectory directory;
    const fs::path main = directory.write("config.yaml",
        "trust:\n  time_tolerance_seconds: 10\n  max_certificate_lifetime_seconds: 600\nled:\n  name: "
        "main\n");
    // Written in the opposite order to the one they must be applied in.
    directory.write("config.d/20-line.yaml", "led:\n  name: line\n");
    directory.write("config.d/10-site.yaml",
        "led:\n  name: site\n  sysfs_root: /run/test/leds\ntrust:\n  time_tolerance_seconds: 20\n");
    directory.write("config.d/15-metric.yaml", "interfaces:\n  Ethernet1:\n    route_metric: 250\n");

    Config expected;
    expected.trust.timeToleranceSeconds = 20; // 10-site over main
    expected.trust.maxCertificateLifetimeSeconds = 600; // main, untouched by drop-ins
    expected.led.name = "line"; // 20-line over 10-site over main
    expected.led.sysfsRoot = "/run/test/leds"; // 10-site, untouched by 20-line
    expected.interfaces.ethernet1.routeMetric = 250; // the match of eth1 stays
    EXPECT_EQ(loadValid(main), expected);
}

TEST(LoadConfig, NameOrderIsByteOrder)
{
    TemporaryDirectory directory;
    const fs::path main = directory.write("config.yaml", "");
    directory.write("config.d/a.yaml", "led: {name: lower}\n");
    directory.write("config.d/B.yaml", "led: {name: upper}\n");
    directory.write("config.d/10.yaml", "led: {name: digits}\n");
    EXPECT_EQ(loadValid(main).led.name, "lower"); // '1' < 'B' < 'a'
}

TEST(LoadConfig, OnlyVisibleYamlFilesAreDropIns)
{
    TemporaryDirectory directory;
    const fs::path main = directory.write("config.yaml", "");
    directory.write("config.d/README", "not: yaml: at all: [");
    directory.write("config.d/old.yml", "led: {name: yml}\n");
    directory.write("config.d/.10-editor.yaml", "led: {name: hidden}\n");
    directory.write("config.d/20-kept.yaml.dpkg-old", "led: {name: dpkg}\n");
    directory.write("config.d/subdir.yaml/inner.yaml", "led: {name: inner}\n");
    EXPECT_EQ(loadValid(main), Config {});
}

TEST(LoadConfig, ErrorInADropInNamesThatFile)
{
    TemporaryDirectory directory;
    const fs::path main = directory.write("config.yaml", "led: {name: main}\n");
    directory.write("config.d/10-ok.yaml", "led: {name: ok}\n");
    const fs::path bad
        = directory.write("config.d/20-bad.yaml", "# site\nstick:\n  write_report: sometimes\n");
    const auto loaded = loadConfig(main);
    ASSERT_FALSE(loaded.has_value());
    EXPECT_EQ(loaded.error().file, bad.string());
    EXPECT_EQ(loaded.error().line, 3);
    EXPECT_EQ(loaded.error().column, 17);
    EXPECT_EQ(loaded.error().toString(),
        bad.string() + ":3:17: stick.write_report: expected true or false, got \"sometimes\"");
}

TEST(LoadConfig, ErrorInTheMainFileNamesIt)
{
    TemporaryDirectory directory;
    const fs::path main = directory.write("config.yaml", "dns:\n  backend: bind\n");
    const auto loaded = loadConfig(main);
    ASSERT_FALSE(loaded.has_value());
    EXPECT_EQ(loaded.error().file, main.string());
    EXPECT_EQ(loaded.error().line, 2);
    EXPECT_EQ(loaded.error().column, 12);
}

TEST(LoadConfig, MissingMainFileIsAnErrorUnlessOptional)
{
    TemporaryDirectory directory;
    const fs::path main = directory.path() / "config.yaml";
    const auto loaded = loadConfig(main);
    ASSERT_FALSE(loaded.has_value());
    EXPECT_EQ(loaded.error().file, main.string());
    EXPECT_EQ(loaded.error().line, 0);
    EXPECT_NE(loaded.error().message.find("does not exist"), std::string::npos) << loaded.error().message;

    EXPECT_EQ(loadValid(main, true), Config {});
    directory.write("config.d/10-site.yaml", "led: {name: site}\n");
    EXPECT_EQ(loadValid(main, true).led.name, "site");
}

TEST(LoadConfig, MainFileMustBeARegularFileWithinTheLimit)
{
    TemporaryDirectory directory;
    fs::create_directories(directory.path() / "config.yaml");
    const auto directoryAsFile = loadConfig(directory.path() / "config.yaml", true);
    ASSERT_FALSE(directoryAsFile.has_value());
    EXPECT_NE(directoryAsFile.error().message.find("not a regular file"), std::string::npos);

    std::string huge = "#";
    huge.resize(kMaxDocumentBytes + 1, 'x');
    const fs::path big = directory.write("big/config.yaml", huge);
    const auto tooBig = loadConfig(big);
    ASSERT_FALSE(tooBig.has_value());
    EXPECT_NE(tooBig.error().message.find("over the limit"), std::string::npos) << tooBig.error().message;
}

TEST(LoadConfig, ConfigDThatIsAFileIsAnError)
{
    TemporaryDirectory directory;
    const fs::path main = directory.write("config.yaml", "");
    directory.write("config.d", "oops");
    const auto loaded = loadConfig(main);
    ASSERT_FALSE(loaded.has_value());
    EXPECT_EQ(loaded.error().file, (directory.path() / "config.d").string());
}

TEST(LoadConfig, ShippedConfigIsTheDefaults)
{
    EXPECT_EQ(loadValid(OMNI_SHIPPED_CONFIG_YAML), Config {});
}

// Every key --dump-config prints is documented in the shipped file, and the
// shipped file sets no key the dump lacks.
void collectKeyPaths(const YAML::Node& node, const std::string& prefix, std::set<std::string>& paths)
{
    if (!node.IsMap()) {
        return;
    }
    for (const auto& entry : node) {
        const std::string path = prefix + "/" + entry.first.as<std::string>();
        paths.insert(path);
        collectKeyPaths(entry.second, path, paths);
    }
}

TEST(LoadConfig, ShippedConfigDocumentsEveryKey)
{
    std::set<std::string> shipped;
    collectKeyPaths(YAML::LoadFile(OMNI_SHIPPED_CONFIG_YAML), "", shipped);
    std::set<std::string> dumped;
    collectKeyPaths(YAML::Load(dumpYaml(Config {})), "", dumped);
    EXPECT_EQ(shipped, dumped);
}

// ---------------------------------------------------------------------------
// systemd's directory variables.

class SystemdDirectories : public ::testing::Test {
protected:
    void SetUp() override
    {
        for (const char* name : kVariables) {
            if (const char* value = std::getenv(name)) {
                saved_.emplace_back(name, value);
            }
            ::unsetenv(name);
        }
    }

    void TearDown() override
    {
        for (const char* name : kVariables) {
            ::unsetenv(name);
        }
        for (const auto& [name, value] : saved_) {
            ::setenv(name.c_str(), value.c_str(), 1);
        }
    }

    static constexpr const char* kVariables[]
        = { "STATE_DIRECTORY", "RUNTIME_DIRECTORY", "CONFIGURATION_DIRECTORY" };
    std::vector<std::pair<std::string, std::string>> saved_;
};

TEST_F(SystemdDirectories, UnsetLeavesTheConfiguredPaths)
{
    Config config;
    config.stateDirectory = "/srv/state";
    applySystemdDirectories(config);
    EXPECT_EQ(config.stateDirectory, "/srv/state");
    EXPECT_EQ(config.runtimeDirectory, "/run/omni-provision");
    EXPECT_EQ(defaultMainFile(), "/etc/omni-provision/config.yaml");
}

TEST_F(SystemdDirectories, FirstEntryOverrides)
{
    ::setenv("STATE_DIRECTORY", "/var/lib/omni-provision-a:/var/lib/other", 1);
    ::setenv("RUNTIME_DIRECTORY", "/run/omni-provision-b", 1);
    ::setenv("CONFIGURATION_DIRECTORY", "/etc/omni-provision-c:/etc/other", 1);
    Config config = customConfig();
    applySystemdDirectories(config);
    EXPECT_EQ(config.stateDirectory, "/var/lib/omni-provision-a");
    EXPECT_EQ(config.runtimeDirectory, "/run/omni-provision-b");
    EXPECT_EQ(defaultMainFile(), "/etc/omni-provision-c/config.yaml");
    // Nothing else moves.
    Config expected = customConfig();
    expected.stateDirectory = config.stateDirectory;
    expected.runtimeDirectory = config.runtimeDirectory;
    EXPECT_EQ(config, expected);
}

TEST_F(SystemdDirectories, EmptyOrRelativeValuesAreIgnored)
{
    ::setenv("STATE_DIRECTORY", "", 1);
    ::setenv("RUNTIME_DIRECTORY", "relative/run", 1);
    ::setenv("CONFIGURATION_DIRECTORY", ":/etc/second", 1);
    Config config;
    applySystemdDirectories(config);
    EXPECT_EQ(config, Config {});
    EXPECT_EQ(defaultMainFile(), "/etc/omni-provision/config.yaml");
}

} // namespace
} // namespace omni::config
