// Eventually(): wait for a condition with a deadline instead of sleeping a fixed time
// (STYLE.md section 8; the idea of Consul's sdk/testutil/retry).
//
//   ASSERT_TRUE(Eventually([&] { return agent.Services().size() == 2; }));
//
// The loop is bounded by `deadline`, so a condition that never holds fails the test instead of
// hanging it. Under a sanitizer build everything runs several times slower: the deadline is
// multiplied by TimeoutScale() (set by the asan and tsan test presets), never shortened.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <thread>

namespace beacon::testutil {

// BEACON_TEST_TIMEOUT_SCALE from the environment (CMakePresets.json sets it for the sanitizer
// presets; the Python harness reads the same variable): how much slower than a plain build this
// one runs. 1 when unset or not a number in [1, 100].
inline double TimeoutScale() {
  static const double scale = [] {
    const char* text = std::getenv("BEACON_TEST_TIMEOUT_SCALE");
    if (text == nullptr) {
      return 1.0;
    }
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    return end != text && v >= 1.0 && v <= 100.0 ? v : 1.0;
  }();
  return scale;
}

// `d` times TimeoutScale(): for waits that bound how long something may take.
inline std::chrono::milliseconds Scaled(std::chrono::milliseconds d) {
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(d.count()) *
                                                        TimeoutScale()));
}

// Calls `pred` until it returns true or Scaled(`deadline`) has passed, sleeping `step` between
// calls. Returns true as soon as `pred` does; false if it never did. `pred` is always called at
// least once, and once more at (or just after) the deadline.
inline bool Eventually(std::function<bool()> pred,
                       std::chrono::milliseconds deadline = std::chrono::seconds(5),
                       std::chrono::milliseconds step = std::chrono::milliseconds(10)) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point end = Clock::now() + Scaled(deadline);
  step = std::max(step, std::chrono::milliseconds(1));
  for (;;) {
    if (pred()) {
      return true;
    }
    const Clock::time_point now = Clock::now();
    if (now >= end) {
      return false;
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(step, end - now));
  }
}

}  // namespace beacon::testutil
