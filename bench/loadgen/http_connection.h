// HttpConnection: the client side of one HTTP/1.1 keep-alive connection, for load generation.
//
// A connection writes requests that the caller serialised in advance (so building a request costs
// nothing per send) and parses responses itself: status line, the few headers a benchmark needs
// (Content-Length, Transfer-Encoding: chunked, Connection: close, X-Consul-Index) and the body,
// which is skipped in place unless the caller asks to keep it. Bytes are read into one reusable
// buffer that grows only when a response head does not fit, so a steady closed loop allocates
// nothing. Chunked bodies can also be consumed chunk by chunk, which is how etcd's JSON gateway
// streams watch events.
//
// Every operation is an Asio coroutine returning an error_code (never throwing); a malformed
// response yields errc::protocol_error and leaves the connection unusable (Close() it).
//
// Thread safety: a connection belongs to the loop that runs its coroutines; one operation at a
// time.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::bench {

using ErrorCode = boost::system::error_code;

struct HttpResponse {
  int status = 0;
  int64_t content_length = -1;  // -1: none given
  bool chunked = false;
  bool close = false;         // "Connection: close": the server ends the connection after it
  uint64_t consul_index = 0;  // X-Consul-Index; 0 when absent
  size_t head_bytes = 0;
  size_t body_bytes = 0;  // decoded body bytes (chunk framing excluded)
  std::string body;       // filled only when the read was asked to keep the body
};

// Serialises a request. `body` empty means no Content-Length unless the method is PUT/POST.
std::string BuildRequest(std::string_view method, std::string_view target, std::string_view host,
                         std::string_view body = {},
                         std::string_view content_type = "application/json");

class HttpConnection {
 public:
  // `buffer_bytes` is the initial read buffer; large for bulk readers, small for many watchers.
  HttpConnection(boost::asio::any_io_executor executor, size_t buffer_bytes);
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // With `source` (a loopback address, any port), connects from it: one client address has only
  // ~28,000 ephemeral ports towards one server port, so tens of thousands of watchers need several.
  boost::asio::awaitable<ErrorCode> Connect(
      const boost::asio::ip::tcp::endpoint& endpoint,
      const std::optional<boost::asio::ip::address>& source = std::nullopt);
  // Writes the whole of `request`. REQUIRES: `request` outlives the returned coroutine.
  boost::asio::awaitable<ErrorCode> Send(std::string_view request);
  // Reads a status line and headers into *response (reset first).
  boost::asio::awaitable<ErrorCode> ReadHead(HttpResponse* response);
  // Reads the body announced by the head (Content-Length or chunked). Without either, a 1xx/204/
  // 304 has no body and anything else is read until the server closes.
  boost::asio::awaitable<ErrorCode> ReadBody(HttpResponse* response, bool keep_body);
  // Send + ReadHead + ReadBody.
  boost::asio::awaitable<ErrorCode> RoundTrip(std::string_view request, HttpResponse* response,
                                              bool keep_body = false);
  // For a chunked body read incrementally: reads exactly one chunk and appends its data to *out
  // (and counts it in response->body_bytes). Returns boost::asio::error::eof after the last
  // (zero-size) chunk and its trailer.
  boost::asio::awaitable<ErrorCode> ReadChunk(HttpResponse* response, std::string* out);

  void Close();
  bool is_open() const { return socket_.is_open(); }

 private:
  // Reads more bytes after end_, compacting or growing the buffer first when it is full.
  boost::asio::awaitable<ErrorCode> Fill();
  // Reads until a CRLF-terminated line is buffered; *line excludes the CRLF.
  boost::asio::awaitable<ErrorCode> ReadLine(std::string_view* line);
  // Consumes `n` bytes, appending them to *out when it is not null.
  boost::asio::awaitable<ErrorCode> Consume(uint64_t n, std::string* out);

  boost::asio::ip::tcp::socket socket_;
  std::vector<char> buf_;
  size_t begin_ = 0;  // first unread byte
  size_t end_ = 0;    // one past the last buffered byte
};

}  // namespace beacon::bench
