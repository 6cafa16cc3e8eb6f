// applyYaml and dumpYaml: the schema of config/config.yaml, its strictness
// (FILE:LINE:COLUMN errors) and the --dump-config round trip.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "tests/unit/config/custom_config.hpp"

namespace omni::config {
namespace {

using network::InterfaceMatcher;
using network::MatchKind;
using test::customConfig;

const std::string kSource = "test.yaml";

Config applyValid(std::string_view yaml, const Config& base = Config {})
{
    auto applied = applyYaml(base, yaml, kSource);
    EXPECT_TRUE(applied.has_value()) << "rejected: " << applied.error().toString() << "\n" << yaml;
    return applied.value_or(base);
}

struct ExpectedError {
    int line;
    int column;
    std::vector<std::string> messageParts;
};

void expectError(std::string_view yaml, const ExpectedError& expected)
{
    const auto applied = applyYaml(Config {}, yaml, kSource);
    ASSERT_FALSE(applied.has_value()) << "accepted:\n" << yaml;
    const ConfigError& error = applied.error();
    EXPECT_EQ(error.file, kSource);
    EXPECT_EQ(error.line, expected.line) << error.toString();
    EXPECT_EQ(error.column, expected.column) << error.toString();
    for (const std::string& part : expected.messageParts) {
        EXPECT_NE(error.message.find(part), std::string::npos)
            << "message: " << error.message << "\nexpected to contain: " << part;
    }
}

TEST(ConfigDefaults, MatchTheDocumentedSchema)
{
    const Config config;
    EXPECT_EQ(config.schemaVersion, 1);
    EXPECT_EQ(config.usb.connectorIdPath, "");
    EXPECT_FALSE(config.usb.requireSuperSpeed);
    EXPECT_EQ(config.usb.filesystems, (std::vector<std::string> { "vfat", "exfat" }));
    EXPECT_EQ(
        config.trust.anchors, (std::vector<std::filesystem::path> { "/etc/omni-provision/trust/root.pem" }));
    EXPECT_EQ(config.trust.timeToleranceSeconds, 30);
    EXPECT_EQ(config.trust.maxCertificateLifetimeSeconds, 300);
    EXPECT_FALSE(config.device.expectedName.has_value());
    EXPECT_EQ(config.interfaces.ethernet0.matcher, (InterfaceMatcher { MatchKind::Name, "eth0" }));
    EXPECT_EQ(config.interfaces.ethernet0.routeMetric, 100U);
    EXPECT_EQ(config.interfaces.ethernet1.matcher, (InterfaceMatcher { MatchKind::Name, "eth1" }));
    EXPECT_EQ(config.interfaces.ethernet1.routeMetric, 200U);
    EXPECT_EQ(config.dns.backend, DnsBackend::Auto);
    EXPECT_EQ(config.dns.resolvConfPath, "/etc/resolv.conf");
    EXPECT_EQ(config.ntp.backend, NtpBackend::Auto);
    EXPECT_EQ(config.ntp.timesyncdDropInDirectory, "/etc/systemd/timesyncd.conf.d");
    EXPECT_EQ(config.ntp.chronySourcesPath, "/etc/chrony/sources.d/omni-provision.sources");
    EXPECT_EQ(config.dhcp.dhcpcdPath, "/usr/sbin/dhcpcd");
    EXPECT_EQ(config.stateDirectory, "/var/lib/omni-provision");
    EXPECT_EQ(config.runtimeDirectory, "/run/omni-provision");
    EXPECT_TRUE(config.stick.writeReport);
    EXPECT_EQ(config.stick.afterSuccess, AfterSuccess::Keep);
    EXPECT_EQ(config.led.name, "");
    EXPECT_EQ(config.led.sysfsRoot, "/sys/class/leds");
}

TEST(ConfigEnums, RoundTripThroughText)
{
    for (DnsBackend backend :
        { DnsBackend::Auto, DnsBackend::Resolved, DnsBackend::ResolvConf, DnsBackend::None }) {
        EXPECT_EQ(dnsBackendFromString(toString(backend)), backend);
    }
    for (NtpBackend backend :
        { NtpBackend::Auto, NtpBackend::Timesyncd, NtpBackend::Chrony, NtpBackend::None }) {
        EXPECT_EQ(ntpBackendFromString(toString(backend)), backend);
    }
    for (AfterSuccess action : { AfterSuccess::Keep, AfterSuccess::Rename }) {
        EXPECT_EQ(afterSuccessFromString(toString(action)), action);
    }
    EXPECT_EQ(toString(DnsBackend::ResolvConf), "resolv.conf");
    EXPECT_FALSE(dnsBackendFromString("Auto").has_value());
    EXPECT_FALSE(ntpBackendFromString("ntpd").has_value());
    EXPECT_FALSE(afterSuccessFromString("").has_value());
}

TEST(ConfigError, PrintsFileLineColumn)
{
    EXPECT_EQ((ConfigError { "/etc/x.yaml", 3, 7, "bad" }).toString(), "/etc/x.yaml:3:7: bad");
    EXPECT_EQ((ConfigError { "/etc/x.yaml", 0, 0, "missing" }).toString(), "/etc/x.yaml: missing");
}

TEST(ApplyYaml, EmptyDocumentsChangeNothing)
{
    const Config base = customConfig();
    for (std::string_view yaml : { "", "\n\n", "# only a comment\n", "---\n", "---\n...\n", "~\n" }) {
        SCOPED_TRACE(std::string(yaml));
        EXPECT_EQ(applyValid(yaml, base), base);
    }
}

TEST(ApplyYaml, NullSectionChangesNothing)
{
    const Config base = customConfig();
    EXPECT_EQ(applyValid("usb:\n  # connector_id_path: x\ntrust: ~\n", base), base);
}

TEST(ApplyYaml, FullFileSetsEveryKey)
{
    const Config config = applyValid(R"(schema_version: 1
usb:
  connector_id_path: "pci-0000:00:14.0-usb-0:2"
  require_superspeed: true
  filesystems: [ext4, vfat]
trust:
  anchors:
    - /etc/site/root-a.pem
    - "/etc/site/root-b.pem"
  time_tolerance_seconds: 0
  max_certificate_lifetime_seconds: 86400
device:
  expected_name: cam-01
interfaces:
  Ethernet0:
    match: {mac: 02-00-5E-10-00-01}
    route_metric: 4294967295
  Ethernet1:
    match:
      id_path: pci-0000:00:1f.6
    route_metric: 0
dns:
  backend: resolv.conf
  resolv_conf_path: /run/test/resolv.conf
ntp:
  backend: chrony
  timesyncd_dropin_dir: /run/test/timesyncd.conf.d
  chrony_sources_path: /run/test/omni.sources
dhcp:
  dhcpcd_path: /opt/dhcpcd/sbin/dhcpcd
  hook_path: /opt/dhcpcd/libexec/hook
state:
  directory: /run/test/state
  runtime_directory: /run/test/runtime
stick:
  write_report: false
  after_success: rename
led:
  name: "omni:green:status"
  sysfs_root: /run/test/leds
)");
    EXPECT_EQ(config, customConfig());
}

TEST(ApplyYaml, OverridesOnlyTheKeysPresent)
{
    const Config base = customConfig();
    const Config config = applyValid("trust:\n  time_tolerance_seconds: 45\n", base);
    Config expected = base;
    expected.trust.timeToleranceSeconds = 45;
    EXPECT_EQ(config, expected);
}

TEST(ApplyYaml, ListsReplaceTheWholeList)
{
    const Config config = applyValid("usb:\n  filesystems: [ext4]\n");
    EXPECT_EQ(config.usb.filesystems, std::vector<std::string> { "ext4" });
}

TEST(ApplyYaml, EmptyTextMeansNotSet)
{
    Config base;
    base.device.expectedName = "cam-01";
    base.usb.connectorIdPath = "pci-0000:00:14.0-usb-0:1";
    base.led.name = "status";
    const Config cleared = applyValid(
        "device: {expected_name: \"\"}\nusb: {connector_id_path: \"\"}\nled: {name: \"\"}\n", base);
    EXPECT_FALSE(cleared.device.expectedName.has_value());
    EXPECT_EQ(cleared.usb.connectorIdPath, "");
    EXPECT_EQ(cleared.led.name, "");
    const Config nulled
        = applyValid("device: {expected_name: ~}\nusb: {connector_id_path: ~}\nled: {name: ~}\n", base);
    EXPECT_EQ(nulled, cleared);
}

TEST(ApplyYaml, NumbersAsTextWhereTextIsExpected)
{
    EXPECT_EQ(applyValid("device: {expected_name: 1234}").device.expectedName, "1234");
    EXPECT_EQ(applyValid("device: {expected_name: \"true\"}").device.expectedName, "true");
}

// ---------------------------------------------------------------------------
// One wrong value per key, written as `section:\n  key: VALUE`; the error
// points at VALUE (line 2, after "  key: ").

struct ValueCase {
    std::string section;
    std::string key;
    std::string value;
    std::vector<std::string> messageParts;
};

class WrongValue : public testing::TestWithParam<ValueCase> { };

TEST_P(WrongValue, IsRejectedAtTheValue)
{
    const ValueCase& testCase = GetParam();
    const std::string yaml = testCase.section + ":\n  " + testCase.key + ": " + testCase.value + "\n";
    SCOPED_TRACE(yaml);
    std::vector<std::string> parts = testCase.messageParts;
    parts.push_back(testCase.section + "." + testCase.key + ": ");
    expectError(yaml, { 2, static_cast<int>(2 + testCase.key.size() + 2 + 1), parts });
}

INSTANTIATE_TEST_SUITE_P(Usb, WrongValue,
    testing::Values(
        ValueCase { "usb", "connector_id_path", "[a]", { "expected a udev ID_PATH", "got a list" } },
        ValueCase { "usb", "connector_id_path", "\"pci-0000:00:14.0 usb\"", { "no spaces" } },
        ValueCase { "usb", "connector_id_path", "true", { "got the boolean true" } },
        ValueCase { "usb", "require_superspeed", "yes", { "expected true or false", "\"yes\"" } },
        ValueCase { "usb", "require_superspeed", "True", { "expected true or false" } },
        ValueCase { "usb", "require_superspeed", "\"true\"", { "expected true or false", "quoted" } },
        ValueCase { "usb", "require_superspeed", "1", { "expected true or false" } },
        ValueCase { "usb", "require_superspeed", "{a: 1}", { "expected true or false", "got a mapping" } },
        ValueCase { "usb", "filesystems", "vfat", { "expected a list", "vfat, exfat, ext4" } },
        ValueCase { "usb", "filesystems", "[]", { "at least one" } }));

INSTANTIATE_TEST_SUITE_P(Trust, WrongValue,
    testing::Values(
        ValueCase { "trust", "anchors", "/etc/root.pem", { "expected a list of absolute paths" } },
        ValueCase { "trust", "anchors", "[]", { "at least one" } },
        ValueCase { "trust", "time_tolerance_seconds", "301", { "from 0 to 300", "301" } },
        ValueCase { "trust", "time_tolerance_seconds", "-1", { "from 0 to 300" } },
        ValueCase { "trust", "time_tolerance_seconds", "1.5", { "an integer", "1.5" } },
        ValueCase { "trust", "time_tolerance_seconds", "1e2", { "an integer" } },
        ValueCase { "trust", "time_tolerance_seconds", "0x1e", { "an integer" } },
        ValueCase { "trust", "time_tolerance_seconds", "030", { "leading zeros" } },
        ValueCase { "trust", "time_tolerance_seconds", "\"30\"", { "an integer", "quoted" } },
        ValueCase { "trust", "time_tolerance_seconds", "99999999999999999999", { "out of range" } },
        ValueCase { "trust", "time_tolerance_seconds", "[30]", { "got a list" } },
        ValueCase { "trust", "max_certificate_lifetime_seconds", "0", { "from 1 to 86400" } },
        ValueCase { "trust", "max_certificate_lifetime_seconds", "86401", { "from 1 to 86400" } }));

INSTANTIATE_TEST_SUITE_P(Device, WrongValue,
    testing::Values(ValueCase { "device", "expected_name", "cam 01", { "a-z, A-Z, 0-9", "\"cam 01\"" } },
        ValueCase { "device", "expected_name", "cam.01", { "a-z, A-Z, 0-9" } },
        ValueCase { "device", "expected_name", std::string(256, 'a'), { "1 to 255 characters" } },
        ValueCase { "device", "expected_name", "false", { "got the boolean false" } },
        ValueCase { "device", "expected_name", "[cam]", { "got a list" } }));

INSTANTIATE_TEST_SUITE_P(Backends, WrongValue,
    testing::Values(ValueCase { "dns", "backend", "systemd", { "one of auto, resolved, resolv.conf, none" } },
        ValueCase { "dns", "backend", "Auto", { "one of auto, resolved, resolv.conf, none" } },
        ValueCase { "dns", "resolv_conf_path", "etc/resolv.conf", { "absolute path" } },
        ValueCase { "ntp", "backend", "ntpd", { "one of auto, timesyncd, chrony, none", "\"ntpd\"" } },
        ValueCase { "ntp", "timesyncd_dropin_dir", "timesyncd.conf.d", { "absolute path" } },
        ValueCase { "ntp", "chrony_sources_path", "\"\"", { "absolute path" } },
        ValueCase { "dhcp", "dhcpcd_path", "dhcpcd", { "absolute path" } },
        ValueCase { "dhcp", "dhcpcd_path", "[/usr/sbin/dhcpcd]", { "absolute path", "got a list" } },
        ValueCase { "dhcp", "hook_path", "dhcpcd-hook", { "absolute path" } }));

INSTANTIATE_TEST_SUITE_P(StateStickLed, WrongValue,
    testing::Values(ValueCase { "state", "directory", "var/lib/omni-provision", { "absolute path" } },
        ValueCase { "state", "runtime_directory", "5", { "absolute path" } },
        ValueCase { "stick", "write_report", "\"no\"", { "expected true or false" } },
        ValueCase { "stick", "write_report", "off", { "expected true or false" } },
        ValueCase { "stick", "after_success", "delete", { "one of keep, rename" } },
        ValueCase { "led", "name", "../../power", { "no '/'" } },
        ValueCase { "led", "name", "..", { "no '/'" } },
        ValueCase { "led", "name", "\"bad\\x01\"", { "control characters", "\\x01" } },
        ValueCase { "led", "sysfs_root", "sys/class/leds", { "absolute path" } }));

INSTANTIATE_TEST_SUITE_P(Sections, WrongValue,
    testing::Values(ValueCase { "interfaces", "Ethernet0", "eth0",
                        { "expected a mapping with the keys match, route_metric" } },
        ValueCase { "interfaces", "Ethernet1", "[eth1]", { "expected a mapping", "got a list" } }));

TEST(ApplyYaml, WrongSectionTypeIsRejected)
{
    expectError("usb: [vfat]\n", { 1, 6, { "usb: expected a mapping with the keys connector_id_path" } });
    expectError("dns:\n  - auto\n", { 2, 3, { "dns: expected a mapping", "got a list" } });
}

TEST(ApplyYaml, WrongListItemIsRejectedAtTheItem)
{
    expectError("usb:\n  filesystems: [vfat, ntfs]\n",
        { 2, 23, { "usb.filesystems[1]: expected one of vfat, exfat, ext4", "\"ntfs\"" } });
    expectError(
        "usb:\n  filesystems: [vfat, exfat, vfat]\n", { 2, 30, { "usb.filesystems[2]", "listed twice" } });
    expectError("trust:\n  anchors:\n    - /etc/a.pem\n    - b.pem\n",
        { 4, 7, { "trust.anchors[1]: expected an absolute path", "\"b.pem\"" } });
}

TEST(ApplyYaml, EmptyValueIsReportedAtItsKey)
{
    expectError(
        "dhcp:\n  dhcpcd_path: ~\n", { 2, 3, { "dhcp.dhcpcd_path: expected an absolute path", "got null" } });
    expectError("stick:\n  write_report:\n  after_success: keep\n",
        { 2, 3, { "stick.write_report: expected true or false, got null" } });
}

TEST(ApplyYaml, SchemaVersionOtherThanOneIsRejected)
{
    expectError("schema_version: 2\n", { 1, 17, { "schema_version", "version 1 only, got 2" } });
    expectError("schema_version: \"1\"\n", { 1, 17, { "schema_version: expected an integer" } });
    expectError("schema_version: 1.0\n", { 1, 17, { "schema_version: expected an integer" } });
    // Judged before the rest, wherever it stands: a newer schema's keys are
    // not reported as unknown.
    expectError("future_section: {a: 1}\nschema_version: 2\n", { 2, 17, { "version 1 only" } });
    EXPECT_EQ(applyValid("schema_version: 1\n"), Config {});
}

TEST(ApplyYaml, UnknownKeysAreRejectedWithTheAllowedOnes)
{
    expectError("usb: {}\nusbb:\n  require_superspeed: true\n",
        { 2, 1,
            { "unknown key \"usbb\" at the top level; allowed keys: schema_version, usb, trust, device, "
              "interfaces, "
              "dns, ntp, dhcp, state, stick, led" } });
    expectError("trust:\n  time_tolerance_seconds: 30\n  tolerance: 30\n",
        { 3, 3,
            { "unknown key \"tolerance\" in trust; allowed keys: anchors, time_tolerance_seconds, "
              "max_certificate_lifetime_seconds" } });
    expectError("interfaces:\n  Ethernet2: {match: {name: eth2}}\n",
        { 2, 3, { "unknown key \"Ethernet2\" in interfaces; allowed keys: Ethernet0, Ethernet1" } });
    expectError("interfaces:\n  Ethernet0:\n    metric: 10\n",
        { 3, 5, { "unknown key \"metric\" in interfaces.Ethernet0; allowed keys: match, route_metric" } });
}

TEST(ApplyYaml, DuplicateKeysAreRejected)
{
    expectError("led:\n  name: a\nstick: {}\nled:\n  name: b\n",
        { 4, 1, { "duplicate key \"led\"", "first at line 1, column 1" } });
    expectError("led:\n  name: a\n  name: b\n", { 3, 3, { "duplicate key \"name\"", "line 2, column 3" } });
    expectError(
        "usb: {require_superspeed: true, require_superspeed: false}\n", { 1, 33, { "duplicate key" } });
}

TEST(ApplyYaml, SyntaxErrorsHaveAPosition)
{
    const auto applied
        = applyYaml(Config {}, "usb:\n  require_superspeed: true\n   filesystems: [vfat\n", kSource);
    ASSERT_FALSE(applied.has_value());
    EXPECT_GT(applied.error().line, 0);
    EXPECT_GT(applied.error().column, 0);
    EXPECT_NE(applied.error().message.find("YAML syntax error"), std::string::npos)
        << applied.error().message;

    expectError("led: {name: a}}\n", { 1, 15, { "YAML syntax error" } }); // the extra '}'
    expectError("led:\n  name: a\n name2: b\n", { 3, 2, { "YAML syntax error" } }); // the stray indentation
}

TEST(ApplyYaml, DocumentMustBeOneMapping)
{
    expectError("just text\n", { 1, 1, { "must be a mapping", "got \"just text\"" } });
    expectError("- usb\n", { 1, 1, { "must be a mapping", "got a list" } });
    expectError("usb: {}\n---\nled: {}\n", { 2, 1, { "second YAML document" } });
}

TEST(ApplyYaml, AliasesTagsAndBadTextAreRejected)
{
    expectError("led:\n  name: &n status\nstick:\n  after_success: *n\n", { 4, 18, { "aliases" } });
    expectError("led:\n  name: !!str status\n", { 2, 9, { "tags" } });
    expectError("led:\n  name: \"a\\x01b\"\n", { 2, 9, { "control characters" } });
    expectError("led:\n  name: \"\xff\xfe\"\n", { 2, 9, { "not valid UTF-8" } });
    expectError("led:\n  ? [name]\n  : x\n", { 2, 5, { "a mapping key must be a name" } });
    // UTF-8 that is well-formed is text like any other.
    EXPECT_EQ(applyValid("led: {sysfs_root: /run/test/l\xc3\xa9"
                         "ds}\n")
                  .led.sysfsRoot,
        "/run/test/l\xc3\xa9"
        "ds");
}

TEST(ApplyYaml, OversizedDocumentIsRefusedBeforeParsing)
{
    std::string atLimit = "#";
    atLimit.resize(kMaxDocumentBytes, 'x');
    EXPECT_EQ(applyValid(atLimit), Config {});
    const auto refused = applyYaml(Config {}, atLimit + "\n", kSource);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().line, 0);
    EXPECT_NE(refused.error().message.find("over the limit"), std::string::npos) << refused.error().message;
}

TEST(ApplyYaml, DeepNestingIsRefusedWithoutCrashing)
{
    for (const std::string& deep : { std::string(100000, '['), std::string(100000, '{'),
             [] {
                 std::string text;
                 for (int level = 0; level < 100000; ++level) {
                     text += "- ";
                 }
                 return text + "x\n";
             }(),
             [] {
                 std::string text;
                 for (int level = 0; level < 100000; ++level) {
                     text += "a: {";
                 }
                 return text;
             }() }) {
        const auto refused = applyYaml(Config {}, deep, kSource);
        ASSERT_FALSE(refused.has_value());
        EXPECT_NE(refused.error().message.find("nested deeper than 64"), std::string::npos)
            << refused.error().toString();
    }
}

TEST(ApplyYaml, NestingLimitIsExactly64)
{
    const auto nested = [](int depth) {
        return std::string(static_cast<std::size_t>(depth), '[')
            + std::string(static_cast<std::size_t>(depth), ']');
    };
    const auto atLimit = applyYaml(Config {}, nested(kMaxNestingDepth), kSource);
    ASSERT_FALSE(atLimit.has_value());
    EXPECT_NE(atLimit.error().message.find("must be a mapping"), std::string::npos)
        << atLimit.error().message;
    expectError(nested(kMaxNestingDepth + 1), { 1, kMaxNestingDepth + 1, { "nested deeper than 64" } });
}

TEST(ApplyYaml, BracketsInQuotesAndCommentsAreNotNesting)
{
    const std::string brackets(100, '[');
    const Config config = applyValid("# " + brackets + "\nled:\n  name: \"" + brackets + "\" # " + brackets
        + "\nusb:\n  connector_id_path: 'it''s" + brackets + "'\n");
    EXPECT_EQ(config.led.name, brackets);
    EXPECT_EQ(config.usb.connectorIdPath, "it's" + brackets);
}

TEST(ApplyYaml, TooManyValuesAreRefused)
{
    std::string flow = "trust:\n  anchors: [";
    std::string block = "trust:\n  anchors:\n";
    for (std::size_t item = 0; item <= kMaxNodeCount; ++item) {
        flow += "/a,";
        block += "    - /a\n";
    }
    for (const std::string& yaml : { flow + "/a]\n", block }) {
        const auto refused = applyYaml(Config {}, yaml, kSource);
        ASSERT_FALSE(refused.has_value());
        EXPECT_NE(refused.error().message.find("more than 10000 values"), std::string::npos)
            << refused.error().toString();
    }
    // Many anchors are fine below the limit.
    std::string many = "trust:\n  anchors:\n";
    for (int item = 0; item < 1000; ++item) {
        many += "    - /etc/trust/" + std::to_string(item) + ".pem\n";
    }
    EXPECT_EQ(applyValid(many).trust.anchors.size(), 1000U);
}

// ---------------------------------------------------------------------------
// Interfaces.

TEST(Interfaces, MatchByNameMacOrIdPath)
{
    const Config config = applyValid(R"(interfaces:
  Ethernet0: {match: {name: enp1s0}}
  Ethernet1: {match: {mac: "02-00-5E-10-00-0A"}}
)");
    EXPECT_EQ(config.interfaces.ethernet0.matcher, (InterfaceMatcher { MatchKind::Name, "enp1s0" }));
    // Kept in one spelling, whatever was written.
    EXPECT_EQ(config.interfaces.ethernet1.matcher,
        (InterfaceMatcher { MatchKind::MacAddress, "02:00:5e:10:00:0a" }));
    EXPECT_EQ(applyValid("interfaces: {Ethernet1: {match: {id_path: \"pci-0000:03:00.0\"}}}")
                  .interfaces.ethernet1.matcher,
        (InterfaceMatcher { MatchKind::IdPath, "pci-0000:03:00.0" }));
}

TEST(Interfaces, RouteMetricAloneKeepsTheMatch)
{
    const Config config = applyValid("interfaces:\n  Ethernet1:\n    route_metric: 300\n");
    EXPECT_EQ(config.interfaces.ethernet1.matcher, (InterfaceMatcher { MatchKind::Name, "eth1" }));
    EXPECT_EQ(config.interfaces.ethernet1.routeMetric, 300U);
    EXPECT_EQ(config.interfaces.ethernet0, Config {}.interfaces.ethernet0);
}

TEST(Interfaces, NullUnmapsAPort)
{
    const Config port = applyValid("interfaces:\n  Ethernet1: ~\n");
    EXPECT_FALSE(port.interfaces.ethernet1.matcher.has_value());
    EXPECT_EQ(port.interfaces.ethernet1.routeMetric, 200U);
    EXPECT_EQ(port.interfaces.ethernet0, Config {}.interfaces.ethernet0);

    const Config match = applyValid("interfaces:\n  Ethernet0:\n    match: ~\n    route_metric: 50\n");
    EXPECT_FALSE(match.interfaces.ethernet0.matcher.has_value());
    EXPECT_EQ(match.interfaces.ethernet0.routeMetric, 50U);

    // A later layer can map it again.
    const Config remapped = applyValid("interfaces: {Ethernet1: {match: {name: eth5}}}", port);
    EXPECT_EQ(remapped.interfaces.ethernet1.matcher, (InterfaceMatcher { MatchKind::Name, "eth5" }));
}

TEST(Interfaces, MatchNeedsExactlyOneForm)
{
    expectError("interfaces:\n  Ethernet0:\n    match: {name: eth0, mac: \"02:00:00:00:00:01\"}\n",
        { 3, 25,
            { "interfaces.Ethernet0.match: give exactly one of name, mac, id_path, found both name and "
              "mac" } });
    expectError("interfaces:\n  Ethernet0:\n    match:\n      id_path: pci-0000:00:1f.6\n      name: eth0\n",
        { 5, 7, { "found both id_path and name" } });
    expectError("interfaces:\n  Ethernet0:\n    match: {}\n",
        { 3, 12, { "exactly one of name, mac, id_path", "empty mapping" } });
    expectError("interfaces:\n  Ethernet0:\n    match: eth0\n",
        { 3, 12, { "a mapping with exactly one of name, mac, id_path" } });
    expectError("interfaces:\n  Ethernet0:\n    match: {ifname: eth0}\n",
        { 3, 13,
            { "unknown key \"ifname\" in interfaces.Ethernet0.match; allowed keys: name, mac, id_path" } });
}

TEST(Interfaces, MatchValuesAreValidated)
{
    const auto at = [](const std::string& form, const std::string& value) {
        return "interfaces:\n  Ethernet0:\n    match: {" + form + ": " + value + "}\n";
    };
    const int column = 19; // after "    match: {name: "
    expectError(at("name", "eth0-is-too-long"),
        { 3, column, { "interfaces.Ethernet0.match.name", "1 to 15 characters" } });
    expectError(at("name", "\"\""), { 3, column, { "1 to 15 characters" } });
    expectError(at("name", "a/b"), { 3, column, { "without '/'" } });
    expectError(at("name", "eth0:1"), { 3, column, { "':'" } });
    expectError(at("name", "\"eth 0\""), { 3, column, { "spaces" } });
    expectError(at("name", ".."), { 3, column, { "kernel interface name" } });
    expectError(at("mac", "\"02:00:00:00:00\""), { 3, column - 1, { "match.mac: expected a MAC address" } });
    expectError(at("mac", "\"02:00:00:00:00:0g\""), { 3, column - 1, { "MAC address" } });
    expectError(at("mac", "\"02:00-00:00:00:01\""), { 3, column - 1, { "MAC address" } });
    expectError(at("id_path", "\"\""), { 3, column + 3, { "match.id_path", "empty" } });
    expectError(at("id_path", "\"pci 0\""), { 3, column + 3, { "no spaces" } });
    EXPECT_EQ(applyValid(at("name", "eth0-not-2long")).interfaces.ethernet0.matcher->value, "eth0-not-2long");
}

TEST(Interfaces, RouteMetricRange)
{
    const auto metric = [](const std::string& value) {
        return "interfaces:\n  Ethernet0:\n    route_metric: " + value + "\n";
    };
    EXPECT_EQ(applyValid(metric("0")).interfaces.ethernet0.routeMetric, 0U);
    EXPECT_EQ(applyValid(metric("4294967295")).interfaces.ethernet0.routeMetric, 4294967295U);
    expectError(
        metric("4294967296"), { 3, 19, { "interfaces.Ethernet0.route_metric", "from 0 to 4294967295" } });
    expectError(metric("-1"), { 3, 19, { "from 0 to 4294967295" } });
    expectError(metric("high"), { 3, 19, { "an integer" } });
}

// ---------------------------------------------------------------------------
// --dump-config.

void expectRoundTrip(const Config& config)
{
    const std::string dumped = dumpYaml(config);
    const auto loaded = applyYaml(Config {}, dumped, "dump");
    ASSERT_TRUE(loaded.has_value()) << loaded.error().toString() << "\n" << dumped;
    EXPECT_EQ(*loaded, config) << dumped;
}

TEST(DumpYaml, RoundTripsTheDefaults)
{
    expectRoundTrip(Config {});
}

TEST(DumpYaml, RoundTripsEveryCustomValue)
{
    expectRoundTrip(customConfig());
}

TEST(DumpYaml, RoundTripsUnmappedPortsAndTheirMetrics)
{
    Config config;
    config.interfaces.ethernet0.matcher.reset();
    config.interfaces.ethernet1 = { std::nullopt, 12345 };
    expectRoundTrip(config);
}

TEST(DumpYaml, KeepsTextThatLooksLikeOtherTypes)
{
    Config config;
    config.device.expectedName = "true";
    config.led.name = "# not: a comment, [x] & *y ~";
    config.usb.connectorIdPath = "0123";
    config.trust.anchors = { "/etc/trust/\"quoted\" \\back\\slash.pem", "/etc/trust/null",
        "/etc/trust/r\xc3\xa9sum\xc3\xa9.pem" };
    expectRoundTrip(config);
    config.device.expectedName = "007";
    expectRoundTrip(config);
}

TEST(DumpYaml, EmitsEveryKeyOfTheSchema)
{
    const std::string dumped = dumpYaml(Config {});
    for (std::string_view key :
        { "schema_version:", "connector_id_path:", "require_superspeed:", "filesystems:", "anchors:",
            "time_tolerance_seconds:", "max_certificate_lifetime_seconds:", "expected_name:", "Ethernet0:",
            "Ethernet1:", "match:", "route_metric:", "backend:", "resolv_conf_path:", "timesyncd_dropin_dir:",
            "chrony_sources_path:", "dhcpcd_path:", "hook_path:", "directory:", "runtime_directory:",
            "write_report:", "after_success:", "name:", "sysfs_root:" }) {
        EXPECT_NE(dumped.find(key), std::string::npos) << key << " missing in\n" << dumped;
    }
}

} // namespace
} // namespace omni::config
