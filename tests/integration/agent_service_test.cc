// /v1/agent/service/*, /v1/agent/services and maintenance mode over real HTTP
// (consul-api.md 4.1-4.4, 4.10).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testutil/agent/test_agent.h"

namespace beacon::testutil {
namespace {

constexpr char kRegister[] = "/v1/agent/service/register";

class AgentServiceTest : public AgentTest {
 protected:
  // "<CheckID>=<Status>" of every check in agent/checks, in ID order.
  std::vector<std::string> CheckStatuses() {
    JsonDoc doc = Json(agent().Get("/v1/agent/checks"));
    std::vector<std::string> out;
    for (const std::string& id : doc.Keys("")) {
      out.push_back(id + "=" + doc.Str("/" + PointerKey(id) + "/Status"));
    }
    return out;
  }
  // Service IDs of health/service/<name>?passing, in order.
  std::vector<std::string> PassingIds(const std::string& name) {
    return Json(agent().Get("/v1/health/service/" + name + "?passing")).Column("", "Service/ID");
  }
};

TEST_F(AgentServiceTest, AgentServicesIsEmptyObjectBeforeAnyRegistration) {
  Response r = agent().Get("/v1/agent/services");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, "{}");
}

TEST_F(AgentServiceTest, RegisterViaPutOrPostShowsEveryFieldInAgentServices) {
  for (const std::string method : {"PUT", "POST"}) {
    SCOPED_TRACE(method);
    const std::string id = "web-" + method;
    Response reg = agent().Request(method, kRegister, R"({"Name":"web","ID":")" + id + R"(",
        "Tags":["a","b"],"Port":8080,"Address":"10.0.0.1","Meta":{"env":"prod"},
        "EnableTagOverride":true})");
    ASSERT_TRUE(IsOk(reg));
    EXPECT_EQ(reg.body, "");

    Response r = agent().Get("/v1/agent/services");
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(r.Header("X-Consul-Index"), "");  // agent endpoints are not blocking (1.4)
    JsonDoc doc = Json(r);
    const std::string p = "/" + id;
    EXPECT_EQ(doc.Str(p + "/ID"), id);
    EXPECT_EQ(doc.Str(p + "/Service"), "web");
    EXPECT_EQ(doc.Raw(p + "/Tags"), R"(["a","b"])");
    EXPECT_EQ(doc.Str(p + "/Address"), "10.0.0.1");
    EXPECT_EQ(doc.Int(p + "/Port"), 8080);
    EXPECT_EQ(doc.Raw(p + "/Meta"), R"({"env":"prod"})");
    EXPECT_EQ(doc.Raw(p + "/Weights"), R"({"Passing":1,"Warning":1})");
    EXPECT_EQ(doc.Bool(p + "/EnableTagOverride"), true);
    EXPECT_EQ(doc.Str(p + "/Datacenter"), "dc1");
    // An IPv4 Address adds lan_ipv4 and wan_ipv4 tagged addresses (4.1).
    EXPECT_EQ(doc.Raw(p + "/TaggedAddresses"), R"({"lan_ipv4":{"Address":"10.0.0.1","Port":8080},)"
                                               R"("wan_ipv4":{"Address":"10.0.0.1","Port":8080}})");
    EXPECT_EQ(doc.Type(p + "/CreateIndex"), "missing");  // AgentService has no indexes
  }
}

TEST_F(AgentServiceTest, MinimalServiceHasEmptyCollectionsAndDefaultWeights) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"bare"})")));
  JsonDoc doc = Json(agent().Get("/v1/agent/services"));
  EXPECT_EQ(doc.Keys(""), std::vector<std::string>{"bare"});  // ID defaults to Name
  EXPECT_EQ(doc.Raw("/bare/Tags"), "[]");
  EXPECT_EQ(doc.Raw("/bare/Meta"), "{}");
  EXPECT_EQ(doc.Raw("/bare/Weights"), R"({"Passing":1,"Warning":1})");
  EXPECT_EQ(doc.Int("/bare/Port"), 0);
  EXPECT_EQ(doc.Str("/bare/Address"), "");
  EXPECT_EQ(doc.Type("/bare/TaggedAddresses"), "missing");  // omitted when empty
  EXPECT_EQ(doc.Type("/bare/Kind"), "missing");             // omitted when ""
}

