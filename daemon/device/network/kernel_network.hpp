#pragma once
// The agent's NetworkConfigurator on the real system: the network service
// (netlink addresses and routes, supervised dhcpcd clients, DNS and NTP
// backends, one transaction with one rollback) built from the configuration.
#include <memory>

#include "config/config.hpp"
#include "daemon/device/agent/network_configurator.hpp"
#include "daemon/device/network/network_service.hpp"
#include "drivers/dhcp/dhcp_supervisor.hpp"
#include "drivers/dns/dns_backend.hpp"
#include "drivers/netlink/netlink_backend.hpp"
#include "drivers/ntp/ntp_backend.hpp"

namespace omni::network_glue {

struct KernelNetworkOptions {
    // `omni-provision apply` exits after applying: its dhcpcd clients stay
    // and the next supervisor adopts them. The daemon stops its own.
    bool keepDhcpClientsOnExit = false;
};

// The DNS and NTP backends a configuration asks for, made before anything is
// put in force (the daemon's configuration check makes them, a start or a
// reload then hands them over).
struct NetworkBackends {
    std::unique_ptr<dns::DnsBackend> dns;
    std::unique_ptr<ntp::NtpBackend> ntp;
};

class KernelNetworkConfigurator final : public agent::NetworkConfigurator {
public:
    static Result<NetworkBackends> makeBackends(const config::Config& configuration);

    // Errors: NETWORK_APPLY_FAILED when netlink cannot be opened. D-Bus is
    // connected only when a step needs it.
    static Result<std::unique_ptr<KernelNetworkConfigurator>> open(
        const config::Config& configuration, KernelNetworkOptions options = {});
    static Result<std::unique_ptr<KernelNetworkConfigurator>> open(
        const config::Config& configuration, NetworkBackends backends, KernelNetworkOptions options = {});
    ~KernelNetworkConfigurator() override;

    Result<agent::NetworkApplySummary> apply(
        const std::optional<manifest::NetworkingConfiguration>& networking) override;
    std::vector<agent::PortFacts> describe(bool probeGateways) override;

    // For a program that only reports: the stored configuration's modes.
    Result<void> assumeInForce(const std::optional<manifest::NetworkingConfiguration>& networking)
    {
        return service_->assumeInForce(networking);
    }

    // A reset's network half (NetworkService::removeOurChanges).
    Result<network_service::RemovalSummary> removeOurChanges() { return service_->removeOurChanges(); }
    // True while a DHCP client of ours is supervised (or waits for its restart).
    bool supervisesDhcpClients() const { return !dhcp_->interfaces().empty(); }

    // SIGHUP: the mapping and the DNS/NTP backends follow the new
    // configuration; running DHCP clients are kept (the next apply adjusts
    // them). Cannot fail: the backends were made by makeBackends.
    void reconfigure(const config::Config& configuration, NetworkBackends backends);

    // For the event loop: a DHCP client ended (SIGCHLD), a restart is due, a
    // lease changed. Each returns what the journal should say.
    std::vector<std::string> onChildExit();
    std::optional<std::chrono::steady_clock::time_point> nextDhcpRestartAt() const;
    void restartDueDhcpClients();
    Result<network_service::ApplySummary> refreshFromLeases();
    std::filesystem::path leaseDirectory() const { return dhcp_->leaseDirectory(); }

private:
    KernelNetworkConfigurator() = default;
    void install(const config::Config& configuration, NetworkBackends backends);

    std::unique_ptr<netlink::NetlinkBackend> netlink_;
    std::unique_ptr<dhcp::DhcpSupervisor> dhcp_;
    std::unique_ptr<dns::DnsBackend> dns_;
    std::unique_ptr<ntp::NtpBackend> ntp_;
    std::unique_ptr<network_service::NetworkService> service_;
};

} // namespace omni::network_glue
