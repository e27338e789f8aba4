// Clock implementations: the steady clock, and ManualClock for tests.
#include "beacon/clock.h"

#include <condition_variable>

namespace beacon::client {

namespace {

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }

  bool SleepUntil(TimePoint deadline, std::stop_token stop) override {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    // Nobody notifies cv but the stop token: the wait ends at the deadline or on stop.
    cv.wait_until(lock, stop, deadline, [] { return false; });
    return !stop.stop_requested();
  }
};

}  // namespace

std::shared_ptr<Clock> Clock::Steady() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SteadyClock>();
  return clock;
}

Clock::TimePoint ManualClock::Now() const {
  std::lock_guard lock(mu_);
  return now_;
}

bool ManualClock::SleepUntil(TimePoint deadline, std::stop_token stop) {
  std::unique_lock lock(mu_);
  auto it = deadlines_.insert(deadline);
  cv_.notify_all();  // WaitForSleepers() watches the count
  bool reached = cv_.wait(lock, stop, [&] { return now_ >= deadline; });
  deadlines_.erase(it);
  cv_.notify_all();
  return reached;
}

void ManualClock::Advance(std::chrono::nanoseconds d) {
  std::lock_guard lock(mu_);
  now_ += std::chrono::duration_cast<TimePoint::duration>(d);
  cv_.notify_all();
}

size_t ManualClock::sleepers() const {
  std::lock_guard lock(mu_);
  return deadlines_.size();
}

Clock::TimePoint ManualClock::NextDeadline() const {
  std::lock_guard lock(mu_);
  return deadlines_.empty() ? TimePoint::max() : *deadlines_.begin();
}

bool ManualClock::WaitForSleepers(size_t n, std::chrono::milliseconds real_timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, real_timeout, [&] { return deadlines_.size() >= n; });
}

}  // namespace beacon::client
