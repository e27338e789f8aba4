#include "etcd/http_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <utility>
#include <vector>

namespace beacon::etcd::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Result<Endpoint> ParseEndpoint(std::string_view url) {
  Endpoint ep;
  ep.url = std::string(url);
  std::string_view rest = url;
  if (const size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
    if (rest.substr(0, scheme) != "http") {
      return InvalidArgument("etcd endpoint \"" + ep.url + "\": only http:// is supported");
    }
    rest.remove_prefix(scheme + 3);
  }
  while (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return InvalidArgument("etcd endpoint \"" + ep.url + "\": expected http://host:port");
  }
  std::string_view port = "2379";
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgument("etcd endpoint \"" + ep.url + "\": unterminated IPv6 address");
    }
    ep.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return InvalidArgument("etcd endpoint \"" + ep.url + "\": expected :port");
      }
      port = after.substr(1);
    }
  } else {
    const size_t colon = rest.rfind(':');
    ep.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
    }
  }
  unsigned port_number = 0;
  const auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), port_number);
  if (ep.host.empty() || err != std::errc() || end != port.data() + port.size() ||
      port_number == 0 || port_number > 65535) {
    return InvalidArgument("etcd endpoint \"" + ep.url + "\": expected http://host:port");
  }
  ep.port_number = static_cast<uint16_t>(port_number);
  ep.port = std::string(port);
  const bool v6 = ep.host.find(':') != std::string::npos;
  ep.host_header = (v6 ? "[" + ep.host + "]" : ep.host) + ":" + ep.port;
  return ep;
}

HttpConnection::HttpConnection(Endpoint endpoint) : endpoint_(std::move(endpoint)), stream_(ioc_) {}

HttpConnection::~HttpConnection() = default;

beast::error_code HttpConnection::Run(beast::error_code& ec) {
  ioc_.restart();
  // Checked after restart(): Stop() sets the flag before io_context::stop(), and stop/restart
  // are ordered by the io_context's mutex, so either we see the flag here or run() sees the stop.
  if (stopped_.load()) {
    return asio::error::operation_aborted;
  }
  ioc_.run();
  if (ec == asio::error::would_block) {
    return asio::error::operation_aborted;  // stopped with the operation still pending
  }
  return ec;
}

beast::error_code HttpConnection::Connect(std::chrono::milliseconds timeout) {
  beast::error_code ec;
  std::vector<tcp::endpoint> addrs;
  const uint16_t port = endpoint_.port_number;
  asio::ip::address addr = asio::ip::make_address(endpoint_.host, ec);
  if (!ec) {
    addrs.emplace_back(addr, port);
  } else {
    // A name: resolve synchronously. This cannot be bounded by `timeout`, but it runs on the
    // caller's (non-I/O) thread and etcd endpoints are normally IP literals or local names.
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(endpoint_.host, endpoint_.port, ec);
    if (ec) {
      return ec;
    }
    for (const auto& entry : results) {
      addrs.push_back(entry.endpoint());
    }
  }
  ec = asio::error::would_block;
  stream_.expires_after(timeout);
  stream_.async_connect(addrs, [&ec](beast::error_code e, const tcp::endpoint&) { ec = e; });
  ec = Run(ec);
  if (!ec) {
    beast::error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
  }
  return ec;
}

beast::error_code HttpConnection::Write(Request& request, std::chrono::milliseconds timeout) {
  beast::error_code ec = asio::error::would_block;
  stream_.expires_after(timeout);
  http::async_write(stream_, request, [&ec](beast::error_code e, std::size_t) { ec = e; });
  return Run(ec);
}

beast::error_code HttpConnection::Read(ResponseParser& parser, std::chrono::milliseconds timeout) {
  beast::error_code ec = asio::error::would_block;
  stream_.expires_after(timeout);
  http::async_read(stream_, buffer_, parser, [&ec](beast::error_code e, std::size_t) { ec = e; });
  return Run(ec);
}

beast::error_code HttpConnection::ReadHeader(ResponseParser& parser,
                                             std::chrono::milliseconds timeout) {
  beast::error_code ec = asio::error::would_block;
  stream_.expires_after(timeout);
  http::async_read_header(stream_, buffer_, parser,
                          [&ec](beast::error_code e, std::size_t) { ec = e; });
  return Run(ec);
}

beast::error_code HttpConnection::ReadSome(ResponseParser& parser,
                                           std::optional<std::chrono::milliseconds> timeout) {
  beast::error_code ec = asio::error::would_block;
  if (timeout) {
    stream_.expires_after(*timeout);
  } else {
    stream_.expires_never();
  }
  http::async_read_some(stream_, buffer_, parser,
                        [&ec](beast::error_code e, std::size_t) { ec = e; });
  return Run(ec);
}

bool HttpConnection::LooksReusable() {
  if (buffer_.size() != 0 || stopped_.load()) {
    return false;
  }
  tcp::socket& socket = stream_.socket();
  beast::error_code ec;
  socket.non_blocking(true, ec);
  if (ec) {
    return false;
  }
  char byte = 0;
  const size_t n = socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
  beast::error_code ignored;
  socket.non_blocking(false, ignored);
  // would_block: nothing pending, the peer still holds the connection open. Anything else
  // (EOF, a reset, unexpected bytes) means the peer gave up on it.
  return n == 0 && ec == asio::error::would_block;
}

void HttpConnection::EnableTcpKeepAlive() {
  using KeepIdle = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPIDLE>;
  using KeepInterval = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPINTVL>;
  using KeepCount = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPCNT>;
  tcp::socket& socket = stream_.socket();
  beast::error_code ignored;  // best effort: the watch still works without probes
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  socket.set_option(KeepIdle(15), ignored);
  socket.set_option(KeepInterval(5), ignored);
  socket.set_option(KeepCount(3), ignored);
}

void HttpConnection::Stop() {
  stopped_.store(true);
  ioc_.stop();
}

}  // namespace beacon::etcd::internal
