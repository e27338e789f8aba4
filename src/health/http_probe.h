// HTTP(S) probe (consul-api.md section 5; Consul's CheckHTTP in agent/checks/check.go).
//
// One fresh connection per attempt, "Connection: close" (as Consul disables keep-alives, so a
// check always proves that the endpoint accepts connections). The request is serialized once per
// session. The response head is parsed with Beast; the body is read only up to OutputMaxSize and
// then the connection is dropped, so an endless or huge body costs at most that many bytes and
// never outlives the attempt. Redirects are not followed: a 3xx is critical like any other
// non-2xx status (the behaviour issue #4 asks for; the definition's DisableRedirects is therefore
// always in effect).
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
// POST/PUT/PATCH), `Connection: close`, then the body.
std::string BuildHttpRequest(const HttpUrl& url, std::string_view method,
                             const std::map<std::string, std::vector<std::string>>& headers,
                             std::string_view body);

// 2xx passing, 429 warning, anything else critical.
catalog::HealthStatus ClassifyHttpStatus(int code);

// "HTTP <METHOD> <url>: <code> <reason> Output: <body>".
std::string FormatHttpOutput(std::string_view method, std::string_view url, int code,
                             std::string_view reason, std::string_view body);

HttpSpec MakeHttpSpec(const catalog::CheckDefinition& def);

boost::asio::awaitable<ProbeResult> RunHttpProbe(std::shared_ptr<const ProbeSpec> spec,
                                                 std::shared_ptr<TlsContexts> tls,
                                                 boost::asio::any_io_executor executor);

}  // namespace beacon::health
