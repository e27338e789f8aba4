// EtcdStore: the catalog's records in etcd (cluster mode, issue #9), shared by every agent.
//
// Layout under the cluster's prefix P (default "beacon/"): the catalog's records under
// P + "catalog/" (the same keys and record encoding as the SQLite store), agent liveness and the
// leader key elsewhere under P (src/cluster). Writes are etcd transactions: every commit of every
// agent also writes the index key, and applies only if that key was not modified after the
// revision the committing agent's view reflects (compare on its mod_revision). So two agents
// never overwrite each other's changes unseen: the loser gets Aborted, catches up through the
// watch and redoes its batch (catalog.cc). A commit is acknowledged only after etcd committed it
// (etcd has fsync'd it on a quorum).
//
// Changes reach the catalog through one etcd watch on the records' prefix, on the client's watch
// thread. When the watch's history was compacted away, a supervisor thread reads the whole
// prefix again and delivers it as a reset, then watches on from there.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "etcd/client.h"
#include "store/store.h"

namespace beacon::store {

class EtcdStore final : public SharedStore {
 public:
  // The catalog's records live under <cluster prefix> + kRecordsDir.
  static constexpr const char* kRecordsDir = "catalog/";

  // `client` must outlive the store. `prefix` is the cluster's key prefix ("beacon/").
  EtcdStore(etcd::Client* client, std::string prefix);
  ~EtcdStore() override;

  Result<std::vector<KeyValue>> Range(const std::string& prefix) override;
  Result<int64_t> Commit(const WriteBatch& batch) override;
  int64_t Revision() const override { return revision_.load(); }
  const char* Name() const override { return "etcd"; }

  Status Subscribe(std::function<void(ChangeBatch)> deliver) override;
  void Unsubscribe() override;
  void SetViewRevision(int64_t revision) override;
  int64_t ConflictRevision() const override { return conflict_revision_.load(); }
  int64_t RangeRevision() const override { return range_revision_.load(); }

  const std::string& records_prefix() const { return records_; }

 private:
  Status StartWatch(int64_t from);  // REQUIRES: mu_ held by the caller or not yet shared
  void Supervise();

  etcd::Client* client_;
  const std::string records_;  // prefix + "catalog/"
  std::atomic<int64_t> revision_{0};
  std::atomic<int64_t> range_revision_{0};
  std::atomic<int64_t> view_revision_{0};
  std::atomic<int64_t> conflict_revision_{0};

  std::function<void(ChangeBatch)> deliver_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;        // guarded by mu_
  bool reload_ = false;          // guarded by mu_: the watch lost its history
  std::unique_ptr<etcd::Watch> watch_;  // guarded by mu_
  std::thread supervisor_;
};

}  // namespace beacon::store
