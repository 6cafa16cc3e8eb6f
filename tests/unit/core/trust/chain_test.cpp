// Checks 13 (KEY_MISMATCH) and 14 (CERT_UNTRUSTED).
#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>

#include "tests/unit/core/trust/test_pki.hpp"

namespace omni::trust::testing {
namespace {

class ChainTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { pki_ = new Pki(makePki()); }
    static void TearDownTestSuite()
    {
        delete pki_;
        pki_ = nullptr;
    }
    static const Pki& pki() { return *pki_; }

    static void expectUntrusted(const Result<CertificatePath>& result, const std::string& messagePart)
    {
        ASSERT_FALSE(result) << "expected CERT_UNTRUSTED";
        EXPECT_EQ(result.error().reason, ReasonCode::CertUntrusted);
        EXPECT_EQ(result.error().check, Check::Chain);
        EXPECT_NE(result.error().message.find(messagePart), std::string::npos) << result.error().message;
    }

private:
    static inline Pki* pki_ = nullptr;
};

// The certificate's public key with somebody else's private scalar.
PkeyPtr ecKeyWithForeignPrivatePart(const EVP_PKEY* publicSource, const EVP_PKEY* privateSource)
{
    std::array<unsigned char, 133> publicPoint {};
    std::size_t publicLength = 0;
    BIGNUM* privateScalar = nullptr;
    if (EVP_PKEY_get_octet_string_param(
            publicSource, OSSL_PKEY_PARAM_PUB_KEY, publicPoint.data(), publicPoint.size(), &publicLength)
            != 1
        || EVP_PKEY_get_bn_param(privateSource, OSSL_PKEY_PARAM_PRIV_KEY, &privateScalar) != 1) {
        throw std::runtime_error("cannot read key parameters");
    }
    BignumPtr scalarOwner(privateScalar);
    std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>> builder(
        OSSL_PARAM_BLD_new());
    OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(
        builder.get(), OSSL_PKEY_PARAM_PUB_KEY, publicPoint.data(), publicLength);
    OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, privateScalar);
    std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM, OSSL_PARAM_free>> params(
        OSSL_PARAM_BLD_to_param(builder.get()));
    PkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* key = nullptr;
    if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1
        || EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_KEYPAIR, params.get()) != 1) {
        throw std::runtime_error("cannot assemble the key: " + drainOpenSslErrors());
    }
    return PkeyPtr(key);
}

TEST_F(ChainTest, KeyOfTheCertificateMatches)
{
    EXPECT_TRUE(checkKeyMatchesCertificate(pki().credentials()));
}

TEST_F(ChainTest, KeyOfAnotherEcLeafIsAMismatch)
{
    const Issued other = makeLeaf(leafSpec(), pki().issuing, sharedKey(KeyType::EcP256, 7));
    auto credentials = valueOf(parseCredentials(pki().leaf.certificatePem(), other.keyPem(), std::nullopt));
    const auto result = checkKeyMatchesCertificate(credentials);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().reason, ReasonCode::KeyMismatch);
    EXPECT_EQ(result.error().check, Check::KeyMatch);
    EXPECT_NE(result.error().message.find("does not belong to the certificate"), std::string::npos);
}

TEST_F(ChainTest, KeyOfAnotherRsaLeafIsAMismatch)
{
    const Issued rsaLeaf = makeLeaf(leafSpec(), pki().issuing, sharedKey(KeyType::Rsa2048, 0));
    const Issued otherRsaLeaf = makeLeaf(leafSpec(), pki().issuing, sharedKey(KeyType::Rsa2048, 1));
    auto credentials
        = valueOf(parseCredentials(rsaLeaf.certificatePem(), otherRsaLeaf.keyPem(), std::nullopt));
    const auto result = checkKeyMatchesCertificate(credentials);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().reason, ReasonCode::KeyMismatch);
    EXPECT_NE(result.error().message.find("RSA 2048-bit"), std::string::npos) << result.error().message;
}

TEST_F(ChainTest, KeyOfAnotherTypeIsAMismatch)
{
    const Issued rsaLeaf = makeLeaf(leafSpec(), pki().issuing, sharedKey(KeyType::Rsa2048, 0));
    auto credentials = valueOf(parseCredentials(pki().leaf.certificatePem(), rsaLeaf.keyPem(), std::nullopt));
    const auto result = checkKeyMatchesCertificate(credentials);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().reason, ReasonCode::KeyMismatch);
    EXPECT_NE(result.error().message.find("EC P-256"), std::string::npos) << result.error().message;
}

TEST_F(ChainTest, KeyCarryingTheCertificatesPublicKeyWithAForeignPrivatePartIsAMismatch)
{
    const PkeyPtr forged
        = ecKeyWithForeignPrivatePart(pki().leaf.key.get(), sharedKey(KeyType::EcP256, 8).get());
    auto credentials
        = valueOf(parseCredentials(pki().leaf.certificatePem(), privateKeyToPem(forged.get()), {}));
    const auto result = checkKeyMatchesCertificate(credentials);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().reason, ReasonCode::KeyMismatch);
    EXPECT_NE(result.error().message.find("pairwise"), std::string::npos) << result.error().message;
}

TEST_F(ChainTest, BuildsThePathLeafFirstAnchorLast)
{
    auto path = verifyChain(pki().credentials(), pki().anchors());
    ASSERT_TRUE(path) << path.error().message;
    ASSERT_EQ(path->certificates.size(), 3U);
    EXPECT_EQ(X509_cmp(path->certificates[0].get(), pki().leaf.certificate.get()), 0);
    EXPECT_EQ(X509_cmp(path->certificates[1].get(), pki().issuing.certificate.get()), 0);
    EXPECT_EQ(X509_cmp(path->certificates[2].get(), pki().root.certificate.get()), 0);
}

