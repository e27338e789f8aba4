#include "beacon/balancer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "beacon/clock.h"

namespace beacon::client {
namespace {

// Deterministic, thread-safe uniform numbers: splitmix64 over an atomic counter.
std::function<uint64_t()> SeededRandom(uint64_t seed) {
  auto state = std::make_shared<std::atomic<uint64_t>>(seed);
  return [state] {
    uint64_t z = state->fetch_add(0x9E3779B97F4A7C15ULL) + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
}

Instance Make(std::string id, int weight = 1, HealthStatus status = HealthStatus::kPassing) {
  Instance i;
  i.id = id;
  i.service = "web";
  i.address = "10.0.0.1";
  i.port = 80;
  i.weight = weight;
  i.status = status;
  return i;
}

InstanceSet Set(std::vector<Instance> instances) {
  return std::make_shared<const std::vector<Instance>>(std::move(instances));
}

InstanceSet Ids(std::initializer_list<const char*> ids) {
  std::vector<Instance> v;
  for (const char* id : ids) {
    v.push_back(Make(id));
  }
  return Set(std::move(v));
}

BalancerOptions Options(std::shared_ptr<Clock> clock = nullptr) {
  BalancerOptions o;
  o.name = "web";
  o.random = SeededRandom(42);
  o.clock = std::move(clock);
  return o;
}

// Picks `n` times, reporting success, and counts picks per instance ID.
std::map<std::string, int> Count(LoadBalancer& lb, int n) {
  std::map<std::string, int> counts;
  for (int k = 0; k < n; ++k) {
    auto pick = lb.Choose();
    EXPECT_TRUE(pick.ok()) << pick.status().ToString();
    if (!pick.ok()) {
      break;
    }
    counts[pick->instance().id]++;
    pick->ReportSuccess();
  }
  return counts;
}

std::string Sequence(LoadBalancer& lb, int n) {
  std::string out;
  for (int k = 0; k < n; ++k) {
    auto pick = lb.Choose();
    out += pick.ok() ? pick->instance().id : "!";
    if (pick.ok()) {
      pick->ReportSuccess();
    }
  }
  return out;
}

TEST(RoundRobinBalancer, VisitsEachInstanceInTurn) {
  RoundRobinBalancer lb(Options());
  lb.Update(Ids({"a", "b", "c"}));
  std::string seq = Sequence(lb, 9);
  // The rotation starts at a random place; after that it is strictly cyclic.
  for (size_t k = 3; k < seq.size(); ++k) {
    EXPECT_EQ(seq[k], seq[k - 3]) << seq;
  }
  EXPECT_EQ(std::set<char>(seq.begin(), seq.begin() + 3).size(), 3u) << seq;
}

TEST(RoundRobinBalancer, DistributesEvenly) {
  RoundRobinBalancer lb(Options());
  lb.Update(Ids({"a", "b", "c"}));
  auto counts = Count(lb, 3000);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"a", 1000}, {"b", 1000}, {"c", 1000}}));
}

TEST(RandomBalancer, DistributesRoughlyUniformly) {
  RandomBalancer lb(Options());
  lb.Update(Ids({"a", "b", "c", "d"}));
  auto counts = Count(lb, 40000);
  ASSERT_EQ(counts.size(), 4u);
  for (const auto& [id, n] : counts) {
    SCOPED_TRACE(id);
    EXPECT_NEAR(n, 10000, 600);  // > 10 standard deviations (~87) of slack
  }
}

TEST(WeightedRoundRobinBalancer, HonoursWeightsExactlyPerCycle) {
  WeightedRoundRobinBalancer lb(Options());
  lb.Update(Set({Make("a", 5), Make("b", 3), Make("c", 1)}));
  auto counts = Count(lb, 9 * 100);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"a", 500}, {"b", 300}, {"c", 100}}));
}

TEST(WeightedRoundRobinBalancer, SpreadsPicksWithinACycle) {
  WeightedRoundRobinBalancer lb(Options());
  lb.Update(Set({Make("a", 2), Make("b", 2), Make("c", 2)}));
  // Equal weights reduce (gcd) to a plain rotation: never the same instance twice in a row.
  std::string seq = Sequence(lb, 12);
  for (size_t k = 1; k < seq.size(); ++k) {
    EXPECT_NE(seq[k], seq[k - 1]) << seq;
  }
}

TEST(WeightedRoundRobinBalancer, ZeroWeightGetsNothing) {
  WeightedRoundRobinBalancer lb(Options());
  lb.Update(Set({Make("a", 1), Make("b", 0, HealthStatus::kWarning)}));
  auto counts = Count(lb, 50);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"a", 50}}));
}

