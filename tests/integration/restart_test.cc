// Restart: stop the agent and start a new one on the same data directory, as a process restart
// would (consul-api.md 2.1: the index never goes backwards; section 5: TTL deadlines survive).
// Everything acknowledged before the stop must be there after the start.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testutil/agent/test_agent.h"
#include "testutil/eventually.h"

namespace beacon::testutil {
namespace {

using namespace std::chrono_literals;

constexpr char kRegister[] = "/v1/agent/service/register";

class RestartTest : public AgentTest {
 protected:
  // A TCP check's status must survive the restart as it was, not as a probe of it would set it.
  RestartTest() { options_.run_checks = false; }

  // Services, tags, checks, statuses and outputs as one readable string.
  std::string Summary() {
    std::string out;
    JsonDoc services = Json(agent().Get("/v1/agent/services"));
    for (const std::string& id : services.Keys("")) {
      const std::string p = "/" + PointerKey(id);
      out += "service " + id + " name=" + services.Str(p + "/Service") +
             " tags=" + services.Raw(p + "/Tags") + " port=" + services.Raw(p + "/Port") +
             " meta=" + services.Raw(p + "/Meta") + "\n";
    }
    JsonDoc checks = Json(agent().Get("/v1/agent/checks"));
    for (const std::string& id : checks.Keys("")) {
      const std::string p = "/" + PointerKey(id);
      out += "check " + id + " service=" + checks.Str(p + "/ServiceID") +
             " type=" + checks.Str(p + "/Type") + " status=" + checks.Str(p + "/Status") +
             " output=" + checks.Str(p + "/Output") + " notes=" + checks.Str(p + "/Notes") + "\n";
    }
    JsonDoc ext = Json(agent().Get("/v1/health/service/redis"));
    out += "redis " + ext.Raw("/0/Node/Node") + " " + ext.Raw("/0/Node/Meta") + " " +
           ext.Raw("/0/Service/Tags") + " " + ext.Raw("/0/Checks/0/Status") + " " +
           ext.Raw("/0/Checks/0/Output") + "\n";
    return out;
  }
};

TEST_F(RestartTest, ServicesChecksStatusesAndOutputsSurvive) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-1","Tags":["a","b"],
      "Port":8080,"Meta":{"v":"1"},"Check":{"TTL":"10m","Notes":"heartbeat"}})")));
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-2","Port":8081,
      "Checks":[{"TTL":"10m"},{"TTL":"10m"}]})")));
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"db","Check":{"TCP":"127.0.0.1:1",
      "Interval":"1h","Status":"passing"}})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/register", R"({"Name":"disk","TTL":"10m"})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/service:web-1?note=one%20ok")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/warn/service:web-2:1?note=slowish")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/fail/service:web-2:2?note=down")));
  ASSERT_TRUE(IsOk(
      agent().Put("/v1/agent/check/update/disk", R"({"Status":"warning","Output":"85% full"})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/service/maintenance/db?enable=true&reason=moving")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/register", R"({"Node":"ext-1","Address":"10.1.1.1",
      "NodeMeta":{"rack":"r1"},"Service":{"Service":"redis","Tags":["primary"],"Port":6379},
      "Check":{"Name":"redis-alive","Status":"passing","Output":"PONG","ServiceID":"redis"}})")));
  const std::string before = Summary();
  ASSERT_NE(before.find("status=warning output=slowish"), std::string::npos) << before;

  ASSERT_TRUE(agent().Restart().ok());
  EXPECT_EQ(Summary(), before);
  // The restarted agent is fully usable.
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/service:web-2:2")));
  EXPECT_EQ(Json(agent().Get("/v1/agent/checks")).Str("/service:web-2:2/Status"), "passing");
}

TEST_F(RestartTest, RestartTwiceKeepsEverything) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Check":{"TTL":"10m"}})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/warn/service:web?note=w")));
  const std::string before = Summary();
  ASSERT_TRUE(agent().Restart().ok());
  ASSERT_TRUE(agent().Restart().ok());
  EXPECT_EQ(Summary(), before);
}

TEST_F(RestartTest, NodeIdSurvives) {
  const std::string id = Json(agent().Get("/v1/catalog/node/test-node")).Str("/Node/ID");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(agent().Restart().ok());
  EXPECT_EQ(Json(agent().Get("/v1/catalog/node/test-node")).Str("/Node/ID"), id);
  EXPECT_EQ(Json(agent().Get("/v1/agent/self")).Str("/Config/NodeID"), id);
}

TEST_F(RestartTest, IndexesDoNotGoBackwards) {
  // Writes whose effects are removals: the index of what remains must still not go backwards.
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-1","Check":{"TTL":"10m"}})")));
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-2","Check":{"TTL":"10m"}})")));
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"gone"})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/register", R"({"Name":"disk","TTL":"10m"})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/register", R"({"Node":"ext-1",
      "Address":"10.1.1.1","Service":{"Service":"web","ID":"web-ext"}})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/service:web-1")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/service/deregister/web-2")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/service/deregister/gone")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/deregister/disk")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/deregister", R"({"Node":"ext-1"})")));

  const std::vector<std::string> targets = {
      "/v1/health/service/web",     "/v1/catalog/service/web",   "/v1/health/checks/web",
      "/v1/health/service/gone",    "/v1/catalog/services",      "/v1/catalog/nodes",
      "/v1/catalog/node/test-node", "/v1/health/node/test-node", "/v1/catalog/node/ext-1",
      "/v1/health/state/any",       "/v1/health/state/passing",
  };
  std::vector<uint64_t> before;
  for (const std::string& target : targets) {
    before.push_back(ConsulIndex(agent().Get(target)));
  }
  ASSERT_TRUE(agent().Restart().ok());
  for (size_t i = 0; i < targets.size(); ++i) {
    SCOPED_TRACE(targets[i]);
    const uint64_t after = ConsulIndex(agent().Get(targets[i]));
    EXPECT_GE(after, before[i]);
  }
}

TEST_F(RestartTest, WritesAfterRestartTakeHigherIndexes) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-1"})")));
  const uint64_t before = ConsulIndex(agent().Get("/v1/catalog/services"));
  ASSERT_TRUE(agent().Restart().ok());
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"api"})")));
  EXPECT_GT(ConsulIndex(agent().Get("/v1/catalog/services")), before);
  EXPECT_GT(Json(agent().Get("/v1/catalog/service/api")).Int("/0/CreateIndex").value_or(0),
            static_cast<int64_t>(before));
}

TEST_F(RestartTest, TtlCheckStillExpiresAfterRestart) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Check":{"TTL":"1s"}})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/service:web?note=alive")));
  ASSERT_TRUE(agent().Restart().ok());
  ASSERT_TRUE(Eventually(
      [&] {
        return Json(agent().Get("/v1/agent/checks")).Str("/service:web/Status") == "critical";
      },
      10s, 50ms));
  EXPECT_TRUE(
      Json(agent().Get("/v1/agent/checks")).Str("/service:web/Output").starts_with("TTL expired"));
}

}  // namespace
}  // namespace beacon::testutil
