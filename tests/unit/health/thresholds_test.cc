// Thresholds: the rise/fall state machine of consul-api.md section 5, table-driven.
#include "health/thresholds.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace beacon::health {
namespace {

using catalog::HealthStatus;

// Renders what each result reported: "P" passing, "W" warning, "C" critical, "-" nothing.
std::string Feed(ThresholdConfig config, const std::string& results) {
  Thresholds t(config);
  std::string out;
  for (char r : results) {
    HealthStatus s = r == 'P' ? HealthStatus::kPassing
                     : r == 'W' ? HealthStatus::kWarning
                                : HealthStatus::kCritical;
    std::optional<Report> rep = t.Apply(s, std::string(1, r));
    if (!rep) {
      out += '-';
    } else {
      out += rep->status == HealthStatus::kPassing   ? 'P'
             : rep->status == HealthStatus::kWarning ? 'W'
                                                     : 'C';
    }
  }
  return out;
}

TEST(Thresholds, TableDriven) {
  struct Case {
    std::string name;
    ThresholdConfig config;  // {success_before_passing, failures_before_warning, failures_before_critical}
    std::string results;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"no thresholds: every result applies", {0, 0, 0}, "PCPWC", "PCPWC"},
      {"first result applies at once (counters start at thresholds)", {3, 0, 3}, "C", "C"},
      {"first passing applies at once", {3, 0, 3}, "P", "P"},
      {"critical needs 3 in a row after a pass", {0, 0, 3}, "PCCCC", "P--CC"},
      {"a pass resets the failure count", {0, 0, 3}, "PCCPCCC", "P--P--C"},
      {"passing needs 2 in a row after a failure", {2, 0, 0}, "CPPP", "C-PP"},
      {"a failure resets the success count", {2, 0, 0}, "CPCPP", "C-C-P"},
      {"warning before critical", {0, 2, 4}, "PCCCCC", "P-WWCC"},
      {"warning defaults to critical threshold", {0, 0, 2}, "PCC", "P-C"},
      {"warning result counts as success", {2, 0, 2}, "CWW", "C-W"},
      {"warning status passes through", {0, 0, 0}, "W", "W"},
      {"both thresholds", {2, 0, 2}, "PCCPPCP", "P-C-P--"},
      {"warning at 1 failure", {0, 1, 3}, "PCCC", "PWWC"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Feed(c.config, c.results), c.want);
  }
}

TEST(Thresholds, ReportsTheResultsOutput) {
  Thresholds t({0, 1, 2});
  std::optional<Report> r = t.Apply(HealthStatus::kPassing, "ok");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output, "ok");
  r = t.Apply(HealthStatus::kCritical, "HTTP GET x: 500");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, HealthStatus::kWarning);  // failures_before_warning reached first
  EXPECT_EQ(r->output, "HTTP GET x: 500");
}

TEST(Thresholds, FromDefinitionClampsNegatives) {
  catalog::CheckDefinition def;
  def.success_before_passing = -1;
  def.failures_before_critical = 3;
  ThresholdConfig c = ThresholdConfig::From(def);
  EXPECT_EQ(c.success_before_passing, 0);
  EXPECT_EQ(c.failures_before_critical, 3);
  EXPECT_EQ(c.failures_before_warning, 0);
}

}  // namespace
}  // namespace beacon::health
