// Api: the Consul HTTP API (consul-api.md tier 1) as a RequestHandler.
//
// Routing is by path prefix (contract 1.1): the rest of the path after a route's prefix is the
// resource name and may contain '/'. Handlers are member functions grouped one file per endpoint
// group (agent_endpoints.cc, health_endpoints.cc, catalog_endpoints.cc, status_endpoints.cc).
// Reads answer from the loop's snapshot without locks; blocking reads park on the loop's
// WatchRegistry under the one watch key their result depends on; writes go to the catalog's
// writer and resume on their loop once durable.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/metrics.h"
#include "http/server.h"

namespace beacon::http {

// Facts about this agent that agent/self, agent/members and status/* report.
struct AgentInfo {
  std::string node_name;
  std::string node_id;
  std::string datacenter = "dc1";
  std::string address = "127.0.0.1";  // advertised address
  uint16_t http_port = 8500;
  int dns_port = 8600;
  std::string version;  // Consul-compatible "x.y.z" that Beacon reports
  std::string beacon_version;
  // Origins allowed to call the API from a browser (CORS). Empty = no CORS headers at all (the
  // default); "*" allows every origin and must be configured explicitly.
  std::vector<std::string> cors_allowed_origins;
};

// Cluster mode (issue #9): facts that come from the cluster, not from this agent. A single agent
// has none (Api::set_cluster not called): it is its own leader and only peer.
class ClusterStatus {
 public:
  virtual ~ClusterStatus() = default;
  virtual std::string Leader() const = 0;             // "ip:port", "" when no leader is known
  virtual std::vector<std::string> Peers() const = 0;
  virtual int64_t LastContactMs() const = 0;
  // Quorum read: calls `done` (on any thread) with the index the local view must reach before
  // a ?consistent read may be answered.
  virtual void ConfirmIndex(std::function<void(Result<uint64_t>)> done) = 0;
};

// Query options common to reads (contract 1.6).
struct QueryOptions {
  uint64_t index = 0;
  std::chrono::nanoseconds wait{0};
  bool stale = false;
  bool consistent = false;
  bool pretty = false;
  std::string filter;
  std::vector<std::pair<std::string, std::string>> node_meta;
};

class Api final : public RequestHandler {
 public:
  // `metrics` (may be null) counts requests by route, method and status, and serves
  // /v1/agent/metrics; it must outlive the Api.
  Api(catalog::Catalog& catalog, AgentInfo info, MetricsRegistry* metrics = nullptr);

  boost::asio::awaitable<HttpResponse> Handle(HttpRequest& request, RequestEnv& env) override;

  // The HTTP port actually bound (known only after the server started; agent/self reports it).
  // REQUIRES: called before requests are served.
  void set_http_port(uint16_t port) { info_.http_port = port; }
  // Cluster mode; must outlive the Api. REQUIRES: called before requests are served.
  void set_cluster(ClusterStatus* cluster) { cluster_ = cluster; }

  // One request being served: what the handler needs besides the Api.
  struct Call {
    HttpRequest& request;
    RequestEnv& env;
    std::string name;  // the path after the route's prefix (decoded; may contain '/')
    QueryOptions query;
  };
  using Endpoint = boost::asio::awaitable<HttpResponse> (Api::*)(Call&);

 private:
  struct Route {
    std::string prefix;
    bool exact;  // the path must equal the prefix (no resource name)
    std::vector<std::string> methods;
    Endpoint endpoint;
  };

  boost::asio::awaitable<HttpResponse> Dispatch(HttpRequest& request, RequestEnv& env,
                                                const Route** matched);

