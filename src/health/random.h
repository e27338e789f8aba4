// Random: the injectable source of scheduling jitter (STYLE.md section 5, "Clocks and randomness
// are injected"). Tests pass a fixed sequence so the first run of every check is predictable.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>

namespace beacon::health {

class Random {
 public:
  virtual ~Random() = default;
  // A uniformly distributed value in [0, n); 0 when n == 0. Thread-safe in every implementation.
  virtual uint64_t Uniform(uint64_t n) = 0;
};

// The default: a seeded Mersenne twister behind a mutex (it is called once per check start, far
// off any hot path).
class SystemRandom final : public Random {
 public:
  SystemRandom() : engine_(std::random_device{}()) {}
  uint64_t Uniform(uint64_t n) override {
    if (n == 0) {
      return 0;
    }
    std::lock_guard<std::mutex> lock(mu_);
    return std::uniform_int_distribution<uint64_t>(0, n - 1)(engine_);
  }

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;  // guarded by mu_
};

}  // namespace beacon::health
