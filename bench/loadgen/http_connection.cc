#include "loadgen/http_connection.h"

#include <netinet/in.h>

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

namespace beacon::bench {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// A response head or chunk-size line longer than this is a protocol error, not a reason to grow.
constexpr size_t kMaxBufferBytes = size_t{16} << 20;

ErrorCode ProtocolError() { return make_error_code(boost::system::errc::protocol_error); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y && (x | 0x20) != (y | 0x20)) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool ParseUnsigned(std::string_view s, int base, uint64_t* out) {
  if (s.empty()) {
    return false;
  }
  uint64_t v = 0;
  for (char c : s) {
    int d = 0;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return false;
    }
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      return false;
    }
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

}  // namespace

std::string BuildRequest(std::string_view method, std::string_view target, std::string_view host,
                         std::string_view body, std::string_view content_type) {
  std::string r = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: beacon_loadgen\r\n",
                              method, target, host);
  if (!body.empty() || method == "PUT" || method == "POST") {
    r += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", content_type, body.size());
  }
  r += "\r\n";
  r += body;
  return r;
}

HttpConnection::HttpConnection(asio::any_io_executor executor, size_t buffer_bytes)
    : socket_(std::move(executor)), buf_(std::max<size_t>(buffer_bytes, 1024)) {}

asio::awaitable<ErrorCode> HttpConnection::Connect(const tcp::endpoint& endpoint,
                                                   const std::optional<asio::ip::address>& source) {
  Close();
  begin_ = end_ = 0;
  if (source) {
    ErrorCode ec;
    socket_.open(endpoint.protocol(), ec);
    if (!ec) {
      // The port is picked at connect() from the whole address pair, not reserved at bind().
      const int one = 1;
      ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      socket_.bind(tcp::endpoint(*source, 0), ec);
    }
    if (ec) {
      Close();
      co_return ec;
    }
  }
  auto [ec] = co_await socket_.async_connect(endpoint, kTuple);
  if (ec) {
    Close();
    co_return ec;
  }
  ErrorCode ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  co_return ErrorCode{};
}

asio::awaitable<ErrorCode> HttpConnection::Send(std::string_view request) {
  auto [ec, n] =
      co_await asio::async_write(socket_, asio::buffer(request.data(), request.size()), kTuple);
  co_return ec;
}

void HttpConnection::Close() {
  if (socket_.is_open()) {
    ErrorCode ignored;
    socket_.close(ignored);
  }
}

asio::awaitable<ErrorCode> HttpConnection::Fill() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  }
  if (end_ == buf_.size()) {
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    } else if (buf_.size() < kMaxBufferBytes) {
      buf_.resize(buf_.size() * 2);
    } else {
      co_return ProtocolError();
    }
  }
  auto [ec, n] = co_await socket_.async_read_some(
      asio::buffer(buf_.data() + end_, buf_.size() - end_), kTuple);
  if (ec) {
    co_return ec;
  }
  end_ += n;
  co_return ErrorCode{};
}

asio::awaitable<ErrorCode> HttpConnection::ReadLine(std::string_view* line) {
  size_t scanned = 0;  // relative to begin_, which Fill() may move when it compacts
  for (;;) {
    std::string_view avail(buf_.data() + begin_, end_ - begin_);
    const size_t pos = avail.find("\r\n", scanned);
    if (pos != std::string_view::npos) {
      *line = avail.substr(0, pos);
      begin_ += pos + 2;
      co_return ErrorCode{};
    }
    // Rescan the last byte: it may be the CR of a CRLF split across reads.
    scanned = avail.empty() ? 0 : avail.size() - 1;
    if (ErrorCode ec = co_await Fill()) {
      co_return ec;
    }
  }
}

