// Checks 15 (lifetime), 16 (clock), 17 (validity), commonName and OpenSSL errors.
#include <gtest/gtest.h>

#include <openssl/err.h>

#include "tests/unit/core/trust/test_pki.hpp"

namespace omni::trust::testing {
namespace {

class TimeChecksTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { pki_ = new Pki(makePki()); }
    static void TearDownTestSuite()
    {
        delete pki_;
        pki_ = nullptr;
    }
    static const Pki& pki() { return *pki_; }
    static CertificatePath path() { return valueOf(verifyChain(pki().credentials(), pki().anchors())); }

private:
    static inline Pki* pki_ = nullptr;
};

TEST_F(TimeChecksTest, ValidityOfReadsTheCertificateWindow)
{
    const Validity validity = validityOf(pki().leaf.certificate.get());
    EXPECT_EQ(validity.notBefore, issueTime());
    EXPECT_EQ(validity.notAfter, issueTime() + 300);
}

TEST_F(TimeChecksTest, ValidityOfReadsGeneralizedTime)
{
    // After 2049 X.509 uses GeneralizedTime, before 1950 too.
    const time::UnixTime early = time::parseRfc3339("1940-01-02T03:04:05Z").value();
    const time::UnixTime late = time::parseRfc3339("2100-06-07T08:09:10Z").value();
    const Issued root = makeRoot("Long Root", early, late, sharedKey(KeyType::EcP256, 0));
    EXPECT_EQ(ASN1_STRING_type(X509_get0_notAfter(root.certificate.get())), V_ASN1_GENERALIZEDTIME);
    const Validity validity = validityOf(root.certificate.get());
    EXPECT_EQ(validity.notBefore, early);
    EXPECT_EQ(validity.notAfter, late);
}

TEST_F(TimeChecksTest, LifetimeOf300IsAcceptedAnd301IsTooLong)
{
    EXPECT_TRUE(checkLifetime(pki().leaf.certificate.get(), 300));

    CertificateSpec spec = leafSpec();
    spec.notAfter = spec.notBefore + 301;
    const Issued longLeaf = makeLeaf(spec, pki().issuing, sharedKey(KeyType::EcP256, 2));
    const auto result = checkLifetime(longLeaf.certificate.get(), 300);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().reason, ReasonCode::CertLifetimeTooLong);
    EXPECT_EQ(result.error().check, Check::Lifetime);
    EXPECT_NE(result.error().message.find("valid for 301 s"), std::string::npos) << result.error().message;
    EXPECT_NE(result.error().message.find("at most 300 s"), std::string::npos) << result.error().message;
    // A larger configured maximum accepts it; a smaller one refuses the 300 s leaf.
    EXPECT_TRUE(checkLifetime(longLeaf.certificate.get(), 301));
    EXPECT_EQ(
        checkLifetime(pki().leaf.certificate.get(), 299).error().reason, ReasonCode::CertLifetimeTooLong);

    // A year-long certificate, as a generic CA would issue it.
    CertificateSpec yearSpec = leafSpec();
    yearSpec.notAfter = yearSpec.notBefore + kYear;
    const Issued yearLeaf = makeLeaf(yearSpec, pki().issuing, sharedKey(KeyType::EcP256, 2));
    const auto year = checkLifetime(yearLeaf.certificate.get(), 300);
    ASSERT_FALSE(year);
    EXPECT_NE(year.error().message.find("valid for " + std::to_string(kYear) + " s"), std::string::npos)
        << year.error().message;
}

TEST_F(TimeChecksTest, ClockBeforeTheBuildTimeIsUntrusted)
{
    const time::UnixTime buildEpoch = issueTime() - 3600;
    EXPECT_TRUE(checkClock(buildEpoch, buildEpoch));
    EXPECT_TRUE(checkClock(issueTime(), buildEpoch));
    const time::UnixTime deadRtc = 0;
    for (const time::UnixTime now : { buildEpoch - 1, deadRtc }) {
        const auto result = checkClock(now, buildEpoch);
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().reason, ReasonCode::ClockUntrusted);
        EXPECT_EQ(result.error().check, Check::Clock);
        EXPECT_NE(result.error().message.find("clock reads " + time::formatRfc3339(now)), std::string::npos);
        EXPECT_NE(
            result.error().message.find("build time " + time::formatRfc3339(buildEpoch)), std::string::npos);
        EXPECT_NE(result.error().message.find("Set the device clock"), std::string::npos);
    }
}

