#pragma once
// Runs a helper program (chronyc) to completion with a bound on its time and
// on what it prints, no shell in between. The child is waited for by its pid
// only, so a daemon reaping its own children elsewhere is not disturbed.
#include <chrono>
#include <string>
#include <vector>

namespace omni::system_support {

struct ProgramResult {
    bool started = false; // false: exec failed (`error` says why)
    bool timedOut = false; // killed (SIGKILL) after the bound
    int exitCode = -1; // 128 + signal when killed by one
    std::string out; // at most kMaxProgramOutput bytes each
    std::string err;
    std::string error;

    bool succeeded() const { return started && !timedOut && exitCode == 0; }
    // "exit 1: 501 Not authorised", "timed out after 10 s", ...
    std::string describe() const;
};

inline constexpr std::size_t kMaxProgramOutput = 16 * 1024;

ProgramResult runProgram(const std::vector<std::string>& arguments, std::chrono::milliseconds timeout);

} // namespace omni::system_support
