// Load balancers: the shared pick/report/update machinery, then one Select() per policy.
#include "beacon/balancer.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <random>
#include <unordered_map>

#include "client/host_set.h"

namespace beacon::client {

using detail::BalancerCore;
using detail::HostSet;
using detail::HostState;

namespace {

uint64_t DefaultRandom() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen();
}

}  // namespace

std::string Instance::HostPort() const {
  if (address.find(':') != std::string::npos) {
    return "[" + address + "]:" + std::to_string(port);
  }
  return address + ":" + std::to_string(port);
}

InstanceSet InstancesFromEntries(const std::vector<ServiceEntry>& entries) {
  auto out = std::make_shared<std::vector<Instance>>();
  out->reserve(entries.size());
  for (const ServiceEntry& e : entries) {
    HealthStatus status = e.AggregatedStatus();
    if (status == HealthStatus::kCritical) {
      continue;
    }
    Instance i;
    i.id = e.service.id;
    i.service = e.service.service;
    i.node = e.node.node;
    i.address = e.Address();
    i.port = static_cast<uint16_t>(std::clamp(e.service.port, 0, 65535));
    i.tags = e.service.tags;
    i.meta = e.service.meta;
    i.status = status;
    i.weight =
        status == HealthStatus::kPassing ? e.service.weights.passing : e.service.weights.warning;
    out->push_back(std::move(i));
  }
  return out;
}

// --- Pick ---

Pick::Pick(std::shared_ptr<BalancerCore> core, std::shared_ptr<const HostSet> set, size_t index)
    : core_(std::move(core)), set_(std::move(set)), index_(index), finished_(false) {}

Pick::Pick(Pick&& other) noexcept
    : core_(std::move(other.core_)),
      set_(std::move(other.set_)),
      index_(other.index_),
      finished_(other.finished_) {
  other.finished_ = true;
}

Pick& Pick::operator=(Pick&& other) noexcept {
  if (this != &other) {
    Finish();
    core_ = std::move(other.core_);
    set_ = std::move(other.set_);
    index_ = other.index_;
    finished_ = other.finished_;
    other.finished_ = true;
  }
  return *this;
}

Pick::~Pick() { Finish(); }

const Instance& Pick::instance() const { return set_->hosts[index_]; }

