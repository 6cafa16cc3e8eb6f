#pragma once
// An HTTP exchange as the device API sees it, independent of the HTTP
// library: the request exactly as it arrived (so its signature can be
// checked), the response to send.
#include <string>
#include <vector>

#include "daemon/issuer/serve/sigv4.hpp"

namespace omni::serve {

struct HttpRequest {
    std::string method;
    std::string target; // raw request-target: percent-encoded path and optional "?query"
    sigv4::HeaderList headers;
    std::string body;
    // The body went over the server's limit and was not kept.
    bool bodyTooLarge = false;
    // The TLS client's certificate chain as it sent it (DER, leaf first);
    // empty without TLS or without a client certificate. Not verified: the
    // handler verifies it with its own trust code.
    std::vector<std::string> clientCertificateChainDer {};
};

struct HttpResponse {
    int status = 200;
    sigv4::HeaderList headers;
    std::string body;
    // One line for the log: operation, outcome, device; never a secret.
    std::string summary;
};

} // namespace omni::serve
