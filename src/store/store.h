// Store: the durable, transactional key-value interface under the catalog.
//
// Shaped like etcd's mvcc KV (Range / Txn with revisions) so that a second backend (etcd, issue #9)
// can implement it. Keys and values are opaque bytes; the catalog decides what they mean.
// A Commit is atomic and durable when it returns OK: after a crash either the whole batch is
// there or none of it. Backends are used by one writer thread at a time (the catalog's writer);
// they need not be thread-safe unless they say so.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
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

}  // namespace beacon::store
