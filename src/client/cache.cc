// ServiceCache: one watch thread per distinct query (see cache.h for the contract).
//
// Locks, in the order they may be taken:
//   Entry::notify_mu (recursive)  serialises deliveries to one query's subscribers, so each sees
//                                 answers in order, the initial one included;
//   Subscription::State::mu (recursive)  held while a callback runs, so Cancel() can wait for it;
//   Entry::mu                     the answer itself; never held while calling out.
// ServiceCache::mu_ guards only the map of entries and is never held with the others.
#include "beacon/cache.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <optional>
#include <random>
#include <thread>

#include "beacon/balancer.h"

namespace beacon::client {

namespace {

std::string KeyEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%' || c == '&' || c == '=' || c == '?') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
      out.push_back(kHex[static_cast<unsigned char>(c) & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

double DefaultRandom() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

}  // namespace

std::string ServiceQuery::Key() const {
  std::string key = KeyEscape(service);
  char sep = '?';
  auto add = [&](std::string_view k, std::string_view v) {
    key += sep;
    key += k;
    if (!v.empty()) {
      key += '=';
      key += KeyEscape(v);
    }
    sep = '&';
  };
  if (passing_only) {
    add("passing", "");
  }
  std::vector<std::string> sorted = tags;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (const std::string& tag : sorted) {
    add("tag", tag);
  }
  if (!filter.empty()) {
    add("filter", filter);
  }
  if (!datacenter.empty()) {
    add("dc", datacenter);
  }
  if (allow_stale) {
    add("stale", "");
  }
  return key;
}

std::chrono::milliseconds BackoffPolicy::Delay(int failures, double u) const {
  failures = std::max(failures, 1);
  double j = std::clamp(jitter, 0.0, 1.0);
  u = std::clamp(u, 0.0, 1.0);
  double cap = static_cast<double>(std::max(max, initial).count());
  double d = static_cast<double>(initial.count()) *
             std::pow(std::max(multiplier, 1.0), static_cast<double>(failures - 1));
  d = std::min(d, cap);  // also tames pow() overflowing to inf
  d *= 1.0 - j * u;
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(d)));
}

struct Subscription::State {
  std::recursive_mutex mu;                         // held while fn runs
  std::function<void(const ServiceSnapshot&)> fn;  // guarded by mu
  uint64_t delivered = 0;                          // Entry::version last delivered; guarded by mu
  bool cancelled = false;                          // guarded by mu
  int running = 0;  // nesting depth of fn on the thread holding mu; guarded by mu

  // Calls fn unless it already saw this version (the initial delivery in Subscribe() and the
  // watch's next push may carry the same answer).
  void Deliver(const ServiceSnapshot& snapshot, uint64_t version) {
    std::lock_guard lock(mu);
    if (cancelled || !fn || version <= delivered) {
      return;
    }
    delivered = version;
    ++running;
    fn(snapshot);
    --running;
    if (cancelled && running == 0) {
      fn = nullptr;  // cancelled from inside fn: release its captures now that it returned
    }
  }

  void Cancel() {
    std::lock_guard lock(mu);  // from another thread: waits until fn has returned
    cancelled = true;
    if (running == 0) {
      fn = nullptr;  // never while fn runs: that would destroy the lambda under its own feet
    }
  }
};

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    Cancel();
    state_ = std::move(other.state_);
  }
  return *this;
}

void Subscription::Cancel() {
  if (state_ == nullptr) {
    return;
  }
  state_->Cancel();
  state_.reset();
}

struct ServiceCache::Counters {
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> round_trips{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> updates{0};
};

struct ServiceCache::Entry {
  explicit Entry(ServiceQuery q) : query(std::move(q)) {}

  const ServiceQuery query;
  std::recursive_mutex notify_mu;
  std::mutex mu;
  std::condition_variable cv;  // signalled after every round trip
  // Guarded by mu:
  bool has_value = false;
  std::shared_ptr<const std::vector<ServiceEntry>> entries;
  uint64_t index = 0;
  bool stale = false;
  Status last_error;
  uint64_t attempts = 0;
  uint64_t version = 0;  // moves with every change subscribers are told about
  Clock::TimePoint last_contact{};
  std::vector<std::weak_ptr<Subscription::State>> subscribers;

