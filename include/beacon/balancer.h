// Load balancers over a service's instances (after Envoy's envoy/upstream/load_balancer.h and
// source/common/upstream/edf_scheduler.h).
//
// A balancer publishes an immutable instance set, RCU-style: Update() builds the next set
// (keeping the per-instance state of instances that stay) and swaps it in; Choose() picks from
// the set it last saw on its thread without taking a lock, and takes one only for its first pick
// after an update, to copy the new set's pointer. A caller that picked from an old set keeps it
// alive through its Pick, so a swap never invalidates an instance in use.
//
//   auto lb = MakeLoadBalancer(BalancerKind::kRoundRobin);
//   Subscription feed = FeedBalancer(cache, {.service = "web"}, lb);   // cache.h
//   auto pick = lb->Choose();
//   if (!pick.ok()) return pick.status();          // kUnavailable: no instance to choose from
//   bool ok = CallBackend(pick->instance().HostPort());
//   ok ? pick->ReportSuccess() : pick->ReportFailure();
//
// Passive ejection (after Envoy's outlier detection): a caller that reports consecutive failures
// of an instance makes it sit out for base_ejection_time x (times ejected), capped at
// max_ejection_time; a reported success resets the counters. Never more than max_ejection_share
// of the set is ejected at once, and if every instance is ejected the balancer ignores ejection
// rather than fail (Envoy's panic mode).
//
// Thread safety: every method may be called from any thread at any time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/clock.h"
#include "beacon/status.h"
#include "beacon/types.h"

namespace beacon::client {

// One instance as a balancer sees it.
struct Instance {
  std::string id{};  // the service ID, unique within the set; per-instance state is kept by it
  std::string service{};
  std::string node{};
  std::string address{};
  uint16_t port = 0;
  std::vector<std::string> tags{};
  std::map<std::string, std::string> meta{};
  HealthStatus status = HealthStatus::kPassing;
  // The weight for weighted balancing: Weights.Passing while passing, Weights.Warning while
  // warning. 0 = the weighted balancer sends it nothing (the others ignore weights).
  int weight = 1;

