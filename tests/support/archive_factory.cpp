#include "tests/support/archive_factory.hpp"

#include "daemon/core/digest/digest.hpp"
#include "tests/support/raw_zip_builder.hpp"

#include <algorithm>
#include <openssl/evp.h>
#include <stdexcept>

namespace omni::testing {
namespace {

template <class T> T orThrow(Result<T> result, const char* what)
{
    if (!result)
        throw std::runtime_error(std::string(what) + ": " + result.error().message);
    return std::move(*result);
}

} // namespace

TestAuthority TestAuthority::make(time::UnixTime now, const std::string& name)
{
    TestAuthority authority;
    authority.rootKey = orThrow(trust::generateKey(trust::KeyType::EcP256), "root key");
    authority.issuingKey = orThrow(trust::generateKey(trust::KeyType::EcP256), "issuing key");
    trust::CertificateSpec rootSpec;
    rootSpec.commonName = name + " root";
    rootSpec.notBefore = now - 86400;
    rootSpec.notAfter = now + 365 * 86400;
    rootSpec.isCa = true;
    authority.root = orThrow(
        trust::issueCertificate(rootSpec, authority.rootKey.get(), nullptr, authority.rootKey.get()), "root");
    trust::CertificateSpec issuingSpec = rootSpec;
    issuingSpec.commonName = name + " issuing";
    issuingSpec.pathLength = 0;
    authority.issuing = orThrow(trust::issueCertificate(issuingSpec, authority.issuingKey.get(),
                                    authority.root.get(), authority.rootKey.get()),
        "issuing");
    return authority;
}

trust::TrustAnchors TestAuthority::anchors() const
{
    return orThrow(trust::TrustAnchors::fromPem({ { "test root", rootPem() } }), "anchors");
}

std::string ArchiveFactory::manifestFor(const ArchiveRecipe& recipe) const
{
    if (recipe.manifestText)
        return *recipe.manifestText;
    nlohmann::json manifest {
        { "FormatVersion", 1 },
        { "Name", recipe.name },
        { "DeviceId", recipe.deviceId },
        { "Arn", "arn:aws:panorama:us-east-1:123456789012:device/" + recipe.deviceId },
        { "IotThingName", recipe.deviceId },
        { "CreatedAt", time::formatRfc3339(recipe.issuedAt) },
    };
    if (!recipe.networking.empty())
        manifest["NetworkingConfiguration"] = recipe.networking;
    return manifest.dump(2);
}

std::string ArchiveFactory::make(const ArchiveRecipe& recipe) const
{
    const TestAuthority& signer = recipe.signer ? *recipe.signer : authority_;
    const std::string manifest = manifestFor(recipe);
    auto key = orThrow(trust::generateKey(recipe.keyType), "device key");

    trust::CertificateSpec spec;
    spec.commonName = recipe.commonName.value_or(recipe.deviceId);
    spec.notBefore = recipe.issuedAt;
    spec.notAfter = recipe.issuedAt + recipe.lifetime;
    if (!recipe.omitDigest)
        spec.manifestDigest = digest::sha256(recipe.digestOverManifest.value_or(manifest));
    spec.rawManifestDigestExtension = recipe.rawDigestExtension;
    auto certificate = orThrow(
        trust::issueCertificate(spec, key.get(), signer.issuing.get(), signer.issuingKey.get()), "leaf");

    std::vector<archive::ArchiveFile> files {
        { "manifest.json", manifest },
        { "certificate.pem", recipe.certificatePem.value_or(trust::certificateToPem(certificate.get())) },
        { "private_key.pem", recipe.privateKeyPem.value_or(trust::privateKeyToPem(key.get())) },
    };
    if (recipe.includeChain)
        files.push_back({ "chain.pem", recipe.chainPem.value_or(signer.issuingPem()) });
    files.insert(files.end(), recipe.extraEntries.begin(), recipe.extraEntries.end());
    std::erase_if(files, [&](const archive::ArchiveFile& file) {
        return std::find(recipe.omitEntries.begin(), recipe.omitEntries.end(), file.name)
            != recipe.omitEntries.end();
    });
    return orThrow(archive::writeArchive(files), "zip");
}

std::string base64Decode(const std::string& text)
{
    std::string bytes(text.size(), '\0');
    const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
        reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (length < 0)
        return {};
    // EVP_DecodeBlock counts the padding's zero bytes too.
    std::size_t padding = 0;
    while (padding < text.size() && text[text.size() - 1 - padding] == '=')
        ++padding;
    bytes.resize(static_cast<std::size_t>(length) - padding);
    return bytes;
}

std::string unsignedArchive(const nlohmann::json& tags, const std::string& certificatePem)
{
    nlohmann::json manifest { { "FormatVersion", 1 }, { "Name", "cam-01" },
        { "DeviceId", "device-3xk2m4q7wzt5bh6ry1pnc9d8sa" }, { "Arn", "arn:aws:panorama:x" },
        { "IotThingName", "device-3xk2m4q7wzt5bh6ry1pnc9d8sa" } };
    if (!tags.empty())
        manifest["Tags"] = tags;
    return archive::testing::buildZip({ archive::testing::storedEntry("manifest.json", manifest.dump()),
        archive::testing::storedEntry("certificate.pem", certificatePem),
        archive::testing::storedEntry(
            "private_key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") });
}

bool hasRawControlBytes(const std::string& text)
{
    const bool control = std::any_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && byte != '\n') || byte == 0x7F || byte == 0xFF;
    });
    return control || text.find("\xC2\x9B") != std::string::npos;
}

} // namespace omni::testing
