#include "dns/resolver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "test_catalog.h"

namespace beacon::dns {
namespace {

using catalog::HealthStatus;
using dnstest::CatalogBuilder;
using dnstest::InstanceSpec;

constexpr auto kPass = HealthStatus::kPassing;
constexpr auto kWarn = HealthStatus::kWarning;
constexpr auto kCrit = HealthStatus::kCritical;

DnsOptions Options() {
  DnsOptions o;
  o.datacenter = "dc1";
  o.local_node = "server1";
  return o;
}

// A small catalog covering every case below.
catalog::SnapshotPtr Catalog() {
  CatalogBuilder b;
  b.Node("server1", "10.0.0.1", {{"rack", "r1"}})
      .Node("node2", "10.0.0.2")
      .Node("node3", "10.0.0.3")
      .Node("sick", "10.0.0.9", {}, {kCrit})
      .Node("v6node", "fd00::6")
      .Node("hostnode", "host.example.com");
  b.Instance({"server1", "web1", "web", "", 8080, {"primary", "v1"}, {kPass}, {10, 2}})
      .Instance({"node2", "web2", "web", "", 8080, {"Secondary"}, {kWarn}, {10, 2}})
      .Instance({"node3", "web3", "web", "", 8080, {"primary"}, {kCrit}, {}})
      .Instance({"sick", "web4", "web", "", 8080, {"primary"}, {kPass}, {}})
      .Instance({"node2", "api1", "api", "192.168.1.5", 9000, {}, {}, {}})
      .Instance({"node3", "api2", "api", "192.168.1.5", 9000, {}, {}, {}})  // same address+port
      .Instance({"node3", "api3", "api", "192.168.1.6", 9001, {}, {}, {}})
      .Instance({"node2", "dup1", "dup", "", 1000, {}, {}, {}})
      .Instance({"node2", "dup2", "dup", "", 1000, {}, {}, {}})  // same node, address, port
      .Instance({"node2", "dup3", "dup", "", 1001, {}, {}, {}})
      .Instance({"node3", "down1", "down", "", 1, {}, {kCrit}, {}})
      .Instance({"v6node", "six", "six", "", 6, {}, {}, {}})
      .Instance({"node2", "ext", "ext", "db.example.com", 5432, {}, {}, {}});
  return b.Build("server1");
}

Resolution Lookup(const std::string& name, uint16_t qtype, const DnsOptions& options = Options(),
               size_t max_answers = 100, uint16_t qclass = kClassIn) {
  static catalog::SnapshotPtr snap = Catalog();
  std::minstd_rand rng(42);
  return Resolve(Question{name, qtype, qclass}, *snap, options, max_answers, 1700000000, rng);
}

// Records as sorted strings: answers are shuffled, so tests compare sets.
std::vector<std::string> Sorted(const std::vector<ResourceRecord>& records) {
  std::vector<std::string> out;
  for (const auto& rr : records) out.push_back(RecordToString(rr));
  std::sort(out.begin(), out.end());
  return out;
}

using Lines = std::vector<std::string>;

TEST(Resolver, ServiceAnswersSkipCriticalInstances) {
  Resolution r = Lookup("web.service.consul.", kTypeA);
  EXPECT_EQ(r.outcome, Outcome::kFound);
  // web3 has a critical check, web4 sits on a node with a critical node check.
  EXPECT_EQ(Sorted(r.answers), (Lines{"web.service.consul. 0 IN A 10.0.0.1",
                                      "web.service.consul. 0 IN A 10.0.0.2"}));
  EXPECT_FALSE(r.more);
}

TEST(Resolver, OnlyPassingDropsWarningInstances) {
  DnsOptions o = Options();
  o.only_passing = true;
  Resolution r = Lookup("web.service.consul.", kTypeA, o);
  EXPECT_EQ(Sorted(r.answers), (Lines{"web.service.consul. 0 IN A 10.0.0.1"}));
}

TEST(Resolver, FiltersByTagCaseInsensitively) {
  EXPECT_EQ(Sorted(Lookup("primary.web.service.consul.", kTypeA).answers),
            (Lines{"primary.web.service.consul. 0 IN A 10.0.0.1"}));
  EXPECT_EQ(Sorted(Lookup("SECONDARY.web.service.consul.", kTypeA).answers),
            (Lines{"SECONDARY.web.service.consul. 0 IN A 10.0.0.2"}));
  EXPECT_EQ(Sorted(Lookup("_web._secondary.service.consul.", kTypeSrv).answers),
            (Lines{"_web._secondary.service.consul. 0 IN SRV 1 2 8080 node2.node.dc1.consul."}));
  EXPECT_EQ(Lookup("nosuchtag.web.service.consul.", kTypeA).outcome, Outcome::kNameError);
  EXPECT_EQ(Lookup("_web._tcp.service.consul.", kTypeSrv).answers.size(), 2u) << "_tcp: no filter";
}

TEST(Resolver, SrvAnswersCarryTargetsInAdditional) {
  Resolution r = Lookup("_web._tcp.consul.", kTypeSrv);
  ASSERT_EQ(r.outcome, Outcome::kFound);
  // Weight: Weights.Passing for the all-passing instance, Weights.Warning for the warning one.
  EXPECT_EQ(Sorted(r.answers),
            (Lines{"_web._tcp.consul. 0 IN SRV 1 10 8080 server1.node.dc1.consul.",
                   "_web._tcp.consul. 0 IN SRV 1 2 8080 node2.node.dc1.consul."}));
  // Node targets get their node's address and node-meta TXT.
  EXPECT_EQ(Sorted(r.additional), (Lines{"node2.node.dc1.consul. 0 IN A 10.0.0.2",
                                         "server1.node.dc1.consul. 0 IN A 10.0.0.1",
                                         "server1.node.dc1.consul. 0 IN TXT \"rack=r1\""}));
  ASSERT_EQ(r.additional_end.size(), 2u);
  EXPECT_EQ(r.additional_end.back(), r.additional.size());
}

TEST(Resolver, SrvForServiceAddressesUsesAddrTargets) {
  Resolution r = Lookup("api.service.consul.", kTypeSrv);
  // api1 and api2 share address and port but sit on different nodes: both kept (Consul keys SRV
  // duplicates by node, address and port); their targets are the same .addr name, given once.
  EXPECT_EQ(Sorted(r.answers),
            (Lines{"api.service.consul. 0 IN SRV 1 1 9000 c0a80105.addr.dc1.consul.",
                   "api.service.consul. 0 IN SRV 1 1 9000 c0a80105.addr.dc1.consul.",
                   "api.service.consul. 0 IN SRV 1 1 9001 c0a80106.addr.dc1.consul."}));
  EXPECT_EQ(Sorted(r.additional), (Lines{"c0a80105.addr.dc1.consul. 0 IN A 192.168.1.5",
                                         "c0a80106.addr.dc1.consul. 0 IN A 192.168.1.6"}));
}

TEST(Resolver, DropsDuplicateAnswers) {
  // A/AAAA: one per address.
  EXPECT_EQ(Sorted(Lookup("api.service.consul.", kTypeA).answers),
            (Lines{"api.service.consul. 0 IN A 192.168.1.5", "api.service.consul. 0 IN A 192.168.1.6"}));
  // SRV: one per (node, address, port).
  EXPECT_EQ(Sorted(Lookup("dup.service.consul.", kTypeSrv).answers),
            (Lines{"dup.service.consul. 0 IN SRV 1 1 1000 node2.node.dc1.consul.",
                   "dup.service.consul. 0 IN SRV 1 1 1001 node2.node.dc1.consul."}));
  EXPECT_EQ(Sorted(Lookup("dup.service.consul.", kTypeSrv).additional),
            (Lines{"node2.node.dc1.consul. 0 IN A 10.0.0.2"}));
}

TEST(Resolver, HostnameAddressesGiveCnames) {
  EXPECT_EQ(Sorted(Lookup("ext.service.consul.", kTypeA).answers),
            (Lines{"ext.service.consul. 0 IN CNAME db.example.com."}));
  Resolution srv = Lookup("ext.service.consul.", kTypeSrv);
  EXPECT_EQ(Sorted(srv.answers), (Lines{"ext.service.consul. 0 IN SRV 1 1 5432 db.example.com."}));
  EXPECT_TRUE(srv.additional.empty());
}

TEST(Resolver, Ipv6Services) {
  EXPECT_EQ(Sorted(Lookup("six.service.consul.", kTypeAaaa).answers),
            (Lines{"six.service.consul. 0 IN AAAA fd00::6"}));
  Resolution a = Lookup("six.service.consul.", kTypeA);
  EXPECT_EQ(a.outcome, Outcome::kFound);
  EXPECT_TRUE(a.answers.empty()) << "NODATA";
  EXPECT_EQ(Sorted(Lookup("six.service.consul.", kTypeSrv).additional),
            (Lines{"v6node.node.dc1.consul. 0 IN AAAA fd00::6"}));
}

TEST(Resolver, AnyGivesEveryAddressRecord) {
  EXPECT_EQ(Sorted(Lookup("web.service.consul.", kTypeAny).answers),
            (Lines{"web.service.consul. 0 IN A 10.0.0.1", "web.service.consul. 0 IN A 10.0.0.2"}));
}

struct OutcomeCase {
  std::string name;
  uint16_t qtype;
  Outcome outcome;
  size_t answers;
};

TEST(Resolver, DecidesOutcomes) {
  const std::vector<OutcomeCase> cases = {
      {"web.service.consul.", kTypeA, Outcome::kFound, 2},
      {"web.service.dc1.consul.", kTypeA, Outcome::kFound, 2},
      {"web.service.DC1.dc.consul.", kTypeA, Outcome::kFound, 2},
      {"web.service.dc2.consul.", kTypeA, Outcome::kNameError, 0},
      {"nosuch.service.consul.", kTypeA, Outcome::kNameError, 0},
      {"down.service.consul.", kTypeA, Outcome::kNameError, 0},  // only critical instances
      {"web.service.consul.", kTypeAaaa, Outcome::kFound, 0},    // IPv4 only: NODATA
      {"web.service.consul.", kTypeMx, Outcome::kFound, 0},
      {"web.service.consul.", kTypeTxt, Outcome::kFound, 0},
      {"server1.node.consul.", kTypeA, Outcome::kFound, 1},
      {"SERVER1.node.dc1.consul.", kTypeA, Outcome::kFound, 1},
      {"server1.node.consul.", kTypeAaaa, Outcome::kFound, 0},
      {"server1.node.consul.", kTypeMx, Outcome::kFound, 0},
      {"server1.node.consul.", kTypeSrv, Outcome::kFound, 0},
      {"server1.node.dc2.consul.", kTypeA, Outcome::kNameError, 0},
      {"nobody.node.consul.", kTypeA, Outcome::kNameError, 0},
      {"nobody.node.consul.", kTypeMx, Outcome::kNameError, 0},
      {"0a000001.addr.consul.", kTypeA, Outcome::kFound, 1},
      {"0a000001.addr.dc1.consul.", kTypeAaaa, Outcome::kFound, 0},
      {"0a000001.addr.dc9.consul.", kTypeA, Outcome::kNameError, 0},
      {"fd000000000000000000000000000006.addr.consul.", kTypeAaaa, Outcome::kFound, 1},
      {"zz.addr.consul.", kTypeA, Outcome::kNameError, 0},
      {"web.query.consul.", kTypeA, Outcome::kNameError, 0},
      {"web.connect.consul.", kTypeSrv, Outcome::kNameError, 0},
      {"garbage.consul.", kTypeA, Outcome::kNameError, 0},
      {"consul.", kTypeSoa, Outcome::kFound, 1},
      {"consul.", kTypeNs, Outcome::kFound, 1},
      {"consul.", kTypeA, Outcome::kFound, 0},
      {"example.com.", kTypeA, Outcome::kRefused, 0},
      {"consul.", kTypeAxfr, Outcome::kNotImplemented, 0},
      {"web.service.consul.", kTypeIxfr, Outcome::kNotImplemented, 0},
  };
  for (const OutcomeCase& c : cases) {
    SCOPED_TRACE(c.name + " type " + std::to_string(c.qtype));
    Resolution r = Lookup(c.name, c.qtype);
    EXPECT_EQ(r.outcome, c.outcome);
    EXPECT_EQ(r.answers.size(), c.answers);
  }
  EXPECT_EQ(Lookup("web.service.consul.", kTypeA, Options(), 100, kClassChaos).outcome,
            Outcome::kRefused);
  EXPECT_EQ(Lookup("web.service.consul.", kTypeA, Options(), 100, kClassAny).outcome,
            Outcome::kFound);
}

TEST(Resolver, NodeAnswersWithMetaTxt) {
  Resolution a = Lookup("server1.node.consul.", kTypeA);
  EXPECT_EQ(Sorted(a.answers), (Lines{"server1.node.consul. 0 IN A 10.0.0.1"}));
  EXPECT_EQ(Sorted(a.additional), (Lines{"server1.node.consul. 0 IN TXT \"rack=r1\""}));
  EXPECT_EQ(Sorted(Lookup("server1.node.consul.", kTypeTxt).answers),
            (Lines{"server1.node.consul. 0 IN TXT \"rack=r1\""}));
  EXPECT_EQ(Sorted(Lookup("server1.node.consul.", kTypeAny).answers),
            (Lines{"server1.node.consul. 0 IN A 10.0.0.1", "server1.node.consul. 0 IN TXT \"rack=r1\""}));
  DnsOptions no_meta = Options();
  no_meta.node_meta_txt = false;
  EXPECT_TRUE(Lookup("server1.node.consul.", kTypeA, no_meta).additional.empty());
  EXPECT_EQ(Sorted(Lookup("hostnode.node.consul.", kTypeA).answers),
            (Lines{"hostnode.node.consul. 0 IN CNAME host.example.com."}));
  EXPECT_EQ(Sorted(Lookup("node2.node.consul.", kTypeTxt).answers), Lines{}) << "no meta: NODATA";
}

TEST(Resolver, AddrAnswers) {
  EXPECT_EQ(Sorted(Lookup("0a000001.addr.consul.", kTypeA).answers),
            (Lines{"0a000001.addr.consul. 0 IN A 10.0.0.1"}));
  EXPECT_EQ(Sorted(Lookup("FD000000000000000000000000000006.addr.consul.", kTypeAny).answers),
            (Lines{"FD000000000000000000000000000006.addr.consul. 0 IN AAAA fd00::6"}));
}

TEST(Resolver, ApexAnswersSoaAndNs) {
  Resolution soa = Lookup("consul.", kTypeSoa);
  EXPECT_EQ(Sorted(soa.answers),
            (Lines{"consul. 0 IN SOA ns.consul. hostmaster.consul. 1700000000 3600 600 86400 0"}));
  EXPECT_EQ(Sorted(soa.authority), (Lines{"consul. 0 IN NS server1.node.dc1.consul."}));
  EXPECT_EQ(Sorted(soa.additional), (Lines{"server1.node.dc1.consul. 0 IN A 10.0.0.1"}));
  Resolution ns = Lookup("consul.", kTypeNs);
  EXPECT_EQ(Sorted(ns.answers), (Lines{"consul. 0 IN NS server1.node.dc1.consul."}));
  EXPECT_TRUE(ns.authority.empty());
  EXPECT_EQ(Sorted(ns.additional), (Lines{"server1.node.dc1.consul. 0 IN A 10.0.0.1"}));
}

TEST(Resolver, AppliesTtls) {
  DnsOptions o = Options();
  o.service_ttl = {{"we*", std::chrono::seconds(30)}};
  o.node_ttl = std::chrono::seconds(7);
  Resolution srv = Lookup("web.service.consul.", kTypeSrv, o);
  for (const auto& rr : srv.answers) EXPECT_EQ(rr.ttl, 30u);
  for (const auto& rr : srv.additional) EXPECT_EQ(rr.ttl, 30u);
  for (const auto& rr : Lookup("api.service.consul.", kTypeA, o).answers) EXPECT_EQ(rr.ttl, 0u);
  for (const auto& rr : Lookup("server1.node.consul.", kTypeA, o).answers) EXPECT_EQ(rr.ttl, 7u);
}

catalog::SnapshotPtr BigService(int n) {
  CatalogBuilder b;
  b.Node("n", "10.1.0.1");
  for (int i = 0; i < n; ++i) {
    std::string addr = "10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    b.Instance({"n", "big" + std::to_string(i), "big", addr, 1000 + i, {}, {kPass}, {}});
  }
  return b.Build();
}

TEST(Resolver, StopsAtMaxAnswersAndKeepsAdditionalAPrefix) {
  auto snap = BigService(20);
  std::minstd_rand rng(1);
  Resolution r = Resolve(Question{"big.service.consul.", kTypeSrv, kClassIn}, *snap, Options(), 5,
                         0, rng);
  EXPECT_EQ(r.answers.size(), 5u);
  EXPECT_TRUE(r.more);
  ASSERT_EQ(r.additional_end.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    // Answer i needs exactly additional[i] (one A per distinct .addr target).
    EXPECT_EQ(r.additional_end[i], i + 1);
    EXPECT_EQ(r.additional[i].name, std::get<RdataSrv>(r.answers[i].rdata).target);
  }
  Resolution all = Resolve(Question{"big.service.consul.", kTypeSrv, kClassIn}, *snap, Options(),
                           20, 0, rng);
  EXPECT_EQ(all.answers.size(), 20u);
  EXPECT_FALSE(all.more);
}

TEST(Resolver, ShufflesEveryAnswer) {
  auto snap = BigService(10);
  std::minstd_rand rng(7);
  std::set<std::string> firsts;
  for (int run = 0; run < 50; ++run) {
    Resolution r = Resolve(Question{"big.service.consul.", kTypeA, kClassIn}, *snap, Options(), 10,
                           0, rng);
    ASSERT_EQ(r.answers.size(), 10u);
    std::set<std::string> distinct;
    for (const auto& rr : r.answers) distinct.insert(RecordToString(rr));
    EXPECT_EQ(distinct.size(), 10u) << "a permutation: every instance once";
    firsts.insert(RecordToString(r.answers[0]));
  }
  EXPECT_GE(firsts.size(), 5u) << "the first answer varies between answers";
}

TEST(ResolverCache, GivesTheSameAnswersAsNoCache) {
  auto snap = Catalog();
  ResolverCache cache;
  struct Case {
    std::string name;
    uint16_t qtype;
  };
  const std::vector<Case> cases = {
      {"web.service.consul.", kTypeA},         {"web.service.consul.", kTypeSrv},
      {"primary.web.service.consul.", kTypeA}, {"_web._secondary.service.consul.", kTypeSrv},
      {"api.service.consul.", kTypeSrv},       {"dup.service.consul.", kTypeSrv},
      {"down.service.consul.", kTypeA},        {"nosuch.service.consul.", kTypeA},
  };
  for (int round = 0; round < 2; ++round) {  // the second round is served from the cache
    for (const Case& c : cases) {
      SCOPED_TRACE(c.name + " round " + std::to_string(round));
      std::minstd_rand rng1(5);
      std::minstd_rand rng2(5);
      Question q{c.name, c.qtype, kClassIn};
      Resolution plain = Resolve(q, *snap, Options(), 100, 0, rng1);
      Resolution cached = Resolve(q, *snap, Options(), 100, 0, rng2, &cache);
      EXPECT_EQ(cached.outcome, plain.outcome);
      EXPECT_EQ(Sorted(cached.answers), Sorted(plain.answers));
      EXPECT_EQ(Sorted(cached.additional), Sorted(plain.additional));
    }
  }
}

TEST(ResolverCache, ForgetsListsWhenTheSnapshotChanges) {
  ResolverCache cache;
  std::minstd_rand rng(1);
  Question q{"web.service.consul.", kTypeA, kClassIn};
  CatalogBuilder one;
  one.Node("n1", "10.0.0.1").Instance({"n1", "web1", "web", "", 80, {}, {kPass}, {}});
  auto first = one.Build();
  EXPECT_EQ(Resolve(q, *first, Options(), 10, 0, rng, &cache).answers.size(), 1u);

  CatalogBuilder two;
  two.Node("n1", "10.0.0.1").Node("n2", "10.0.0.2");
  two.Instance({"n1", "web1", "web", "", 80, {}, {kPass}, {}})
      .Instance({"n2", "web2", "web", "", 80, {}, {kPass}, {}});
  auto second = two.Build();
  std::const_pointer_cast<catalog::Snapshot>(second)->generation = 2;
  EXPECT_EQ(Resolve(q, *second, Options(), 10, 0, rng, &cache).answers.size(), 2u);

  // Health changes arrive as new snapshots too.
  CatalogBuilder three;
  three.Node("n1", "10.0.0.1").Node("n2", "10.0.0.2");
  three.Instance({"n1", "web1", "web", "", 80, {}, {kCrit}, {}})
      .Instance({"n2", "web2", "web", "", 80, {}, {kPass}, {}});
  auto third = three.Build();
  std::const_pointer_cast<catalog::Snapshot>(third)->generation = 3;
  EXPECT_EQ(Sorted(Resolve(q, *third, Options(), 10, 0, rng, &cache).answers),
            (Lines{"web.service.consul. 0 IN A 10.0.0.2"}));
}

TEST(ResolverCache, StaysBoundedUnderManyDistinctNames) {
  auto snap = Catalog();
  ResolverCache cache;
  std::minstd_rand rng(1);
  for (size_t i = 0; i < 3 * ResolverCache::kMaxEntries; ++i) {
    Question q{"tag" + std::to_string(i) + ".web.service.consul.", kTypeA, kClassIn};
    EXPECT_EQ(Resolve(q, *snap, Options(), 3, 0, rng, &cache).outcome, Outcome::kNameError);
  }
  EXPECT_EQ(Resolve(Question{"web.service.consul.", kTypeA, kClassIn}, *snap, Options(), 3, 0, rng,
                    &cache)
                .answers.size(),
            2u);
}

}  // namespace
}  // namespace beacon::dns
