#pragma once
// The HTTP side of `serve`, on libmicrohttpd (its parser, its connection
// handling, its TLS): an RAII daemon that collects each request whole (body
// bounded) and hands it to one handler on a small pool of threads.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sys/socket.h>

#include "daemon/core/result.hpp"
#include "daemon/issuer/serve/http_message.hpp"

struct MHD_Daemon;

namespace omni::serve {

struct ListenAddress {
    std::string host; // as written, without brackets
    std::uint16_t port = 0; // 0: the kernel picks one
    sockaddr_storage socketAddress {};
    socklen_t socketAddressLength = 0;
    bool ipv6 = false;
    bool loopback = false;
};

// "127.0.0.1:8443", "[::1]:0", "0.0.0.0:443", "localhost:8080" (127.0.0.1).
// Names other than localhost are refused: a service binds to an address.
Result<ListenAddress> parseListenAddress(std::string_view text);
// "127.0.0.1:8443" or "[::1]:8443".
std::string formatEndpoint(const ListenAddress& address, std::uint16_t port);

struct HttpServerOptions {
    ListenAddress listen;
    // PEM texts; without them the server speaks plain HTTP.
    std::optional<std::string> tlsCertificatePem;
    std::optional<std::string> tlsKeyPem;
    // With TLS: ask clients for a certificate (requested, not required), and
    // name these CAs (PEM) in the request. The handshake never judges it; the
    // chain goes to the handler (HttpRequest::clientCertificateChainDer).
    std::optional<std::string> tlsClientCaPem;
    unsigned maxConnections = 64;
    // A connection with no traffic for this long is closed (slow clients,
    // idle keep-alive connections, half-sent headers).
    unsigned idleTimeoutSeconds = 15;
    // A whole request (TLS handshake, request line, headers, body) must
    // arrive within this many seconds of the connection or of the previous
    // response, however steadily it trickles (slow-loris).
    unsigned requestTimeoutSeconds = 30;
    std::size_t maxBodyBytes = 256 * 1024;
    // Request line and headers must fit in this per-connection buffer. At
    // 32 KiB libmicrohttpd takes it from malloc; above, it maps and unmaps
    // pages for every connection (page faults and TLB shootdowns per request).
    std::size_t connectionMemoryBytes = 32 * 1024;
    unsigned threads = 4;
};

using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;
// Messages from the HTTP library (malformed requests, TLS handshakes).
using ServerLog = std::function<void(const std::string&)>;

class HttpServer {
public:
    static Result<HttpServer> start(const HttpServerOptions& options, RequestHandler handler, ServerLog log);

    HttpServer(HttpServer&&) noexcept;
    HttpServer& operator=(HttpServer&&) noexcept;
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;
    // Stops accepting, finishes the requests in progress, joins the threads.
    ~HttpServer();

    // The port actually bound (the picked one when 0 was asked for).
    std::uint16_t port() const { return port_; }

    struct State;

private:
    HttpServer(std::unique_ptr<State> state, MHD_Daemon* daemon, std::uint16_t port);
    void stop();

    std::unique_ptr<State> state_;
    MHD_Daemon* daemon_ = nullptr;
    std::uint16_t port_ = 0;
};

} // namespace omni::serve