TEST_F(AgentServiceTest, LowerCaseSnakeCaseAndNullKeysAreAccepted) {
  // python-consul sends lower-case keys; the Go client sends "Check":null,"Checks":null (1.2).
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"name":"py","id":"py-1","tags":["x"],"port":1,
      "enabletagoverride":true,"Meta":null,"Checks":null,
      "check":{"ttl":"10s","deregister_critical_service_after":"90m"}})")));
  JsonDoc doc = Json(agent().Get("/v1/agent/services"));
  EXPECT_EQ(doc.Str("/py-1/Service"), "py");
  EXPECT_EQ(doc.Raw("/py-1/Tags"), R"(["x"])");
  EXPECT_EQ(doc.Bool("/py-1/EnableTagOverride"), true);
  EXPECT_EQ(doc.Raw("/py-1/Meta"), "{}");
  JsonDoc checks = Json(agent().Get("/v1/agent/checks"));
  EXPECT_EQ(checks.Str("/service:py-1/Type"), "ttl");
}

TEST_F(AgentServiceTest, AgentServicesAndChecksHonourFilter) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Port":80,"Tags":["a"],
      "Check":{"TTL":"10m","Status":"warning"}})")));
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"db","Port":5432,"Meta":{"role":"primary"},
      "Check":{"TTL":"10m"}})")));
  struct Case {
    std::string target;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"/v1/agent/services?filter=Service%20==%20web", {"web"}},
      {"/v1/agent/services?filter=Meta.role%20==%20primary", {"db"}},
      {"/v1/agent/services?filter=a%20in%20Tags", {"web"}},
      {"/v1/agent/checks?filter=Status%20==%20warning", {"service:web"}},
      {"/v1/agent/checks?filter=ServiceName%20!=%20web", {"serfHealth", "service:db"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    Response r = agent().Get(c.target);
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(Json(r).Keys(""), c.want);
  }
}

TEST_F(AgentServiceTest, GetOneServiceCarriesContentHashInBodyAndHeader) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Port":80})")));
  Response r = agent().Get("/v1/agent/service/web");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("X-Consul-Index"), "");
  JsonDoc doc = Json(r);
  EXPECT_EQ(doc.Str("/ID"), "web");
  EXPECT_EQ(doc.Int("/Port"), 80);
  EXPECT_EQ(doc.Raw("/Weights"), R"({"Passing":1,"Warning":1})");
  EXPECT_FALSE(r.Header("X-Consul-ContentHash").empty());
  EXPECT_EQ(doc.Str("/ContentHash"), r.Header("X-Consul-ContentHash"));

  // The hash follows the definition.
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Port":81})")));
  EXPECT_NE(agent().Get("/v1/agent/service/web").Header("X-Consul-ContentHash"),
            r.Header("X-Consul-ContentHash"));
}

TEST_F(AgentServiceTest, GetUnknownServiceIs404) {
  EXPECT_TRUE(IsError(agent().Get("/v1/agent/service/nope"), 404, "unknown service ID: nope"));
}

TEST_F(AgentServiceTest, SingleEmbeddedCheckGetsIdServiceColonId) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-1","Tags":["t"],
      "Check":{"TTL":"30s"}})")));
  JsonDoc doc = Json(agent().Get("/v1/agent/checks"));
  const std::string p = "/service:web-1";
  EXPECT_EQ(doc.Str(p + "/CheckID"), "service:web-1");
  EXPECT_EQ(doc.Str(p + "/Name"), "Service 'web' check");
  EXPECT_EQ(doc.Str(p + "/Status"), "critical");  // new checks start critical
  EXPECT_EQ(doc.Str(p + "/Type"), "ttl");
  EXPECT_EQ(doc.Str(p + "/ServiceID"), "web-1");
  EXPECT_EQ(doc.Str(p + "/ServiceName"), "web");
  EXPECT_EQ(doc.Raw(p + "/ServiceTags"), R"(["t"])");
  EXPECT_EQ(doc.Str(p + "/Node"), "test-node");
}

TEST_F(AgentServiceTest, SeveralEmbeddedChecksGetNumberedIdsCheckFirst) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Check":{"TTL":"30s","Notes":"one"},
      "Checks":[{"TTL":"30s","Notes":"two"},{"TTL":"30s","Notes":"three","Status":"passing"}]})")));
  JsonDoc doc = Json(agent().Get("/v1/agent/checks"));
  EXPECT_EQ(doc.Str("/service:web:1/Notes"), "one");
  EXPECT_EQ(doc.Str("/service:web:2/Notes"), "two");
  EXPECT_EQ(doc.Str("/service:web:3/Notes"), "three");
  EXPECT_EQ(doc.Str("/service:web:3/Status"), "passing");  // initial Status honoured
}