TEST(WeightedRoundRobinBalancer, AllZeroWeightsIsAClearError) {
  WeightedRoundRobinBalancer lb(Options());
  lb.Update(Set({Make("a", 0), Make("b", 0)}));
  auto pick = lb.Choose();
  ASSERT_FALSE(pick.ok());
  EXPECT_EQ(pick.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(pick.status().message(), "no instance of web with a weight above 0 to choose from");
}

TEST(WeightedRoundRobinBalancer, LargeWeightsAreScaledToTheCycleLimit) {
  WeightedRoundRobinBalancer lb(Options());
  lb.Update(Set({Make("a", 1'000'000), Make("b", 3'000'001)}));
  auto counts = Count(lb, 4096 * 2);
  EXPECT_NEAR(counts["b"] / static_cast<double>(counts["a"]), 3.0, 0.01);
}

TEST(LeastRequestBalancer, PrefersTheInstanceWithFewerCallsInFlight) {
  LeastRequestBalancer lb(Options());
  lb.Update(Ids({"a", "b"}));
  // Hold picks until one instance has 3 more in flight than the other.
  std::vector<Pick> held;
  for (int k = 0; k < 6; ++k) {
    auto p = lb.Choose();
    ASSERT_TRUE(p.ok());
    held.push_back(std::move(*p));
  }
  // With two instances both are always compared, so picks alternate to keep them level.
  auto stats = lb.stats();
  ASSERT_EQ(stats.instances.size(), 2u);
  EXPECT_EQ(stats.instances[0].outstanding, 3);
  EXPECT_EQ(stats.instances[1].outstanding, 3);
  // Finish two of a's: the next two picks go to a.
  std::string first = held[0].instance().id;
  int finished = 0;
  for (auto& p : held) {
    if (p.instance().id == first && finished < 2) {
      p.ReportSuccess();
      ++finished;
    }
  }
  EXPECT_EQ(Sequence(lb, 1), first);
}

TEST(LeastRequestBalancer, DistributesEvenlyWhenIdle) {
  LeastRequestBalancer lb(Options());
  lb.Update(Ids({"a", "b", "c"}));
  auto counts = Count(lb, 30000);
  for (const auto& [id, n] : counts) {
    SCOPED_TRACE(id);
    EXPECT_NEAR(n, 10000, 600);
  }
}

TEST(LoadBalancer, EmptySetGivesAClearError) {
  for (BalancerKind kind : {BalancerKind::kRoundRobin, BalancerKind::kRandom,
                            BalancerKind::kWeighted, BalancerKind::kLeastRequest}) {
    auto lb = MakeLoadBalancer(kind, Options());
    SCOPED_TRACE(std::string(lb->kind()));
    for (InstanceSet set : {InstanceSet(), Set({})}) {
      lb->Update(set);
      auto pick = lb->Choose();
      ASSERT_FALSE(pick.ok());
      EXPECT_EQ(pick.status().code(), StatusCode::kUnavailable);
      EXPECT_EQ(pick.status().message(), "no instance of web to choose from");
    }
    EXPECT_EQ(lb->stats().no_instance, 2u);
  }
}

TEST(LoadBalancer, EjectedInstanceSitsOutThenReturns) {
  auto clock = std::make_shared<ManualClock>();
  RoundRobinBalancer lb(Options(clock));
  lb.Update(Ids({"a", "b", "c"}));
  // Fail "a" once (consecutive_failures = 1 by default).
  for (;;) {
    auto p = lb.Choose();
    ASSERT_TRUE(p.ok());
    if (p->instance().id == "a") {
      p->ReportFailure();
      break;
    }
    p->ReportSuccess();
  }
  auto counts = Count(lb, 60);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"b", 30}, {"c", 30}}));
  EXPECT_TRUE(lb.stats().instances[0].ejected);
  EXPECT_EQ(lb.stats().ejections, 1u);

  clock->Advance(std::chrono::milliseconds(4999));
  EXPECT_EQ(Count(lb, 10).count("a"), 0u);
  clock->Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(Count(lb, 30)["a"], 10);
  EXPECT_FALSE(lb.stats().instances[0].ejected);
}