  // "address:port" ("[v6]:port" for IPv6).
  std::string HostPort() const;
  bool operator==(const Instance&) const = default;
};

using InstanceSet = std::shared_ptr<const std::vector<Instance>>;

// The instances to balance over in a health answer: critical ones are left out; the address is
// Service.Address or else Node.Address; the weight follows the aggregated status.
InstanceSet InstancesFromEntries(const std::vector<ServiceEntry>& entries);

struct EjectionOptions {
  // Failures in a row (reported by callers) that eject an instance. 0 = never eject.
  int consecutive_failures = 1;
  // First ejection lasts this long; the n-th in a row n times as long, up to max_ejection_time.
  std::chrono::milliseconds base_ejection_time{5'000};
  std::chrono::milliseconds max_ejection_time{60'000};
  // Largest share of the set that may be ejected at once (rounded down, so with 0.5 one of two
  // or three instances, never the only one). Higher protects callers from bad instances; lower
  // protects the remaining instances from being overloaded.
  double max_ejection_share = 0.5;
};

struct BalancerOptions {
  EjectionOptions ejection{};
  // null = Clock::Steady().
  std::shared_ptr<Clock> clock{};
  // Uniform 64-bit numbers for the random choices (and the start of the round-robin rotations,
  // so many clients do not all begin with the same instance). Called concurrently: must be
  // thread-safe. null = a per-thread generator seeded from std::random_device.
  std::function<uint64_t()> random{};
  // Named in errors ("no instance of web to choose from"); usually the service name.
  std::string name = "service";
};

namespace detail {
struct HostSet;
struct BalancerCore;
}  // namespace detail

// The handle of one chosen instance: report how the call went through it. The least-request
// balancer counts the call as outstanding until the Pick reports or is destroyed. Move-only.
class Pick {
 public:
  Pick(Pick&& other) noexcept;
  Pick& operator=(Pick&& other) noexcept;
  Pick(const Pick&) = delete;
  Pick& operator=(const Pick&) = delete;
  ~Pick();  // an unreported pick is finished without counting for or against the instance

  // Valid as long as the Pick lives, even after the balancer swapped sets.
  const Instance& instance() const;

  // The call worked: clears the instance's failure streak. Only the first report counts.
  void ReportSuccess();
  // The call failed (connect refused, timeout, 5xx): may eject the instance (EjectionOptions).
  void ReportFailure();

 private:
  friend class LoadBalancer;
  Pick(std::shared_ptr<detail::BalancerCore> core, std::shared_ptr<const detail::HostSet> set,
       size_t index);
  void Finish();

  std::shared_ptr<detail::BalancerCore> core_{};
  std::shared_ptr<const detail::HostSet> set_{};
  size_t index_ = 0;
  bool finished_ = true;
};

struct InstanceStats {
  std::string id{};
  uint64_t picks = 0;
  uint64_t failures = 0;  // reported
  uint64_t ejections = 0;
  int64_t outstanding = 0;  // picks not yet reported or destroyed
  bool ejected = false;     // sitting out right now
};

struct BalancerStats {
  uint64_t picks = 0;
  uint64_t no_instance = 0;  // Choose() calls that found no instance
  uint64_t successes = 0;
  uint64_t failures = 0;
  uint64_t ejections = 0;
  uint64_t updates = 0;                    // Update() calls
  std::vector<InstanceStats> instances{};  // of the current set, in its order
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer();
  LoadBalancer(const LoadBalancer&) = delete;
  LoadBalancer& operator=(const LoadBalancer&) = delete;

  // Picks an instance for one call. Lock-free. kUnavailable when the set is empty (or, for the
  // weighted balancer, when every weight is 0).
  Result<Pick> Choose();
  // Swaps in a new set (null = empty). Instances whose ID stays keep their counters and ejection.
  void Update(InstanceSet instances);
  // The current set; never null.
  InstanceSet instances() const;
  BalancerStats stats() const;
  // "round_robin", "random", "weighted", "least_request".
  virtual std::string_view kind() const = 0;

 protected:
  explicit LoadBalancer(BalancerOptions options);

  // Chooses an index into set.hosts among those `eligible` says may serve. Called concurrently;
  // `eligible` is cheap. Returns set size when none is eligible.
  virtual size_t Select(const detail::HostSet& set,
                        const std::function<bool(size_t)>& eligible) = 0;
  // Lets a balancer precompute per-set data (the weighted schedule) before the set is published.
  virtual void Prepare(detail::HostSet& set);
  uint64_t NextRandom() const;

 private:
  std::shared_ptr<detail::BalancerCore> core_{};
};

// Each instance in turn, skipping ejected ones.
class RoundRobinBalancer final : public LoadBalancer {
 public:
  explicit RoundRobinBalancer(BalancerOptions options = {});
  std::string_view kind() const override { return "round_robin"; }

 private:
  size_t Select(const detail::HostSet& set, const std::function<bool(size_t)>& eligible) override;
  std::atomic<uint64_t> next_{};
};

// A uniformly random eligible instance.
class RandomBalancer final : public LoadBalancer {
 public:
  explicit RandomBalancer(BalancerOptions options = {});
  std::string_view kind() const override { return "random"; }

 private:
  size_t Select(const detail::HostSet& set, const std::function<bool(size_t)>& eligible) override;
};

// Weighted round robin by Instance::weight: at each Update an earliest-deadline-first pass (as
// Envoy's EdfScheduler) lays out one cycle of picks in which an instance of weight w appears w
// times, spread evenly; Choose() walks the cycle with an atomic counter.
class WeightedRoundRobinBalancer final : public LoadBalancer {
 public:
  explicit WeightedRoundRobinBalancer(BalancerOptions options = {});
  std::string_view kind() const override { return "weighted"; }

  // Longest cycle laid out; larger weight sums are scaled down to fit (each weight stays >= 1).
  static constexpr size_t kMaxCycle = 4096;

 private:
  size_t Select(const detail::HostSet& set, const std::function<bool(size_t)>& eligible) override;
  void Prepare(detail::HostSet& set) override;
  std::atomic<uint64_t> next_{};
};

// Least outstanding requests by the power of two random choices: pick two distinct eligible
// instances at random and take the one with fewer calls in flight (ties: the first).
class LeastRequestBalancer final : public LoadBalancer {
 public:
  explicit LeastRequestBalancer(BalancerOptions options = {});
  std::string_view kind() const override { return "least_request"; }

 private:
  size_t Select(const detail::HostSet& set, const std::function<bool(size_t)>& eligible) override;
};

enum class BalancerKind { kRoundRobin, kRandom, kWeighted, kLeastRequest };

// "round_robin" (also "rr"), "random", "weighted" (also "wrr"), "least_request" (also "p2c").
Result<BalancerKind> ParseBalancerKind(std::string_view name);
std::shared_ptr<LoadBalancer> MakeLoadBalancer(BalancerKind kind, BalancerOptions options = {});

}  // namespace beacon::client
