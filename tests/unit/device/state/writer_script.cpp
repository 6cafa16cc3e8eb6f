#include "tests/unit/device/state/writer_script.hpp"

#include <cstdio>
#include <string>

namespace omni::state::testing {

StepKind stepKind(long step)
{
    switch (step % 8) {
    case 1:
    case 7:
        return StepKind::Failure;
    case 3:
        return StepKind::Success;
    case 5:
        return StepKind::AlreadyApplied;
    default:
        return StepKind::Pending;
    }
}

AppliedProvisioning provisioningFor(long step)
{
    char sha[65];
    std::snprintf(sha, sizeof sha, "%064lx", static_cast<unsigned long>(step));
    const std::string deviceId = "device-" + std::to_string(step);
    nlohmann::json networking = {
        { "Ethernet0",
            { { "ConnectionType", "STATIC_IP" },
                { "StaticIpConnectionInfo",
                    { { "IpAddress", "192.0.2." + std::to_string(step % 200 + 10) },
                        { "Mask", "255.255.255.0" }, { "DefaultGateway", "192.0.2.1" },
                        { "Dns", { "192.0.2.53" } } } } } },
        { "Ntp",
            { { "NtpServers", nlohmann::json::array({ "ntp" + std::to_string(step) + ".example.org" }) } } },
    };
    return AppliedProvisioning { "cam-" + std::to_string(step), deviceId,
        "arn:aws:panorama:us-east-1:123456789012:device/" + deviceId, deviceId, sha,
        // Every other success has no NetworkingConfiguration at all.
        (step / 8) % 2 == 0 ? networking : nlohmann::json(nullptr) };
}

long stepOfArchive(const std::string& archiveSha256)
{
    return std::stol(archiveSha256, nullptr, 16);
}

CredentialFiles credentialsFor(long step)
{
    // Opaque stand-ins: the state stores bytes and never parses them.
    const std::string tag = std::to_string(step);
    CredentialFiles files { "-----BEGIN CERTIFICATE-----\ncertificate of step " + tag
            + "\n-----END CERTIFICATE-----\n",
        std::nullopt, "-----BEGIN PRIVATE KEY-----\nkey of step " + tag + "\n-----END PRIVATE KEY-----\n" };
    if ((step / 8) % 2 == 0)
        files.chainPem
            = "-----BEGIN CERTIFICATE-----\nchain of step " + tag + "\n-----END CERTIFICATE-----\n";
    return files;
}

std::string fileNameFor(long step)
{
    return "certificates-omni_cam-" + std::to_string(step) + ".zip";
}

std::string messageFor(long step)
{
    return "step " + std::to_string(step);
}

ReasonCode reasonFor(long step)
{
    return step % 16 < 8 ? ReasonCode::CertExpired : ReasonCode::ManifestInvalid;
}

Result<void> runStep(DeviceState& state, long step, std::optional<PendingAttempt>& pending)
{
    switch (stepKind(step)) {
    case StepKind::Pending: {
        auto marked = state.markPending();
        if (!marked)
            return tl::unexpected(marked.error());
        pending = std::move(*marked);
        return {};
    }
    case StepKind::Failure:
        if (auto recorded = state.recordFailure(reasonFor(step), messageFor(step), fileNameFor(step));
            !recorded)
            return tl::unexpected(recorded.error());
        return {};
    case StepKind::Success:
        if (auto recorded = state.recordSuccess(
                provisioningFor(step), credentialsFor(step), fileNameFor(step), messageFor(step));
            !recorded)
            return tl::unexpected(recorded.error());
        return {};
    case StepKind::AlreadyApplied:
        return state.recordAlreadyApplied(*pending);
    }
    return {};
}

StatusDocument expectedAfter(long steps)
{
    StatusDocument document;
    StatusDocument beforePending;
    for (long step = 0; step < steps; ++step) {
        const time::UnixTime now = kScriptEpoch + step;
        switch (stepKind(step)) {
        case StepKind::Pending:
            beforePending = document;
            document.status = DeviceStatus::Pending;
            document.updatedAt = now;
            break;
        case StepKind::Failure:
            document.status = document.applied ? DeviceStatus::Succeeded : DeviceStatus::Failed;
            document.updatedAt = now;
            document.lastAttempt = LastAttempt { AttemptResult::Failed, reasonFor(step), messageFor(step),
                now, fileNameFor(step) };
            break;
        case StepKind::Success:
            document.status = DeviceStatus::Succeeded;
            document.updatedAt = now;
            document.applied = provisioningFor(step);
            document.lastAttempt = LastAttempt { AttemptResult::Succeeded, std::nullopt, messageFor(step),
                now, fileNameFor(step) };
            break;
        case StepKind::AlreadyApplied:
            document = beforePending;
            break;
        }
    }
    return document;
}

} // namespace omni::state::testing
