#include "daemon/core/trust/pem_blocks.hpp"

#include <algorithm>
#include <climits>
#include <ctime>
#include <optional>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "daemon/core/text/text.hpp"
#include "daemon/core/trust/openssl_types.hpp"

namespace omni::trust::pem {
namespace {

constexpr std::string_view kBeginMarker = "-----BEGIN ";
constexpr std::string_view kEndMarker = "-----END ";
constexpr std::string_view kDashes = "-----";
// Labels appear in messages; a hostile one must not flood them.
constexpr std::size_t kMaxQuotedLabel = 64;

std::string_view withoutTrailingWhitespace(std::string_view line)
{
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    return line;
}

bool isBlank(std::string_view line)
{
    return line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
}

// DER and other binary files have control bytes that PEM text never has.
bool isBinary(std::string_view line)
{
    return std::any_of(line.begin(), line.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 && byte != '\t' && byte != '\r' && byte != '\f' && byte != '\v';
    });
}

std::optional<std::string_view> markerLabel(std::string_view line, std::string_view marker)
{
    line = withoutTrailingWhitespace(line);
    if (line.size() < marker.size() + kDashes.size() || !line.starts_with(marker)
        || !line.ends_with(kDashes)) {
        return std::nullopt;
    }
    return line.substr(marker.size(), line.size() - marker.size() - kDashes.size());
}

// The label is the file's text: escaped, so control bytes and invalid UTF-8
// reach no journal, terminal or JSON as they are.
std::string quotedLabel(std::string_view label)
{
    if (label.size() > kMaxQuotedLabel) {
        return "'" + text::escaped(label.substr(0, kMaxQuotedLabel)) + "...'";
    }
    return "'" + text::escaped(label) + "'";
}

struct OpenSslFree {
    void operator()(void* memory) const noexcept { OPENSSL_free(memory); }
};

tl::expected<Block, std::string> decodeBlock(
    std::string_view blockText, std::string_view label, std::size_t firstLine)
{
    if (blockText.size() > static_cast<std::size_t>(INT_MAX)) {
        return tl::unexpected("the PEM block at line " + std::to_string(firstLine) + " is too large");
    }
    BioPtr bio(BIO_new_mem_buf(blockText.data(), static_cast<int>(blockText.size())));
    if (!bio) {
        return tl::unexpected("out of memory: " + drainOpenSslErrors());
    }
    char* name = nullptr;
    char* headers = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    const int ok = PEM_read_bio(bio.get(), &name, &headers, &data, &length);
    std::unique_ptr<char, OpenSslFree> nameOwner(name);
    std::unique_ptr<char, OpenSslFree> headersOwner(headers);
    std::unique_ptr<unsigned char, OpenSslFree> dataOwner(data);
    if (ok != 1) {
        return tl::unexpected("the PEM block " + quotedLabel(label) + " at line " + std::to_string(firstLine)
            + " does not decode (bad Base64 or headers): " + drainOpenSslErrors());
    }
    Block block;
    block.label = std::string(label);
    block.headers = headers != nullptr ? std::string(headers) : std::string();
    if (length > 0) {
        block.der.assign(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length));
        OPENSSL_cleanse(data, static_cast<std::size_t>(length));
    }
    block.firstLine = firstLine;
    block.text = std::string(blockText);
    return block;
}

} // namespace

Block::~Block()
{
    OPENSSL_cleanse(text.data(), text.size());
    OPENSSL_cleanse(der.data(), der.size());
}

