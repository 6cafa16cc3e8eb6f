#include "daemon/issuer/provision/issuing_material.hpp"

#include "daemon/core/trust/x509_builder.hpp"
#include "drivers/fs/files.hpp"

namespace omni::serve {
namespace {

Error usage(std::string message)
{
    return Error { ReasonCode::InternalError, Check::None, std::move(message), {} };
}

Result<std::string> readPem(const std::string& path, const std::string& flag, const std::string& what)
{
    auto content = state::readRegularFile(path, kMaxPemFileBytes);
    if (!content)
        return tl::unexpected(usage(flag + ": cannot read " + what + ": " + content.error().message));
    return std::move(*content);
}

} // namespace

Result<issuer::IssuingAuthority> loadIssuingAuthority(const IssuingMaterialPaths& paths)
{
    auto certificateText = readPem(paths.certificate, "--ca-cert", "the CA certificate");
    if (!certificateText)
        return tl::unexpected(certificateText.error());
    auto certificate = trust::loadCertificatePem(*certificateText, paths.certificate);
    if (!certificate)
        return tl::unexpected(usage("--ca-cert: " + certificate.error().message));
    auto keyText = readPem(paths.key, "--ca-key", "the CA key");
    if (!keyText)
        return tl::unexpected(keyText.error());
    auto key = trust::loadPrivateKeyPem(*keyText, paths.key);
    if (!key)
        return tl::unexpected(usage("--ca-key: " + key.error().message));
    if (!trust::keyMatchesCertificate(certificate->get(), key->get()))
        return tl::unexpected(
            usage("--ca-key " + paths.key + " is not the key of --ca-cert " + paths.certificate
                + "; give the matching pair (e.g. DIR/issuing.pem and DIR/issuing.key from 'omni-provision "
                  "ca init "
                  "DIR')"));
    std::string chainPem;
    if (!paths.chain.empty()) {
        auto chainText = readPem(paths.chain, "--chain", "the chain");
        if (!chainText)
            return tl::unexpected(chainText.error());
        if (auto parsed = trust::TrustAnchors::fromPem({ { paths.chain, *chainText } }); !parsed)
            return tl::unexpected(usage("--chain: " + parsed.error().message));
        chainPem = std::move(*chainText);
    }
    return issuer::IssuingAuthority { std::move(*certificate), std::move(*key), std::move(chainPem) };
}

Result<TlsMaterial> loadTlsMaterial(const std::string& certificatePath, const std::string& keyPath)
{
    auto certificateText = readPem(certificatePath, "--tls-cert", "the TLS certificate");
    if (!certificateText)
        return tl::unexpected(certificateText.error());
    auto certificate = trust::loadCertificatePem(*certificateText, certificatePath);
    if (!certificate)
        return tl::unexpected(usage("--tls-cert: " + certificate.error().message));
    auto keyText = readPem(keyPath, "--tls-key", "the TLS key");
    if (!keyText)
        return tl::unexpected(keyText.error());
    auto key = trust::loadPrivateKeyPem(*keyText, keyPath);
    if (!key)
        return tl::unexpected(usage("--tls-key: " + key.error().message));
    if (!trust::keyMatchesCertificate(certificate->get(), key->get()))
        return tl::unexpected(usage("--tls-key " + keyPath
            + " is not the key of the first certificate in --tls-cert " + certificatePath));
    return TlsMaterial { std::move(*certificateText), std::move(*keyText) };
}

} // namespace omni::serve
