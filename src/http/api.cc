#include "http/api.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

#include "common/duration.h"
#include "common/logging.h"
#include "common/strings.h"
#include "net/post_batch.h"

namespace beacon::http {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr auto kDefaultWait = std::chrono::minutes(5);  // contract 2.3.4
constexpr auto kMaxWait = std::chrono::minutes(10);

const std::vector<std::string> kGet = {"GET"};
const std::vector<std::string> kPut = {"PUT", "POST"};
// Legacy GETs that python-consul 0.7.1 sends for writes (contract 1.1 [Beacon]).
const std::vector<std::string> kPutOrGet = {"GET", "PUT", "POST"};

std::string AllowHeader(const std::vector<std::string>& methods) {
  std::string allow = "OPTIONS";
  for (const auto& m : methods) allow += "," + m;
  return allow;
}

}  // namespace

std::string PrettyJson(const std::string& compact) {
  rapidjson::StringStream in(compact.c_str());
  rapidjson::StringBuffer out;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(out);
  writer.SetIndent(' ', 4);  // as Go's json.MarshalIndent(v, "", "    ") that Consul uses
  rapidjson::Reader reader;
  if (!reader.Parse(in, writer)) return compact;
  return std::string(out.GetString(), out.GetSize()) + "\n";
}

std::optional<bool> ParseGoBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") {
    return false;
  }
  return std::nullopt;
}

std::string ServiceReadKey(char kind, std::string_view service, bool passing,
                           const std::vector<std::string>& tags, const QueryOptions& query) {
  // Every variable part is length-prefixed, so no decoded query value (which may contain any
  // byte) can make two different questions share a key.
  std::string key;
  key.reserve(service.size() + query.filter.size() + 32);
  auto part = [&key](char tag, std::string_view value) {
    key += tag;
    key += std::to_string(value.size());
    key += ':';
    key.append(value);
  };
  key += kind;
  key += passing ? 'p' : 'a';
  key += query.pretty ? 'P' : 'c';
  part('s', AsciiLower(service));
  std::vector<std::string> sorted;
  for (const std::string& t : tags) sorted.push_back(AsciiLower(t));
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& t : sorted) part('t', t);
  for (const auto& [k, v] : query.node_meta) {
    part('m', k);
    part('v', v);
  }
  part('f', query.filter);
  return key;
}

Api::Api(catalog::Catalog& catalog, AgentInfo info, MetricsRegistry* metrics)
    : catalog_(catalog), info_(std::move(info)), metrics_(metrics) {
  routes_ = {
      {"/v1/agent/service/register", true, kPut, &Api::AgentServiceRegister},
      {"/v1/agent/service/deregister/", false, kPutOrGet, &Api::AgentServiceDeregister},
      {"/v1/agent/service/maintenance/", false, kPut, &Api::AgentServiceMaintenance},
      {"/v1/agent/service/", false, kGet, &Api::AgentService},
      {"/v1/agent/services", true, kGet, &Api::AgentServices},
      {"/v1/agent/checks", true, kGet, &Api::AgentChecks},
      {"/v1/agent/check/register", true, kPut, &Api::AgentCheckRegister},
      {"/v1/agent/check/deregister/", false, kPutOrGet, &Api::AgentCheckDeregister},
      {"/v1/agent/check/pass/", false, kPutOrGet, &Api::AgentCheckPass},
      {"/v1/agent/check/warn/", false, kPutOrGet, &Api::AgentCheckWarn},
      {"/v1/agent/check/fail/", false, kPutOrGet, &Api::AgentCheckFail},
      {"/v1/agent/check/update/", false, kPut, &Api::AgentCheckUpdate},
      {"/v1/agent/maintenance", true, kPut, &Api::AgentNodeMaintenance},
      {"/v1/agent/self", true, kGet, &Api::AgentSelf},
      {"/v1/agent/members", true, kGet, &Api::AgentMembers},
      // Single-node no-ops that clients may call (contract section 8).
      {"/v1/agent/reload", true, kPut, &Api::AgentNoop},
      {"/v1/agent/join/", false, kPutOrGet, &Api::AgentNoop},
      {"/v1/agent/force-leave/", false, kPutOrGet, &Api::AgentNoop},
      {"/v1/health/service/", false, kGet, &Api::HealthService},
      {"/v1/health/checks/", false, kGet, &Api::HealthChecks},
      {"/v1/health/state/", false, kGet, &Api::HealthState},
      {"/v1/health/node/", false, kGet, &Api::HealthNode},
      {"/v1/catalog/services", true, kGet, &Api::CatalogServices},
      {"/v1/catalog/service/", false, kGet, &Api::CatalogService},
      {"/v1/catalog/nodes", true, kGet, &Api::CatalogNodes},
      {"/v1/catalog/node/", false, kGet, &Api::CatalogNode},
      {"/v1/catalog/datacenters", true, kGet, &Api::CatalogDatacenters},
      {"/v1/catalog/register", true, kPut, &Api::CatalogRegister},
      {"/v1/catalog/deregister", true, kPut, &Api::CatalogDeregister},
      {"/v1/status/leader", true, kGet, &Api::StatusLeader},
      {"/v1/status/peers", true, kGet, &Api::StatusPeers},
      {"/v1/agent/metrics", true, kGet, &Api::AgentMetrics},
      // The original sketch's /metrics keeps working as an alias.
      {"/metrics", true, kGet, &Api::AgentMetrics},
  };
}

