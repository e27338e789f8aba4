// Catalog: the single writer that owns the service catalog (STYLE.md section 5, "One writer").
//
// Write requests from any thread are queued with Submit(). One writer thread drains the queue in
// batches: it validates and applies each request to the in-memory tables, writes every changed
// record of the batch to the Store in one durable commit (group commit), publishes a new immutable
// Snapshot, and only then runs the requests' completions. A request is acknowledged only after the
// commit that made it durable; if the commit fails, every request of the batch fails and the tables
// return to the last published snapshot. The writer also owns the TTL timers and the reaper of
// DeregisterCriticalServiceAfter, which are writes like any other.
//
// Cluster mode: when the store is a store::SharedStore (etcd), several agents share it. The writer
// then also applies the changes other agents commit (delivered by the store) to its tables and
// publishes them like its own writes; a commit that raced another agent's is redone on the
// updated view (compare-and-swap on the store's revision). TTL expiry and the reaper run for the
// local node, and for nodes whose agent is gone only on the cluster's leader (SetClusterRole).
//
// Thread rules: Submit, Current and the listener registration are thread-safe. Completions and
// listener calls run on the writer thread and must not block; they typically post to a loop.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "catalog/requests.h"
#include "catalog/snapshot.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "store/store.h"

namespace beacon::catalog {

struct CatalogOptions {
  std::string node_name = "beacon";
  std::string node_id;  // "" = generate once and persist
  std::string node_address = "127.0.0.1";
  std::string datacenter = "dc1";
  std::map<std::string, std::string> node_meta;
  // How often the reaper looks for services critical longer than DeregisterCriticalServiceAfter.
  // Consul: 30 s. Lower only in tests.
  Nanos reap_interval = std::chrono::seconds(30);
  // DeregisterCriticalServiceAfter is never shorter than this. Consul: 1 min.
  Nanos min_deregister_after = std::chrono::minutes(1);
  // An output-only check change moves ModifyIndex at most this often (Consul's
  // check_update_interval, contract 2.1). Lower only in tests.
  Nanos output_update_interval = std::chrono::minutes(5);
  // Most requests one commit takes; the rest wait for the next batch. Bounds commit latency.
  size_t max_batch = 1024;
  // Group commit across clients: when writes trickle in from several clients at once (each
  // commit would otherwise carry one of them), the writer holds a small batch at most this long
  // after its first request, until the other recently active clients' writes join it (at most
  // 8), so one commit (one fdatasync, one snapshot) carries several. Only while several clients
  // wrote in the last 100 ms and writes come at least one per hold; a client writing alone and
  // writes of no client (source 0: timers, check results) are never held. 0 = never hold.
  // PostgreSQL's commit_delay with commit_siblings is the same idea.
  Nanos commit_hold = std::chrono::milliseconds(5);
  // Where to count commits, batch sizes and registrations; nullptr = not counted. Must outlive
  // the catalog.
  MetricsRegistry* metrics = nullptr;
  // Wraps what the writer does after each commit, in two calls: one runs the listeners, the
  // next the writes' completions and the wake listeners (`work`). It must call `work` once, on
  // the calling thread. The agent uses it to gather the posts each makes into one handler per
  // loop (net::PostBatch); the first call's posts are all made before the second's begin, so
  // every loop has the new snapshot queued before any acknowledgement is. Null: `work` is
  // called as is.
  std::function<void(const std::function<void()>& work)> notify_scope;
};

// Completion of a write: OK with the index the write took (or the current index when it changed
// nothing), or the error. Runs on the writer thread.
using WriteCallback = std::function<void(const Status&, uint64_t index)>;

// Called on the writer thread after every published batch: a listener before the batch's
// completions (AddListener), or a wake listener after them (AddWakeListener).
using SnapshotListener = std::function<void(const SnapshotPtr&, const ChangeSet&)>;

class Catalog {
 public:
  // Loads the catalog from `store` (which must outlive the Catalog), makes sure the local node
  // and its serfHealth check exist, and starts the writer thread.
  // Fails when the store cannot be read or holds records that do not decode.
  static Result<std::unique_ptr<Catalog>> Open(CatalogOptions options, store::Store* store,
                                               const Clock* clock = &RealClock::Get());
  ~Catalog();  // Stop()s
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // Queues a write. Bad input is rejected at once (callback runs before Submit returns, on the
  // calling thread) with InvalidArgument and changes nothing. Otherwise the callback runs on the
  // writer thread after the batch's commit. `source` names the client the write comes from (any
  // stable number per client, such as its connection; 0 = none): it decides whether a small batch
  // is worth holding for other clients' writes (CatalogOptions::commit_hold).
  void Submit(WriteRequest request, WriteCallback callback, uint64_t source = 0);

