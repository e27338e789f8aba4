// Wire basics shared by every read endpoint of src/http/api.cc's route table (consul-api.md 1.3,
// 1.4): JSON with Content-Type application/json, ?pretty, and the X-Consul-* headers on blocking
// reads only.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testutil/agent/test_agent.h"

namespace beacon::testutil {
namespace {

struct ReadCase {
  std::string target;
  bool blocking;
};

// Every GET route, with a resource that exists (and, for service and node reads, one that does
// not), after WireBasicsTest::SetUp's registrations.
const std::vector<ReadCase>& ReadCases() {
  static const std::vector<ReadCase> cases = {
      {"/v1/agent/services", false},        {"/v1/agent/service/web-1", false},
      {"/v1/agent/checks", false},          {"/v1/agent/self", false},
      {"/v1/agent/members", false},         {"/v1/health/service/web", true},
      {"/v1/health/service/nope", true},    {"/v1/health/checks/web", true},
      {"/v1/health/state/any", true},       {"/v1/health/state/bogus", true},
      {"/v1/health/node/test-node", true},  {"/v1/catalog/services", true},
      {"/v1/catalog/service/web", true},    {"/v1/catalog/nodes", true},
      {"/v1/catalog/node/test-node", true}, {"/v1/catalog/node/nope", true},
      {"/v1/catalog/datacenters", false},   {"/v1/status/leader", false},
      {"/v1/status/peers", false},
  };
  return cases;
}

class WireBasicsTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    ASSERT_TRUE(IsOk(agent().Put("/v1/agent/service/register", R"({"Name":"web","ID":"web-1",
        "Tags":["a"],"Meta":{"k":"v"},"Check":{"TTL":"10m"}})")));
  }
};

TEST_F(WireBasicsTest, EveryReadAnswersJsonWithContentType) {
  for (const ReadCase& c : ReadCases()) {
    SCOPED_TRACE(c.target);
    Response r = agent().Get(c.target);
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(r.Header("Content-Type"), "application/json");
    JsonDoc doc = Json(r);
    EXPECT_TRUE(doc.ok()) << doc.error();
  }
}

TEST_F(WireBasicsTest, BlockingReadsCarryIndexHeadersAndOthersDoNot) {
  for (const ReadCase& c : ReadCases()) {
    SCOPED_TRACE(c.target);
    Response r = agent().Get(c.target);
    ASSERT_TRUE(IsOk(r));
    if (c.blocking) {
      EXPECT_GT(ConsulIndex(r), 0u) << "X-Consul-Index: " << r.Header("X-Consul-Index");
      EXPECT_EQ(r.Header("X-Consul-KnownLeader"), "true");
      EXPECT_EQ(r.Header("X-Consul-LastContact"), "0");
      EXPECT_EQ(r.Header("X-Consul-Effective-Consistency"), "leader");
    } else {
      EXPECT_EQ(r.Header("X-Consul-Index"), "");
      EXPECT_EQ(r.Header("X-Consul-KnownLeader"), "");
      EXPECT_EQ(r.Header("X-Consul-LastContact"), "");
    }
  }
}

TEST_F(WireBasicsTest, PrettyIndentsTheSameJsonWithTrailingNewline) {
  for (const ReadCase& c : ReadCases()) {
    SCOPED_TRACE(c.target);
    Response compact = agent().Get(c.target);
    Response pretty = agent().Get(c.target + "?pretty");
    ASSERT_TRUE(IsOk(compact));
    ASSERT_TRUE(IsOk(pretty));
    EXPECT_EQ(pretty.Header("Content-Type"), "application/json");
    EXPECT_TRUE(pretty.body.ends_with("\n")) << pretty.body.substr(0, 120);
    EXPECT_EQ(compact.body.find('\n'), std::string::npos) << compact.body;
    const std::string type = Json(compact).Type("");
    if ((type == "object" || type == "array") && Json(compact).Size("").value_or(0) > 0) {
      EXPECT_NE(pretty.body.find("\n    "), std::string::npos) << pretty.body.substr(0, 120);
    }
    // Same document (agent/self's Stats and the metrics move between two reads: compare shape).
    if (c.target == "/v1/agent/self" || c.target == "/v1/agent/metrics") {
      EXPECT_EQ(Json(pretty).Keys(""), Json(compact).Keys(""));
    } else {
      EXPECT_EQ(Json(pretty).Raw(""), Json(compact).Raw(""));
    }
  }
}

TEST_F(WireBasicsTest, PrettyAcceptsAnyValue) {
  // ?pretty is a presence flag (1.6): its value is ignored.
  for (const std::string query : {"?pretty", "?pretty=", "?pretty=false", "?pretty=1"}) {
    SCOPED_TRACE(query);
    EXPECT_TRUE(agent().Get("/v1/health/service/web" + query).body.ends_with("]\n"));
  }
}

TEST_F(WireBasicsTest, AcceptedButIgnoredParametersChangeNothing) {
  // Enterprise, mesh and routing parameters and tokens are accepted and ignored (1.5, 1.6).
  const Response plain = agent().Get("/v1/health/service/web");
  ASSERT_TRUE(IsOk(plain));
  for (const std::string query :
       {"?near=_agent", "?ns=default", "?partition=default", "?peer=", "?token=secret",
        "?merge-central-config", "?cached", "?dc=dc1", "?leader", "?wan=1"}) {
    SCOPED_TRACE(query);
    Response r = agent().Get("/v1/health/service/web" + query);
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(r.body, plain.body);
  }
}

TEST_F(WireBasicsTest, InvalidFilterIs400OnEveryFilterableEndpoint) {
  // Issue #2 overrides contract 1.3 and 1.6: a filter parse or selector error is bad input, a
  // 400 whose one-line message names the offending token.
  for (const std::string path :
       {"/v1/agent/services", "/v1/agent/checks", "/v1/health/service/web", "/v1/health/checks/web",
        "/v1/health/state/any", "/v1/health/node/test-node", "/v1/catalog/services",
        "/v1/catalog/service/web", "/v1/catalog/nodes"}) {
    SCOPED_TRACE(path);
    Response r = agent().Get(path + "?filter=Bogus%20==%201");
    EXPECT_EQ(r.status, 400) << r.ToString();
    EXPECT_EQ(r.Header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_NE(r.body.find("\"Bogus\""), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find('\n'), std::string::npos) << r.body;
  }
}

TEST_F(WireBasicsTest, KeepAliveConnectionServesManyRequests) {
  // One HttpClient connection carries every request of a test; make that explicit once.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(IsOk(agent().Get("/v1/health/service/web"))) << i;
  }
  EXPECT_EQ(agent().Gauge("consul.http.open_connections"), 1);
}

}  // namespace
}  // namespace beacon::testutil
