// Plain value types of the Consul HTTP API as the client sees them (consul-api.md section 4.0).
//
// Field names follow Consul's Go API (hashicorp/consul api/agent.go, api/health.go) in snake_case;
// the comment names the wire field where it differs. All types are copyable values with
// defaulted equality, so a cache can tell whether an answer changed by comparing it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::client {

// A check's state. Wire strings: "passing", "warning", "critical".
enum class HealthStatus { kPassing, kWarning, kCritical };

// "passing", "warning" or "critical".
std::string_view HealthStatusName(HealthStatus status);
// The status named by `name`; anything unknown counts as critical (the safe reading).
HealthStatus ParseHealthStatus(std::string_view name);

// Weights used by weighted load balancing and DNS SRV answers (wire "Weights").
struct Weights {
  int passing = 1;  // weight while every check passes
  int warning = 1;  // weight while some check warns (0 = take no traffic while warning)
  bool operator==(const Weights&) const = default;
};

// One check attached to a service registration (Go's AgentServiceCheck). Exactly one of ttl,
// http, tcp or grpc should be set; a zero duration means "not set".
struct CheckDefinition {
  std::string check_id{};  // wire "CheckID"; "" lets the agent choose "service:<service id>"
  std::string name{};      // "" lets the agent choose "Service '<name>' check"
  std::string notes{};
  std::string status{};  // initial status; "" = the agent's default (critical)
  std::chrono::milliseconds ttl{0};
  std::string http{};    // URL the agent GETs; 2xx passing, 429 warning, else critical
  std::string method{};  // HTTP method; "" = GET
  std::map<std::string, std::vector<std::string>> header{};
  bool tls_skip_verify = false;
  std::string tcp{};                      // "host:port"
  std::string grpc{};                     // "host:port[/service]"
  std::chrono::milliseconds interval{0};  // required for http/tcp/grpc
  std::chrono::milliseconds timeout{0};   // 0 = the agent's default (10 s)
  std::chrono::milliseconds deregister_critical_service_after{0};
  int success_before_passing = 0;
  int failures_before_critical = 0;
  bool operator==(const CheckDefinition&) const = default;
};

// A service instance to register with the local agent (Go's AgentServiceRegistration).
struct ServiceRegistration {
  std::string id{};  // "" = the name
  std::string name{};
  std::vector<std::string> tags{};
  std::string address{};  // "" = the node's address
  int port = 0;
  std::map<std::string, std::string> meta{};
  Weights weights{};
  bool enable_tag_override = false;
  std::vector<CheckDefinition> checks{};
  bool operator==(const ServiceRegistration&) const = default;
};

// A service instance as the agent reports it (wire "Service" inside health results, and the
// values of /v1/agent/services).
struct AgentService {
  std::string id{};       // wire "ID"
  std::string service{};  // the service name
  std::vector<std::string> tags{};
  std::string address{};
  int port = 0;
  std::map<std::string, std::string> meta{};
  Weights weights{};
  bool enable_tag_override = false;
  std::string kind{};
  std::string datacenter{};  // agent endpoints only
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  bool operator==(const AgentService&) const = default;
};

struct Node {
  std::string id{};    // UUID
  std::string node{};  // the node name
  std::string address{};
  std::string datacenter{};
  std::map<std::string, std::string> tagged_addresses{};
  std::map<std::string, std::string> meta{};
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  bool operator==(const Node&) const = default;
};

struct HealthCheck {
  std::string node{};
  std::string check_id{};  // wire "CheckID"
  std::string name{};
  HealthStatus status = HealthStatus::kCritical;
  std::string notes{};
  std::string output{};
  std::string service_id{};  // "" for node-level checks such as serfHealth
  std::string service_name{};
  std::vector<std::string> service_tags{};
  std::string type{};  // "ttl", "http", "tcp", "grpc", ... ("" when the agent does not say)
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  bool operator==(const HealthCheck&) const = default;
};

// One element of GET /v1/health/service/:service: an instance with its node and every check
// that decides its health (its own checks and its node's).
struct ServiceEntry {
  Node node{};
  AgentService service{};
  std::vector<HealthCheck> checks{};

  // critical if any check is critical, else warning if any warns, else passing (also with no
  // checks), as Go's HealthChecks.AggregatedStatus.
  HealthStatus AggregatedStatus() const;
  // Where to send traffic: Service.Address, or Node.Address when that is empty.
  const std::string& Address() const;
  bool operator==(const ServiceEntry&) const = default;
};

// GET /v1/catalog/services: service name -> the union of its instances' tags.
using CatalogServiceMap = std::map<std::string, std::vector<std::string>>;

// One element of GET /v1/agent/members.
struct Member {
  std::string name{};
  std::string addr{};
  int port = 0;
  std::map<std::string, std::string> tags{};  // role, dc, build, ...
  int status = 0;                             // 1 alive, 2 leaving, 3 left, 4 failed

  // "alive", "leaving", "left", "failed" or "none".
  std::string_view StatusName() const;
  bool operator==(const Member&) const = default;
};

// GET /v1/agent/metrics (JSON form), reduced to what a program usually reads. One metric name
// may appear several times with different labels.
struct AgentMetrics {
  struct Gauge {
    std::string name;
    double value = 0;
    std::map<std::string, std::string> labels;
    bool operator==(const Gauge&) const = default;
  };
  struct Counter {
    std::string name;
    uint64_t count = 0;
    double sum = 0;
    std::map<std::string, std::string> labels;
    bool operator==(const Counter&) const = default;
  };
  std::vector<Gauge> gauges{};
  std::vector<Counter> counters{};

  // Sum of the values of every gauge named `name` (e.g. "consul.catalog.services"), 0 if none.
  double GaugeTotal(std::string_view name) const;
  // Sum of the counts of every counter named `name`, 0 if none.
  uint64_t CounterTotal(std::string_view name) const;
};

}  // namespace beacon::client
