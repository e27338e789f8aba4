#include "catalog/types.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

TEST(FlatStringMap, IteratesInKeyOrderAndFindsByStringView) {
  StringMap m = {{"wan_ipv4", "b"}, {"lan_ipv4", "a"}, {"Zone", "z"}};
  std::vector<std::string> keys;
  for (const auto& [k, v] : m) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"Zone", "lan_ipv4", "wan_ipv4"}));
  std::string_view key = "lan_ipv4";
  ASSERT_NE(m.find(key), m.end());
  EXPECT_EQ(m.find(key)->second, "a");
  EXPECT_TRUE(m.contains(std::string_view("Zone")));
  EXPECT_FALSE(m.contains(std::string_view("zone")));
  m["lan"] = "c";
  EXPECT_EQ(m.begin()[1].first, "lan");
  EXPECT_EQ(m, (StringMap{{"lan", "c"}, {"lan_ipv4", "a"}, {"wan_ipv4", "b"}, {"Zone", "z"}}));
}

TEST(FlatStringMap, MakeSortsAndTheLastOfEqualKeysWins) {
  FlatStringMapPairs<std::string> pairs = {{"b", "1"}, {"a", "2"}, {"b", "3"}, {"c", "4"}, {"a", "5"}};
  StringMap m = MakeFlatStringMap<std::string>(std::move(pairs));
  EXPECT_EQ(m, (StringMap{{"a", "5"}, {"b", "3"}, {"c", "4"}}));
  EXPECT_EQ(m.capacity(), m.size());  // no spare room left by the duplicates
  EXPECT_TRUE(MakeFlatStringMap<std::string>({}).empty());

  FlatStringMap<TaggedAddress> tagged = MakeFlatStringMap<TaggedAddress>(
      {{"wan_ipv4", {"10.0.0.2", 2}}, {"lan_ipv4", {"10.0.0.1", 1}}});
  ASSERT_EQ(tagged.size(), 2u);
  EXPECT_EQ(tagged.begin()->first, "lan_ipv4");
  EXPECT_EQ(tagged.begin()->second, (TaggedAddress{"10.0.0.1", 1}));
}

TEST(FlatStringMap, MakeTakesSortedPairsAsTheyAre) {
  FlatStringMapPairs<std::string> pairs;
  pairs.reserve(3);
  pairs.emplace_back("a", "1");
  pairs.emplace_back("b", "2");
  pairs.emplace_back("c", "3");
  const auto* storage = pairs.data();
  StringMap m = MakeFlatStringMap<std::string>(std::move(pairs));
  EXPECT_EQ(m, (StringMap{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(&*m.begin(), storage);  // adopted, not copied
  // Equal neighbours are not "sorted": the last one still wins.
  StringMap dup = MakeFlatStringMap<std::string>({{"a", "1"}, {"a", "2"}});
  EXPECT_EQ(dup, (StringMap{{"a", "2"}}));
}

TEST(FlatStringMap, ServiceDefinitionsCompareTheirMaps) {
  Service a;
  a.meta = {{"version", "1"}, {"team", "core"}};
  a.tagged_addresses = {{"lan_ipv4", {"10.0.0.1", 80}}};
  Service b = a;
  EXPECT_TRUE(a.SameDefinition(b));
  b.meta["version"] = "2";
  EXPECT_FALSE(a.SameDefinition(b));
  b = a;
  b.tagged_addresses["lan_ipv4"].port = 81;
  EXPECT_FALSE(a.SameDefinition(b));
}

}  // namespace
}  // namespace beacon::catalog
