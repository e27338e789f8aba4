// The immutable instance set a balancer publishes, and the mutable per-instance state that
// survives swaps (see balancer.h for the design).
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "beacon/balancer.h"

namespace beacon::client::detail {

// Per-instance counters and ejection, kept across Update() by instance ID. Atomics only: the
// pick path touches them without a lock.
struct HostState {
  // Clock time (ns since the steady epoch) until which the instance sits out.
  std::atomic<int64_t> ejected_until_ns{INT64_MIN};
  std::atomic<int> consecutive_failures{0};
  std::atomic<int> times_ejected{0};  // ejections in a row without a success in between
  std::atomic<int64_t> outstanding{0};
  std::atomic<uint64_t> picks{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> ejections{0};
};

struct HostSet {
  std::vector<Instance> hosts;
  std::vector<std::shared_ptr<HostState>> state;  // parallel to hosts
  // Weighted balancer only: one cycle of picks as indexes into hosts (WeightedRoundRobinBalancer).
  std::vector<uint32_t> schedule;
};

// The balancer's shared state; Picks hold it too, so it outlives the LoadBalancer if they do.
//
// Publishing is RCU-style. Update() builds the next set with no lock held, then, under mu,
// replaces `published` and bumps `version`. The pick path (Current()) keeps a per-thread copy of
// the set with the version it belongs to: while the version is unchanged it uses that copy
// without any lock; only the first pick on a thread after an update takes mu to copy the new set.
// (std::atomic<std::shared_ptr> would do the same job, but GCC 12's is a spin lock whose reader
// unlocks with relaxed order -- a data race ThreadSanitizer rightly reports.)
struct BalancerCore : std::enable_shared_from_this<BalancerCore> {
  BalancerOptions options;
  // Serialises Update() calls (held while the next set is built, which pickers never wait for).
  std::mutex update_mu;
  // Guards `published` and ejection decisions; held only for a pointer swap or copy, or to
  // count ejected instances.
  std::mutex mu;
  std::shared_ptr<const HostSet> published;  // guarded by mu; never null
  std::atomic<uint64_t> version{0};          // written under mu, after `published`
  std::atomic<uint64_t> picks{0};
  std::atomic<uint64_t> no_instance{0};
  std::atomic<uint64_t> successes{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> ejections{0};
  std::atomic<uint64_t> updates{0};

  int64_t NowNs() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               options.clock->Now().time_since_epoch())
        .count();
  }

  // The current set for the pick path (see above). Thread-safe.
  std::shared_ptr<const HostSet> Current();
  // The current set, under the lock; for the rare paths.
  std::shared_ptr<const HostSet> Published() {
    std::lock_guard lock(mu);
    return published;
  }
};

}  // namespace beacon::client::detail
