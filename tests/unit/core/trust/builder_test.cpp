// x509_builder: keys, certificates, PEM in and out.
#include <gtest/gtest.h>

#include <set>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tests/unit/core/trust/test_pki.hpp"

namespace omni::trust::testing {
namespace {

template <class T, void (*Free)(T*)> using Owned = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

bool hasCriticalExtension(const X509* certificate, int nid, bool& critical)
{
    const int index = X509_get_ext_by_NID(certificate, nid, -1);
    if (index < 0) {
        return false;
    }
    critical = X509_EXTENSION_get_critical(X509_get_ext(certificate, index)) == 1;
    return true;
}

TEST(GenerateKeyTest, MakesEveryKeyType)
{
    const std::vector<std::tuple<KeyType, const char*, int>> expected {
        { KeyType::EcP256, "EC", 256 },
        { KeyType::EcP384, "EC", 384 },
        { KeyType::EcP521, "EC", 521 },
        { KeyType::Rsa1024, "RSA", 1024 },
        { KeyType::Rsa2048, "RSA", 2048 },
        { KeyType::Rsa3072, "RSA", 3072 },
        { KeyType::Ed25519, "ED25519", 256 },
    };
    for (const auto& [type, name, bits] : expected) {
        const PkeyPtr key = sharedKey(type);
        ASSERT_TRUE(key);
        EXPECT_TRUE(EVP_PKEY_is_a(key.get(), name)) << name;
        EXPECT_EQ(EVP_PKEY_get_bits(key.get()), bits) << name;
    }
    // Fresh keys differ.
    auto first = generateKey(KeyType::EcP256);
    auto second = generateKey(KeyType::EcP256);
    ASSERT_TRUE(first && second);
    EXPECT_NE(EVP_PKEY_eq(first->get(), second->get()), 1);
}

class IssueCertificateTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { pki_ = new Pki(makePki()); }
    static void TearDownTestSuite()
    {
        delete pki_;
        pki_ = nullptr;
    }
    static const Pki& pki() { return *pki_; }

private:
    static inline Pki* pki_ = nullptr;
};

TEST_F(IssueCertificateTest, LeafHasTheProfile)
{
    const X509* leaf = pki().leaf.certificate.get();
    EXPECT_EQ(X509_get_version(leaf), X509_VERSION_3);
    EXPECT_EQ(commonName(leaf), "device-1");
    EXPECT_EQ(
        X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(pki().issuing.certificate.get())), 0);
    EXPECT_EQ(X509_verify(const_cast<X509*>(leaf), pki().issuing.key.get()), 1);
    EXPECT_EQ(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);
    EXPECT_EQ(validityOf(leaf).notBefore, issueTime());
    EXPECT_EQ(validityOf(leaf).notAfter, issueTime() + 300);

    bool critical = false;
    ASSERT_TRUE(hasCriticalExtension(leaf, NID_basic_constraints, critical));
    EXPECT_TRUE(critical);
    EXPECT_EQ(X509_check_ca(const_cast<X509*>(leaf)), 0);
    ASSERT_TRUE(hasCriticalExtension(leaf, NID_key_usage, critical));
    EXPECT_TRUE(critical);
    EXPECT_EQ(X509_get_key_usage(const_cast<X509*>(leaf)), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
    ASSERT_TRUE(hasCriticalExtension(leaf, NID_ext_key_usage, critical));
    EXPECT_FALSE(critical);
    EXPECT_EQ(
        X509_get_extended_key_usage(const_cast<X509*>(leaf)), static_cast<std::uint32_t>(XKU_SSL_CLIENT));

    const ASN1_OCTET_STRING* subjectKeyId = X509_get0_subject_key_id(const_cast<X509*>(leaf));
    const ASN1_OCTET_STRING* authorityKeyId = X509_get0_authority_key_id(const_cast<X509*>(leaf));
    const ASN1_OCTET_STRING* issuerKeyId = X509_get0_subject_key_id(pki().issuing.certificate.get());
    ASSERT_NE(subjectKeyId, nullptr);
    ASSERT_NE(authorityKeyId, nullptr);
    ASSERT_NE(issuerKeyId, nullptr);
    EXPECT_EQ(ASN1_OCTET_STRING_cmp(authorityKeyId, issuerKeyId), 0);

    Asn1ObjectPtr oid(OBJ_txt2obj(kManifestDigestOid, 1));
    const int digestIndex = X509_get_ext_by_OBJ(leaf, oid.get(), -1);
    ASSERT_GE(digestIndex, 0);
    EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(leaf, digestIndex)), 0);
    EXPECT_TRUE(checkManifestDigest(leaf, pki().manifest));
}

