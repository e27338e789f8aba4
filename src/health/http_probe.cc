#include "health/http_probe.h"

#include <cctype>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <fmt/format.h>

#include "common/strings.h"

namespace beacon::health {

namespace asio = boost::asio;
namespace http = boost::beast::http;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Response heads larger than this are garbage for a health check (Go allows 1 MiB; real health
// endpoints send a few hundred bytes).
constexpr size_t kMaxHeaderBytes = 64 * 1024;

bool HasCrLf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool HasHeader(const std::map<std::string, std::vector<std::string>>& headers,
               std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name) && !v.empty()) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string BuildHttpRequest(const HttpUrl& url, std::string_view method,
                             const std::map<std::string, std::vector<std::string>>& headers,
                             std::string_view body, bool keep_alive) {
  std::string host = url.host_header;
  for (const auto& [k, v] : headers) {
    // Go sends a Host header given by the user as the request's Host (Consul relies on it).
    if (EqualsIgnoreCase(k, "Host") && !v.empty() && !HasCrLf(v.front())) {
      host = v.front();
    }
  }
  std::string r;
  r.reserve(256 + body.size());
  r += method;
  r += ' ';
  r += url.target;
  r += " HTTP/1.1\r\nHost: ";
  r += host;
  r += "\r\n";
  for (const auto& [name, values] : headers) {
    if (EqualsIgnoreCase(name, "Host") || EqualsIgnoreCase(name, "Content-Length") ||
        EqualsIgnoreCase(name, "Connection") || name.empty() || HasCrLf(name) ||
        name.find(':') != std::string::npos) {
      continue;  // set by us; a CR/LF would let a definition inject its own request lines
    }
    for (const std::string& value : values) {
      if (HasCrLf(value)) {
        continue;
      }
      r += name;
      r += ": ";
      r += value;
      r += "\r\n";
    }
  }
  if (!HasHeader(headers, "User-Agent")) {
    r += "User-Agent: Consul Health Check\r\n";
  }
  if (!HasHeader(headers, "Accept")) {
    r += "Accept: text/plain, text/*, */*\r\n";
  }
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    r += fmt::format("Content-Length: {}\r\n", body.size());
  }
  if (!keep_alive) {
    r += "Connection: close\r\n";
  }
  r += "\r\n";
  r += body;
  return r;
}

bool HttpKeepAliveAllowed(const HttpUrl& url, std::string_view method) {
  return !url.tls && (method == "GET" || method == "HEAD" || method == "OPTIONS" ||
                      method == "TRACE" || method == "PUT" || method == "DELETE");
}

catalog::HealthStatus ClassifyHttpStatus(int code) {
  if (code >= 200 && code <= 299) {
    return catalog::HealthStatus::kPassing;
  }
  if (code == 429) {
    return catalog::HealthStatus::kWarning;  // Too Many Requests: alive but shedding load
  }
  return catalog::HealthStatus::kCritical;
}

std::string FormatHttpOutput(std::string_view method, std::string_view url, int code,
                             std::string_view reason, std::string_view body) {
  if (reason.empty()) {
    return fmt::format("HTTP {} {}: {} Output: {}", method, url, code, body);
  }
  return fmt::format("HTTP {} {}: {} {} Output: {}", method, url, code, reason, body);
}

HttpSpec MakeHttpSpec(const catalog::CheckDefinition& def) {
  HttpSpec s;
  s.url = def.http;
  s.method = def.method.empty() ? "GET" : def.method;
  for (char& c : s.method) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (s.method.empty() || HasCrLf(s.method) || s.method.find(' ') != std::string::npos) {
    s.error = "invalid method \"" + s.method + "\"";
    return s;
  }
  Result<HttpUrl> url = ParseHttpUrl(def.http);
  if (!url.ok()) {
    s.error = url.status().message();
    return s;
  }
  s.parsed = *url;
  s.keep_alive = HttpKeepAliveAllowed(*url, s.method);
  s.request = BuildHttpRequest(*url, s.method, def.header, def.body, s.keep_alive);
  s.tls.skip_verify = def.tls_skip_verify;
  s.tls.server_name = def.tls_server_name;
  return s;
}

