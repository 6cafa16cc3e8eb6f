#pragma once
// Test support: run a program, feed stdin, capture stdout/stderr, exit code
// and the child's peak RSS (from wait4's rusage).
#include <string>
#include <vector>

#include "tests/support/temporary_directory.hpp" // TemporaryDirectory, readFile, writeFile

namespace omni::testing {

struct ProcessResult {
    int exitCode = -1;
    std::string out;
    std::string err;
    long peakRssKiB = 0;
};

ProcessResult runProcess(const std::vector<std::string>& argv, const std::string& input = {});

// The first of these paths that is an executable file, or "" (tools that
// live in /usr/sbin or /sbin depending on the machine's merge state).
std::string firstExecutable(const std::vector<std::string>& candidates);

} // namespace omni::testing
