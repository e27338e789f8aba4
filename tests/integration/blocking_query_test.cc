// Blocking queries over real HTTP (consul-api.md section 2): woken by a write that changes the
// result, timing out by themselves with the same index, not woken by unrelated writes, many
// parked at once, and clients that hang up while parked.
//
// Timing is asserted only loosely and only where it is the behaviour: a query that times out must
// not answer before its wait, and a woken one must answer well before it. A test that needs its
// queries parked before it writes waits for the server's own blocking_queries_parked gauge
// (/v1/agent/metrics) instead of sleeping.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "testutil/agent/test_agent.h"
#include "testutil/eventually.h"

namespace beacon::testutil {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kRegister[] = "/v1/agent/service/register";
// Long enough that "answered well before the wait" cannot be an accident on a slow machine.
constexpr milliseconds kWakeWait = 20s;
// Short enough to keep the timeout tests quick.
constexpr milliseconds kShortWait = 300ms;

std::string WithIndex(const std::string& target, uint64_t index, milliseconds wait) {
  const char sep = target.find('?') == std::string::npos ? '?' : '&';
  return target + sep + "index=" + std::to_string(index) + "&wait=" + std::to_string(wait.count()) +
         "ms";
}

struct Timed {
  Response response;
  milliseconds elapsed{0};
};

// Runs GET `target` on its own connection and thread, timing it from just before the request.
std::future<Timed> StartTimed(uint16_t port, std::string target) {
  return std::async(std::launch::async, [port, target = std::move(target)] {
    HttpClient client("127.0.0.1", port);
    const Clock::time_point start = Clock::now();
    Timed t;
    t.response = client.Request("GET", target);
    t.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    return t;
  });
}

class BlockingQueryTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-1",
        "Check":{"TTL":"10m","Status":"passing"}})")));
  }

  // Waits until `n` blocking queries are parked on the server (its own gauge), so the write that
  // follows lands while they wait.
  void AwaitParked(size_t n) {
    ASSERT_TRUE(Eventually([&] { return Parked() >= static_cast<double>(n); }, 20s))
        << "parked: " << Parked() << ", want " << n;
  }
  double Parked() { return agent().Gauge("consul.http.blocking_queries_parked").value_or(-1); }
  double OpenConnections() { return agent().Gauge("consul.http.open_connections").value_or(-1); }
};

// One blocking read and a write that must wake it. Each runs on a fresh agent.
struct WakeCase {
  std::string name;  // test name suffix
  std::string target;
  std::function<void(TestAgent&)> write;
};

std::vector<WakeCase> WakeCases() {
  auto put = [](std::string target, std::string body = "") {
    return [target, body](TestAgent& a) { ASSERT_TRUE(IsOk(a.Put(target, body))); };
  };
  auto add_web_2 = put(kRegister, R"({"Name":"web","ID":"web-2","Port":81})");
  auto warn_web_1 = put("/v1/agent/check/warn/service:web-1?note=slow");
  auto add_api = put(kRegister, R"({"Name":"api"})");
  auto add_node = put("/v1/catalog/register", R"({"Node":"ext-1","Address":"10.1.1.1"})");
  auto add_node_check = put("/v1/agent/check/register", R"({"Name":"disk","TTL":"10m"})");
  auto remove_web_1 = put("/v1/agent/service/deregister/web-1");
  return {
      {"HealthServiceByNewInstance", "/v1/health/service/web", add_web_2},
      {"HealthServicePassingByCheckStatus", "/v1/health/service/web?passing", warn_web_1},
      {"HealthServiceByNodeCheck", "/v1/health/service/web", add_node_check},
      {"HealthServiceByDeregistration", "/v1/health/service/web", remove_web_1},
      {"HealthServiceOfUnknownByRegistration", "/v1/health/service/later",
       put(kRegister, R"({"Name":"later"})")},
      {"CatalogServiceByNewInstance", "/v1/catalog/service/web", add_web_2},
      {"HealthChecksByCheckStatus", "/v1/health/checks/web", warn_web_1},
      {"CatalogServicesByNewService", "/v1/catalog/services", add_api},
      {"CatalogServicesByDeregistration", "/v1/catalog/services", remove_web_1},
      {"CatalogNodesByNewNode", "/v1/catalog/nodes", add_node},
      {"CatalogNodeByNewService", "/v1/catalog/node/test-node", add_api},
      {"CatalogNodeOfUnknownByRegistration", "/v1/catalog/node/ext-1", add_node},
      {"HealthNodeByCheckStatus", "/v1/health/node/test-node", warn_web_1},
      {"HealthStateAnyByCheckStatus", "/v1/health/state/any", warn_web_1},
      {"HealthStateWarningByCheckStatus", "/v1/health/state/warning", warn_web_1},
  };
}

