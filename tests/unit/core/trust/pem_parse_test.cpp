// Check 12 (CERT_INVALID) and the trust anchors' loader.
#include <gtest/gtest.h>

#include <openssl/pem.h>

#include "tests/unit/core/trust/test_pki.hpp"

namespace omni::trust::testing {
namespace {

std::string pemOf(int (*write)(BIO*, const EVP_PKEY*), const EVP_PKEY* key)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (write(bio.get(), key) != 1) {
        throw std::runtime_error("PEM write failed: " + drainOpenSslErrors());
    }
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
}

int writeEncryptedPkcs8(BIO* bio, const EVP_PKEY* key)
{
    static const char kPassphrase[] = "test passphrase";
    return PEM_write_bio_PKCS8PrivateKey(
        bio, key, EVP_aes_256_cbc(), kPassphrase, sizeof kPassphrase - 1, nullptr, nullptr);
}

int writeTraditional(BIO* bio, const EVP_PKEY* key)
{
    return PEM_write_bio_PrivateKey_traditional(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
}

int writeEncryptedTraditional(BIO* bio, const EVP_PKEY* key)
{
    static unsigned char kPassphrase[] = "test passphrase";
    return PEM_write_bio_PrivateKey_traditional(
        bio, key, EVP_aes_128_cbc(), kPassphrase, static_cast<int>(sizeof kPassphrase - 1), nullptr, nullptr);
}

std::string derOf(const X509* certificate)
{
    unsigned char* der = nullptr;
    const int length = i2d_X509(certificate, &der);
    std::string bytes(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    return bytes;
}

class CertificateParseTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { pki_ = new Pki(makePki()); }
    static void TearDownTestSuite()
    {
        delete pki_;
        pki_ = nullptr;
    }
    static const Pki& pki() { return *pki_; }

    static Result<Credentials> parse(const std::string& certificatePem, const std::string& keyPem,
        const std::optional<std::string>& chainPem = std::nullopt)
    {
        return parseCredentials(certificatePem, keyPem, chainPem);
    }

    static void expectCertInvalid(
        const Result<Credentials>& result, const std::string& where, const std::string& messagePart)
    {
        ASSERT_FALSE(result) << "expected CERT_INVALID";
        EXPECT_EQ(result.error().reason, ReasonCode::CertInvalid);
        EXPECT_EQ(result.error().check, Check::CertParse);
        EXPECT_EQ(result.error().where, where);
        EXPECT_NE(result.error().message.find(messagePart), std::string::npos) << result.error().message;
    }

private:
    static inline Pki* pki_ = nullptr;
};

TEST_F(CertificateParseTest, AcceptsTheIssuersEcP256CredentialsWithAndWithoutChain)
{
    auto withChain = parse(pki().leaf.certificatePem(), pki().leaf.keyPem(), pki().chainPem());
    ASSERT_TRUE(withChain) << withChain.error().message;
    EXPECT_EQ(X509_cmp(withChain->certificate.get(), pki().leaf.certificate.get()), 0);
    EXPECT_EQ(EVP_PKEY_eq(withChain->privateKey.get(), pki().leaf.key.get()), 1);
    ASSERT_EQ(withChain->chain.size(), 1U);
    EXPECT_EQ(X509_cmp(withChain->chain[0].get(), pki().issuing.certificate.get()), 0);

    auto withoutChain = parse(pki().leaf.certificatePem(), pki().leaf.keyPem());
    ASSERT_TRUE(withoutChain) << withoutChain.error().message;
    EXPECT_TRUE(withoutChain->chain.empty());
}

TEST_F(CertificateParseTest, AcceptsRsa2048AndEcP384LeavesThroughTheChain)
{
    for (const KeyType type : { KeyType::Rsa2048, KeyType::EcP384 }) {
        const Issued leaf = makeLeaf(leafSpec(), pki().issuing, sharedKey(type));
        auto credentials = parse(leaf.certificatePem(), leaf.keyPem(), pki().chainPem());
        ASSERT_TRUE(credentials) << credentials.error().message;
        EXPECT_TRUE(checkKeyMatchesCertificate(*credentials));
        EXPECT_TRUE(verifyChain(*credentials, pki().anchors()));
    }
}

TEST_F(CertificateParseTest, AcceptsCrlfLineEndings)
{
    std::string crlf;
    for (const char c : pki().leaf.certificatePem()) {
        crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    }
    EXPECT_TRUE(parse(crlf, pki().leaf.keyPem()));
}

TEST_F(CertificateParseTest, RejectsMalformedCertificatePem)
{
    std::string corrupt = pki().leaf.certificatePem();
    corrupt[40] = '*'; // not a Base64 character, inside the first line of the body
    expectCertInvalid(parse(corrupt, pki().leaf.keyPem()), "certificate.pem", "does not decode");

    std::string truncated = pki().leaf.certificatePem();
    truncated.resize(truncated.size() / 2);
    expectCertInvalid(
        parse(truncated, pki().leaf.keyPem()), "certificate.pem", "no '-----END CERTIFICATE-----'");

    expectCertInvalid(parse("", pki().leaf.keyPem()), "certificate.pem", "holds no PEM block");

    // Valid Base64 of something that is not a certificate.
    const std::string notACertificate
        = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    expectCertInvalid(
        parse(notACertificate, pki().leaf.keyPem()), "certificate.pem", "not an X.509 certificate");
}

TEST_F(CertificateParseTest, RejectsTwoCertificatesAndTrailingGarbage)
{
    expectCertInvalid(
        parse(pki().leaf.certificatePem() + pki().issuing.certificatePem(), pki().leaf.keyPem()),
        "certificate.pem", "holds 2 PEM blocks");
    expectCertInvalid(parse(pki().leaf.certificatePem() + "trailing text\n", pki().leaf.keyPem()),
        "certificate.pem", "text outside a PEM block");
    expectCertInvalid(parse("leading text\n" + pki().leaf.certificatePem(), pki().leaf.keyPem()),
        "certificate.pem", "line 1: text outside a PEM block");
    // Whitespace around the block is fine.
    EXPECT_TRUE(parse("\n  \n" + pki().leaf.certificatePem() + "\n\n", pki().leaf.keyPem()));
}

TEST_F(CertificateParseTest, RejectsDerAndOtherBlocksInsteadOfPem)
{
    expectCertInvalid(parse(derOf(pki().leaf.certificate.get()), pki().leaf.keyPem()), "certificate.pem",
        "binary data outside a PEM block (DER instead of PEM?)");
    // DER of the key, and DER in chain.pem.
    expectCertInvalid(parse(pki().leaf.certificatePem(), derOf(pki().issuing.certificate.get())),
        "private_key.pem", "binary data");
    expectCertInvalid(
        parse(pki().leaf.certificatePem(), pki().leaf.keyPem(), derOf(pki().issuing.certificate.get())),
        "chain.pem", "binary data");
    expectCertInvalid(parse(pki().leaf.keyPem(), pki().leaf.keyPem()), "certificate.pem",
        "is 'PRIVATE KEY', not 'CERTIFICATE'");
}

TEST_F(CertificateParseTest, RejectsEncryptedKeysSayingUnencryptedPkcs8IsRequired)
{
    const auto encrypted
        = parse(pki().leaf.certificatePem(), pemOf(writeEncryptedPkcs8, pki().leaf.key.get()));
    expectCertInvalid(encrypted, "private_key.pem", "encrypted key ('ENCRYPTED PRIVATE KEY')");
    expectCertInvalid(encrypted, "private_key.pem", "unencrypted PKCS#8");

    const auto traditional
        = parse(pki().leaf.certificatePem(), pemOf(writeEncryptedTraditional, pki().leaf.key.get()));
    expectCertInvalid(traditional, "private_key.pem", "encrypted key ('EC PRIVATE KEY')");
    expectCertInvalid(traditional, "private_key.pem", "unencrypted PKCS#8");
}

TEST_F(CertificateParseTest, RejectsTraditionalKeyForms)
{
    const auto ec = parse(pki().leaf.certificatePem(), pemOf(writeTraditional, pki().leaf.key.get()));
    expectCertInvalid(ec, "private_key.pem", "traditional (not PKCS#8) key 'EC PRIVATE KEY'");
    expectCertInvalid(ec, "private_key.pem", "unencrypted PKCS#8");

    const Issued rsaLeaf = makeLeaf(leafSpec(), pki().issuing, sharedKey(KeyType::Rsa2048));
    const auto rsa = parse(rsaLeaf.certificatePem(), pemOf(writeTraditional, rsaLeaf.key.get()));
    expectCertInvalid(rsa, "private_key.pem", "traditional (not PKCS#8) key 'RSA PRIVATE KEY'");
}

TEST_F(CertificateParseTest, RejectsKeyTypesOutsideTheContractNamingThem)
{
    const std::vector<std::pair<KeyType, std::string>> refused {
        { KeyType::Rsa1024, "RSA 1024-bit" },
        { KeyType::EcP521, "EC P-521" },
        { KeyType::Ed25519, "ED25519" },
    };
    for (const auto& [type, name] : refused) {
        const Issued leaf = makeLeaf(leafSpec(), pki().issuing, sharedKey(type));
        const auto result = parse(leaf.certificatePem(), leaf.keyPem(), pki().chainPem());
        expectCertInvalid(result, "private_key.pem", "unsupported key type, " + name);
        expectCertInvalid(result, "private_key.pem", "EC P-256, EC P-384 or RSA of 2048 to 4096 bits");
    }
}

// Keys of tests/unit/core/trust/keys (generated once, see README there): RSA-4096
// and RSA-8192 take seconds to generate.
PkeyPtr keyFixture(const std::string& name)
{
    const std::string path = std::string(OMNI_TRUST_KEYS_DIR) + "/" + name;
    BioPtr bio(BIO_new_file(path.c_str(), "r"));
    if (!bio)
        throw std::runtime_error("cannot open " + path);
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key)
        throw std::runtime_error("cannot read the key " + path + ": " + drainOpenSslErrors());
    return key;
}

// DESIGN.md section 2: RSA of 2048 to 4096 bits; the size is judged at check
// 12, so an oversized key never reaches the key checks (13 on).
TEST_F(CertificateParseTest, AcceptsRsaOf2048To4096BitsOnly)
{
    const auto parseWith = [](PkeyPtr key) {
        const Issued leaf = makeLeaf(leafSpec(), pki().issuing, std::move(key));
        return parse(leaf.certificatePem(), leaf.keyPem(), pki().chainPem());
    };
    const auto rsa2048 = parseWith(sharedKey(KeyType::Rsa2048));
    ASSERT_TRUE(rsa2048) << rsa2048.error().message;
    EXPECT_TRUE(checkKeyMatchesCertificate(*rsa2048));
    const auto rsa4096 = parseWith(keyFixture("rsa-4096.pem"));
    ASSERT_TRUE(rsa4096) << rsa4096.error().message;
    EXPECT_TRUE(checkKeyMatchesCertificate(*rsa4096));
    const auto rsa1024 = parseWith(sharedKey(KeyType::Rsa1024));
    expectCertInvalid(rsa1024, "private_key.pem", "unsupported key type, RSA 1024-bit");
    expectCertInvalid(rsa1024, "private_key.pem", "RSA of 2048 to 4096 bits");
    const auto rsa8192 = parseWith(keyFixture("rsa-8192.pem"));
    expectCertInvalid(rsa8192, "private_key.pem", "unsupported key type, RSA 8192-bit");
    expectCertInvalid(rsa8192, "private_key.pem", "RSA of 2048 to 4096 bits");
}

// A certificate for an oversized key is CERT_INVALID too, even when the key
// file holds an accepted key (not KEY_MISMATCH: check 12 decides first).
TEST_F(CertificateParseTest, RejectsCertificatesOfOversizedRsaKeys)
{
    const Issued big = makeLeaf(leafSpec(), pki().issuing, keyFixture("rsa-8192.pem"));
    const auto result = parse(big.certificatePem(), pki().leaf.keyPem(), pki().chainPem());
    expectCertInvalid(result, "certificate.pem", "certifies an unsupported key type, RSA 8192-bit");
    expectCertInvalid(result, "certificate.pem", "RSA of 2048 to 4096 bits");
}

TEST_F(CertificateParseTest, RejectsMalformedKeyFiles)
{
    expectCertInvalid(parse(pki().leaf.certificatePem(), ""), "private_key.pem", "holds 0 PEM blocks");
    expectCertInvalid(parse(pki().leaf.certificatePem(), pki().leaf.keyPem() + pki().leaf.keyPem()),
        "private_key.pem", "holds 2 PEM blocks");
    expectCertInvalid(parse(pki().leaf.certificatePem(), pki().leaf.certificatePem()), "private_key.pem",
        "a PEM block 'CERTIFICATE'");
    const std::string notPkcs8 = "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n";
    expectCertInvalid(parse(pki().leaf.certificatePem(), notPkcs8), "private_key.pem", "not a valid PKCS#8");
}

TEST_F(CertificateParseTest, MessagesNeverQuoteTheKeyFile)
{
    // A key file with a broken line: the message may say where, never what.
    std::string keyPem = pki().leaf.keyPem();
    const std::string body = keyPem.substr(28, 20);
    keyPem += "garbage-after-the-key " + body + "\n";
    const auto result = parse(pki().leaf.certificatePem(), keyPem);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message.find(body), std::string::npos) << result.error().message;
    EXPECT_EQ(result.error().message.find("garbage-after-the-key"), std::string::npos)
        << result.error().message;
}

