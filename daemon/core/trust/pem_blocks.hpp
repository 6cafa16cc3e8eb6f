#pragma once
// Splitting PEM text into its blocks, strictly: archive entries and the
// device's anchors must hold nothing but PEM blocks and whitespace, so a
// truncated or concatenated file is reported instead of half-read.
// Internal to the trust area.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "daemon/core/trust/openssl_types.hpp"

namespace omni::trust::pem {

struct Block {
    Block() = default;
    Block(const Block&) = default;
    Block(Block&&) = default;
    Block& operator=(const Block&) = default;
    Block& operator=(Block&&) = default;
    ~Block(); // wipes text and der: a block may be a private key

    std::string label; // "CERTIFICATE", "PRIVATE KEY", ...
    std::string headers; // RFC 1421 headers such as "Proc-Type: 4,ENCRYPTED", usually empty
    std::string der; // the decoded contents
    std::size_t firstLine = 0; // 1-based line of the BEGIN line, for messages
    std::string text; // the block's own PEM text, BEGIN to END line
};

// Every block of the text, in order. The error says what is wrong and on
// which line; it never quotes the text (it may be key material).
tl::expected<std::vector<Block>, std::string> splitBlocks(std::string_view text);

// A "CERTIFICATE" block as X.509: no headers, DER that parses completely,
// validity times that convert, a public key that decodes. The error says
// which block (by line) and what is wrong.
tl::expected<X509Ptr, std::string> certificateFromBlock(const Block& block);

} // namespace omni::trust::pem