TEST_F(IssueCertificateTest, CaCertificatesHaveTheCaProfile)
{
    const X509* root = pki().root.certificate.get();
    const X509* issuing = pki().issuing.certificate.get();
    EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(root), X509_get_subject_name(root)), 0);
    EXPECT_EQ(X509_verify(const_cast<X509*>(root), pki().root.key.get()), 1);
    EXPECT_EQ(X509_get0_authority_key_id(const_cast<X509*>(root)), nullptr);
    for (const X509* ca : { root, issuing }) {
        EXPECT_EQ(X509_check_ca(const_cast<X509*>(ca)), 1);
        EXPECT_EQ(X509_get_key_usage(const_cast<X509*>(ca)),
            static_cast<std::uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
        EXPECT_EQ(X509_get_ext_by_NID(ca, NID_ext_key_usage, -1), -1);
        EXPECT_NE(X509_get0_subject_key_id(const_cast<X509*>(ca)), nullptr);
    }
    EXPECT_EQ(X509_get_pathlen(const_cast<X509*>(issuing)), 0);
    EXPECT_EQ(X509_get_pathlen(const_cast<X509*>(root)), -1);

    const X509_NAME* subject = X509_get_subject_name(root);
    const int organization = X509_NAME_get_index_by_NID(subject, NID_organizationName, -1);
    ASSERT_GE(organization, 0);
    EXPECT_EQ(ASN1_STRING_length(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, organization))), 9);
}

TEST_F(IssueCertificateTest, SerialsAreRandomPositiveAndAtMost128Bits)
{
    std::set<std::string> serials;
    for (int i = 0; i < 8; ++i) {
        const Issued leaf = makeLeaf(leafSpec(), pki().issuing, sharedKey(KeyType::EcP256, 2));
        BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf.certificate.get()), nullptr));
        ASSERT_TRUE(serial);
        EXPECT_FALSE(BN_is_negative(serial.get()));
        EXPECT_FALSE(BN_is_zero(serial.get()));
        EXPECT_LE(BN_num_bits(serial.get()), 127);
        char* hex = BN_bn2hex(serial.get());
        serials.insert(hex);
        OPENSSL_free(hex);
    }
    EXPECT_EQ(serials.size(), 8U);
}

TEST_F(IssueCertificateTest, SignsWithRsaAndEd25519Issuers)
{
    const Issued rsaRoot
        = makeRoot("RSA Root", issueTime() - kYear, issueTime() + kYear, sharedKey(KeyType::Rsa2048));
    const Issued fromRsa = makeLeaf(leafSpec(), rsaRoot, sharedKey(KeyType::EcP256, 2));
    EXPECT_EQ(X509_get_signature_nid(fromRsa.certificate.get()), NID_sha256WithRSAEncryption);
    EXPECT_EQ(X509_verify(fromRsa.certificate.get(), rsaRoot.key.get()), 1);

    const Issued edRoot
        = makeRoot("Ed Root", issueTime() - kYear, issueTime() + kYear, sharedKey(KeyType::Ed25519));
    const Issued fromEd = makeLeaf(leafSpec(), edRoot, sharedKey(KeyType::EcP256, 2));
    EXPECT_EQ(X509_get_signature_nid(fromEd.certificate.get()), NID_ED25519);
    EXPECT_EQ(X509_verify(fromEd.certificate.get(), edRoot.key.get()), 1);
    auto path = verifyChain(credentialsOf(fromEd, {}), anchorsOf({ &edRoot }));
    EXPECT_TRUE(path) << path.error().message;
}