asio::awaitable<HttpResponse> Api::Handle(HttpRequest& request, RequestEnv& env) {
  const auto start = std::chrono::steady_clock::now();
  const Route* route = nullptr;
  HttpResponse response = co_await Dispatch(request, env, &route);
  if (response.content_type == "application/json" && !response.shared_body &&
      request.query.Has("pretty") && !response.body.empty() && response.body.back() != '\n') {
    // Endpoints whose encoders do not indent themselves (agent/self, status, ...).
    response.body = PrettyJson(response.body);
  }
  if (std::string origin = AllowedOrigin(request); !origin.empty()) {
    response.headers.emplace_back("Access-Control-Allow-Origin", origin);
    response.headers.emplace_back("Vary", "Origin");
    response.headers.emplace_back(
        "Access-Control-Expose-Headers",
        "X-Consul-Index, X-Consul-KnownLeader, X-Consul-LastContact, X-Consul-ContentHash");
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CountRequest(route, request.method, response.status, elapsed);
  LogAccess({request.method, request.target, response.status, response.Body().size(),
             std::chrono::duration<double, std::milli>(elapsed).count(), request.peer});
  co_return response;
}

std::string Api::AllowedOrigin(const HttpRequest& request) const {
  if (info_.cors_allowed_origins.empty()) return "";
  std::string origin = request.Header("origin");
  if (origin.empty()) return "";
  for (const std::string& allowed : info_.cors_allowed_origins) {
    if (allowed == "*") return "*";
    if (EqualsIgnoreCase(allowed, origin)) return origin;
  }
  return "";
}

HttpResponse Api::Preflight(const HttpRequest& request, const Route& route) const {
  std::string origin = AllowedOrigin(request);
  if (origin.empty()) {
    return HttpResponse::Text(403, "CORS origin not allowed: " + request.Header("origin"));
  }
  HttpResponse r = HttpResponse::Empty();
  r.status = 204;
  std::string methods;
  for (const auto& m : route.methods) methods += (methods.empty() ? "" : ", ") + m;
  r.headers.emplace_back("Access-Control-Allow-Methods", methods);
  std::string asked = request.Header("access-control-request-headers");
  r.headers.emplace_back("Access-Control-Allow-Headers",
                         asked.empty() ? "Content-Type, X-Consul-Token, Authorization" : asked);
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  return r;
}

void Api::CountRequest(const Route* route, const std::string& method, int status,
                       std::chrono::steady_clock::duration elapsed) {
  if (metrics_ == nullptr) return;
  struct Cached {
    Counter* requests;
    Histogram* duration;
  };
  // Per loop thread: after the first request of a kind, counting costs two atomic adds.
  thread_local std::unordered_map<std::string, Cached> cache;
  const std::string route_name = route ? route->prefix : "unknown";
  std::string key = route_name + ' ' + method + ' ' + std::to_string(status);
  auto it = cache.find(key);
  if (it == cache.end()) {
    Cached c;
    c.requests = metrics_->GetCounter(
        "http.requests", {{"route", route_name}, {"method", method}, {"code", std::to_string(status)}},
        "HTTP requests by route, method and status");
    c.duration = metrics_->GetHistogram("http.request_duration_seconds",
                                        {{"route", route_name}, {"method", method}},
                                        LatencyBucketsSeconds(),
                                        "HTTP request latency (blocking queries include their wait)");
    it = cache.emplace(std::move(key), c).first;
  }
  it->second.requests->Inc();
  it->second.duration->Observe(std::chrono::duration<double>(elapsed).count());
}

asio::awaitable<HttpResponse> Api::Dispatch(HttpRequest& request, RequestEnv& env,
                                            const Route** matched) {
  // Longest matching prefix wins: /v1/agent/service/register before /v1/agent/service/.
  const Route* route = nullptr;
  for (const Route& r : routes_) {
    bool match = r.exact ? request.path == r.prefix
                         : request.path.compare(0, r.prefix.size(), r.prefix) == 0;
    if (match && (route == nullptr || r.prefix.size() > route->prefix.size())) route = &r;
  }
  *matched = route;
  if (route == nullptr) {
    co_return HttpResponse::Text(404, "Invalid URL path: not a recognized HTTP API endpoint");
  }
  if (request.method == "OPTIONS" && !request.Header("access-control-request-method").empty() &&
      !request.Header("origin").empty()) {
    co_return Preflight(request, *route);  // CORS headers are added by Handle()
  }
  if (request.method == "OPTIONS") {
    HttpResponse r = HttpResponse::Empty();
    r.headers.emplace_back("Allow", AllowHeader(route->methods));
    co_return r;
  }
  bool allowed = false;
  for (const auto& m : route->methods) allowed = allowed || m == request.method;
  if (!allowed) {
    HttpResponse r = HttpResponse::Text(405, "method " + request.method + " not allowed");
    r.headers.emplace_back("Allow", AllowHeader(route->methods));
    co_return r;
  }
  auto query = ParseQueryOptions(request);
  if (!query.ok()) co_return ErrorResponse(query.status());
  Call call{request, env, request.path.substr(route->prefix.size()), std::move(*query)};
  if (call.query.consistent && cluster_ != nullptr && request.method == "GET") {
    Status confirmed = co_await ConfirmConsistent(call);
    if (!confirmed.ok()) co_return HttpResponse::Text(500, confirmed.message());
  }
  co_return co_await (this->*(route->endpoint))(call);
}

Result<QueryOptions> Api::ParseQueryOptions(const HttpRequest& request) const {
  QueryOptions q;
  const QueryParams& p = request.query;
  if (auto dc = p.Get("dc"); dc && !dc->empty() && *dc != info_.datacenter) {
    return Internal("No path to datacenter");
  }
  if (auto index = p.Get("index")) {
    char* end = nullptr;
    errno = 0;
    q.index = std::strtoull(index->c_str(), &end, 10);
    if (index->empty() || *end != '\0' || errno == ERANGE || (*index)[0] == '-') {
      return InvalidArgument("Invalid index");
    }
  }
  if (auto wait = p.Get("wait")) {
    auto d = ParseGoDuration(*wait);
    if (!d.ok()) return InvalidArgument("Invalid wait time");
    q.wait = *d;
  }
  q.stale = p.Has("stale");
  q.consistent = p.Has("consistent");
  if (q.stale && q.consistent) {
    return InvalidArgument("Cannot specify ?stale with ?consistent, conflicting semantics.");
  }
  if (p.Has("cached") && q.consistent) {
    return InvalidArgument("Cannot specify ?cached with ?consistent, conflicting semantics.");
  }
  if (auto max_stale = p.Get("max_stale")) {
    auto d = ParseGoDuration(*max_stale);
    if (!d.ok()) return InvalidArgument("Invalid max_stale value \"" + *max_stale + "\"");
    if (d->count() > 0) q.stale = true;
  }
  q.pretty = p.Has("pretty");
  q.filter = p.Get("filter").value_or("");
  for (const std::string& pair : p.GetAll("node-meta")) {
    size_t colon = pair.find(':');
    q.node_meta.emplace_back(pair.substr(0, colon),
                             colon == std::string::npos ? "" : pair.substr(colon + 1));
  }
  return q;
}

bool Api::NodeMetaMatches(const QueryOptions& q, const catalog::Node& node) const {
  for (const auto& [key, value] : q.node_meta) {
    auto it = node.meta.find(key);
    if (it == node.meta.end() || it->second != value) return false;
  }
  return true;
}

namespace {

using Done = std::function<void(const Status&, uint64_t)>;

// Calls `start(done)`, where `done` may run on another thread (the catalog's writer, the
// cluster's worker), and resumes on this coroutine's loop with what `done` got.
asio::awaitable<std::pair<Status, uint64_t>> ResumeOnLoop(std::function<void(Done)> start) {
  auto executor = co_await asio::this_coro::executor;
  auto [status, index] = co_await asio::async_initiate<decltype(kTuple), void(Status, uint64_t)>(
      [executor](auto handler, std::function<void(Done)> begin) {
        // `done` is a std::function (copyable); Asio handlers are move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        begin([shared, executor](const Status& s, uint64_t idx) {
          // Gathered with the commit's other posts to this loop (net::PostBatch).
          net::Post(executor, [shared, s, idx]() mutable { (*shared)(s, idx); });
        });
      },
      kTuple, std::move(start));
  co_return std::pair<Status, uint64_t>(status, index);
}

}  // namespace

