// HttpTransport: how the client sends one HTTP request and gets the answer.
//
// The built-in transport (MakeHttpTransport) speaks HTTP/1.1 over TCP with keep-alive, through
// Boost.Beast; Boost stays an implementation detail. Each call runs on the caller's thread and
// blocks until the whole response has arrived, the request's timeout has passed, or the stop
// token fires. Connections are pooled: an idle one is reused, a busy one is never shared, so a
// parked blocking query does not hold up other calls.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/options.h"
#include "beacon/status.h"

namespace beacon::client {

struct HttpRequest {
  std::string method = "GET";
  std::string
      target{};  // path and query, already percent-encoded: "/v1/health/service/web?passing"
  std::string body{};
  std::vector<std::pair<std::string, std::string>> headers{};
  // Bound on the whole exchange (connect, write, read).
  std::chrono::milliseconds timeout{10'000};
};

struct HttpResponse {
  int status = 0;
  std::string body{};
  std::map<std::string, std::string> headers{};  // names lower-cased

  // The value of header `name` (any case); "" when absent.
  std::string Header(std::string_view name) const;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Sends `request` and waits for the whole response. Any HTTP status is a successful round
  // trip; failures are kUnavailable (connect, write or read failed), kDeadlineExceeded (timeout)
  // and kCancelled (`stop` fired). Thread-safe: may be called from many threads at once.
  virtual Result<HttpResponse> RoundTrip(const HttpRequest& request, std::stop_token stop) = 0;
};

// The built-in transport to `address`, keeping at most `max_idle_connections` idle connections.
// Does not connect yet.
std::shared_ptr<HttpTransport> MakeHttpTransport(HttpAddress address,
                                                 size_t max_idle_connections = 4);

}  // namespace beacon::client
