#include "daemon/core/archive/entry_name.hpp"

#include <cstdio>

namespace omni::archive::detail {
namespace {

constexpr std::size_t kMaxShownNameBytes = 120;

bool isAsciiLetter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

} // namespace

std::optional<std::string> entryNameProblem(std::string_view name)
{
    if (name.empty()) {
        return "has an empty name";
    }
    if (name.find('\0') != std::string_view::npos) {
        return "has a NUL byte in its name";
    }
    // "C:x" is relative to the current directory of drive C on Windows, so
    // it leaves the root just like "/x" does.
    if (name.front() == '/' || name.front() == '\\'
        || (name.size() >= 2 && isAsciiLetter(name[0]) && name[1] == ':')) {
        return "is an absolute path";
    }
    if (name.starts_with("./") || name.starts_with(".\\")) {
        return "starts with './'";
    }
    if (name.find("..") != std::string_view::npos) {
        return "contains '..'";
    }
    if (name.find('/') != std::string_view::npos) {
        return "contains '/' (entries must sit at the root)";
    }
    if (name.find('\\') != std::string_view::npos) {
        return "contains '\\' (entries must sit at the root)";
    }
    if (name == ".") {
        return "is named '.'";
    }
    return std::nullopt;
}

std::string printableEntryName(std::string_view name)
{
    std::string shown;
    for (const char c : name) {
        if (shown.size() >= kMaxShownNameBytes) {
            shown += "...";
            break;
        }
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f && c != '\'') {
            shown.push_back(c);
        } else {
            char escaped[5];
            std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
            shown += escaped;
        }
    }
    return shown;
}

} // namespace omni::archive::detail