TEST_F(IssueCertificateTest, RejectsMissingKeysAndPathLengthOnLeaves)
{
    EXPECT_FALSE(issueCertificate(leafSpec(), nullptr, nullptr, pki().root.key.get()));
    CertificateSpec spec = leafSpec();
    spec.pathLength = 1;
    EXPECT_FALSE(issueCertificate(
        spec, pki().leaf.key.get(), pki().issuing.certificate.get(), pki().issuing.key.get()));
}

TEST_F(IssueCertificateTest, CertificatePemRoundTrips)
{
    const std::string pem = certificateToPem(pki().leaf.certificate.get());
    EXPECT_TRUE(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    auto loaded = loadCertificatePem(pem, "leaf.pem");
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(X509_cmp(loaded->get(), pki().leaf.certificate.get()), 0);

    for (const std::string& bad : { pem + pem, std::string("junk\n"), std::string(), pki().leaf.keyPem() }) {
        auto result = loadCertificatePem(bad, "/srv/ca/issuing.pem");
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().where, "/srv/ca/issuing.pem");
        EXPECT_NE(result.error().message.find("/srv/ca/issuing.pem"), std::string::npos)
            << result.error().message;
    }
}

TEST_F(IssueCertificateTest, PrivateKeyPemIsUnencryptedPkcs8AndRoundTrips)
{
    for (const KeyType type : { KeyType::EcP256, KeyType::Rsa2048, KeyType::Ed25519 }) {
        const PkeyPtr key = sharedKey(type);
        const std::string pem = privateKeyToPem(key.get());
        EXPECT_TRUE(pem.starts_with("-----BEGIN PRIVATE KEY-----\n")) << pem.substr(0, 40);
        auto loaded = loadPrivateKeyPem(pem, "key.pem");
        ASSERT_TRUE(loaded) << loaded.error().message;
        EXPECT_EQ(EVP_PKEY_eq(loaded->get(), key.get()), 1);
    }
}

TEST_F(IssueCertificateTest, LoadsTraditionalKeysButNeverPrompts)
{
    const EVP_PKEY* key = pki().issuing.key.get();
    BioPtr traditional(BIO_new(BIO_s_mem()));
    ASSERT_EQ(
        PEM_write_bio_PrivateKey_traditional(traditional.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        1);
    char* data = nullptr;
    const long length = BIO_get_mem_data(traditional.get(), &data);
    const std::string traditionalPem(data, static_cast<std::size_t>(length));
    ASSERT_TRUE(traditionalPem.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    auto loaded = loadPrivateKeyPem(traditionalPem, "issuing.key");
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_TRUE(keyMatchesCertificate(pki().issuing.certificate.get(), loaded->get()));

    // What `openssl ecparam -genkey` writes: the curve, then the key.
    const std::string withParameters
        = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + traditionalPem;
    EXPECT_TRUE(loadPrivateKeyPem(withParameters, "issuing.key"));

    BioPtr encrypted(BIO_new(BIO_s_mem()));
    static const char kPassphrase[] = "test passphrase";
    ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(encrypted.get(), key, EVP_aes_256_cbc(), kPassphrase,
                  sizeof kPassphrase - 1, nullptr, nullptr),
        1);
    const long encryptedLength = BIO_get_mem_data(encrypted.get(), &data);
    auto refused
        = loadPrivateKeyPem(std::string(data, static_cast<std::size_t>(encryptedLength)), "issuing.key");
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("encrypted"), std::string::npos) << refused.error().message;
    EXPECT_EQ(refused.error().where, "issuing.key");

    EXPECT_FALSE(loadPrivateKeyPem("", "issuing.key"));
    EXPECT_FALSE(loadPrivateKeyPem(pki().issuing.certificatePem(), "issuing.key"));
}

TEST_F(IssueCertificateTest, KeyMatchesCertificate)
{
    EXPECT_TRUE(keyMatchesCertificate(pki().issuing.certificate.get(), pki().issuing.key.get()));
    EXPECT_FALSE(keyMatchesCertificate(pki().issuing.certificate.get(), pki().root.key.get()));
    EXPECT_FALSE(keyMatchesCertificate(pki().issuing.certificate.get(), sharedKey(KeyType::Rsa2048).get()));
    EXPECT_FALSE(keyMatchesCertificate(nullptr, pki().root.key.get()));
}

} // namespace
} // namespace omni::trust::testing
