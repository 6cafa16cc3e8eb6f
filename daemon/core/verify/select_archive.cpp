#include "daemon/core/verify/select_archive.hpp"

#include <algorithm>

namespace omni::verify {
namespace {

Outcome failedOutcome(const std::string& fileName, Error error)
{
    return Outcome { ArchiveFacts { fileName, deviceNameFromFileName(fileName), {}, {}, {} },
        tl::unexpected(std::move(error)) };
}

std::string joinNames(const std::vector<std::string>& names)
{
    std::string joined;
    for (const auto& name : names)
        joined += (joined.empty() ? "" : ", ") + name;
    return joined;
}

Outcome judge(const DirectoryEntry& entry, const ArchiveReader& read, const VerifyPolicy& policy)
{
    if (auto name = checkArchiveName(entry.name); !name)
        return failedOutcome(entry.name, name.error());
    if (auto size = checkArchiveSize(entry.size, entry.name); !size)
        return failedOutcome(entry.name, size.error());
    auto bytes = read(entry.name);
    if (!bytes)
        return failedOutcome(entry.name, bytes.error());
    return verifyArchive(entry.name,
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()),
        policy);
}

} // namespace

Selection selectArchive(
    std::vector<DirectoryEntry> entries, const ArchiveReader& read, const VerifyPolicy& policy)
{
    std::sort(entries.begin(), entries.end(),
        [](const DirectoryEntry& a, const DirectoryEntry& b) { return a.name < b.name; });
    Selection selection { failedOutcome("", Error {}), {}, {} };

    std::vector<const DirectoryEntry*> candidates;
    std::vector<std::string> ignoredNonRegular;
    for (const auto& entry : entries) {
        if (!looksLikeArchiveName(entry.name))
            continue;
        if (!entry.isRegularFile) {
            ignoredNonRegular.push_back(entry.name);
            continue;
        }
        if (policy.expectedName && deviceNameFromFileName(entry.name) != *policy.expectedName)
            continue;
        candidates.push_back(&entry);
        selection.candidates.push_back(entry.name);
    }

    // Bounded cost per stick: past the cap no candidate is read at all.
    if (candidates.size() > kMaxCandidates) {
        selection.decisive = failedOutcome("",
            Error { ReasonCode::ArchiveAmbiguous, Check::Ambiguous,
                std::to_string(candidates.size())
                    + " candidate archives (certificates-omni_*.zip) on the stick, " + "more than the "
                    + std::to_string(kMaxCandidates)
                    + " the device reads; configure device.expected_name or carry fewer archives",
                {} });
        return selection;
    }

    if (candidates.empty()) {
        std::string message = policy.expectedName
            ? "no regular file certificates-omni_" + *policy.expectedName
                + ".zip in the root of the stick (this device expects that name)"
            : "no regular file named certificates-omni_<device-name>.zip in the root of the stick";
        if (!ignoredNonRegular.empty())
            message += "; not regular files, so ignored: " + joinNames(ignoredNonRegular);
        selection.decisive
            = failedOutcome("", Error { ReasonCode::ArchiveNotFound, Check::Found, message, {} });
        return selection;
    }

    std::vector<Outcome> survivors;
    for (const auto* entry : candidates) {
        auto outcome = judge(*entry, read, policy);
        if (outcome.result)
            survivors.push_back(std::move(outcome));
        else
            selection.setAside.push_back(std::move(outcome));
    }

    if (survivors.size() == 1) {
        selection.decisive = std::move(survivors.front());
        return selection;
    }
    if (survivors.size() > 1) {
        std::vector<std::string> names;
        for (const auto& survivor : survivors)
            names.push_back(survivor.facts.fileName);
        selection.decisive = failedOutcome("",
            Error { ReasonCode::ArchiveAmbiguous, Check::Ambiguous,
                std::to_string(names.size()) + " valid archives on the stick: " + joinNames(names)
                    + "; leave only this device's archive on the stick, or configure device.expected_name",
                {} });
        return selection;
    }
    // None survived: the candidate that got furthest down the table decides;
    // on a tie the first in byte order of names (setAside is in that order).
    const auto furthest = std::max_element(
        selection.setAside.begin(), selection.setAside.end(), [](const Outcome& a, const Outcome& b) {
            return static_cast<int>(a.result.error().check) < static_cast<int>(b.result.error().check);
        });
    selection.decisive = *furthest;
    return selection;
}

} // namespace omni::verify
