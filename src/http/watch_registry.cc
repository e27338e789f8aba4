#include "http/watch_registry.h"

namespace beacon::http {

void WatchRegistry::Park(const std::string& key, Waiter* w) {
  auto& list = by_key_[key];
  w->key = key;
  w->it = list.insert(list.end(), w);
  w->linked = true;
  ++parked_;
  Count(1);
}

void WatchRegistry::Unpark(Waiter* w) {
  if (!w->linked) return;
  auto found = by_key_.find(w->key);
  if (found != by_key_.end()) {
    found->second.erase(w->it);
    if (found->second.empty()) by_key_.erase(found);
  }
  w->linked = false;
  --parked_;
  Count(-1);
}

void WatchRegistry::WakeAll() {
  catalog::ChangeSet all;
  for (const auto& [key, waiters] : by_key_) all.keys.push_back(key);
  Notify(all);
}

void WatchRegistry::Notify(const catalog::ChangeSet& changes) {
  for (const std::string& key : changes.keys) {
    auto found = by_key_.find(key);
    if (found == by_key_.end()) continue;
    std::list<Waiter*> waiters = std::move(found->second);
    by_key_.erase(found);
    for (Waiter* w : waiters) {
      w->linked = false;
      --parked_;
      w->timer.cancel();
    }
    Count(-static_cast<int>(waiters.size()));
  }
}

}  // namespace beacon::http
