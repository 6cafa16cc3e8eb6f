// The smaller parts of `serve`: the credentials file, --listen parsing, and
// the shared ProvisionDevice flow as create-device uses it (--replace, the
// archive written inside the registry transaction).
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/x509_builder.hpp"
#include "daemon/issuer/provision/issuing_material.hpp"
#include "daemon/issuer/provision/provision_device.hpp"
#include "daemon/issuer/serve/credentials_file.hpp"
#include "daemon/issuer/serve/http_server.hpp"
#include "tests/support/process.hpp"

namespace omni::serve {
namespace {

TEST(CredentialsFile, ReadsPairsCommentsAndBlankLines)
{
    const auto store = CredentialStore::parse(
        "# fleet scripts\n\nAKIDONE secret/one+x\r\n  AKIDTWO\tsecret-two  # the door cameras\n", "keys");
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ(store->size(), 2u);
    EXPECT_EQ(store->secretFor("AKIDONE"), "secret/one+x");
    EXPECT_EQ(store->secretFor("AKIDTWO"), "secret-two");
    EXPECT_FALSE(store->secretFor("AKIDTHREE"));
}

TEST(CredentialsFile, ErrorsNameTheLineButNeverTheSecret)
{
    for (const char* text : { "AKIDONE\n", "AKIDONE s3cr3t extra\n", "AKIDONE s3cr3t\nAKIDONE s3cr3t\n",
             "AKID/ONE s3cr3t\n", "", "# only a comment\n" }) {
        const auto store = CredentialStore::parse(text, "keys");
        ASSERT_FALSE(store) << text;
        EXPECT_EQ(store.error().message.find("s3cr3t"), std::string::npos) << store.error().message;
        EXPECT_EQ(store.error().message.rfind("keys", 0), 0u) << store.error().message;
    }
    const auto second = CredentialStore::parse("AKIDONE a\nAKIDTWO\n", "keys");
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("keys:2:"), std::string::npos);
}

TEST(CredentialsFile, RefusesAFileOthersCanRead)
{
    testing::TemporaryDirectory directory;
    const std::string path = directory / "keys";
    testing::writeFile(path, "AKIDONE secret\n");
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    const auto open = CredentialStore::load(path);
    ASSERT_FALSE(open);
    EXPECT_NE(open.error().message.find("chmod 600"), std::string::npos) << open.error().message;
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    EXPECT_TRUE(CredentialStore::load(path));
    EXPECT_FALSE(CredentialStore::load(directory / "absent"));
}

TEST(ListenAddress, ParsesAddressesAndKnowsLoopback)
{
    const auto ipv4 = parseListenAddress("127.0.0.1:8080");
    ASSERT_TRUE(ipv4) << ipv4.error().message;
    EXPECT_TRUE(ipv4->loopback);
    EXPECT_EQ(ipv4->port, 8080);
    EXPECT_EQ(formatEndpoint(*ipv4, 8080), "127.0.0.1:8080");

    const auto ipv6 = parseListenAddress("[::1]:0");
    ASSERT_TRUE(ipv6) << ipv6.error().message;
    EXPECT_TRUE(ipv6->loopback && ipv6->ipv6);
    EXPECT_EQ(formatEndpoint(*ipv6, 4321), "[::1]:4321");

    EXPECT_TRUE(parseListenAddress("localhost:1")->loopback);
    EXPECT_TRUE(parseListenAddress("127.8.9.10:1")->loopback);
    EXPECT_FALSE(parseListenAddress("0.0.0.0:443")->loopback);
    EXPECT_FALSE(parseListenAddress("[::]:443")->loopback);
    EXPECT_FALSE(parseListenAddress("192.168.1.2:443")->loopback);
}

TEST(ListenAddress, RefusesWhatIsNotAnAddressAndPort)
{
    for (const char* text : { "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "::1:80",
             "[::1]80", "example.com:80", ":80", "127.0.0.1:8x" })
        EXPECT_FALSE(parseListenAddress(text)) << text;
}

class SharedProvisioning : public ::testing::Test {
protected:
    static constexpr time::UnixTime kNow = 1795000000;
    testing::TemporaryDirectory directory;
    std::optional<issuer::IssuingAuthority> authority;
    std::optional<registry::Registry> registry;

    void SetUp() override
    {
        auto material = issuer::makeCertificateAuthority(kNow - 3600, "serve test");
        ASSERT_TRUE(material);
        auto certificate = trust::loadCertificatePem(material->issuingCertificatePem, "issuing.pem");
        auto key = trust::loadPrivateKeyPem(material->issuingKeyPem, "issuing.key");
        ASSERT_TRUE(certificate && key);
        authority.emplace(issuer::IssuingAuthority { std::move(*certificate), std::move(*key), {} });
        auto opened = registry::Registry::open(directory / "registry.sqlite");
        ASSERT_TRUE(opened);
        registry.emplace(std::move(*opened));
    }

