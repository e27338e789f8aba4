// etcd client over the JSON gateway (contract in client.h).
//
// Every call is one POST to one member, made on a pooled keep-alive connection. On failure the
// call moves to the next endpoint, at most once around the list, starting from the endpoint that
// last answered. What may be retried elsewhere follows etcd's own clientv3 retry policy:
//   - a request that never reached a member (connect failed, write failed) is always retried;
//   - a request a member rejected before proposing it ("no leader", "not leader") likewise;
//   - a request whose outcome is unknown (timed out or cut off after it was sent, "request
//     timed out", other 5xx answers) is retried only when replaying it is harmless: reads,
//     keep-alives, lease grants (an orphaned lease just expires) and revokes. A txn that writes
//     is not: replaying a compare-and-swap that did apply would report a failed compare.
//     Such a call returns Unavailable saying the outcome is unknown; the caller re-reads.
#include "etcd/client.h"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <mutex>
#include <string_view>
#include <utility>

#include "etcd/gateway_codec.h"
#include "etcd/http_connection.h"
#include "etcd/watcher.h"

namespace beacon::etcd {

namespace beast = boost::beast;
namespace http = beast::http;
using internal::HttpConnection;

namespace {

constexpr uint64_t kMaxResponseBytes = uint64_t{512} << 20;  // a full-keyspace range can be big
constexpr size_t kMaxIdleConnections = 8;  // about the number of threads that call concurrently

enum class Replay {
  kSafe,    // replaying the request has no effect beyond the first time (or none that matters)
  kUnsafe,  // replaying could apply it twice: only retry when it provably never applied
};

std::string Describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    return "timed out";
  }
  return ec.message();
}

// How one attempt on one endpoint ended.
struct Attempt {
  enum class Kind {
    kAnswered,      // a final answer (success or an error not worth another member)
    kNotSent,       // the request never reached the member
    kRejected,      // the member refused it before proposing it
    kMaybeApplied,  // no (useful) answer after the request was sent
  };
  Kind kind = Kind::kAnswered;
  Result<std::string> body = std::string();  // kAnswered: the response body or the final error
  std::string error;                         // otherwise: what went wrong, for messages
};

}  // namespace

// ---- Op factories ------------------------------------------------------------------------------

namespace {
Op MakeOp(Op::Kind kind, std::string key) {
  Op op;
  op.kind = kind;
  op.key = std::move(key);
  return op;
}
}  // namespace

Op Op::Put(std::string key, std::string value, int64_t lease) {
  Op op = MakeOp(Kind::kPut, std::move(key));
  op.value = std::move(value);
  op.lease = lease;
  return op;
}
Op Op::Delete(std::string key) { return MakeOp(Kind::kDelete, std::move(key)); }
Op Op::DeletePrefix(std::string prefix) { return MakeOp(Kind::kDeletePrefix, std::move(prefix)); }
Op Op::Get(std::string key) { return MakeOp(Kind::kRange, std::move(key)); }
Op Op::GetPrefix(std::string prefix) { return MakeOp(Kind::kRangePrefix, std::move(prefix)); }

// ---- Impl --------------------------------------------------------------------------------------

struct Client::Impl {
  ClientOptions options;
  std::vector<internal::Endpoint> endpoints;
  std::atomic<size_t> preferred{0};  // index of the endpoint that answered last

  struct IdleConnection {
    size_t endpoint;  // index into `endpoints`
    std::unique_ptr<HttpConnection> conn;
  };
  std::mutex mu;
  std::vector<IdleConnection> idle;  // guarded by mu; newest last

  // An idle connection to endpoint `ep` that still looks open, or null.
  std::unique_ptr<HttpConnection> TakeIdle(size_t ep) {
    std::lock_guard lock(mu);
    for (size_t i = idle.size(); i-- > 0;) {
      if (idle[i].endpoint != ep) {
        continue;
      }
      std::unique_ptr<HttpConnection> conn = std::move(idle[i].conn);
      idle.erase(idle.begin() + static_cast<std::ptrdiff_t>(i));
      if (conn->LooksReusable()) {
        return conn;
      }
    }
    return nullptr;
  }

  void PutIdle(size_t ep, std::unique_ptr<HttpConnection> conn) {
    std::lock_guard lock(mu);
    if (idle.size() < kMaxIdleConnections) {
      idle.push_back({ep, std::move(conn)});
    }
  }