TEST_F(AgentServiceTest, ReRegistrationKeepsCheckStatusAndOutput) {
  const std::string body = R"({"Name":"web","Tags":["v1"],"Check":{"TTL":"10m"}})";
  ASSERT_TRUE(IsOk(agent().Put(kRegister, body)));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/service:web?note=all%20good")));

  // Same definition, then a changed one: neither may flap the check back to critical.
  ASSERT_TRUE(IsOk(agent().Put(kRegister, body)));
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Tags":["v2"],
      "Check":{"TTL":"10m"}})")));
  JsonDoc doc = Json(agent().Get("/v1/agent/checks"));
  EXPECT_EQ(doc.Str("/service:web/Status"), "passing");
  EXPECT_EQ(doc.Str("/service:web/Output"), "all good");
  EXPECT_EQ(doc.Raw("/service:web/ServiceTags"), R"(["v2"])");
}

TEST_F(AgentServiceTest, ReRegistrationWithoutReplaceKeepsOldChecks) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Checks":[
      {"CheckID":"a","TTL":"10m"},{"CheckID":"b","TTL":"10m"}]})")));
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Checks":[
      {"CheckID":"a","TTL":"10m"}]})")));
  EXPECT_EQ(CheckStatuses(),
            (std::vector<std::string>{"a=critical", "b=critical", "serfHealth=passing"}));
}

TEST_F(AgentServiceTest, ReplaceExistingChecksDropsChecksNotInDefinition) {
  for (const std::string flag : {"", "=true", "=1"}) {
    SCOPED_TRACE("replace-existing-checks" + flag);
    ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Checks":[
        {"CheckID":"a","TTL":"10m"},{"CheckID":"b","TTL":"10m"}]})")));
    ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/a")));
    ASSERT_TRUE(IsOk(agent().Put(std::string(kRegister) + "?replace-existing-checks" + flag,
                                 R"({"Name":"web","Checks":[{"CheckID":"a","TTL":"10m"}]})")));
    // The kept check also keeps its status.
    EXPECT_EQ(CheckStatuses(), (std::vector<std::string>{"a=passing", "serfHealth=passing"}));
  }
}

TEST_F(AgentServiceTest, DeregisterViaPutPostOrLegacyGetRemovesServiceAndChecks) {
  for (const std::string method : {"PUT", "POST", "GET"}) {
    SCOPED_TRACE(method);
    ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Check":{"TTL":"10m"}})")));
    Response r = agent().Request(method, "/v1/agent/service/deregister/web");
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(agent().Get("/v1/agent/services").body, "{}");
    EXPECT_EQ(CheckStatuses(), std::vector<std::string>{"serfHealth=passing"});
    EXPECT_EQ(agent().Get("/v1/health/service/web").body, "[]");
  }
}

TEST_F(AgentServiceTest, DeregisterUnknownIdIs404WithConsulMessage) {
  EXPECT_TRUE(IsError(
      agent().Put("/v1/agent/service/deregister/nope"), 404,
      R"(Unknown service ID "nope". Ensure that the service ID is passed, not the service name.)"));
}

TEST_F(AgentServiceTest, IdWithSlashIsReachableRawAndPercentEncoded) {
  // node-consul encodes '/' as %2F; Patroni sends it raw (contract 1.1).
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"pg","ID":"batman/pg0"})")));
  EXPECT_EQ(Json(agent().Get("/v1/agent/services")).Str("/batman~1pg0/ID"), "batman/pg0");
  EXPECT_TRUE(IsOk(agent().Get("/v1/agent/service/batman%2Fpg0")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/service/deregister/batman%2Fpg0")));
  EXPECT_EQ(agent().Get("/v1/agent/services").body, "{}");

  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"pg","ID":"batman/pg0"})")));
  ASSERT_TRUE(IsOk(agent().Get("/v1/agent/service/deregister/batman/pg0")));
  EXPECT_EQ(agent().Get("/v1/agent/services").body, "{}");
}

