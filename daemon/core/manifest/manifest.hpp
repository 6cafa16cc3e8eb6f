#pragma once
// The ProvisionDevice request shapes with every constraint of the Panorama
// API model (botocore panorama/2019-07-24/service-2.json), the device rules of
// DESIGN.md section 4, and manifest.json (section 2). Pure: JSON in, model out.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "daemon/core/manifest/enrollment.hpp"
#include "daemon/core/result.hpp"

namespace omni::manifest {

inline constexpr std::size_t kMaxManifestBytes = 64 * 1024;
// Containers nested deeper than this are refused (the real shape needs 5).
inline constexpr int kMaxManifestDepth = 32;
// certificates-omni_<Name>.zip must fit a 255-byte file name.
inline constexpr std::size_t kMaxNameForFileName = 255 - std::string_view("certificates-omni_.zip").size();

struct FieldError {
    std::string path; // e.g. NetworkingConfiguration.Ethernet0.StaticIpConnectionInfo.Dns[1]
    std::string message;
};

enum class ConnectionType { StaticIp, Dhcp };

struct StaticIpConnectionInfo {
    std::string ipAddress;
    std::string mask;
    std::string defaultGateway;
    std::vector<std::string> dns;
    // Parsed forms, filled by validation (host byte order).
    std::uint32_t address = 0;
    int prefixLength = 0;
    std::uint32_t gateway = 0;
};

struct EthernetPayload {
    ConnectionType connectionType = ConnectionType::Dhcp;
    // Present when the request had one (for DHCP it is validated, then ignored).
    std::optional<StaticIpConnectionInfo> staticIp;
};

struct NtpPayload {
    std::vector<std::string> servers;
};

struct NetworkingConfiguration {
    std::optional<EthernetPayload> ethernet0;
    std::optional<EthernetPayload> ethernet1;
    std::optional<NtpPayload> ntp;
};

struct ProvisionRequest {
    std::string name;
    std::optional<std::string> description;
    std::map<std::string, std::string> tags;
    std::optional<NetworkingConfiguration> networking;
};

struct Manifest {
    ProvisionRequest request; // Name, Description, Tags, NetworkingConfiguration
    std::string deviceId;
    std::string arn;
    std::string iotThingName;
    std::optional<std::string> createdAt;
    std::optional<Enrollment> enrollment; // section 10: where to enrol
    std::vector<std::string> unknownKeys; // ignored; the caller may log them at debug
};

// A ProvisionDevice request body already parsed as JSON. Every violation of
// the model and of section 4, in document order (members in the model's
// order), so an API answer can list them all.
tl::expected<ProvisionRequest, std::vector<FieldError>> validateProvisionRequest(const nlohmann::json& body);

// Strict JSON for documents that bind or configure something (manifest.json,
// ProvisionDevice request bodies): valid UTF-8, no NUL byte, no byte order
// mark, no duplicate key at any level, nesting at most kMaxManifestDepth.
// The error says what is wrong ("is not valid JSON: ...") without a subject.
tl::expected<nlohmann::json, std::string> parseStrictJsonText(std::string_view bytes);

// Check 11: manifest.json bytes -> Manifest, or MANIFEST_INVALID (Check::Manifest)
// whose message names the first offending field path (also in Error::where).
Result<Manifest> parseManifest(std::string_view bytes);

// The Enrollment member from the issuer's flags (create-device --enroll-url
// and --enroll-server-ca, serve --public-url), judged by the manifest's own
// rules before anything is issued: the member with its summaries, or the
// first field that breaks a rule (path Enrollment.Url or Enrollment.ServerCa).
tl::expected<Enrollment, FieldError> makeEnrollment(std::string url, std::string serverCa);

// Canonical JSON of the model (exactly the request shape; parsed helper
// fields are not emitted). Used to write manifests, status.json and --json.
nlohmann::json toJson(const NetworkingConfiguration& networking);
nlohmann::json toJson(const Enrollment& enrollment); // {"ServerCa", "Url"}
nlohmann::json toJson(const Manifest& manifest);

std::string_view toString(ConnectionType type);

} // namespace omni::manifest
