// Agent: the composition root of `beacon agent` (STYLE.md section 1).
//
// Start order: store -> catalog (loads the data directory) -> I/O loops -> HTTP API -> DNS ->
// check runner; the HTTP and DNS servers and the check runner are fed every snapshot the catalog
// publishes. The check runner stops first, so no check result is submitted during shutdown. Stop order is the reverse:
// stop DNS and HTTP accepting, stop the loops, drain the writer (every queued write is
// committed), close the store.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "catalog/catalog.h"
#include "common/status.h"
#include "dns/options.h"

namespace beacon::store {
class Store;
}
namespace beacon::net {
class IoPool;
}
namespace beacon::http {
class Api;
class ClusterStatus;
class HttpServer;
}  // namespace beacon::http
namespace beacon::dns {
class DnsServer;
}
namespace beacon::health {
class CatalogSink;
class CheckRunner;
}  // namespace beacon::health
namespace beacon::etcd {
class Client;
}
namespace beacon::cluster {
class Cluster;
}

namespace beacon::agent {

inline constexpr const char* kBeaconVersion = "0.1.0";
// The Consul version Beacon reports in agent/self and members, for clients that check it.
inline constexpr const char* kConsulCompatVersion = "1.16.0";

struct AgentConfig {
  std::string data_dir;  // required unless dev or store "etcd"
  bool dev = false;      // throw-away data directory, removed at stop
  std::string node_name;  // default: the host name
  std::string node_id;    // default: generated once, kept in the data directory
  std::string datacenter = "dc1";
  std::string client_addr = "127.0.0.1";   // where HTTP (and DNS) listen
  std::string advertise_addr = "127.0.0.1";  // the node's Address
  int http_port = 8500;  // 0 = any free port
  int dns_port = 8600;     // UDP and TCP; 0 = any free port, -1 = no DNS interface
  std::string domain = "consul.";  // the DNS zone we answer for
  // DNS behaviour (only_passing, udp_answer_limit, enable_truncate, TTLs; see dns/options.h).
  // Its domain, datacenter and local_node are filled from the fields above at start.
  dns::DnsOptions dns;
  size_t io_threads = 0;  // 0 = one per core
  // CORS: origins allowed to call the HTTP API from a browser; empty (default) = none, "*" = all.
  std::vector<std::string> cors_allowed_origins;
  // Service and check definitions from configuration files, registered at start.
  std::vector<catalog::RegisterService> service_definitions;
  std::vector<catalog::RegisterCheck> check_definitions;
  std::map<std::string, std::string> node_meta;
  // HTTP limits (see http::HttpServerOptions for what each does and its default).
  size_t http_max_body_bytes = 512 * 1024;
  size_t http_max_header_bytes = 64 * 1024;
  size_t http_max_connections = 65536;
  size_t http_max_requests_per_connection = 0;
  std::chrono::milliseconds http_idle_timeout{std::chrono::seconds(90)};
  std::chrono::milliseconds http_read_timeout{std::chrono::seconds(30)};
  // How long a graceful stop waits for in-flight requests before closing them.
  std::chrono::milliseconds shutdown_timeout{10'000};
  // Writer timing; defaults are Consul's. Tests shorten them.
  catalog::Nanos reap_interval = std::chrono::seconds(30);
  catalog::Nanos min_deregister_after = std::chrono::minutes(1);
  // An output-only check change is written at most this often per check (Consul's
  // check_update_interval, 5 min); shorter means more writes and more watcher wake-ups.
  catalog::Nanos output_update_interval = std::chrono::minutes(5);
  // Whether the agent runs HTTP/TCP/gRPC checks itself (issue #4). Off only for tools and tests
  // that must not probe anything.
  bool run_checks = true;
  // Check intervals below this run at this rate (Consul's MinInterval). Lower only in tests.
  catalog::Nanos check_min_interval = std::chrono::seconds(1);
  // Where the catalog lives: "sqlite" (default: the embedded store in data_dir) or "etcd"
  // (cluster mode, docs/CLUSTER.md: several agents share one catalog in etcd).
  std::string store = "sqlite";
  std::vector<std::string> etcd_endpoints;  // "http://127.0.0.1:2379", ...
  std::string etcd_prefix = "beacon/";      // every key of this cluster lives under it
  // An agent that stops renewing its lease is marked failed this long after (Consul's failure
  // detection takes a few seconds too).
  std::chrono::seconds etcd_lease_ttl{10};
};

class Agent {
 public:
  // Opens the data directory and starts serving. Fails with a clear message when the directory
  // or database cannot be used or the port cannot be bound.
  static Result<std::unique_ptr<Agent>> Start(AgentConfig config);
  ~Agent();  // Stop()s

  uint16_t http_port() const;
  // The DNS port (UDP and TCP), or 0 when DNS is disabled (dns_port -1).
  uint16_t dns_port() const;
  const std::string& data_dir() const { return data_dir_; }
  catalog::Catalog& catalog() { return *catalog_; }
  MetricsRegistry& metrics() { return *metrics_; }

  // Stops serving and flushes. Idempotent.
  void Stop();

  // Registers `services` and `checks` (from configuration files) and removes the services and
  // checks that earlier definitions created but these no longer contain. State registered
  // through the API is left alone. Thread-safe; waits for the writes. Stops at the first invalid
  // definition, with its name in the error.
  Status ApplyDefinitions(std::vector<catalog::RegisterService> services,
                          std::vector<catalog::RegisterCheck> checks);

 private:
  Agent() = default;

  AgentConfig config_;
  std::string data_dir_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<etcd::Client> etcd_;           // cluster mode
  std::unique_ptr<cluster::Cluster> cluster_;    // cluster mode
  std::unique_ptr<http::ClusterStatus> cluster_status_;  // cluster mode: adapter for the API
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<net::IoPool> pool_;
  std::unique_ptr<http::Api> api_;
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<dns::DnsServer> dns_;
  std::unique_ptr<health::CatalogSink> check_sink_;
  std::unique_ptr<health::CheckRunner> checks_;
  bool stopped_ = false;
  std::mutex definitions_mu_;
  std::set<std::string> config_service_ids_;  // guarded by definitions_mu_
  std::set<std::string> config_check_ids_;    // guarded by definitions_mu_
};

}  // namespace beacon::agent
