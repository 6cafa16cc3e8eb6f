#pragma once
// What every omni-provision subcommand shares: exit codes, how usage errors
// are reported, and bounded reading of the files named on the command line.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "daemon/core/result.hpp"
#include "daemon/core/time/time.hpp"
#include "daemon/core/trust/certificate_checks.hpp"

namespace omni::cli {

// DESIGN.md section 6: 0 accepted/done, 1 rejected (a reason code or an API
// error body), 2 usage (bad flags, unreadable files, bad CA material).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;
inline constexpr int kExitUsage = 2;

// PEM files and request bodies are small; anything larger is not what the user meant.
inline constexpr std::uint64_t kMaxInputFileBytes = 1024 * 1024;

// A usage error: printed as "omni-provision <command>: <message>" on stderr.
struct UsageError {
    std::string message;
};
template <class T> using CliResult = tl::expected<T, UsageError>;

int reportUsage(const std::string& command, const UsageError& error);

// Reads a file named by a flag; `what` says what it should hold ("the CA certificate").
CliResult<std::string> readInputFile(const std::string& path, const std::string& what);
// "-" reads standard input (bounded).
CliResult<std::string> readInputFileOrStdin(const std::string& path, const std::string& what);

CliResult<trust::TrustAnchors> loadTrustAnchors(const std::vector<std::string>& paths);

// Validators shared by flags.
CliResult<time::UnixTime> parseNowFlag(const std::string& text);
bool isValidDeviceName(const std::string& name);

// Adds an "Example:" footer to a subcommand's --help.
void addExample(CLI::App& command, const std::string& example);

} // namespace omni::cli