class BlockingWakeTest : public BlockingQueryTest,
                         public ::testing::WithParamInterface<WakeCase> {};

TEST_P(BlockingWakeTest, WokenByAWriteThatChangesTheResult) {
  const WakeCase& c = GetParam();
  Response before = agent().Get(c.target);
  ASSERT_TRUE(IsOk(before));
  const uint64_t index = ConsulIndex(before);
  ASSERT_GT(index, 0u);

  std::future<Timed> watch = StartTimed(agent().port(), WithIndex(c.target, index, kWakeWait));
  AwaitParked(1);
  c.write(agent());
  Timed woken = watch.get();

  ASSERT_TRUE(IsOk(woken.response));
  EXPECT_LT(woken.elapsed, kWakeWait / 2);
  EXPECT_GT(ConsulIndex(woken.response), index);
  EXPECT_NE(woken.response.body, before.body);
  // It answers with the data of the write: exactly what a fresh read sees.
  Response now = agent().Get(c.target);
  EXPECT_EQ(woken.response.body, now.body);
  EXPECT_EQ(ConsulIndex(woken.response), ConsulIndex(now));
}

INSTANTIATE_TEST_SUITE_P(EveryBlockingRead, BlockingWakeTest, ::testing::ValuesIn(WakeCases()),
                         [](const ::testing::TestParamInfo<WakeCase>& info) {
                           return info.param.name;
                         });

TEST_F(BlockingQueryTest, EveryBlockingReadTimesOutWithTheSameIndex) {
  const std::string targets[] = {
      "/v1/health/service/web",     "/v1/health/service/nope",   "/v1/catalog/service/web",
      "/v1/health/checks/web",      "/v1/catalog/services",      "/v1/catalog/nodes",
      "/v1/catalog/node/test-node", "/v1/catalog/node/nope",     "/v1/health/node/test-node",
      "/v1/health/state/any",       "/v1/health/state/critical",
  };
  // Started together, so the whole table takes one wait.
  std::vector<std::pair<Response, std::future<Timed>>> watches;
  for (const std::string& target : targets) {
    Response before = agent().Get(target);
    ASSERT_TRUE(IsOk(before)) << target;
    const uint64_t index = ConsulIndex(before);
    watches.emplace_back(before, StartTimed(agent().port(), WithIndex(target, index, kShortWait)));
  }
  for (size_t i = 0; i < watches.size(); ++i) {
    SCOPED_TRACE(targets[i]);
    const Response& before = watches[i].first;
    Timed t = watches[i].second.get();
    ASSERT_TRUE(IsOk(t.response));
    EXPECT_GE(t.elapsed, kShortWait);
    EXPECT_LT(t.elapsed, 10s);
    EXPECT_EQ(ConsulIndex(t.response), ConsulIndex(before));
    EXPECT_EQ(t.response.body, before.body);
  }
}

TEST_F(BlockingQueryTest, IndexAheadOfTheServerWaitsForTheDeadline) {
  // A client that saw a bigger index (another cluster, old data) is parked too (2.3.5).
  const uint64_t index = ConsulIndex(agent().Get("/v1/health/service/web"));
  Timed t =
      StartTimed(agent().port(), WithIndex("/v1/health/service/web", index + 1000, kShortWait))
          .get();
  ASSERT_TRUE(IsOk(t.response));
  EXPECT_GE(t.elapsed, kShortWait);
  EXPECT_EQ(ConsulIndex(t.response), index);
}

// One blocking read and a write, repeated while the read is parked, that must not wake it: the
// write does not change the result. Each runs on a fresh agent.
struct NoWakeCase {
  std::string name;  // test name suffix
  std::string target;
  std::function<void(TestAgent&, int)> write;  // the int counts the repetitions
};

