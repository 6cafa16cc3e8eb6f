// A stand-in for systemd-resolved and systemd's manager on a private bus,
// for the DNS and NTP driver tests. It owns org.freedesktop.resolve1 and
// org.freedesktop.systemd1, keeps each link's DNS servers in memory, and
// appends every state-changing call to the --log file before answering (so
// the caller's call has returned only once its line is there). Prints
// "ready" on stdout once both names are owned.
//
//   fake-system-services --address ADDR --log FILE [--fail METHOD]...
//                        [--missing-unit UNIT]... [--link IFINDEX=ADDRESS,ADDRESS]...
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <systemd/sd-bus.h>

namespace {

struct Address {
    int family = 0;
    std::vector<std::uint8_t> bytes;
};

std::string logPath;
std::set<std::string> failing;
std::set<std::string> missingUnits; // --missing-unit: GetUnitFileState says not installed
std::map<int, std::vector<Address>> links;
std::set<int> exportedLinks;

void record(const std::string& line)
{
    std::ofstream log(logPath, std::ios::app);
    log << line << '\n';
}

std::string format(const Address& address)
{
    char text[INET6_ADDRSTRLEN] = {};
    const bool sized = (address.family == AF_INET && address.bytes.size() == 4)
        || (address.family == AF_INET6 && address.bytes.size() == 16);
    if (!sized || inet_ntop(address.family, address.bytes.data(), text, sizeof text) == nullptr) {
        return "BAD(family " + std::to_string(address.family) + ", " + std::to_string(address.bytes.size())
            + " bytes)";
    }
    return text;
}

std::string linkPath(int ifindex)
{
    return "/org/freedesktop/resolve1/link/_" + std::to_string(ifindex);
}

int refuse(sd_bus_error* error, const char* method)
{
    return sd_bus_error_setf(
        error, "org.freedesktop.DBus.Error.AccessDenied", "%s refused by the test", method);
}

int linkDnsProperty(
    sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata, sd_bus_error*)
{
    const int ifindex = static_cast<int>(reinterpret_cast<std::intptr_t>(userdata));
    int result = sd_bus_message_open_container(reply, 'a', "(iay)");
    for (const Address& address : links[ifindex]) {
        if (result >= 0) {
            result = sd_bus_message_open_container(reply, 'r', "iay");
        }
        if (result >= 0) {
            result = sd_bus_message_append(reply, "i", address.family);
        }
        if (result >= 0) {
            result = sd_bus_message_append_array(reply, 'y', address.bytes.data(), address.bytes.size());
        }
        if (result >= 0) {
            result = sd_bus_message_close_container(reply);
        }
    }
    if (result >= 0) {
        result = sd_bus_message_close_container(reply);
    }
    return result;
}

const sd_bus_vtable linkVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("DNS", "a(iay)", linkDnsProperty, 0, 0),
    SD_BUS_VTABLE_END,
};

int exportLink(sd_bus* bus, int ifindex)
{
    if (exportedLinks.count(ifindex) != 0) {
        return 0;
    }
    exportedLinks.insert(ifindex);
    return sd_bus_add_object_vtable(bus, nullptr, linkPath(ifindex).c_str(), "org.freedesktop.resolve1.Link",
        linkVtable, reinterpret_cast<void*>(static_cast<std::intptr_t>(ifindex)));
}

int getLink(sd_bus_message* message, void*, sd_bus_error* error)
{
    std::int32_t ifindex = 0;
    int result = sd_bus_message_read(message, "i", &ifindex);
    if (result < 0) {
        return result;
    }
    if (failing.count("GetLink") != 0) {
        return refuse(error, "GetLink");
    }
    if (ifindex <= 0) {
        return sd_bus_error_setf(error, "org.freedesktop.resolve1.NoSuchLink", "Link %d not known", ifindex);
    }
    result = exportLink(sd_bus_message_get_bus(message), ifindex);
    if (result < 0) {
        return result;
    }
    return sd_bus_reply_method_return(message, "o", linkPath(ifindex).c_str());
}

int setLinkDns(sd_bus_message* message, void*, sd_bus_error* error)
{
    std::int32_t ifindex = 0;
    int result = sd_bus_message_read(message, "i", &ifindex);
    std::vector<Address> addresses;
    if (result >= 0) {
        result = sd_bus_message_enter_container(message, 'a', "(iay)");
    }
    while (result >= 0) {
        result = sd_bus_message_enter_container(message, 'r', "iay");
        if (result <= 0) {
            break;
        }
        Address address;
        const void* bytes = nullptr;
        std::size_t length = 0;
        result = sd_bus_message_read(message, "i", &address.family);
        if (result >= 0) {
            result = sd_bus_message_read_array(message, 'y', &bytes, &length);
        }
        if (result >= 0) {
            const auto* first = static_cast<const std::uint8_t*>(bytes);
            address.bytes.assign(first, first + length);
            addresses.push_back(address);
            result = sd_bus_message_exit_container(message);
        }
    }
    if (result < 0) {
        return result;
    }
    std::string line = "SetLinkDNS " + std::to_string(ifindex);
    for (const Address& address : addresses) {
        line += " " + format(address);
    }
    record(line);
    if (failing.count("SetLinkDNS") != 0) {
        return refuse(error, "SetLinkDNS");
    }
    links[ifindex] = addresses;
    return sd_bus_reply_method_return(message, "");
}

