#include "daemon/cli/cli_support.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>

#include <unistd.h>

#include "drivers/fs/files.hpp"

namespace omni::cli {

int reportUsage(const std::string& command, const UsageError& error)
{
    std::cerr << "omni-provision " << command << ": " << error.message << "\n";
    return kExitUsage;
}

CliResult<std::string> readInputFile(const std::string& path, const std::string& what)
{
    auto content = state::readRegularFile(path, kMaxInputFileBytes);
    if (!content)
        return tl::unexpected(UsageError { "cannot read " + what + ": " + content.error().message });
    return std::move(*content);
}

CliResult<std::string> readInputFileOrStdin(const std::string& path, const std::string& what)
{
    if (path != "-")
        return readInputFile(path, what);
    std::string content;
    char buffer[65536];
    while (true) {
        const ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return tl::unexpected(UsageError { "cannot read " + what + " from standard input" });
        }
        if (got == 0)
            break;
        content.append(buffer, static_cast<std::size_t>(got));
        if (content.size() > kMaxInputFileBytes)
            return tl::unexpected(UsageError {
                what + " on standard input is over " + std::to_string(kMaxInputFileBytes) + " bytes" });
    }
    return content;
}

CliResult<trust::TrustAnchors> loadTrustAnchors(const std::vector<std::string>& paths)
{
    if (paths.empty())
        return tl::unexpected(
            UsageError { "at least one --trust-anchor PEM is required (the root CA's certificate, "
                         "e.g. DIR/root.pem from 'omni-provision ca init DIR')" });
    std::vector<std::pair<std::string, std::string>> texts;
    for (const auto& path : paths) {
        auto text = readInputFile(path, "the trust anchor");
        if (!text)
            return tl::unexpected(text.error());
        texts.emplace_back(path, std::move(*text));
    }
    auto anchors = trust::TrustAnchors::fromPem(texts);
    if (!anchors)
        return tl::unexpected(UsageError { "--trust-anchor: " + anchors.error().message });
    return std::move(*anchors);
}

CliResult<time::UnixTime> parseNowFlag(const std::string& text)
{
    auto time = time::parseRfc3339(text);
    if (!time)
        return tl::unexpected(
            UsageError { "--now '" + text + "' is not an RFC 3339 time such as 2026-11-26T02:30:00Z" });
    return *time;
}

bool isValidDeviceName(const std::string& name)
{
    return !name.empty() && name.size() <= 255 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

void addExample(CLI::App& command, const std::string& example)
{
    command.footer("\nExample:\n  " + example);
}

} // namespace omni::cli