  // --- agent_endpoints.cc
  boost::asio::awaitable<HttpResponse> AgentServiceRegister(Call& call);
  boost::asio::awaitable<HttpResponse> AgentServiceDeregister(Call& call);
  boost::asio::awaitable<HttpResponse> AgentServices(Call& call);
  boost::asio::awaitable<HttpResponse> AgentService(Call& call);
  boost::asio::awaitable<HttpResponse> AgentChecks(Call& call);
  boost::asio::awaitable<HttpResponse> AgentCheckRegister(Call& call);
  boost::asio::awaitable<HttpResponse> AgentCheckDeregister(Call& call);
  boost::asio::awaitable<HttpResponse> AgentCheckPass(Call& call);
  boost::asio::awaitable<HttpResponse> AgentCheckWarn(Call& call);
  boost::asio::awaitable<HttpResponse> AgentCheckFail(Call& call);
  boost::asio::awaitable<HttpResponse> AgentCheckUpdate(Call& call);
  boost::asio::awaitable<HttpResponse> AgentServiceMaintenance(Call& call);
  boost::asio::awaitable<HttpResponse> AgentNodeMaintenance(Call& call);
  boost::asio::awaitable<HttpResponse> AgentSelf(Call& call);
  boost::asio::awaitable<HttpResponse> AgentMembers(Call& call);
  boost::asio::awaitable<HttpResponse> AgentNoop(Call& call);
  boost::asio::awaitable<HttpResponse> AgentMetrics(Call& call);
  boost::asio::awaitable<HttpResponse> AgentCheckTtl(Call& call, catalog::HealthStatus status);
  // --- health_endpoints.cc
  boost::asio::awaitable<HttpResponse> HealthService(Call& call);
  boost::asio::awaitable<HttpResponse> HealthChecks(Call& call);
  boost::asio::awaitable<HttpResponse> HealthState(Call& call);
  boost::asio::awaitable<HttpResponse> HealthNode(Call& call);
  // --- catalog_endpoints.cc
  boost::asio::awaitable<HttpResponse> CatalogServices(Call& call);
  boost::asio::awaitable<HttpResponse> CatalogService(Call& call);
  boost::asio::awaitable<HttpResponse> CatalogNodes(Call& call);
  boost::asio::awaitable<HttpResponse> CatalogNode(Call& call);
  boost::asio::awaitable<HttpResponse> CatalogDatacenters(Call& call);
  boost::asio::awaitable<HttpResponse> CatalogRegister(Call& call);
  boost::asio::awaitable<HttpResponse> CatalogDeregister(Call& call);
  // --- status_endpoints.cc
  boost::asio::awaitable<HttpResponse> StatusLeader(Call& call);
  boost::asio::awaitable<HttpResponse> StatusPeers(Call& call);

  // --- api.cc: shared machinery
  // Submits a write and resumes on this loop once it is durable (or failed).
  boost::asio::awaitable<Status> Write(Call& call, catalog::WriteRequest request);
  // Blocking-query wait (contract 2.3): returns the snapshot to answer from, as soon as `ready`
  // holds for the loop's snapshot, or at the deadline, or at once without ?index. Parks under
  // `watch_key`; a client that disconnects ends the wait (the socket is then closed).
  boost::asio::awaitable<catalog::SnapshotPtr> AwaitReady(
      Call& call, const std::string& watch_key,
      const std::function<bool(const catalog::Snapshot&)>& ready);
  // AwaitReady for the usual rule: the result index moved past ?index.
  boost::asio::awaitable<catalog::SnapshotPtr> AwaitIndex(
      Call& call, const std::string& watch_key,
      const std::function<uint64_t(const catalog::Snapshot&)>& index_of);
  // Cluster mode, ?consistent: waits until this loop's snapshot holds everything the cluster
  // had committed when the request arrived (quorum read of the index). Error: 500.
  boost::asio::awaitable<Status> ConfirmConsistent(Call& call);
  // X-Consul-Index and friends on a blocking read (contract 1.4).
  void AddBlockingHeaders(const Call& call, uint64_t index, HttpResponse& response) const;
  Result<QueryOptions> ParseQueryOptions(const HttpRequest& request) const;
  bool NodeMetaMatches(const QueryOptions& q, const catalog::Node& node) const;

  // CORS (see AgentInfo::cors_allowed_origins): the origin to echo in
  // Access-Control-Allow-Origin, or "" when the request's Origin is absent or not allowed.
  std::string AllowedOrigin(const HttpRequest& request) const;
  // Answers a CORS preflight (OPTIONS with Access-Control-Request-Method) for a known route.
  HttpResponse Preflight(const HttpRequest& request, const Route& route) const;

  // Counts one finished request (thread-safe; caches metric pointers per loop thread).
  void CountRequest(const Route* route, const std::string& method, int status,
                    std::chrono::steady_clock::duration elapsed);

  catalog::Catalog& catalog_;
  AgentInfo info_;
  MetricsRegistry* metrics_;
  ClusterStatus* cluster_ = nullptr;
  std::vector<Route> routes_;
};

// The ReadCache key of a service read: everything that shapes its body. `kind` tells the
// endpoints apart ('h' health/service, 'c' catalog/service).
std::string ServiceReadKey(char kind, std::string_view service, bool passing,
                           const std::vector<std::string>& tags, const QueryOptions& query);

// Re-indents a compact JSON document as Consul's ?pretty does; returns it unchanged if it does
// not parse.
std::string PrettyJson(const std::string& compact);

// Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False.
std::optional<bool> ParseGoBool(std::string_view s);

}  // namespace beacon::http
