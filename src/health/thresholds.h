// Thresholds: the rise/fall state machine between a probe's raw result and what the catalog is
// told (consul-api.md section 5, "Thresholds"; Consul's StatusHandler in agent/checks/check.go).
//
// Both counters start at their thresholds, so the very first result applies at once. A passing or
// warning result zeroes the failure counter and is reported once successes reach
// SuccessBeforePassing; a critical result zeroes the success counter and is reported as critical
// once failures reach FailuresBeforeCritical, or as warning (with the failure's output) once they
// reach FailuresBeforeWarning. Below every threshold nothing is reported: the catalog keeps the
// status and output it had.
//
// A plain value type; one per running check, touched only by that check's loop.
#pragma once

#include <optional>
#include <string>

#include "catalog/types.h"

namespace beacon::health {

struct ThresholdConfig {
  int success_before_passing = 0;
  int failures_before_warning = 0;  // 0 = same as failures_before_critical (Consul's default)
  int failures_before_critical = 0;

  static ThresholdConfig From(const catalog::CheckDefinition& def);
};

struct Report {
  catalog::HealthStatus status = catalog::HealthStatus::kCritical;
  std::string output;
  bool operator==(const Report&) const = default;
};

class Thresholds {
 public:
  explicit Thresholds(ThresholdConfig config);

  // Feeds one probe result; returns what to report, or nullopt while a threshold is not reached.
  std::optional<Report> Apply(catalog::HealthStatus status, std::string output);

  int successes() const { return successes_; }
  int failures() const { return failures_; }

 private:
  ThresholdConfig config_;
  int successes_;
  int failures_;
};

}  // namespace beacon::health