void Pick::Finish() {
  if (!finished_) {
    finished_ = true;
    set_->state[index_]->outstanding.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Pick::ReportSuccess() {
  if (finished_) {
    return;
  }
  Finish();
  core_->successes.fetch_add(1, std::memory_order_relaxed);
  HostState& h = *set_->state[index_];
  h.consecutive_failures.store(0, std::memory_order_relaxed);
  if (h.ejected_until_ns.load(std::memory_order_relaxed) <= core_->NowNs()) {
    h.times_ejected.store(0, std::memory_order_relaxed);
  }
}

void Pick::ReportFailure() {
  if (finished_) {
    return;
  }
  Finish();
  core_->failures.fetch_add(1, std::memory_order_relaxed);
  const std::shared_ptr<HostState>& state = set_->state[index_];
  state->failures.fetch_add(1, std::memory_order_relaxed);
  const EjectionOptions& opts = core_->options.ejection;
  int streak = state->consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (opts.consecutive_failures <= 0 || streak < opts.consecutive_failures) {
    return;
  }
  // Ejection is decided against the current set under the update lock, so the cap holds even
  // when many callers report failures of different instances at once.
  std::lock_guard lock(core_->mu);
  const int64_t now = core_->NowNs();
  if (state->ejected_until_ns.load(std::memory_order_relaxed) > now) {
    return;  // already sitting out
  }
  const std::shared_ptr<const HostSet>& current = core_->published;
  size_t ejected = 0;
  bool present = false;
  for (const auto& s : current->state) {
    present = present || s == state;
    if (s->ejected_until_ns.load(std::memory_order_relaxed) > now) {
      ++ejected;
    }
  }
  if (!present) {
    return;  // the instance left the set meanwhile
  }
  const auto allowed = static_cast<size_t>(std::floor(
      static_cast<double>(current->hosts.size()) * std::clamp(opts.max_ejection_share, 0.0, 1.0)));
  if (ejected + 1 > allowed) {
    return;
  }
  int times = state->times_ejected.fetch_add(1, std::memory_order_relaxed) + 1;
  auto duration =
      std::min<std::chrono::nanoseconds>(opts.max_ejection_time, opts.base_ejection_time * times);
  state->ejected_until_ns.store(now + duration.count(), std::memory_order_relaxed);
  state->consecutive_failures.store(0, std::memory_order_relaxed);
  state->ejections.fetch_add(1, std::memory_order_relaxed);
  core_->ejections.fetch_add(1, std::memory_order_relaxed);
}

// --- BalancerCore ---

std::shared_ptr<const HostSet> BalancerCore::Current() {
  struct Cached {
    const BalancerCore* core;
    std::weak_ptr<BalancerCore> alive;  // a dead balancer's address may be reused
    uint64_t version;
    std::shared_ptr<const HostSet> set;
  };
  thread_local std::vector<Cached> cache;
  const uint64_t v = version.load(std::memory_order_acquire);
  for (Cached& c : cache) {
    if (c.core == this && !c.alive.expired()) {
      if (c.version != v) {
        std::lock_guard lock(mu);
        c.set = published;
        c.version = version.load(std::memory_order_relaxed);
      }
      return c.set;
    }
  }
  // First pick through this balancer on this thread: forget balancers that are gone (and the
  // sets their entries keep alive), then remember this one.
  std::erase_if(cache, [](const Cached& c) { return c.alive.expired(); });
  Cached c{this, weak_from_this(), 0, nullptr};
  {
    std::lock_guard lock(mu);
    c.set = published;
    c.version = version.load(std::memory_order_relaxed);
  }
  cache.push_back(std::move(c));
  return cache.back().set;
}

// --- LoadBalancer ---

LoadBalancer::LoadBalancer(BalancerOptions options) : core_(std::make_shared<BalancerCore>()) {
  if (!options.clock) {
    options.clock = Clock::Steady();
  }
  if (!options.random) {
    options.random = DefaultRandom;
  }
  core_->options = std::move(options);
  core_->published = std::make_shared<const HostSet>();
}

LoadBalancer::~LoadBalancer() = default;

void LoadBalancer::Prepare(HostSet& /*set*/) {}

uint64_t LoadBalancer::NextRandom() const { return core_->options.random(); }

Result<Pick> LoadBalancer::Choose() {
  std::shared_ptr<const HostSet> set = core_->Current();
  const size_t n = set->hosts.size();
  if (n == 0) {
    core_->no_instance.fetch_add(1, std::memory_order_relaxed);
    return UnavailableError("no instance of " + core_->options.name + " to choose from");
  }
  const int64_t now = core_->NowNs();
  size_t i = Select(*set, [&set, now](size_t k) {
    return set->state[k]->ejected_until_ns.load(std::memory_order_relaxed) <= now;
  });
  if (i >= n) {
    // Every candidate sits out: rather than fail every call, ignore ejection (Envoy's panic
    // mode). The ejection cap makes this rare.
    i = Select(*set, [](size_t) { return true; });
  }
  if (i >= n) {
    core_->no_instance.fetch_add(1, std::memory_order_relaxed);
    return UnavailableError("no instance of " + core_->options.name +
                            " with a weight above 0 to choose from");
  }
  HostState& h = *set->state[i];
  h.picks.fetch_add(1, std::memory_order_relaxed);
  h.outstanding.fetch_add(1, std::memory_order_relaxed);
  core_->picks.fetch_add(1, std::memory_order_relaxed);
  return Pick(core_, std::move(set), i);
}

void LoadBalancer::Update(InstanceSet instances) {
  // One Update() at a time: each builds on the state objects of the set before it.
  std::lock_guard serial(core_->update_mu);
  std::shared_ptr<const HostSet> old = core_->Published();
  std::unordered_map<std::string_view, std::shared_ptr<HostState>> by_id;
  for (size_t i = 0; i < old->hosts.size(); ++i) {
    by_id.emplace(old->hosts[i].id, old->state[i]);
  }
  auto next = std::make_shared<HostSet>();
  if (instances) {
    std::unordered_map<std::string_view, bool> seen;
    next->hosts.reserve(instances->size());
    for (const Instance& inst : *instances) {
      if (!seen.emplace(inst.id, true).second) {
        continue;  // IDs are unique per agent; keep the first of a duplicate
      }
      next->hosts.push_back(inst);
    }
    for (const Instance& inst : next->hosts) {
      auto it = by_id.find(inst.id);
      next->state.push_back(it != by_id.end() ? it->second : std::make_shared<HostState>());
    }
  }
  Prepare(*next);
  {
    std::lock_guard lock(core_->mu);
    core_->published = std::move(next);
    core_->version.fetch_add(1, std::memory_order_release);
  }
  core_->updates.fetch_add(1, std::memory_order_relaxed);
}

InstanceSet LoadBalancer::instances() const {
  std::shared_ptr<const HostSet> set = core_->Published();
  // Shares ownership with the set: no copy of the instances.
  return InstanceSet(set, &set->hosts);
}

BalancerStats LoadBalancer::stats() const {
  BalancerStats s;
  s.picks = core_->picks.load(std::memory_order_relaxed);
  s.no_instance = core_->no_instance.load(std::memory_order_relaxed);
  s.successes = core_->successes.load(std::memory_order_relaxed);
  s.failures = core_->failures.load(std::memory_order_relaxed);
  s.ejections = core_->ejections.load(std::memory_order_relaxed);
  s.updates = core_->updates.load(std::memory_order_relaxed);
  std::shared_ptr<const HostSet> set = core_->Published();
  const int64_t now = core_->NowNs();
  for (size_t i = 0; i < set->hosts.size(); ++i) {
    const HostState& h = *set->state[i];
    InstanceStats is;
    is.id = set->hosts[i].id;
    is.picks = h.picks.load(std::memory_order_relaxed);
    is.failures = h.failures.load(std::memory_order_relaxed);
    is.ejections = h.ejections.load(std::memory_order_relaxed);
    is.outstanding = h.outstanding.load(std::memory_order_relaxed);
    is.ejected = h.ejected_until_ns.load(std::memory_order_relaxed) > now;
    s.instances.push_back(std::move(is));
  }
  return s;
}

// --- Policies ---

namespace {

// The eligible indexes, read once: ejection may change while we choose (another caller's report),
// so counting and then indexing in two passes could disagree. The buffer is per thread, so a
// pick allocates nothing once it has warmed up.
const std::vector<size_t>& EligibleIndexes(size_t n, const std::function<bool(size_t)>& eligible) {
  thread_local std::vector<size_t> out;
  out.clear();
  for (size_t i = 0; i < n; ++i) {
    if (eligible(i)) {
      out.push_back(i);
    }
  }
  return out;
}

}  // namespace

RoundRobinBalancer::RoundRobinBalancer(BalancerOptions options)
    : LoadBalancer(std::move(options)), next_(NextRandom()) {}

size_t RoundRobinBalancer::Select(const HostSet& set, const std::function<bool(size_t)>& eligible) {
  // An ejected instance's turn is skipped by taking the next turn from the shared counter, not by
  // giving it to the neighbour: the neighbour would otherwise get twice its share.
  const size_t n = set.hosts.size();
  for (size_t k = 0; k < n; ++k) {
    auto i = static_cast<size_t>(next_.fetch_add(1, std::memory_order_relaxed) % n);
    if (eligible(i)) {
      return i;
    }
  }
  return n;
}

RandomBalancer::RandomBalancer(BalancerOptions options) : LoadBalancer(std::move(options)) {}

size_t RandomBalancer::Select(const HostSet& set, const std::function<bool(size_t)>& eligible) {
  const std::vector<size_t>& candidates = EligibleIndexes(set.hosts.size(), eligible);
  if (candidates.empty()) {
    return set.hosts.size();
  }
  return candidates[static_cast<size_t>(NextRandom() % candidates.size())];
}

WeightedRoundRobinBalancer::WeightedRoundRobinBalancer(BalancerOptions options)
    : LoadBalancer(std::move(options)), next_(NextRandom()) {}

void WeightedRoundRobinBalancer::Prepare(HostSet& set) {
  struct Slot {
    uint32_t host;
    uint64_t weight;
    uint64_t picks;  // picks so far; the next deadline is (picks + 1) / weight
  };
  std::vector<Slot> slots;
  uint64_t divisor = 0;
  for (size_t i = 0; i < set.hosts.size(); ++i) {
    if (set.hosts[i].weight > 0) {
      auto w = static_cast<uint64_t>(set.hosts[i].weight);
      slots.push_back({static_cast<uint32_t>(i), w, 0});
      divisor = std::gcd(divisor, w);
    }
  }
  if (slots.empty()) {
    return;
  }
  uint64_t sum = 0;
  for (Slot& s : slots) {
    s.weight /= divisor;
    sum += s.weight;
  }
  if (sum > kMaxCycle) {
    uint64_t scaled = 0;
    for (Slot& s : slots) {
      s.weight = std::max<uint64_t>(1, s.weight * kMaxCycle / sum);
      scaled += s.weight;
    }
    sum = scaled;
  }
  // Earliest deadline first, with exact rational deadlines (picks+1)/weight: a host of weight w
  // is due every 1/w, so over one cycle it appears w times, spread out. Ties go to the host
  // listed first, which makes the schedule deterministic.
  auto later = [](const Slot& a, const Slot& b) {
    uint64_t lhs = (a.picks + 1) * b.weight;
    uint64_t rhs = (b.picks + 1) * a.weight;
    return lhs != rhs ? lhs > rhs : a.host > b.host;
  };
  std::priority_queue<Slot, std::vector<Slot>, decltype(later)> queue(later, std::move(slots));
  set.schedule.reserve(sum);
  for (uint64_t k = 0; k < sum; ++k) {
    Slot s = queue.top();
    queue.pop();
    set.schedule.push_back(s.host);
    ++s.picks;
    queue.push(s);
  }
}

size_t WeightedRoundRobinBalancer::Select(const HostSet& set,
                                          const std::function<bool(size_t)>& eligible) {
  // As in round robin, a skipped slot consumes a turn, so an ejected instance's share is spread
  // over the others in proportion to their weights.
  const size_t len = set.schedule.size();
  for (size_t k = 0; k < len; ++k) {
    size_t i = set.schedule[next_.fetch_add(1, std::memory_order_relaxed) % len];
    if (eligible(i)) {
      return i;
    }
  }
  return set.hosts.size();
}

LeastRequestBalancer::LeastRequestBalancer(BalancerOptions options)
    : LoadBalancer(std::move(options)) {}

size_t LeastRequestBalancer::Select(const HostSet& set,
                                    const std::function<bool(size_t)>& eligible) {
  const std::vector<size_t>& candidates = EligibleIndexes(set.hosts.size(), eligible);
  const size_t m = candidates.size();
  if (m == 0) {
    return set.hosts.size();
  }
  if (m == 1) {
    return candidates[0];
  }
  // Two distinct candidates, uniformly: the second is drawn from the other m-1.
  auto a = static_cast<size_t>(NextRandom() % m);
  auto b = static_cast<size_t>(NextRandom() % (m - 1));
  if (b >= a) {
    ++b;
  }
  size_t ia = candidates[a];
  size_t ib = candidates[b];
  int64_t oa = set.state[ia]->outstanding.load(std::memory_order_relaxed);
  int64_t ob = set.state[ib]->outstanding.load(std::memory_order_relaxed);
  return ob < oa ? ib : ia;
}

Result<BalancerKind> ParseBalancerKind(std::string_view name) {
  if (name == "round_robin" || name == "rr" || name == "round-robin") {
    return BalancerKind::kRoundRobin;
  }
  if (name == "random") {
    return BalancerKind::kRandom;
  }
  if (name == "weighted" || name == "wrr") {
    return BalancerKind::kWeighted;
  }
  if (name == "least_request" || name == "p2c" || name == "least-request") {
    return BalancerKind::kLeastRequest;
  }
  return InvalidArgumentError("unknown balancer \"" + std::string(name) +
                              "\" (want round_robin, random, weighted or least_request)");
}

std::shared_ptr<LoadBalancer> MakeLoadBalancer(BalancerKind kind, BalancerOptions options) {
  switch (kind) {
    case BalancerKind::kRoundRobin:
      return std::make_shared<RoundRobinBalancer>(std::move(options));
    case BalancerKind::kRandom:
      return std::make_shared<RandomBalancer>(std::move(options));
    case BalancerKind::kWeighted:
      return std::make_shared<WeightedRoundRobinBalancer>(std::move(options));
    case BalancerKind::kLeastRequest:
      return std::make_shared<LeastRequestBalancer>(std::move(options));
  }
  return std::make_shared<RoundRobinBalancer>(std::move(options));
}

}  // namespace beacon::client
