#include "loadgen/report.h"

#include <fmt/format.h>

#include <cmath>

namespace beacon::bench {

namespace {

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace

void JsonLine::Key(std::string_view key) {
  if (!body_.empty()) {
    body_ += ',';
  }
  body_ += Quote(key);
  body_ += ':';
}

JsonLine& JsonLine::Add(std::string_view key, std::string_view value) {
  Key(key);
  body_ += Quote(value);
  return *this;
}

JsonLine& JsonLine::Add(std::string_view key, int64_t value) {
  Key(key);
  body_ += std::to_string(value);
  return *this;
}

JsonLine& JsonLine::Add(std::string_view key, uint64_t value) {
  Key(key);
  body_ += std::to_string(value);
  return *this;
}

JsonLine& JsonLine::Add(std::string_view key, double value) {
  Key(key);
  if (!std::isfinite(value)) {
    body_ += "null";
  } else {
    std::string s = fmt::format("{:.4f}", value);
    // Trim trailing zeros (and a bare point) so 12.5000 prints as 12.5.
    while (!s.empty() && s.back() == '0') {
      s.pop_back();
    }
    if (!s.empty() && s.back() == '.') {
      s.pop_back();
    }
    body_ += s;
  }
  return *this;
}

JsonLine& JsonLine::Add(std::string_view key, bool value) {
  Key(key);
  body_ += value ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::AddLatency(std::string_view prefix, const LatencyHistogram& h) {
  auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  std::string p(prefix);
  Add(p + "p50_ms", ms(h.Percentile(50)));
  Add(p + "p90_ms", ms(h.Percentile(90)));
  Add(p + "p99_ms", ms(h.Percentile(99)));
  Add(p + "max_ms", ms(h.max_ns()));
  Add(p + "mean_ms", h.mean_ns() / 1e6);
  return *this;
}

}  // namespace beacon::bench
