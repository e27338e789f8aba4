// Client: request building, error mapping and decoding for each API call. The single place that
// turns an HTTP answer into a Status is StatusFromResponse below.
#include "beacon/client.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "beacon/json.h"
#include "beacon/transport.h"
#include "client/json_decode.h"
#include "client/macros.h"

namespace beacon::client {

namespace {

// The agent's cap on a blocking wait and its default (consul-api.md 2.3).
constexpr std::chrono::milliseconds kMaxWait = std::chrono::minutes(10);
constexpr std::chrono::milliseconds kDefaultWait = std::chrono::minutes(5);

bool Unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Percent-encodes everything but RFC 3986's unreserved characters: a '/' inside a service ID
// becomes %2F, which the agent decodes back (consul-api.md 1.1).
std::string Escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (Unreserved(c)) {
      out.push_back(c);
    } else {
      auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  }
  return out;
}

// Builds "path?k=v&k2" one parameter at a time.
class Target {
 public:
  explicit Target(std::string path) : s_(std::move(path)) {}
  Target& Flag(std::string_view key) {
    s_ += sep_;
    s_ += key;
    sep_ = '&';
    return *this;
  }
  Target& Param(std::string_view key, std::string_view value) {
    Flag(key);
    s_ += '=';
    s_ += Escape(value);
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
  char sep_ = '?';
};

uint64_t ParseU64(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::string TrimBody(std::string_view body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) {
    body.remove_suffix(1);
  }
  constexpr size_t kMax = 512;
  if (body.size() > kMax) {
    return std::string(body.substr(0, kMax)) + "...";
  }
  return std::string(body);
}

// The one mapping from an HTTP answer to a Status (client.h lists it).
Status StatusFromResponse(const HttpResponse& r) {
  if (r.status >= 200 && r.status < 300) {
    return Status();
  }
  StatusCode code = StatusCode::kInternal;
  switch (r.status) {
    case 400:
      code = StatusCode::kInvalidArgument;
      break;
    case 401:
    case 403:
      code = StatusCode::kPermissionDenied;
      break;
    case 404:
      code = StatusCode::kNotFound;
      break;
    case 409:
      code = StatusCode::kAborted;
      break;
    case 413:
    case 429:
      code = StatusCode::kResourceExhausted;
      break;
    case 502:
    case 503:
    case 504:
      code = StatusCode::kUnavailable;
      break;
    default:
      code = r.status >= 500 ? StatusCode::kInternal : StatusCode::kInvalidArgument;
  }
  // Consul's Go client words it the same way ("Unexpected response code: 404 (...)").
  std::string message = "Unexpected response code: " + std::to_string(r.status);
  std::string body = TrimBody(r.body);
  if (!body.empty()) {
    message += " (" + body + ")";
  }
  return Status(code, std::move(message));
}

}  // namespace

struct Client::Impl {
  ClientOptions options;
  std::shared_ptr<HttpTransport> transport;
  std::string token;

  Result<HttpResponse> Send(std::string method, std::string target, std::string body,
                            std::chrono::milliseconds timeout, std::stop_token stop) {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.timeout = timeout;
    if (!token.empty()) {
      req.headers.emplace_back("X-Consul-Token", token);
    }
    if (!req.body.empty()) {
      req.headers.emplace_back("Content-Type", "application/json");
    }
    BEACON_CLIENT_ASSIGN_OR_RETURN(HttpResponse r, transport->RoundTrip(req, stop));
    Status s = StatusFromResponse(r);
    if (!s.ok()) {
      return s.WithContext(req.method + " " + req.target);
    }
    return r;
  }

  Status Write(std::string target, std::string body = "") {
    auto r = Send("PUT", std::move(target), std::move(body), options.timeout, {});
    return r.status();
  }

  // A read with query options: adds the common parameters, sets the timeout from the wait and
  // fills `meta` from the answer's headers.
  Result<HttpResponse> Read(Target target, const QueryOptions& q, QueryMeta* meta) {
    if (q.allow_stale && q.require_consistent) {
      return InvalidArgumentError("allow_stale and require_consistent conflict");
    }
    const std::string& dc = q.datacenter.empty() ? options.datacenter : q.datacenter;
    if (!dc.empty()) {
      target.Param("dc", dc);
    }
    if (q.allow_stale) {
      target.Flag("stale");
    }
    if (q.require_consistent) {
      target.Flag("consistent");
    }
    std::chrono::milliseconds timeout = options.timeout;
    if (q.wait_index > 0) {
      target.Param("index", std::to_string(q.wait_index));
      std::chrono::milliseconds wait = kDefaultWait;
      if (q.wait_time.count() > 0) {
        wait = std::min(q.wait_time, kMaxWait);
        target.Param("wait", std::to_string(wait.count()) + "ms");
      }
      // The agent may hold the query for wait + wait/16 (its jitter): never give up before.
      timeout += wait + wait / 16;
    }
    if (!q.filter.empty()) {
      target.Param("filter", q.filter);
    }
    for (const auto& [k, v] : q.node_meta) {
      target.Param("node-meta", k + ":" + v);
    }
    auto start = std::chrono::steady_clock::now();
    BEACON_CLIENT_ASSIGN_OR_RETURN(HttpResponse r, Send("GET", target.str(), "", timeout, q.stop));
    if (meta != nullptr) {
      meta->last_index = ParseU64(r.Header("X-Consul-Index"));
      meta->known_leader = r.Header("X-Consul-KnownLeader") == "true";
      meta->last_contact = std::chrono::milliseconds(ParseU64(r.Header("X-Consul-LastContact")));
      meta->request_time = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - start);
    }
    return r;
  }