TEST(LoadBalancer, RepeatedEjectionsLastLongerUpToTheMaximum) {
  auto clock = std::make_shared<ManualClock>();
  BalancerOptions o = Options(clock);
  o.ejection.base_ejection_time = std::chrono::seconds(1);
  o.ejection.max_ejection_time = std::chrono::milliseconds(2500);
  RoundRobinBalancer lb(o);
  lb.Update(Ids({"a", "b"}));
  auto fail_a = [&] {
    for (int k = 0; k < 4; ++k) {
      auto p = lb.Choose();
      ASSERT_TRUE(p.ok());
      if (p->instance().id == "a") {
        p->ReportFailure();
        return;
      }
    }
    FAIL() << "a was never picked";
  };
  auto ejected_for = [&]() -> int {  // whole ms until "a" comes back
    int ms = 0;
    while (lb.stats().instances[0].ejected && ms < 10'000) {
      clock->Advance(std::chrono::milliseconds(1));
      ++ms;
    }
    return ms;
  };
  fail_a();
  EXPECT_EQ(ejected_for(), 1000);
  fail_a();  // no success in between: twice as long
  EXPECT_EQ(ejected_for(), 2000);
  fail_a();  // three times, capped at 2.5 s
  EXPECT_EQ(ejected_for(), 2500);
  // A success resets the backoff.
  for (int k = 0; k < 2; ++k) {
    auto p = lb.Choose();
    ASSERT_TRUE(p.ok());
    p->ReportSuccess();
  }
  fail_a();
  EXPECT_EQ(ejected_for(), 1000);
}