int revertLink(sd_bus_message* message, void*, sd_bus_error* error)
{
    std::int32_t ifindex = 0;
    const int result = sd_bus_message_read(message, "i", &ifindex);
    if (result < 0) {
        return result;
    }
    record("RevertLink " + std::to_string(ifindex));
    if (failing.count("RevertLink") != 0) {
        return refuse(error, "RevertLink");
    }
    links.erase(ifindex);
    return sd_bus_reply_method_return(message, "");
}

int restartUnit(sd_bus_message* message, void*, sd_bus_error* error)
{
    const char* unit = nullptr;
    const char* mode = nullptr;
    const int result = sd_bus_message_read(message, "ss", &unit, &mode);
    if (result < 0) {
        return result;
    }
    record(std::string("RestartUnit ") + unit + " " + mode);
    if (failing.count("RestartUnit") != 0) {
        return refuse(error, "RestartUnit");
    }
    return sd_bus_reply_method_return(message, "o", "/org/freedesktop/systemd1/job/1");
}

// Read-only: not recorded. "--fail GetUnitFileState" plays every unit as
// not installed, "--missing-unit UNIT" that one (systemd answers org.freedesktop.DBus.Error.FileNotFound).
int getUnitFileState(sd_bus_message* message, void*, sd_bus_error* error)
{
    const char* unit = nullptr;
    const int result = sd_bus_message_read(message, "s", &unit);
    if (result < 0) {
        return result;
    }
    if (failing.count("GetUnitFileState") != 0 || missingUnits.count(unit) != 0) {
        return sd_bus_error_setf(
            error, "org.freedesktop.DBus.Error.FileNotFound", "No such file or directory");
    }
    return sd_bus_reply_method_return(message, "s", "enabled");
}

const sd_bus_vtable resolveManagerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("GetLink", "i", "o", getLink, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("SetLinkDNS", "ia(iay)", "", setLinkDns, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("RevertLink", "i", "", revertLink, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

const sd_bus_vtable systemdManagerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("RestartUnit", "ss", "o", restartUnit, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("GetUnitFileState", "s", "s", getUnitFileState, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

bool parseLink(const std::string& text)
{
    const std::size_t equals = text.find('=');
    if (equals == std::string::npos) {
        return false;
    }
    const int ifindex = std::atoi(text.substr(0, equals).c_str());
    std::vector<Address>& addresses = links[ifindex];
    std::string rest = text.substr(equals + 1);
    while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string item = rest.substr(0, comma);
        rest = comma == std::string::npos ? std::string() : rest.substr(comma + 1);
        unsigned char bytes[16] = {};
        if (inet_pton(AF_INET, item.c_str(), bytes) == 1) {
            addresses.push_back({ AF_INET, std::vector<std::uint8_t>(bytes, bytes + 4) });
        } else if (inet_pton(AF_INET6, item.c_str(), bytes) == 1) {
            addresses.push_back({ AF_INET6, std::vector<std::uint8_t>(bytes, bytes + 16) });
        } else {
            return false;
        }
    }
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    std::string address;
    for (int index = 1; index + 1 < argc; index += 2) {
        const std::string option = argv[index];
        const std::string value = argv[index + 1];
        if (option == "--address") {
            address = value;
        } else if (option == "--log") {
            logPath = value;
        } else if (option == "--fail") {
            failing.insert(value);
        } else if (option == "--missing-unit") {
            missingUnits.insert(value);
        } else if (option == "--link") {
            if (!parseLink(value)) {
                std::fprintf(stderr, "bad --link %s\n", value.c_str());
                return 2;
            }
        }
    }
    if (address.empty() || logPath.empty()) {
        std::fprintf(stderr, "usage: %s --address ADDR --log FILE ...\n", argv[0]);
        return 2;
    }
    sd_bus* bus = nullptr;
    int result = sd_bus_new(&bus);
    if (result >= 0) {
        result = sd_bus_set_address(bus, address.c_str());
    }
    if (result >= 0) {
        result = sd_bus_set_bus_client(bus, 1);
    }
    if (result >= 0) {
        result = sd_bus_start(bus);
    }
    if (result >= 0) {
        result = sd_bus_add_object_vtable(bus, nullptr, "/org/freedesktop/resolve1",
            "org.freedesktop.resolve1.Manager", resolveManagerVtable, nullptr);
    }
    if (result >= 0) {
        result = sd_bus_add_object_vtable(bus, nullptr, "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager", systemdManagerVtable, nullptr);
    }
    for (const auto& [ifindex, servers] : links) {
        if (result >= 0) {
            result = exportLink(bus, ifindex);
        }
    }
    if (result >= 0) {
        result = sd_bus_request_name(bus, "org.freedesktop.resolve1", 0);
    }
    if (result >= 0) {
        result = sd_bus_request_name(bus, "org.freedesktop.systemd1", 0);
    }
    if (result < 0) {
        std::fprintf(stderr, "fake-system-services: %s\n", std::strerror(-result));
        return 1;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    for (;;) {
        result = sd_bus_process(bus, nullptr);
        if (result < 0) {
            break; // the bus went away
        }
        if (result > 0) {
            continue;
        }
        if (sd_bus_wait(bus, UINT64_MAX) < 0) {
            break;
        }
    }
    sd_bus_flush_close_unref(bus);
    return 0;
}