  std::jthread thread;  // the watch; started once, joined by ~ServiceCache

  // REQUIRES: mu held and has_value.
  ServiceSnapshot SnapshotLocked(Clock::TimePoint now) const {
    ServiceSnapshot s;
    s.entries = entries;
    s.index = index;
    s.stale = stale;
    s.last_error = last_error;
    if (stale) {
      s.age = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_contact);
    }
    return s;
  }
};

ServiceCache::ServiceCache(std::shared_ptr<Client> client, CacheOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      counters_(std::make_unique<Counters>()) {
  if (!options_.clock) {
    options_.clock = Clock::Steady();
  }
  if (!options_.random) {
    options_.random = DefaultRandom;
  }
}

ServiceCache::~ServiceCache() {
  std::map<std::string, std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    entries.swap(entries_);
  }
  // Stop every watch first so they wind down in parallel, then wait for each.
  for (auto& [key, entry] : entries) {
    entry->thread.request_stop();
  }
  for (auto& [key, entry] : entries) {
    if (entry->thread.joinable()) {
      entry->thread.join();
    }
  }
}

std::shared_ptr<ServiceCache::Entry> ServiceCache::EntryFor(const ServiceQuery& query,
                                                            bool* created) {
  std::string key = query.Key();
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    *created = false;
    return it->second;
  }
  auto entry = std::make_shared<Entry>(query);
  entries_.emplace(std::move(key), entry);
  entry->thread =
      std::jthread([this, entry](std::stop_token stop) { RunWatch(entry, std::move(stop)); });
  *created = true;
  return entry;
}

Result<ServiceSnapshot> ServiceCache::Get(const ServiceQuery& query,
                                          std::chrono::milliseconds timeout) {
  if (query.service.empty()) {
    return InvalidArgumentError("cache: missing service name");
  }
  bool created = false;
  std::shared_ptr<Entry> entry = EntryFor(query, &created);
  std::unique_lock lock(entry->mu);
  if (entry->has_value) {
    counters_->hits.fetch_add(1, std::memory_order_relaxed);
    return entry->SnapshotLocked(options_.clock->Now());
  }
  counters_->misses.fetch_add(1, std::memory_order_relaxed);
  entry->cv.wait_for(lock, timeout, [&] { return entry->has_value || entry->attempts > 0; });
  if (entry->has_value) {
    return entry->SnapshotLocked(options_.clock->Now());
  }
  if (!entry->last_error.ok()) {
    return entry->last_error;
  }
  return DeadlineExceededError("cache: no answer for " + query.Key() + " yet");
}

Subscription ServiceCache::Subscribe(const ServiceQuery& query,
                                     std::function<void(const ServiceSnapshot&)> callback) {
  auto state = std::make_shared<Subscription::State>();
  state->fn = std::move(callback);
  bool created = false;
  std::shared_ptr<Entry> entry = EntryFor(query, &created);
  std::lock_guard notify(entry->notify_mu);
  std::optional<ServiceSnapshot> initial;
  uint64_t version = 0;
  {
    std::lock_guard lock(entry->mu);
    entry->subscribers.push_back(state);
    if (entry->has_value) {
      initial = entry->SnapshotLocked(options_.clock->Now());
      version = entry->version;
    }
  }
  if (initial) {
    state->Deliver(*initial, version);
  }
  return Subscription(std::move(state));
}

CacheStats ServiceCache::stats() const {
  CacheStats s;
  s.hits = counters_->hits.load(std::memory_order_relaxed);
  s.misses = counters_->misses.load(std::memory_order_relaxed);
  s.watch_round_trips = counters_->round_trips.load(std::memory_order_relaxed);
  s.errors = counters_->errors.load(std::memory_order_relaxed);
  s.updates = counters_->updates.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  s.watches = entries_.size();
  return s;
}

