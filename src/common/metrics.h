// Metrics: counters, gauges and histograms, rendered as Consul's JSON metrics document or the
// Prometheus text format (consul-api.md 4.18).
//
// Updates are lock-free atomics, safe from any thread. Looking a metric up by name and labels takes
// a mutex, so hot paths look up once and keep the pointer (metrics are never removed, pointers stay
// valid for the registry's life). Values that are cheaper to read than to maintain (catalog sizes,
// RSS) come from collectors run at scrape time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace beacon {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Fixed buckets (upper bounds, in the unit the histogram is observed in). Count, sum, min and max
// are kept for Consul's JSON "Samples".
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf last
    uint64_t count = 0;
    double sum = 0, min = 0, max = 0;
  };
  Snapshot Read() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
  std::atomic<double> min_{0};
  std::atomic<double> max_{0};
};

// Latency buckets in seconds: 100 µs .. 10 s.
std::vector<double> LatencyBucketsSeconds();

class MetricsRegistry {
 public:
  // `prefix` starts every name ("consul" as Consul's default; configurable).
  explicit MetricsRegistry(std::string prefix = "consul");

  // Returns the metric for (name, labels), creating it. Names are dotted ("http.requests");
  // the prefix is added. The pointer stays valid for the registry's life. Thread-safe.
  Counter* GetCounter(std::string_view name, const MetricLabels& labels = {},
                      std::string_view help = "");
  Gauge* GetGauge(std::string_view name, const MetricLabels& labels = {},
                  std::string_view help = "");
  Histogram* GetHistogram(std::string_view name, const MetricLabels& labels = {},
                          std::vector<double> bounds = LatencyBucketsSeconds(),
                          std::string_view help = "");

  // Runs before every render, to refresh gauges (thread-safe; collectors must not block long).
  void AddCollector(std::function<void(MetricsRegistry&)> collector);

  // Consul's JSON shape: {"Timestamp", "Gauges", "Points", "Counters", "Samples"}.
  std::string RenderJson();
  // Prometheus text exposition format 0.0.4 (checked with `promtool check metrics`).
  std::string RenderPrometheus();

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Family {
    Kind kind;
    std::string help;
    // Label set (rendered) -> metric. std::map keeps a stable, sorted output.
    std::map<MetricLabels, std::unique_ptr<Counter>> counters;
    std::map<MetricLabels, std::unique_ptr<Gauge>> gauges;
    std::map<MetricLabels, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyFor(std::string_view name, Kind kind, std::string_view help);
  void RunCollectors();

  const std::string prefix_;
  std::mutex mu_;
  std::map<std::string, Family> families_;  // guarded by mu_; key = full dotted name
  std::mutex collectors_mu_;
  std::vector<std::function<void(MetricsRegistry&)>> collectors_;
};

// Resident set size of this process in bytes (from /proc/self/statm); 0 if unknown.
uint64_t ProcessRssBytes();

}  // namespace beacon
