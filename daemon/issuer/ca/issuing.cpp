#include "daemon/issuer/ca/issuing.hpp"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

#include "daemon/core/archive/zip_reader.hpp"
#include "daemon/core/archive/zip_writer.hpp"
#include "daemon/core/digest/digest.hpp"
#include "daemon/core/text/json_text.hpp"
#include "daemon/core/trust/x509_builder.hpp"

namespace omni::issuer {
namespace {

constexpr time::UnixTime kCaBackdate = 3600;
constexpr time::UnixTime kRootLifetime = 20LL * 365 * 24 * 3600;
constexpr time::UnixTime kIssuingLifetime = 10LL * 365 * 24 * 3600;

std::string serialHex(X509* certificate)
{
    std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(
        ASN1_INTEGER_to_BN(X509_get_serialNumber(certificate), nullptr), BN_free);
    char* hex = serial ? BN_bn2hex(serial.get()) : nullptr;
    std::string text = hex ? hex : "";
    OPENSSL_free(hex);
    return text;
}

} // namespace

std::string base64Encode(std::string_view bytes)
{
    std::string encoded(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
        reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    encoded.resize(static_cast<std::size_t>(length));
    return encoded;
}

std::string newDeviceId()
{
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned char random[26];
    if (RAND_bytes(random, sizeof random) != 1)
        throw std::runtime_error(
            "RAND_bytes failed"); // no entropy: a bug in the platform, not an input error
    std::string id = "device-";
    for (unsigned char byte : random)
        id += kAlphabet[byte % 32];
    return id;
}

Result<CaMaterial> makeCertificateAuthority(time::UnixTime now, const std::string& organization)
{
    auto rootKey = trust::generateKey(trust::KeyType::EcP256);
    if (!rootKey)
        return tl::unexpected(rootKey.error());
    auto issuingKey = trust::generateKey(trust::KeyType::EcP256);
    if (!issuingKey)
        return tl::unexpected(issuingKey.error());

    trust::CertificateSpec rootSpec;
    rootSpec.commonName = organization + " provisioning root CA";
    rootSpec.organization = organization;
    rootSpec.notBefore = now - kCaBackdate;
    rootSpec.notAfter = now + kRootLifetime;
    rootSpec.isCa = true;
    auto root = trust::issueCertificate(rootSpec, rootKey->get(), nullptr, rootKey->get());
    if (!root)
        return tl::unexpected(root.error());

    trust::CertificateSpec issuingSpec;
    issuingSpec.commonName = organization + " provisioning issuing CA";
    issuingSpec.organization = organization;
    issuingSpec.notBefore = now - kCaBackdate;
    issuingSpec.notAfter = now + kIssuingLifetime;
    issuingSpec.isCa = true;
    issuingSpec.pathLength = 0;
    auto issuing = trust::issueCertificate(issuingSpec, issuingKey->get(), root->get(), rootKey->get());
    if (!issuing)
        return tl::unexpected(issuing.error());

    return CaMaterial { trust::certificateToPem(root->get()), trust::privateKeyToPem(rootKey->get()),
        trust::certificateToPem(issuing->get()), trust::privateKeyToPem(issuingKey->get()) };
}

Result<IssuedDevice> issueDevice(const manifest::ProvisionRequest& request, const IssuingAuthority& authority,
    const ArnScope& scope, time::UnixTime now, const std::optional<manifest::Enrollment>& enrollment)
{
    IssuedDevice device;
    device.name = request.name;
    device.deviceId = newDeviceId();
    device.arn = "arn:" + scope.partition + ":panorama:" + scope.region + ":" + scope.accountId + ":device/"
        + device.deviceId;
    device.iotThingName = device.deviceId;
    device.createdAt = now;
    device.certificateNotAfter = now + kProvisioningCertificateLifetime;

    manifest::Manifest manifestModel;
    manifestModel.request = request;
    manifestModel.deviceId = device.deviceId;
    manifestModel.arn = device.arn;
    manifestModel.iotThingName = device.iotThingName;
    manifestModel.createdAt = time::formatRfc3339(now);
    manifestModel.enrollment = enrollment;
    device.manifest = text::dumpJson(manifest::toJson(manifestModel), 2) + "\n";
    if (auto reread = manifest::parseManifest(device.manifest); !reread) {
        // An Enrollment the caller did not check with makeEnrollment: its own field.
        if (reread.error().where.starts_with("Enrollment"))
            return tl::unexpected(reread.error());
        Error error = reread.error();
        // Only the size can fail here (the request was validated): name the
        // request fields that make it large.
        error.where = request.tags.empty() ? "Description" : "Tags";
        error.message = "the archive's manifest.json would be " + std::to_string(device.manifest.size())
            + " bytes, and devices accept at most " + std::to_string(manifest::kMaxManifestBytes)
            + ": shorten Tags or Description (" + reread.error().message + ")";
        return tl::unexpected(error);
    }

    auto key = trust::generateKey(trust::KeyType::EcP256);
    if (!key)
        return tl::unexpected(key.error());
    trust::CertificateSpec spec;
    spec.commonName = device.deviceId;
    spec.notBefore = now;
    spec.notAfter = device.certificateNotAfter;
    spec.manifestDigest = digest::sha256(device.manifest);
    auto certificate
        = trust::issueCertificate(spec, key->get(), authority.certificate.get(), authority.key.get());
    if (!certificate)
        return tl::unexpected(
            std::move(certificate.error()).withContext("signing the provisioning certificate"));
    device.certificateSerial = serialHex(certificate->get());

    std::vector<archive::ArchiveFile> files {
        { archive::kManifestEntry, device.manifest },
        { archive::kCertificateEntry, trust::certificateToPem(certificate->get()) },
        { archive::kPrivateKeyEntry, trust::privateKeyToPem(key->get()) },
    };
    if (!authority.chainPem.empty())
        files.push_back({ archive::kChainEntry, authority.chainPem });
    auto zip = archive::writeArchive(files);
    if (!zip)
        return tl::unexpected(std::move(zip.error()).withContext("writing the archive"));
    device.archive = std::move(*zip);
    return device;
}

nlohmann::json provisionResponse(const IssuedDevice& device)
{
    return nlohmann::json {
        { "Arn", device.arn },
        { "Certificates", base64Encode(device.archive) },
        { "DeviceId", device.deviceId },
        { "IotThingName", device.iotThingName },
        { "Status", "AWAITING_PROVISIONING" },
    };
}

} // namespace omni::issuer
