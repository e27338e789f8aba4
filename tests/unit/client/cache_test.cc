#include "beacon/cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "beacon/balancer.h"
#include "testutil/eventually.h"
#include "unit/client/fake_agent.h"

namespace beacon::client {
namespace {

using ::beacon::testutil::Eventually;
using testing::FakeAgent;
using testing::HealthBody;

struct Fixture {
  explicit Fixture(CacheOptions options = {}) {
    agent = std::make_shared<FakeAgent>();
    ClientOptions co;
    co.transport = agent;
    co.address = "fake:8500";
    auto c = Client::Create(co);
    EXPECT_TRUE(c.ok());
    client = std::shared_ptr<Client>(std::move(*c));
    cache = std::make_unique<ServiceCache>(client, std::move(options));
  }
  std::shared_ptr<FakeAgent> agent;
  std::shared_ptr<Client> client;
  std::unique_ptr<ServiceCache> cache;
};

std::string Ids(const ServiceSnapshot& s) {
  std::string out;
  for (const ServiceEntry& e : *s.entries) {
    out += (out.empty() ? "" : ",") + e.service.id;
  }
  return out;
}

ServiceQuery Web() { return ServiceQuery{.service = "web"}; }

TEST(BackoffPolicy, GrowsExponentiallyUpToTheCapWithJitterBelow) {
  BackoffPolicy p;
  p.initial = std::chrono::milliseconds(100);
  p.max = std::chrono::milliseconds(1000);
  p.multiplier = 2;
  p.jitter = 0.5;
  struct Case {
    int failures;
    double u;
    int64_t want_ms;
  };
  const Case cases[] = {
      {1, 0.0, 100},   {2, 0.0, 200},     {3, 0.0, 400}, {4, 0.0, 800}, {5, 0.0, 1000},
      {50, 0.0, 1000}, {1, 0.999999, 50}, {4, 0.5, 600}, {0, 0.0, 100},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.failures) + " failures, u=" + std::to_string(c.u));
    EXPECT_EQ(p.Delay(c.failures, c.u).count(), c.want_ms);
  }
  p.jitter = 0;
  EXPECT_EQ(p.Delay(3, 0.9).count(), 400);
}

TEST(ServiceQuery, KeyIsCanonical) {
  ServiceQuery a{.service = "web", .tags = {"v2", "v1"}};
  ServiceQuery b{.service = "web", .tags = {"v1", "v2", "v1"}};
  EXPECT_EQ(a.Key(), b.Key());
  EXPECT_EQ(a.Key(), "web?passing&tag=v1&tag=v2");
  ServiceQuery c{.service = "web", .passing_only = false, .filter = "Service.Port == 80"};
  EXPECT_EQ(c.Key(), "web?filter=Service.Port %3D%3D 80");
  EXPECT_NE(a.Key(), ServiceQuery{.service = "web"}.Key());
}

TEST(ServiceCache, OneWatchIsSharedByManyCallers) {
  Fixture f;
  f.agent->SetHealth(HealthBody({"web-1", "web-2"}), 5);
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      for (int k = 0; k < 100; ++k) {
        auto s = f.cache->Get(Web());
        if (!s.ok() || Ids(*s) != "web-1,web-2") {
          failures++;
        }
      }
    });
  }
  for (auto& t : callers) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  CacheStats stats = f.cache->stats();
  EXPECT_EQ(stats.watches, 1u);
  EXPECT_EQ(stats.hits + stats.misses, 800u);
  EXPECT_LE(stats.misses, 8u);
  // One plain read, then one parked blocking query: the 800 reads never reached the agent.
  ASSERT_TRUE(Eventually([&] { return f.agent->parked() == 1; }));
  EXPECT_EQ(f.agent->health_requests(), 2u);
}

TEST(ServiceCache, DifferentQueriesHaveTheirOwnWatch) {
  Fixture f;
  ASSERT_TRUE(f.cache->Get(Web()).ok());
  ASSERT_TRUE(f.cache->Get(ServiceQuery{.service = "web", .tags = {"v1"}}).ok());
  ASSERT_TRUE(f.cache->Get(ServiceQuery{.service = "web", .passing_only = false}).ok());
  ASSERT_TRUE(f.cache->Get(Web()).ok());
  EXPECT_EQ(f.cache->stats().watches, 3u);
  // A first Get() is a miss unless the new watch answered before it looked.
  EXPECT_EQ(f.cache->stats().hits + f.cache->stats().misses, 4u);
  EXPECT_GE(f.cache->stats().hits, 1u);
}

