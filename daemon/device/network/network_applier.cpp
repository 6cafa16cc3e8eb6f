#include "daemon/device/network/network_applier.hpp"

#include <algorithm>
#include <string>

namespace omni::netlink {

using network::EthernetPort;
using network::InterfaceMode;
using network::Operation;
using network::OperationKind;

std::vector<InterfaceIdentity> ApplyOutcome::interfacesNeedingDhcpClient() const
{
    std::vector<InterfaceIdentity> interfaces;
    for (const PortOutcome& port : ports) {
        if (port.dhcpClientRequired) {
            interfaces.push_back(port.interface);
        }
    }
    return interfaces;
}

namespace {

std::string portName(EthernetPort port)
{
    return std::string(network::toString(port));
}

std::string label(const PortOutcome& port)
{
    return portName(port.port) + " (" + port.interface.name + ", ifindex "
        + std::to_string(port.interface.ifindex) + ")";
}

Error applyError(const PortOutcome& port, std::string message)
{
    return Error { ReasonCode::NetworkApplyFailed, Check::NetworkApply,
        label(port) + ": " + std::move(message), portName(port.port) };
}

} // namespace

Result<std::vector<PortOutcome>> resolvePlanPorts(
    NetworkBackend& backend, const network::NetworkPlan& plan, const network::InterfaceMapping& mapping)
{
    std::vector<PortOutcome> ports;
    for (EthernetPort port : network::kEthernetPorts) {
        const network::DesiredInterface& desired = plan[port];
        if (desired.mode == InterfaceMode::LeaveAsIs) {
            continue;
        }
        const std::string configured
            = portName(port) + " is configured as " + std::string(network::toString(desired.mode));
        const auto& matcher = mapping[port].matcher;
        if (!matcher) {
            return fail(ReasonCode::InterfaceMissing, Check::InterfaceMapping,
                configured + " but the device configuration maps " + portName(port)
                    + " to no interface (set it by name, MAC address or udev ID_PATH)",
                portName(port));
        }
        auto identity = backend.resolve(*matcher);
        if (!identity) {
            Error error = std::move(identity.error()).withContext(configured);
            error.where = portName(port);
            return tl::unexpected(std::move(error));
        }
        for (const PortOutcome& earlier : ports) {
            if (earlier.interface.ifindex == identity->ifindex) {
                return fail(ReasonCode::InterfaceMissing, Check::InterfaceMapping,
                    portName(earlier.port) + " and " + portName(port) + " both map to interface "
                        + identity->name + ": the device configuration must map them to different interfaces",
                    portName(port));
            }
        }
        ports.push_back(
            PortOutcome { port, desired.mode, *identity, {}, desired.mode == InterfaceMode::Dhcp });
    }
    return ports;
}

namespace {

struct PortReading {
    network::ObservedInterface interface;
    std::vector<Operation> changes;
};

Result<PortReading> readPort(NetworkBackend& backend, const network::NetworkPlan& plan,
    const PortOutcome& port, const std::vector<network::ObservedRoute>* knownRoutes = nullptr)
{
    auto observed = backend.observeInterface(port.interface.ifindex);
    if (!observed) {
        return tl::unexpected(applyError(port, "reading its state: " + observed.error().message));
    }
    std::vector<network::ObservedRoute> routes;
    if (knownRoutes != nullptr) {
        routes = *knownRoutes;
    } else {
        auto read = backend.observeDefaultRoutes();
        if (!read) {
            return tl::unexpected(applyError(port, "reading the default routes: " + read.error().message));
        }
        routes = std::move(*read);
    }
    PortReading reading { std::move(*observed), {} };
    reading.changes = network::diffInterface(plan[port.port], reading.interface, routes);
    return reading;
}

} // namespace

AddressesAndRoutes::AddressesAndRoutes(
    NetworkBackend& backend, network::NetworkPlan plan, std::vector<PortOutcome> ports, ApplyHooks hooks)
    : backend_(backend)
    , plan_(std::move(plan))
    , ports_(std::move(ports))
    , hooks_(std::move(hooks))
{
}

Result<RestoreOutcome> AddressesAndRoutes::undo()
{
    if (!snapshot_) {
        return RestoreOutcome {};
    }
    auto restored = backend_.restore(*snapshot_);
    snapshot_.reset();
    return restored;
}

Result<ApplyOutcome> AddressesAndRoutes::apply()
{
    NetworkBackend& backend = backend_;
    const network::NetworkPlan& plan = plan_;
    const ApplyHooks& hooks = hooks_;
    ApplyOutcome outcome;
    outcome.ports = ports_;
    const std::uint64_t requestsBefore = backend.changeRequestsSent();
    const auto countRequests
        = [&] { outcome.changeRequests = backend.changeRequestsSent() - requestsBefore; };

    // Step 2: one read of everything; a configuration in force ends here.
    auto routes = backend.observeDefaultRoutes();
    if (!routes) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            "reading the default routes: " + routes.error().message);
    }
    std::vector<PortReading> firstReadings;
    for (const PortOutcome& port : outcome.ports) {
        auto reading = readPort(backend, plan, port, &*routes);
        if (!reading) {
            return tl::unexpected(std::move(reading.error()));
        }
        firstReadings.push_back(std::move(*reading));
    }
    if (std::all_of(firstReadings.begin(), firstReadings.end(),
            [](const PortReading& reading) { return reading.changes.empty(); })) {
        countRequests();
        return outcome;
    }

    // Step 3.
    std::vector<int> ifindexes;
    for (const PortOutcome& port : outcome.ports) {
        ifindexes.push_back(port.interface.ifindex);
    }
    auto snapshot = backend.snapshot(ifindexes);
    if (!snapshot) {
        return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
            "taking the snapshot before any change (nothing was changed): " + snapshot.error().message);
    }
    snapshot_ = std::move(*snapshot);
    // A failure from here on may have changed something; undo() puts it back.

    // Steps 4 and 5: rounds of read, diff, change until a whole round reads
    // back with nothing left to change.
    bool anythingSent = false;
    std::vector<bool> hooked(outcome.ports.size(), false);
    std::vector<network::ObservedInterface> lastRead(outcome.ports.size());
    for (int round = 0;; ++round) {
        bool changedThisRound = false;
        for (std::size_t index = 0; index < outcome.ports.size(); ++index) {
            PortOutcome& port = outcome.ports[index];
            PortReading reading;
            if (!anythingSent) {
                reading = firstReadings[index];
            } else {
                auto fresh = readPort(backend, plan, port);
                if (!fresh) {
                    return tl::unexpected(std::move(fresh.error()));
                }
                reading = std::move(*fresh);
            }
            lastRead[index] = reading.interface;
            if (reading.changes.empty()) {
                continue;
            }
            if (round == kMaxApplyRounds) {
                return tl::unexpected(applyError(port,
                    "reading back after " + std::to_string(kMaxApplyRounds)
                        + " rounds of changes, the interface still differs from the plan (left to do: "
                        + network::describe(reading.changes) + ")"));
            }
            if (!hooked[index] && hooks.beforeChanges) {
                hooks.beforeChanges(port.port, reading.changes);
            }
            hooked[index] = true;
            for (std::size_t step = 0; step < reading.changes.size(); ++step) {
                const Operation& operation = reading.changes[step];
                anythingSent = true;
                changedThisRound = true;
                auto executed = backend.execute(port.interface.ifindex, operation);
                if (!executed) {
                    return tl::unexpected(applyError(port,
                        "step " + std::to_string(step + 1) + " of " + std::to_string(reading.changes.size())
                            + " (" + network::describe(operation) + ") failed: " + executed.error().message));
                }
                port.operations.push_back(operation);
            }
        }
        if (!changedThisRound) {
            break;
        }
    }

    // An address we added that does not read back as ours could never be
    // removed by a later apply: the kernel dropped IFA_PROTO (before 6.1).
    for (std::size_t index = 0; index < outcome.ports.size(); ++index) {
        const PortOutcome& port = outcome.ports[index];
        for (const Operation& operation : port.operations) {
            if (operation.kind != OperationKind::AddAddress) {
                continue;
            }
            const auto& addresses = lastRead[index].addresses;
            const auto found = std::find_if(addresses.begin(), addresses.end(), [&](const auto& address) {
                return address.address == operation.address && address.prefixLength == operation.prefixLength;
            });
            if (found != addresses.end() && !found->ours) {
                return tl::unexpected(applyError(port,
                    "reading back, " + network::describe(operation)
                        + " is present but without our address protocol mark (IFA_PROTO "
                        + std::to_string(network::kOwnAddressProtocol)
                        + "): this kernel does not keep it (Linux 6.1 or later is needed), so the address "
                          "could not be told apart from others later"));
            }
        }
    }
    countRequests();
    return outcome;
}

Result<ApplyOutcome> applyNetworkPlan(NetworkBackend& backend, const network::NetworkPlan& plan,
    const network::InterfaceMapping& mapping, const ApplyHooks& hooks)
{
    auto ports = resolvePlanPorts(backend, plan, mapping);
    if (!ports) {
        return tl::unexpected(std::move(ports.error()));
    }
    AddressesAndRoutes step(backend, plan, std::move(*ports), hooks);
    auto applied = step.apply();
    if (applied || !step.mayHaveChanged()) {
        return applied;
    }
    Error failure = std::move(applied.error());
    auto restored = step.undo();
    if (!restored) {
        failure.message
            += "; rolling back failed as well, the network may be half-applied: " + restored.error().message;
    } else if (restored->vanishedInterfaces.empty()) {
        failure.message += "; rolled back: every interface is as it was before";
    } else {
        failure.message += "; rolled back, except interfaces that disappeared meanwhile:";
        for (const LinkRecord& link : restored->vanishedInterfaces) {
            failure.message += " " + link.name;
        }
    }
    return tl::unexpected(std::move(failure));
}

} // namespace omni::netlink