namespace {

ProbeResult HttpFailure(const HttpSpec& h, std::string_view why) {
  return ProbeResult{catalog::HealthStatus::kCritical,
                     fmt::format("HTTP {} {}: {}", h.method, h.url, why)};
}

std::string TimeoutText(const ProbeSpec& spec) {
  return "timed out after " + FormatDuration(spec.timeout);
}

// One request and its response on a connected (and, for https, handshaken) connection.
struct Exchange {
  ProbeResult result;
  // The response allows keep-alive and was read in full: the connection may serve the next one.
  bool reusable = false;
  // Nothing of a response arrived before the connection failed (no timeout): on a kept
  // connection, the server closed it while it was idle.
  bool nothing_received = false;
};

asio::awaitable<Exchange> WriteAndRead(std::shared_ptr<Connection> conn,
                                       std::shared_ptr<const ProbeSpec> spec) {
  const HttpSpec& h = std::get<HttpSpec>(spec->kind);
  Exchange out;
  auto [wec, written] = co_await asio::async_write(*conn, asio::buffer(h.request), kTuple);
  if (wec) {
    out.nothing_received = !conn->timed_out();
    out.result = HttpFailure(h, conn->timed_out() ? TimeoutText(*spec) : "write: " + wec.message());
    co_return out;
  }

  boost::beast::flat_buffer buffer(kMaxHeaderBytes + 64 * 1024);
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(boost::none);  // we stop reading at OutputMaxSize ourselves
  if (h.method == "HEAD") {
    parser.skip(true);
  }
  auto [hec, hn] = co_await http::async_read_header(*conn, buffer, parser, kTuple);
  if (hec) {
    if (conn->timed_out()) {
      out.result = HttpFailure(h, TimeoutText(*spec));
    } else if (hec == http::error::end_of_stream || hec == asio::error::eof) {
      out.result = HttpFailure(h, "server closed the connection without a response");
    } else {
      out.result = HttpFailure(h, "read response: " + hec.message());
    }
    // The parser keeps an incomplete head in the buffer without consuming it.
    out.nothing_received = !conn->timed_out() && !parser.got_some() && buffer.size() == 0;
    co_return out;
  }
  const int code = static_cast<int>(parser.get().result_int());
  const std::string reason(parser.get().reason());

  // Read the start of the body, never more than the output can hold.
  std::string body;
  const size_t cap = spec->output_max_size;
  char chunk[4096];
  bool cut = false;
  while (!parser.is_done() && body.size() < cap) {
    const size_t want = std::min(sizeof(chunk), cap - body.size());
    parser.get().body().data = chunk;
    parser.get().body().size = want;
    auto [bec, bn] = co_await http::async_read(*conn, buffer, parser, kTuple);
    body.append(chunk, want - parser.get().body().size);
    if (bec && bec != http::error::need_buffer) {
      // A body cut short (reset, timeout) does not change the verdict of the status line, as
      // in Consul, which ignores errors while copying the body.
      cut = true;
      break;
    }
  }
  // Reusable only when the spec allows it and the next response cannot be confused with this
  // one: HTTP/1.1 keep-alive, the body read to its end (not capped, not cut), no bytes past it.
  out.reusable = h.keep_alive && !cut && parser.is_done() && parser.get().version() == 11 &&
                 parser.keep_alive() && buffer.size() == 0 && !conn->timed_out();
  out.result =
      ProbeResult{ClassifyHttpStatus(code), FormatHttpOutput(h.method, h.url, code, reason, body)};
  co_return out;
}

// Ends an attempt's use of `conn`: kept for the next attempt when the exchange allows it,
// closed otherwise.
HttpProbeOutcome Settle(std::shared_ptr<Connection> conn, Exchange ex) {
  HttpProbeOutcome outcome;
  if (ex.reusable) {
    conn->Disarm();
    outcome.keep = std::move(conn);
  } else {
    conn->Finish();
  }
  outcome.result = std::move(ex.result);
  return outcome;
}

}  // namespace

asio::awaitable<ProbeResult> RunHttpProbe(std::shared_ptr<const ProbeSpec> spec,
                                          std::shared_ptr<TlsContexts> tls,
                                          asio::any_io_executor executor) {
  HttpProbeOutcome outcome =
      co_await RunHttpProbe(std::move(spec), std::move(tls), std::move(executor), nullptr);
  if (outcome.keep) {
    outcome.keep->Finish();
  }
  co_return std::move(outcome.result);
}

asio::awaitable<HttpProbeOutcome> RunHttpProbe(std::shared_ptr<const ProbeSpec> spec,
                                               std::shared_ptr<TlsContexts> tls,
                                               asio::any_io_executor executor,
                                               std::shared_ptr<Connection> idle) {
  const HttpSpec& h = std::get<HttpSpec>(spec->kind);
  HttpProbeOutcome outcome;
  if (!h.parsed) {
    if (idle) {
      idle->Finish();
    }
    outcome.result = HttpFailure(h, h.error);
    co_return outcome;
  }
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(spec->timeout);

  if (idle) {
    Connection::ArmDeadline(idle, deadline);
    Exchange ex = co_await WriteAndRead(idle, spec);
    if (!ex.nothing_received) {
      co_return Settle(std::move(idle), std::move(ex));
    }
    // The server closed the kept connection (idle timeout, restart) before it saw our request or
    // before it answered: the check's verdict comes from one fresh connection, as without reuse.
    idle->Finish();
  }

  auto conn = std::make_shared<Connection>(executor);
  Connection::ArmDeadline(conn, deadline);
  std::string err = co_await Connection::Connect(conn, h.parsed->address);
  if (err.empty() && h.parsed->tls) {
    asio::ssl::context& ctx = h.tls.skip_verify ? tls->skipping() : tls->verifying();
    err = co_await Connection::StartTls(conn, ctx, h.tls, h.parsed->address.host);
  }
  if (!err.empty()) {
    conn->Finish();
    outcome.result = HttpFailure(h, conn->timed_out() ? TimeoutText(*spec) : err);
    co_return outcome;
  }
  co_return Settle(conn, co_await WriteAndRead(conn, spec));
}

}  // namespace beacon::health
