// ServiceCache: a client-side view of services' instances, kept fresh by blocking queries
// (after Consul's agent/cache/cache.go and its health-services cache type).
//
// One background watch per distinct ServiceQuery, shared by every caller of that query: the
// first Get() or Subscribe() starts it; it runs a loop of blocking queries
// (GET /v1/health/service/:s?index=<last>&wait=<watch_wait>), so a change reaches the cache as
// soon as the agent commits it, and an idle service costs one parked request per watch_wait.
// Readers never wait for the network once the first answer is in: Get() returns the last answer.
//
// When the agent cannot be reached, the last good answer keeps being served, marked stale and
// with its age (time since the watch last heard from the agent); the watch retries with
// exponential backoff and jitter (BackoffPolicy). Subscribers are told when an answer changes and
// when the watch turns stale or recovers. An agent that answers blocking queries at once without
// a change (one that does not implement blocking) is polled with the same backoff instead of in a
// tight loop.
//
// Threads: one watch thread per distinct query; subscriber callbacks run on it. Every public
// method is thread-safe. The destructor stops all watches: it cancels parked requests and joins.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "beacon/client.h"
#include "beacon/clock.h"
#include "beacon/status.h"
#include "beacon/types.h"

namespace beacon::client {

class LoadBalancer;

// What a watch asks for. Two queries with equal Key() share one watch.
struct ServiceQuery {
  std::string service{};
  std::vector<std::string> tags{};  // all must match (case-insensitive on the agent)
  bool passing_only = true;         // ?passing: only instances whose checks all pass
  std::string filter{};             // filter= expression; "" = none
  std::string datacenter{};         // "" = the client's default
  bool allow_stale = false;         // ?stale

  // A canonical string naming the query (tags sorted), e.g. "web?passing&tag=v1".
  std::string Key() const;
};

// Delay before a retry: min(max, initial * multiplier^(failures-1)), then reduced by a random
// share of up to `jitter` of itself, so many clients that lost the same agent do not retry in
// step ("equal jitter" when jitter = 0.5).
struct BackoffPolicy {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max{30'000};
  double multiplier = 2.0;
  double jitter = 0.2;  // 0 = none; 1 = anywhere in [0, delay]

  // The delay after `failures` consecutive failures (>= 1), for a uniform `u` in [0, 1).
  std::chrono::milliseconds Delay(int failures, double u) const;
};

struct CacheOptions {
  // How long each blocking query may park. Longer = fewer idle round trips; the agent caps it
  // at 10 min. Default 5 min, Consul's default.
  std::chrono::milliseconds watch_wait{std::chrono::minutes(5)};
  BackoffPolicy backoff{};
  // null = Clock::Steady().
  std::shared_ptr<Clock> clock{};
  // Uniform in [0, 1), for the backoff jitter; called from watch threads (must be thread-safe).
  // null = a per-thread generator seeded from std::random_device.
  std::function<double()> random{};
};

// One answer of the cache.
struct ServiceSnapshot {
  // The instances; never null. Shared, immutable: keep it as long as you like.
  std::shared_ptr<const std::vector<ServiceEntry>> entries{};
  uint64_t index = 0;  // X-Consul-Index of the answer
  // True while the watch cannot reach the agent and this is the last good answer.
  bool stale = false;
  // Time since the watch last heard from the agent; zero while it is healthy (a parked blocking
  // query means the answer is current).
  std::chrono::milliseconds age{0};
  // Why the latest round trip failed; OK while healthy.
  Status last_error{};
};

struct CacheStats {
  uint64_t hits = 0;               // Get() answered from a watch that already had an answer
  uint64_t misses = 0;             // Get() had to wait for (or failed on) a first answer
  uint64_t watch_round_trips = 0;  // blocking queries that returned, with an answer or an error
  uint64_t errors = 0;             // round trips that failed
  uint64_t updates = 0;            // answers that differed from the previous one
  size_t watches = 0;              // running watches (distinct queries)
};

// Keeps a subscription alive; destroying it (or Cancel()) unsubscribes. After Cancel() returns
// the callback is not running and will not run again, unless Cancel() is called from inside the
// callback itself (then the current call finishes). Move-only.
class Subscription {
 public:
  Subscription() = default;
  ~Subscription() { Cancel(); }
  Subscription(Subscription&& other) noexcept = default;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  void Cancel();
  bool active() const { return state_ != nullptr; }

  struct State;  // shared with the watch that calls back

 private:
  friend class ServiceCache;
  explicit Subscription(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_{};
};

class ServiceCache {
 public:
  // `client` is shared with the caller; it must stay usable until the cache is destroyed.
  explicit ServiceCache(std::shared_ptr<Client> client, CacheOptions options = {});
  ~ServiceCache();

  ServiceCache(const ServiceCache&) = delete;
  ServiceCache& operator=(const ServiceCache&) = delete;

  // The current answer for `query`. The first use of a query starts its watch and waits up to
  // `timeout` for the first answer; if the first round trip fails, its error is returned at once
  // (the watch keeps retrying, so a later Get() may succeed). Later calls never wait.
  // kDeadlineExceeded when no answer came within `timeout`.
  Result<ServiceSnapshot> Get(const ServiceQuery& query,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Calls `callback` with the current answer (at once, on the caller's thread, if there is one),
  // then on the watch thread after every change: new content, turning stale, or recovering.
  // Starts the query's watch if needed. The callback must not block for long: it holds up the
  // watch (and every other subscriber of the query). The subscribers of one query are called one
  // after another, in the order they subscribed, and each sees the answers in order.
  Subscription Subscribe(const ServiceQuery& query,
                         std::function<void(const ServiceSnapshot&)> callback);

  CacheStats stats() const;

 private:
  struct Entry;
  std::shared_ptr<Entry> EntryFor(const ServiceQuery& query, bool* created);
  void RunWatch(const std::shared_ptr<Entry>& entry, std::stop_token stop);

  std::shared_ptr<Client> client_{};
  CacheOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>>
      entries_{};  // by ServiceQuery::Key(); guarded by mu_
  struct Counters;
  std::unique_ptr<Counters> counters_{};
};

// Keeps `balancer` fed with the passing/warning instances of `query`: every answer of the cache is
// turned into an InstanceSet (InstancesFromEntries) and swapped in. A stale answer keeps the last
// set. Returns the subscription that keeps the feed alive.
Subscription FeedBalancer(ServiceCache& cache, const ServiceQuery& query,
                          std::shared_ptr<LoadBalancer> balancer);

}  // namespace beacon::client
