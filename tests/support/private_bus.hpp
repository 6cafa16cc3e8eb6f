#pragma once
// A private D-Bus for the DNS and NTP driver tests: dbus-daemon with a
// generated session-like configuration in a temporary directory, and the
// fake systemd-resolved / systemd manager (fake-system-services, built from
// fake_system_services.cpp) on it, recording every state-changing call.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"

namespace omni::testing {

// Empty when the tests can run; otherwise why not (dbus-daemon missing).
std::string whyPrivateBusUnavailable();

class PrivateBus {
public:
    PrivateBus();
    ~PrivateBus();

    const std::string& address() const { return address_; }
    const std::filesystem::path& directory() const { return directory_; }

private:
    std::filesystem::path directory_;
    std::unique_ptr<ChildProcess> daemon_;
    std::string address_;
};

struct FakeServicesOptions {
    std::vector<std::string> failMethods; // answered with org.freedesktop.DBus.Error.AccessDenied
    // Servers a link has before the test: "IFINDEX=ADDRESS,ADDRESS".
    std::vector<std::string> initialLinks;
    // Units GetUnitFileState answers as not installed (FileNotFound).
    std::vector<std::string> missingUnits {};
};

class FakeSystemServices {
public:
    FakeSystemServices(const PrivateBus& bus, const FakeServicesOptions& options = {});
    ~FakeSystemServices();

    // Every state-changing call so far, one line each:
    //   SetLinkDNS <ifindex> <address> ...   RevertLink <ifindex>
    //   RestartUnit <unit> <mode>
    std::vector<std::string> calls() const;
    void clearCalls();

private:
    std::filesystem::path log_;
    std::unique_ptr<ChildProcess> process_;
};

} // namespace omni::testing
