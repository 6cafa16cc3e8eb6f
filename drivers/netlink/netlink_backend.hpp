#pragma once
// NetworkBackend on libnl-route-3 (see README.md for why). Works by interface
// index on one NETLINK_ROUTE socket; the socket belongs to the network
// namespace of the thread that calls open(), and stays there, which is how
// the integration tests point it at a test namespace.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "drivers/netlink/network_backend.hpp"

namespace omni::netlink {

class NetlinkBackend final : public NetworkBackend {
public:
    // udev ID_PATH -> interface name; supplied by the udev driver. Without
    // one, an ID_PATH matcher is INTERFACE_MISSING saying so.
    using IdPathResolver = std::function<std::optional<std::string>(const std::string& idPath)>;

    static Result<std::unique_ptr<NetlinkBackend>> open(IdPathResolver idPathResolver = {});
    ~NetlinkBackend() override;
    NetlinkBackend(const NetlinkBackend&) = delete;
    NetlinkBackend& operator=(const NetlinkBackend&) = delete;

    Result<InterfaceIdentity> resolve(const network::InterfaceMatcher& matcher) override;
    Result<network::ObservedInterface> observeInterface(int ifindex) override;
    Result<std::vector<network::ObservedRoute>> observeDefaultRoutes() override;
    Result<void> execute(int ifindex, const network::Operation& operation) override;
    Result<NetworkSnapshot> snapshot(std::span<const int> ifindexes) override;
    Result<RestoreOutcome> restore(const NetworkSnapshot& snapshot) override;
    std::uint64_t changeRequestsSent() const override;

    // Every link, for messages and tests.
    Result<std::vector<InterfaceIdentity>> listInterfaces();

private:
    struct State;
    explicit NetlinkBackend(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

} // namespace omni::netlink
