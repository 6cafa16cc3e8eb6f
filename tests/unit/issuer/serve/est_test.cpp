// EST on the issuer (DESIGN.md section 10) as the HTTP layer drives it: the
// TLS client's certificate chain (DER) and the body in, the response out,
// against a real SQLite registry and a CA generated for the test. The CSRs
// and the PKCS#7 answers are made and read with OpenSSL directly here.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "daemon/core/archive/zip_reader.hpp"
#include "daemon/core/digest/digest.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/x509_builder.hpp"
#include "daemon/issuer/serve/device_api.hpp"
#include "daemon/issuer/serve/est.hpp"
#include "tests/support/archive_factory.hpp"
#include "tests/support/process.hpp"

namespace omni::serve {
namespace {

using nlohmann::json;
using omni::testing::base64Decode;

constexpr std::int64_t kNow = 1795000000;
const sigv4::AccessKey kKey { "AKIDESTTEST", "est-test-secret-0123456789" };
constexpr const char* kReport = R"({"CurrentNetworkingStatus": {
  "Ethernet0Status": {"IpAddress": "192.168.1.10/24", "ConnectionStatus": "CONNECTED", "HwAddress": "52:54:00:12:34:56"},
  "Ethernet1Status": {"IpAddress": "--", "ConnectionStatus": "NOT_CONNECTED", "HwAddress": "52:54:00:12:34:57"},
  "NtpStatus": {"ConnectionStatus": "CONNECTED", "IpAddress": "192.168.1.1", "NtpServerName": "pool.ntp.org"}}})";

std::string header(const HttpResponse& response, const std::string& name)
{
    for (const auto& [key, value] : response.headers)
        if (strcasecmp(key.c_str(), name.c_str()) == 0)
            return value;
    return {};
}

std::string der(const X509* certificate)
{
    unsigned char* bytes = nullptr;
    const int length = i2d_X509(certificate, &bytes);
    std::string text(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(std::max(length, 0)));
    OPENSSL_free(bytes);
    return text;
}

// A PKCS#10 request for `commonName`, signed by `key`, as simpleenroll's body.
std::string csrBody(EVP_PKEY* key, const std::string& commonName)
{
    est::X509ReqPtr request(X509_REQ_new());
    X509_NAME* name = X509_REQ_get_subject_name(request.get());
    X509_NAME_add_entry_by_txt(
        name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0);
    X509_REQ_set_pubkey(request.get(), key);
    EXPECT_GT(X509_REQ_sign(request.get(), key, EVP_sha256()), 0);
    unsigned char* bytes = nullptr;
    const int length = i2d_X509_REQ(request.get(), &bytes);
    std::string text(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(std::max(length, 0)));
    OPENSSL_free(bytes);
    return issuer::base64Encode(text);
}

// The certificates of a base64 DER PKCS#7 certs-only body.
std::vector<trust::X509Ptr> certificatesOf(const std::string& body)
{
    const std::string bytes = base64Decode(body);
    const auto* cursor = reinterpret_cast<const unsigned char*>(bytes.data());
    std::unique_ptr<PKCS7, decltype(&PKCS7_free)> pkcs7(
        d2i_PKCS7(nullptr, &cursor, static_cast<long>(bytes.size())), PKCS7_free);
    std::vector<trust::X509Ptr> certificates;
    if (!pkcs7 || !PKCS7_type_is_signed(pkcs7.get()))
        return certificates;
    STACK_OF(X509)* stack = pkcs7->d.sign->cert;
    for (int index = 0; index < sk_X509_num(stack); ++index) {
        X509* certificate = sk_X509_value(stack, index);
        X509_up_ref(certificate);
        certificates.emplace_back(certificate);
    }
    return certificates;
}

struct Provisioned {
    std::string deviceId;
    trust::X509Ptr certificate;
    trust::PkeyPtr key;
};

