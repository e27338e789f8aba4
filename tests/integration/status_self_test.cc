// /v1/status/*, /v1/agent/self, /v1/agent/members and the single-node no-op endpoints
// (consul-api.md 4.15-4.17 and section 8).
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>

#include "testutil/agent/test_agent.h"

namespace beacon::testutil {
namespace {

class StatusSelfTest : public AgentTest {};

TEST_F(StatusSelfTest, LeaderIsJsonStringOfServerAddress) {
  Response r = agent().Get("/v1/status/leader");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, R"("127.0.0.1:8300")");
}

TEST_F(StatusSelfTest, PeersListsTheOneServer) {
  Response r = agent().Get("/v1/status/peers");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, R"(["127.0.0.1:8300"])");
}

TEST_F(StatusSelfTest, SelfTopLevelValuesAreAllObjectsOrNull) {
  Response r = agent().Get("/v1/agent/self");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  JsonDoc doc = Json(r);
  ASSERT_TRUE(doc.ok()) << doc.error();
  ASSERT_EQ(doc.Type(""), "object");
  // Go clients (Prometheus) decode agent/self as a map of maps: a top-level string breaks them.
  for (const std::string& key : doc.Keys("")) {
    const std::string type = doc.Type("/" + PointerKey(key));
    EXPECT_TRUE(type == "object" || type == "null") << key << " is " << type;
  }
  for (const char* key : {"Config", "Member", "Meta", "Stats", "DebugConfig"}) {
    EXPECT_EQ(doc.Type(std::string("/") + key), "object") << key;
  }
  EXPECT_EQ(doc.Type("/Coord"), "null");
}

TEST_F(StatusSelfTest, SelfConfigDescribesThisAgent) {
  Response self = agent().Get("/v1/agent/self");
  ASSERT_TRUE(IsOk(self));
  JsonDoc doc = Json(self);
  EXPECT_EQ(doc.Str("/Config/Datacenter"), "dc1");
  EXPECT_EQ(doc.Str("/Config/PrimaryDatacenter"), "dc1");
  EXPECT_EQ(doc.Str("/Config/NodeName"), "test-node");
  EXPECT_EQ(doc.Str("/Config/Version"), agent::kConsulCompatVersion);
  EXPECT_EQ(doc.Bool("/Config/Server"), true);
  EXPECT_EQ(doc.Int("/Config/SessionTTLMin"), 10'000'000'000);  // read by Patroni
  EXPECT_EQ(doc.Bool("/DebugConfig/ConnectEnabled"), false);
  EXPECT_EQ(doc.Int("/DebugConfig/GRPCPort"), -1);
  EXPECT_EQ(doc.Str("/Member/Name"), "test-node");
  EXPECT_EQ(doc.Str("/Member/Tags/dc"), "dc1");
  EXPECT_EQ(doc.Raw("/Meta"), "{}");
  EXPECT_EQ(doc.Type("/Stats/agent"), "object");

  // NodeID is the UUID the catalog reports for this node.
  JsonDoc node = Json(agent().Get("/v1/catalog/node/test-node"));
  EXPECT_EQ(doc.Str("/Config/NodeID"), node.Str("/Node/ID"));
  EXPECT_EQ(doc.Str("/Member/Tags/id"), node.Str("/Node/ID"));
}

TEST_F(StatusSelfTest, SelfDebugConfigReportsTheHttpPortInUse) {
  JsonDoc doc = Json(agent().Get("/v1/agent/self"));
  EXPECT_EQ(doc.Int("/DebugConfig/HTTPPort"), agent().port());
}

TEST_F(StatusSelfTest, SelfHasNoBlockingHeaders) {
  Response r = agent().Get("/v1/agent/self");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("X-Consul-Index"), "");
  EXPECT_EQ(r.Header("X-Consul-KnownLeader"), "");
}

