#include "daemon/device/network/network_transaction.hpp"

namespace omni::network_service {

NetworkTransaction::NetworkTransaction(BeforeStep beforeStep)
    : beforeStep_(std::move(beforeStep))
{
}

void NetworkTransaction::add(std::unique_ptr<NetworkStep> step)
{
    steps_.push_back(std::move(step));
}

Result<void> NetworkTransaction::run()
{
    for (const auto& step : steps_) {
        if (auto taken = step->snapshot(); !taken) {
            return fail(ReasonCode::NetworkApplyFailed, Check::NetworkApply,
                std::string(step->title())
                    + " step failed before any change (snapshot): " + taken.error().message,
                std::string(step->name()));
        }
    }
    std::vector<bool> applied(steps_.size(), false);
    for (std::size_t index = 0; index < steps_.size(); ++index) {
        NetworkStep& step = *steps_[index];
        if (!step.needed()) {
            continue;
        }
        if (beforeStep_) {
            beforeStep_(step.name());
        }
        applied[index] = true; // a failing step may have done part of its work
        if (auto done = step.apply(); !done) {
            UndoLog log;
            for (std::size_t undone = index + 1; undone-- > 0;) {
                if (applied[undone]) {
                    steps_[undone]->undo(log);
                }
            }
            return tl::unexpected(failure(step, std::move(done.error()), log));
        }
    }
    return {};
}

Error NetworkTransaction::failure(const NetworkStep& step, Error cause, const UndoLog& log)
{
    Error error { ReasonCode::NetworkApplyFailed, Check::NetworkApply,
        std::string(step.title()) + " step failed: " + cause.message, std::string(step.name()) };
    if (cause.reason == ReasonCode::InterfaceMissing) {
        error.reason = ReasonCode::InterfaceMissing;
        error.check = Check::InterfaceMapping;
    }
    if (!log.failures().empty()) {
        error.message += "; rolling back failed as well, the network may be half-applied:";
        for (const std::string& problem : log.failures()) {
            error.message += " " + problem + ";";
        }
        error.message.pop_back();
        return error;
    }
    error.message += "; rolled back: addresses, routes, DHCP clients, DNS and NTP are as they were before";
    if (!log.exceptions().empty()) {
        error.message += ", except";
        for (const std::string& exception : log.exceptions()) {
            error.message += " " + exception + ";";
        }
        error.message.pop_back();
    }
    return error;
}

} // namespace omni::network_service
