#pragma once
// The daemon's trust anchors (trust.anchors), loaded again whenever their
// files change. A fresh install has none yet: that is not a start failure.
// The daemon runs, says what is missing, and every stick is CERT_UNTRUSTED
// with a message that says where to install root.pem, until the files are
// there. Before each stick the store stats the files (one stat(2) per anchor)
// and reloads them only when one appeared, changed or went away; an inotify
// watch would need the directory to exist (it does not on a fresh install)
// and watches on every parent, for the same effect.
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "daemon/core/trust/certificate_checks.hpp"
#include "daemon/device/agent/provisioning_agent.hpp"

namespace omni::agent {

class TrustStore {
public:
    explicit TrustStore(std::vector<std::filesystem::path> files);

    // Looks at the files; loads them again when they differ from the last
    // look (the first call always loads). True when it loaded.
    bool refresh();

    // nullptr while some anchor is missing or unusable: then problem() says
    // which, what is wrong, and where to install root.pem.
    const trust::TrustAnchors* anchors() const { return anchors_ ? &*anchors_ : nullptr; }
    const std::string& problem() const { return problem_; }
    AnchorView view() const { return { anchors(), problem_ }; }

private:
    struct Stamp {
        int error = 0; // errno of stat(2), 0 when it succeeded
        dev_t device = 0;
        ino_t inode = 0;
        off_t size = 0;
        timespec modified {};
        timespec changed {};
        bool operator==(const Stamp& other) const;
    };
    std::vector<Stamp> look() const;
    void load();

    std::vector<std::filesystem::path> files_;
    std::optional<std::vector<Stamp>> stamps_;
    std::optional<trust::TrustAnchors> anchors_;
    std::string problem_;
};

} // namespace omni::agent
