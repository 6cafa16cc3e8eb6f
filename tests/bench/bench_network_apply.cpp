// Applying a static plan to two veth interfaces in a network namespace:
// from scratch (links down, no address, no route) and again unchanged.
// Reports time per apply (median over repetitions) and the netlink change
// requests each apply sent. Needs root and `ip netns`; exits 77 (skip)
// saying why otherwise. Numbers are reported, never asserted.
#include <cstdio>
#include <memory>

#include <benchmark/benchmark.h>

#include "daemon/core/manifest/ipv4.hpp"
#include "daemon/core/network/network_plan.hpp"
#include "daemon/device/network/network_applier.hpp"
#include "drivers/netlink/netlink_backend.hpp"
#include "tests/integration/network/netns.hpp"

namespace {

using namespace omni;

manifest::EthernetPayload staticEthernet(const char* address, const char* gateway)
{
    manifest::StaticIpConnectionInfo info;
    info.ipAddress = address;
    info.mask = "24";
    info.defaultGateway = gateway;
    info.dns = { "192.0.2.53" };
    info.address = manifest::parseIpv4(address).value();
    info.prefixLength = 24;
    info.gateway = manifest::parseIpv4(gateway).value();
    return { manifest::ConnectionType::StaticIp, info };
}

// One device-under-test namespace with dut0/dut1, their peers (holding the
// gateways) in a second namespace, and the backend's socket in the first.
struct Bench {
    testing::NetworkNamespace dut { "bench-dut" };
    testing::NetworkNamespace peer { "bench-peer" };
    std::unique_ptr<netlink::NetlinkBackend> backend;
    network::InterfaceMapping mapping;
    network::NetworkPlan plan;
    netlink::NetworkSnapshot bare; // both ports down, no address, no route

    Bench()
    {
        for (const char* index : { "0", "1" }) {
            const std::string dutName = std::string("dut") + index;
            const std::string peerName = std::string("peer") + index;
            testing::ip({ "-n", dut.name(), "link", "add", "name", dutName, "type", "veth", "peer", "name",
                peerName, "netns", peer.name() });
            testing::ip({ "-n", peer.name(), "address", "add", std::string("10.") + index + ".0.1/24", "dev",
                peerName });
            testing::ip({ "-n", peer.name(), "link", "set", peerName, "up" });
        }
        testing::runInNamespace(dut.name(), [&] {
            auto opened = netlink::NetlinkBackend::open();
            if (!opened) {
                throw std::runtime_error(opened.error().message);
            }
            backend = std::move(*opened);
        });
        mapping.ethernet0.matcher = network::InterfaceMatcher { network::MatchKind::Name, "dut0" };
        mapping.ethernet1.matcher = network::InterfaceMatcher { network::MatchKind::Name, "dut1" };
        manifest::NetworkingConfiguration configuration;
        configuration.ethernet0 = staticEthernet("10.0.0.2", "10.0.0.1");
        configuration.ethernet1 = staticEthernet("10.1.0.2", "10.1.0.1");
        plan = network::planNetwork(configuration, mapping).value();

        std::vector<int> ifindexes;
        for (const char* name : { "dut0", "dut1" }) {
            ifindexes.push_back(backend->resolve({ network::MatchKind::Name, name }).value().ifindex);
        }
        bare = backend->snapshot(ifindexes).value();
    }

    std::uint64_t applyOnce()
    {
        auto outcome = netlink::applyNetworkPlan(*backend, plan, mapping);
        if (!outcome) {
            throw std::runtime_error(outcome.error().message);
        }
        return outcome->changeRequests;
    }

    void backToBare()
    {
        if (auto restored = backend->restore(bare); !restored) {
            throw std::runtime_error(restored.error().message);
        }
    }
};

std::unique_ptr<Bench> bench;

void reportChanges(benchmark::State& state, std::uint64_t changeRequests)
{
    state.counters["netlink_changes"]
        = benchmark::Counter(static_cast<double>(changeRequests), benchmark::Counter::kAvgIterations);
}

void applyStaticFromScratch(benchmark::State& state)
{
    std::uint64_t changeRequests = 0;
    for (auto _ : state) {
        state.PauseTiming();
        bench->backToBare();
        state.ResumeTiming();
        changeRequests += bench->applyOnce();
    }
    reportChanges(state, changeRequests);
}

void reapplyUnchanged(benchmark::State& state)
{
    bench->backToBare();
    bench->applyOnce();
    std::uint64_t changeRequests = 0;
    for (auto _ : state) {
        changeRequests += bench->applyOnce();
    }
    reportChanges(state, changeRequests);
}

// Wall-clock time: the work happens in the kernel, inside our syscalls.
BENCHMARK(applyStaticFromScratch)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->Repetitions(10)
    ->ReportAggregatesOnly(true);
BENCHMARK(reapplyUnchanged)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->Repetitions(10)
    ->ReportAggregatesOnly(true);

} // namespace

int main(int argc, char** argv)
{
    if (const auto why = omni::testing::whyIntegrationCannotRun()) {
        std::printf("SKIP network apply benchmark: %s\n", why->c_str());
        return 77;
    }
    omni::testing::removeStaleNamespaces();
    try {
        bench = std::make_unique<Bench>();
        benchmark::Initialize(&argc, argv);
        benchmark::RunSpecifiedBenchmarks();
        benchmark::Shutdown();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "network apply benchmark: %s\n", error.what());
        bench.reset();
        return 1;
    }
    bench.reset();
    return 0;
}
