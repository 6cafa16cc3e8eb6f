#include "config/schema.hpp"

#include <cstdint>
#include <limits>
#include <utility>

namespace omni::config::schema {

namespace {

using values::fail;
using values::join;
using yaml::Node;

constexpr std::array<std::string_view, 3> kFilesystems { "vfat", "exfat", "ext4" };
constexpr std::string_view kSchemaVersionKey = "schema_version";

// A key of `kind` stored where `member(config)` points. `member` is a
// generic lambda, `[](auto& c) -> auto& { return c.usb.filesystems; }`, so
// the one accessor serves both reading (Config&) and the dump (const Config&).
template <class Kind, class Member>
Key key(std::string path, Kind kind, Member member, bool readsNullSection = false)
{
    auto read = [kind, member](const Node& value, const std::string& at, Config& config) -> Status {
        auto read = kind.read(value, at);
        if (!read) {
            return tl::unexpected(std::move(read.error()));
        }
        member(config) = std::move(*read);
        return {};
    };
    auto dump = [kind, member](const Config& config) { return values::Dumped(kind.dump(member(config))); };
    return Key { std::move(path), std::move(read), std::move(dump), readsNullSection };
}

std::vector<Key> makeTable()
{
    using namespace values;
    std::vector<Key> table;
    table.push_back(key(
        std::string(kSchemaVersionKey), SchemaVersion {},
        [](auto& config) -> auto& { return config.schemaVersion; }));

    table.push_back(key(
        "usb.connector_id_path", IdPath { .emptyAllowed = true },
        [](auto& config) -> auto& { return config.usb.connectorIdPath; }));
    table.push_back(key(
        "usb.require_superspeed", Boolean {},
        [](auto& config) -> auto& { return config.usb.requireSuperSpeed; }));
    table.push_back(key(
        "usb.filesystems",
        List<OneOf> { .what = "filesystem types (" + join(kFilesystems) + ")",
            .item = OneOf { kFilesystems },
            .flow = true,
            .distinctNoun = "filesystem" },
        [](auto& config) -> auto& { return config.usb.filesystems; }));

    table.push_back(key(
        "trust.anchors",
        List<AbsolutePath> {
            .what = "absolute paths of PEM certificates", .item = {}, .flow = false, .distinctNoun = {} },
        [](auto& config) -> auto& { return config.trust.anchors; }));
    table.push_back(key(
        "trust.time_tolerance_seconds", Integer { 0, 300 },
        [](auto& config) -> auto& { return config.trust.timeToleranceSeconds; }));
    table.push_back(key(
        "trust.max_certificate_lifetime_seconds", Integer { 1, 86400 },
        [](auto& config) -> auto& { return config.trust.maxCertificateLifetimeSeconds; }));

    table.push_back(key(
        "device.expected_name", DeviceName {},
        [](auto& config) -> auto& { return config.device.expectedName; }));

    for (network::EthernetPort port : network::kEthernetPorts) {
        const std::string section = "interfaces." + std::string(network::toString(port));
        table.push_back(key(
            section + ".match",
            Matcher {}, [port](auto& config) -> auto& { return config.interfaces[port].matcher; },
            /*readsNullSection=*/true));
        table.push_back(key(
            section + ".route_metric",
            Integer { 0, std::numeric_limits<std::uint32_t>::max() }, [port](auto& config) -> auto& {
                return config.interfaces[port].routeMetric;
            }));
    }

    table.push_back(key(
        "dns.backend", EnumOf { kDnsBackends }, [](auto& config) -> auto& { return config.dns.backend; }));
    table.push_back(key(
        "dns.resolv_conf_path", AbsolutePath {},
        [](auto& config) -> auto& { return config.dns.resolvConfPath; }));

    table.push_back(key(
        "ntp.backend", EnumOf { kNtpBackends }, [](auto& config) -> auto& { return config.ntp.backend; }));
    table.push_back(key(
        "ntp.timesyncd_dropin_dir", AbsolutePath {},
        [](auto& config) -> auto& { return config.ntp.timesyncdDropInDirectory; }));
    table.push_back(key(
        "ntp.chrony_sources_path", AbsolutePath {},
        [](auto& config) -> auto& { return config.ntp.chronySourcesPath; }));

    table.push_back(key(
        "dhcp.dhcpcd_path", AbsolutePath {}, [](auto& config) -> auto& { return config.dhcp.dhcpcdPath; }));
    table.push_back(key(
        "dhcp.hook_path", AbsolutePath {}, [](auto& config) -> auto& { return config.dhcp.hookPath; }));

    table.push_back(key(
        "state.directory", AbsolutePath {}, [](auto& config) -> auto& { return config.stateDirectory; }));
    table.push_back(key(
        "state.runtime_directory", AbsolutePath {},
        [](auto& config) -> auto& { return config.runtimeDirectory; }));

    table.push_back(key(
        "stick.write_report", Boolean {}, [](auto& config) -> auto& { return config.stick.writeReport; }));
    table.push_back(key(
        "stick.after_success", EnumOf { kAfterSuccessActions },
        [](auto& config) -> auto& { return config.stick.afterSuccess; }));

    table.push_back(key(
        "led.name", LedName {}, [](auto& config) -> auto& { return config.led.name; }));
    table.push_back(key(
        "led.sysfs_root", AbsolutePath {}, [](auto& config) -> auto& { return config.led.sysfsRoot; }));
    return table;
}

Section makeDocument(const std::vector<Key>& table)
{
    Section root;
    for (const Key& entry : table) {
        Section* section = &root;
        std::string_view rest = entry.path;
        for (std::size_t dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
            const std::string_view name = rest.substr(0, dot);
            rest.remove_prefix(dot + 1);
            const Section::Child* found = section->find(name);
            if (found == nullptr) {
                section->children.push_back({ std::string(name), nullptr, std::make_unique<Section>() });
                found = &section->children.back();
            }
            section = found->section.get();
        }
        section->children.push_back({ std::string(rest), &entry, nullptr });
    }
    return root;
}

std::string childPath(const std::string& path, std::string_view key)
{
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// A null section (`usb:` with every line commented out) changes nothing,
// but for the keys that read it as their own null.
Status applyNullSection(const Section& section, const Node& null, const std::string& path, Config& config)
{
    for (const Section::Child& child : section.children) {
        if (child.key != nullptr && child.key->readsNullSection) {
            if (auto applied = child.key->read(null, childPath(path, child.name), config); !applied) {
                return applied;
            }
        }
    }
    return {};
}

Status applySection(const Section& section, const Node& node, const std::string& path, Config& config)
{
    if (node.kind == Node::Kind::Null) {
        return applyNullSection(section, node, path, config);
    }
    const std::vector<std::string_view> allowed = section.names();
    if (node.kind != Node::Kind::Mapping) {
        return fail(node, path,
            "expected a mapping with the keys " + join(allowed) + ", got " + yaml::describe(node));
    }
    for (const yaml::Entry& entry : node.entries) {
        const Section::Child* child = section.find(entry.key.text);
        if (child == nullptr) {
            const std::string where = path.empty() ? "at the top level" : "in " + path;
            return fail(entry.key, "",
                "unknown key " + yaml::quote(entry.key.text) + " " + where
                    + "; allowed keys: " + join(allowed));
        }
        const std::string keyPath = childPath(path, entry.key.text);
        const Status applied = child->key != nullptr
            ? child->key->read(entry.value, keyPath, config)
            : applySection(*child->section, entry.value, keyPath, config);
        if (!applied) {
            return applied;
        }
    }
    return {};
}

} // namespace

const Section::Child* Section::find(std::string_view name) const
{
    for (const Child& child : children) {
        if (child.name == name) {
            return &child;
        }
    }
    return nullptr;
}

std::vector<std::string_view> Section::names() const
{
    std::vector<std::string_view> names;
    for (const Child& child : children) {
        names.push_back(child.name);
    }
    return names;
}

const std::vector<Key>& keys()
{
    static const std::vector<Key> table = makeTable();
    return table;
}

const Section& document()
{
    static const Section root = makeDocument(keys());
    return root;
}

Status applyDocument(const Node& root, Config& config)
{
    const Section& sections = document();
    if (root.kind != Node::Kind::Mapping) {
        return fail(root, "",
            "the configuration must be a mapping of the sections " + join(sections.names()) + ", got "
                + yaml::describe(root));
    }
    // The version decides how everything else is read, so it is judged
    // first wherever it stands in the file.
    const Key& version = *sections.find(kSchemaVersionKey)->key;
    for (const yaml::Entry& entry : root.entries) {
        if (entry.key.text == kSchemaVersionKey) {
            if (auto checked = version.read(entry.value, version.path, config); !checked) {
                return checked;
            }
        }
    }
    return applySection(sections, root, "", config);
}

} // namespace omni::config::schema
