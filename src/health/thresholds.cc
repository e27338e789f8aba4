#include "health/thresholds.h"

#include <algorithm>
#include <limits>

namespace beacon::health {

namespace {

// Counters saturate instead of overflowing on a check that passes for years.
int Bump(int v) { return v == std::numeric_limits<int>::max() ? v : v + 1; }

}  // namespace

ThresholdConfig ThresholdConfig::From(const catalog::CheckDefinition& def) {
  ThresholdConfig c;
  c.success_before_passing = std::max(0, def.success_before_passing);
  c.failures_before_critical = std::max(0, def.failures_before_critical);
  c.failures_before_warning = std::max(0, def.failures_before_warning);
  return c;
}

Thresholds::Thresholds(ThresholdConfig config)
    : config_(config),
      successes_(config.success_before_passing),
      failures_(config.failures_before_critical) {
  // Consul: FailuresBeforeWarning defaults to FailuresBeforeCritical when not set.
  if (config_.failures_before_warning == 0) {
    config_.failures_before_warning = config_.failures_before_critical;
  }
}

std::optional<Report> Thresholds::Apply(catalog::HealthStatus status, std::string output) {
  if (status != catalog::HealthStatus::kCritical) {
    successes_ = Bump(successes_);
    failures_ = 0;
    if (successes_ >= config_.success_before_passing) {
      return Report{status, std::move(output)};
    }
    return std::nullopt;
  }
  failures_ = Bump(failures_);
  successes_ = 0;
  if (failures_ >= config_.failures_before_critical) {
    return Report{catalog::HealthStatus::kCritical, std::move(output)};
  }
  if (failures_ >= config_.failures_before_warning) {
    return Report{catalog::HealthStatus::kWarning, std::move(output)};
  }
  return std::nullopt;
}

}  // namespace beacon::health
