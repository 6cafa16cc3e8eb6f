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
    // The leaf first, then any intermediates (the HTTP library sends them all).
    auto certificates = trust::parseCertificatesPem(*certificateText);
    if (!certificates)
        return tl::unexpected(usage("--tls-cert: " + certificatePath + ": " + certificates.error()));
    auto keyText = readPem(keyPath, "--tls-key", "the TLS key");
    if (!keyText)
        return tl::unexpected(keyText.error());
    auto key = trust::loadPrivateKeyPem(*keyText, keyPath);
    if (!key)
        return tl::unexpected(usage("--tls-key: " + key.error().message));
    if (!trust::keyMatchesCertificate(certificates->front().get(), key->get()))
        return tl::unexpected(usage("--tls-key " + keyPath
            + " is not the key of the first certificate in --tls-cert " + certificatePath));
    return TlsMaterial { std::move(*certificateText), std::move(*keyText) };
}

Result<manifest::Enrollment> loadEnrollment(const std::string& urlFlag, const std::string& url,
    const std::string& serverCaPath, const std::string& tlsCertificatePem)
{
    std::string serverCa;
    if (!serverCaPath.empty()) {
        auto text = readPem(serverCaPath, "--enroll-server-ca",
            "the certificate(s) the issuer's TLS server certificate chains to");
        if (!text)
            return tl::unexpected(text.error());
        serverCa = std::move(*text);
    } else {
        // Re-encoded, so the manifest holds exactly one clean PEM block.
        auto certificates = trust::parseCertificatesPem(tlsCertificatePem);
        if (!certificates)
            return tl::unexpected(usage("--tls-cert: " + certificates.error()));
        serverCa = trust::certificateToPem(certificates->back().get());
    }
    auto enrollment = manifest::makeEnrollment(url, std::move(serverCa));
    if (!enrollment) {
        const bool isUrl = enrollment.error().path == "Enrollment.Url";
        const std::string flag = isUrl ? urlFlag : serverCaPath.empty() ? "--tls-cert" : "--enroll-server-ca";
        return tl::unexpected(
            usage(flag + ": " + enrollment.error().path + " " + enrollment.error().message));
    }
    return std::move(*enrollment);
}

} // namespace omni::serve
