// JsonLine: one flat JSON object printed on one line, the load generator's only stdout output.
//
// Scripts (bench/run.sh, bench/summarize.py) read these lines; humans read the stderr progress.
// Keys keep insertion order. Doubles are printed with up to 4 decimals, so figures stay readable
// in the raw files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "loadgen/histogram.h"

namespace beacon::bench {

class JsonLine {
 public:
  JsonLine& Add(std::string_view key, std::string_view value);
  JsonLine& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  JsonLine& Add(std::string_view key, int64_t value);
  JsonLine& Add(std::string_view key, uint64_t value);
  JsonLine& Add(std::string_view key, int value) { return Add(key, static_cast<int64_t>(value)); }
  JsonLine& Add(std::string_view key, double value);
  JsonLine& Add(std::string_view key, bool value);
  // Adds <prefix>p50_ms, p90_ms, p99_ms, max_ms, mean_ms and (when empty) nothing else.
  JsonLine& AddLatency(std::string_view prefix, const LatencyHistogram& h);

  // The finished object, e.g. {"mode":"read","rps":1234.5}.
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void Key(std::string_view key);
  std::string body_;
};

}  // namespace beacon::bench
