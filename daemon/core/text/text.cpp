#include "daemon/core/text/text.hpp"

namespace omni::text {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kUpperHex[] = "0123456789ABCDEF";

void appendByteEscape(std::string& out, unsigned char byte, const char* digits)
{
    out += "\\x";
    out += digits[byte >> 4];
    out += digits[byte & 0x0F];
}

// C0 controls and DEL: the usual short escapes, else \xNN in lowercase.
void appendControlEscape(std::string& out, unsigned char byte)
{
    switch (byte) {
    case '\n':
        out += "\\n";
        return;
    case '\r':
        out += "\\r";
        return;
    case '\t':
        out += "\\t";
        return;
    default:
        appendByteEscape(out, byte, kHex);
    }
}

std::string escapeWith(std::string_view bytes, bool escapeBackslash)
{
    std::string out;
    out.reserve(bytes.size());
    for (std::size_t offset = 0; offset < bytes.size();) {
        const auto byte = static_cast<unsigned char>(bytes[offset]);
        const std::size_t length = utf8SequenceLength(bytes, offset);
        if (length == 0) {
            appendByteEscape(out, byte, kUpperHex); // not UTF-8
            ++offset;
            continue;
        }
        if (length == 1) {
            if (byte < 0x20 || byte == 0x7F) {
                appendControlEscape(out, byte);
            } else if (byte == '\\' && escapeBackslash) {
                out += "\\\\";
            } else {
                out += static_cast<char>(byte);
            }
        } else if (length == 2 && byte == 0xC2 && static_cast<unsigned char>(bytes[offset + 1]) < 0xA0) {
            // C1 controls U+0080..U+009F (U+009B is the 8-bit CSI of terminals).
            const auto second = static_cast<unsigned char>(bytes[offset + 1]);
            out += "\\u00";
            out += kHex[second >> 4];
            out += kHex[second & 0x0F];
        } else {
            out.append(bytes.substr(offset, length));
        }
        offset += length;
    }
    return out;
}

} // namespace

std::size_t utf8SequenceLength(std::string_view text, std::size_t offset)
{
    const auto byte = [&](std::size_t index) { return static_cast<unsigned char>(text[index]); };
    const unsigned char lead = byte(offset);
    if (lead < 0x80) {
        return 1;
    }
    std::size_t length = 0;
    unsigned char secondMin = 0x80;
    unsigned char secondMax = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) {
            secondMin = 0xA0; // overlong below U+0800
        } else if (lead == 0xED) {
            secondMax = 0x9F; // UTF-16 surrogates
        }
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) {
            secondMin = 0x90; // overlong below U+10000
        } else if (lead == 0xF4) {
            secondMax = 0x8F; // beyond U+10FFFF
        }
    } else {
        return 0;
    }
    if (offset + length > text.size()) {
        return 0;
    }
    if (byte(offset + 1) < secondMin || byte(offset + 1) > secondMax) {
        return 0;
    }
    for (std::size_t index = offset + 2; index < offset + length; ++index) {
        if (byte(index) < 0x80 || byte(index) > 0xBF) {
            return 0;
        }
    }
    return length;
}

std::optional<std::size_t> firstInvalidUtf8(std::string_view text)
{
    for (std::size_t offset = 0; offset < text.size();) {
        const std::size_t length = utf8SequenceLength(text, offset);
        if (length == 0) {
            return offset;
        }
        offset += length;
    }
    return std::nullopt;
}

std::string escaped(std::string_view bytes)
{
    return escapeWith(bytes, true);
}

std::string printable(std::string_view text)
{
    return escapeWith(text, false);
}

std::string validUtf8(std::string_view bytes)
{
    if (!firstInvalidUtf8(bytes)) {
        return std::string(bytes);
    }
    std::string out;
    out.reserve(bytes.size() + 8);
    for (std::size_t offset = 0; offset < bytes.size();) {
        const std::size_t length = utf8SequenceLength(bytes, offset);
        if (length == 0) {
            out += "\xEF\xBF\xBD"; // U+FFFD
            ++offset;
            continue;
        }
        out.append(bytes.substr(offset, length));
        offset += length;
    }
    return out;
}

} // namespace omni::text
