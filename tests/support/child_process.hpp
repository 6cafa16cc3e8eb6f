#pragma once
// A long-running helper program for tests (dbus-daemon, the fake system
// services, dnsmasq): started without a shell, its stdout readable line by
// line with a deadline, stopped with SIGTERM (then SIGKILL) when the object
// goes away. Errors throw std::runtime_error, which gtest reports.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace omni::testing {

class ChildProcess {
public:
    // stderr goes to `stderrPath` when given (for a failure's explanation),
    // else to the test's own stderr.
    explicit ChildProcess(const std::vector<std::string>& arguments, const std::string& stderrPath = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    // The next line of stdout without its newline; throws on EOF or after `timeout`.
    std::string readLine(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // SIGTERM, up to 5 s, then SIGKILL; returns the wait status. Idempotent.
    int stop();
    bool running();

private:
    pid_t pid_ = -1;
    int stdout_ = -1;
    std::string buffered_;
    std::string name_;
};

// Waits for `done` with a deadline; `done` is re-checked each time
// `interval` passes (for states that give no event to wait on, such as a
// file another process writes). Returns whether it held in time.
bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
    std::chrono::milliseconds interval = std::chrono::milliseconds(20));

} // namespace omni::testing
