// The client library (include/beacon/client.h) against a real agent on loopback: registration
// with checks, TTL updates, health reads with passing/tags/filter, blocking queries and their
// metadata, the other reads, and errors as the agent words them.
#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "beacon/client.h"
#include "testutil/agent/test_agent.h"
#include "testutil/eventually.h"
#include "testutil/free_port.h"

namespace beacon::client {
namespace {

using namespace std::chrono_literals;
using testutil::AgentTest;

class ClientApiTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    auto c = Client::Create({.address = "127.0.0.1:" + std::to_string(agent().port())});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
  }

  ServiceRegistration Web(std::string id, std::vector<std::string> tags, std::string region) {
    ServiceRegistration s;
    s.id = std::move(id);
    s.name = "web";
    s.tags = std::move(tags);
    s.address = "127.0.0.1";
    s.port = 8080;
    s.meta = {{"region", std::move(region)}};
    CheckDefinition ttl;
    ttl.ttl = 10min;
    s.checks = {ttl};
    return s;
  }

  std::vector<std::string> Ids(const std::vector<ServiceEntry>& entries) {
    std::vector<std::string> ids;
    for (const ServiceEntry& e : entries) {
      ids.push_back(e.service.id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::unique_ptr<Client> client_;
};

TEST_F(ClientApiTest, RegisterDiscoverAndDeregister) {
  ASSERT_TRUE(client_->RegisterService(Web("web-1", {"v1"}, "east")).ok());
  ASSERT_TRUE(client_->RegisterService(Web("web-2", {"v2"}, "west")).ok());

  auto all = client_->HealthService("web", {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Ids(all->value), (std::vector<std::string>{"web-1", "web-2"}));
  EXPECT_GT(all->meta.last_index, 0u);
  EXPECT_TRUE(all->meta.known_leader);
  const ServiceEntry& e = all->value[0];
  EXPECT_EQ(e.node.node, "test-node");
  EXPECT_EQ(e.service.meta.count("region"), 1u);
  // The TTL check starts critical; serfHealth passes.
  EXPECT_EQ(e.AggregatedStatus(), HealthStatus::kCritical);
  ASSERT_EQ(e.checks.size(), 2u);

  auto services = client_->CatalogServices();
  ASSERT_TRUE(services.ok());
  EXPECT_EQ(services->value.at("web"), (std::vector<std::string>{"v1", "v2"}));
  auto agent_services = client_->AgentServices();
  ASSERT_TRUE(agent_services.ok());
  EXPECT_EQ(agent_services->count("web-1"), 1u);

  ASSERT_TRUE(client_->DeregisterService("web-2").ok());
  auto after = client_->HealthService("web", {});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Ids(after->value), (std::vector<std::string>{"web-1"}));
  EXPECT_GT(after->meta.last_index, all->meta.last_index);

  Status again = client_->DeregisterService("web-2");
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_NE(again.message().find("Unknown service ID \"web-2\""), std::string::npos)
      << again.message();
}

TEST_F(ClientApiTest, TtlUpdatesDecideWhatPassingReturns) {
  ASSERT_TRUE(client_->RegisterService(Web("web-1", {"v1"}, "east")).ok());
  ASSERT_TRUE(client_->RegisterService(Web("web-2", {"v2"}, "west")).ok());
  HealthServiceOptions passing{.passing_only = true};
  EXPECT_TRUE(client_->HealthService("web", passing)->value.empty());

  ASSERT_TRUE(client_->PassTtl("service:web-1", "fine").ok());
  ASSERT_TRUE(client_->WarnTtl("service:web-2", "slow").ok());
  EXPECT_EQ(Ids(client_->HealthService("web", passing)->value),
            (std::vector<std::string>{"web-1"}));
  auto checks = client_->AgentChecks();
  ASSERT_TRUE(checks.ok());
  EXPECT_EQ(checks->at("service:web-1").status, HealthStatus::kPassing);
  EXPECT_EQ(checks->at("service:web-1").output, "fine");
  EXPECT_EQ(checks->at("service:web-2").status, HealthStatus::kWarning);

  ASSERT_TRUE(client_->PassTtl("service:web-2").ok());
  ASSERT_TRUE(client_->FailTtl("service:web-1", "down").ok());
  EXPECT_EQ(Ids(client_->HealthService("web", passing)->value),
            (std::vector<std::string>{"web-2"}));

  EXPECT_EQ(client_->PassTtl("no-such-check").code(), StatusCode::kNotFound);
}

TEST_F(ClientApiTest, TagsAndFilterNarrowTheAnswer) {
  ASSERT_TRUE(client_->RegisterService(Web("web-1", {"v1", "primary"}, "east")).ok());
  ASSERT_TRUE(client_->RegisterService(Web("web-2", {"v1"}, "west")).ok());
  ASSERT_TRUE(client_->RegisterService(Web("web-3", {"v2"}, "east")).ok());
  EXPECT_EQ(Ids(client_->HealthService("web", {.tags = {"v1"}})->value),
            (std::vector<std::string>{"web-1", "web-2"}));
  EXPECT_EQ(Ids(client_->HealthService("web", {.tags = {"v1", "primary"}})->value),
            (std::vector<std::string>{"web-1"}));
  QueryOptions east;
  east.filter = "Service.Meta.region == \"east\"";
  EXPECT_EQ(Ids(client_->HealthService("web", {}, east)->value),
            (std::vector<std::string>{"web-1", "web-3"}));
  QueryOptions bad;
  bad.filter = "Service.Nope ==";
  EXPECT_FALSE(client_->HealthService("web", {}, bad).ok());
  EXPECT_TRUE(client_->HealthService("unknown", {})->value.empty());
}

TEST_F(ClientApiTest, BlockingQueryWaitsForAChange) {
  ASSERT_TRUE(client_->RegisterService(Web("web-1", {"v1"}, "east")).ok());
  auto first = client_->HealthService("web", {});
  ASSERT_TRUE(first.ok());
  const uint64_t index = first->meta.last_index;

  // Nothing changes: the query returns at its wait with the same index.
  QueryOptions q;
  q.wait_index = index;
  q.wait_time = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto unchanged = client_->HealthService("web", {}, q);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  EXPECT_EQ(unchanged->meta.last_index, index);

  // A registration wakes a parked query long before its wait.
  q.wait_time = 30s;
  auto parked =
      std::async(std::launch::async, [&] { return client_->HealthService("web", {}, q); });
  ASSERT_EQ(parked.wait_for(100ms), std::future_status::timeout);
  ASSERT_TRUE(client_->RegisterService(Web("web-2", {"v2"}, "west")).ok());
  ASSERT_EQ(parked.wait_for(10s), std::future_status::ready);
  auto woken = parked.get();
  ASSERT_TRUE(woken.ok()) << woken.status().ToString();
  EXPECT_GT(woken->meta.last_index, index);
  EXPECT_EQ(Ids(woken->value), (std::vector<std::string>{"web-1", "web-2"}));

  // A stop token cancels a parked query.
  std::stop_source stop;
  q.wait_index = woken->meta.last_index;
  q.stop = stop.get_token();
  auto cancelled =
      std::async(std::launch::async, [&] { return client_->HealthService("web", {}, q); });
  ASSERT_EQ(cancelled.wait_for(100ms), std::future_status::timeout);
  stop.request_stop();
  ASSERT_EQ(cancelled.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(cancelled.get().status().code(), StatusCode::kCancelled);
  // The client still works afterwards (the cancelled connection was not pooled).
  EXPECT_TRUE(client_->HealthService("web", {}).ok());
}

TEST_F(ClientApiTest, OtherReads) {
  auto members = client_->Members();
  ASSERT_TRUE(members.ok()) << members.status().ToString();
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].name, "test-node");
  EXPECT_EQ((*members)[0].StatusName(), "alive");
  auto leader = client_->Leader();
  ASSERT_TRUE(leader.ok());
  EXPECT_FALSE(leader->empty());
  auto metrics = client_->Metrics();
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_FALSE(metrics->gauges.empty());
}

TEST_F(ClientApiTest, BadRegistrationIsInvalidArgument) {
  ServiceRegistration s = Web("web-1", {}, "east");
  s.weights.passing = 0;
  Status st = client_->RegisterService(s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("Invalid Weights"), std::string::npos) << st.message();
}

TEST(ClientUnreachable, ConnectionRefusedIsUnavailable) {
  // A port nobody listens on: take a free one and do not bind it.
  uint16_t port = testutil::FreePort();
  auto c = Client::Create({.address = "127.0.0.1:" + std::to_string(port), .timeout = 2s});
  ASSERT_TRUE(c.ok());
  auto r = (*c)->CatalogServices();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace beacon::client
