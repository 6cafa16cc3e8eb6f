#pragma once
// Test support: a throw-away CA and an archive factory with a knob for every
// way an archive can be wrong. Everything is generated at run time; no key
// material is committed.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/core/archive/zip_writer.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/x509_builder.hpp"

namespace omni::testing {

struct TestAuthority {
    trust::PkeyPtr rootKey;
    trust::X509Ptr root;
    trust::PkeyPtr issuingKey;
    trust::X509Ptr issuing;

    // Root → issuing CA, valid from `now - 1 day` to `now + 1 year` unless told otherwise.
    static TestAuthority make(time::UnixTime now, const std::string& name = "Test");
    std::string rootPem() const { return trust::certificateToPem(root.get()); }
    std::string issuingPem() const { return trust::certificateToPem(issuing.get()); }
    trust::TrustAnchors anchors() const;
};

// What goes into one archive; defaults make a valid one.
struct ArchiveRecipe {
    std::string name = "cam-01";
    std::string deviceId = "device-3xk2m4q7wzt5bh6ry1pnc9d8sa";
    time::UnixTime issuedAt = 0;
    std::int64_t lifetime = 300;
    nlohmann::json networking = nlohmann::json::object(); // empty: omitted
    // Overrides.
    std::optional<std::string> manifestText; // exact manifest.json bytes
    std::optional<std::string> commonName; // default deviceId
    std::optional<std::string> digestOverManifest; // digest computed over these bytes instead
    std::optional<std::string> rawDigestExtension; // raw DER of the digest extension
    bool omitDigest = false;
    trust::KeyType keyType = trust::KeyType::EcP256;
    std::optional<std::string> privateKeyPem; // replaces the key entry
    std::optional<std::string> certificatePem; // replaces the certificate entry
    bool includeChain = true;
    std::optional<std::string> chainPem; // replaces chain.pem
    const TestAuthority* signer = nullptr; // default: the factory's authority
    std::vector<archive::ArchiveFile> extraEntries;
    std::vector<std::string> omitEntries;
};

class ArchiveFactory {
public:
    explicit ArchiveFactory(const TestAuthority& authority)
        : authority_(authority)
    {
    }
    std::string manifestFor(const ArchiveRecipe& recipe) const;
    std::string make(const ArchiveRecipe& recipe) const;

private:
    const TestAuthority& authority_;
};

// Text from a stick is data, never control: an archive whose checks stop at
// 11 (a hostile tag key) or 12 (a hostile PEM label) needs no CA signature.
// A manifest for "cam-01" with these Tags (none when empty), the certificate
// entry as given and a placeholder key.
std::string unsignedArchive(const nlohmann::json& tags, const std::string& certificatePem);

// True when text has a control byte other than '\n', DEL, the C1 CSI or a
// 0xFF byte: what an escaped output never holds.
bool hasRawControlBytes(const std::string& text);

// ProvisionDevice's Certificates member (base64 of the archive) back to the
// archive's bytes; empty when the text is not base64.
std::string base64Decode(const std::string& text);

inline std::span<const std::uint8_t> bytesOf(const std::string& text)
{
    return { reinterpret_cast<const std::uint8_t*>(text.data()), text.size() };
}

} // namespace omni::testing
