// HTTP(S) probe (consul-api.md section 5; Consul's CheckHTTP in agent/checks/check.go).
//
// The request is serialized once per session. The response head is parsed with Beast; the body is
// read only up to OutputMaxSize and then the connection is dropped, so an endless or huge body
// costs at most that many bytes and never outlives the attempt. Redirects are not followed: a 3xx
// is critical like any other non-2xx status (the behaviour issue #4 asks for; the definition's
// DisableRedirects is therefore always in effect).
//
// Connection reuse (issue #4, W5 in docs/PERFORMANCE.md). Consul disables keep-alive for checks,
// so each attempt costs a TCP connection; at 10,000 checks a second that kernel work was most of
// the agent's CPU. Beacon keeps a check's connection open between attempts when the spec allows
// it (HttpKeepAliveAllowed: plain HTTP, idempotent method) and the server did too (HTTP/1.1, no
// `Connection: close`, the whole body read, no bytes left over); anything else (an error, a
// timeout, a capped body) closes it, so a server that closes connections sees exactly the
// Consul behaviour. A kept connection that fails before the first byte of the response (the
// server closed it while idle, or restarted) is retried once on a fresh connection under the same
// deadline, and only that attempt's result counts; a timeout is never retried. So a check still
// proves that the endpoint answers a request within Timeout, though not that it accepts new
// connections while its kept one works.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "health/probe.h"

namespace beacon::health {

// Builds the request: `method target HTTP/1.1`, Host (from the URL unless a Host header is
// given), the definition's headers in order (names with CR/LF dropped), User-Agent `Consul Health
// Check` and Accept `text/plain, text/*, */*` unless given, Content-Length for a body (or for
// POST/PUT/PATCH), `Connection: close` unless `keep_alive` (HTTP/1.1 is persistent by default),
// then the body.
std::string BuildHttpRequest(const HttpUrl& url, std::string_view method,
                             const std::map<std::string, std::vector<std::string>>& headers,
                             std::string_view body, bool keep_alive = false);

// Whether a check's connection may be kept between attempts: plain HTTP (an idle TLS stream holds
// two 17 KiB buffers in Asio, too much per check) and an idempotent method (GET, HEAD, OPTIONS,
// TRACE, PUT, DELETE), since the retry on a fresh connection may send a request the server
// already received (RFC 9110 section 9.2.2). `method` is upper-case.
bool HttpKeepAliveAllowed(const HttpUrl& url, std::string_view method);

// 2xx passing, 429 warning, anything else critical.
catalog::HealthStatus ClassifyHttpStatus(int code);

// "HTTP <METHOD> <url>: <code> <reason> Output: <body>".
std::string FormatHttpOutput(std::string_view method, std::string_view url, int code,
                             std::string_view reason, std::string_view body);

HttpSpec MakeHttpSpec(const catalog::CheckDefinition& def);

// One attempt on a fresh connection, closed at the end.
boost::asio::awaitable<ProbeResult> RunHttpProbe(std::shared_ptr<const ProbeSpec> spec,
                                                 std::shared_ptr<TlsContexts> tls,
                                                 boost::asio::any_io_executor executor);

struct HttpProbeOutcome {
  ProbeResult result;
  // The connection to use for the check's next attempt: open, deadline disarmed, nothing pending.
  // Null unless the spec allows keep-alive and the server kept the connection open after a
  // response read in full.
  std::shared_ptr<Connection> keep;
};

// One attempt that reuses `idle` (a connection an earlier attempt returned as `keep`, its idle
// watch ended; null = connect) and may hand its connection back. If `idle` fails before any
// byte of the response arrived, without a timeout, the attempt goes on with a fresh connection
// under the same deadline and reports that one's result. `idle` is always consumed.
boost::asio::awaitable<HttpProbeOutcome> RunHttpProbe(std::shared_ptr<const ProbeSpec> spec,
                                                      std::shared_ptr<TlsContexts> tls,
                                                      boost::asio::any_io_executor executor,
                                                      std::shared_ptr<Connection> idle);

}  // namespace beacon::health
