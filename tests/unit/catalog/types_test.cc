#include "catalog/types.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace beacon::catalog {
namespace {

using std::chrono::seconds;

CheckDefinition TtlDefinition() {
  CheckDefinition d;
  d.type = CheckType::kTtl;
  d.ttl = seconds(30);
  d.deregister_critical_service_after = seconds(90);
  d.failures_before_critical = 2;
  return d;
}

CheckDefinition HttpDefinition() {
  CheckDefinition d;
  d.type = CheckType::kHttp;
  d.interval = seconds(10);
  d.timeout = seconds(1);
  d.http = "https://10.0.0.7:8008/health";
  d.method = "POST";
  d.header = {{"X-Multi", {"1", "2"}}};
  d.tls_skip_verify = true;
  d.output_max_size = 8192;
  return d;
}

TEST(CompactCheckDefinition, TtlDefinitionHasNoExtendedPart) {
  CompactCheckDefinition c = TtlDefinition();
  EXPECT_EQ(c.extended(), nullptr);
  EXPECT_EQ(c.type, CheckType::kTtl);
  EXPECT_EQ(c.ttl, seconds(30));
  EXPECT_EQ(c.deregister_critical_service_after, seconds(90));
  EXPECT_EQ(c.failures_before_critical, 2);
  // The accessors read the defaults.
  EXPECT_EQ(c.http(), "");
  EXPECT_EQ(c.tcp(), "");
  EXPECT_TRUE(c.header().empty());
  EXPECT_FALSE(c.tls_skip_verify());
  EXPECT_TRUE(CheckDefinition(c) == TtlDefinition());
}

TEST(CompactCheckDefinition, ExtendedFieldsReadBackUnchanged) {
  const CheckDefinition full = HttpDefinition();
  CompactCheckDefinition c = full;
  ASSERT_NE(c.extended(), nullptr);
  EXPECT_EQ(c.http(), full.http);
  EXPECT_EQ(c.method(), "POST");
  EXPECT_EQ(c.header(), full.header);
  EXPECT_TRUE(c.tls_skip_verify());
  EXPECT_EQ(c.interval, seconds(10));
  EXPECT_EQ(c.output_max_size, 8192);
  EXPECT_TRUE(static_cast<CheckDefinition>(c) == full);
}

TEST(CompactCheckDefinition, EqualityComparesValues) {
  struct Case {
    std::string name;
    CheckDefinition a, b;
    bool equal;
  };
  CheckDefinition other_url = HttpDefinition();
  other_url.http = "https://10.0.0.8:8008/health";
  CheckDefinition other_interval = HttpDefinition();
  other_interval.interval = seconds(11);
  const Case cases[] = {
      {"same ttl", TtlDefinition(), TtlDefinition(), true},
      {"same http, separate parts", HttpDefinition(), HttpDefinition(), true},
      {"extended field differs", HttpDefinition(), other_url, false},
      {"core field differs", HttpDefinition(), other_interval, false},
      {"extended part against none", HttpDefinition(), TtlDefinition(), false},
      {"default", CheckDefinition{}, CheckDefinition{}, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    CompactCheckDefinition a = c.a;
    CompactCheckDefinition b = c.b;
    EXPECT_EQ(a == b, c.equal);
    EXPECT_EQ(b == a, c.equal);
    EXPECT_EQ(c.a == c.b, c.equal);  // the full type agrees
  }
}

TEST(CompactCheckDefinition, CopiesShareTheExtendedPart) {
  CompactCheckDefinition a = HttpDefinition();
  CompactCheckDefinition b = a;
  EXPECT_EQ(a.extended(), b.extended());
  b.interval = seconds(3);  // the core is per copy
  EXPECT_EQ(a.interval, seconds(10));
}

TEST(CompactCheckDefinition, SetExtendedToDefaultsDropsThePart) {
  CompactCheckDefinition c = HttpDefinition();
  c.set_extended(CheckDefinitionExtended{});
  EXPECT_EQ(c.extended(), nullptr);
  EXPECT_EQ(c.http(), "");
  EXPECT_EQ(c.type, CheckType::kHttp);
  CheckDefinitionExtended e;
  e.tcp = "10.0.0.7:5432";
  c.set_extended(e);
  ASSERT_NE(c.extended(), nullptr);
  EXPECT_EQ(c.tcp(), "10.0.0.7:5432");
}

TEST(Check, SameDefinitionSeesExtendedFields) {
  Check a;
  a.id = "service:web-1";
  a.definition = HttpDefinition();
  Check b = a;
  b.status = HealthStatus::kPassing;  // not part of the definition
  EXPECT_TRUE(a.SameDefinition(b));
  CheckDefinition changed = HttpDefinition();
  changed.body = "{}";
  b.definition = changed;
  EXPECT_FALSE(a.SameDefinition(b));
}

}  // namespace
}  // namespace beacon::catalog