  Result<HttpResponse> Get(std::string target) {
    return Send("GET", std::move(target), "", options.timeout, {});
  }
};

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  std::unique_ptr<Client> client(new Client());
  client->impl_ = std::make_unique<Impl>();
  Impl& impl = *client->impl_;
  std::string address = options.address;
  if (address.empty()) {
    // Read once, at creation: getenv is not safe against concurrent setenv.
    if (const char* env = std::getenv("CONSUL_HTTP_ADDR"); env != nullptr && *env != '\0') {
      address = env;
    } else {
      address = "127.0.0.1:8500";
    }
  }
  impl.token = options.token;
  if (impl.token.empty()) {
    if (const char* env = std::getenv("CONSUL_HTTP_TOKEN"); env != nullptr) {
      impl.token = env;
    }
  }
  if (options.timeout.count() <= 0) {
    return InvalidArgumentError("client timeout must be positive");
  }
  if (options.transport) {
    impl.transport = options.transport;
    client->address_ = address;
  } else {
    BEACON_CLIENT_ASSIGN_OR_RETURN(HttpAddress parsed, ParseHttpAddress(address));
    client->address_ = parsed.ToString();
    impl.transport = MakeHttpTransport(std::move(parsed), options.max_idle_connections);
  }
  impl.options = std::move(options);
  return client;
}

Client::~Client() = default;

Status Client::RegisterService(const ServiceRegistration& service, bool replace_existing_checks) {
  if (service.name.empty()) {
    return InvalidArgumentError("register service: missing service name");
  }
  Target t("/v1/agent/service/register");
  if (replace_existing_checks) {
    t.Param("replace-existing-checks", "true");
  }
  return impl_->Write(t.str(), ToJson(service));
}

Status Client::DeregisterService(std::string_view service_id) {
  if (service_id.empty()) {
    return InvalidArgumentError("deregister service: missing service ID");
  }
  return impl_->Write("/v1/agent/service/deregister/" + Escape(service_id));
}

Status Client::UpdateTtl(std::string_view check_id, HealthStatus status, std::string_view note) {
  if (check_id.empty()) {
    return InvalidArgumentError("update TTL check: missing check ID");
  }
  std::string_view verb = status == HealthStatus::kPassing   ? "pass"
                          : status == HealthStatus::kWarning ? "warn"
                                                             : "fail";
  Target t("/v1/agent/check/" + std::string(verb) + "/" + Escape(check_id));
  if (!note.empty()) {
    t.Param("note", note);
  }
  return impl_->Write(t.str());
}

Status Client::PassTtl(std::string_view check_id, std::string_view note) {
  return UpdateTtl(check_id, HealthStatus::kPassing, note);
}
Status Client::WarnTtl(std::string_view check_id, std::string_view note) {
  return UpdateTtl(check_id, HealthStatus::kWarning, note);
}
Status Client::FailTtl(std::string_view check_id, std::string_view note) {
  return UpdateTtl(check_id, HealthStatus::kCritical, note);
}

Result<QueryResult<CatalogServiceMap>> Client::CatalogServices(const QueryOptions& q) {
  QueryMeta meta;
  BEACON_CLIENT_ASSIGN_OR_RETURN(HttpResponse r,
                                 impl_->Read(Target("/v1/catalog/services"), q, &meta));
  BEACON_CLIENT_ASSIGN_OR_RETURN(CatalogServiceMap value, json::DecodeCatalogServices(r.body));
  return QueryResult<CatalogServiceMap>{std::move(value), meta};
}

Result<QueryResult<std::vector<ServiceEntry>>> Client::HealthService(
    std::string_view service, const HealthServiceOptions& opts, const QueryOptions& q) {
  if (service.empty()) {
    return InvalidArgumentError("health service: missing service name");
  }
  Target t("/v1/health/service/" + Escape(service));
  if (opts.passing_only) {
    t.Flag("passing");
  }
  for (const std::string& tag : opts.tags) {
    t.Param("tag", tag);
  }
  QueryMeta meta;
  BEACON_CLIENT_ASSIGN_OR_RETURN(HttpResponse r, impl_->Read(std::move(t), q, &meta));
  BEACON_CLIENT_ASSIGN_OR_RETURN(std::vector<ServiceEntry> value,
                                 json::DecodeServiceEntries(r.body));
  return QueryResult<std::vector<ServiceEntry>>{std::move(value), meta};
}

Result<std::map<std::string, AgentService>> Client::AgentServices(std::string_view filter) {
  Target t("/v1/agent/services");
  if (!filter.empty()) {
    t.Param("filter", filter);
  }
  BEACON_CLIENT_ASSIGN_OR_RETURN(HttpResponse r, impl_->Get(t.str()));
  return json::DecodeAgentServices(r.body);
}

Result<std::map<std::string, HealthCheck>> Client::AgentChecks() {
  BEACON_CLIENT_ASSIGN_OR_RETURN(HttpResponse r, impl_->Get("/v1/agent/checks"));
  return json::DecodeAgentChecks(r.body);
}

Result<std::vector<Member>> Client::Members() {
  BEACON_CLIENT_ASSIGN_OR_RETURN(HttpResponse r, impl_->Get("/v1/agent/members"));
  return json::DecodeMembers(r.body);
}

Result<std::string> Client::Leader() {
  BEACON_CLIENT_ASSIGN_OR_RETURN(HttpResponse r, impl_->Get("/v1/status/leader"));
  return json::DecodeString(r.body);
}

Result<AgentMetrics> Client::Metrics() {
  BEACON_CLIENT_ASSIGN_OR_RETURN(HttpResponse r, impl_->Get("/v1/agent/metrics"));
  return json::DecodeMetrics(r.body);
}

}  // namespace beacon::client
