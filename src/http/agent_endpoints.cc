// /v1/agent/*: the local agent's services and checks, TTL updates, maintenance, self and members
// (contract 4.1-4.10, 4.16, 4.17). Agent endpoints send no X-Consul-Index headers (1.4).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <boost/asio/use_awaitable.hpp>

#include "http/api.h"
#include "wire/decode.h"
#include "wire/encode.h"
#include "wire/filter.h"

namespace beacon::http {

namespace asio = boost::asio;

namespace {

// FNV-1a, 64 bit: a cheap, stable content hash for agent/service (the value is opaque to clients).
std::string ContentHash(std::string_view bytes) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Presence with "", "true" or "1" means true (contract 4.1 [Beacon]).
bool ReplaceExistingChecks(const QueryParams& q) {
  auto v = q.Get("replace-existing-checks");
  if (!v) return false;
  if (v->empty()) return true;
  return ParseGoBool(*v).value_or(false);
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
void KV(JsonWriter& w, std::string_view k, std::string_view v) {
  Str(w, k);
  Str(w, v);
}

void WriteMember(JsonWriter& w, const AgentInfo& info) {
  w.StartObject();
  KV(w, "Name", info.node_name);
  KV(w, "Addr", info.address);
  Str(w, "Port");
  w.Int(8301);
  Str(w, "Tags");
  w.StartObject();
  KV(w, "role", "consul");
  KV(w, "dc", info.datacenter);
  KV(w, "port", "8300");
  KV(w, "id", info.node_id);
  KV(w, "vsn", "2");
  KV(w, "vsn_min", "2");
  KV(w, "vsn_max", "3");
  KV(w, "build", info.version);
  KV(w, "bootstrap", "1");
  KV(w, "segment", "");
  w.EndObject();
  Str(w, "Status");
  w.Int(1);
  const std::pair<const char*, int> protocol[] = {{"ProtocolMin", 1}, {"ProtocolMax", 5},
                                                  {"ProtocolCur", 2}, {"DelegateMin", 2},
                                                  {"DelegateMax", 5}, {"DelegateCur", 4}};
  for (const auto& [k, v] : protocol) {
    Str(w, k);
    w.Int(v);
  }
  w.EndObject();
}

}  // namespace

asio::awaitable<HttpResponse> Api::AgentServiceRegister(Call& call) {
  auto req = wire::DecodeAgentServiceRegister(call.request.body);
  if (!req.ok()) co_return ErrorResponse(req.status());
  req->replace_existing_checks = ReplaceExistingChecks(call.request.query);
  catalog::WriteRequest request = std::move(*req);
  Status s = co_await Write(call, std::move(request));
  if (!s.ok()) co_return ErrorResponse(s);
  co_return HttpResponse::Empty();
}

asio::awaitable<HttpResponse> Api::AgentServiceDeregister(Call& call) {
  if (call.name.empty()) co_return HttpResponse::Text(400, "Missing service ID");
  // GCC 12 miscompiles brace-initialised temporaries inside a co_await expression (double
  // destruction); every request is built as a named local first.
  catalog::WriteRequest request = catalog::DeregisterService{call.name};
  Status s = co_await Write(call, std::move(request));
  if (!s.ok()) co_return ErrorResponse(s);
  co_return HttpResponse::Empty();
}

asio::awaitable<HttpResponse> Api::AgentServices(Call& call) {
  auto filter = wire::Filter::Parse(call.query.filter, wire::FilterTarget::kAgentService);
  if (!filter.ok()) co_return ErrorResponse(filter.status());
  const catalog::SnapshotPtr snap = call.env.loop.snapshot;
  std::vector<const catalog::Service*> out;
  for (const catalog::Instance* inst : snap->InstancesOnNode(snap->local_node)) {
    if (filter->Matches(*inst->service)) out.push_back(inst->service.get());
  }
  co_return HttpResponse::Json(
      wire::EncodeAgentServices(out, snap->datacenter, {.pretty = call.query.pretty}));
}

asio::awaitable<HttpResponse> Api::AgentService(Call& call) {
  const std::string id = call.name;
  const std::string datacenter = info_.datacenter;
  auto hash_of = [&id, &datacenter](const catalog::Snapshot& s) -> std::string {
    const catalog::Instance* inst = s.FindLocalService(id);
    return inst ? ContentHash(wire::EncodeAgentService(*inst->service, datacenter, "")) : "";
  };
  // Blocking by content hash (contract 4.4): wait until the hash differs from ?hash.
  catalog::SnapshotPtr snap = call.env.loop.snapshot;
  if (auto want = call.request.query.Get("hash"); want && !want->empty()) {
    const catalog::Instance* inst = snap->FindLocalService(id);
    std::string key = catalog::WatchKeyService(inst ? inst->service->name : id);
    call.query.index = 1;  // enables waiting in AwaitReady; readiness is the hash rule below
    snap = co_await AwaitReady(call, key, [&](const catalog::Snapshot& s) {
      return hash_of(s) != *want;
    });
  }
  const catalog::Instance* inst = snap->FindLocalService(id);
  if (inst == nullptr) co_return HttpResponse::Text(404, "unknown service ID: " + id);
  std::string hash = ContentHash(wire::EncodeAgentService(*inst->service, datacenter, ""));
  HttpResponse r = HttpResponse::Json(wire::EncodeAgentService(*inst->service, datacenter, hash,
                                                               {.pretty = call.query.pretty}));
  r.headers.emplace_back("X-Consul-ContentHash", hash);
  co_return r;
}

asio::awaitable<HttpResponse> Api::AgentChecks(Call& call) {
  auto filter = wire::Filter::Parse(call.query.filter, wire::FilterTarget::kCheck);
  if (!filter.ok()) co_return ErrorResponse(filter.status());
  const catalog::SnapshotPtr snap = call.env.loop.snapshot;
  auto checks = snap->ChecksOnNode(snap->local_node);
  std::vector<const catalog::Check*> out;
  for (const auto& c : checks) {
    if (filter->Matches(*c)) out.push_back(c.get());
  }
  co_return HttpResponse::Json(wire::EncodeAgentChecks(out, {.pretty = call.query.pretty}));
}

asio::awaitable<HttpResponse> Api::AgentCheckRegister(Call& call) {
  auto req = wire::DecodeAgentCheckRegister(call.request.body);
  if (!req.ok()) co_return ErrorResponse(req.status());
  catalog::WriteRequest request = std::move(*req);
  Status s = co_await Write(call, std::move(request));
  if (!s.ok()) co_return ErrorResponse(s);
  co_return HttpResponse::Empty();
}

asio::awaitable<HttpResponse> Api::AgentCheckDeregister(Call& call) {
  if (call.name.empty()) co_return HttpResponse::Text(400, "Missing check ID");
  catalog::WriteRequest request = catalog::DeregisterCheck{call.name};
  Status s = co_await Write(call, std::move(request));
  if (!s.ok()) co_return ErrorResponse(s);
  co_return HttpResponse::Empty();
}

asio::awaitable<HttpResponse> Api::AgentCheckTtl(Call& call, catalog::HealthStatus status) {
  if (call.name.empty()) co_return HttpResponse::Text(400, "Missing check ID");
  catalog::WriteRequest request =
      catalog::UpdateTtl{call.name, status, call.request.query.Get("note").value_or("")};
  Status s = co_await Write(call, std::move(request));
  if (!s.ok()) co_return ErrorResponse(s);
  co_return HttpResponse::Empty();
}

asio::awaitable<HttpResponse> Api::AgentCheckPass(Call& call) {
  co_return co_await AgentCheckTtl(call, catalog::HealthStatus::kPassing);
}
asio::awaitable<HttpResponse> Api::AgentCheckWarn(Call& call) {
  co_return co_await AgentCheckTtl(call, catalog::HealthStatus::kWarning);
}
asio::awaitable<HttpResponse> Api::AgentCheckFail(Call& call) {
  co_return co_await AgentCheckTtl(call, catalog::HealthStatus::kCritical);
}

asio::awaitable<HttpResponse> Api::AgentCheckUpdate(Call& call) {
  if (call.name.empty()) co_return HttpResponse::Text(400, "Missing check ID");
  auto req = wire::DecodeCheckUpdate(call.request.body);
  if (!req.ok()) co_return ErrorResponse(req.status());
  req->check_id = call.name;
  catalog::WriteRequest request = std::move(*req);
  Status s = co_await Write(call, std::move(request));
  if (!s.ok()) co_return ErrorResponse(s);
  co_return HttpResponse::Empty();
}

namespace {
// `enable` is a real boolean here, not a presence flag (contract 4.10, checklist 14).
Result<bool> ParseEnable(const QueryParams& q) {
  auto v = q.Get("enable");
  if (!v) return InvalidArgument("Missing value for enable");
  auto b = ParseGoBool(*v);
  if (!b) return InvalidArgument("Invalid value for enable: \"" + *v + "\"");
  return *b;
}
}  // namespace

asio::awaitable<HttpResponse> Api::AgentServiceMaintenance(Call& call) {
  if (call.name.empty()) co_return HttpResponse::Text(400, "Missing service ID");
  auto enable = ParseEnable(call.request.query);
  if (!enable.ok()) co_return ErrorResponse(enable.status());
  catalog::WriteRequest request =
      catalog::SetMaintenance{call.name, *enable, call.request.query.Get("reason").value_or("")};
  Status s = co_await Write(call, std::move(request));
  if (!s.ok()) co_return ErrorResponse(s);
  co_return HttpResponse::Empty();
}

asio::awaitable<HttpResponse> Api::AgentNodeMaintenance(Call& call) {
  auto enable = ParseEnable(call.request.query);
  if (!enable.ok()) co_return ErrorResponse(enable.status());
  catalog::WriteRequest request =
      catalog::SetMaintenance{"", *enable, call.request.query.Get("reason").value_or("")};
  Status s = co_await Write(call, std::move(request));
  if (!s.ok()) co_return ErrorResponse(s);
  co_return HttpResponse::Empty();
}

asio::awaitable<HttpResponse> Api::AgentSelf(Call& call) {
  const catalog::SnapshotPtr snap = call.env.loop.snapshot;
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  // Every top-level value is an object or null: Go clients decode agent/self as a map of maps.
  Str(w, "Config");
  w.StartObject();
  KV(w, "Datacenter", info_.datacenter);
  KV(w, "PrimaryDatacenter", info_.datacenter);
  KV(w, "NodeName", info_.node_name);
  KV(w, "NodeID", info_.node_id);
  KV(w, "Revision", "beacon");
  Str(w, "Server");
  w.Bool(true);
  KV(w, "Version", info_.version);
  KV(w, "BuildDate", "");
  Str(w, "SessionTTLMin");  // read by Patroni after a TTL error (contract 4.16 [Beacon])
  w.Int64(10'000'000'000);
  w.EndObject();
  Str(w, "DebugConfig");
  w.StartObject();
  Str(w, "ConnectEnabled");
  w.Bool(false);
  Str(w, "GRPCPort");
  w.Int(-1);
  Str(w, "HTTPPort");
  w.Int(info_.http_port);
  Str(w, "DNSPort");
  w.Int(info_.dns_port);
  w.EndObject();
  Str(w, "Coord");
  w.Null();
  Str(w, "Member");
  WriteMember(w, info_);
  Str(w, "Meta");
  w.StartObject();
  if (const catalog::NodeEntry* node = snap->FindNode(snap->local_node)) {
    for (const auto& [k, v] : node->node->meta) KV(w, k, v);
  }
  w.EndObject();
  Str(w, "Stats");
  w.StartObject();
  Str(w, "agent");
  w.StartObject();
  size_t services = snap->InstancesOnNode(snap->local_node).size();
  KV(w, "services", std::to_string(services));
  KV(w, "checks", std::to_string(snap->ChecksOnNode(snap->local_node).size()));
  w.EndObject();
  Str(w, "beacon");
  w.StartObject();
  KV(w, "version", info_.beacon_version);
  KV(w, "index", std::to_string(snap->index));
  w.EndObject();
  w.EndObject();
  w.EndObject();
  co_return HttpResponse::Json(std::string(buf.GetString(), buf.GetSize()));
}

asio::awaitable<HttpResponse> Api::AgentMembers(Call&) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  WriteMember(w, info_);
  w.EndArray();
  co_return HttpResponse::Json(std::string(buf.GetString(), buf.GetSize()));
}

asio::awaitable<HttpResponse> Api::AgentNoop(Call&) { co_return HttpResponse::Empty(); }

asio::awaitable<HttpResponse> Api::AgentMetrics(Call& call) {
  if (metrics_ == nullptr) co_return HttpResponse::Text(404, "metrics are disabled");
  // Prometheus text with ?format=prometheus or an Accept header asking for it (contract 4.18;
  // [Beacon] always enabled).
  std::string accept = call.request.Header("accept");
  bool prometheus = call.request.query.Get("format").value_or("") == "prometheus" ||
                    accept.find("application/openmetrics-text") != std::string::npos ||
                    accept.find("text/plain;version=0.0.4") != std::string::npos ||
                    accept.find("text/plain; version=0.0.4") != std::string::npos;
  if (prometheus) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_->RenderPrometheus();
    co_return r;
  }
  co_return HttpResponse::Json(metrics_->RenderJson());
}

}  // namespace beacon::http