TEST(ServiceCache, SendsTheQueryAsABlockingRead) {
  CacheOptions o;
  o.watch_wait = std::chrono::seconds(30);
  Fixture f(o);
  f.agent->SetHealth(HealthBody({"web-1"}), 7);
  ASSERT_TRUE(
      f.cache->Get(ServiceQuery{.service = "web", .tags = {"v1"}, .filter = "a == b"}).ok());
  ASSERT_TRUE(Eventually([&] { return f.agent->parked() == 1; }));
  auto requests = f.agent->requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/v1/health/service/web?passing&tag=v1&filter=a%20%3D%3D%20b");
  EXPECT_EQ(requests[1].target,
            "/v1/health/service/web?passing&tag=v1&index=7&wait=30000ms&filter=a%20%3D%3D%20b");
  // The transport must outwait the agent: wait + wait/16 + the client timeout.
  EXPECT_EQ(requests[1].timeout, std::chrono::milliseconds(30'000 + 1'875 + 10'000));
}

TEST(ServiceCache, PushesChangesToSubscribers) {
  Fixture f;
  f.agent->SetHealth(HealthBody({"web-1"}), 3);
  std::mutex mu;
  std::vector<std::string> seen;
  Subscription sub = f.cache->Subscribe(Web(), [&](const ServiceSnapshot& s) {
    std::lock_guard lock(mu);
    seen.push_back(Ids(s) + "@" + std::to_string(s.index));
  });
  auto seen_now = [&] {
    std::lock_guard lock(mu);
    return seen;
  };
  ASSERT_TRUE(Eventually([&] { return seen_now().size() == 1; }));
  ASSERT_TRUE(Eventually([&] { return f.agent->parked() == 1; }));
  f.agent->SetHealth(HealthBody({"web-1", "web-2"}), 4);
  ASSERT_TRUE(Eventually([&] { return seen_now().size() == 2; }));
  EXPECT_EQ(seen_now(), (std::vector<std::string>{"web-1@3", "web-1,web-2@4"}));
  auto s = f.cache->Get(Web());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Ids(*s), "web-1,web-2");
  EXPECT_EQ(s->index, 4u);

  // An index move without a content change is not pushed.
  ASSERT_TRUE(Eventually([&] { return f.agent->parked() == 1; }));
  f.agent->SetHealth(HealthBody({"web-1", "web-2"}), 5);
  ASSERT_TRUE(Eventually([&] { return f.cache->stats().watch_round_trips >= 3; }));
  EXPECT_EQ(seen_now().size(), 2u);

  // A late subscriber gets the current answer at once, on its own thread.
  std::string late;  // guarded by mu
  Subscription sub2 = f.cache->Subscribe(Web(), [&](const ServiceSnapshot& s) {
    std::lock_guard lock(mu);
    late = Ids(s);
  });
  auto late_now = [&] {
    std::lock_guard lock(mu);
    return late;
  };
  EXPECT_EQ(late_now(), "web-1,web-2");

  // After Cancel() nothing more arrives.
  sub.Cancel();
  ASSERT_TRUE(Eventually([&] { return f.agent->parked() == 1; }));
  f.agent->SetHealth(HealthBody({"web-3"}), 9);
  ASSERT_TRUE(Eventually([&] { return late_now() == "web-3"; }));
  EXPECT_EQ(seen_now().size(), 2u);
}

TEST(ServiceCache, ASubscriberMayCancelItselfFromItsCallback) {
  Fixture f;
  f.agent->SetHealth(HealthBody({"web-1"}), 3);
  ASSERT_TRUE(f.cache->Get(Web()).ok());
  std::atomic<int> calls{0};
  Subscription sub;
  // The capture must stay alive until the callback returns, even though it cancels itself.
  auto capture = std::make_shared<std::string>(64, 'x');
  sub = f.cache->Subscribe(Web(), [&, capture](const ServiceSnapshot&) {
    sub.Cancel();  // a no-op on the first call, made inside Subscribe() before sub is assigned
    EXPECT_EQ(capture->size(), 64u);
    calls++;  // last: the test thread reads sub once it sees this
  });
  EXPECT_EQ(calls.load(), 1);
  ASSERT_TRUE(Eventually([&] { return f.agent->parked() == 1; }));
  f.agent->SetHealth(HealthBody({"web-2"}), 4);
  ASSERT_TRUE(Eventually([&] { return calls.load() == 2; }));
  EXPECT_FALSE(sub.active());
  ASSERT_TRUE(Eventually([&] { return f.agent->parked() == 1; }));
  f.agent->SetHealth(HealthBody({"web-3"}), 5);
  ASSERT_TRUE(Eventually([&] {
    auto g = f.cache->Get(Web());
    return g.ok() && Ids(*g) == "web-3";
  }));
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(capture.use_count(), 1) << "the cancelled callback was released";
}

TEST(ServiceCache, ServesTheLastGoodAnswerWhileTheAgentIsDown) {
  auto clock = std::make_shared<ManualClock>();
  CacheOptions o;
  o.clock = clock;
  o.random = [] { return 0.0; };
  Fixture f(o);
  f.agent->SetHealth(HealthBody({"web-1", "web-2"}), 3);
  std::atomic<int> stale_pushes{0}, fresh_pushes{0};
  Subscription sub = f.cache->Subscribe(
      Web(), [&](const ServiceSnapshot& s) { (s.stale ? stale_pushes : fresh_pushes)++; });
  ASSERT_TRUE(f.cache->Get(Web()).ok());
  ASSERT_TRUE(Eventually([&] { return f.agent->parked() == 1; }));

  f.agent->SetDown(true);  // the parked query fails; the watch backs off on the manual clock
  ASSERT_TRUE(clock->WaitForSleepers(1, std::chrono::seconds(5)));
  clock->Advance(std::chrono::milliseconds(150));  // less than the first backoff (200 ms)
  auto s = f.cache->Get(Web());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->stale);
  EXPECT_EQ(Ids(*s), "web-1,web-2");
  EXPECT_EQ(s->age, std::chrono::milliseconds(150));
  EXPECT_EQ(s->last_error.code(), StatusCode::kUnavailable);
  EXPECT_EQ(stale_pushes.load(), 1);

  // Still down at the retry: still stale, older.
  clock->Advance(std::chrono::milliseconds(50));
  ASSERT_TRUE(Eventually([&] { return f.cache->stats().errors == 2 && clock->sleepers() == 1; }));
  clock->Advance(std::chrono::milliseconds(100));
  s = f.cache->Get(Web());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->age, std::chrono::milliseconds(300));
  EXPECT_EQ(stale_pushes.load(), 1) << "turning stale is pushed once, not per failed retry";

  // The agent is back, with a change made meanwhile: picked up at the next retry.
  f.agent->SetHealth(HealthBody({"web-2"}), 8);
  f.agent->SetDown(false);
  clock->Advance(std::chrono::milliseconds(400));
  ASSERT_TRUE(Eventually([&] {
    auto g = f.cache->Get(Web());
    return g.ok() && !g->stale && Ids(*g) == "web-2";
  }));
  s = f.cache->Get(Web());
  EXPECT_EQ(s->age, std::chrono::milliseconds(0));
  EXPECT_TRUE(s->last_error.ok());
  EXPECT_EQ(fresh_pushes.load(), 2);
}