  Attempt Try(size_t ep, const std::string& path, const std::string& body, Replay replay) {
    const internal::Endpoint& endpoint = endpoints[ep];
    internal::Request req(http::verb::post, path, 11);
    req.set(http::field::host, endpoint.host_header);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "beacon-etcd");
    // gRPC metadata "hasleader" (clientv3's WithRequireLeader): a member that has lost its
    // leader answers "no leader" at once instead of holding the request until it times out.
    req.set("Grpc-Metadata-hasleader", "true");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();

    Attempt out;
    // A pooled connection the member closed just as we took it shows up as a failed write or an
    // empty read. Such a request is sent once more on a fresh connection to the same member when
    // that is safe (always for the write, since nothing reached the member).
    std::unique_ptr<HttpConnection> conn = TakeIdle(ep);
    for (int round = 0; round < 2; ++round) {
      const bool reused = conn != nullptr;
      if (!reused) {
        conn = std::make_unique<HttpConnection>(endpoint);
        if (beast::error_code ec = conn->Connect(options.connect_timeout)) {
          out.kind = Attempt::Kind::kNotSent;
          out.error = "connect: " + Describe(ec);
          return out;
        }
      }
      if (beast::error_code ec = conn->Write(req, options.request_timeout)) {
        conn.reset();
        out.kind = Attempt::Kind::kNotSent;
        out.error = "write: " + Describe(ec);
        if (reused && ec != beast::error::timeout) {
          continue;
        }
        return out;
      }
      internal::ResponseParser parser;
      parser.body_limit(kMaxResponseBytes);
      if (beast::error_code ec = conn->Read(parser, options.request_timeout)) {
        conn.reset();
        out.kind = Attempt::Kind::kMaybeApplied;
        out.error = "read: " + Describe(ec);
        const bool closed_before_reply =
            !parser.got_some() &&
            (ec == http::error::end_of_stream || ec == boost::asio::error::connection_reset ||
             ec == boost::asio::error::eof);
        if (reused && closed_before_reply && replay == Replay::kSafe) {
          continue;
        }
        return out;
      }
      auto& res = parser.get();
      const int status = static_cast<int>(res.result_int());
      if (res.keep_alive()) {
        PutIdle(ep, std::move(conn));
      }
      if (status >= 200 && status < 300) {
        out.kind = Attempt::Kind::kAnswered;
        out.body = std::move(res.body());
        return out;
      }
      std::optional<internal::GatewayError> err = internal::ParseGatewayError(res.body());
      if (!err) {
        err = internal::GatewayError{0, "HTTP " + std::to_string(status) + " " +
                                            std::string(res.reason()) + ": " +
                                            res.body().substr(0, 200)};
      }
      if (internal::IsRejectedBeforeProposal(*err)) {
        out.kind = Attempt::Kind::kRejected;
      } else if (status >= 500 || internal::IsRetryableOnOtherMember(*err)) {
        out.kind = Attempt::Kind::kMaybeApplied;
      } else {
        out.kind = Attempt::Kind::kAnswered;
        out.body = internal::StatusFromGatewayError(*err, "etcd " + path);
        return out;
      }
      out.error = err->message;
      return out;
    }
    return out;
  }

  // POSTs `body` to `path`, failing over as the file comment describes. `what` names the call
  // in error messages ("txn", "lease grant").
  Result<std::string> Call(const std::string& path, const std::string& body, Replay replay,
                           std::string_view what) {
    const size_t n = endpoints.size();
    const size_t start = preferred.load();
    std::string tried;
    for (size_t i = 0; i < n; ++i) {
      const size_t ep = (start + i) % n;
      Attempt a = Try(ep, path, body, replay);
      if (a.kind == Attempt::Kind::kAnswered) {
        preferred.store(ep);
        return std::move(a.body);
      }
      if (a.kind == Attempt::Kind::kMaybeApplied && replay == Replay::kUnsafe) {
        // The caller will likely retry after a re-read: point it at another member, since this
        // one may be cut off.
        preferred.store((ep + 1) % n);
        return Unavailable("etcd " + std::string(what) + ": " + endpoints[ep].url + ": " + a.error +
                           "; the outcome is unknown (the request may have been " +
                           "applied), so it was not retried");
      }
      tried += (tried.empty() ? "" : "; ") + endpoints[ep].url + ": " + a.error;
    }
    return Unavailable("etcd " + std::string(what) + ": no endpoint answered (" + tried + ")");
  }
};