TEST_F(StatusSelfTest, MembersListsThisAgentAsAliveServer) {
  Response r = agent().Get("/v1/agent/members");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("X-Consul-Index"), "");
  JsonDoc doc = Json(r);
  ASSERT_EQ(doc.Size(""), 1u) << r.body;
  EXPECT_EQ(doc.Str("/0/Name"), "test-node");
  EXPECT_EQ(doc.Str("/0/Addr"), "127.0.0.1");
  EXPECT_EQ(doc.Int("/0/Port"), 8301);
  EXPECT_EQ(doc.Int("/0/Status"), 1);
  EXPECT_EQ(doc.Str("/0/Tags/role"), "consul");
  EXPECT_EQ(doc.Str("/0/Tags/dc"), "dc1");
  EXPECT_EQ(doc.Str("/0/Tags/port"), "8300");
  EXPECT_EQ(doc.Str("/0/Tags/bootstrap"), "1");
  EXPECT_EQ(doc.Str("/0/Tags/segment"), "");
  for (const auto& [field, value] : {std::pair<const char*, int>{"ProtocolMin", 1},
                                     {"ProtocolMax", 5},
                                     {"ProtocolCur", 2},
                                     {"DelegateMin", 2},
                                     {"DelegateMax", 5},
                                     {"DelegateCur", 4}}) {
    EXPECT_EQ(doc.Int(std::string("/0/") + field), value) << field;
  }
  // ?wan is accepted and gives the same list.
  EXPECT_EQ(agent().Get("/v1/agent/members?wan=1").body, r.body);
}

TEST_F(StatusSelfTest, MetricsDefaultToJsonInConsulsShape) {
  Response r = agent().Get("/v1/agent/metrics");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("X-Consul-Index"), "");
  JsonDoc doc = Json(r);
  ASSERT_TRUE(doc.ok()) << doc.error();
  EXPECT_TRUE(std::regex_match(doc.Str("/Timestamp"),
                               std::regex(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0000 UTC)")))
      << doc.Str("/Timestamp");
  for (const std::string list : {"Gauges", "Points", "Counters", "Samples"}) {
    EXPECT_EQ(doc.Type("/" + list), "array") << list;
  }
  ASSERT_GT(doc.Size("/Gauges").value_or(0), 0u);
  for (const std::string& name : doc.Column("/Gauges", "Name")) {
    EXPECT_TRUE(name.starts_with("consul.")) << name;
  }
  EXPECT_EQ(doc.Type("/Gauges/0/Value"), "number");
  EXPECT_EQ(doc.Type("/Gauges/0/Labels"), "object");
  for (const std::string list : {"Counters", "Samples"}) {
    if (doc.Size("/" + list).value_or(0) == 0) {
      continue;
    }
    for (const std::string field :
         {"Name", "Count", "Sum", "Min", "Max", "Mean", "Stddev", "Labels"}) {
      EXPECT_NE(doc.Type("/" + list + "/0/" + field), "missing") << list << " " << field;
    }
  }
}

TEST_F(StatusSelfTest, MetricsInPrometheusTextWhenAskedFor) {
  struct Case {
    std::string name;
    std::string target;
    std::map<std::string, std::string> headers;
  };
  const Case cases[] = {
      {"?format=prometheus", "/v1/agent/metrics?format=prometheus", {}},
      {"Accept openmetrics", "/v1/agent/metrics", {{"Accept", "application/openmetrics-text"}}},
      {"Accept text 0.0.4", "/v1/agent/metrics", {{"Accept", "text/plain;version=0.0.4"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Response r = agent().http().Request("GET", c.target, "", c.headers);
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(r.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(r.body.find("# TYPE consul_"), std::string::npos) << r.body.substr(0, 300);
  }
}

TEST_F(StatusSelfTest, SingleNodeNoOpsAnswerEmpty200) {
  struct Case {
    const char* method;
    const char* target;
  };
  const Case cases[] = {
      {"PUT", "/v1/agent/reload"},
      {"PUT", "/v1/agent/join/10.0.0.9"},
      {"GET", "/v1/agent/join/10.0.0.9"},  // python-consul 0.7.1 (contract 1.1)
      {"PUT", "/v1/agent/force-leave/other-node"},
      {"GET", "/v1/agent/force-leave/other-node"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target);
    Response r = agent().Request(c.method, c.target);
    EXPECT_TRUE(IsOk(r));
    EXPECT_EQ(r.body, "");
  }
}

}  // namespace
}  // namespace beacon::testutil