class EstTest : public ::testing::Test {
protected:
    testing::TemporaryDirectory directory;
    std::unique_ptr<DeviceApi> api;
    trust::X509Ptr issuing;

    void SetUp() override
    {
        auto material = issuer::makeCertificateAuthority(kNow - 86400, "est test");
        ASSERT_TRUE(material) << material.error().message;
        auto certificate = trust::loadCertificatePem(material->issuingCertificatePem, "issuing.pem");
        auto key = trust::loadPrivateKeyPem(material->issuingKeyPem, "issuing.key");
        ASSERT_TRUE(certificate && key);
        issuing = trust::loadCertificatePem(material->issuingCertificatePem, "issuing.pem").value();
        auto credentials = CredentialStore::parse(kKey.id + " " + kKey.secret + "\n", "test credentials");
        ASSERT_TRUE(credentials);
        DeviceApiSettings settings { issuer::IssuingAuthority { std::move(*certificate), std::move(*key),
                                         material->issuingCertificatePem },
            issuer::ArnScope {}, std::nullopt, directory / "registry.sqlite", 4, 4096, {} };
        settings.deviceCertificateDays = 30;
        api = std::make_unique<DeviceApi>(std::move(settings), std::move(*credentials));
    }

    HttpResponse signedCall(const std::string& method, const std::string& target, const std::string& payload,
        std::int64_t now = kNow)
    {
        HttpRequest request { method, target,
            { { "Host", "127.0.0.1:8080" }, { "Content-Type", "application/json" },
                { "X-Amz-Date", time::formatIso8601BasicUtc(now) } },
            payload };
        const sigv4::Request toSign { method, target, request.headers };
        auto authorization
            = sigv4::authorizationHeader(toSign, digest::sha256Hex(payload), kKey, "us-east-1", "panorama");
        request.headers.emplace_back("Authorization", authorization.value_or(""));
        return api->handle(request, now);
    }

    HttpResponse est(const std::string& method, const std::string& path, const X509* client,
        const std::string& payload, std::int64_t now = kNow)
    {
        HttpRequest request { method, path, { { "Content-Type", "application/pkcs10" } }, payload };
        if (client)
            request.clientCertificateChainDer.push_back(der(client));
        return api->handle(request, now);
    }

    Provisioned provision(const std::string& name)
    {
        const HttpResponse response = signedCall("POST", "/devices", json { { "Name", name } }.dump());
        EXPECT_EQ(response.status, 200) << response.body;
        const json device = json::parse(response.body);
        const std::string archive = base64Decode(device["Certificates"]);
        auto entries = archive::readArchive(
            std::span(reinterpret_cast<const std::uint8_t*>(archive.data()), archive.size()));
        EXPECT_TRUE(entries);
        return { device["DeviceId"],
            trust::loadCertificatePem(entries->certificate, "certificate.pem").value(),
            trust::loadPrivateKeyPem(entries->privateKey, "private_key.pem").value() };
    }

    json describe(const std::string& deviceId, std::int64_t now = kNow)
    {
        return json::parse(signedCall("GET", "/devices/" + deviceId, "", now).body);
    }

    void executeSql(const std::string& sql)
    {
        sqlite3* handle = nullptr;
        ASSERT_EQ(sqlite3_open((directory / "registry.sqlite").c_str(), &handle), SQLITE_OK);
        EXPECT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(handle);
    }
};

void expectRefusal(const HttpResponse& response, int status, const std::string& rule)
{
    EXPECT_EQ(response.status, status) << response.body;
    EXPECT_EQ(header(response, "Content-Type").rfind("text/plain", 0), 0u);
    EXPECT_NE(response.body.find(rule), std::string::npos) << response.body;
}

