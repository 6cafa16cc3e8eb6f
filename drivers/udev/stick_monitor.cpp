#include "drivers/udev/stick_monitor.hpp"

#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <libudev.h>
#include <unistd.h>

namespace omni::udev {
namespace {

struct UdevUnref {
    void operator()(::udev* context) const { ::udev_unref(context); }
    void operator()(::udev_monitor* monitor) const { ::udev_monitor_unref(monitor); }
    void operator()(::udev_enumerate* enumerate) const { ::udev_enumerate_unref(enumerate); }
    void operator()(::udev_device* device) const { ::udev_device_unref(device); }
};
using UdevContext = std::unique_ptr<::udev, UdevUnref>;
using UdevMonitor = std::unique_ptr<::udev_monitor, UdevUnref>;
using UdevEnumerate = std::unique_ptr<::udev_enumerate, UdevUnref>;
using UdevDevice = std::unique_ptr<::udev_device, UdevUnref>;

struct DirectoryCloser {
    void operator()(DIR* directory) const { ::closedir(directory); }
};

// Enough for any burst of plugging; the fd stays readable for the rest.
constexpr std::size_t maxEventsPerDrain = 1024;

std::string text(const char* value)
{
    return value ? std::string(value) : std::string();
}

// The kernel writes "1.5", "12", "480", "5000", "10000", "20000".
std::optional<unsigned> parseMbps(const char* value)
{
    if (!value || *value < '0' || *value > '9')
        return std::nullopt;
    unsigned result = 0;
    for (const char* digit = value; *digit >= '0' && *digit <= '9'; ++digit) {
        result = result * 10 + static_cast<unsigned>(*digit - '0');
        if (result > 10'000'000)
            return std::nullopt;
    }
    return result;
}

std::optional<std::uint64_t> parseCount(const char* value)
{
    if (!value || *value < '0' || *value > '9')
        return std::nullopt;
    std::uint64_t result = 0;
    for (const char* digit = value; *digit >= '0' && *digit <= '9'; ++digit) {
        if (result > (UINT64_MAX - 9) / 10)
            return std::nullopt;
        result = result * 10 + static_cast<std::uint64_t>(*digit - '0');
    }
    return result;
}

// Small sysfs attribute files only; read with plain open(2) so umockdev can
// redirect them in tests like everything libudev reads.
std::optional<std::string> readAttribute(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return std::nullopt;
    char buffer[64];
    const ssize_t length = ::read(fd, buffer, sizeof buffer - 1);
    ::close(fd);
    if (length < 0)
        return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(length));
}

std::string lastComponent(const std::string& path)
{
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

::udev_device* usbParent(::udev_device* device)
{
    return ::udev_device_get_parent_with_subsystem_devtype(device, "usb", "usb_device");
}

// Looks up the connector's High-Speed companion in sysfs: the USB 3 root hub
// of the controller, the connector's port directory under it, and that
// port's `peer` link, which the kernel points at the USB 2 port wired to the
// same physical connector.
void resolveCompanion(Connector& connector, const std::string& controllerSyspath)
{
    std::unique_ptr<DIR, DirectoryCloser> directory(::opendir(controllerSyspath.c_str()));
    if (!directory) {
        connector.companionProblem = "cannot list " + controllerSyspath + ": " + std::strerror(errno);
        return;
    }
    std::string bus;
    while (const dirent* entry = ::readdir(directory.get())) {
        const std::string name = entry->d_name;
        if (name.size() <= 3 || name.compare(0, 3, "usb") != 0
            || name.find_first_not_of("0123456789", 3) != std::string::npos)
            continue;
        const auto speed = readAttribute(controllerSyspath + "/" + name + "/speed");
        const auto mbps = speed ? parseMbps(speed->c_str()) : std::nullopt;
        if (mbps && *mbps >= superSpeedMbps) {
            bus = name.substr(3);
            break;
        }
    }
    if (bus.empty()) {
        connector.companionProblem = "controller " + controllerSyspath + " has no USB 3 root hub";
        return;
    }

    // Root hub ports sit in "usbN/N-0:1.0/usbN-portP"; a hub's in
    // "<hub>/<hub>:1.0/<hub>-portP" with <hub> = "N-<chain so far>".
    std::string hubDirectory = controllerSyspath + "/usb" + bus;
    std::string portDirectory;
    std::string chainSoFar;
    const std::string& chain = connector.superSpeed.chain;
    for (std::size_t start = 0; start <= chain.size();) {
        const auto dot = chain.find('.', start);
        const std::string port
            = chain.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (chainSoFar.empty()) {
            portDirectory = hubDirectory + "/" + bus + "-0:1.0/usb" + bus + "-port" + port;
        } else {
            const std::string hub = bus + "-" + chainSoFar;
            hubDirectory += "/" + hub;
            portDirectory = hubDirectory + "/" + hub + ":1.0/" + hub + "-port" + port;
        }
        chainSoFar += (chainSoFar.empty() ? "" : ".") + port;
        if (dot == std::string::npos)
            break;
        start = dot + 1;
    }

    char target[512];
    const std::string peerLink = portDirectory + "/peer";
    const ssize_t length = ::readlink(peerLink.c_str(), target, sizeof target - 1);
    if (length < 0) {
        connector.companionProblem = errno == ENOENT
            ? "the kernel paired no USB 2 port with it (no " + peerLink + ")"
            : "cannot read " + peerLink + ": " + std::strerror(errno);
        return;
    }
    const std::string peerName = lastComponent(std::string(target, static_cast<std::size_t>(length)));
    const auto peerChain = chainOfPortName(peerName);
    if (!peerChain) {
        connector.companionProblem = peerLink + " points at '" + peerName + "', which is not a USB port";
        return;
    }
    connector.highSpeedCompanion = UsbPort { connector.superSpeed.controller, RootHub::Usb2, *peerChain };
}

} // namespace

struct StickMonitor::State {
    StickPolicy policy;
    bool anyPort = false; // usb.connector_id_path ""
    UsbPort superSpeedPort;
    UdevContext context;
    UdevMonitor monitor;
    // Devices reported by an Add, by syspath, so a Remove can say what went
    // away (sysfs is gone by then) and duplicates are not reported twice.
    std::map<std::string, StickEvent> reported;

