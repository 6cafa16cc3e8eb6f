#include "daemon/issuer/serve/http_server.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "daemon/core/text/text.hpp"

namespace omni::serve {
namespace {

Error serverError(std::string message)
{
    return Error { ReasonCode::InternalError, Check::None, std::move(message), {} };
}

// TLS 1.2 and 1.3 only, GnuTLS's defaults otherwise.
constexpr const char* kTlsPriorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

struct ResponseDeleter {
    void operator()(MHD_Response* response) const noexcept { MHD_destroy_response(response); }
};
using ResponsePtr = std::unique_ptr<MHD_Response, ResponseDeleter>;

// One request in flight: created when the request line arrives (with the
// URI exactly as sent), destroyed when libmicrohttpd is done with it.
struct PendingRequest {
    HttpRequest request;
    bool headersSeen = false;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

} // namespace

// libmicrohttpd's timeout restarts with every byte, so a client trickling
// one byte at a time would hold a connection forever. Each connection gets a
// deadline for its current request; a watchdog thread shuts down the socket
// of any connection past it (shutdown only: libmicrohttpd then closes it
// through its own path, and the fd is never closed under it).
class RequestDeadlines {
public:
    struct Watch {
        int fd = -1;
        bool receiving = true;
        bool expired = false;
        std::chrono::steady_clock::time_point deadline;
    };

    RequestDeadlines(std::chrono::seconds limit, std::function<void(const std::string&)> log)
        : limit_(limit)
        , log_(std::move(log))
        , thread_([this] { run(); })
    {
    }
    RequestDeadlines(const RequestDeadlines&) = delete;
    RequestDeadlines& operator=(const RequestDeadlines&) = delete;
    ~RequestDeadlines()
    {
        {
            const std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    Watch* opened(int fd)
    {
        auto watch = std::make_unique<Watch>();
        watch->fd = fd;
        watch->deadline = std::chrono::steady_clock::now() + limit_;
        const std::lock_guard lock(mutex_);
        return watches_.emplace(watch.get(), std::move(watch)).first->first;
    }
    // The whole request is in: the handler's time is not the client's fault.
    void received(Watch* watch)
    {
        const std::lock_guard lock(mutex_);
        watch->receiving = false;
    }
    // A response went out; the next request on this connection starts its own clock.
    void answered(Watch* watch)
    {
        const std::lock_guard lock(mutex_);
        watch->receiving = true;
        watch->deadline = std::chrono::steady_clock::now() + limit_;
    }
    void closed(Watch* watch)
    {
        const std::lock_guard lock(mutex_);
        watches_.erase(watch);
    }

private:
    void run()
    {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            wake_.wait_for(lock, std::chrono::seconds(1));
            const auto now = std::chrono::steady_clock::now();
            for (auto& [key, watch] : watches_) {
                if (!watch->receiving || watch->expired || now < watch->deadline)
                    continue;
                watch->expired = true;
                ::shutdown(watch->fd, SHUT_RDWR);
                if (log_)
                    log_("http: closed a connection that did not send its request within "
                        + std::to_string(limit_.count()) + " s");
            }
        }
    }

    std::chrono::seconds limit_;
    std::function<void(const std::string&)> log_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::map<Watch*, std::unique_ptr<Watch>> watches_;
    std::thread thread_;
};

struct HttpServer::State {
    RequestHandler handler;
    ServerLog log;
    std::size_t maxBodyBytes = 0;
    std::mutex logMutex;
    std::string lastLibraryMessage;
    std::unique_ptr<RequestDeadlines> deadlines;