TEST_F(EstTest, CacertsIsTheIssuingChainWithoutAClientCertificateOrSignature)
{
    const HttpResponse response = est("GET", "/.well-known/est/cacerts", nullptr, "");
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(header(response, "Content-Type"), "application/pkcs7-mime");
    const auto certificates = certificatesOf(response.body);
    ASSERT_EQ(certificates.size(), 1u); // --chain is the issuing certificate itself: not twice
    EXPECT_EQ(X509_cmp(certificates[0].get(), issuing.get()), 0);
}

TEST_F(EstTest, SimpleenrollIssuesTheDeviceCertificateOnceAndARetryGetsTheSameOne)
{
    const Provisioned device = provision("cam-01");
    auto deviceKey = trust::generateKey(trust::KeyType::EcP256).value();
    const std::string csr = csrBody(deviceKey.get(), device.deviceId);

    const HttpResponse enrolled = est("POST", "/.well-known/est/simpleenroll", device.certificate.get(), csr);
    ASSERT_EQ(enrolled.status, 200) << enrolled.body;
    EXPECT_EQ(header(enrolled, "Content-Type"), "application/pkcs7-mime; smime-type=certs-only");
    const auto issued = certificatesOf(enrolled.body);
    ASSERT_EQ(issued.size(), 1u);
    EXPECT_EQ(trust::commonName(issued[0].get()), device.deviceId);
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(issued[0].get()), deviceKey.get()), 1);
    EXPECT_TRUE(X509_get_extended_key_usage(issued[0].get()) & XKU_SSL_CLIENT);
    EXPECT_EQ(trust::validityOf(issued[0].get()).notAfter, kNow + 30 * 86400);
    EXPECT_EQ(X509_verify(issued[0].get(), X509_get0_pubkey(issuing.get())), 1);

    json described = describe(device.deviceId);
    EXPECT_EQ(described["ProvisioningStatus"], "PENDING");
    EXPECT_EQ(described["LeaseExpirationTime"], kNow + 30 * 86400);

    // A lost response: the same CSR key gets the same certificate, not a second one.
    const HttpResponse retried
        = est("POST", "/.well-known/est/simpleenroll", device.certificate.get(), csr, kNow + 5);
    ASSERT_EQ(retried.status, 200) << retried.body;
    const auto again = certificatesOf(retried.body);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(der(again[0].get()), der(issued[0].get()));

    auto otherKey = trust::generateKey(trust::KeyType::EcP256).value();
    expectRefusal(est("POST", "/.well-known/est/simpleenroll", device.certificate.get(),
                      csrBody(otherKey.get(), device.deviceId)),
        409, "consumed");
}

