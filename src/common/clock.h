// Injectable wall clock (STYLE.md section 5: clocks are injected so TTLs and reaping are testable).
//
// Beacon keeps check deadlines in wall-clock nanoseconds since the Unix epoch because they are
// persisted and must survive a restart; monotonic time would not mean anything after a reboot.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace beacon {

class Clock {
 public:
  virtual ~Clock() = default;
  // Nanoseconds since the Unix epoch. Thread-safe.
  virtual int64_t NowNanos() const = 0;
};

class RealClock final : public Clock {
 public:
  int64_t NowNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static RealClock& Get() {
    static RealClock clock;
    return clock;
  }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_nanos = 1'700'000'000'000'000'000) : now_(start_nanos) {}
  int64_t NowNanos() const override { return now_.load(std::memory_order_acquire); }
  void Advance(std::chrono::nanoseconds d) { now_.fetch_add(d.count(), std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace beacon
