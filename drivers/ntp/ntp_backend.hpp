#pragma once
// NTP of DESIGN.md section 4: the manifest's NtpServers replace the device's
// default list through one file we own; an empty list removes that file.
//
//  * timesyncd  <drop-in dir>/50-omni-provision.conf holding
//               "[Time]\nNTP=a b", then systemd-timesyncd.service is
//               restarted over D-Bus (org.freedesktop.systemd1 Manager
//               RestartUnit(s, s) with "replace"); NTP= has no port syntax,
//               so a ":port" other than 123 is dropped with a warning;
//  * chrony     a sources file of "server NAME iburst [port N]" lines in a
//               directory chrony.conf reads with `sourcedir` (Debian 12:
//               /etc/chrony/sources.d), then chrony.service is restarted
//               over D-Bus like timesyncd. Not `chronyc reload sources`:
//               under the hardened unit /run/chrony is read-only, so chronyc
//               falls back to UDP and chronyd answers "501 Not authorised";
//  * auto       chrony when chrony.service is installed (the manager answers
//               GetUnitFileState for it), else timesyncd when
//               systemd-timesyncd.service is; neither is an error naming
//               both, before anything changes. Decided again at every
//               transaction (see AutoNtpBackend);
//  * none       nothing is touched.
//
// Before a step changes anything, the path it and its rollback go through
// is checked (the systemd manager answers on the bus, the file's directory
// is writable), so a rollback never fails for the reason its step did.
//
// Idempotent: when the file already holds what we would write, nothing is
// written and nothing restarted. snapshot()/restore() put the file back
// byte for byte, restarting or reloading when that changed it.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/network/network_plan.hpp"
#include "daemon/core/result.hpp"
#include "drivers/bus/system_bus.hpp"
#include "drivers/fs/managed_file.hpp"

namespace omni::ntp {

// The manifest's form: a lowercase DNS name, or an IPv4 address with an
// optional ":port".
struct NtpServer {
    std::string host;
    std::optional<std::uint16_t> port;

    friend bool operator==(const NtpServer&, const NtpServer&) = default;
};
NtpServer parseNtpServer(std::string_view text);

inline constexpr std::uint16_t kDefaultNtpPort = 123;
inline constexpr std::string_view kManagedMarker = "# managed by omni-provision";
inline constexpr std::string_view kTimesyncdDropInName = "50-omni-provision.conf";
inline constexpr std::string_view kTimesyncdUnit = "systemd-timesyncd.service";
inline constexpr std::string_view kChronyUnit = "chrony.service";

// Restarts one systemd unit over D-Bus: org.freedesktop.systemd1 Manager
// RestartUnit(s, s) with "replace". check() proves that path works before a
// step relies on it: the manager answers GetUnitFileState for the unit (it
// fails for a unit that is not installed).
class UnitRestarter {
public:
    UnitRestarter(std::string label, std::string unit, const std::string& busAddress);

    Result<void> check();
    Result<void> restart();

private:
    std::string label_; // "NTP (chrony)"
    std::string unit_;
    system_support::LazyBus bus_; // connected on first use
    std::string busName_;
};

// NETWORK_APPLY_FAILED unless `directory` exists and this process may write
// in it (a read-only mount of the unit's ProtectSystem= says EROFS).
Result<void> checkWritableDirectory(const std::string& label, const std::filesystem::path& directory);

struct NtpSnapshot {
    std::optional<system_support::FileSnapshot> file;
    std::string backend; // the backend that took it, for `auto`: "timesyncd", "chrony", empty
};

struct NtpApplyOutcome {
    bool changed = false; // the file changed and the service was restarted/reloaded
    std::vector<std::string> warnings;
};

class NtpBackend {
public:
    virtual ~NtpBackend() = default;

    virtual std::string_view name() const = 0; // "timesyncd", "chrony", "none"
    virtual Result<NtpSnapshot> snapshot() = 0;
    // Untouched: nothing; RemoveOverride: our file removed; Replace: our file
    // holds exactly those servers. Errors are NETWORK_APPLY_FAILED.
    virtual Result<NtpApplyOutcome> apply(const network::NtpPlan& plan) = 0;
    virtual Result<bool> restore(const NtpSnapshot& snapshot) = 0;
    // The servers of our override as the file holds them; nullopt when there
    // is none (the device's default list is in force).
    virtual Result<std::optional<std::vector<std::string>>> serversInForce() = 0;
};

// ---- timesyncd ---------------------------------------------------------------------------------

// The drop-in's content for these servers; `warnings` gets one line per
// dropped port.
std::string timesyncdDropIn(
    const std::vector<std::string>& servers, std::vector<std::string>* warnings = nullptr);

class TimesyncdBackend final : public NtpBackend {
public:
    // `busAddress` empty: the system bus.
    static Result<std::unique_ptr<TimesyncdBackend>> open(
        std::filesystem::path dropInDirectory, const std::string& busAddress = {});
    TimesyncdBackend(std::filesystem::path dropInDirectory, std::string busAddress);