  // Convenience for tests and tools: Submit and wait. Returns the index the write took.
  Result<uint64_t> SubmitAndWait(WriteRequest request);

  // The latest published snapshot. Thread-safe (takes a short lock; loops keep their own copy).
  SnapshotPtr Current() const;

  // Listeners are called for every later batch. REQUIRES: called before writes start flowing
  // that the listener must see; thread-safe.
  void AddListener(SnapshotListener listener);
  // Like AddListener, but called after the batch's completions have run: for work that must not
  // delay the acknowledgements, such as waking thousands of parked queries. Anything a client
  // may read right after its acknowledgement belongs in an AddListener listener instead.
  void AddWakeListener(SnapshotListener listener);

  // Cluster mode: whether this agent is the leader, and the (lower-cased) nodes whose agents are
  // alive. The leader runs TTL expiry and the reaper for agent nodes not in `live_nodes`.
  // Thread-safe; takes effect before the writer's next batch.
  void SetClusterRole(bool leader, std::set<std::string> live_nodes);

  // Drains the queue, stops timers and joins the writer. Requests still queued fail Unavailable.
  void Stop();

  // Runs due TTL expiries and the reaper now (tests with a ManualClock). Thread-safe; waits.
  void RunTimersForTest();

  const CatalogOptions& options() const { return options_; }

 private:
  Catalog(CatalogOptions options, store::Store* store, const Clock* clock);
  struct Pending {
    WriteRequest request;
    WriteCallback callback;
    int attempts = 0;  // commits that conflicted with another agent's (cluster mode)
    uint64_t source = 0;
    std::chrono::steady_clock::time_point queued{};
  };
  // The latest client writes (source, arrival), newest at arrivals_[(next_arrival_ - 1) % size].
  struct Arrival {
    uint64_t source = 0;
    std::chrono::steady_clock::time_point at{};
  };
  static constexpr size_t kArrivalRing = 32;
  // How many queued requests a held batch waits for: the distinct clients that wrote lately, at
  // most kMaxHeldBatch; 0 or 1 = do not hold. REQUIRES: mu_ held.
  size_t HoldTarget(std::chrono::steady_clock::time_point now) const;
  class Writer;  // the writer-thread state: tables, batch application, timers

  Status Load();
  void Run();

  CatalogOptions options_;
  store::Store* store_;
  store::SharedStore* shared_;  // == store_ in cluster mode, else nullptr
  const Clock* clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;           // guarded by mu_
  std::array<Arrival, kArrivalRing> arrivals_{};  // guarded by mu_
  size_t next_arrival_ = 0;             // guarded by mu_
  size_t hold_target_ = 0;              // guarded by mu_: > 0 while the writer holds a batch
  std::deque<store::ChangeBatch> external_;  // guarded by mu_: other agents' changes (cluster)
  Status external_error_;                // guarded by mu_: the shared store's watch failed
  bool role_changed_ = false;            // guarded by mu_
  bool leader_ = false;                  // guarded by mu_
  std::set<std::string> live_nodes_;     // guarded by mu_
  bool stopping_ = false;               // guarded by mu_
  int timer_requests_ = 0;              // guarded by mu_: RunTimersForTest calls waiting
  std::condition_variable timers_done_cv_;
  uint64_t timer_runs_ = 0;             // guarded by mu_
  SnapshotPtr current_;                 // guarded by mu_
  std::vector<SnapshotListener> listeners_;  // guarded by mu_
  std::vector<SnapshotListener> wake_listeners_;  // guarded by mu_

  std::unique_ptr<Writer> writer_;  // touched only by the writer thread after Open
  std::thread thread_;
};

}  // namespace beacon::catalog
