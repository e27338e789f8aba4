// etcd v3 client over etcd's JSON gateway (HTTP/1.1 + JSON, /v3/...).
//
// Why the gateway and not gRPC: Debian ships the gRPC C++ runtime but not etcd's .proto files
// (they import gogoproto and google.api annotations), so a gRPC client would mean vendoring and
// generating etcd's protocol. The gateway is part of every etcd 3.4 server, speaks the same
// messages as JSON (bytes base64-encoded, int64 as strings), and needs only Boost.Beast and the
// JSON library we already use.
//
// Threading: every call blocks the calling thread and is thread-safe. Never call it from an
// I/O loop of the HTTP or DNS servers; the catalog writer and the cluster thread call it.
// A Watch runs on its own thread and calls its callback there.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace beacon::etcd {

struct ClientOptions {
  // "http://127.0.0.1:2379" style URLs (http only). Calls fail over to the next endpoint when
  // one is unreachable or answers 5xx; the last good endpoint is tried first.
  std::vector<std::string> endpoints;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds request_timeout{5000};  // per attempt
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct RangeResult {
  int64_t revision = 0;  // header revision: the store revision the read saw
  std::vector<KeyValue> kvs;
};

// One comparison of a transaction (etcd Compare).
struct Compare {
  enum class Target { kVersion, kCreate, kMod, kValue };
  enum class Result { kEqual, kGreater, kLess, kNotEqual };
  std::string key;
  Target target = Target::kMod;
  Result result = Result::kEqual;
  int64_t number = 0;  // for kVersion, kCreate, kMod
  std::string value;   // for kValue
};

// One operation of a transaction (etcd RequestOp).
struct Op {
  enum class Kind { kPut, kDelete, kDeletePrefix, kRange, kRangePrefix };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;  // kPut
  int64_t lease = 0;  // kPut: attach to this lease (0 = none)

  static Op Put(std::string key, std::string value, int64_t lease = 0);
  static Op Delete(std::string key);
  static Op DeletePrefix(std::string prefix);
  static Op Get(std::string key);
  static Op GetPrefix(std::string prefix);
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;  // header revision after the transaction
  // For each kRange/kRangePrefix op of the branch that ran, in order: the keys it read.
  std::vector<std::vector<KeyValue>> ranges;
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete only key and mod_revision (the deletion's revision) are set
};

// What a watch delivers: the events of one or more revisions, in revision order, or an error.
struct WatchUpdate {
  // kOk: events (may be empty for a progress notification; header_revision is still set).
  // kAborted: the start revision was compacted; compact_revision says where history begins.
  //   The watch has stopped: the caller reloads with a Range and starts a new watch.
  // kUnavailable: every endpoint failed; the watch keeps retrying (with backoff) by itself and
  //   resumes from the revision after the last one it delivered. Sent once per outage; when the
  //   watch is connected again it sends one kOk update without events to say so.
  Status status;
  std::vector<WatchEvent> events;
  // etcd's store revision when it sent the update. While a watch catches up on history, a later
  // update may still hold events at or below it, so resume from the last event's mod_revision
  // + 1, not from header_revision + 1 (the watch itself does so). For an update without events
  // (progress notification), everything up to header_revision has been delivered.
  int64_t header_revision = 0;
  int64_t compact_revision = 0;
};

class Watch {
 public:
  // Stops the watch and joins its thread; no callback after it. A callback may destroy its own
  // Watch (the thread then finishes on its own). A Watch may outlive the Client that made it.
  virtual ~Watch() = default;
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> Create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Linearizable unless `serializable` (then the member answers from its own state).
  Result<RangeResult> Get(const std::string& key, bool serializable = false);
  Result<RangeResult> GetPrefix(const std::string& prefix, bool serializable = false);

  // Unavailable either when no member answered, or when a txn that writes got no answer after
  // it was sent (the message says "the outcome is unknown"): such a txn is not replayed on
  // another member, because a replayed compare-and-swap that did apply would report a failed
  // compare. Re-read before retrying.
  Result<TxnResult> Txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                        const std::vector<Op>& failure);

  // Leases.
  Result<int64_t> LeaseGrant(std::chrono::seconds ttl);  // returns the lease ID
  // One keep-alive round trip; returns the remaining TTL in seconds (NotFound when the lease
  // has expired or was revoked).
  Result<int64_t> LeaseKeepAlive(int64_t lease);
  Status LeaseRevoke(int64_t lease);

  // Watches every key under `prefix` from `start_revision` (inclusive; 0 = only changes made
  // after the watch is established). `progress_notify` asks
  // etcd for periodic empty updates carrying the current revision. The callback runs on the
  // watch's own thread, one update at a time. Returns at once: the watch connects in the
  // background (etcd's "created" answer is not delivered), so failures to reach etcd arrive as
  // kUnavailable updates, never as an error here. An empty `prefix` watches every key.
  Result<std::unique_ptr<Watch>> WatchPrefix(const std::string& prefix, int64_t start_revision,
                                             std::function<void(WatchUpdate)> callback,
                                             bool progress_notify = true);

  // The endpoint that answered last (for logs and status/peers).
  std::string CurrentEndpoint() const;

 private:
  explicit Client(ClientOptions options);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace beacon::etcd