std::vector<NoWakeCase> NoWakeCases() {
  auto put_each = [](std::string target, std::string body_prefix, std::string body_suffix) {
    return [=](TestAgent& a, int i) {
      ASSERT_TRUE(IsOk(a.Put(target, body_prefix + std::to_string(i) + body_suffix)));
    };
  };
  // Each repetition changes service "api" (its tags), never "web".
  auto change_api = put_each(kRegister, R"({"Name":"api","Tags":["t)", R"("]})");
  auto same_web_1 = [](TestAgent& a, int) {
    ASSERT_TRUE(IsOk(a.Put(kRegister, R"({"Name":"web","ID":"web-1",
        "Check":{"TTL":"10m","Status":"passing"}})")));
  };
  auto flip_web_1 = [](TestAgent& a, int i) {
    ASSERT_TRUE(IsOk(a.Put(std::string("/v1/agent/check/") + (i % 2 == 0 ? "warn" : "pass") +
                           "/service:web-1")));
  };
  return {
      {"HealthServiceByOtherService", "/v1/health/service/web", change_api},
      {"HealthServiceByIdenticalReRegistration", "/v1/health/service/web", same_web_1},
      {"CatalogServiceByOtherService", "/v1/catalog/service/web", change_api},
      {"CatalogServicesByCheckStatus", "/v1/catalog/services", flip_web_1},
      {"CatalogNodesByServiceRegistration", "/v1/catalog/nodes", change_api},
      {"CatalogNodeOfOtherNodeByLocalWrite", "/v1/catalog/node/nope", change_api},
      {"HealthStateByServiceWithoutChecks", "/v1/health/state/any", change_api},
  };
}

class BlockingNoWakeTest : public BlockingQueryTest,
                           public ::testing::WithParamInterface<NoWakeCase> {};

TEST_P(BlockingNoWakeTest, NotWokenByAWriteThatLeavesTheResultAlone) {
  const NoWakeCase& c = GetParam();
  Response before = agent().Get(c.target);
  ASSERT_TRUE(IsOk(before));
  const uint64_t index = ConsulIndex(before);
  constexpr milliseconds kWait = 500ms;
  std::future<Timed> watch = StartTimed(agent().port(), WithIndex(c.target, index, kWait));
  AwaitParked(1);
  // Keep writing for as long as the watcher is parked, so writes certainly land while it waits.
  int writes = 0;
  while (watch.wait_for(0s) != std::future_status::ready && writes < 10'000) {
    c.write(agent(), writes++);
  }
  Timed t = watch.get();
  ASSERT_TRUE(IsOk(t.response));
  EXPECT_GE(t.elapsed, kWait);
  EXPECT_EQ(ConsulIndex(t.response), index);
  EXPECT_EQ(t.response.body, before.body);
  EXPECT_GT(writes, 1);
}

INSTANTIATE_TEST_SUITE_P(EveryBlockingRead, BlockingNoWakeTest, ::testing::ValuesIn(NoWakeCases()),
                         [](const ::testing::TestParamInfo<NoWakeCase>& info) {
                           return info.param.name;
                         });

TEST_F(BlockingQueryTest, OutputOnlyTtlUpdateDoesNotWakeTheWatcher) {
  // Output-only changes are published 2.5 to 7.5 minutes later (2.1, Consul's
  // check_update_interval of 5 min), so neither of these wakes a watcher within its wait.
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/service:web-1?note=first")));
  Response before = agent().Get("/v1/health/service/web");
  const uint64_t index = ConsulIndex(before);
  std::future<Timed> watch =
      StartTimed(agent().port(), WithIndex("/v1/health/service/web", index, kShortWait));
  AwaitParked(1);
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/service:web-1?note=second")));
  Timed t = watch.get();
  ASSERT_TRUE(IsOk(t.response));
  EXPECT_GE(t.elapsed, kShortWait);
  EXPECT_EQ(ConsulIndex(t.response), index);
}

// With a check_update_interval d of 400 ms, an output-only change reaches watchers d/2 to 3d/2
// after it was made, with the latest output.
TEST(BlockingQueryOutputTest, DeferredOutputWakesTheWatcherLater) {
  TestAgentOptions options;
  options.output_update_interval = 400ms;
  auto started = TestAgent::Start(options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  TestAgent& agent = **started;
  ASSERT_TRUE(IsOk(agent.Put(kRegister, R"({"Name":"web","ID":"web-1",
      "Check":{"TTL":"10m","Status":"passing"}})")));
  Response before = agent.Get("/v1/health/service/web");
  const uint64_t index = ConsulIndex(before);
  std::future<Timed> watch =
      StartTimed(agent.port(), WithIndex("/v1/health/service/web", index, kWakeWait));
  ASSERT_TRUE(Eventually([&] {
    return agent.Gauge("consul.http.blocking_queries_parked").value_or(0) >= 1;
  }, 20s));
  const Clock::time_point changed = Clock::now();
  ASSERT_TRUE(IsOk(agent.Put("/v1/agent/check/pass/service:web-1?note=one")));
  ASSERT_TRUE(IsOk(agent.Put("/v1/agent/check/pass/service:web-1?note=two")));
  Timed t = watch.get();
  const auto after_change = std::chrono::duration_cast<milliseconds>(Clock::now() - changed);
  ASSERT_TRUE(IsOk(t.response));
  EXPECT_GT(ConsulIndex(t.response), index);
  EXPECT_GE(after_change, 200ms);        // not before d/2
  EXPECT_LT(t.elapsed, kWakeWait / 2);  // but long before the wait ran out
  JsonDoc doc(t.response.body);
  EXPECT_EQ(doc.Str("/0/Checks/0/CheckID"), "service:web-1") << t.response.body;
  EXPECT_EQ(doc.Str("/0/Checks/0/Output"), "two") << t.response.body;
  EXPECT_EQ(doc.Int("/0/Checks/0/ModifyIndex"), static_cast<int64_t>(ConsulIndex(t.response)));
}

TEST_F(BlockingQueryTest, IndexZeroAnswersAtOnce) {
  Timed t = StartTimed(agent().port(), WithIndex("/v1/health/service/web", 0, kWakeWait)).get();
  ASSERT_TRUE(IsOk(t.response));
  EXPECT_LT(t.elapsed, kWakeWait / 2);
  EXPECT_GT(ConsulIndex(t.response), 0u);
}

TEST_F(BlockingQueryTest, BadQueryParametersAre400) {
  struct Case {
    std::string query;
    std::string message;
  };
  const Case cases[] = {
      {"index=abc", "Invalid index"},
      {"index=-1", "Invalid index"},
      {"index=1.5", "Invalid index"},
      {"index=18446744073709551616", "Invalid index"},  // 2^64
      {"index=1&wait=abc", "Invalid wait time"},
      {"index=1&wait=5", "Invalid wait time"},  // Go durations need a unit
      {"index=1&wait=1x", "Invalid wait time"},
      {"stale&consistent", "Cannot specify ?stale with ?consistent, conflicting semantics."},
      {"cached&consistent", "Cannot specify ?cached with ?consistent, conflicting semantics."},
      {"max_stale=bogus", R"(Invalid max_stale value "bogus")"},
  };
  for (const std::string path : {"/v1/health/service/web", "/v1/catalog/services"}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(path + "?" + c.query);
      Response r = agent().Get(path + "?" + c.query);
      EXPECT_TRUE(IsError(r, 400, c.message));
      EXPECT_EQ(r.Header("Content-Type"), "text/plain; charset=utf-8");
    }
  }
}

TEST_F(BlockingQueryTest, ValidWaitSpellingsAreAccepted) {
  const uint64_t index = ConsulIndex(agent().Get("/v1/health/service/web"));
  for (const std::string wait : {"300ms", "0.3s", "0.25s", "250000us"}) {
    SCOPED_TRACE(wait);
    Response r =
        agent().Get("/v1/health/service/web?index=" + std::to_string(index) + "&wait=" + wait);
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(ConsulIndex(r), index);
  }
}

TEST_F(BlockingQueryTest, AgentServiceHashBlocksUntilTheDefinitionChanges) {
  const std::string hash = agent().Get("/v1/agent/service/web-1").Header("X-Consul-ContentHash");
  ASSERT_FALSE(hash.empty());
  const std::string target = "/v1/agent/service/web-1?hash=" + hash;

  // Unchanged: answers at the deadline with the same hash.
  Timed same = StartTimed(agent().port(), target + "&wait=300ms").get();
  ASSERT_TRUE(IsOk(same.response));
  EXPECT_GE(same.elapsed, kShortWait);
  EXPECT_EQ(same.response.Header("X-Consul-ContentHash"), hash);

  // Changed while parked: answers early with the new hash.
  std::future<Timed> watch = StartTimed(agent().port(), target + "&wait=20s");
  AwaitParked(1);
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-1","Tags":["new"],
      "Check":{"TTL":"10m"}})")));
  Timed changed = watch.get();
  ASSERT_TRUE(IsOk(changed.response));
  EXPECT_LT(changed.elapsed, kWakeWait / 2);
  EXPECT_NE(changed.response.Header("X-Consul-ContentHash"), hash);
  EXPECT_EQ(Json(changed.response).Raw("/Tags"), R"(["new"])");
}

