// Probes: one attempt of an HTTP, TCP or gRPC check, as a coroutine on the check's loop.
//
// A check definition is turned into a ProbeSpec once when its session starts (URL parsed, HTTP
// request serialized, gRPC request encoded), so each attempt only does I/O. Every attempt runs
// under one deadline (connection.h) and never throws: transport errors, timeouts and garbage all
// become a critical ProbeResult whose output says why (consul-api.md section 5).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "catalog/types.h"
#include "health/connection.h"
#include "health/target.h"

namespace beacon::health {

struct ProbeResult {
  catalog::HealthStatus status = catalog::HealthStatus::kCritical;
  std::string output;
};

// Consul's default OutputMaxSize (4 KiB) and its default per-attempt timeout.
inline constexpr size_t kDefaultOutputMaxSize = 4096;
inline constexpr std::chrono::seconds kDefaultTimeout{10};

struct HttpSpec {
  std::string url;     // as written in the definition; printed in the output
  std::string method;  // upper-cased, default GET
  std::optional<HttpUrl> parsed;  // nullopt when the URL is bad; `error` says why
  std::string error;
  std::string request;  // the serialized request (head and body), built once
  TlsOptions tls;
  bool keep_alive = false;  // HttpKeepAliveAllowed: the connection may serve later attempts
};

struct TcpSpec {
  std::string address_text;
  std::optional<HostPort> address;
  std::string error;
  bool use_tls = false;  // TCPUseTLS: the TLS handshake must succeed too
  TlsOptions tls;
};

struct GrpcSpec {
  std::string target_text;
  std::optional<GrpcTarget> target;
  std::string error;
  bool use_tls = false;
  TlsOptions tls;       // ALPN h2 when use_tls
  std::string request;  // the client's whole first flight: preface, SETTINGS, HEADERS, DATA
};

struct ProbeSpec {
  std::variant<HttpSpec, TcpSpec, GrpcSpec> kind;
  std::chrono::nanoseconds timeout{kDefaultTimeout};
  size_t output_max_size = kDefaultOutputMaxSize;
};

// Timeout of one attempt: the definition's Timeout, else `default_timeout`, and never longer than
// the Interval (Consul caps it so one attempt ends before the next begins).
std::chrono::nanoseconds EffectiveTimeout(const catalog::CheckDefinition& def,
                                          std::chrono::nanoseconds default_timeout);

// True for the check types this library runs (HTTP, TCP, gRPC with an interval).
bool IsRunnable(const catalog::Check& check);

// Builds the spec of an HTTP, TCP or gRPC definition. REQUIRES: IsRunnable.
ProbeSpec MakeProbeSpec(const catalog::CheckDefinition& def,
                        std::chrono::nanoseconds default_timeout);

// One attempt. `spec` and `tls` are shared with the session; both are immutable here.
boost::asio::awaitable<ProbeResult> RunProbe(std::shared_ptr<const ProbeSpec> spec,
                                             std::shared_ptr<TlsContexts> tls,
                                             boost::asio::any_io_executor executor);

}  // namespace beacon::health