asio::awaitable<Status> Api::Write(Call& call, catalog::WriteRequest request) {
  // The completion is posted after the writer's snapshot post to the same loop, so when this
  // resumes the loop already answers reads from a snapshot that includes the write. The
  // connection is the write's source: a client's requests on it come one after another.
  const auto source = reinterpret_cast<uintptr_t>(&call.env.socket);
  std::function<void(Done)> submit = [this, &request, source](Done done) {
    catalog_.Submit(std::move(request), std::move(done), source);
  };
  auto result = co_await ResumeOnLoop(std::move(submit));
  co_return result.first;
}

asio::awaitable<catalog::SnapshotPtr> Api::AwaitReady(
    Call& call, const std::string& watch_key,
    const std::function<bool(const catalog::Snapshot&)>& ready) {
  LoopState& loop = call.env.loop;
  if (call.query.index == 0) co_return loop.snapshot;
  auto wait = call.query.wait;
  if (wait.count() <= 0) wait = kDefaultWait;
  if (wait > kMaxWait) wait = kMaxWait;
  // Random extra of up to wait/16 so many watchers do not come back at once (contract 2.3.4).
  auto jitter_range = std::max<int64_t>(wait.count() / 16, 1);
  auto jitter = std::chrono::nanoseconds(
      std::uniform_int_distribution<int64_t>(0, jitter_range - 1)(loop.rng));
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait + jitter);

  WatchRegistry::Waiter waiter(co_await asio::this_coro::executor);
  // While parked, the socket is watched for the client closing the connection (or pipelining a
  // request) with a plain completion handler that cuts the wait short. Not `timer || socket`:
  // that parallel group costs two more coroutine frames, ~2.5 KB per parked query.
  struct SocketWatch {
    WatchRegistry::Waiter* waiter = nullptr;  // null once the query stopped waiting
    bool pending = false;                     // the peek below is outstanding
    bool readable = false;
    char peeked = 0;
  };
  auto watch = std::make_shared<SocketWatch>();
  struct StopWatching {  // on every way out: the handler must not touch this frame any more
    std::shared_ptr<SocketWatch> watch;
    tcp::socket& socket;
    ~StopWatching() {
      watch->waiter = nullptr;
      if (watch->pending) {
        boost::system::error_code ignored;
        socket.cancel(ignored);  // only the wait is outstanding while a query is handled
      }
    }
  } stop_watching{watch, call.env.socket};
  bool watch_socket = true;
  for (;;) {
    catalog::SnapshotPtr snap = loop.snapshot;
    if (ready(*snap) || loop.draining || std::chrono::steady_clock::now() >= deadline) {
      co_return snap;  // draining: shutdown answers parked queries with what they have
    }
    loop.watches.Park(watch_key, &waiter);
    waiter.timer.expires_at(deadline);
    if (watch_socket && !watch->pending) {
      watch->waiter = &waiter;
      watch->pending = true;
      // A one-byte peek rather than async_wait(wait_read): Asio re-arms the descriptor with an
      // epoll_ctl for every wait, but queues a read on the registration it already has (one
      // system call less per parked query). It completes when a byte arrives (a pipelined
      // request) or the client closes or resets (an error): either way the wait is cut short.
      call.env.socket.async_receive(
          asio::buffer(&watch->peeked, 1), tcp::socket::message_peek,
          [watch](boost::system::error_code ec, size_t) {
            watch->pending = false;
            if (ec == asio::error::operation_aborted || watch->waiter == nullptr) return;
            watch->readable = true;
            watch->waiter->timer.cancel();
          });
    }
    co_await waiter.timer.async_wait(kTuple);
    loop.watches.Unpark(&waiter);
    if (watch->readable) {
      watch->readable = false;
      boost::system::error_code ec;
      size_t available = call.env.socket.available(ec);
      if (ec || available == 0) {
        // The client closed the connection: stop waiting; the server drops the connection.
        call.env.socket.close(ec);
        co_return loop.snapshot;
      }
      watch_socket = false;  // a pipelined request is waiting: stop polling the socket
    }
  }
}