TEST(ServiceCache, RetriesWithExponentialBackoffAndJitter) {
  auto clock = std::make_shared<ManualClock>();
  CacheOptions o;
  o.clock = clock;
  o.backoff.initial = std::chrono::milliseconds(200);
  o.backoff.max = std::chrono::milliseconds(1000);
  o.backoff.jitter = 0.2;
  o.random = [] { return 0.5; };  // takes 10% off every delay
  Fixture f(o);
  f.agent->SetDown(true);

  auto first = f.cache->Get(Web());
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), StatusCode::kUnavailable)
      << "the first error comes back at once";
  EXPECT_EQ(f.cache->stats().misses, 1u);

  std::vector<int64_t> delays;
  Clock::TimePoint last_deadline{};
  for (int k = 0; k < 6; ++k) {
    ASSERT_TRUE(Eventually([&] {
      auto d = clock->NextDeadline();
      return clock->sleepers() == 1 && d != Clock::TimePoint::max() && d != last_deadline;
    })) << "retry "
        << k;
    last_deadline = clock->NextDeadline();
    auto delay = last_deadline - clock->Now();
    delays.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
    clock->Advance(delay);
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{180, 360, 720, 900, 900, 900}));
  ASSERT_TRUE(Eventually([&] { return f.cache->stats().errors == 7; }));
  EXPECT_EQ(f.cache->stats().watch_round_trips, 7u);

  // Recovery resets the schedule.
  f.agent->SetDown(false);
  clock->Advance(std::chrono::milliseconds(900));
  ASSERT_TRUE(Eventually([&] { return f.cache->Get(Web()).ok(); }));
}

