// Eventually(): wait for a condition with a deadline instead of sleeping a fixed time
// (STYLE.md section 8; the idea of Consul's sdk/testutil/retry).
//
//   ASSERT_TRUE(Eventually([&] { return agent.Services().size() == 2; }));
//
// The loop is bounded by `deadline`, so a condition that never holds fails the test instead of
// hanging it.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

namespace beacon::testutil {

// Calls `pred` until it returns true or `deadline` has passed, sleeping `step` between calls.
// Returns true as soon as `pred` does; false if it never did. `pred` is always called at least
// once, and once more at (or just after) the deadline.
inline bool Eventually(std::function<bool()> pred,
                       std::chrono::milliseconds deadline = std::chrono::seconds(5),
                       std::chrono::milliseconds step = std::chrono::milliseconds(10)) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point end = Clock::now() + deadline;
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