TEST_F(CertificateParseTest, RejectsChainPemWithoutCertificates)
{
    expectCertInvalid(parse(pki().leaf.certificatePem(), pki().leaf.keyPem(), "this is not PEM\n"),
        "chain.pem", "text outside a PEM block");
    expectCertInvalid(
        parse(pki().leaf.certificatePem(), pki().leaf.keyPem(), ""), "chain.pem", "holds no PEM certificate");
    expectCertInvalid(
        parse(pki().leaf.certificatePem(), pki().leaf.keyPem(), pki().chainPem() + pki().leaf.keyPem()),
        "chain.pem", "is 'PRIVATE KEY', not 'CERTIFICATE'");
    std::string corrupt = pki().chainPem();
    corrupt[35] = '!';
    expectCertInvalid(
        parse(pki().leaf.certificatePem(), pki().leaf.keyPem(), corrupt), "chain.pem", "does not decode");
}

TEST_F(CertificateParseTest, AcceptsSeveralCertificatesInChainPem)
{
    const auto result = parse(pki().leaf.certificatePem(), pki().leaf.keyPem(),
        pki().chainPem() + "\n" + pki().root.certificatePem());
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->chain.size(), 2U);
}

TEST(TrustAnchorsTest, LoadsOneOrMoreCertificatesPerSource)
{
    const Pki pki = makePki();
    auto anchors = TrustAnchors::fromPem({ { "root.pem", pki.root.certificatePem() },
        { "both.pem", pki.root.certificatePem() + pki.issuing.certificatePem() } });
    ASSERT_TRUE(anchors) << anchors.error().message;
    EXPECT_EQ(anchors->certificates().size(), 3U);
}

TEST(TrustAnchorsTest, RejectsEmptyOrGarbageSourcesNamingThem)
{
    const Pki pki = makePki();
    const std::vector<std::pair<std::string, std::string>> bad {
        { "/etc/omni-provision/empty.pem", "" },
        { "/etc/omni-provision/garbage.pem", "not a certificate\n" },
        { "/etc/omni-provision/key.pem", pki.root.keyPem() },
    };
    for (const auto& source : bad) {
        auto anchors = TrustAnchors::fromPem({ { "good.pem", pki.root.certificatePem() }, source });
        ASSERT_FALSE(anchors) << source.first;
        EXPECT_EQ(anchors.error().reason, ReasonCode::InternalError);
        EXPECT_EQ(anchors.error().check, Check::None);
        EXPECT_EQ(anchors.error().where, source.first);
        EXPECT_NE(anchors.error().message.find(source.first), std::string::npos) << anchors.error().message;
    }
}

} // namespace
} // namespace omni::trust::testing
