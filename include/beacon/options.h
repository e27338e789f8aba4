// Client and query options, and the metadata every read returns (after Consul's api/api.go
// Config, QueryOptions and QueryMeta).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/status.h"

namespace beacon::client {

class HttpTransport;

// Where the agent's HTTP API listens.
struct HttpAddress {
  std::string host{};  // IP literal or name, without brackets
  uint16_t port = 8500;
  // "host:port", with brackets around an IPv6 host.
  std::string ToString() const;
};

// Parses "host", "host:port", "[v6]:port", "http://host:port" (a trailing "/" is allowed).
// Default port 8500. "https://..." and "unix://..." are InvalidArgument: this client speaks plain
// HTTP over TCP only.
Result<HttpAddress> ParseHttpAddress(std::string_view text);

struct ClientOptions {
  // The agent's address (see ParseHttpAddress). "" = $CONSUL_HTTP_ADDR, else 127.0.0.1:8500.
  std::string address{};
  // Sent as X-Consul-Token. "" = $CONSUL_HTTP_TOKEN, else none.
  std::string token{};
  // Datacenter for reads whose QueryOptions name none. "" = the agent's own.
  std::string datacenter{};
  // Bound on connect + write + read of one non-blocking request. A blocking read is given its
  // wait time plus the server's jitter (wait/16) plus this, so it never times out early.
  // Default 10 s: long enough for a busy agent, short enough that a dead one is noticed.
  std::chrono::milliseconds timeout{10'000};
  // Idle keep-alive connections kept per client. Each running blocking query holds one more.
  size_t max_idle_connections = 4;
  // null = the built-in HTTP/1.1 transport to `address`. Tests inject fakes here.
  std::shared_ptr<HttpTransport> transport{};
};

// Options of one read (Go's QueryOptions). Default: a plain, non-blocking, leader-consistent read.
struct QueryOptions {
  // Blocking query: the agent holds the request until the result's index exceeds wait_index or
  // wait_time passes (consul-api.md 2.3). 0 = answer at once.
  uint64_t wait_index = 0;
  // How long the agent may hold a blocking query. 0 = the agent's default (5 min); the agent caps
  // it at 10 min and adds up to wait/16 of jitter.
  std::chrono::milliseconds wait_time{0};
  // ?stale: any server may answer, possibly a little behind (X-Consul-LastContact says how much).
  bool allow_stale = false;
  // ?consistent: the leader confirms leadership before answering. Conflicts with allow_stale.
  bool require_consistent = false;
  std::string datacenter{};  // "" = ClientOptions::datacenter
  std::string filter{};      // a filter= expression (consul-api.md section 3); "" = none
  std::vector<std::pair<std::string, std::string>>
      node_meta{};  // node-meta=key:value, all must match
  // Cancels the request, including a parked blocking query; it then fails with kCancelled.
  std::stop_token stop{};
};

// What the agent said about a read (X-Consul-* headers, consul-api.md 1.4).
struct QueryMeta {
  uint64_t last_index = 0;  // X-Consul-Index: pass as wait_index to block for the next change
  bool known_leader = false;
  std::chrono::milliseconds last_contact{0};  // how stale a stale read may be
  std::chrono::microseconds request_time{0};  // measured by the client
};

template <typename T>
struct QueryResult {
  T value;
  QueryMeta meta;
};

}  // namespace beacon::client