    // A line may quote what a client sent: one printable line, always.
    void write(const std::string& line)
    {
        const std::lock_guard lock(logMutex);
        lastLibraryMessage = text::printable(line);
        if (log)
            log(lastLibraryMessage);
    }
};

namespace {

void onLibraryMessage(void* cls, const char* format, va_list arguments)
{
    char text[512];
    std::vsnprintf(text, sizeof text, format, arguments);
    std::string line(text);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.pop_back();
    static_cast<HttpServer::State*>(cls)->write("http: " + line);
}

void* onRequestLine(void*, const char* uri, MHD_Connection*)
{
    auto* pending = new (std::nothrow) PendingRequest;
    if (pending && uri) {
        try {
            pending->request.target = uri;
        } catch (...) {
        }
    }
    return pending;
}

RequestDeadlines::Watch* watchOf(MHD_Connection* connection)
{
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? static_cast<RequestDeadlines::Watch*>(info->socket_context) : nullptr;
}

void onRequestDone(void* cls, MHD_Connection* connection, void** context, MHD_RequestTerminationCode)
{
    delete static_cast<PendingRequest*>(*context);
    *context = nullptr;
    auto& state = *static_cast<HttpServer::State*>(cls);
    if (auto* watch = watchOf(connection))
        state.deadlines->answered(watch);
}

void onConnection(
    void* cls, MHD_Connection* connection, void** socketContext, MHD_ConnectionNotificationCode code)
{
    auto& state = *static_cast<HttpServer::State*>(cls);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const MHD_ConnectionInfo* info
            = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        try {
            *socketContext = info ? state.deadlines->opened(info->connect_fd) : nullptr;
        } catch (...) {
            *socketContext = nullptr;
        }
    } else if (*socketContext != nullptr) {
        state.deadlines->closed(static_cast<RequestDeadlines::Watch*>(*socketContext));
        *socketContext = nullptr;
    }
}

MHD_Result collectHeader(void* cls, MHD_ValueKind, const char* key, const char* value)
{
    auto* headers = static_cast<sigv4::HeaderList*>(cls);
    headers->emplace_back(key ? key : "", value ? value : "");
    return MHD_YES;
}

std::optional<std::uint64_t> declaredLength(const sigv4::HeaderList& headers)
{
    for (const auto& [name, value] : headers) {
        if (strcasecmp(name.c_str(), "Content-Length") != 0)
            continue;
        std::uint64_t length = 0;
        for (const char c : value) {
            if (c < '0' || c > '9' || length > UINT64_MAX / 10)
                return UINT64_MAX;
            length = length * 10 + static_cast<std::uint64_t>(c - '0');
        }
        return length;
    }
    return std::nullopt;
}

// The peer's certificates as it sent them; nothing is judged here.
std::vector<std::string> clientCertificateChain(MHD_Connection* connection)
{
    std::vector<std::string> chain;
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info == nullptr || info->tls_session == nullptr)
        return chain;
    auto session = static_cast<gnutls_session_t>(info->tls_session);
    if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509)
        return chain;
    unsigned count = 0;
    const gnutls_datum_t* peers = gnutls_certificate_get_peers(session, &count);
    for (unsigned index = 0; peers != nullptr && index < count; ++index)
        chain.emplace_back(reinterpret_cast<const char*>(peers[index].data), peers[index].size);
    return chain;
}

MHD_Result respond(HttpServer::State& state, MHD_Connection* connection, PendingRequest& pending)
{
    const HttpResponse response = state.handler(pending.request);
    ResponsePtr reply(MHD_create_response_from_buffer(
        response.body.size(), const_cast<char*>(response.body.data()), MHD_RESPMEM_MUST_COPY));
    if (!reply)
        return MHD_NO;
    for (const auto& [name, value] : response.headers)
        MHD_add_response_header(reply.get(), name.c_str(), value.c_str());
    const MHD_Result queued
        = MHD_queue_response(connection, static_cast<unsigned>(response.status), reply.get());

    const auto elapsed
        = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - pending.started);
    char milliseconds[32];
    std::snprintf(milliseconds, sizeof milliseconds, "%.1f ms", elapsed.count());
    const std::string& target = pending.request.target;
    state.write(pending.request.method + " " + target.substr(0, target.find('?')).substr(0, 120) + " "
        + std::to_string(response.status) + " " + response.summary + ", " + milliseconds);
    return queued;
}