tl::expected<std::vector<Block>, std::string> splitBlocks(std::string_view text)
{
    std::vector<Block> blocks;
    std::size_t position = 0;
    std::size_t lineNumber = 0;
    // Where the open block began (offset into text) and its label; none when outside.
    std::optional<std::size_t> blockStart;
    std::string_view blockLabel;
    std::size_t blockFirstLine = 0;

    while (position < text.size()) {
        const std::size_t newline = text.find('\n', position);
        const std::size_t lineEnd = newline == std::string_view::npos ? text.size() : newline + 1;
        const std::string_view line = text.substr(position, lineEnd - position);
        const std::string_view content
            = newline == std::string_view::npos ? line : line.substr(0, line.size() - 1);
        ++lineNumber;

        if (!blockStart) {
            if (auto label = markerLabel(content, kBeginMarker)) {
                blockStart = position;
                blockLabel = *label;
                blockFirstLine = lineNumber;
            } else if (isBinary(content)) {
                return tl::unexpected("line " + std::to_string(lineNumber)
                    + ": binary data outside a PEM block (DER instead of PEM?); PEM text is required");
            } else if (!isBlank(content)) {
                return tl::unexpected("line " + std::to_string(lineNumber)
                    + ": text outside a PEM block (only '-----BEGIN ...-----' ... "
                      "'-----END ...-----' blocks and blank lines are allowed)");
            }
        } else if (auto label = markerLabel(content, kEndMarker)) {
            if (*label != blockLabel) {
                return tl::unexpected("line " + std::to_string(lineNumber) + ": the END line "
                    + quotedLabel(*label) + " closes the block " + quotedLabel(blockLabel) + " begun at line "
                    + std::to_string(blockFirstLine));
            }
            auto block
                = decodeBlock(text.substr(*blockStart, lineEnd - *blockStart), blockLabel, blockFirstLine);
            if (!block) {
                return tl::unexpected(block.error());
            }
            blocks.push_back(std::move(*block));
            blockStart.reset();
        } else if (markerLabel(content, kBeginMarker)) {
            return tl::unexpected("line " + std::to_string(lineNumber) + ": a BEGIN line inside the block "
                + quotedLabel(blockLabel) + " begun at line " + std::to_string(blockFirstLine)
                + " (its END line is missing)");
        }
        position = lineEnd;
    }
    if (blockStart) {
        return tl::unexpected("the PEM block " + quotedLabel(blockLabel) + " begun at line "
            + std::to_string(blockFirstLine) + " has no '-----END " + text::escaped(blockLabel)
            + "-----' line (truncated?)");
    }
    return blocks;
}

tl::expected<X509Ptr, std::string> certificateFromBlock(const Block& block)
{
    const std::string where = "the PEM block at line " + std::to_string(block.firstLine);
    if (block.label != "CERTIFICATE") {
        return tl::unexpected(where + " is " + quotedLabel(block.label) + ", not 'CERTIFICATE'");
    }
    if (!block.headers.empty()) {
        return tl::unexpected(where + " has PEM headers; a certificate block has none");
    }
    if (block.der.size() > static_cast<std::size_t>(LONG_MAX)) {
        return tl::unexpected(where + " is too large");
    }
    const auto* begin = reinterpret_cast<const unsigned char*>(block.der.data());
    const unsigned char* cursor = begin;
    X509Ptr certificate(d2i_X509(nullptr, &cursor, static_cast<long>(block.der.size())));
    if (!certificate) {
        return tl::unexpected(where + " is not an X.509 certificate: " + drainOpenSslErrors());
    }
    if (cursor != begin + block.der.size()) {
        return tl::unexpected(where + " has " + std::to_string(begin + block.der.size() - cursor)
            + " bytes after the certificate's DER encoding");
    }
    std::tm unused {};
    if (ASN1_TIME_to_tm(X509_get0_notBefore(certificate.get()), &unused) != 1
        || ASN1_TIME_to_tm(X509_get0_notAfter(certificate.get()), &unused) != 1) {
        ERR_clear_error();
        return tl::unexpected(where + ": the certificate's notBefore or notAfter is not a valid time");
    }
    if (X509_get0_pubkey(certificate.get()) == nullptr) {
        return tl::unexpected(
            where + ": the certificate's public key does not decode: " + drainOpenSslErrors());
    }
    return certificate;
}

} // namespace omni::trust::pem