asio::awaitable<ErrorCode> HttpConnection::ReadHead(HttpResponse* r) {
  r->status = 0;
  r->content_length = -1;
  r->chunked = false;
  r->close = false;
  r->consul_index = 0;
  r->head_bytes = 0;
  r->body_bytes = 0;
  r->body.clear();
  // Find the blank line first so the header lines below are parsed from one buffered view.
  size_t scanned = 0;
  size_t head_len = 0;
  for (;;) {
    std::string_view avail(buf_.data() + begin_, end_ - begin_);
    size_t pos = avail.find("\r\n\r\n", scanned);
    if (pos != std::string_view::npos) {
      head_len = pos + 4;
      break;
    }
    scanned = avail.size() >= 3 ? avail.size() - 3 : 0;
    if (ErrorCode ec = co_await Fill()) {
      co_return ec;
    }
  }
  std::string_view head(buf_.data() + begin_, head_len - 2);  // keep the last line's CRLF
  begin_ += head_len;
  r->head_bytes = head_len;

  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
    co_return ProtocolError();
  }
  uint64_t status = 0;
  if (!ParseUnsigned(status_line.substr(9, 3), 10, &status)) {
    co_return ProtocolError();
  }
  r->status = static_cast<int>(status);
  const bool http10 = status_line.substr(5, 3) == "1.0";
  r->close = http10;
  while (!head.empty()) {
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      uint64_t n = 0;
      if (!ParseUnsigned(value, 10, &n)) {
        co_return ProtocolError();
      }
      r->content_length = static_cast<int64_t>(n);
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      r->chunked = value.size() >= 7 && EqualsIgnoreCase(value.substr(value.size() - 7), "chunked");
    } else if (EqualsIgnoreCase(name, "connection")) {
      if (EqualsIgnoreCase(value, "close")) {
        r->close = true;
      } else if (EqualsIgnoreCase(value, "keep-alive")) {
        r->close = false;
      }
    } else if (EqualsIgnoreCase(name, "x-consul-index")) {
      uint64_t n = 0;
      if (ParseUnsigned(value, 10, &n)) {
        r->consul_index = n;
      }
    }
  }
  co_return ErrorCode{};
}

asio::awaitable<ErrorCode> HttpConnection::Consume(uint64_t n, std::string* out) {
  while (n > 0) {
    if (begin_ == end_) {
      // Read straight into the whole buffer: a large body streams through it.
      if (ErrorCode ec = co_await Fill()) {
        co_return ec;
      }
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n, end_ - begin_));
    if (out != nullptr) {
      out->append(buf_.data() + begin_, take);
    }
    begin_ += take;
    n -= take;
  }
  co_return ErrorCode{};
}

asio::awaitable<ErrorCode> HttpConnection::ReadChunk(HttpResponse* r, std::string* out) {
  std::string_view line;
  if (ErrorCode ec = co_await ReadLine(&line)) {
    co_return ec;
  }
  const size_t semi = line.find(';');
  uint64_t size = 0;
  if (!ParseUnsigned(Trim(line.substr(0, semi)), 16, &size)) {
    co_return ProtocolError();
  }
  if (size == 0) {
    // Trailer fields, if any, end with an empty line.
    for (;;) {
      if (ErrorCode ec = co_await ReadLine(&line)) {
        co_return ec;
      }
      if (line.empty()) {
        co_return asio::error::eof;
      }
    }
  }
  if (ErrorCode ec = co_await Consume(size, out)) {
    co_return ec;
  }
  r->body_bytes += size;
  if (ErrorCode ec = co_await ReadLine(&line)) {
    co_return ec;
  }
  co_return line.empty() ? ErrorCode{} : ProtocolError();
}

asio::awaitable<ErrorCode> HttpConnection::ReadBody(HttpResponse* r, bool keep_body) {
  std::string* out = keep_body ? &r->body : nullptr;
  if (r->chunked) {
    for (;;) {
      ErrorCode ec = co_await ReadChunk(r, out);
      if (ec == asio::error::eof) {
        co_return ErrorCode{};
      }
      if (ec) {
        co_return ec;
      }
    }
  }
  if (r->content_length >= 0) {
    r->body_bytes = static_cast<size_t>(r->content_length);
    co_return co_await Consume(static_cast<uint64_t>(r->content_length), out);
  }
  if (r->status < 200 || r->status == 204 || r->status == 304) {
    co_return ErrorCode{};
  }
  // No framing: the body runs to the end of the connection.
  r->close = true;
  for (;;) {
    if (begin_ < end_) {
      r->body_bytes += end_ - begin_;
      if (out != nullptr) {
        out->append(buf_.data() + begin_, end_ - begin_);
      }
      begin_ = end_;
    }
    ErrorCode ec = co_await Fill();
    if (ec == asio::error::eof) {
      co_return ErrorCode{};
    }
    if (ec) {
      co_return ec;
    }
  }
}

asio::awaitable<ErrorCode> HttpConnection::RoundTrip(std::string_view request, HttpResponse* r,
                                                     bool keep_body) {
  if (ErrorCode ec = co_await Send(request)) {
    co_return ec;
  }
  if (ErrorCode ec = co_await ReadHead(r)) {
    co_return ec;
  }
  co_return co_await ReadBody(r, keep_body);
}

}  // namespace beacon::bench