    std::vector<StickEvent> handle(::udev_device* device, std::string_view action);
    StickEvent evaluate(::udev_device* device) const;
};

StickEvent StickMonitor::State::evaluate(::udev_device* device) const
{
    DeviceFacts facts;
    facts.kernelName = text(::udev_device_get_sysname(device));
    facts.devnode = text(::udev_device_get_devnode(device));
    for (::udev_list_entry* entry = ::udev_device_get_properties_list_entry(device); entry;
         entry = ::udev_list_entry_get_next(entry))
        facts.properties.emplace(
            text(::udev_list_entry_get_name(entry)), text(::udev_list_entry_get_value(entry)));
    if (facts.devnode.empty() && facts.properties.count("DEVNAME"))
        facts.devnode = facts.properties["DEVNAME"];
    facts.sizeSectors = parseCount(::udev_device_get_sysattr_value(device, "size"));

    Connector connector { superSpeedPort, std::nullopt, {}, anyPort };
    if (::udev_device* usbDevice = usbParent(device)) {
        facts.onUsb = true;
        facts.usbSpeedMbps = parseMbps(::udev_device_get_sysattr_value(usbDevice, "speed"));
        ::udev_device* rootHub = usbDevice;
        while (::udev_device* parent = usbParent(rootHub))
            rootHub = parent;
        facts.rootHubSpeedMbps = parseMbps(::udev_device_get_sysattr_value(rootHub, "speed"));

        const auto idPath = facts.properties.find("ID_PATH");
        const auto parts = idPath == facts.properties.end() ? std::nullopt : usbPartsOfIdPath(idPath->second);
        ::udev_device* controller = ::udev_device_get_parent(rootHub);
        if (!anyPort && parts && parts->controller == superSpeedPort.controller && controller)
            resolveCompanion(connector, text(::udev_device_get_syspath(controller)));
    }

    const Decision decision = decide(policy, connector, facts);
    StickEvent event;
    event.disposition = decision.disposition;
    event.devnode = facts.devnode;
    event.kernelName = facts.kernelName;
    event.syspath = text(::udev_device_get_syspath(device));
    event.filesystemType = decision.filesystemType;
    event.usbSpeedMbps = facts.usbSpeedMbps;
    event.portSeen = decision.portSeen;
    event.role = decision.role;
    event.onConfiguredConnector = decision.role == PortRole::SuperSpeedPort
        || decision.role == PortRole::HighSpeedCompanion || decision.role == PortRole::AnyPort;
    event.onHighSpeedCompanion = decision.role == PortRole::HighSpeedCompanion;
    event.description = describeDevice(facts);
    event.reason = decision.reason;
    event.warning = decision.warning;
    return event;
}

std::vector<StickEvent> StickMonitor::State::handle(::udev_device* device, std::string_view action)
{
    std::vector<StickEvent> events;
    const std::string syspath = text(::udev_device_get_syspath(device));
    const auto known = reported.find(syspath);
    if (action == "remove") {
        if (known != reported.end()) {
            StickEvent gone = std::move(known->second);
            gone.action = StickAction::Remove;
            reported.erase(known);
            events.push_back(std::move(gone));
        }
        return events;
    }
    if (action != "add" && action != "change")
        return events;

    StickEvent event = evaluate(device);
    if (known != reported.end()) {
        const StickEvent& before = known->second;
        if (before.disposition == event.disposition && before.filesystemType == event.filesystemType
            && before.role == event.role && before.devnode == event.devnode)
            return events;
        // A card reader's medium changed, or udev finished probing: what was
        // reported is no longer true.
        StickEvent gone = std::move(known->second);
        gone.action = StickAction::Remove;
        reported.erase(known);
        events.push_back(std::move(gone));
    }
    if (event.disposition == Disposition::Skipped)
        return events;
    reported[syspath] = event;
    events.push_back(std::move(event));
    return events;
}

StickMonitor::StickMonitor(std::unique_ptr<State> state)
    : state_(std::move(state))
{
}
StickMonitor::~StickMonitor() = default;
StickMonitor::StickMonitor(StickMonitor&& other) noexcept = default;
StickMonitor& StickMonitor::operator=(StickMonitor&& other) noexcept = default;

Result<StickMonitor> StickMonitor::open(StickPolicy policy)
{
    auto state = std::make_unique<State>();
    if (policy.connectorIdPath.empty()) {
        state->anyPort = true;
    } else {
        auto port = parseConnectorIdPath(policy.connectorIdPath);
        if (!port)
            return tl::unexpected(std::move(port.error()));
        state->superSpeedPort = std::move(*port);
    }
    state->policy = std::move(policy);
    state->context.reset(::udev_new());
    if (!state->context)
        return fail(ReasonCode::InternalError, Check::None,
            std::string("creating the udev context: ") + std::strerror(errno));
    state->monitor.reset(::udev_monitor_new_from_netlink(state->context.get(), "udev"));
    if (!state->monitor)
        return fail(ReasonCode::InternalError, Check::None,
            std::string("opening the udev monitor: ") + std::strerror(errno));
    if (const int error
        = ::udev_monitor_filter_add_match_subsystem_devtype(state->monitor.get(), "block", nullptr);
        error < 0)
        return fail(ReasonCode::InternalError, Check::None,
            std::string("filtering the udev monitor on block devices: ") + std::strerror(-error));
    if (const int error = ::udev_monitor_enable_receiving(state->monitor.get()); error < 0)
        return fail(ReasonCode::InternalError, Check::None,
            std::string("starting the udev monitor: ") + std::strerror(-error));
    return StickMonitor(std::move(state));
}

int StickMonitor::fd() const
{
    return ::udev_monitor_get_fd(state_->monitor.get());
}

std::vector<StickEvent> StickMonitor::drain()
{
    std::vector<StickEvent> events;
    for (std::size_t received = 0; received < maxEventsPerDrain; ++received) {
        UdevDevice device(::udev_monitor_receive_device(state_->monitor.get()));
        if (!device)
            break;
        auto handled = state_->handle(device.get(), text(::udev_device_get_action(device.get())));
        for (auto& event : handled)
            events.push_back(std::move(event));
    }
    return events;
}

Result<std::vector<StickEvent>> StickMonitor::enumerateExisting()
{
    std::vector<StickEvent> events;
    UdevEnumerate enumerate(::udev_enumerate_new(state_->context.get()));
    if (!enumerate)
        return fail(ReasonCode::InternalError, Check::None,
            std::string("enumerating block devices: ") + std::strerror(errno));
    if (const int error = ::udev_enumerate_add_match_subsystem(enumerate.get(), "block"); error < 0)
        return fail(ReasonCode::InternalError, Check::None,
            std::string("enumerating block devices: ") + std::strerror(-error));
    if (const int error = ::udev_enumerate_scan_devices(enumerate.get()); error < 0)
        return fail(ReasonCode::InternalError, Check::None,
            std::string("enumerating block devices: ") + std::strerror(-error));
    for (::udev_list_entry* entry = ::udev_enumerate_get_list_entry(enumerate.get()); entry;
         entry = ::udev_list_entry_get_next(entry)) {
        UdevDevice device(
            ::udev_device_new_from_syspath(state_->context.get(), ::udev_list_entry_get_name(entry)));
        // udev has not probed it yet: its "add" will come through the
        // monitor. USEC_INITIALIZED comes from the same udev database entry;
        // device records replayed by umockdev carry it without a database.
        if (!device
            || (::udev_device_get_is_initialized(device.get()) <= 0
                && !::udev_device_get_property_value(device.get(), "USEC_INITIALIZED")))
            continue;
        auto handled = state_->handle(device.get(), "add");
        for (auto& event : handled)
            events.push_back(std::move(event));
    }
    return events;
}

} // namespace omni::udev