TEST_F(BlockingQueryTest, TwoHundredParkedWatchersAreAllWokenByOneWrite) {
  constexpr size_t kWatchers = 200;
  const std::string target = "/v1/health/service/web";
  const uint64_t index = ConsulIndex(agent().Get(target));
  std::vector<std::future<Response>> watches;
  watches.reserve(kWatchers);
  for (size_t i = 0; i < kWatchers; ++i) {
    watches.push_back(agent().http().RequestAsync("GET", WithIndex(target, index, kWakeWait)));
  }
  AwaitParked(kWatchers);

  const Clock::time_point start = Clock::now();
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-2"})")));
  const uint64_t want = ConsulIndex(agent().Get(target));
  ASSERT_GT(want, index);
  size_t woken = 0;
  for (std::future<Response>& w : watches) {
    Response r = w.get();
    EXPECT_TRUE(IsOk(r));
    woken += ConsulIndex(r) == want ? 1 : 0;
  }
  EXPECT_EQ(woken, kWatchers);
  EXPECT_LT(Clock::now() - start, kWakeWait / 2);
  EXPECT_EQ(Parked(), 0);
}

TEST_F(BlockingQueryTest, WatcherThatHangsUpIsDroppedAndServerKeepsServing) {
  const uint64_t index = ConsulIndex(agent().Get("/v1/health/service/web"));
  const double base = OpenConnections();
  {
    RawConnection conn;
    ASSERT_TRUE(conn.Connect(agent().port()).ok());
    ASSERT_TRUE(conn.Send("GET " + WithIndex("/v1/health/service/web", index, 60s) +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    .ok());
    AwaitParked(1);
  }  // hangs up while parked
  // The server notices and closes its side instead of holding the park for 60 s.
  EXPECT_TRUE(Eventually([&] { return Parked() == 0 && OpenConnections() <= base; }, 10s))
      << "parked: " << Parked() << ", open connections: " << OpenConnections() << ", want " << base;

  // Writes, reads and new blocking queries still work.
  Response before = agent().Get("/v1/health/service/web");
  std::future<Timed> watch = StartTimed(
      agent().port(), WithIndex("/v1/health/service/web", ConsulIndex(before), kWakeWait));
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-3"})")));
  Timed t = watch.get();
  ASSERT_TRUE(IsOk(t.response));
  EXPECT_GT(ConsulIndex(t.response), ConsulIndex(before));
}

