#include "demo/backend.h"

#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace beacon::demo {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct State {
  BackendOptions options;
  std::atomic<bool> healthy{true};
  std::atomic<uint64_t> served{0};
};

http::response<http::string_body> Handle(State& state,
                                         const http::request<http::string_body>& req) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = target.size() > path.size() ? target.substr(path.size() + 1) : "";
  if (path == "/health") {
    bool ok = state.healthy.load();
    res.result(ok ? http::status::ok : http::status::service_unavailable);
    res.body() = ok ? "ok\n" : "unhealthy\n";
  } else if (path == "/admin/health") {
    if (query == "fail") {
      state.healthy = false;
    } else if (query == "ok") {
      state.healthy = true;
    }
    res.result(http::status::ok);
    res.body() = state.healthy ? "healthy\n" : "failing\n";
  } else {
    uint64_t n = ++state.served;
    res.result(http::status::ok);
    res.body() = "hello from " + state.options.id + " (" + state.options.tags + "), request #" +
                 std::to_string(n) + "\n";
  }
  res.prepare_payload();
  return res;
}

asio::awaitable<void> Session(tcp::socket socket, State* state) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    stream.expires_after(std::chrono::seconds(30));
    auto [rec, read] = co_await http::async_read(stream, buffer, req, kTuple);
    (void)read;
    if (rec) {
      break;  // closed, timed out or garbage: drop the connection
    }
    auto res = Handle(*state, req);
    auto [wec, written] = co_await http::async_write(stream, res, kTuple);
    (void)written;
    if (wec || !res.keep_alive()) {
      break;
    }
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> Listen(tcp::acceptor acceptor, State* state) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec == asio::error::operation_aborted) {
      co_return;
    }
    if (!ec) {
      asio::co_spawn(acceptor.get_executor(), Session(std::move(socket), state), asio::detached);
    }
  }
}

}  // namespace

int RunBackend(const BackendOptions& options) {
  State state;
  state.options = options;
  asio::io_context ioc(1);
  beast::error_code ec;
  tcp::acceptor acceptor(ioc);
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), options.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    // A restarted backend takes its old port back at once.
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    std::fprintf(stderr, "demo-backend %s: cannot listen on 127.0.0.1:%u: %s\n", options.id.c_str(),
                 static_cast<unsigned>(options.port), ec.message().c_str());
    return 1;
  }
  uint16_t port = acceptor.local_endpoint().port();
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });
  asio::co_spawn(ioc, Listen(std::move(acceptor), &state), asio::detached);

  // The demo holds our stdin open; EOF means it is gone, so we go too.
  // Nothing needs flushing then, so leave at once (the thread must not touch ioc, which may be
  // gone by the time EOF arrives).
  std::thread stdin_watch([] {
    char c;
    while (read(STDIN_FILENO, &c, 1) > 0) {
    }
    std::_Exit(0);
  });
  stdin_watch.detach();  // blocked in read() for the life of the process

  std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(port));
  std::fflush(stdout);
  ioc.run();
  return 0;
}

}  // namespace beacon::demo
