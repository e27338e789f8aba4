// The built-in HttpTransport: HTTP/1.1 with keep-alive over Boost.Beast.
//
// Each pooled Connection owns a private io_context and a tcp_stream. A request runs as a coroutine
// on that io_context, driven by the calling thread (io_context::run), so the caller blocks while
// the I/O itself uses Asio's timeouts: tcp_stream expires at the request's deadline, which cancels
// whatever step is in flight. A stop token is turned into a handler posted onto the same
// io_context, which closes the socket; because the handler may still be queued after run()
// returns, a connection that saw a stop is never reused.
//
// A connection taken from the idle pool may have been closed by the agent meanwhile. When the
// exchange on such a connection fails before any byte of a response arrived, the request is sent
// once more on a fresh connection (Go's net/http does the same for requests that were never
// answered).
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <mutex>
#include <optional>
#include <vector>

#include "beacon/json.h"
#include "beacon/transport.h"
#include "beacon/version.h"

namespace beacon::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Health answers of large services run to megabytes; anything past this is not an agent.
constexpr uint64_t kMaxBodyBytes = 64ull << 20;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// How one exchange ended.
struct Outcome {
  std::optional<HttpResponse> response;
  Status error;
  bool reusable = false;  // the connection may serve another request
  bool stale = false;     // failed on a reused connection before any response byte
};

class Connection {
 public:
  explicit Connection(const HttpAddress& address) : address_(address), stream_(ioc_) {}

  Outcome Exchange(const HttpRequest& request, std::stop_token stop) {
    Outcome outcome;
    cancelled_ = false;
    ioc_.restart();
    asio::co_spawn(ioc_, Run(this, request, &outcome), asio::detached);
    {
      std::stop_callback on_stop(stop, [this] {
        asio::post(ioc_, [this] {
          cancelled_ = true;
          beast::error_code ignored;
          resolver_.cancel();
          stream_.socket().cancel(ignored);
          stream_.socket().close(ignored);
        });
      });
      ioc_.run();
    }
    // stop_requested() is set before any stop callback runs, and ~stop_callback waited for a
    // running one; so a cancel handler can only be left queued if this is true.
    if (stop.stop_requested()) {
      outcome.reusable = false;
      if (!outcome.response) {
        outcome.error = CancelledError(request.method + " " + request.target + ": cancelled");
      }
    }
    if (!outcome.reusable) {
      beast::error_code ignored;
      stream_.socket().close(ignored);
      connected_ = false;
    }
    return outcome;
  }

