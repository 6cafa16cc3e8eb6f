#include "drivers/process/run_program.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace omni::system_support {

namespace {

class Pipe {
public:
    Pipe() { valid_ = ::pipe2(ends_, O_CLOEXEC) == 0; }
    ~Pipe()
    {
        closeEnd(0);
        closeEnd(1);
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    bool valid() const { return valid_; }
    int end(int which) const { return ends_[which]; }
    void closeEnd(int which)
    {
        if (ends_[which] >= 0) {
            ::close(ends_[which]);
            ends_[which] = -1;
        }
    }

private:
    int ends_[2] = { -1, -1 };
    bool valid_ = false;
};

std::string trimmed(std::string text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

} // namespace

std::string ProgramResult::describe() const
{
    if (!started) {
        return error;
    }
    if (timedOut) {
        return "did not finish in time and was killed";
    }
    std::string text = "exit " + std::to_string(exitCode);
    const std::string said = trimmed(err.empty() ? out : err);
    if (!said.empty()) {
        text += ": " + said;
    }
    return text;
}

ProgramResult runProgram(const std::vector<std::string>& arguments, std::chrono::milliseconds timeout)
{
    ProgramResult result;
    if (arguments.empty()) {
        result.error = "no program given";
        return result;
    }
    Pipe out;
    Pipe err;
    if (!out.valid() || !err.valid()) {
        result.error = std::string("pipe2: ") + std::strerror(errno);
        return result;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out.end(1), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.end(1), STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& argument : arguments) {
        argv.push_back(const_cast<char*>(argument.c_str()));
    }
    argv.push_back(nullptr);
    pid_t child = 0;
    const int spawned = posix_spawn(&child, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    out.closeEnd(1);
    err.closeEnd(1);
    if (spawned != 0) {
        result.error = "cannot run " + arguments[0] + ": " + std::strerror(spawned);
        return result;
    }
    result.started = true;

    // The child's exit is an event too (a pidfd), so a grandchild that keeps
    // the pipes open does not hold us until the deadline.
    const int exitFd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    pollfd fds[3] = { { out.end(0), POLLIN, 0 }, { err.end(0), POLLIN, 0 }, { exitFd, POLLIN, 0 } };
    std::string* sinks[2] = { &result.out, &result.err };
    bool exited = false;
    const auto drain = [&](int index) {
        char buffer[4096];
        const ssize_t got = ::read(fds[index].fd, buffer, sizeof buffer);
        if (got > 0) {
            const std::size_t room = kMaxProgramOutput - std::min(kMaxProgramOutput, sinks[index]->size());
            sinks[index]->append(buffer, std::min(room, static_cast<std::size_t>(got)));
            return true;
        }
        if (got == 0 || errno != EINTR) {
            fds[index].fd = -1;
        }
        return false;
    };
    while (fds[0].fd >= 0 || fds[1].fd >= 0 || (!exited && exitFd >= 0)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timedOut = !exited;
            break;
        }
        if (::poll(fds, exitFd >= 0 ? 3 : 2, static_cast<int>(left.count())) < 0 && errno != EINTR) {
            break;
        }
        for (int index = 0; index < 2; ++index) {
            if (fds[index].fd >= 0 && fds[index].revents != 0) {
                drain(index);
            }
        }
        if (exitFd >= 0 && fds[2].revents != 0) {
            exited = true;
            fds[2].fd = -1;
            // What it wrote before exiting is read without waiting for
            // writers it may have left behind.
            while (::poll(fds, 2, 0) > 0) {
                bool read = false;
                for (int index = 0; index < 2; ++index) {
                    if (fds[index].fd >= 0 && fds[index].revents != 0) {
                        read = drain(index) || read;
                    }
                }
                if (!read) {
                    break;
                }
            }
            break;
        }
    }
    if (exitFd >= 0) {
        ::close(exitFd);
    }
    if (result.timedOut) {
        ::kill(child, SIGKILL);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) { }
    if (WIFEXITED(status)) {
        result.exitCode = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.exitCode = 128 + WTERMSIG(status);
    }
    return result;
}

} // namespace omni::system_support
