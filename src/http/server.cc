#include "http/server.h"

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "net/post_batch.h"

namespace beacon::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::string_view Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
  }
}

std::string SerializeHead(const HttpResponse& r, bool keep_alive) {
  std::string head;
  head.reserve(256);
  head += "HTTP/1.1 ";
  head += std::to_string(r.status);
  head += ' ';
  head += Reason(r.status);
  head += "\r\n";
  if (!r.content_type.empty()) {
    head += "Content-Type: ";
    head += r.content_type;
    head += "\r\n";
  }
  for (const auto& [name, value] : r.headers) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  head += "Content-Length: ";
  head += std::to_string(r.Body().size());
  head += "\r\n";
  if (!keep_alive) head += "Connection: close\r\n";
  head += "\r\n";
  return head;
}

// Sends `head`, then `size` bytes of the file `fd` with sendfile(2) (SharedBody): the head goes
// with MSG_MORE so that it leaves in one segment with the body's first bytes.
// REQUIRES: the socket is non-blocking (Accept sets it).
asio::awaitable<bool> WriteHeadAndFile(tcp::socket& socket, const std::string& head, int fd,
                                       size_t size) {
  size_t sent = 0;
  while (sent < head.size()) {
    auto [ec, n] = co_await socket.async_send(asio::buffer(head.data() + sent, head.size() - sent),
                                              MSG_MORE, kTuple);
    if (ec) co_return false;
    sent += n;
  }
  off_t offset = 0;
  while (static_cast<size_t>(offset) < size) {
    const ssize_t n =
        ::sendfile(socket.native_handle(), fd, &offset, size - static_cast<size_t>(offset));
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_write, kTuple);
      if (wait_ec) co_return false;
      continue;
    }
    co_return false;  // the client went away (or the file is shorter than it should be)
  }
  co_return true;
}

// After an error response that ends the connection before the request was read to its end (an
// oversized body, say), the client may still be sending. Closing a socket with unread input
// resets the connection, and the reset can destroy the response before the client has read it.
// So, as nginx's lingering close does: stop sending, then read and drop what still arrives until
// the client closes, for at most kLingerTime and kLingerBytes.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 1 << 20;

asio::awaitable<void> LingerBeforeClose(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  asio::steady_timer deadline(socket.get_executor());
  deadline.expires_after(kLingerTime);
  deadline.async_wait([&socket](boost::system::error_code ec) {
    boost::system::error_code ignored;
    if (!ec) socket.cancel(ignored);  // only the read below is outstanding
  });
  std::vector<char> scratch(16 * 1024);
  size_t dropped = 0;
  while (dropped < kLingerBytes) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(scratch), kTuple);
    if (ec) break;  // the client closed (EOF), reset, or the deadline passed
    dropped += n;
  }
  deadline.cancel();
}

asio::awaitable<bool> WriteResponse(tcp::socket& socket, const HttpResponse& r, bool keep_alive) {
  std::string head = SerializeHead(r, keep_alive);
  if (r.shared_body) {
    if (const int fd = r.shared_body->FileForSend(); fd >= 0) {
      co_return co_await WriteHeadAndFile(socket, head, fd, r.shared_body->bytes().size());
    }
  }
  std::string_view body = r.Body();
  // One sendmsg for the whole response, straight from here: it usually fits the socket's
  // buffer. Only what does not fit waits for the socket, with no limit per send (async_write's
  // transfer_all() hands at most 64 KiB to each, so a woken watcher's 123 KB answer took two
  // sends and two trips through the loop).
  boost::system::error_code ec;
  const size_t n = socket.write_some(
      std::array<asio::const_buffer, 2>{asio::buffer(head), asio::buffer(body.data(), body.size())},
      ec);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) co_return false;
  std::array<asio::const_buffer, 2> rest{asio::buffer(head) + n,
                                         asio::buffer(body.data(), body.size()) +
                                             (n > head.size() ? n - head.size() : 0)};
  if (asio::buffer_size(rest) == 0) co_return true;
  constexpr auto kAtOnce = [](const boost::system::error_code& e, size_t) -> size_t {
    return e ? 0 : size_t{1} << 30;
  };
  auto [write_ec, written] = co_await asio::async_write(socket, rest, kAtOnce, kTuple);
  co_return !write_ec;
}

}  // namespace

HttpServer::HttpServer(net::IoPool& pool, RequestHandler& handler, HttpServerOptions options)
    : pool_(pool), handler_(handler), options_(std::move(options)) {}

