#include "common/metrics.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include <fmt/format.h>

namespace beacon {

namespace {

void AtomicAdd(std::atomic<double>& a, double d) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

// Prometheus label values escape backslash, double quote and newline.
std::string PromEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PromName(std::string_view dotted) {
  std::string out(dotted);
  for (char& c : out) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      c = '_';
    }
  }
  return out;
}

std::string PromLabels(const MetricLabels& labels, std::string_view extra_key = "",
                       std::string_view extra_value = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += PromName(k) + "=\"" + PromEscape(v) + "\"";
  }
  if (!extra_key.empty()) {
    if (!first) out += ',';
    out += std::string(extra_key) + "=\"" + std::string(extra_value) + "\"";
  }
  out += "}";
  return out;
}

std::string PromValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  return fmt::format("{}", v);
}

std::string JsonLabels(const MetricLabels& labels) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += "\"" + JsonEscape(k) + "\":\"" + JsonEscape(v) + "\"";
  }
  return out + "}";
}

}  // namespace

void Gauge::Add(double d) { AtomicAdd(value_, d); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  uint64_t n = count_.fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  double cur = min_.load(std::memory_order_relaxed);
  while ((n == 0 || v < cur) && !min_.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
  cur = max_.load(std::memory_order_relaxed);
  while (v > cur && !max_.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // The +Inf bucket is the total by definition; read count from it so the two always agree.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  s.min = min_.load(std::memory_order_relaxed);
  s.max = max_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> LatencyBucketsSeconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

MetricsRegistry::MetricsRegistry(std::string prefix) : prefix_(std::move(prefix)) {}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(std::string_view name, Kind kind,
                                                    std::string_view help) {
  std::string full = prefix_.empty() ? std::string(name) : prefix_ + "." + std::string(name);
  auto [it, inserted] = families_.try_emplace(full);
  if (inserted) {
    it->second.kind = kind;
    it->second.help = help.empty() ? full : std::string(help);
  }
  return it->second;
}

Counter* MetricsRegistry::GetCounter(std::string_view name, const MetricLabels& labels,
                                     std::string_view help) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, Kind::kCounter, help).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* MetricsRegistry::GetGauge(std::string_view name, const MetricLabels& labels,
                                 std::string_view help) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, Kind::kGauge, help).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Histogram* MetricsRegistry::GetHistogram(std::string_view name, const MetricLabels& labels,
                                         std::vector<double> bounds, std::string_view help) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, Kind::kHistogram, help).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return slot.get();
}

void MetricsRegistry::AddCollector(std::function<void(MetricsRegistry&)> collector) {
  std::lock_guard<std::mutex> lock(collectors_mu_);
  collectors_.push_back(std::move(collector));
}

void MetricsRegistry::RunCollectors() {
  std::vector<std::function<void(MetricsRegistry&)>> collectors;
  {
    std::lock_guard<std::mutex> lock(collectors_mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c(*this);
}

std::string MetricsRegistry::RenderJson() {
  RunCollectors();
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char ts[64];
  std::strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  std::string gauges, counters, samples;
  auto sep = [](std::string& s) {
    if (!s.empty()) s += ',';
  };
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, f] : families_) {
    std::string n = JsonEscape(name);
    for (const auto& [labels, g] : f.gauges) {
      sep(gauges);
      gauges += fmt::format("{{\"Name\":\"{}\",\"Value\":{},\"Labels\":{}}}", n,
                            PromValue(g->value()), JsonLabels(labels));
    }
    for (const auto& [labels, c] : f.counters) {
      sep(counters);
      uint64_t v = c->value();
      // Consul's counters are interval aggregates of increments; ours are totals of increments
      // of one: Count = Sum = total.
      counters += fmt::format(
          "{{\"Name\":\"{}\",\"Count\":{},\"Rate\":0,\"Sum\":{},\"Min\":1,\"Max\":1,\"Mean\":1,"
          "\"Stddev\":0,\"Labels\":{}}}",
          n, v, v, JsonLabels(labels));
    }
    for (const auto& [labels, h] : f.histograms) {
      sep(samples);
      Histogram::Snapshot s = h->Read();
      double mean = s.count ? s.sum / static_cast<double>(s.count) : 0;
      samples += fmt::format(
          "{{\"Name\":\"{}\",\"Count\":{},\"Rate\":0,\"Sum\":{},\"Min\":{},\"Max\":{},\"Mean\":{},"
          "\"Stddev\":0,\"Labels\":{}}}",
          n, s.count, PromValue(s.sum), PromValue(s.min), PromValue(s.max), PromValue(mean),
          JsonLabels(labels));
    }
  }
  return fmt::format(
      "{{\"Timestamp\":\"{}\",\"Gauges\":[{}],\"Points\":[],\"Counters\":[{}],\"Samples\":[{}]}}",
      ts, gauges, counters, samples);
}

std::string MetricsRegistry::RenderPrometheus() {
  RunCollectors();
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, f] : families_) {
    std::string base = PromName(name);
    switch (f.kind) {
      case Kind::kCounter: {
        std::string n = base + "_total";
        out += "# HELP " + n + " " + f.help + "\n# TYPE " + n + " counter\n";
        for (const auto& [labels, c] : f.counters) {
          out += n + PromLabels(labels) + " " + std::to_string(c->value()) + "\n";
        }
        break;
      }
      case Kind::kGauge:
        out += "# HELP " + base + " " + f.help + "\n# TYPE " + base + " gauge\n";
        for (const auto& [labels, g] : f.gauges) {
          out += base + PromLabels(labels) + " " + PromValue(g->value()) + "\n";
        }
        break;
      case Kind::kHistogram:
        out += "# HELP " + base + " " + f.help + "\n# TYPE " + base + " histogram\n";
        for (const auto& [labels, h] : f.histograms) {
          Histogram::Snapshot s = h->Read();
          for (size_t i = 0; i < s.bounds.size(); ++i) {
            out += base + "_bucket" + PromLabels(labels, "le", PromValue(s.bounds[i])) + " " +
                   std::to_string(s.cumulative[i]) + "\n";
          }
          out += base + "_bucket" + PromLabels(labels, "le", "+Inf") + " " +
                 std::to_string(s.count) + "\n";
          out += base + "_sum" + PromLabels(labels) + " " + PromValue(s.sum) + "\n";
          out += base + "_count" + PromLabels(labels) + " " + std::to_string(s.count) + "\n";
        }
        break;
    }
  }
  return out;
}

uint64_t ProcessRssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace beacon
