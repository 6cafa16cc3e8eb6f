#include "tests/support/private_bus.hpp"

#include <unistd.h>

#include <fstream>
#include <stdexcept>

#ifndef OMNI_FAKE_SYSTEM_SERVICES
#error "OMNI_FAKE_SYSTEM_SERVICES must name the fake-system-services executable"
#endif

namespace omni::testing {

namespace {

std::filesystem::path makeTemporaryDirectory(const std::string& role)
{
    std::string pattern = (std::filesystem::temp_directory_path() / ("omni-" + role + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp " + pattern + " failed");
    }
    return pattern;
}

} // namespace

std::string whyPrivateBusUnavailable()
{
    for (const char* directory : { "/usr/bin", "/bin", "/usr/local/bin" }) {
        if (::access((std::string(directory) + "/dbus-daemon").c_str(), X_OK) == 0) {
            return {};
        }
    }
    return "dbus-daemon is not installed (apt-get install dbus-daemon)";
}

PrivateBus::PrivateBus()
    : directory_(makeTemporaryDirectory("bus"))
{
    const std::filesystem::path config = directory_ / "bus.conf";
    std::ofstream(config)
        << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
           " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
           "<busconfig>\n"
           "  <type>session</type>\n"
           "  <listen>unix:path="
        << (directory_ / "socket").string()
        << "</listen>\n"
           "  <auth>EXTERNAL</auth>\n"
           "  <policy context=\"default\">\n"
           "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
           "    <allow eavesdrop=\"true\"/>\n"
           "    <allow own=\"*\"/>\n"
           "  </policy>\n"
           "</busconfig>\n";
    daemon_ = std::make_unique<ChildProcess>(
        std::vector<std::string> {
            "dbus-daemon", "--config-file=" + config.string(), "--print-address", "--nofork" },
        (directory_ / "dbus-daemon.log").string());
    address_ = daemon_->readLine();
}

PrivateBus::~PrivateBus()
{
    daemon_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
}

FakeSystemServices::FakeSystemServices(const PrivateBus& bus, const FakeServicesOptions& options)
    : log_(bus.directory() / "calls.log")
{
    std::vector<std::string> arguments { OMNI_FAKE_SYSTEM_SERVICES, "--address", bus.address(), "--log",
        log_.string() };
    for (const std::string& method : options.failMethods) {
        arguments.insert(arguments.end(), { "--fail", method });
    }
    for (const std::string& unit : options.missingUnits) {
        arguments.insert(arguments.end(), { "--missing-unit", unit });
    }
    for (const std::string& link : options.initialLinks) {
        arguments.insert(arguments.end(), { "--link", link });
    }
    process_ = std::make_unique<ChildProcess>(arguments, (bus.directory() / "fake.log").string());
    const std::string ready = process_->readLine();
    if (ready != "ready") {
        throw std::runtime_error("fake-system-services said \"" + ready + "\" instead of ready");
    }
}

FakeSystemServices::~FakeSystemServices() = default;

std::vector<std::string> FakeSystemServices::calls() const
{
    std::vector<std::string> lines;
    std::ifstream file(log_);
    for (std::string line; std::getline(file, line);) {
        lines.push_back(line);
    }
    return lines;
}

void FakeSystemServices::clearCalls()
{
    std::ofstream(log_, std::ios::trunc);
}

} // namespace omni::testing