TEST_F(ChainTest, LeafSignedByAForeignRootIsUntrusted)
{
    const Issued foreignRoot
        = makeRoot("Foreign Root", issueTime() - kYear, issueTime() + kYear, sharedKey(KeyType::EcP256, 9));
    const Issued leaf = makeLeaf(leafSpec(), foreignRoot, sharedKey(KeyType::EcP256, 2));
    const auto result = verifyChain(credentialsOf(leaf, {}), pki().anchors());
    expectUntrusted(result, "unable to get local issuer certificate");
    expectUntrusted(result, "issuer 'CN=Foreign Root,O=Omni Test'");
    expectUntrusted(result, "subject 'CN=device-1'");
    expectUntrusted(result, "CN=Omni Test Root,O=Omni Test"); // what the device trusts
}

TEST_F(ChainTest, MissingIntermediateIsUntrusted)
{
    expectUntrusted(
        verifyChain(pki().credentials(false), pki().anchors()), "unable to get local issuer certificate");
}

TEST_F(ChainTest, IntermediateGivenOnlyAsAnchorEndsAPartialPath)
{
    auto path = verifyChain(pki().credentials(false), anchorsOf({ &pki().issuing }));
    ASSERT_TRUE(path) << path.error().message;
    ASSERT_EQ(path->certificates.size(), 2U);
    EXPECT_EQ(X509_cmp(path->certificates[1].get(), pki().issuing.certificate.get()), 0);
}

TEST_F(ChainTest, AnchorWithTheSameNameButAnotherKeyIsUntrusted)
{
    const Issued impostorRoot = makeRoot(
        "Omni Test Root", issueTime() - kYear, issueTime() + 10 * kYear, sharedKey(KeyType::EcP256, 10));
    const auto result = verifyChain(pki().credentials(), anchorsOf({ &impostorRoot }));
    // The issuing CA names the genuine root by name and key identifier; the impostor matches only the name.
    expectUntrusted(result, "at depth 1");
    expectUntrusted(
        result, "subject 'CN=Omni Test Issuing,O=Omni Test', issuer 'CN=Omni Test Root,O=Omni Test'");
}

TEST_F(ChainTest, IntermediateThatIsNotACaIsUntrusted)
{
    // A leaf (CA:FALSE) used as the issuer of another leaf.
    const Issued notACa = makeLeaf(leafSpec(), pki().issuing, sharedKey(KeyType::EcP256, 11));
    const Issued leaf = makeLeaf(leafSpec(), notACa, sharedKey(KeyType::EcP256, 2));
    expectUntrusted(verifyChain(credentialsOf(leaf, { &notACa, &pki().issuing }), pki().anchors()),
        "invalid CA certificate");
}

TEST_F(ChainTest, NoAnchorsMeansUntrusted)
{
    expectUntrusted(verifyChain(pki().credentials(), TrustAnchors {}), "no trust anchor");
}

TEST_F(ChainTest, TimeIsNotJudgedHere)
{
    // Expired anchor and intermediate, a leaf long past its window: check 14
    // passes, check 17 decides.
    const Issued oldRoot = makeRoot(
        "Old Root", issueTime() - 10 * kYear, issueTime() - 5 * kYear, sharedKey(KeyType::EcP256, 12));
    const Issued oldIssuing = makeCa("Old Issuing", oldRoot, issueTime() - 9 * kYear, issueTime() - 6 * kYear,
        sharedKey(KeyType::EcP256, 13));
    const Issued leaf = makeLeaf(leafSpec(), oldIssuing, sharedKey(KeyType::EcP256, 2));
    auto path = verifyChain(credentialsOf(leaf, { &oldIssuing }), anchorsOf({ &oldRoot }));
    ASSERT_TRUE(path) << path.error().message;
    EXPECT_EQ(path->certificates.size(), 3U);
    const auto validity = checkValidity(*path, issueTime() + 10, 30);
    ASSERT_FALSE(validity);
    EXPECT_EQ(validity.error().reason, ReasonCode::CertExpired);
    EXPECT_NE(validity.error().message.find("'Old Issuing'"), std::string::npos) << validity.error().message;

    // Only the anchor expired: still check 17, naming the anchor.
    const Issued oldRootOnly = makeRoot(
        "Omni Test Root", issueTime() - 10 * kYear, issueTime() - 5 * kYear, sharedKey(KeyType::EcP256, 0));
    auto anchorPath = verifyChain(pki().credentials(), anchorsOf({ &oldRootOnly }));
    ASSERT_TRUE(anchorPath) << anchorPath.error().message;
    const auto anchorValidity = checkValidity(*anchorPath, issueTime() + 10, 30);
    ASSERT_FALSE(anchorValidity);
    EXPECT_EQ(anchorValidity.error().reason, ReasonCode::CertExpired);
    EXPECT_NE(anchorValidity.error().message.find("trust anchor 'Omni Test Root'"), std::string::npos)
        << anchorValidity.error().message;
}

TEST_F(ChainTest, LeafThatIsItselfAnAnchorIsTrusted)
{
    auto path = verifyChain(pki().credentials(false), anchorsOf({ &pki().leaf }));
    ASSERT_TRUE(path) << path.error().message;
    EXPECT_EQ(path->certificates.size(), 1U);
}

} // namespace
} // namespace omni::trust::testing
