#include "loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace beacon::bench {

namespace {
constexpr uint64_t kSubBuckets = uint64_t{1} << 7;
}  // namespace

LatencyHistogram::LatencyHistogram() : counts_((kMaxBits - kSubBucketBits + 1) * kSubBuckets, 0) {
  static_assert(kSubBuckets == (uint64_t{1} << kSubBucketBits));
}

size_t LatencyHistogram::BucketOf(uint64_t v) {
  v = std::min<uint64_t>(v, (uint64_t{1} << kMaxBits) - 1);
  if (v < kSubBuckets) {
    return static_cast<size_t>(v);
  }
  // msb >= kSubBucketBits here; the top kSubBucketBits+1 bits pick the sub-bucket.
  const int msb = std::bit_width(v) - 1;
  const int shift = msb - kSubBucketBits;
  return static_cast<size_t>((static_cast<uint64_t>(shift) + 1) * kSubBuckets +
                             ((v >> shift) - kSubBuckets));
}

uint64_t LatencyHistogram::HighestValueOf(size_t bucket) {
  if (bucket < kSubBuckets) {
    return bucket;
  }
  const uint64_t shift = bucket / kSubBuckets - 1;
  const uint64_t mantissa = bucket % kSubBuckets + kSubBuckets;
  return (mantissa << shift) + ((uint64_t{1} << shift) - 1);
}

void LatencyHistogram::Record(int64_t ns) {
  ns = std::max<int64_t>(ns, 0);
  ++counts_[BucketOf(static_cast<uint64_t>(ns))];
  if (count_ == 0 || ns < min_ns_) {
    min_ns_ = ns;
  }
  max_ns_ = std::max(max_ns_, ns);
  sum_ns_ += static_cast<double>(ns);
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) {
    return;
  }
  for (size_t i = 0; i < counts_.size(); ++i) {
    counts_[i] += other.counts_[i];
  }
  min_ns_ = count_ == 0 ? other.min_ns_ : std::min(min_ns_, other.min_ns_);
  max_ns_ = std::max(max_ns_, other.max_ns_);
  sum_ns_ += other.sum_ns_;
  count_ += other.count_;
}

double LatencyHistogram::mean_ns() const {
  return count_ == 0 ? 0.0 : sum_ns_ / static_cast<double>(count_);
}

int64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) {
    return 0;
  }
  q = std::clamp(q, 0.0, 100.0);
  // The rank of the sample at q, 1-based: p50 of 2 samples is the 1st, p100 the last.
  const auto rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(q / 100.0 * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::min<int64_t>(static_cast<int64_t>(HighestValueOf(i)), max_ns_);
    }
  }
  return max_ns_;
}

}  // namespace beacon::bench
