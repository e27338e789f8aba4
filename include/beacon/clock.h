// Clock: the time source of the cache (retry backoff) and the balancers (ejection), injectable so
// tests can step time by hand (STYLE.md section 5, "clocks and randomness are injected").
//
// Time is monotonic (std::chrono::steady_clock's epoch): nothing here is persisted.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>

namespace beacon::client {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Blocks until Now() >= deadline (true) or `stop` fires (false). Thread-safe.
  virtual bool SleepUntil(TimePoint deadline, std::stop_token stop) = 0;

  // The process-wide steady clock.
  static std::shared_ptr<Clock> Steady();
};

// A clock that moves only when Advance() is called; for tests. Thread-safe.
class ManualClock final : public Clock {
 public:
  ManualClock() = default;

  TimePoint Now() const override;
  bool SleepUntil(TimePoint deadline, std::stop_token stop) override;

  // Moves time forward by `d` and wakes the sleepers whose deadline has come.
  void Advance(std::chrono::nanoseconds d);
  // Number of threads now inside SleepUntil.
  size_t sleepers() const;
  // Deadline of the earliest sleeper; TimePoint::max() when none sleeps.
  TimePoint NextDeadline() const;
  // Waits (in real time, at most `real_timeout`) until at least `n` threads sleep; for tests that
  // must not advance time before the code under test has gone to sleep. True when they do.
  bool WaitForSleepers(size_t n, std::chrono::milliseconds real_timeout) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable_any cv_;
  TimePoint now_{std::chrono::hours(1)};  // guarded by mu_
  std::multiset<TimePoint> deadlines_;    // of the threads inside SleepUntil; guarded by mu_
};

}  // namespace beacon::client
