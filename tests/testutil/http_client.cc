#include "testutil/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/http/write.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"

namespace beacon::testutil {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint64_t kMaxBodyBytes = 256ULL << 20;  // generous: some tests list many services

}  // namespace

std::string Response::Header(std::string_view name) const {
  auto it = headers.find(AsciiLower(name));
  return it == headers.end() ? std::string() : it->second;
}

std::string Response::ToString() const {
  if (status == 0) {
    return "error: " + error;
  }
  return std::to_string(status) + " " + body;
}

// One TCP connection with its own io_context. Each step runs as an async operation with a
// deadline (beast::tcp_stream::expires_after) and is driven to completion by io_context::run on
// the calling thread: plain synchronous Asio calls cannot time out, and a test must never hang.
class HttpClient::Connection {
 public:
  explicit Connection(std::chrono::milliseconds timeout) : stream_(ioc_), timeout_(timeout) {}

  beast::error_code Connect(const std::string& host, uint16_t port) {
    beast::error_code ec;
    std::vector<tcp::endpoint> endpoints;
    asio::ip::address addr = asio::ip::make_address(host, ec);
    if (!ec) {
      endpoints.emplace_back(addr, port);
    } else {
      // Names are only ever "localhost"-like in tests, so a synchronous lookup cannot stall.
      tcp::resolver resolver(ioc_);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec) {
        return ec;
      }
      for (const auto& entry : results) {
        endpoints.push_back(entry.endpoint());
      }
    }
    ec = asio::error::would_block;
    stream_.expires_after(timeout_);
    stream_.async_connect(endpoints, [&ec](beast::error_code e, const tcp::endpoint&) { ec = e; });
    Run();
    if (!ec) {
      stream_.socket().set_option(tcp::no_delay(true), ec);
      ec = {};
    }
    return ec;
  }

  beast::error_code Write(http::request<http::string_body>& req) {
    beast::error_code ec = asio::error::would_block;
    stream_.expires_after(timeout_);
    http::async_write(stream_, req, [&ec](beast::error_code e, std::size_t) { ec = e; });
    Run();
    return ec;
  }

  beast::error_code Read(http::response_parser<http::string_body>& parser) {
    beast::error_code ec = asio::error::would_block;
    stream_.expires_after(timeout_);
    http::async_read(stream_, buffer_, parser, [&ec](beast::error_code e, std::size_t) { ec = e; });
    Run();
    return ec;
  }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::chrono::milliseconds timeout_;
};

HttpClient::HttpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

HttpClient::~HttpClient() = default;

Response HttpClient::Request(std::string method, std::string target, std::string body,
                             std::map<std::string, std::string> headers) {
  http::request<http::string_body> req;
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(target);
  req.version(11);
  req.set(http::field::host, host_ + ":" + std::to_string(port_));
  req.set(http::field::user_agent, "beacon-testutil");
  for (const auto& [name, value] : headers) {
    req.set(name, value);
  }
  req.body() = std::move(body);
  req.prepare_payload();

  Response out;
  // A reused keep-alive connection may have been closed by the server while idle; that shows up
  // as a failed write or a read that ends before any response. Retry such a request once on a new
  // connection. A fresh connection that fails is a real error and is reported as is.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = conn_ != nullptr;
    if (!conn_) {
      auto conn = std::make_unique<Connection>(timeout_);
      if (beast::error_code ec = conn->Connect(host_, port_)) {
        out.error = "connect " + host_ + ":" + std::to_string(port_) + ": " + ec.message();
        return out;
      }
      conn_ = std::move(conn);
    }
    if (beast::error_code ec = conn_->Write(req)) {
      conn_.reset();
      out.error = "write: " + ec.message();
      if (reused && ec != beast::error::timeout) {
        continue;
      }
      return out;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    if (beast::error_code ec = conn_->Read(parser)) {
      conn_.reset();
      out.error = "read: " + ec.message();
      const bool closed_before_reply =
          !parser.got_some() && (ec == http::error::end_of_stream ||
                                 ec == asio::error::connection_reset || ec == asio::error::eof);
      if (reused && closed_before_reply) {
        continue;
      }
      return out;
    }
    http::response<http::string_body> res = parser.release();
    out.error.clear();
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name = AsciiLower(field.name_string());
      auto [it, inserted] = out.headers.emplace(name, std::string(field.value()));
      if (!inserted) {
        it->second += ", ";
        it->second += field.value();
      }
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) {
      conn_.reset();
    }
    return out;
  }
  return out;
}

std::future<Response> HttpClient::RequestAsync(std::string method, std::string target,
                                               std::string body,
                                               std::map<std::string, std::string> headers) const {
  return std::async(
      std::launch::async,
      [host = host_, port = port_, timeout = timeout_, method = std::move(method),
       target = std::move(target), body = std::move(body), headers = std::move(headers)]() mutable {
        HttpClient client(std::move(host), port, timeout);
        return client.Request(std::move(method), std::move(target), std::move(body),
                              std::move(headers));
      });
}

Response HttpGet(uint16_t port, std::string target) {
  HttpClient client("127.0.0.1", port);
  return client.Request("GET", std::move(target));
}

Response HttpPut(uint16_t port, std::string target, std::string body) {
  HttpClient client("127.0.0.1", port);
  return client.Request("PUT", std::move(target), std::move(body));
}

}  // namespace beacon::testutil