 private:
  static asio::awaitable<void> Run(Connection* self, HttpRequest request, Outcome* outcome) {
    const auto deadline = std::chrono::steady_clock::now() + request.timeout;
    const std::string what = request.method + " " + request.target;
    const bool reused = self->connected_;
    auto fail = [&](beast::error_code ec, std::string_view step) {
      if (self->cancelled_) {
        outcome->error = CancelledError(what + ": cancelled");
      } else if (ec == beast::error::timeout) {
        outcome->error =
            DeadlineExceededError(what + ": no answer from " + self->address_.ToString() +
                                  " within " + FormatDuration(request.timeout));
      } else {
        outcome->error = UnavailableError(what + ": " + std::string(step) + " " +
                                          self->address_.ToString() + ": " + ec.message());
      }
      self->connected_ = false;
    };

    if (!self->connected_) {
      beast::error_code ec;
      auto ip = asio::ip::make_address(self->address_.host, ec);
      std::vector<tcp::endpoint> endpoints;
      if (!ec) {
        endpoints.emplace_back(ip, self->address_.port);
      } else {
        // A name: resolve it, bounded by the same deadline.
        asio::steady_timer timer(self->ioc_);
        timer.expires_at(deadline);
        timer.async_wait([self](beast::error_code e) {
          if (!e) {
            self->resolver_.cancel();
          }
        });
        auto [rec, results] = co_await self->resolver_.async_resolve(
            self->address_.host, std::to_string(self->address_.port), kTuple);
        timer.cancel();
        if (rec) {
          fail(rec == asio::error::operation_aborted && !self->cancelled_
                   ? beast::error_code(beast::error::timeout)
                   : rec,
               "resolve");
          co_return;
        }
        for (const auto& r : results) {
          endpoints.push_back(r.endpoint());
        }
      }
      if (self->cancelled_) {
        fail(asio::error::operation_aborted, "connect");
        co_return;
      }
      self->stream_.expires_at(deadline);
      auto [cec, endpoint] = co_await self->stream_.async_connect(endpoints, kTuple);
      if (cec) {
        fail(cec, "connect");
        co_return;
      }
      self->stream_.socket().set_option(tcp::no_delay(true), ec);
      self->connected_ = true;
      self->buffer_.clear();
    }

    http::request<http::string_body> req;
    req.method(http::string_to_verb(request.method));
    if (req.method() == http::verb::unknown) {
      req.method_string(request.method);
    }
    req.target(request.target);
    req.version(11);
    req.set(http::field::host, self->address_.ToString());
    req.set(http::field::user_agent, std::string("beacon-client/") + kVersion);
    for (const auto& [name, value] : request.headers) {
      req.set(name, value);
    }
    req.body() = request.body;
    req.prepare_payload();

    self->stream_.expires_at(deadline);
    auto [wec, written] = co_await http::async_write(self->stream_, req, kTuple);
    (void)written;
    if (wec) {
      outcome->stale = reused && !self->cancelled_ && wec != beast::error::timeout;
      fail(wec, "write to");
      co_return;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    auto [rec, read] = co_await http::async_read(self->stream_, self->buffer_, parser, kTuple);
    (void)read;
    if (rec) {
      outcome->stale = reused && !self->cancelled_ && !parser.got_some() &&
                       (rec == http::error::end_of_stream || rec == asio::error::eof ||
                        rec == asio::error::connection_reset);
      fail(rec, "read from");
      co_return;
    }
    auto& res = parser.get();
    HttpResponse response;
    response.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name = Lower(field.name_string());
      auto [it, inserted] = response.headers.emplace(name, std::string(field.value()));
      if (!inserted) {
        it->second += ", ";
        it->second += field.value();
      }
    }
    response.body = std::move(res.body());
    outcome->reusable = res.keep_alive();
    outcome->response = std::move(response);
  }

  HttpAddress address_;
  asio::io_context ioc_{1};
  tcp::resolver resolver_{ioc_};
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool connected_ = false;  // touched only on the thread running ioc_
  bool cancelled_ = false;  // ditto
};

class BeastTransport final : public HttpTransport {
 public:
  BeastTransport(HttpAddress address, size_t max_idle)
      : address_(std::move(address)), max_idle_(max_idle) {}

  Result<HttpResponse> RoundTrip(const HttpRequest& request, std::stop_token stop) override {
    if (stop.stop_requested()) {
      return CancelledError(request.method + " " + request.target + ": cancelled");
    }
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<Connection> conn = TakeIdle();
      const bool pooled = conn != nullptr;
      if (!conn) {
        conn = std::make_unique<Connection>(address_);
      }
      Outcome outcome = conn->Exchange(request, stop);
      if (outcome.response) {
        if (outcome.reusable) {
          PutIdle(std::move(conn));
        }
        return std::move(*outcome.response);
      }
      if (pooled && outcome.stale && attempt == 0) {
        continue;  // the agent closed the idle connection: once more on a new one
      }
      return outcome.error;
    }
  }

 private:
  std::unique_ptr<Connection> TakeIdle() {
    std::lock_guard lock(mu_);
    if (idle_.empty()) {
      return nullptr;
    }
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return conn;
  }

  void PutIdle(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mu_);
    if (idle_.size() < max_idle_) {
      idle_.push_back(std::move(conn));
    }
  }

  const HttpAddress address_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
};

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? std::string() : it->second;
}

std::shared_ptr<HttpTransport> MakeHttpTransport(HttpAddress address, size_t max_idle_connections) {
  return std::make_shared<BeastTransport>(std::move(address), max_idle_connections);
}

}  // namespace beacon::client