MHD_Result onRequest(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
    const char* uploadData, size_t* uploadDataSize, void** context)
{
    auto& state = *static_cast<HttpServer::State*>(cls);
    try {
        auto* pending = static_cast<PendingRequest*>(*context);
        if (pending == nullptr) {
            pending = new PendingRequest;
            pending->request.target = url ? url : "";
            *context = pending;
        }
        if (!pending->headersSeen) {
            pending->headersSeen = true;
            pending->request.method = method ? method : "";
            MHD_get_connection_values(connection, MHD_HEADER_KIND, collectHeader, &pending->request.headers);
            pending->request.clientCertificateChainDer = clientCertificateChain(connection);
            const auto length = declaredLength(pending->request.headers);
            if (length && *length > state.maxBodyBytes) {
                // Answered before a byte of the body is read (no 100 Continue is sent).
                pending->request.bodyTooLarge = true;
                return respond(state, connection, *pending);
            }
            return MHD_YES;
        }
        if (*uploadDataSize > 0) {
            if (pending->request.body.size() + *uploadDataSize > state.maxBodyBytes) {
                // A chunked body that outgrew the limit: close rather than drain it.
                state.write("http: closing a connection whose chunked body passed "
                    + std::to_string(state.maxBodyBytes) + " bytes");
                return MHD_NO;
            }
            pending->request.body.append(uploadData, *uploadDataSize);
            *uploadDataSize = 0;
            return MHD_YES;
        }
        if (auto* watch = watchOf(connection))
            state.deadlines->received(watch);
        return respond(state, connection, *pending);
    } catch (const std::exception& error) {
        state.write(std::string("http: dropping a request: ") + error.what());
        return MHD_NO;
    }
}

bool isLoopback(const sockaddr_storage& address)
{
    if (address.ss_family == AF_INET) {
        const auto& ipv4 = reinterpret_cast<const sockaddr_in&>(address);
        return (ntohl(ipv4.sin_addr.s_addr) >> 24) == 127;
    }
    const auto& ipv6 = reinterpret_cast<const sockaddr_in6&>(address);
    return IN6_IS_ADDR_LOOPBACK(&ipv6.sin6_addr)
        || (IN6_IS_ADDR_V4MAPPED(&ipv6.sin6_addr) && ipv6.sin6_addr.s6_addr[12] == 127);
}

} // namespace

Result<ListenAddress> parseListenAddress(std::string_view text)
{
    const auto invalid = [&](const std::string& why) {
        return tl::unexpected(serverError("--listen '" + std::string(text.substr(0, 100)) + "': " + why
            + " (expected ADDRESS:PORT, e.g. 127.0.0.1:8080 or [::1]:0)"));
    };
    std::string_view host;
    std::string_view portText;
    ListenAddress address;
    if (!text.empty() && text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return invalid("an IPv6 address must be written [ADDRESS]:PORT");
        host = text.substr(1, close - 1);
        portText = text.substr(close + 2);
        address.ipv6 = true;
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return invalid("the port is missing");
        host = text.substr(0, colon);
        portText = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return invalid("an IPv6 address must be written in brackets");
    }
    if (portText.empty() || portText.size() > 5
        || portText.find_first_not_of("0123456789") != std::string_view::npos
        || std::stoul(std::string(portText)) > 65535)
        return invalid("the port must be a number from 0 to 65535");
    address.port = static_cast<std::uint16_t>(std::stoul(std::string(portText)));
    address.host = std::string(host == "localhost" ? "127.0.0.1" : host);

    if (address.ipv6) {
        sockaddr_in6 ipv6 {};
        ipv6.sin6_family = AF_INET6;
        ipv6.sin6_port = htons(address.port);
        if (inet_pton(AF_INET6, address.host.c_str(), &ipv6.sin6_addr) != 1)
            return invalid("'" + address.host + "' is not an IPv6 address");
        std::memcpy(&address.socketAddress, &ipv6, sizeof ipv6);
        address.socketAddressLength = sizeof ipv6;
    } else {
        sockaddr_in ipv4 {};
        ipv4.sin_family = AF_INET;
        ipv4.sin_port = htons(address.port);
        if (inet_pton(AF_INET, address.host.c_str(), &ipv4.sin_addr) != 1)
            return invalid("'" + address.host
                + "' is not an IPv4 address (host names other than localhost are not "
                  "resolved)");
        std::memcpy(&address.socketAddress, &ipv4, sizeof ipv4);
        address.socketAddressLength = sizeof ipv4;
    }
    address.loopback = isLoopback(address.socketAddress);
    return address;
}

