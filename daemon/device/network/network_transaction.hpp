#pragma once
// The transaction of DESIGN.md section 4: one ordered list of steps, each
// with its undo, and one rollback.
//
// run():
//  1. every step takes its snapshot, in order, before any step changes
//     anything: a failure here changes nothing;
//  2. the steps are applied in order (a step that is not needed now is
//     skipped: neither applied nor undone);
//  3. when step k fails, step k undoes the part of it that was done, then
//     k-1, ..., 1 are undone, in that order, each exactly once; the result is
//     NETWORK_APPLY_FAILED whose `where` is the step's name and whose message
//     starts with its title ("DNS step failed: ...").
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/result.hpp"

namespace omni::network_service {

// What undoing says: a failure leaves the network half-applied; an
// exception is a part that could not be restored and need not be (an
// interface that disappeared meanwhile).
class UndoLog {
public:
    void failed(const std::string& what, const Error& error)
    {
        failures_.push_back(what + ": " + error.message);
    }
    void except(std::string what) { exceptions_.push_back(std::move(what)); }

    const std::vector<std::string>& failures() const { return failures_; }
    const std::vector<std::string>& exceptions() const { return exceptions_; }

private:
    std::vector<std::string> failures_;
    std::vector<std::string> exceptions_;
};

class NetworkStep {
public:
    virtual ~NetworkStep() = default;

    // NETWORK_APPLY_FAILED's `where` ("dns") and the message's start ("DNS").
    virtual std::string_view name() const = 0;
    virtual std::string_view title() const = 0;

    // Before any step changes anything: what apply() will touch.
    virtual Result<void> snapshot() { return {}; }
    // Asked right before apply(): false skips the step (it has nothing to do
    // now, e.g. no DHCP client to stop).
    virtual bool needed() { return true; }
    // May fail after doing part of its work; undo() then undoes that part.
    virtual Result<void> apply() = 0;
    // Undoes what apply() did, whole or in part; nothing when it did nothing.
    virtual void undo(UndoLog& log) = 0;
};

class NetworkTransaction {
public:
    // Called before each step's apply() with its name: the seam through
    // which tests make a step fail.
    using BeforeStep = std::function<void(std::string_view step)>;

    explicit NetworkTransaction(BeforeStep beforeStep = {});

    void add(std::unique_ptr<NetworkStep> step);
    Result<void> run();

private:
    static Error failure(const NetworkStep& step, Error cause, const UndoLog& log);

    BeforeStep beforeStep_;
    std::vector<std::unique_ptr<NetworkStep>> steps_;
};

} // namespace omni::network_service