TEST_F(TimeChecksTest, LeafWindowIsClosedWithTolerance)
{
    const CertificatePath certificates = path();
    const time::UnixTime notBefore = issueTime();
    const time::UnixTime notAfter = issueTime() + 300;
    EXPECT_TRUE(checkValidity(certificates, notAfter + 30, 30));
    EXPECT_TRUE(checkValidity(certificates, notBefore - 30, 30));
    EXPECT_TRUE(checkValidity(certificates, notBefore + 150, 30));

    const auto expired = checkValidity(certificates, notAfter + 31, 30);
    ASSERT_FALSE(expired);
    EXPECT_EQ(expired.error().reason, ReasonCode::CertExpired);
    EXPECT_EQ(expired.error().check, Check::Validity);

    const auto early = checkValidity(certificates, notBefore - 31, 30);
    ASSERT_FALSE(early);
    EXPECT_EQ(early.error().reason, ReasonCode::CertNotYetValid);
    EXPECT_EQ(early.error().check, Check::Validity);
}

TEST_F(TimeChecksTest, ZeroToleranceKeepsThePlainClosedWindow)
{
    const CertificatePath certificates = path();
    EXPECT_TRUE(checkValidity(certificates, issueTime(), 0));
    EXPECT_TRUE(checkValidity(certificates, issueTime() + 300, 0));
    EXPECT_EQ(checkValidity(certificates, issueTime() + 301, 0).error().reason, ReasonCode::CertExpired);
    EXPECT_EQ(checkValidity(certificates, issueTime() - 1, 0).error().reason, ReasonCode::CertNotYetValid);
}

TEST_F(TimeChecksTest, ExpiredMessageGivesTheTimesAndTheAdvice)
{
    const auto result = checkValidity(path(), issueTime() + 660, 30);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message,
        "the provisioning certificate was issued at 2026-11-26T02:30:00Z and was valid until "
        "2026-11-26T02:35:00Z (30 s tolerance); this device's clock reads 2026-11-26T02:41:00Z. Create a new "
        "archive and copy it to the stick within 5 minutes");
}

TEST_F(TimeChecksTest, NotYetValidMessageGivesTheTimes)
{
    const auto result = checkValidity(path(), issueTime() - 3600, 30);
    ASSERT_FALSE(result);
    const std::string& message = result.error().message;
    EXPECT_NE(message.find("issued at 2026-11-26T02:30:00Z"), std::string::npos) << message;
    EXPECT_NE(message.find("clock reads 2026-11-26T01:30:00Z"), std::string::npos) << message;
    EXPECT_NE(message.find("3600 s before"), std::string::npos) << message;
}

TEST_F(TimeChecksTest, LeafIsJudgedBeforeTheRestOfThePath)
{
    // Leaf within its tolerance, intermediate expired a second ago.
    const Issued shortIssuing = makeCa(
        "Short Issuing", pki().root, issueTime() - kYear, issueTime() + 299, sharedKey(KeyType::EcP256, 1));
    const Issued leaf = makeLeaf(leafSpec(), shortIssuing, sharedKey(KeyType::EcP256, 2));
    const CertificatePath certificates
        = valueOf(verifyChain(credentialsOf(leaf, { &shortIssuing }), pki().anchors()));
    EXPECT_TRUE(
        checkValidity(certificates, issueTime() + 299, 30)); // the intermediate's window is closed too

    const auto intermediateExpired = checkValidity(certificates, issueTime() + 300, 30);
    ASSERT_FALSE(intermediateExpired);
    EXPECT_EQ(intermediateExpired.error().reason, ReasonCode::CertExpired);
    EXPECT_NE(intermediateExpired.error().message.find("CA certificate 'Short Issuing'"), std::string::npos)
        << intermediateExpired.error().message;
    EXPECT_NE(intermediateExpired.error().message.find("until 2026-11-26T02:34:59Z"), std::string::npos)
        << intermediateExpired.error().message;

    // Both expired: the provisioning certificate is reported.
    const auto bothExpired = checkValidity(certificates, issueTime() + 400, 30);
    ASSERT_FALSE(bothExpired);
    EXPECT_NE(bothExpired.error().message.find("the provisioning certificate"), std::string::npos)
        << bothExpired.error().message;
}

