// WatchRegistry: parked blocking queries of one loop, keyed by watch key (catalog/snapshot.h).
//
// Single-threaded: it lives in one loop and is touched only by that loop's thread, so it needs no
// lock. A parked query owns a Waiter (a timer set to its deadline) and links it under its key;
// Notify() cancels the timers of every waiter under a changed key, which resumes those queries
// early so they re-check their index. A query is woken only by batches that touched its key.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <list>
#include <string>
#include <unordered_map>

#include "catalog/snapshot.h"
#include "common/metrics.h"

namespace beacon::http {

class WatchRegistry {
 public:
  struct Waiter {
    explicit Waiter(boost::asio::any_io_executor ex) : timer(std::move(ex)) {}
    boost::asio::steady_timer timer;
    std::string key;
    bool linked = false;
    std::list<Waiter*>::iterator it;
  };

  // Links `w` under `key`. REQUIRES: !w->linked.
  void Park(const std::string& key, Waiter* w);
  // Unlinks `w` if it is still linked. Safe to call twice.
  void Unpark(Waiter* w);
  // Wakes (cancels the timers of) every waiter under the changed keys and unlinks them.
  void Notify(const catalog::ChangeSet& changes);
  // Wakes every waiter (shutdown).
  void WakeAll();

  size_t parked() const { return parked_; }
  // Mirrors the number parked into `gauge` (shared by every loop; atomic adds).
  void set_parked_gauge(Gauge* gauge) { gauge_ = gauge; }

 private:
  void Count(int delta) {
    if (gauge_) gauge_->Add(delta);
  }
  Gauge* gauge_ = nullptr;
  std::unordered_map<std::string, std::list<Waiter*>> by_key_;
  size_t parked_ = 0;
};

}  // namespace beacon::http