TEST_F(EstTest, EachRefusalNamesItsRule)
{
    const Provisioned device = provision("cam-02");
    auto deviceKey = trust::generateKey(trust::KeyType::EcP256).value();
    const std::string csr = csrBody(deviceKey.get(), device.deviceId);
    const std::string path = "/.well-known/est/simpleenroll";

    expectRefusal(est("POST", path, nullptr, csr), 403, "no TLS client certificate");
    // The same DeviceId, signed by another CA.
    auto otherCa = issuer::makeCertificateAuthority(kNow - 86400, "other").value();
    auto otherCertificate = trust::loadCertificatePem(otherCa.issuingCertificatePem, "other").value();
    auto otherKey = trust::loadPrivateKeyPem(otherCa.issuingKeyPem, "other").value();
    trust::CertificateSpec spec;
    spec.commonName = device.deviceId;
    spec.notBefore = kNow;
    spec.notAfter = kNow + 300;
    auto forged
        = trust::issueCertificate(spec, device.key.get(), otherCertificate.get(), otherKey.get()).value();
    expectRefusal(est("POST", path, forged.get(), csr), 403, "untrusted");

    expectRefusal(est("POST", path, device.certificate.get(), "not base64 at all!"), 400, "bad CSR");
    expectRefusal(est("POST", path, device.certificate.get(), csrBody(deviceKey.get(), "device-other")), 400,
        "CN must be the DeviceId");
    expectRefusal(est("POST", path, device.certificate.get(), csrBody(device.key.get(), device.deviceId)),
        400, "make a new key");
    auto weak = trust::generateKey(trust::KeyType::Rsa1024).value();
    expectRefusal(
        est("POST", path, device.certificate.get(), csrBody(weak.get(), device.deviceId)), 400, "2048 bits");
    auto p521 = trust::generateKey(trust::KeyType::EcP521).value();
    expectRefusal(est("POST", path, device.certificate.get(), csrBody(p521.get(), device.deviceId)), 400,
        "P-256 or P-384");

    // The window: notAfter (kNow + 300) plus the default grace of 600 s, closed.
    EXPECT_EQ(est("POST", path, device.certificate.get(), csr, kNow + 900).status, 200);
    const Provisioned late = provision("cam-03");
    expectRefusal(
        est("POST", path, late.certificate.get(), csrBody(deviceKey.get(), late.deviceId), kNow + 901), 403,
        "window closed");
    expectRefusal(
        est("POST", path, late.certificate.get(), csrBody(deviceKey.get(), late.deviceId), kNow - 31), 403,
        "not valid before");

    // A re-issued archive voids the old one.
    executeSql("UPDATE devices SET provisioning_certificate_serial = '01' WHERE device_id = '" + late.deviceId
        + "'");
    expectRefusal(est("POST", path, late.certificate.get(), csrBody(deviceKey.get(), late.deviceId)), 409,
        "superseded");

    const Provisioned deleted = provision("cam-04");
    EXPECT_EQ(signedCall("DELETE", "/devices/" + deleted.deviceId, "").status, 200);
    expectRefusal(est("POST", path, deleted.certificate.get(), csrBody(deviceKey.get(), deleted.deviceId)),
        409, "deleted");

    executeSql("DELETE FROM devices WHERE device_id = '" + deleted.deviceId + "'");
    expectRefusal(est("POST", path, deleted.certificate.get(), csrBody(deviceKey.get(), deleted.deviceId)),
        403, "unknown");
}

TEST_F(EstTest, ReenrolAndAStatusReportMakeTheDeviceSucceededAndOnline)
{
    const Provisioned device = provision("cam-05");
    auto firstKey = trust::generateKey(trust::KeyType::EcP256).value();
    const HttpResponse enrolled = est("POST", "/.well-known/est/simpleenroll", device.certificate.get(),
        csrBody(firstKey.get(), device.deviceId));
    ASSERT_EQ(enrolled.status, 200) << enrolled.body;
    const auto first = certificatesOf(enrolled.body);
    ASSERT_EQ(first.size(), 1u);

    // The provisioning certificate is not a device certificate.
    expectRefusal(est("PUT", "/device-status", device.certificate.get(), kReport), 409, "superseded");

    auto secondKey = trust::generateKey(trust::KeyType::EcP384).value();
    expectRefusal(est("POST", "/.well-known/est/simplereenroll", first[0].get(),
                      csrBody(firstKey.get(), device.deviceId)),
        400, "make a new key");
    const HttpResponse renewed = est("POST", "/.well-known/est/simplereenroll", first[0].get(),
        csrBody(secondKey.get(), device.deviceId), kNow + 3600);
    ASSERT_EQ(renewed.status, 200) << renewed.body;
    const auto second = certificatesOf(renewed.body);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(trust::validityOf(second[0].get()).notAfter, kNow + 3600 + 30 * 86400);
    // The renewed certificate replaces the first one.
    expectRefusal(est("PUT", "/device-status", first[0].get(), kReport, kNow + 3601), 409, "superseded");

    expectRefusal(est("PUT", "/device-status", second[0].get(),
                      R"({"CurrentNetworkingStatus": {"Wifi": {}}})", kNow + 3601),
        400, "CurrentNetworkingStatus.Wifi");
    expectRefusal(
        est("PUT", "/device-status", second[0].get(),
            R"({"CurrentNetworkingStatus": {"NtpStatus": {"ConnectionStatus": "UP"}}})", kNow + 3601),
        400, "ConnectionStatus");
    const HttpResponse reported = est("PUT", "/device-status", second[0].get(), kReport, kNow + 3602);
    ASSERT_EQ(reported.status, 200) << reported.body;

    const json described = describe(device.deviceId, kNow + 3610);
    EXPECT_EQ(described["ProvisioningStatus"], "SUCCEEDED");
    EXPECT_EQ(described["DeviceConnectionStatus"], "ONLINE");
    EXPECT_EQ(described["DeviceAggregatedStatus"], "ONLINE");
    EXPECT_EQ(described["LeaseExpirationTime"], kNow + 3600 + 30 * 86400);
    json expected = json::parse(kReport)["CurrentNetworkingStatus"];
    expected["LastUpdatedTime"] = kNow + 3602;
    EXPECT_EQ(described["CurrentNetworkingStatus"], expected);

    EXPECT_EQ(signedCall("DELETE", "/devices/" + device.deviceId, "", kNow + 3700).status, 200);
    expectRefusal(est("PUT", "/device-status", second[0].get(), kReport, kNow + 3701), 409, "deleted");
}

