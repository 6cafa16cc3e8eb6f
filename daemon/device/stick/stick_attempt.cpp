#include "daemon/device/stick/stick_attempt.hpp"
#include "daemon/core/time/time.hpp"

#include <algorithm>
#include <cctype>

#include "daemon/core/verify/verify_archive.hpp"
#include "daemon/device/log/journal.hpp"
#include "daemon/device/stick/stick_source.hpp"

namespace omni::stick {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Forwards to the stick and adds up the time spent reading files from it:
// the agent's verify time includes the reads; the journal splits them out.
class TimedReads final : public agent::ArchiveSource {
public:
    TimedReads(agent::ArchiveSource& stick, const StickAttempts::Clock& clock)
        : stick_(stick)
        , clock_(clock)
    {
    }
    std::string describe() const override { return stick_.describe(); }
    Result<std::vector<verify::DirectoryEntry>> listRoot() override { return stick_.listRoot(); }
    Result<std::string> readFile(const std::string& name) override
    {
        const auto started = clock_();
        auto content = stick_.readFile(name);
        readMicroseconds_ += time::microsecondsBetween(started, clock_());
        return content;
    }
    Result<void> writeReceipt(const std::vector<agent::ReceiptFile>& files) override
    {
        return stick_.writeReceipt(files);
    }
    Result<void> renameArchive(const std::string& from, const std::string& to) override
    {
        return stick_.renameArchive(from, to);
    }
    std::int64_t readMicroseconds() const { return readMicroseconds_; }

private:
    agent::ArchiveSource& stick_;
    const StickAttempts::Clock& clock_;
    std::int64_t readMicroseconds_ = 0;
};

bool holdsCandidate(const Partition& partition)
{
    auto listing = partition.listRoot();
    return listing && std::any_of(listing->entries.begin(), listing->entries.end(), [](const auto& entry) {
        return verify::looksLikeArchiveName(entry.name);
    });
}

} // namespace

std::string diskOf(const std::string& kernelName)
{
    std::string disk = kernelName;
    while (!disk.empty() && std::isdigit(static_cast<unsigned char>(disk.back())))
        disk.pop_back();
    if (disk.size() > 1 && disk.back() == 'p'
        && std::isdigit(static_cast<unsigned char>(disk[disk.size() - 2])))
        disk.pop_back();
    return disk.empty() ? kernelName : disk;
}

StickAttempts::StickAttempts(Clock clock)
    : clock_(std::move(clock))
{
}

void StickAttempts::removed(const udev::StickEvent& event)
{
    disksWithArchive_.erase(event.kernelName);
}

StickOutcome StickAttempts::attempt(const udev::StickEvent& event, Mounter& mounter, AttemptRunner& agent)
{
    const std::vector<log::Field> fields { { "OMNI_STICK_PORT", portOf(event) },
        { "OMNI_STICK_DEVICE", event.devnode } };
    StickOutcome outcome;
    const auto attemptStarted = clock_();
    // A partition that cannot be mounted is still an attempt: the agent
    // records it and the technician learns why.
    std::string mountError;
    std::unique_ptr<Partition> mounted;
    if (auto partition = mounter.mountReadOnly(event); partition)
        mounted = std::move(*partition);
    else
        mountError = partition.error().message;
    outcome.times.mount = time::microsecondsBetween(attemptStarted, clock_());

    // A second partition without an archive, on a stick whose first one had
    // it, is not an attempt.
    if (mounted && archiveSeenOn(diskOf(event.kernelName)) && !holdsCandidate(*mounted)) {
        log::plain(log::Priority::Info,
            event.devnode + " holds no archive; another partition of this stick had it", fields);
        return outcome;
    }

    StickSource stick(event, mounted.get(), mountError);
    TimedReads source(stick, clock_);
    outcome.report = agent.provision(source);
    const auto& report = *outcome.report;
    outcome.times.read = source.readMicroseconds();
    if (stick.listingWarning())
        log::plain(log::Priority::Warning, *stick.listingWarning(), fields);
    if (report.outcome.facts.sha256 || report.outcome.facts.manifest)
        disksWithArchive_.insert(diskOf(event.kernelName));

    if (mounted) {
        const auto unmountStarted = clock_();
        auto unmounted = mounted->unmount();
        outcome.times.unmount = time::microsecondsBetween(unmountStarted, clock_());
        if (!unmounted)
            log::plain(log::Priority::Warning,
                "unmounting " + event.devnode + ": " + unmounted.error().message, fields);
        else if (*unmounted == mount::UnmountMethod::LazyDetach)
            log::plain(log::Priority::Info, event.devnode + " was busy or gone: detached lazily", fields);
    }
    outcome.times.total = time::microsecondsBetween(attemptStarted, clock_());
    auto timed = fields;
    timed.push_back({ "OMNI_ATTEMPT", report.attemptId });
    timed.push_back({ "OMNI_STICK_TIMES_US",
        "mount=" + std::to_string(outcome.times.mount) + " read=" + std::to_string(outcome.times.read)
            + " unmount=" + std::to_string(outcome.times.unmount)
            + " total=" + std::to_string(outcome.times.total) });
    log::plain(log::Priority::Info,
        "Done with " + event.devnode + " after " + std::to_string(outcome.times.total / 1000) + " ms", timed);
    return outcome;
}

} // namespace omni::stick