TEST(LoadBalancer, NeverEjectsMoreThanTheConfiguredShare) {
  struct Case {
    const char* name;
    size_t instances;
    double share;
    size_t max_ejected;
  };
  const Case cases[] = {
      {"half of four", 4, 0.5, 2},    {"half of three", 3, 0.5, 1}, {"half of one", 1, 0.5, 0},
      {"a tenth of five", 5, 0.1, 0}, {"all of three", 3, 1.0, 3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto clock = std::make_shared<ManualClock>();
    BalancerOptions o = Options(clock);
    o.ejection.max_ejection_share = c.share;
    RandomBalancer lb(o);
    std::vector<Instance> v;
    for (size_t k = 0; k < c.instances; ++k) {
      v.push_back(Make("i" + std::to_string(k)));
    }
    lb.Update(Set(v));
    // Every call fails, many times over.
    for (int k = 0; k < 200; ++k) {
      auto p = lb.Choose();
      ASSERT_TRUE(p.ok()) << "panic mode keeps picking even when everything is ejected";
      p->ReportFailure();
    }
    size_t ejected = 0;
    for (const auto& is : lb.stats().instances) {
      ejected += is.ejected ? 1 : 0;
    }
    EXPECT_EQ(ejected, c.max_ejected);
  }
}

TEST(LoadBalancer, SuccessBreaksAFailureStreak) {
  auto clock = std::make_shared<ManualClock>();
  BalancerOptions o = Options(clock);
  o.ejection.consecutive_failures = 2;
  o.ejection.max_ejection_share = 1.0;
  RoundRobinBalancer lb2(o);
  lb2.Update(Ids({"a", "b"}));
  auto report = [&](bool ok) {
    auto p = lb2.Choose();
    ASSERT_TRUE(p.ok());
    if (p->instance().id != "a") {
      p->ReportSuccess();
      p = lb2.Choose();
      ASSERT_TRUE(p.ok());
    }
    ASSERT_EQ(p->instance().id, "a");
    ok ? p->ReportSuccess() : p->ReportFailure();
  };
  report(false);
  report(true);
  report(false);
  EXPECT_FALSE(lb2.stats().instances[0].ejected);
  report(false);
  EXPECT_TRUE(lb2.stats().instances[0].ejected);
}

TEST(LoadBalancer, UpdateKeepsTheStateOfInstancesThatStay) {
  auto clock = std::make_shared<ManualClock>();
  RoundRobinBalancer lb(Options(clock));
  lb.Update(Ids({"a", "b", "c"}));
  for (;;) {
    auto p = lb.Choose();
    ASSERT_TRUE(p.ok());
    if (p->instance().id == "b") {
      p->ReportFailure();
      break;
    }
    p->ReportSuccess();
  }
  uint64_t b_picks = lb.stats().instances[1].picks;
  lb.Update(Ids({"d", "b", "c"}));
  BalancerStats s = lb.stats();
  ASSERT_EQ(s.instances.size(), 3u);
  EXPECT_EQ(s.instances[0].id, "d");
  EXPECT_EQ(s.instances[0].picks, 0u);
  EXPECT_EQ(s.instances[1].id, "b");
  EXPECT_TRUE(s.instances[1].ejected);
  EXPECT_EQ(s.instances[1].picks, b_picks);
  EXPECT_EQ(Count(lb, 20).count("b"), 0u);
  EXPECT_EQ(s.updates, 2u);
}

TEST(LoadBalancer, PickStaysValidAfterSwapAndAfterTheBalancerIsGone) {
  auto lb = MakeLoadBalancer(BalancerKind::kRoundRobin, Options());
  lb->Update(Ids({"a"}));
  auto pick = lb->Choose();
  ASSERT_TRUE(pick.ok());
  lb->Update(Ids({"x", "y"}));
  lb.reset();
  EXPECT_EQ(pick->instance().id, "a");
  pick->ReportFailure();  // must not touch the destroyed balancer
}

TEST(LoadBalancer, SwapUnderConcurrentPicks) {
  for (BalancerKind kind : {BalancerKind::kRoundRobin, BalancerKind::kRandom,
                            BalancerKind::kWeighted, BalancerKind::kLeastRequest}) {
    auto lb = MakeLoadBalancer(kind, Options());
    SCOPED_TRACE(std::string(lb->kind()));
    InstanceSet a = Ids({"a1", "a2", "a3"});
    InstanceSet b = Set({Make("b1", 3), Make("b2", 1)});
    lb->Update(a);
    std::atomic<bool> done{false};
    std::atomic<int> bad{0};
    std::atomic<uint64_t> picks{0};
    std::vector<std::thread> pickers;
    for (int t = 0; t < 4; ++t) {
      pickers.emplace_back([&] {
        std::vector<Pick> held;  // keep some picks across swaps, then read them again
        for (int k = 0; k < 20000; ++k) {
          auto p = lb->Choose();
          if (!p.ok()) {
            bad++;
            continue;
          }
          const std::string& id = p->instance().id;
          if (id != "a1" && id != "a2" && id != "a3" && id != "b1" && id != "b2") {
            bad++;
          }
          picks++;
          if (k % 7 == 0) {
            held.push_back(std::move(*p));
          } else if (k % 3 == 0) {
            p->ReportFailure();
          } else {
            p->ReportSuccess();
          }
          if (held.size() > 16) {
            for (Pick& h : held) {
              if (h.instance().port != 80) {
                bad++;
              }
            }
            held.clear();
          }
        }
      });
    }
    std::thread swapper([&] {
      for (int k = 0; !done.load(); ++k) {
        lb->Update(k % 2 == 0 ? b : a);
      }
    });
    for (auto& t : pickers) {
      t.join();
    }
    done = true;
    swapper.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(picks.load(), 80000u);
    EXPECT_GT(lb->stats().updates, 1u);
  }
}

TEST(InstancesFromEntries, DropsCriticalAndPicksAddressAndWeight) {
  auto entry = [](std::string id, std::string svc_addr, HealthStatus status) {
    ServiceEntry e;
    e.node.node = "n1";
    e.node.address = "10.0.0.9";
    e.service.id = id;
    e.service.service = "web";
    e.service.address = svc_addr;
    e.service.port = 8080;
    e.service.weights = {.passing = 10, .warning = 2};
    HealthCheck c;
    c.status = status;
    e.checks.push_back(c);
    return e;
  };
  InstanceSet set = InstancesFromEntries({entry("ok", "", HealthStatus::kPassing),
                                          entry("warn", "10.1.1.1", HealthStatus::kWarning),
                                          entry("bad", "", HealthStatus::kCritical)});
  ASSERT_EQ(set->size(), 2u);
  EXPECT_EQ((*set)[0].id, "ok");
  EXPECT_EQ((*set)[0].HostPort(), "10.0.0.9:8080");
  EXPECT_EQ((*set)[0].weight, 10);
  EXPECT_EQ((*set)[1].id, "warn");
  EXPECT_EQ((*set)[1].HostPort(), "10.1.1.1:8080");
  EXPECT_EQ((*set)[1].weight, 2);
  EXPECT_EQ((*set)[1].status, HealthStatus::kWarning);
}

TEST(ParseBalancerKind, KnowsEveryName) {
  const std::pair<const char*, BalancerKind> cases[] = {
      {"round_robin", BalancerKind::kRoundRobin},
      {"rr", BalancerKind::kRoundRobin},
      {"random", BalancerKind::kRandom},
      {"weighted", BalancerKind::kWeighted},
      {"least_request", BalancerKind::kLeastRequest},
      {"p2c", BalancerKind::kLeastRequest},
  };
  for (const auto& [name, kind] : cases) {
    SCOPED_TRACE(name);
    auto k = ParseBalancerKind(name);
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(*k, kind);
  }
  EXPECT_EQ(ParseBalancerKind("fastest").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace beacon::client