TEST(EstRules, TheWindowIsClosedAtBothEnds)
{
    const trust::Validity validity { 1000, 1300 };
    EXPECT_FALSE(est::checkWindow(validity, 969, 600));
    EXPECT_TRUE(est::checkWindow(validity, 970, 600));
    EXPECT_TRUE(est::checkWindow(validity, 1900, 600));
    EXPECT_FALSE(est::checkWindow(validity, 1901, 600));
    EXPECT_EQ(est::checkWindow(validity, 1901, 600).error().status, 403);
    EXPECT_TRUE(est::checkWindow(validity, 1300, 0));
    EXPECT_FALSE(est::checkWindow(validity, 1301, 0));
}

TEST(EstRules, SingleUseExceptARetryWithTheSameKey)
{
    registry::DeviceRecord record;
    record.deviceId = "device-x";
    record.provisioningCertificateSerial = "ABCD";
    EXPECT_EQ(est::judgeProvisioningCertificate(std::nullopt, "ABCD").error().status, 403);
    EXPECT_TRUE(est::judgeProvisioningCertificate(record, "ABCD"));
    EXPECT_EQ(est::judgeProvisioningCertificate(record, "ABCE").error().status, 409);
    EXPECT_EQ(est::judgeRetry(record, false).value(), est::EnrolmentStep::Issue);
    record.deviceCertificateSerial = "1234";
    EXPECT_EQ(est::judgeRetry(record, true).value(), est::EnrolmentStep::Resend);
    EXPECT_EQ(est::judgeRetry(record, false).error().status, 409);
    record.deletedAt = 5;
    EXPECT_EQ(est::judgeProvisioningCertificate(record, "ABCD").error().status, 409);
}

TEST(EstRules, AStatusReportHasOnlyTheModelsMembers)
{
    auto report = est::parseStatusReport(kReport);
    ASSERT_TRUE(report) << report.error().reason;
    EXPECT_EQ(json::parse(*report), json::parse(kReport)["CurrentNetworkingStatus"]);
    EXPECT_FALSE(est::parseStatusReport("{}"));
    EXPECT_FALSE(est::parseStatusReport(R"({"CurrentNetworkingStatus": {}, "DeviceId": "device-other"})"));
    EXPECT_FALSE(
        est::parseStatusReport(R"({"CurrentNetworkingStatus": {"Ethernet0Status": {"Mtu": "1500"}}})"));
    EXPECT_FALSE(
        est::parseStatusReport(R"({"CurrentNetworkingStatus": {"Ethernet0Status": {"IpAddress": 1}}})"));
    EXPECT_FALSE(est::parseStatusReport("not json"));
}

} // namespace
} // namespace omni::serve
