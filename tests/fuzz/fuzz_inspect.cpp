// libFuzzer target: the whole `inspect` path (checks 3-19) on arbitrary
// archive bytes, against a trust anchor made once at start-up.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>

#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/x509_builder.hpp"
#include "daemon/core/verify/verify_archive.hpp"

namespace {

std::unique_ptr<omni::trust::TrustAnchors> anchors;

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    const auto now = static_cast<omni::time::UnixTime>(std::time(nullptr));
    auto key = omni::trust::generateKey(omni::trust::KeyType::EcP256);
    omni::trust::CertificateSpec spec;
    spec.commonName = "fuzz root";
    spec.notBefore = now - 3600;
    spec.notAfter = now + 3600;
    spec.isCa = true;
    auto root = omni::trust::issueCertificate(spec, key->get(), nullptr, key->get());
    auto loaded
        = omni::trust::TrustAnchors::fromPem({ { "fuzz root", omni::trust::certificateToPem(root->get()) } });
    anchors = std::make_unique<omni::trust::TrustAnchors>(std::move(*loaded));
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    omni::verify::VerifyPolicy policy;
    policy.anchors = anchors.get();
    policy.now = 1800000000;
    policy.buildEpoch = 1700000000;
    policy.alreadyApplied = [](const std::string&) { return false; };
    (void)omni::verify::verifyArchive(
        "certificates-omni_fuzz.zip", std::span<const std::uint8_t>(data, size), policy);
    return 0;
}
