// Child process of the killed-writer test: runs the writer script on the state
// directory given as argv[1] for ever, writing one byte to stdout after each
// completed step, until the test kills it with SIGKILL.
#include <cstdio>
#include <optional>

#include <unistd.h>

#include "tests/unit/device/state/writer_script.hpp"

int main(int argc, char** argv)
{
    using namespace omni::state;
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s STATE_DIRECTORY\n", argv[0]);
        return 2;
    }
    long step = 0;
    DeviceState state(argv[1], [&step] { return testing::kScriptEpoch + step; });
    std::optional<PendingAttempt> pending;
    // Bounded so an orphaned helper cannot run for ever.
    for (; step < 1'000'000; ++step) {
        if (auto done = testing::runStep(state, step, pending); !done) {
            std::fprintf(stderr, "step %ld failed: %s\n", step, done.error().message.c_str());
            return 1;
        }
        const char progress = 's';
        if (::write(STDOUT_FILENO, &progress, 1) != 1)
            return 1; // the test went away
    }
    return 0;
}