TEST_F(AgentServiceTest, ServiceMaintenanceAddsCriticalCheckAndHidesInstance) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-1",
      "Check":{"TTL":"10m","Status":"passing"}})")));
  ASSERT_EQ(PassingIds("web"), std::vector<std::string>{"web-1"});

  Response on = agent().Put("/v1/agent/service/maintenance/web-1?enable=true&reason=upgrading");
  ASSERT_TRUE(IsOk(on));
  EXPECT_EQ(on.body, "");
  JsonDoc doc = Json(agent().Get("/v1/agent/checks"));
  const std::string p = "/_service_maintenance:web-1";
  EXPECT_EQ(doc.Str(p + "/Name"), "Service Maintenance Mode");
  EXPECT_EQ(doc.Str(p + "/Status"), "critical");
  EXPECT_EQ(doc.Str(p + "/Notes"), "upgrading");
  EXPECT_EQ(doc.Str(p + "/ServiceID"), "web-1");
  EXPECT_EQ(PassingIds("web"), std::vector<std::string>{});
  // Enabling twice is idempotent.
  ASSERT_TRUE(
      IsOk(agent().Put("/v1/agent/service/maintenance/web-1?enable=true&reason=upgrading")));

  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/service/maintenance/web-1?enable=false")));
  EXPECT_EQ(CheckStatuses(),
            (std::vector<std::string>{"serfHealth=passing", "service:web-1=passing"}));
  EXPECT_EQ(PassingIds("web"), std::vector<std::string>{"web-1"});
}

TEST_F(AgentServiceTest, ServiceMaintenanceWithoutReasonUsesDefaultNotes) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web"})")));
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/service/maintenance/web?enable=1")));
  EXPECT_EQ(Json(agent().Get("/v1/agent/checks")).Str("/_service_maintenance:web/Notes"),
            "Maintenance mode is enabled for this service, but no reason was provided. This is a "
            "default message.");
}

TEST_F(AgentServiceTest, NodeMaintenanceHidesEveryInstanceOfTheNode) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Check":{"TTL":"10m",
      "Status":"passing"}})")));
  ASSERT_EQ(PassingIds("web"), std::vector<std::string>{"web"});

  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/maintenance?enable=true")));
  JsonDoc doc = Json(agent().Get("/v1/agent/checks"));
  EXPECT_EQ(doc.Str("/_node_maintenance/Name"), "Node Maintenance Mode");
  EXPECT_EQ(doc.Str("/_node_maintenance/Status"), "critical");
  EXPECT_EQ(doc.Str("/_node_maintenance/ServiceID"), "");
  EXPECT_EQ(doc.Str("/_node_maintenance/Notes"),
            "Maintenance mode is enabled for this node, but no reason was provided. This is a "
            "default message.");
  EXPECT_EQ(PassingIds("web"), std::vector<std::string>{});

  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/maintenance?enable=false")));
  EXPECT_EQ(Json(agent().Get("/v1/agent/checks")).Type("/_node_maintenance"), "missing");
  EXPECT_EQ(PassingIds("web"), std::vector<std::string>{"web"});
}

TEST_F(AgentServiceTest, MaintenanceRejectsMissingOrInvalidEnable) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web"})")));
  struct Case {
    std::string target;
    int status;
    std::string message;
  };
  const Case cases[] = {
      {"/v1/agent/service/maintenance/web", 400, "Missing value for enable"},
      {"/v1/agent/service/maintenance/web?reason=x", 400, "Missing value for enable"},
      {"/v1/agent/service/maintenance/web?enable=maybe", 400,
       R"(Invalid value for enable: "maybe")"},
      {"/v1/agent/service/maintenance/web?enable=", 400, R"(Invalid value for enable: "")"},
      {"/v1/agent/maintenance", 400, "Missing value for enable"},
      {"/v1/agent/maintenance?enable=yes", 400, R"(Invalid value for enable: "yes")"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    EXPECT_TRUE(IsError(agent().Put(c.target), c.status, c.message));
  }
  EXPECT_EQ(CheckStatuses(), std::vector<std::string>{"serfHealth=passing"});
}

TEST_F(AgentServiceTest, MaintenanceOfUnknownServiceIs404) {
  EXPECT_EQ(agent().Put("/v1/agent/service/maintenance/nope?enable=true").status, 404);
  EXPECT_EQ(CheckStatuses(), std::vector<std::string>{"serfHealth=passing"});
}

}  // namespace
}  // namespace beacon::testutil