void ServiceCache::RunWatch(const std::shared_ptr<Entry>& entry, std::stop_token stop) {
  const ServiceQuery& query = entry->query;
  HealthServiceOptions health;
  health.tags = query.tags;
  health.passing_only = query.passing_only;
  uint64_t index = 0;
  int failures = 0;
  int quick_returns = 0;  // blocking queries answered early without a change, in a row

  // Delivers the current answer to every live subscriber, in order.
  auto notify = [&] {
    std::lock_guard notify_lock(entry->notify_mu);
    ServiceSnapshot snapshot;
    uint64_t version = 0;
    std::vector<std::shared_ptr<Subscription::State>> live;
    {
      std::lock_guard lock(entry->mu);
      snapshot = entry->SnapshotLocked(options_.clock->Now());
      version = entry->version;
      auto& subs = entry->subscribers;
      subs.erase(
          std::remove_if(subs.begin(), subs.end(), [](const auto& w) { return w.expired(); }),
          subs.end());
      for (const auto& w : subs) {
        if (auto s = w.lock()) {
          live.push_back(std::move(s));
        }
      }
    }
    for (const auto& s : live) {
      s->Deliver(snapshot, version);
    }
  };

  while (!stop.stop_requested()) {
    QueryOptions q;
    q.wait_index = index;
    q.wait_time = options_.watch_wait;
    q.filter = query.filter;
    q.datacenter = query.datacenter;
    q.allow_stale = query.allow_stale;
    q.stop = stop;
    const auto sent = std::chrono::steady_clock::now();
    auto result = client_->HealthService(query.service, health, q);
    if (stop.stop_requested()) {
      return;
    }
    counters_->round_trips.fetch_add(1, std::memory_order_relaxed);

    if (!result.ok()) {
      counters_->errors.fetch_add(1, std::memory_order_relaxed);
      ++failures;
      bool turned_stale = false;
      {
        std::lock_guard lock(entry->mu);
        entry->last_error = result.status();
        ++entry->attempts;
        turned_stale = entry->has_value && !entry->stale;
        entry->stale = entry->has_value;
        entry->version += turned_stale ? 1 : 0;
      }
      entry->cv.notify_all();
      if (turned_stale) {
        notify();
      }
      auto delay = options_.backoff.Delay(failures, options_.random());
      if (!options_.clock->SleepUntil(options_.clock->Now() + delay, stop)) {
        return;
      }
      continue;
    }

    failures = 0;
    const uint64_t new_index = result->meta.last_index;
    bool changed = false;
    {
      std::lock_guard lock(entry->mu);
      const bool content_changed = !entry->has_value || *entry->entries != result->value;
      changed = content_changed || entry->stale;
      if (content_changed) {
        entry->entries =
            std::make_shared<const std::vector<ServiceEntry>>(std::move(result->value));
      }
      entry->has_value = true;
      entry->index = new_index;
      entry->stale = false;
      entry->last_error = Status();
      entry->last_contact = options_.clock->Now();
      ++entry->attempts;
      entry->version += changed ? 1 : 0;
    }
    entry->cv.notify_all();
    if (changed) {
      counters_->updates.fetch_add(1, std::memory_order_relaxed);
      notify();
    }
    // Consul's rules for blocking clients: an index that went backwards means the agent's state
    // was reset (restore, another agent), so start over with a plain read; never block on 0,
    // which would answer at once forever.
    const uint64_t asked = index;
    index = new_index < index ? 0 : std::max<uint64_t>(new_index, 1);
    // An agent answers a blocking query early only when the index moved. One that keeps
    // answering at once with the same index does not block at all; without this the watch
    // would spin on it. Real time on purpose: this is about how the agent behaves.
    const bool quick = asked > 0 && new_index == asked &&
                       std::chrono::steady_clock::now() - sent < options_.watch_wait / 2;
    quick_returns = quick ? quick_returns + 1 : 0;
    if (quick_returns > 0) {
      auto delay = options_.backoff.Delay(quick_returns, options_.random());
      if (!options_.clock->SleepUntil(options_.clock->Now() + delay, stop)) {
        return;
      }
    }
  }
}

Subscription FeedBalancer(ServiceCache& cache, const ServiceQuery& query,
                          std::shared_ptr<LoadBalancer> balancer) {
  return cache.Subscribe(query, [balancer = std::move(balancer)](const ServiceSnapshot& s) {
    // A stale answer is the set the balancer already has: keep using it.
    if (!s.stale) {
      balancer->Update(InstancesFromEntries(*s.entries));
    }
  });
}

}  // namespace beacon::client
