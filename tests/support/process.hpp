#pragma once
// Test support: run a program, feed stdin, capture stdout/stderr, exit code
// and the child's peak RSS (from wait4's rusage).
#include <string>
#include <vector>

namespace omni::testing {

struct ProcessResult {
    int exitCode = -1;
    std::string out;
    std::string err;
    long peakRssKiB = 0;
};

ProcessResult runProcess(const std::vector<std::string>& argv, const std::string& input = {});

// A fresh directory under $TMPDIR, removed with its content on destruction.
class TemporaryDirectory {
public:
    TemporaryDirectory();
    ~TemporaryDirectory();
    TemporaryDirectory(const TemporaryDirectory&) = delete;
    TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

std::string readFile(const std::string& path);
// The first of these paths that is an executable file, or "" (tools that
// live in /usr/sbin or /sbin depending on the machine's merge state).
std::string firstExecutable(const std::vector<std::string>& candidates);
void writeFile(const std::string& path, const std::string& content);

} // namespace omni::testing
