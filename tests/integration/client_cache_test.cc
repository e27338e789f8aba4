// ServiceCache and balancers against a real agent: a change is pushed to subscribers and swapped
// into a balancer, one watch serves many callers, and the last answer is served (stale, with its
// age) after the agent is gone.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "beacon/balancer.h"
#include "beacon/cache.h"
#include "testutil/agent/test_agent.h"
#include "testutil/eventually.h"

namespace beacon::client {
namespace {

using namespace std::chrono_literals;
using testutil::Eventually;

class ClientCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = testutil::TestAgent::Start();
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    auto c = Client::Create({.address = "127.0.0.1:" + std::to_string(agent_->port())});
    ASSERT_TRUE(c.ok());
    client_ = std::shared_ptr<Client>(std::move(*c));
    CacheOptions o;
    o.watch_wait = 10s;
    o.backoff.initial = 50ms;
    o.backoff.max = 200ms;
    cache_ = std::make_unique<ServiceCache>(client_, o);
  }
  void TearDown() override { cache_.reset(); }

  void Register(std::string id, std::string status = "passing") {
    ServiceRegistration s;
    s.id = std::move(id);
    s.name = "web";
    s.address = "127.0.0.1";
    s.port = 9000;
    CheckDefinition ttl;
    ttl.ttl = 10min;
    ttl.status = std::move(status);
    s.checks = {ttl};
    ASSERT_TRUE(client_->RegisterService(s).ok());
  }

  static std::string Ids(const ServiceSnapshot& s) {
    std::string out;
    for (const ServiceEntry& e : *s.entries) {
      out += (out.empty() ? "" : ",") + e.service.id;
    }
    return out;
  }

  std::unique_ptr<testutil::TestAgent> agent_;
  std::shared_ptr<Client> client_;
  std::unique_ptr<ServiceCache> cache_;
};

TEST_F(ClientCacheTest, ChangesArePushedAndSwappedIntoABalancer) {
  Register("web-1");
  ServiceQuery q{.service = "web"};
  auto lb = MakeLoadBalancer(BalancerKind::kRoundRobin);
  Subscription feed = FeedBalancer(*cache_, q, lb);
  std::atomic<int> pushes{0};
  Subscription sub = cache_->Subscribe(q, [&](const ServiceSnapshot&) { pushes++; });
  ASSERT_TRUE(Eventually([&] { return lb->instances()->size() == 1; }));

  Register("web-2");
  ASSERT_TRUE(Eventually([&] { return lb->instances()->size() == 2; }));
  // A failing TTL takes web-1 out of the passing answer, and so out of the rotation.
  ASSERT_TRUE(client_->FailTtl("service:web-1").ok());
  ASSERT_TRUE(Eventually([&] { return lb->instances()->size() == 1; }));
  for (int k = 0; k < 4; ++k) {
    auto pick = lb->Choose();
    ASSERT_TRUE(pick.ok());
    EXPECT_EQ(pick->instance().id, "web-2");
    EXPECT_EQ(pick->instance().HostPort(), "127.0.0.1:9000");
  }
  EXPECT_GE(pushes.load(), 3);
  auto s = cache_->Get(q);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Ids(*s), "web-2");
  EXPECT_FALSE(s->stale);
}

TEST_F(ClientCacheTest, OneWatchServesManyCallers) {
  Register("web-1");
  ServiceQuery q{.service = "web"};
  std::vector<std::thread> callers;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int k = 0; k < 50; ++k) {
        auto s = cache_->Get(q);
        if (!s.ok() || Ids(*s) != "web-1") {
          bad++;
        }
      }
    });
  }
  for (auto& t : callers) {
    t.join();
  }
  EXPECT_EQ(bad.load(), 0);
  CacheStats stats = cache_->stats();
  EXPECT_EQ(stats.watches, 1u);
  EXPECT_EQ(stats.hits + stats.misses, 200u);
  // 200 reads, but only the watch's own round trips reached the agent.
  EXPECT_LE(stats.watch_round_trips, 3u);
}

TEST_F(ClientCacheTest, ServesTheLastAnswerWhenTheAgentIsGone) {
  Register("web-1");
  Register("web-2");
  ServiceQuery q{.service = "web"};
  auto first = cache_->Get(q);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Ids(*first), "web-1,web-2");

  agent_.reset();  // the agent stops; the parked query fails, retries fail
  ASSERT_TRUE(Eventually(
      [&] {
        auto s = cache_->Get(q);
        return s.ok() && s->stale;
      },
      10s));
  ASSERT_TRUE(Eventually([&] { return cache_->stats().errors >= 3; }, 10s))
      << "the watch keeps retrying";
  auto s = cache_->Get(q);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->stale);
  EXPECT_EQ(Ids(*s), "web-1,web-2");
  EXPECT_GT(s->age, 0ms);
  EXPECT_EQ(s->last_error.code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace beacon::client
