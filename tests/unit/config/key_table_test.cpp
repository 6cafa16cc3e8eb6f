// The key table of config/schema.hpp against the dump: the dump writes
// exactly the table's keys, in its order, and each key reads and dumps the
// same Config member and no other. A key read without being dumped (or
// dumped without being read) fails here.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "config/yaml_tree.hpp"
#include "tests/unit/config/custom_config.hpp"

namespace omni::config {
namespace {

using test::customConfig;

std::vector<std::string> tablePaths()
{
    std::vector<std::string> paths;
    for (const schema::Key& key : schema::keys()) {
        paths.push_back(key.path);
    }
    return paths;
}

bool isTableKey(const std::string& path)
{
    const std::vector<std::string> paths = tablePaths();
    return std::find(paths.begin(), paths.end(), path) != paths.end();
}

yaml::Node parsed(const std::string& text)
{
    auto root = yaml::parseDocument(text);
    EXPECT_TRUE(root.has_value() && root->has_value()) << text;
    return root.has_value() && root->has_value() ? **root : yaml::Node {};
}

// The dotted paths of a dumped document, in document order: a mapping is
// descended into unless its path is a key of the table (a matcher's value
// is a mapping); anything else is a leaf.
void collectDumpedKeys(const yaml::Node& node, const std::string& prefix, std::vector<std::string>& paths)
{
    for (const yaml::Entry& entry : node.entries) {
        const std::string path = prefix.empty() ? entry.key.text : prefix + "." + entry.key.text;
        if (entry.value.kind == yaml::Node::Kind::Mapping && !isTableKey(path)) {
            collectDumpedKeys(entry.value, path, paths);
        } else {
            paths.push_back(path);
        }
    }
}

const yaml::Node* nodeAt(const yaml::Node& root, std::string_view path)
{
    const yaml::Node* node = &root;
    while (node != nullptr) {
        const std::string_view name = path.substr(0, path.find('.'));
        const yaml::Node* child = nullptr;
        for (const yaml::Entry& entry : node->entries) {
            if (entry.key.text == name) {
                child = &entry.value;
            }
        }
        if (name.size() == path.size()) {
            return child;
        }
        path.remove_prefix(name.size() + 1);
        node = child;
    }
    return nullptr;
}

TEST(KeyTable, PathsAreUniqueAndDotted)
{
    std::vector<std::string> paths = tablePaths();
    ASSERT_FALSE(paths.empty());
    for (const std::string& path : paths) {
        EXPECT_FALSE(
            path.empty() || path.front() == '.' || path.back() == '.' || path.find("..") != std::string::npos)
            << path;
    }
    std::sort(paths.begin(), paths.end());
    EXPECT_EQ(std::adjacent_find(paths.begin(), paths.end()), paths.end());
}

TEST(KeyTable, DumpWritesExactlyTheTableKeysInTableOrder)
{
    Config unmapped = customConfig();
    unmapped.interfaces.ethernet1.matcher.reset();
    for (const Config& config : { Config {}, customConfig(), unmapped }) {
        std::vector<std::string> dumped;
        collectDumpedKeys(parsed(dumpYaml(config)), "", dumped);
        EXPECT_EQ(dumped, tablePaths()) << dumpYaml(config);
    }
}

// For each key: its value from the dump of customConfig(), read by the key
// into the defaults, dumps back as that value, leaves every other key at its
// default, and the result survives the whole dump round trip.
TEST(KeyTable, EachKeyReadsAndDumpsItsOwnMember)
{
    const Config defaults;
    const Config custom = customConfig();
    const yaml::Node customDump = parsed(dumpYaml(custom));
    for (const schema::Key& key : schema::keys()) {
        SCOPED_TRACE(key.path);
        const yaml::Node* value = nodeAt(customDump, key.path);
        ASSERT_NE(value, nullptr);
        Config config = defaults;
        const auto read = key.read(*value, key.path, config);
        ASSERT_TRUE(read.has_value()) << read.error().message;
        EXPECT_TRUE(key.dump(config) == key.dump(custom));
        if (key.path != "schema_version") { // the one value that cannot differ
            EXPECT_NE(config, defaults) << "customConfig() should set " << key.path;
        }
        for (const schema::Key& other : schema::keys()) {
            if (&other != &key) {
                EXPECT_TRUE(other.dump(config) == other.dump(defaults)) << "changed " << other.path;
            }
        }
        const auto reloaded = applyYaml(Config {}, dumpYaml(config), "dump");
        ASSERT_TRUE(reloaded.has_value()) << reloaded.error().toString();
        EXPECT_EQ(*reloaded, config);
    }
}

TEST(KeyTable, DocumentShapeFollowsTheTable)
{
    const schema::Section& document = schema::document();
    const std::vector<std::string_view> topLevel = document.names();
    EXPECT_EQ(topLevel,
        (std::vector<std::string_view> { "schema_version", "usb", "trust", "device", "interfaces", "dns",
            "ntp", "dhcp", "state", "stick", "led" }));
    const schema::Section::Child* interfaces = document.find("interfaces");
    ASSERT_NE(interfaces, nullptr);
    ASSERT_NE(interfaces->section, nullptr);
    EXPECT_EQ(interfaces->section->names(), (std::vector<std::string_view> { "Ethernet0", "Ethernet1" }));
    EXPECT_EQ(document.find("usbb"), nullptr);
}

} // namespace
} // namespace omni::config
