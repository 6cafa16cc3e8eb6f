// Check 19 (MANIFEST_DIGEST_MISMATCH).
#include <gtest/gtest.h>

#include <openssl/x509v3.h>

#include "daemon/core/digest/digest.hpp"
#include "tests/unit/core/trust/test_pki.hpp"

namespace omni::trust::testing {
namespace {

const std::string kManifest = R"({"FormatVersion": 1, "Name": "cam-01", "DeviceId": "device-1"})";

class DigestCheckTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { pki_ = new Pki(makePki()); }
    static void TearDownTestSuite()
    {
        delete pki_;
        pki_ = nullptr;
    }
    static const Pki& pki() { return *pki_; }

    static Issued leafWithRawExtension(const std::string& der)
    {
        CertificateSpec spec = leafSpec(kManifest);
        spec.rawManifestDigestExtension = der;
        return makeLeaf(spec, pki().issuing, sharedKey(KeyType::EcP256, 2));
    }

    static std::string octetString(const std::string& contents)
    {
        return std::string(1, '\x04') + static_cast<char>(contents.size()) + contents;
    }

    static std::string digestBytes(const std::string& manifest)
    {
        const auto digest = digest::sha256(manifest);
        return std::string(digest.begin(), digest.end());
    }

    static void expectMismatch(const Result<void>& result, const std::string& messagePart)
    {
        ASSERT_FALSE(result) << "expected MANIFEST_DIGEST_MISMATCH";
        EXPECT_EQ(result.error().reason, ReasonCode::ManifestDigestMismatch);
        EXPECT_EQ(result.error().check, Check::Digest);
        EXPECT_NE(result.error().message.find(messagePart), std::string::npos) << result.error().message;
    }

private:
    static inline Pki* pki_ = nullptr;
};

TEST_F(DigestCheckTest, MatchingDigestPasses)
{
    const Issued leaf = makeLeaf(leafSpec(kManifest), pki().issuing, sharedKey(KeyType::EcP256, 2));
    EXPECT_TRUE(checkManifestDigest(leaf.certificate.get(), kManifest));
    // The same bytes, hand-encoded.
    EXPECT_TRUE(checkManifestDigest(
        leafWithRawExtension(octetString(digestBytes(kManifest))).certificate.get(), kManifest));
}

TEST_F(DigestCheckTest, MissingExtensionIsAMismatch)
{
    CertificateSpec spec = leafSpec(kManifest);
    spec.manifestDigest.reset();
    const Issued leaf = makeLeaf(spec, pki().issuing, sharedKey(KeyType::EcP256, 2));
    expectMismatch(
        checkManifestDigest(leaf.certificate.get(), kManifest), "lacks the manifest digest extension");
    // A CA certificate has no digest either.
    expectMismatch(checkManifestDigest(pki().issuing.certificate.get(), kManifest), "lacks");
}

TEST_F(DigestCheckTest, DifferentBytesAreAMismatchShowingBothDigests)
{
    const Issued leaf = makeLeaf(leafSpec(kManifest), pki().issuing, sharedKey(KeyType::EcP256, 2));
    const std::string changed = kManifest + " ";
    const auto result = checkManifestDigest(leaf.certificate.get(), changed);
    expectMismatch(result, "changed after the certificate was issued");
    expectMismatch(result, digest::toHex(digest::sha256(changed)));
    expectMismatch(result, digest::toHex(digest::sha256(kManifest)));
    EXPECT_EQ(result.error().where, "manifest.json");

    std::string flipped = digestBytes(kManifest);
    flipped[31] = static_cast<char>(flipped[31] ^ 0x01);
    expectMismatch(
        checkManifestDigest(leafWithRawExtension(octetString(flipped)).certificate.get(), kManifest),
        "changed after the certificate was issued");
}

TEST_F(DigestCheckTest, WrongLengthIsAMismatch)
{
    const std::string digest = digestBytes(kManifest);
    expectMismatch(checkManifestDigest(
                       leafWithRawExtension(octetString(digest.substr(0, 31))).certificate.get(), kManifest),
        "holds 31 bytes");
    expectMismatch(
        checkManifestDigest(leafWithRawExtension(octetString(digest + "x")).certificate.get(), kManifest),
        "holds 33 bytes");
    expectMismatch(checkManifestDigest(leafWithRawExtension(octetString("")).certificate.get(), kManifest),
        "holds 0 bytes");
}

TEST_F(DigestCheckTest, ValueThatIsNotAnOctetStringIsAMismatch)
{
    const std::string digest = digestBytes(kManifest);
    // The same 32 bytes as a UTF8String, as a BIT STRING, and as raw bytes.
    std::string utf8String = octetString(digest);
    utf8String[0] = '\x0c';
    expectMismatch(checkManifestDigest(leafWithRawExtension(utf8String).certificate.get(), kManifest),
        "is not a DER OCTET STRING");
    expectMismatch(checkManifestDigest(leafWithRawExtension(digest).certificate.get(), kManifest),
        "is not a DER OCTET STRING");
    expectMismatch(checkManifestDigest(leafWithRawExtension("").certificate.get(), kManifest),
        "is not a DER OCTET STRING");
}

TEST_F(DigestCheckTest, BerOrTrailingBytesAreAMismatch)
{
    const std::string digest = digestBytes(kManifest);
    expectMismatch(
        checkManifestDigest(leafWithRawExtension(octetString(digest) + '\x00').certificate.get(), kManifest),
        "1 bytes after its OCTET STRING");
    // Long-form length for 32 bytes: valid BER, not DER.
    const std::string longForm = std::string("\x04\x81\x20", 3) + digest;
    expectMismatch(checkManifestDigest(leafWithRawExtension(longForm).certificate.get(), kManifest),
        "not a DER OCTET STRING (constructed or non-minimal length)");
}

TEST_F(DigestCheckTest, DuplicateExtensionIsAMismatch)
{
    X509Ptr leaf = copyOf(
        makeLeaf(leafSpec(kManifest), pki().issuing, sharedKey(KeyType::EcP256, 2)).certificate.get());
    Asn1ObjectPtr oid(OBJ_txt2obj(kManifestDigestOid, 1));
    const int index = X509_get_ext_by_OBJ(leaf.get(), oid.get(), -1);
    ASSERT_GE(index, 0);
    X509ExtensionPtr duplicate(X509_EXTENSION_dup(X509_get_ext(leaf.get(), index)));
    ASSERT_EQ(X509_add_ext(leaf.get(), duplicate.get(), -1), 1);
    ASSERT_GT(X509_sign(leaf.get(), pki().issuing.key.get(), EVP_sha256()), 0);
    expectMismatch(checkManifestDigest(leaf.get(), kManifest), "more than once");
}

} // namespace
} // namespace omni::trust::testing
