#pragma once
// Text from a stick or a request is data, never control (DESIGN.md section 7).
// Names, tag keys, field paths, file names and PEM labels can hold newlines,
// escape sequences and bytes that are not UTF-8; these functions make such
// text safe for one line read by people (the journal, STATUS=, terminals,
// receipts) and valid UTF-8 for JSON (json_text.hpp writes JSON).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace omni::text {

// Length of the well-formed UTF-8 sequence starting at text[offset] (RFC 3629:
// no overlong forms, no surrogates, nothing past U+10FFFF, no truncation), or
// 0 when there is none. offset must be < text.size().
std::size_t utf8SequenceLength(std::string_view text, std::size_t offset);

// Offset of the first byte that is not well-formed UTF-8, if any.
std::optional<std::size_t> firstInvalidUtf8(std::string_view text);

// Quotes untrusted bytes unambiguously for a message: valid UTF-8 is kept
// (letters of any script), a backslash becomes "\\", C0 controls "\n" "\r"
// "\t" or "\x1b", DEL "\x7f", C1 controls "\u009b", and every byte that is
// not UTF-8 "\xFF". The result is one line of valid UTF-8 without controls.
// Use it where stick or request text is put into a message.
std::string escaped(std::string_view bytes);

// The guard of every output sink for people: the same escapes as escaped()
// except that a backslash stays as it is, so text that is already safe
// (escaped() output, or plain messages) passes unchanged and is never escaped
// twice: printable(printable(x)) == printable(x) == printable(escaped(x))
// when x came through escaped().
std::string printable(std::string_view text);

// The bytes as valid UTF-8: each byte that is not part of a well-formed
// sequence becomes U+FFFD. Control characters are kept (JSON escapes them).
std::string validUtf8(std::string_view bytes);

} // namespace omni::text