// A request pipelined behind a parked query does not end the park early or get lost: the parked
// query answers on the change, then the second request is answered on the same connection.
TEST_F(BlockingQueryTest, PipelinedRequestBehindParkedQueryIsAnsweredAfterIt) {
  const uint64_t index = ConsulIndex(agent().Get("/v1/health/service/web"));
  RawConnection conn;
  ASSERT_TRUE(conn.Connect(agent().port()).ok());
  ASSERT_TRUE(conn.Send("GET " + WithIndex("/v1/health/service/web", index, 60s) +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                        "GET /v1/catalog/services HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Connection: close\r\n\r\n")
                  .ok());
  AwaitParked(1);
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-3"})")));
  const std::string both = conn.ReadUntilClose(10s);
  const size_t first = both.find("HTTP/1.1 200 OK\r\n");
  ASSERT_NE(first, std::string::npos) << both;
  const size_t second = both.find("HTTP/1.1 200 OK\r\n", first + 1);
  ASSERT_NE(second, std::string::npos) << both;
  // The parked query answered with the new instance, the pipelined one with the services list.
  EXPECT_NE(both.substr(first, second - first).find("\"web-3\""), std::string::npos) << both;
  EXPECT_NE(both.find("\"web\"", second), std::string::npos) << both;
  EXPECT_EQ(Parked(), 0);
}

TEST_F(BlockingQueryTest, ManyWatchersHangingUpAtOnceLeaveNoConnectionsBehind) {
  const uint64_t index = ConsulIndex(agent().Get("/v1/catalog/services"));
  const double base = OpenConnections();
  constexpr size_t kClients = 50;
  {
    std::vector<RawConnection> conns(kClients);
    for (RawConnection& c : conns) {
      ASSERT_TRUE(c.Connect(agent().port()).ok());
      ASSERT_TRUE(c.Send("GET " + WithIndex("/v1/catalog/services", index, 60s) +
                         " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                      .ok());
    }
    AwaitParked(kClients);
  }
  EXPECT_TRUE(Eventually([&] { return Parked() == 0 && OpenConnections() <= base; }, 10s))
      << "parked: " << Parked() << ", open connections: " << OpenConnections() << ", want " << base;
  EXPECT_TRUE(IsOk(agent().Get("/v1/catalog/services")));
}

}  // namespace
}  // namespace beacon::testutil