TEST_F(TimeChecksTest, IntermediateNotYetValidIsReported)
{
    const Issued futureIssuing = makeCa(
        "Future Issuing", pki().root, issueTime() + 10, issueTime() + kYear, sharedKey(KeyType::EcP256, 1));
    const Issued leaf = makeLeaf(leafSpec(), futureIssuing, sharedKey(KeyType::EcP256, 2));
    const CertificatePath certificates
        = valueOf(verifyChain(credentialsOf(leaf, { &futureIssuing }), pki().anchors()));
    const auto result = checkValidity(certificates, issueTime(), 30);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().reason, ReasonCode::CertNotYetValid);
    EXPECT_NE(result.error().message.find("'Future Issuing'"), std::string::npos) << result.error().message;
}

TEST_F(TimeChecksTest, CommonNameNeedsExactlyOneEntry)
{
    EXPECT_EQ(commonName(pki().leaf.certificate.get()), "device-1");

    CertificateSpec noName = leafSpec();
    noName.commonName.clear();
    noName.organization = "Only An Organization";
    EXPECT_EQ(commonName(makeLeaf(noName, pki().issuing, sharedKey(KeyType::EcP256, 2)).certificate.get()),
        std::nullopt);

    X509Ptr twoNames = copyOf(pki().leaf.certificate.get());
    X509NamePtr subject(X509_NAME_dup(X509_get_subject_name(twoNames.get())));
    const std::string second = "device-2";
    ASSERT_EQ(
        X509_NAME_add_entry_by_NID(subject.get(), NID_commonName, MBSTRING_UTF8,
            reinterpret_cast<const unsigned char*>(second.data()), static_cast<int>(second.size()), -1, 0),
        1);
    ASSERT_EQ(X509_set_subject_name(twoNames.get(), subject.get()), 1);
    EXPECT_EQ(commonName(twoNames.get()), std::nullopt);
}

TEST_F(TimeChecksTest, CommonNameIsUtf8)
{
    CertificateSpec spec = leafSpec();
    spec.commonName = "Ger\xc3\xa4t-1";
    const Issued leaf = makeLeaf(spec, pki().issuing, sharedKey(KeyType::EcP256, 2));
    EXPECT_EQ(commonName(leaf.certificate.get()), "Ger\xc3\xa4t-1");

    // A BMPString commonName comes back as UTF-8 too.
    X509Ptr bmp = copyOf(pki().leaf.certificate.get());
    X509NamePtr subject(X509_NAME_new());
    const unsigned char bmpBytes[] = { 0x00, 'd', 0x00, 0xe9, 0x00, 'v' };
    ASSERT_EQ(X509_NAME_add_entry_by_NID(
                  subject.get(), NID_commonName, V_ASN1_BMPSTRING, bmpBytes, sizeof bmpBytes, -1, 0),
        1);
    ASSERT_EQ(X509_set_subject_name(bmp.get(), subject.get()), 1);
    EXPECT_EQ(commonName(bmp.get()), "d\xc3\xa9v");
}

TEST(OpenSslErrorsTest, DrainJoinsAndClearsTheQueue)
{
    ERR_raise(ERR_LIB_X509, ERR_R_MALLOC_FAILURE);
    ERR_raise(ERR_LIB_PEM, ERR_R_PASSED_NULL_PARAMETER);
    const std::string text = drainOpenSslErrors();
    EXPECT_NE(text.find("; "), std::string::npos) << text;
    EXPECT_EQ(ERR_peek_error(), 0UL);
}

} // namespace
} // namespace omni::trust::testing
