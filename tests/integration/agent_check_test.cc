// /v1/agent/check/* and /v1/agent/checks over real HTTP: registration, TTL updates, TTL expiry
// and DeregisterCriticalServiceAfter reaping (consul-api.md 4.5-4.9, section 5).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testutil/agent/test_agent.h"
#include "testutil/eventually.h"

namespace beacon::testutil {
namespace {

using namespace std::chrono_literals;

constexpr char kRegisterCheck[] = "/v1/agent/check/register";
constexpr char kRegisterService[] = "/v1/agent/service/register";

class AgentCheckTest : public AgentTest {
 protected:
  // Some tests register TCP checks only to have a check that is not a TTL check; the agent must not
  // run them, or their status would change under the test.
  AgentCheckTest() { options_.run_checks = false; }

  // "<Status> <Output>" of one check from agent/checks, or "<missing>".
  std::string StatusOutput(const std::string& id) {
    JsonDoc doc = Json(agent().Get("/v1/agent/checks"));
    const std::string p = "/" + PointerKey(id);
    if (doc.Type(p) == "missing") {
      return "<missing>";
    }
    return doc.Str(p + "/Status") + " " + doc.Str(p + "/Output");
  }
  bool HasService(const std::string& id) {
    return Json(agent().Get("/v1/agent/services")).Type("/" + PointerKey(id)) != "missing";
  }
};

TEST_F(AgentCheckTest, AgentChecksListsSerfHealthOfTheNode) {
  Response r = agent().Get("/v1/agent/checks");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("X-Consul-Index"), "");
  JsonDoc doc = Json(r);
  EXPECT_EQ(doc.Keys(""), std::vector<std::string>{"serfHealth"});
  EXPECT_EQ(doc.Str("/serfHealth/Name"), "Serf Health Status");
  EXPECT_EQ(doc.Str("/serfHealth/Status"), "passing");
  EXPECT_EQ(doc.Str("/serfHealth/Output"), "Agent alive and reachable");
  EXPECT_EQ(doc.Str("/serfHealth/ServiceID"), "");
  EXPECT_EQ(doc.Raw("/serfHealth/ServiceTags"), "[]");
}

TEST_F(AgentCheckTest, RegisterNodeCheckViaPutOrPostHasHealthCheckShape) {
  for (const std::string method : {"PUT", "POST"}) {
    SCOPED_TRACE(method);
    const std::string name = "mem-" + method;
    Response r = agent().Request(method, kRegisterCheck,
                                 R"({"Name":")" + name + R"(","Notes":"n","TTL":"30s"})");
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(r.body, "");
    JsonDoc doc = Json(agent().Get("/v1/agent/checks"));
    const std::string p = "/" + name;  // ID defaults to Name
    EXPECT_EQ(doc.Str(p + "/Node"), "test-node");
    EXPECT_EQ(doc.Str(p + "/CheckID"), name);
    EXPECT_EQ(doc.Str(p + "/Name"), name);
    EXPECT_EQ(doc.Str(p + "/Status"), "critical");
    EXPECT_EQ(doc.Str(p + "/Notes"), "n");
    EXPECT_EQ(doc.Str(p + "/Output"), "");
    EXPECT_EQ(doc.Str(p + "/ServiceID"), "");
    EXPECT_EQ(doc.Str(p + "/ServiceName"), "");
    EXPECT_EQ(doc.Raw(p + "/ServiceTags"), "[]");
    EXPECT_EQ(doc.Str(p + "/Type"), "ttl");
    EXPECT_EQ(doc.Str(p + "/Interval"), "");
    EXPECT_EQ(doc.Str(p + "/Timeout"), "");
    EXPECT_EQ(doc.Int(p + "/ExposedPort"), 0);
    EXPECT_EQ(doc.Type(p + "/Definition"), "object");
    EXPECT_GT(doc.Int(p + "/CreateIndex").value_or(0), 0);
    EXPECT_EQ(doc.Int(p + "/ModifyIndex"), doc.Int(p + "/CreateIndex"));
  }
}

TEST_F(AgentCheckTest, RegisterCheckAcceptsIdOrCheckIdAndBindsToService) {
  ASSERT_TRUE(IsOk(agent().Put(kRegisterService, R"({"Name":"web","ID":"web-1","Tags":["x"]})")));
  ASSERT_TRUE(IsOk(
      agent().Put(kRegisterCheck, R"({"Name":"n1","ID":"c1","ServiceID":"web-1","TTL":"30s"})")));
  ASSERT_TRUE(IsOk(agent().Put(kRegisterCheck, R"({"Name":"n2","CheckID":"c2",
      "TCP":"127.0.0.1:1","Interval":"1h","Timeout":"1s","Status":"warning"})")));
  JsonDoc doc = Json(agent().Get("/v1/agent/checks"));
  EXPECT_EQ(doc.Str("/c1/ServiceID"), "web-1");
  EXPECT_EQ(doc.Str("/c1/ServiceName"), "web");
  EXPECT_EQ(doc.Raw("/c1/ServiceTags"), R"(["x"])");
  EXPECT_EQ(doc.Str("/c2/Name"), "n2");
  EXPECT_EQ(doc.Str("/c2/Type"), "tcp");
  EXPECT_EQ(doc.Str("/c2/Interval"), "1h0m0s");
  EXPECT_EQ(doc.Str("/c2/Timeout"), "1s");
  EXPECT_EQ(doc.Str("/c2/Status"), "warning");
  // The service's health now carries the check.
  JsonDoc health = Json(agent().Get("/v1/health/checks/web"));
  EXPECT_EQ(health.Column("", "CheckID"), std::vector<std::string>{"c1"});
}

TEST_F(AgentCheckTest, RegisterCheckRejectsBadInput) {
  struct Case {
    std::string body;
    int status;
    std::string message;
  };
  const Case cases[] = {
      {R"({"TTL":"30s"})", 400, "Missing check name"},
      {R"({"Name":"c","TTL":"30s","Status":"bogus"})", 400, "Bad check status"},
      {R"({"Name":"c","TTL":"30s","ServiceID":"nope"})", 404, R"(ServiceID "nope" does not exist)"},
      {R"({"Name":"c"})", 400, "Invalid check: TTL must be > 0 for TTL checks"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    EXPECT_TRUE(IsError(agent().Put(kRegisterCheck, c.body), c.status, c.message));
  }
  EXPECT_EQ(Json(agent().Get("/v1/agent/checks")).Keys(""), std::vector<std::string>{"serfHealth"});
}

TEST_F(AgentCheckTest, ReRegisteringCheckKeepsStatusAndOutput) {
  ASSERT_TRUE(IsOk(agent().Put(kRegisterCheck, R"({"Name":"mem","TTL":"10m"})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/warn/mem?note=high")));
  ASSERT_TRUE(IsOk(agent().Put(kRegisterCheck, R"({"Name":"mem","TTL":"10m","Notes":"new"})")));
  EXPECT_EQ(StatusOutput("mem"), "warning high");
  EXPECT_EQ(Json(agent().Get("/v1/agent/checks")).Str("/mem/Notes"), "new");
}

TEST_F(AgentCheckTest, DeregisterCheckViaPutPostOrLegacyGet) {
  for (const std::string method : {"PUT", "POST", "GET"}) {
    SCOPED_TRACE(method);
    ASSERT_TRUE(IsOk(agent().Put(kRegisterCheck, R"({"Name":"mem","TTL":"10m"})")));
    Response r = agent().Request(method, "/v1/agent/check/deregister/mem");
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(StatusOutput("mem"), "<missing>");
  }
}

TEST_F(AgentCheckTest, DeregisterUnknownCheckIs404WithConsulMessage) {
  EXPECT_TRUE(IsError(
      agent().Put("/v1/agent/check/deregister/nope"), 404,
      R"(Unknown check ID "nope". Ensure that the check ID is passed, not the check name.)"));
}

TEST_F(AgentCheckTest, PassWarnFailSetStatusAndNoteViaEveryMethod) {
  ASSERT_TRUE(IsOk(agent().Put(kRegisterCheck, R"({"Name":"ttl","TTL":"10m"})")));
  struct Case {
    std::string method;
    std::string verb;
    std::string want_status;
  };
  const Case cases[] = {
      {"PUT", "pass", "passing"},  {"PUT", "warn", "warning"},  {"PUT", "fail", "critical"},
      {"POST", "pass", "passing"}, {"POST", "warn", "warning"}, {"POST", "fail", "critical"},
      {"GET", "pass", "passing"},  {"GET", "warn", "warning"},  {"GET", "fail", "critical"},
  };
  for (const Case& c : cases) {
    const std::string note = c.method + "-" + c.verb;
    SCOPED_TRACE(note);
    Response r = agent().Request(c.method, "/v1/agent/check/" + c.verb + "/ttl?note=" + note);
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(StatusOutput("ttl"), c.want_status + " " + note);
  }
  // No note: Output becomes empty.
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/ttl")));
  EXPECT_EQ(StatusOutput("ttl"), "passing ");
}

TEST_F(AgentCheckTest, NoteIsUrlDecoded) {
  ASSERT_TRUE(IsOk(agent().Put(kRegisterCheck, R"({"Name":"ttl","TTL":"10m"})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/warn/ttl?note=disk%2090%25+full")));
  EXPECT_EQ(StatusOutput("ttl"), "warning disk 90% full");
}

TEST_F(AgentCheckTest, UpdateSetsStatusAndOutputFromBody) {
  ASSERT_TRUE(IsOk(agent().Put(kRegisterCheck, R"({"Name":"ttl","TTL":"10m"})")));
  for (const std::string method : {"PUT", "POST"}) {
    SCOPED_TRACE(method);
    ASSERT_TRUE(IsOk(agent().Request(method, "/v1/agent/check/update/ttl",
                                     R"({"Status":"warning","Output":"slow )" + method + "\"}")));
    EXPECT_EQ(StatusOutput("ttl"), "warning slow " + method);
  }
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/update/ttl", R"({"status":"passing"})")));
  EXPECT_EQ(StatusOutput("ttl"), "passing ");
}

TEST_F(AgentCheckTest, UpdateRejectsUnknownStatus) {
  ASSERT_TRUE(IsOk(agent().Put(kRegisterCheck, R"({"Name":"ttl","TTL":"10m"})")));
  EXPECT_TRUE(IsError(agent().Put("/v1/agent/check/update/ttl", R"({"Status":"bogus"})"), 400,
                      "Invalid check status: 'bogus'"));
  EXPECT_TRUE(IsError(agent().Put("/v1/agent/check/update/ttl", R"({"Output":"x"})"), 400,
                      "Invalid check status: ''"));
  EXPECT_EQ(StatusOutput("ttl"), "critical ");
}

TEST_F(AgentCheckTest, UpdateOutputIsTruncatedToOutputMaxSize) {
  ASSERT_TRUE(IsOk(agent().Put(kRegisterCheck, R"({"Name":"ttl","TTL":"10m",
      "OutputMaxSize":8})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/update/ttl",
                               R"({"Status":"passing","Output":"0123456789abcdef"})")));
  EXPECT_EQ(StatusOutput("ttl"), "passing 01234567");
}