// ---- Client ------------------------------------------------------------------------------------

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  if (options.endpoints.empty()) {
    return InvalidArgument("etcd client: no endpoints");
  }
  if (options.connect_timeout.count() <= 0 || options.request_timeout.count() <= 0) {
    return InvalidArgument("etcd client: timeouts must be positive");
  }
  std::vector<internal::Endpoint> endpoints;
  for (const std::string& url : options.endpoints) {
    BEACON_ASSIGN_OR_RETURN(internal::Endpoint ep, internal::ParseEndpoint(url));
    endpoints.push_back(std::move(ep));
  }
  std::unique_ptr<Client> client(new Client(std::move(options)));
  client->impl_->endpoints = std::move(endpoints);
  return client;
}

Result<RangeResult> Client::Get(const std::string& key, bool serializable) {
  BEACON_ASSIGN_OR_RETURN(
      std::string body,
      impl_->Call("/v3/kv/range", internal::RangeRequestJson(key, false, serializable),
                  Replay::kSafe, "range"));
  return internal::ParseRangeResponse(body);
}

Result<RangeResult> Client::GetPrefix(const std::string& prefix, bool serializable) {
  BEACON_ASSIGN_OR_RETURN(
      std::string body,
      impl_->Call("/v3/kv/range", internal::RangeRequestJson(prefix, true, serializable),
                  Replay::kSafe, "range"));
  return internal::ParseRangeResponse(body);
}

Result<TxnResult> Client::Txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                              const std::vector<Op>& failure) {
  const Replay replay = internal::HasWrites(success) || internal::HasWrites(failure)
                            ? Replay::kUnsafe
                            : Replay::kSafe;
  BEACON_ASSIGN_OR_RETURN(
      std::string body,
      impl_->Call("/v3/kv/txn", internal::TxnRequestJson(compares, success, failure), replay,
                  "txn"));
  return internal::ParseTxnResponse(body, success, failure);
}

Result<int64_t> Client::LeaseGrant(std::chrono::seconds ttl) {
  if (ttl.count() <= 0) {
    return InvalidArgument("etcd lease grant: ttl must be positive");
  }
  // Safe to replay: a lease granted by an attempt whose answer was lost is never kept alive
  // and expires after `ttl`.
  BEACON_ASSIGN_OR_RETURN(
      std::string body, impl_->Call("/v3/lease/grant", internal::LeaseGrantRequestJson(ttl.count()),
                                    Replay::kSafe, "lease grant"));
  return internal::ParseLeaseGrantResponse(body);
}

Result<int64_t> Client::LeaseKeepAlive(int64_t lease) {
  // A streaming endpoint: one request in the body, one {"result":...} back, then the gateway
  // ends the stream because our request body has ended.
  BEACON_ASSIGN_OR_RETURN(std::string body,
                          impl_->Call("/v3/lease/keepalive", internal::LeaseIdRequestJson(lease),
                                      Replay::kSafe, "lease keepalive"));
  return internal::ParseLeaseKeepAliveResponse(body, lease);
}

Status Client::LeaseRevoke(int64_t lease) {
  // etcd 3.4 serves both /v3/lease/revoke and the older /v3/kv/lease/revoke; the first is the
  // documented one. Replaying is harmless: the lease is gone either way, though a replay after a
  // lost answer reports NotFound.
  BEACON_ASSIGN_OR_RETURN(std::string body,
                          impl_->Call("/v3/lease/revoke", internal::LeaseIdRequestJson(lease),
                                      Replay::kSafe, "lease revoke"));
  if (auto err = internal::ParseGatewayError(body)) {
    return internal::StatusFromGatewayError(*err, "etcd lease revoke");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Watch>> Client::WatchPrefix(const std::string& prefix,
                                                   int64_t start_revision,
                                                   std::function<void(WatchUpdate)> callback,
                                                   bool progress_notify) {
  if (!callback) {
    return InvalidArgument("etcd watch: no callback");
  }
  if (start_revision < 0) {
    return InvalidArgument("etcd watch: negative start revision");
  }
  internal::WatchConfig config;
  config.endpoints = impl_->endpoints;
  config.first_endpoint = impl_->preferred.load();
  config.connect_timeout = impl_->options.connect_timeout;
  config.request_timeout = impl_->options.request_timeout;
  config.prefix = prefix;
  config.start_revision = start_revision;
  config.progress_notify = progress_notify;
  config.callback = std::move(callback);
  return internal::StartWatch(std::move(config));
}

std::string Client::CurrentEndpoint() const {
  return impl_->endpoints[impl_->preferred.load() % impl_->endpoints.size()].url;
}

}  // namespace beacon::etcd
