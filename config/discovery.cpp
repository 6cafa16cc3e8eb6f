// Where the configuration comes from: the main file, the config.d drop-ins
// beside it and systemd's directory variables; loadConfig layers them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <system_error>
#include <utility>

#include "config/config.hpp"

namespace omni::config {

namespace {

// The whole file, at most kMaxDocumentBytes; nullopt when it does not exist.
tl::expected<std::optional<std::string>, ConfigError> readConfigFile(const std::filesystem::path& file)
{
    const std::string name = file.string();
    const auto systemError = [&](const std::string& doing, int error) {
        return tl::unexpected(
            ConfigError { name, 0, 0, "cannot " + doing + ": " + std::generic_category().message(error) });
    };
    const int descriptor = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (descriptor < 0) {
        if (errno == ENOENT) {
            return std::optional<std::string> {};
        }
        return systemError("open the configuration", errno);
    }
    struct Closer {
        int descriptor;
        ~Closer() { ::close(descriptor); }
    } closer { descriptor };

    struct stat status { };
    if (::fstat(descriptor, &status) != 0) {
        return systemError("read the configuration", errno);
    }
    if (!S_ISREG(status.st_mode)) {
        return tl::unexpected(ConfigError { name, 0, 0, "the configuration is not a regular file" });
    }
    std::string text;
    std::array<char, 65536> buffer {};
    while (text.size() <= kMaxDocumentBytes) {
        const ssize_t count = ::read(descriptor, buffer.data(), buffer.size());
        if (count < 0) {
            if (errno == EINTR) {
                continue;
            }
            return systemError("read the configuration", errno);
        }
        if (count == 0) {
            return std::optional<std::string> { std::move(text) };
        }
        text.append(buffer.data(), static_cast<std::size_t>(count));
    }
    return tl::unexpected(ConfigError { name, 0, 0,
        "the configuration is over the limit of " + std::to_string(kMaxDocumentBytes) + " bytes (1 MiB)" });
}

tl::expected<std::vector<std::filesystem::path>, ConfigError> dropInFiles(
    const std::filesystem::path& directory)
{
    std::error_code error;
    const auto status = std::filesystem::status(directory, error);
    if (status.type() == std::filesystem::file_type::not_found) {
        return std::vector<std::filesystem::path> {};
    }
    if (error) {
        return tl::unexpected(ConfigError { directory.string(), 0, 0, "cannot read: " + error.message() });
    }
    if (!std::filesystem::is_directory(status)) {
        return tl::unexpected(ConfigError { directory.string(), 0, 0, "is not a directory" });
    }
    std::vector<std::filesystem::path> files;
    std::filesystem::directory_iterator entries(directory, error);
    for (; !error && entries != std::filesystem::directory_iterator(); entries.increment(error)) {
        const std::string fileName = entries->path().filename().string();
        // Hidden names are editors' and package managers' leftovers.
        if (fileName.front() == '.' || entries->path().extension() != ".yaml") {
            continue;
        }
        std::error_code typeError;
        if (entries->is_regular_file(typeError)) {
            files.push_back(entries->path());
        }
    }
    if (error) {
        return tl::unexpected(ConfigError { directory.string(), 0, 0, "cannot list: " + error.message() });
    }
    std::sort(files.begin(), files.end(),
        [](const std::filesystem::path& left, const std::filesystem::path& right) {
            return left.filename().string() < right.filename().string();
        });
    return files;
}

// The first entry of a colon-separated list that systemd puts in the
// environment, when it is an absolute path.
std::optional<std::filesystem::path> systemdDirectory(const char* variable)
{
    const char* value = std::getenv(variable);
    if (value == nullptr) {
        return std::nullopt;
    }
    const std::string_view list(value);
    const std::string_view first = list.substr(0, list.find(':'));
    if (first.empty() || first.front() != '/') {
        return std::nullopt;
    }
    return std::filesystem::path(first);
}

} // namespace

tl::expected<Config, ConfigError> loadConfig(const std::filesystem::path& mainFile, bool mainFileOptional)
{
    try {
        Config config;
        auto mainText = readConfigFile(mainFile);
        if (!mainText) {
            return tl::unexpected(std::move(mainText.error()));
        }
        if (*mainText) {
            auto applied = applyYaml(config, **mainText, mainFile.string());
            if (!applied) {
                return applied;
            }
            config = std::move(*applied);
        } else if (!mainFileOptional) {
            return tl::unexpected(ConfigError { mainFile.string(), 0, 0,
                "the configuration file does not exist (the package installs it; --config names another)" });
        }
        auto dropIns = dropInFiles(mainFile.parent_path() / "config.d");
        if (!dropIns) {
            return tl::unexpected(std::move(dropIns.error()));
        }
        for (const std::filesystem::path& file : *dropIns) {
            auto text = readConfigFile(file);
            if (!text) {
                return tl::unexpected(std::move(text.error()));
            }
            if (!*text) {
                continue; // removed while we were listing
            }
            auto applied = applyYaml(config, **text, file.string());
            if (!applied) {
                return applied;
            }
            config = std::move(*applied);
        }
        return config;
    } catch (const std::exception& exception) {
        return tl::unexpected(ConfigError {
            mainFile.string(), 0, 0, std::string("cannot load the configuration: ") + exception.what() });
    } catch (...) {
        return tl::unexpected(
            ConfigError { mainFile.string(), 0, 0, "cannot load the configuration: unknown error" });
    }
}

void applySystemdDirectories(Config& config)
{
    if (auto state = systemdDirectory("STATE_DIRECTORY")) {
        config.stateDirectory = std::move(*state);
    }
    if (auto runtime = systemdDirectory("RUNTIME_DIRECTORY")) {
        config.runtimeDirectory = std::move(*runtime);
    }
}

std::filesystem::path defaultMainFile()
{
    if (auto directory = systemdDirectory("CONFIGURATION_DIRECTORY")) {
        return *directory / "config.yaml";
    }
    return std::filesystem::path(kDefaultMainFile);
}

} // namespace omni::config