TEST(ServiceCache, BacksOffFromAnAgentThatDoesNotBlock) {
  auto clock = std::make_shared<ManualClock>();
  CacheOptions o;
  o.clock = clock;
  o.random = [] { return 0.0; };
  Fixture f(o);
  f.agent->SetBlocking(false);
  f.agent->SetHealth(HealthBody({"web-1"}), 5);
  ASSERT_TRUE(f.cache->Get(Web()).ok());
  // Plain read, then one "blocking" read that came straight back unchanged: the watch sleeps
  // instead of asking again at once.
  ASSERT_TRUE(clock->WaitForSleepers(1, std::chrono::seconds(5)));
  EXPECT_EQ(f.agent->health_requests(), 2u);
  EXPECT_EQ(clock->NextDeadline() - clock->Now(), std::chrono::milliseconds(200));
  clock->Advance(std::chrono::milliseconds(200));
  ASSERT_TRUE(Eventually([&] {
    return f.agent->health_requests() == 3 && clock->sleepers() == 1 &&
           clock->NextDeadline() - clock->Now() == std::chrono::milliseconds(400);
  }));
  // A real change resets the backoff and is delivered.
  f.agent->SetHealth(HealthBody({"web-1", "web-2"}), 6);
  clock->Advance(std::chrono::milliseconds(400));
  ASSERT_TRUE(Eventually([&] {
    auto g = f.cache->Get(Web());
    return g.ok() && Ids(*g) == "web-1,web-2";
  }));
  EXPECT_EQ(f.cache->stats().errors, 0u);
}

TEST(ServiceCache, StartsOverWhenTheIndexGoesBackwards) {
  CacheOptions o;
  o.watch_wait = std::chrono::milliseconds(50);
  Fixture f(o);
  f.agent->SetHealth(HealthBody({"web-1"}), 10);
  ASSERT_TRUE(f.cache->Get(Web()).ok());
  ASSERT_TRUE(Eventually([&] { return f.agent->parked() == 1; }));
  f.agent->SetHealth(HealthBody({"web-1"}), 4);  // e.g. a restored snapshot
  // The parked query returns at its wait with index 4 < 10; the watch then reads without index.
  ASSERT_TRUE(Eventually([&] {
    for (const HttpRequest& r : f.agent->requests()) {
      if (r.target.find("index=4&") != std::string::npos) {
        return true;
      }
    }
    return false;
  }));
  bool plain_read_after_reset = false;
  bool seen_backwards = false;
  for (const HttpRequest& r : f.agent->requests()) {
    uint64_t index = FakeAgent::Param(r.target, "index");
    if (index == 10) {
      seen_backwards = true;
    } else if (seen_backwards && index == 0) {
      plain_read_after_reset = true;
    }
  }
  EXPECT_TRUE(plain_read_after_reset);
}

TEST(ServiceCache, DestructorCancelsParkedQueries) {
  CacheOptions o;
  o.watch_wait = std::chrono::minutes(5);
  Fixture f(o);
  ASSERT_TRUE(f.cache->Get(Web()).ok());
  ASSERT_TRUE(f.cache->Get(ServiceQuery{.service = "db"}).ok());
  ASSERT_TRUE(Eventually([&] { return f.agent->parked() == 2; }));
  auto start = std::chrono::steady_clock::now();
  f.cache.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(f.agent->parked(), 0u);
}

TEST(ServiceCache, FeedsABalancer) {
  Fixture f;
  f.agent->SetHealth(HealthBody({"web-1", "web-2"}), 2);
  auto lb = MakeLoadBalancer(BalancerKind::kRoundRobin);
  Subscription feed = FeedBalancer(*f.cache, Web(), lb);
  ASSERT_TRUE(Eventually([&] { return lb->instances()->size() == 2; }));
  ASSERT_TRUE(Eventually([&] { return f.agent->parked() == 1; }));
  f.agent->SetHealth(HealthBody({"web-2", "web-3", "web-4"}), 3);
  ASSERT_TRUE(Eventually([&] { return lb->instances()->size() == 3; }));
  EXPECT_EQ(lb->instances()->front().id, "web-2");
  // Agent down: the balancer keeps its set.
  f.agent->SetDown(true);
  ASSERT_TRUE(Eventually([&] { return f.cache->stats().errors >= 1; }));
  EXPECT_EQ(lb->instances()->size(), 3u);
}

}  // namespace
}  // namespace beacon::client