TEST_F(AgentCheckTest, BareServiceIdAddressesItsOnlyTtlCheck) {
  ASSERT_TRUE(IsOk(agent().Put(kRegisterService, R"({"Name":"hb","Check":{"CheckID":"hb-ttl",
      "TTL":"10m"}})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/hb?note=beat")));
  EXPECT_EQ(StatusOutput("hb-ttl"), "passing beat");

  // With two TTL checks the bare service ID is ambiguous: unknown check.
  ASSERT_TRUE(IsOk(agent().Put(kRegisterService, R"({"Name":"two","Checks":[{"TTL":"10m"},
      {"TTL":"10m"}]})")));
  EXPECT_TRUE(IsError(
      agent().Put("/v1/agent/check/pass/two"), 404,
      R"(Unknown check ID "two". Ensure that the check ID is passed, not the check name.)"));
}

TEST_F(AgentCheckTest, TtlUpdateOfNonTtlCheckIs500WithConsulMessage) {
  ASSERT_TRUE(IsOk(agent().Put(kRegisterCheck, R"({"Name":"tcp1","TCP":"127.0.0.1:1",
      "Interval":"1h"})")));
  // Spring Cloud Consul matches this text and re-registers (contract 4.8).
  for (const std::string verb : {"pass", "warn", "fail"}) {
    SCOPED_TRACE(verb);
    EXPECT_TRUE(IsError(agent().Put("/v1/agent/check/" + verb + "/tcp1"), 500,
                        R"(CheckID "tcp1" does not have associated TTL)"));
  }
  EXPECT_TRUE(IsError(agent().Put("/v1/agent/check/update/tcp1", R"({"Status":"passing"})"), 500,
                      R"(CheckID "tcp1" does not have associated TTL)"));
  EXPECT_TRUE(IsError(agent().Put("/v1/agent/check/pass/serfHealth"), 500,
                      R"(CheckID "serfHealth" does not have associated TTL)"));
}

TEST_F(AgentCheckTest, TtlUpdateOfUnknownCheckIs404) {
  for (const std::string verb : {"pass", "warn", "fail"}) {
    SCOPED_TRACE(verb);
    EXPECT_TRUE(IsError(
        agent().Put("/v1/agent/check/" + verb + "/nope"), 404,
        R"(Unknown check ID "nope". Ensure that the check ID is passed, not the check name.)"));
  }
  EXPECT_TRUE(IsError(
      agent().Put("/v1/agent/check/update/nope", R"({"Status":"passing"})"), 404,
      R"(Unknown check ID "nope". Ensure that the check ID is passed, not the check name.)"));
}

TEST_F(AgentCheckTest, TtlExpiresToCriticalWithTtlExpiredOutput) {
  ASSERT_TRUE(IsOk(agent().Put(kRegisterService, R"({"Name":"web","Check":{"TTL":"1s"}})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/service:web?note=last%20words")));
  ASSERT_EQ(StatusOutput("service:web"), "passing last words");

  ASSERT_TRUE(
      Eventually([&] { return StatusOutput("service:web").starts_with("critical "); }, 10s, 50ms))
      << StatusOutput("service:web");
  const std::string output = Json(agent().Get("/v1/agent/checks")).Str("/service:web/Output");
  EXPECT_TRUE(output.starts_with("TTL expired")) << output;
  EXPECT_NE(output.find("last words"), std::string::npos) << output;

  // An update after expiry brings the check back.
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/service:web")));
  EXPECT_EQ(StatusOutput("service:web"), "passing ");
}

TEST_F(AgentCheckTest, CriticalServiceIsReapedAfterDeregisterCriticalServiceAfter) {
  // 100ms is below the agent's floor (500ms in TestAgent); the service still goes.
  ASSERT_TRUE(IsOk(agent().Put(kRegisterService, R"({"Name":"keep","Check":{"TTL":"10m",
      "Status":"passing","DeregisterCriticalServiceAfter":"100ms"}})")));
  ASSERT_TRUE(IsOk(agent().Put(kRegisterService, R"({"Name":"doomed","Check":{"TTL":"10m",
      "DeregisterCriticalServiceAfter":"100ms"}})")));
  ASSERT_TRUE(HasService("doomed"));

  ASSERT_TRUE(Eventually([&] { return !HasService("doomed"); }, 10s, 50ms));
  EXPECT_EQ(StatusOutput("service:doomed"), "<missing>");
  EXPECT_EQ(agent().Get("/v1/health/service/doomed").body, "[]");
  // The passing service with the same setting went through the same reaper runs and stays.
  EXPECT_TRUE(HasService("keep"));
}

TEST_F(AgentCheckTest, ServiceTurningCriticalLaterIsReapedToo) {
  ASSERT_TRUE(IsOk(agent().Put(kRegisterService, R"({"Name":"flaky","Check":{"TTL":"10m",
      "Status":"passing","DeregisterCriticalServiceAfter":"1ms"}})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/fail/service:flaky")));
  ASSERT_TRUE(Eventually([&] { return !HasService("flaky"); }, 10s, 50ms));
}

}  // namespace
}  // namespace beacon::testutil
