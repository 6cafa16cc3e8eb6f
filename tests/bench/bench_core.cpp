// Benchmarks of the pure core: `inspect` of a valid archive (target: median
// <= 2 ms on the 2-core machine) and create-device's issuing step. Numbers are
// printed, never asserted.
#include <ctime>

#include <benchmark/benchmark.h>

#include "daemon/core/manifest/manifest.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/verify/verify_archive.hpp"
#include "daemon/issuer/ca/issuing.hpp"
#include "tests/support/archive_factory.hpp"

namespace {

using namespace omni;

const time::UnixTime kNow = static_cast<time::UnixTime>(std::time(nullptr));

manifest::ProvisionRequest staticRequest()
{
    const auto body = nlohmann::json::parse(R"({"Name": "cam-01", "NetworkingConfiguration": {
      "Ethernet0": {"ConnectionType": "STATIC_IP", "StaticIpConnectionInfo": {"IpAddress": "192.168.1.10",
        "Mask": "255.255.255.0", "DefaultGateway": "192.168.1.1", "Dns": ["192.168.1.1"]}},
      "Ntp": {"NtpServers": ["pool.ntp.org"]}}})");
    return *manifest::validateProvisionRequest(body);
}

void inspectValidArchive(benchmark::State& state)
{
    const auto authority = testing::TestAuthority::make(kNow);
    const auto anchors = authority.anchors();
    issuer::IssuingAuthority issuing { trust::X509Ptr(X509_dup(authority.issuing.get())),
        trust::PkeyPtr((EVP_PKEY_up_ref(authority.issuingKey.get()), authority.issuingKey.get())),
        authority.issuingPem() };
    const auto device = issuer::issueDevice(staticRequest(), issuing, {}, kNow);
    verify::VerifyPolicy policy;
    policy.anchors = &anchors;
    policy.now = kNow + 10;
    policy.buildEpoch = kNow - 10;
    for (auto _ : state) {
        auto outcome = verify::verifyArchive(
            "certificates-omni_cam-01.zip", testing::bytesOf(device->archive), policy);
        if (!outcome.result)
            state.SkipWithError(outcome.result.error().message.c_str());
        benchmark::DoNotOptimize(outcome);
    }
}
BENCHMARK(inspectValidArchive)->Unit(benchmark::kMicrosecond);

void createDevice(benchmark::State& state)
{
    const auto authority = testing::TestAuthority::make(kNow);
    issuer::IssuingAuthority issuing { trust::X509Ptr(X509_dup(authority.issuing.get())),
        trust::PkeyPtr((EVP_PKEY_up_ref(authority.issuingKey.get()), authority.issuingKey.get())),
        authority.issuingPem() };
    const auto request = staticRequest();
    for (auto _ : state) {
        auto device = issuer::issueDevice(request, issuing, {}, kNow);
        benchmark::DoNotOptimize(device);
    }
}
BENCHMARK(createDevice)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
