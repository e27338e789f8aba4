// Store: the durable, transactional key-value interface under the catalog.
//
// Shaped like etcd's mvcc KV (Range / Txn with revisions) so that a second backend (etcd, issue #9)
// can implement it. Keys and values are opaque bytes; the catalog decides what they mean.
// A Commit is atomic and durable when it returns OK: after a crash either the whole batch is
// there or none of it. Backends are used by one writer thread at a time (the catalog's writer);
// they need not be thread-safe unless they say so.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace beacon::store {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;  // revision of the commit that last wrote this key
};

struct WriteOp {
  std::string key;
  std::optional<std::string> value;  // nullopt = delete (deleting a missing key is not an error)
};

struct WriteBatch {
  std::vector<WriteOp> ops;
  bool empty() const { return ops.empty(); }
  void Put(std::string key, std::string value) {
    ops.push_back({std::move(key), std::move(value)});
  }
  void Delete(std::string key) { ops.push_back({std::move(key), std::nullopt}); }
};

class Store {
 public:
  virtual ~Store() = default;

  // All entries whose key starts with `prefix` (empty = everything), in byte-wise key order.
  virtual Result<std::vector<KeyValue>> Range(const std::string& prefix) = 0;

  // Applies every op of the batch atomically and durably (fsync'd before returning OK).
  // Later ops on the same key win. Returns the new store revision (grows by one per commit).
  // On error nothing of the batch is applied: Unavailable (I/O error, retry may work),
  // ResourceExhausted (disk full), FailedPrecondition (read-only).
  virtual Result<int64_t> Commit(const WriteBatch& batch) = 0;

  // The revision of the last successful commit (0 for an empty store).
  virtual int64_t Revision() const = 0;

  // A short name for logs: "sqlite", "memory", "etcd".
  virtual const char* Name() const = 0;
};

// The key under which the catalog keeps its global index. The catalog writes it in every commit
// to a SharedStore, which checks conflicts on it (below).
inline constexpr std::string_view kIndexKey = "m/index";

// A store shared by several agents (cluster mode, issue #9: etcd). Each agent's catalog keeps its
// own in-memory view, loaded with Range and kept current by the changes the store delivers.
// Conflicts: Commit applies a batch only if no other agent committed to the store since the
// revision the caller's view reflects (SetViewRevision); otherwise it returns Aborted and
// ConflictRevision() tells which revision the view must reach (through delivered changes)
// before the batch is worth redoing.
struct Change {
  std::string key;
  std::optional<std::string> value;  // nullopt = deleted
  int64_t revision = 0;              // the store revision of this change
};

struct ChangeBatch {
  // true: `changes` is the whole state as of `revision` (every key a put), after history the
  // watch needed was lost (compaction); the receiver replaces its view.
  bool reset = false;
  int64_t revision = 0;  // every change up to this revision has been delivered
  std::vector<Change> changes;  // in revision order
};

class SharedStore : public Store {
 public:
  // Starts delivering changes committed after the revision of the last Range (by anyone,
  // this agent included; the receiver skips what its view already has). `deliver` runs on a
  // store thread, one batch at a time, in order. Call once, after the initial Range.
  virtual Status Subscribe(std::function<void(ChangeBatch)> deliver) = 0;
  // Stops deliveries; when it returns, `deliver` is not running and will not be called again.
  virtual void Unsubscribe() = 0;

  // The revision the caller's view now reflects (from Range, Commit or delivered changes).
  virtual void SetViewRevision(int64_t revision) = 0;

  // After Commit returned Aborted: the revision the view must reach before a retry can succeed.
  virtual int64_t ConflictRevision() const = 0;

  // The revision the last Range saw (the view's starting point).
  virtual int64_t RangeRevision() const = 0;
};

}  // namespace beacon::store