    std::string_view name() const override { return "timesyncd"; }
    Result<NtpSnapshot> snapshot() override;
    Result<NtpApplyOutcome> apply(const network::NtpPlan& plan) override;
    Result<bool> restore(const NtpSnapshot& snapshot) override;
    Result<std::optional<std::vector<std::string>>> serversInForce() override;

    std::filesystem::path dropInPath() const { return dropInDirectory_ / kTimesyncdDropInName; }

private:
    std::filesystem::path dropInDirectory_;
    UnitRestarter restarter_;
};

// ---- chrony ------------------------------------------------------------------------------------

std::string chronySources(const std::vector<std::string>& servers);

class ChronyBackend final : public NtpBackend {
public:
    // `busAddress` empty: the system bus.
    explicit ChronyBackend(std::filesystem::path sourcesPath, const std::string& busAddress = {});

    std::string_view name() const override { return "chrony"; }
    Result<NtpSnapshot> snapshot() override;
    Result<NtpApplyOutcome> apply(const network::NtpPlan& plan) override;
    Result<bool> restore(const NtpSnapshot& snapshot) override;
    Result<std::optional<std::vector<std::string>>> serversInForce() override;

private:
    std::filesystem::path sourcesPath_;
    UnitRestarter restarter_;
};

// ---- none --------------------------------------------------------------------------------------

class NoNtpBackend final : public NtpBackend {
public:
    std::string_view name() const override { return "none"; }
    Result<NtpSnapshot> snapshot() override { return NtpSnapshot {}; }
    Result<NtpApplyOutcome> apply(const network::NtpPlan&) override { return NtpApplyOutcome {}; }
    Result<bool> restore(const NtpSnapshot&) override { return false; }
    Result<std::optional<std::vector<std::string>>> serversInForce() override
    {
        return std::optional<std::vector<std::string>> {};
    }
};

// ---- options -----------------------------------------------------------------------------------

enum class BackendChoice { Auto, Timesyncd, Chrony, None };

// What the NTP driver is asked to do; the device fills it from its
// configuration (ntp.backend, ntp.timesyncd_dropin_dir, ntp.chrony_sources_path).
struct Options {
    BackendChoice backend = BackendChoice::Auto;
    std::filesystem::path timesyncdDropInDirectory = "/etc/systemd/timesyncd.conf.d";
    std::filesystem::path chronySourcesPath = "/etc/chrony/sources.d/omni-provision.sources";

    friend bool operator==(const Options&, const Options&) = default;
};

// ---- auto --------------------------------------------------------------------------------------

// ntp.backend: auto. The choice is made at every transaction, not once at
// start or reload: an integrator may install chrony (removing timesyncd)
// after the daemon started, and the next provisioning must follow without a
// restart or reload; the probe is one read-only D-Bus call. snapshot()
// chooses and records the choice in the snapshot, so the apply() that
// follows and a restore() go through the same backend; an apply() without a
// snapshot before it chooses afresh. name() says what was chosen last
// ("auto: chrony", "auto: timesyncd", "auto" before any choice).
class AutoNtpBackend final : public NtpBackend {
public:
    // `busAddress` empty: the system bus.
    AutoNtpBackend(const Options& options, const std::string& busAddress = {});

    std::string_view name() const override { return name_; }
    Result<NtpSnapshot> snapshot() override;
    Result<NtpApplyOutcome> apply(const network::NtpPlan& plan) override;
    Result<bool> restore(const NtpSnapshot& snapshot) override;
    Result<std::optional<std::vector<std::string>>> serversInForce() override;

    // The backend auto picks now: chrony when chrony.service is installed,
    // else timesyncd when systemd-timesyncd.service is; NETWORK_APPLY_FAILED
    // naming both services otherwise.
    Result<NtpBackend*> choose();

private:
    NtpBackend* byName(std::string_view name);

    ChronyBackend chrony_;
    TimesyncdBackend timesyncd_;
    UnitRestarter chronyProbe_;
    UnitRestarter timesyncdProbe_;
    std::filesystem::path chronySourcesPath_;
    std::filesystem::path timesyncdDropIn_;
    NtpBackend* chosenBySnapshot_ = nullptr; // for the apply() right after snapshot()
    std::string name_ = "auto";
};

// The backend `options.backend` names; the bus is connected on first use.
Result<std::unique_ptr<NtpBackend>> makeNtpBackend(
    const Options& options, const std::string& busAddress = {});

} // namespace omni::ntp
