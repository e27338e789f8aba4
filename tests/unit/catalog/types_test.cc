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

TEST(TagList, ReadsLikeAVectorAndComparesByContent) {
  TagList empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty, std::vector<std::string>{});
  TagList a = {"primary", "v1"};
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(a[1], "v1");
  EXPECT_EQ(a, (std::vector<std::string>{"primary", "v1"}));
  TagList b = std::vector<std::string>{"primary", "v1"};
  EXPECT_EQ(a, b);                // same tags
  EXPECT_FALSE(a.SharesWith(b));  // separate lists
  TagList copy = a;
  EXPECT_TRUE(copy.SharesWith(a));  // a copy shares the list
  EXPECT_FALSE(a == TagList({"v1", "primary"}));  // order counts, as in Consul's output
  copy.clear();
  EXPECT_TRUE(copy.empty());
  EXPECT_EQ(a.size(), 2u);
}

TEST(TagInterner, EqualListsComeBackAsOneList) {
  TagInterner interner;
  TagList a = interner.Intern(TagList{"primary", "v1"});
  TagList b = interner.Intern(TagList{"primary", "v1"});
  TagList c = interner.Intern(TagList{"v1", "primary"});
  EXPECT_TRUE(a.SharesWith(b));
  EXPECT_FALSE(a.SharesWith(c));
  EXPECT_EQ(c, (std::vector<std::string>{"v1", "primary"}));
  EXPECT_TRUE(interner.Intern(TagList()).empty());
  EXPECT_EQ(interner.size(), 2u);
}

TEST(TagInterner, ListsNobodyHoldsAreDroppedAsTheSetGrows) {
  TagInterner interner;
  TagList kept = interner.Intern(TagList{"kept"});
  for (int i = 0; i < 5000; ++i) {
    interner.Intern(TagList{"t" + std::to_string(i)});  // dropped by the caller at once
  }
  // Sweeps ran whenever the set doubled: it holds at most about 2x the lists in use.
  EXPECT_LT(interner.size(), 2100u);
  EXPECT_TRUE(interner.Intern(TagList{"kept"}).SharesWith(kept));
}

// Collects ForEachTaggedAddress into "key=address:port" strings.
std::vector<std::string> TaggedList(const Service& s) {
  std::vector<std::string> out;
  ForEachTaggedAddress(s, [&](std::string_view k, TaggedAddressRef v) {
    out.push_back(std::string(k) + "=" + std::string(v.address) + ":" + std::to_string(v.port));
  });
  return out;
}

TEST(DerivedTaggedAddresses, AnIpv4AddressGivesLanAndWanIpv4) {
  Service s;
  s.address = "10.0.0.1";
  s.port = 80;
  DeriveTaggedAddresses(s);
  EXPECT_EQ(s.derived_tagged, DerivedTaggedAddresses::kIpv4);
  EXPECT_TRUE(s.tagged_addresses.empty());  // nothing stored
  EXPECT_EQ(TaggedList(s), (std::vector<std::string>{"lan_ipv4=10.0.0.1:80", "wan_ipv4=10.0.0.1:80"}));
  EXPECT_EQ(TaggedAddressCount(s), 2u);
  ASSERT_TRUE(FindTaggedAddress(s, "wan_ipv4").has_value());
  EXPECT_EQ(FindTaggedAddress(s, "wan_ipv4")->address, "10.0.0.1");
  EXPECT_FALSE(FindTaggedAddress(s, "lan_ipv6").has_value());
}

TEST(DerivedTaggedAddresses, ExplicitOnesWinAndMergeInKeyOrder) {
  Service s;
  s.address = "2001:db8::1";
  s.port = 443;
  s.tagged_addresses = {{"wan_ipv6", {"2001:db8::99", 8443}}, {"lan", {"10.0.0.5", 1}},
                        {"virtual", {"10.9.9.9", 2}}};
  DeriveTaggedAddresses(s);
  EXPECT_EQ(s.derived_tagged, DerivedTaggedAddresses::kIpv6);
  EXPECT_EQ(TaggedList(s), (std::vector<std::string>{"lan=10.0.0.5:1", "lan_ipv6=2001:db8::1:443",
                                                     "virtual=10.9.9.9:2",
                                                     "wan_ipv6=2001:db8::99:8443"}));
  EXPECT_EQ(TaggedAddressCount(s), 4u);
  EXPECT_EQ(FindTaggedAddress(s, "wan_ipv6")->port, 8443);
}

TEST(DerivedTaggedAddresses, StoredCopiesOfDerivedOnesAreDropped) {
  Service s;
  s.address = "10.0.0.1";
  s.port = 80;
  // As records written before derivation hold them: equal ones go, a different one stays.
  s.tagged_addresses = {{"lan_ipv4", {"10.0.0.1", 80}}, {"wan_ipv4", {"203.0.113.1", 80}}};
  DeriveTaggedAddresses(s);
  ASSERT_EQ(s.tagged_addresses.size(), 1u);
  EXPECT_EQ(s.tagged_addresses.begin()->first, "wan_ipv4");
  EXPECT_EQ(TaggedList(s), (std::vector<std::string>{"lan_ipv4=10.0.0.1:80", "wan_ipv4=203.0.113.1:80"}));
}

TEST(DerivedTaggedAddresses, AHostnameDerivesNone) {
  Service s;
  s.address = "db.internal";
  s.port = 5432;
  s.tagged_addresses = {{"lan_ipv4", {"10.0.0.1", 5432}}};
  DeriveTaggedAddresses(s);
  EXPECT_EQ(s.derived_tagged, DerivedTaggedAddresses::kNone);
  EXPECT_EQ(TaggedList(s), (std::vector<std::string>{"lan_ipv4=10.0.0.1:5432"}));
  s.address.clear();
  DeriveTaggedAddresses(s);
  EXPECT_EQ(TaggedAddressCount(s), 1u);
}

}  // namespace
}  // namespace beacon::catalog