    tl::expected<issuer::IssuedDevice, ApiError> provision(
        const std::string& body, const ProvisionPolicy& policy, const ProvisionHooks& hooks = {})
    {
        return provisionDevice(*registry, *authority, issuer::ArnScope {}, body, policy, kNow, hooks);
    }
};

TEST_F(SharedProvisioning, ReplaceIssuesTheSameNameAgain)
{
    ProvisionPolicy policy;
    policy.conflictAdvice = "; use --replace to issue it again";
    const auto first = provision(R"({"Name":"cam-01"})", policy);
    ASSERT_TRUE(first);
    const auto conflict = provision(R"({"Name":"cam-01"})", policy);
    ASSERT_FALSE(conflict);
    EXPECT_EQ(conflict.error().type, "ConflictException");
    EXPECT_NE(conflict.error().message().find("--replace"), std::string::npos);

    policy.replaceExisting = true;
    policy.maxDevices = 1; // replacing does not count against the quota
    const auto second = provision(R"({"Name":"cam-01"})", policy);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_NE(second->deviceId, first->deviceId);
    EXPECT_EQ(registry->count().value(), 1);
    EXPECT_EQ(registry->findByName("cam-01").value()->deviceId, second->deviceId);
}

TEST_F(SharedProvisioning, AFailingHookLeavesNoRecord)
{
    ProvisionHooks hooks;
    hooks.beforeCommit = [](const issuer::IssuedDevice&) -> Result<void> {
        return fail(ReasonCode::InternalError, Check::None, "disk full");
    };
    const auto failed = provision(R"({"Name":"cam-01"})", {}, hooks);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().httpStatus, 500);
    EXPECT_EQ(failed.error().type, "InternalServerException");
    EXPECT_EQ(registry->count().value(), 0);

    std::string seenInHook;
    hooks.beforeCommit = [&](const issuer::IssuedDevice& device) -> Result<void> {
        seenInHook = device.deviceId;
        return {};
    };
    const auto issued = provision(R"({"Name":"cam-01"})", {}, hooks);
    ASSERT_TRUE(issued);
    EXPECT_EQ(seenInHook, issued->deviceId);
    EXPECT_EQ(registry->count().value(), 1);
}

TEST_F(SharedProvisioning, ANameTooLongForAFileIsRefusedOnlyWhenAFileIsWritten)
{
    const std::string longName(240, 'n');
    ProvisionPolicy forFile;
    forFile.nameMustFitFileName = true;
    const auto refused = provision("{\"Name\":\"" + longName + "\"}", forFile);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().body["Fields"][0]["Name"], "Name");
    EXPECT_TRUE(provision("{\"Name\":\"" + longName + "\"}", {}));
}

TEST_F(SharedProvisioning, ThePolicysEnrollmentIsInEveryManifestIssued)
{
    const std::string issuingPem = trust::certificateToPem(authority->certificate.get());
    auto enrollment = manifest::makeEnrollment("https://issuer.example:8443", issuingPem);
    ASSERT_TRUE(enrollment) << enrollment.error().message;
    ProvisionPolicy policy;
    policy.enrollment = *enrollment;
    const auto device = provision(R"({"Name":"cam-01"})", policy);
    ASSERT_TRUE(device) << device.error().message();
    const auto parsed = manifest::parseManifest(device->manifest);
    ASSERT_TRUE(parsed) << parsed.error().message;
    ASSERT_TRUE(parsed->enrollment);
    EXPECT_EQ(parsed->enrollment->url, "https://issuer.example:8443");
    EXPECT_EQ(parsed->enrollment->serverCa, issuingPem);

    // Without it the manifest has no member at all.
    const auto plain = provision(R"({"Name":"cam-02"})", {});
    ASSERT_TRUE(plain) << plain.error().message();
    EXPECT_EQ(plain->manifest.find("Enrollment"), std::string::npos) << plain->manifest;
}

TEST(LoadEnrollment, ServerCaIsTheFlagsFileElseTheLastTlsCertificate)
{
    testing::TemporaryDirectory directory;
    auto material = issuer::makeCertificateAuthority(1795000000, "enrol test");
    ASSERT_TRUE(material);
    const std::string tlsChain = material->issuingCertificatePem + material->rootCertificatePem;

    const auto fromTls = loadEnrollment("--public-url", "https://issuer.example", "", tlsChain);
    ASSERT_TRUE(fromTls) << fromTls.error().message;
    EXPECT_EQ(fromTls->serverCa, material->rootCertificatePem);
    ASSERT_EQ(fromTls->serverCaCertificates.size(), 1U);

    const std::string pinned = directory / "server-ca.pem";
    testing::writeFile(pinned, tlsChain);
    const auto fromFile = loadEnrollment("--public-url", "https://issuer.example", pinned, tlsChain);
    ASSERT_TRUE(fromFile) << fromFile.error().message;
    EXPECT_EQ(fromFile->serverCa, tlsChain);
    EXPECT_EQ(fromFile->serverCaCertificates.size(), 2U);

    const auto badUrl = loadEnrollment("--public-url", "https://issuer.example/#x", "", tlsChain);
    ASSERT_FALSE(badUrl);
    EXPECT_EQ(badUrl.error().message.rfind("--public-url: Enrollment.Url must not have a fragment", 0), 0U)
        << badUrl.error().message;
    testing::writeFile(pinned, material->issuingKeyPem);
    const auto badCa = loadEnrollment("--enroll-url", "https://issuer.example", pinned);
    ASSERT_FALSE(badCa);
    EXPECT_EQ(badCa.error().message.rfind("--enroll-server-ca: Enrollment.ServerCa", 0), 0U)
        << badCa.error().message;
}

} // namespace
} // namespace omni::serve