asio::awaitable<catalog::SnapshotPtr> Api::AwaitIndex(
    Call& call, const std::string& watch_key,
    const std::function<uint64_t(const catalog::Snapshot&)>& index_of) {
  uint64_t min = call.query.index;
  co_return co_await AwaitReady(call, watch_key,
                                [&](const catalog::Snapshot& s) { return index_of(s) > min; });
}

asio::awaitable<Status> Api::ConfirmConsistent(Call& call) {
  std::function<void(Done)> confirm = [this](Done done) {
    cluster_->ConfirmIndex([done = std::move(done)](Result<uint64_t> r) {
      done(r.ok() ? Status() : r.status(), r.ok() ? *r : 0);
    });
  };
  auto [status, index] = co_await ResumeOnLoop(std::move(confirm));
  if (!status.ok()) co_return Status(StatusCode::kUnavailable, "No cluster leader: " + status.message());
  auto executor = co_await asio::this_coro::executor;
  // The view catches up through the store's watch; wait for it (bounded).
  LoopState& loop = call.env.loop;
  asio::steady_timer timer(executor);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (loop.snapshot->index < index) {
    if (std::chrono::steady_clock::now() >= give_up) {
      co_return Status(StatusCode::kUnavailable,
                       "consistent read: this agent's view did not catch up with the cluster");
    }
    timer.expires_after(std::chrono::milliseconds(2));
    co_await timer.async_wait(kTuple);
  }
  co_return Status();
}

void Api::AddBlockingHeaders(const Call& call, uint64_t index, HttpResponse& response) const {
  response.headers.emplace_back("X-Consul-Index", std::to_string(index == 0 ? 1 : index));
  if (cluster_ != nullptr) {
    response.headers.emplace_back("X-Consul-KnownLeader",
                                  cluster_->Leader().empty() ? "false" : "true");
    response.headers.emplace_back(
        "X-Consul-LastContact",
        std::to_string(call.query.consistent ? 0 : cluster_->LastContactMs()));
  } else {
    response.headers.emplace_back("X-Consul-KnownLeader", "true");
    response.headers.emplace_back("X-Consul-LastContact", "0");
  }
  response.headers.emplace_back(
      "X-Consul-Effective-Consistency",
      call.query.stale ? "stale" : (call.query.consistent ? "consistent" : "leader"));
}

}  // namespace beacon::http
