// Client: the Consul HTTP API of one agent, as blocking C++ calls (after Consul's api package:
// api/agent.go, api/health.go, api/catalog.go).
//
// Every call is one HTTP request on the caller's thread. Writes return a Status; reads return the
// value, and reads of the catalog and health endpoints also the query metadata (index, known
// leader, last contact) that makes blocking queries possible:
//
//   auto client = Client::Create({});                   // CONSUL_HTTP_ADDR or 127.0.0.1:8500
//   QueryOptions q;
//   for (;;) {
//     auto r = (*client)->HealthService("web", {.passing_only = true}, q);
//     if (!r.ok()) { ...back off and retry... }
//     Use(r->value);
//     q.wait_index = r->meta.last_index;                // next call parks until something changes
//   }
//
// ServiceCache (cache.h) runs exactly this loop in the background and shares it between callers.
//
// Errors: an HTTP error status becomes a Status with the agent's message ("Unexpected response
// code: 404 (Unknown service ID ...)"): 400 kInvalidArgument, 403 kPermissionDenied, 404
// kNotFound, 409 kAborted, 413/429 kResourceExhausted, 502/503/504 kUnavailable, other 5xx
// kInternal. Transport failures are kUnavailable / kDeadlineExceeded / kCancelled (transport.h).
//
// Thread safety: a Client may be used from many threads at once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/options.h"
#include "beacon/status.h"
#include "beacon/types.h"

namespace beacon::client {

// Extra parameters of GET /v1/health/service/:service (consul-api.md 4.11).
struct HealthServiceOptions {
  std::vector<std::string> tags{};  // keep instances having all of these tags (case-insensitive)
  bool passing_only = false;        // ?passing: drop instances with any non-passing check
};

class Client {
 public:
  // Resolves the address and token (options, then environment, then defaults) and builds the
  // transport. Does not connect. InvalidArgument for an address ParseHttpAddress rejects.
  static Result<std::unique_ptr<Client>> Create(ClientOptions options = {});
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The agent's address as used ("127.0.0.1:8500").
  const std::string& address() const { return address_; }

  // --- Agent writes (take effect on the local agent; visible to reads when they return OK) ---

  // PUT /v1/agent/service/register. With replace_existing_checks, checks of this service that
  // are not in `service.checks` are removed.
  Status RegisterService(const ServiceRegistration& service, bool replace_existing_checks = false);
  // PUT /v1/agent/service/deregister/:id. kNotFound for an unknown ID.
  Status DeregisterService(std::string_view service_id);
  // PUT /v1/agent/check/pass|warn|fail/:id?note=: set a TTL check and restart its timer.
  // kNotFound for an unknown check; kInternal for a check that is not a TTL check.
  Status PassTtl(std::string_view check_id, std::string_view note = "");
  Status WarnTtl(std::string_view check_id, std::string_view note = "");
  Status FailTtl(std::string_view check_id, std::string_view note = "");
  // The three above by status.
  Status UpdateTtl(std::string_view check_id, HealthStatus status, std::string_view note = "");

  // --- Reads ---

  // GET /v1/catalog/services: every service name with its tags. Blocking-capable.
  Result<QueryResult<CatalogServiceMap>> CatalogServices(const QueryOptions& q = {});
  // GET /v1/health/service/:service: its instances with their checks. Blocking-capable. An
  // unknown service is an empty list, not an error.
  Result<QueryResult<std::vector<ServiceEntry>>> HealthService(std::string_view service,
                                                               const HealthServiceOptions& opts,
                                                               const QueryOptions& q = {});
  // GET /v1/agent/services: the local agent's instances by service ID. `filter` as in QueryOptions.
  Result<std::map<std::string, AgentService>> AgentServices(std::string_view filter = "");
  // GET /v1/agent/checks: the local agent's checks by check ID.
  Result<std::map<std::string, HealthCheck>> AgentChecks();
  // GET /v1/agent/members.
  Result<std::vector<Member>> Members();
  // GET /v1/status/leader: "ip:port" of the leader, "" when there is none.
  Result<std::string> Leader();
  // GET /v1/agent/metrics.
  Result<AgentMetrics> Metrics();

 private:
  Client() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_{};
  std::string address_{};
};

}  // namespace beacon::client