HttpServer::~HttpServer() { StopAccepting(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(net::IoPool& pool, RequestHandler& handler,
                                                      HttpServerOptions options,
                                                      catalog::SnapshotPtr initial) {
  std::unique_ptr<HttpServer> server(new HttpServer(pool, handler, std::move(options)));
  Gauge* parked = nullptr;
  if (MetricsRegistry* m = server->options_.metrics) {
    server->open_connections_ =
        m->GetGauge("http.open_connections", {}, "Open HTTP client connections");
    server->timeouts_ = m->GetCounter("http.timeouts", {}, "Connections closed by idle or read timeout");
    server->rejected_ = m->GetCounter("http.rejected_connections", {},
                                      "Connections refused over max_connections");
    parked = m->GetGauge("http.blocking_queries_parked", {}, "Blocking queries waiting");
  }
  for (size_t i = 0; i < pool.size(); ++i) {
    auto state = std::make_unique<LoopState>();
    state->snapshot = initial;
    state->watches.set_parked_gauge(parked);
    server->loops_.push_back(std::move(state));
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(server->options_.address, ec);
  if (ec) return InvalidArgument("invalid listen address " + server->options_.address);
  tcp::endpoint endpoint(address, server->options_.port);
  auto acceptor = std::make_unique<tcp::acceptor>(pool.Get(0));
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("http: cannot listen on " + server->options_.address + ":" +
                       std::to_string(server->options_.port) + ": " + ec.message());
  }
  server->port_ = acceptor->local_endpoint().port();
  server->acceptor_ = std::move(acceptor);
  asio::co_spawn(pool.Get(0), server->Accept(), asio::detached);
  for (size_t i = 0; i < pool.size(); ++i) {
    asio::co_spawn(pool.Get(i), server->Watchdog(i), asio::detached);
  }
  return server;
}

void HttpServer::StopAccepting() {
  accepting_.store(false);
  if (!acceptor_) return;
  asio::post(acceptor_->get_executor(), [a = acceptor_.get()] {
    boost::system::error_code ignored;
    a->close(ignored);
  });
}

void HttpServer::Publish(const catalog::SnapshotPtr& snapshot) {
  for (size_t i = 0; i < loops_.size(); ++i) {
    LoopState* state = loops_[i].get();
    net::Post(pool_.Get(i), [state, snapshot] {
      // Posts from the writer arrive in order; the generation guard covers the initial snapshot
      // set at start-up racing with the first publications.
      if (!state->snapshot || snapshot->generation > state->snapshot->generation) {
        state->snapshot = snapshot;
      }
    });
  }
}

void HttpServer::Wake(const catalog::ChangeSet& changes) {
  if (changes.keys.empty()) return;
  auto shared_changes = std::make_shared<const catalog::ChangeSet>(changes);
  for (size_t i = 0; i < loops_.size(); ++i) {
    LoopState* state = loops_[i].get();
    // Queued behind the snapshot Publish posted earlier, so woken queries see it.
    net::Post(pool_.Get(i), [state, shared_changes] { state->watches.Notify(*shared_changes); });
  }
}

int HttpServer::Drain(std::chrono::milliseconds timeout) {
  StopAccepting();
  for (size_t i = 0; i < loops_.size(); ++i) {
    LoopState* state = loops_[i].get();
    asio::post(pool_.Get(i), [state] {
      state->draining = true;
      state->watches.WakeAll();
      for (ConnectionState* c : state->connections) {
        if (c->reading && !c->got_some(c->parser)) {
          boost::system::error_code ignored;
          c->socket->cancel(ignored);
        }
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // The loops finish the requests; this thread only waits (bounded) for the count to reach zero.
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return in_flight_.load();
}

asio::awaitable<void> HttpServer::Watchdog(size_t loop) {
  LoopState& state = *loops_[loop];
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (accepting_.load()) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(kTuple);
    if (ec) co_return;
    const auto now = std::chrono::steady_clock::now();
    for (ConnectionState* c : state.connections) {
      if (!c->reading) continue;
      bool expired = false;
      if (!c->got_some(c->parser)) {
        expired = now - c->read_started > options_.idle_timeout;
      } else if (c->first_byte_seen == std::chrono::steady_clock::time_point{}) {
        c->first_byte_seen = now;
      } else {
        expired = now - c->first_byte_seen > options_.read_timeout;
      }
      if (expired) {
        c->timed_out = true;
        boost::system::error_code ignored;
        c->socket->cancel(ignored);
        if (timeouts_) timeouts_->Inc();
      }
    }
  }
}

asio::awaitable<void> HttpServer::Accept() {
  for (;;) {
    size_t loop = pool_.NextIndex();
    tcp::socket socket(pool_.Get(loop));
    auto [ec] = co_await acceptor_->async_accept(socket, kTuple);
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
    if (ec) {
      // Out of file descriptors and the like: keep serving the connections we have.
      spdlog::warn("http: accept failed: {}", ec.message());
      continue;
    }
    boost::system::error_code ignored;
    if (connections_.load() >= options_.max_connections) {
      // Over the limit: say so in one small synchronous write and close.
      static const std::string kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Length: 29\r\nConnection: close\r\n\r\ntoo many connections, retry\r\n";
      asio::write(socket, asio::buffer(kBusy), ignored);
      socket.close(ignored);
      if (rejected_) rejected_->Inc();
      continue;
    }
    socket.set_option(tcp::no_delay(true), ignored);
    // Non-blocking for good (Asio's own operations work either way): WriteHeadAndFile calls
    // sendfile(2) on it directly, and WriteResponse's synchronous first send must return
    // would_block rather than wait.
    socket.non_blocking(true, ignored);
    asio::co_spawn(pool_.Get(loop), Serve(std::move(socket), loop), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Serve(tcp::socket socket, size_t loop) {
  LoopState& state = *loops_[loop];
  connections_.fetch_add(1);
  if (open_connections_) open_connections_->Add(1);
  ConnectionState conn;
  conn.socket = &socket;
  conn.got_some = [](const void* p) {
    return static_cast<const beast::http::request_parser<beast::http::string_body>*>(p)->got_some();
  };
  state.connections.insert(&conn);
  size_t served = 0;
  beast::flat_buffer buffer;
  std::string peer;
  {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) peer = ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  for (;;) {
    if (state.draining) break;
    beast::http::request_parser<beast::http::string_body> parser;
    parser.body_limit(options_.max_body_bytes);
    parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    conn.parser = &parser;
    conn.reading = true;
    conn.read_started = std::chrono::steady_clock::now();
    conn.first_byte_seen = {};
    auto [ec, bytes] = co_await beast::http::async_read(socket, buffer, parser, kTuple);
    conn.reading = false;
    if (ec) {
      HttpResponse error;
      if (conn.timed_out) {
        if (!parser.got_some()) break;  // idle keep-alive connection: just close it
        error = HttpResponse::Text(408, "Request timeout: the request did not arrive within " +
                                            std::to_string(options_.read_timeout.count()) + " ms");
      } else if (ec == beast::http::error::body_limit) {
        error = HttpResponse::Text(413, "Request body too large, max size: " +
                                            std::to_string(options_.max_body_bytes) + " bytes");
      } else if (ec == beast::http::error::header_limit) {
        error = HttpResponse::Text(431, "Request header fields too large");
      } else if (ec.category() == beast::http::make_error_code(beast::http::error::bad_target).category() &&
                 ec != beast::http::error::end_of_stream &&
                 ec != beast::http::error::partial_message) {
        error = HttpResponse::Text(400, "Bad Request: " + ec.message());
      } else {
        break;  // closed, reset or cancelled
      }
      if (co_await WriteResponse(socket, error, false)) co_await LingerBeforeClose(socket);
      break;
    }
    // Nothing buffered past this request (the usual case): give the buffer back while the
    // request is handled; a parked blocking query can hold its connection for minutes.
    if (buffer.size() == 0) buffer.shrink_to_fit();
    auto& msg = parser.get();
    HttpRequest request;
    request.method = std::string(msg.method_string());
    request.target = std::string(msg.target());
    request.peer = peer;
    std::string_view target = msg.target();
    size_t qpos = target.find('?');
    auto path = PercentDecode(target.substr(0, qpos), false);
    auto query = QueryParams::Parse(qpos == std::string_view::npos ? "" : target.substr(qpos + 1));
    ++served;
    const bool keep_alive = msg.keep_alive() && !state.draining &&
                            (options_.max_requests_per_connection == 0 ||
                             served < options_.max_requests_per_connection);
    in_flight_.fetch_add(1);
    HttpResponse response;
    if (!path || !query.ok()) {
      response = HttpResponse::Text(400, "Invalid URL escape in request target");
    } else {
      request.path = std::move(*path);
      request.query = std::move(*query);
      for (const auto& field : msg) {
        request.headers[AsciiLower(field.name_string())] = std::string(field.value());
      }
      request.body = std::move(msg.body());
      RequestEnv env{state, socket};
      response = co_await handler_.Handle(request, env);
    }
    bool written = socket.is_open() &&  // closed if the client went away while parked
                   co_await WriteResponse(socket, response, keep_alive && !state.draining);
    in_flight_.fetch_sub(1);
    if (!written || !keep_alive || state.draining) break;
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
  state.connections.erase(&conn);
  connections_.fetch_sub(1);
  if (open_connections_) open_connections_->Add(-1);
}

}  // namespace beacon::http