std::string formatEndpoint(const ListenAddress& address, std::uint16_t port)
{
    return (address.ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(port);
}

HttpServer::HttpServer(std::unique_ptr<State> state, MHD_Daemon* daemon, std::uint16_t port)
    : state_(std::move(state))
    , daemon_(daemon)
    , port_(port)
{
}

HttpServer::HttpServer(HttpServer&& other) noexcept
    : state_(std::move(other.state_))
    , daemon_(std::exchange(other.daemon_, nullptr))
    , port_(other.port_)
{
}

HttpServer& HttpServer::operator=(HttpServer&& other) noexcept
{
    if (this != &other) {
        stop();
        state_ = std::move(other.state_);
        daemon_ = std::exchange(other.daemon_, nullptr);
        port_ = other.port_;
    }
    return *this;
}

HttpServer::~HttpServer()
{
    stop();
}

void HttpServer::stop()
{
    if (daemon_)
        MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
}

Result<HttpServer> HttpServer::start(const HttpServerOptions& options, RequestHandler handler, ServerLog log)
{
    const bool tls = options.tlsCertificatePem.has_value();
    if (tls != options.tlsKeyPem.has_value())
        return tl::unexpected(serverError("TLS needs both a certificate and a key"));
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return tl::unexpected(serverError("this libmicrohttpd was built without TLS support"));

    auto state = std::make_unique<State>();
    state->handler = std::move(handler);
    state->log = std::move(log);
    state->maxBodyBytes = options.maxBodyBytes;
    state->deadlines = std::make_unique<RequestDeadlines>(std::chrono::seconds(options.requestTimeoutSeconds),
        [raw = state.get()](const std::string& line) { raw->write(line); });

    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (options.listen.ipv6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;

    // The logger comes first so that messages about the other options reach it.
    std::vector<MHD_OptionItem> settings {
        { MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&onLibraryMessage), state.get() },
        { MHD_OPTION_SOCK_ADDR, 0, const_cast<sockaddr_storage*>(&options.listen.socketAddress) },
        { MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, nullptr },
        { MHD_OPTION_THREAD_POOL_SIZE, static_cast<intptr_t>(options.threads == 0 ? 1 : options.threads),
            nullptr },
        { MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(options.maxConnections), nullptr },
        { MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(options.idleTimeoutSeconds), nullptr },
        { MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(options.connectionMemoryBytes), nullptr },
        { MHD_OPTION_STRICT_FOR_CLIENT, 1, nullptr },
        { MHD_OPTION_URI_LOG_CALLBACK, reinterpret_cast<intptr_t>(&onRequestLine), state.get() },
        { MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&onRequestDone), state.get() },
        { MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&onConnection), state.get() },
    };
    if (tls) {
        settings.push_back(
            { MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(options.tlsCertificatePem->c_str()) });
        settings.push_back({ MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(options.tlsKeyPem->c_str()) });
        settings.push_back({ MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(kTlsPriorities) });
        // libmicrohttpd then asks for a client certificate (GNUTLS_CERT_REQUEST:
        // a client without one still connects) and leaves judging it to us.
        if (options.tlsClientCaPem)
            settings.push_back(
                { MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(options.tlsClientCaPem->c_str()) });
    }
    settings.push_back({ MHD_OPTION_END, 0, nullptr });

    MHD_Daemon* daemon = MHD_start_daemon(flags, options.listen.port, nullptr, nullptr, &onRequest,
        state.get(), MHD_OPTION_ARRAY, settings.data(), MHD_OPTION_END);
    if (daemon == nullptr) {
        const std::lock_guard lock(state->logMutex);
        return tl::unexpected(
            serverError("cannot listen on " + formatEndpoint(options.listen, options.listen.port)
                + (state->lastLibraryMessage.empty() ? std::string() : ": " + state->lastLibraryMessage)));
    }
    const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    const std::uint16_t port = info ? info->port : options.listen.port;
    return HttpServer(std::move(state), daemon, port);
}

} // namespace omni::serve
