#pragma once
// The schema of config.yaml as one table of keys. Each key is declared once:
// its place in the document ("trust.time_tolerance_seconds"), its kind of
// value (type, range, what a message says was expected; config/values.hpp)
// and the Config member it sets. Its default is that member's initialiser
// in config.hpp, read through the same accessor. Reading a document
// (applyDocument) and the dump (dumpYaml) both walk this table, so a key
// cannot be read without being dumped or dumped without being read.
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "config/config.hpp"
#include "config/values.hpp"
#include "config/yaml_tree.hpp"

namespace omni::config::schema {

// Every value of each enum, in the order messages list them.
inline constexpr std::array kDnsBackends { DnsBackend::Auto, DnsBackend::Resolved, DnsBackend::ResolvConf,
    DnsBackend::None };
inline constexpr std::array kNtpBackends { NtpBackend::Auto, NtpBackend::Timesyncd, NtpBackend::Chrony,
    NtpBackend::None };
inline constexpr std::array kAfterSuccessActions { AfterSuccess::Keep, AfterSuccess::Rename };

using Status = tl::expected<void, yaml::Problem>;

struct Key {
    std::string path; // dotted: "interfaces.Ethernet0.route_metric"
    // Reads `value` (found at `path`) into its member of `config`.
    std::function<Status(const yaml::Node& value, const std::string& path, Config& config)> read;
    // The member's value as the dump writes it.
    std::function<values::Dumped(const Config& config)> dump;
    // A section written as `~` reads as this key written as `~`
    // (`interfaces.Ethernet0: ~` unmaps the port); any other null section
    // changes nothing.
    bool readsNullSection = false;
};

// The table, in the order of the shipped config.yaml and of the dump.
const std::vector<Key>& keys();

// The table as the document nests it: each section's keys and subsections
// in the order they first appear in the table.
struct Section {
    struct Child {
        std::string name;
        const Key* key = nullptr; // a key, or else
        std::unique_ptr<Section> section; // a section
    };
    std::vector<Child> children;

    const Child* find(std::string_view name) const; // nullptr: not in the schema
    std::vector<std::string_view> names() const; // the allowed keys, in order
};

const Section& document();

// Applies a document's root (a mapping of the sections) to `config`, key by
// key: only the keys present change; an unknown key, a wrong type or a bad
// value is a Problem where it stands. schema_version is judged first.
Status applyDocument(const yaml::Node& root, Config& config);

} // namespace omni::config::schema
