// LatencyHistogram: a fixed-size, log-linear histogram of durations in nanoseconds.
//
// The layout follows HdrHistogram's idea: values below 2^kSubBucketBits get one bucket each;
// above that, every power of two is split into 2^kSubBucketBits equal sub-buckets, so any
// recorded value is known to within 1/128 (< 0.8%) of itself whatever its magnitude. Recording is
// one bit-width computation and one increment, so the load generator can record every request
// (no sampling) without becoming the bottleneck. Values are clamped to [0, 2^kMaxBits) ns
// (about 18 minutes); min, max, sum and count are kept exactly.
//
// Thread safety: none. Each loop owns its histograms; Merge() combines them afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace beacon::bench {

class LatencyHistogram {
 public:
  LatencyHistogram();

  // Records one duration. Negative values are recorded as 0.
  void Record(int64_t ns);
  // Adds every count of `other` into this histogram.
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  int64_t min_ns() const { return count_ == 0 ? 0 : min_ns_; }
  int64_t max_ns() const { return max_ns_; }
  double mean_ns() const;

  // The value at percentile `q` (0..100): the highest value of the bucket holding the q-th
  // sample, never more than max_ns(). 0 when empty.
  int64_t Percentile(double q) const;

 private:
  static constexpr int kSubBucketBits = 7;
  static constexpr int kMaxBits = 40;

  static size_t BucketOf(uint64_t v);
  static uint64_t HighestValueOf(size_t bucket);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t min_ns_ = 0;
  int64_t max_ns_ = 0;
  double sum_ns_ = 0;
};

}  // namespace beacon::bench
