#pragma once
// The rule of DESIGN.md check 8 for entry names, shared by the reader (which
// refuses such entries) and the writer (which never produces them).
#include <optional>
#include <string>
#include <string_view>

namespace omni::archive::detail {

// Why `name` cannot be an entry at the root of the archive ("contains '/'",
// "is empty", ...), or nothing when it can.
std::optional<std::string> entryNameProblem(std::string_view name);

// The name as it can safely appear in a message or the journal: printable
// ASCII kept, everything else as \xNN, cut to a bounded length.
std::string printableEntryName(std::string_view name);

} // namespace omni::archive::detail
