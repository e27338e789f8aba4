// HttpConnection: one blocking HTTP/1.1 connection to one etcd member, every step bounded.
//
// Plain synchronous Asio calls cannot time out, so each step (connect, write, read) is started
// as an async operation with a beast::tcp_stream deadline and driven to completion by running
// the connection's private io_context on the calling thread. The caller's thread is therefore
// never an I/O loop thread of the servers (client.h's threading rule).
//
// Thread rule: one thread uses a connection at a time; only Stop() may be called from another
// thread. Internal to src/etcd.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace beacon::etcd::internal {

struct Endpoint {
  std::string url;   // as configured, for messages ("http://127.0.0.1:2379")
  std::string host;  // "127.0.0.1", "::1", "etcd-0.local"
  std::string port;  // "2379"
  uint16_t port_number = 0;
  std::string host_header;  // "127.0.0.1:2379" / "[::1]:2379"
};

// Accepts "http://host:port", "host:port" and "http://[v6]:port" with an optional trailing "/";
// the port defaults to 2379. InvalidArgument for https and anything else.
Result<Endpoint> ParseEndpoint(std::string_view url);

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using ResponseParser = boost::beast::http::response_parser<boost::beast::http::string_body>;

class HttpConnection {
 public:
  explicit HttpConnection(Endpoint endpoint);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Each returns the step's error: beast::error::timeout when the deadline passed,
  // operation_aborted after Stop(). After any error the connection must be discarded.
  boost::beast::error_code Connect(std::chrono::milliseconds timeout);
  boost::beast::error_code Write(Request& request, std::chrono::milliseconds timeout);
  // A whole response.
  boost::beast::error_code Read(ResponseParser& parser, std::chrono::milliseconds timeout);
  // Only the header; then ReadSome() for the body as it arrives.
  boost::beast::error_code ReadHeader(ResponseParser& parser, std::chrono::milliseconds timeout);
  // Whatever body bytes arrive next (at least one byte or an error). No deadline when `timeout`
  // is empty: for streams that are idle for minutes; Stop() still ends the wait.
  boost::beast::error_code ReadSome(ResponseParser& parser,
                                    std::optional<std::chrono::milliseconds> timeout);

  // For a pooled keep-alive connection before reuse: false when the peer has closed it (or sent
  // bytes nobody asked for) while it sat idle. Never blocks.
  bool LooksReusable();

  // Turns on TCP keep-alive probes (a long-lived watch notices a vanished host within a minute
  // instead of the kernel default of two hours).
  void EnableTcpKeepAlive();

  // Thread-safe: the current or next step returns operation_aborted promptly.
  void Stop();

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  // Runs the io_context until the started operation completes; `ec` is still would_block when
  // Stop() interrupted it, which is reported as operation_aborted.
  boost::beast::error_code Run(boost::beast::error_code& ec);

  Endpoint endpoint_;
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::atomic<bool> stopped_{false};
};

}  // namespace beacon::etcd::internal
