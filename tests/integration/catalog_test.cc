// /v1/catalog/* over real HTTP: the catalog reads (blocking) and the external-node writes
// (consul-api.md 4.13, 4.14).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "testutil/agent/test_agent.h"

namespace beacon::testutil {
namespace {

constexpr char kRegister[] = "/v1/agent/service/register";

using IdList = std::vector<std::string>;

// An external node with one service and one check bound to it, as Consul's docs show it.
constexpr char kExternal[] = R"({
  "Node": "ext-1", "Address": "10.1.1.1", "Datacenter": "dc1",
  "TaggedAddresses": {"lan": "10.1.1.1", "wan": "198.18.0.1"},
  "NodeMeta": {"rack": "r1"},
  "Service": {"ID": "redis-1", "Service": "redis", "Tags": ["primary"], "Address": "10.1.1.2",
              "Port": 6379, "Meta": {"v": "7"}},
  "Check": {"Node": "ext-1", "CheckID": "redis-alive", "Name": "Redis alive",
            "Status": "passing", "Output": "PONG", "ServiceID": "redis-1",
            "Definition": {"TCP": "10.1.1.2:6379", "Interval": "5s", "Timeout": "1s"}},
  "SkipNodeUpdate": false
})";

class CatalogTest : public AgentTest {
 protected:
  void RegisterExternal() {
    Response r = agent().Put("/v1/catalog/register", kExternal);
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(r.body, "true");
    EXPECT_EQ(r.Header("Content-Type"), "application/json");
  }
  IdList NodeNames() {
    IdList names = Json(agent().Get("/v1/catalog/nodes")).Column("", "Node");
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST_F(CatalogTest, ServicesIsEmptyObjectWithIndexBeforeRegistrations) {
  Response r = agent().Get("/v1/catalog/services");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, "{}");
  EXPECT_GT(ConsulIndex(r), 0u);
}

TEST_F(CatalogTest, ServicesMapsEachNameToItsUniqueTags) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-1","Tags":["a","b"]})")));
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-2","Tags":["b","c"]})")));
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"db"})")));
  Response r = agent().Get("/v1/catalog/services");
  ASSERT_TRUE(IsOk(r));
  EXPECT_GT(ConsulIndex(r), 0u);
  EXPECT_EQ(r.body, R"({"db":[],"web":["a","b","c"]})");
}

TEST_F(CatalogTest, ServicesHonoursNodeMetaAndFilter) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Tags":["a"]})")));
  RegisterExternal();
  EXPECT_EQ(agent().Get("/v1/catalog/services?node-meta=rack:r1").body, R"({"redis":["primary"]})");
  EXPECT_EQ(agent().Get("/v1/catalog/services?filter=ServicePort%20==%206379").body,
            R"({"redis":["primary"]})");
}

TEST_F(CatalogTest, ServiceListsServiceNodesWithEveryField) {
  RegisterExternal();
  Response r = agent().Get("/v1/catalog/service/redis");
  ASSERT_TRUE(IsOk(r));
  EXPECT_GT(ConsulIndex(r), 0u);
  JsonDoc doc = Json(r);
  ASSERT_EQ(doc.Size(""), 1u) << r.body;
  const IdList fields = {"ID",
                         "Node",
                         "Address",
                         "Datacenter",
                         "TaggedAddresses",
                         "NodeMeta",
                         "ServiceKind",
                         "ServiceID",
                         "ServiceName",
                         "ServiceTags",
                         "ServiceAddress",
                         "ServiceWeights",
                         "ServiceMeta",
                         "ServicePort",
                         "ServiceEnableTagOverride",
                         "ServiceProxy",
                         "ServiceConnect",
                         "CreateIndex",
                         "ModifyIndex"};
  for (const std::string& field : fields) {
    EXPECT_NE(doc.Type("/0/" + field), "missing") << field;
  }
  EXPECT_EQ(doc.Str("/0/Node"), "ext-1");
  EXPECT_EQ(doc.Str("/0/Address"), "10.1.1.1");
  EXPECT_EQ(doc.Str("/0/Datacenter"), "dc1");
  EXPECT_EQ(doc.Raw("/0/TaggedAddresses"), R"({"lan":"10.1.1.1","wan":"198.18.0.1"})");
  EXPECT_EQ(doc.Raw("/0/NodeMeta"), R"({"rack":"r1"})");
  EXPECT_EQ(doc.Str("/0/ServiceID"), "redis-1");
  EXPECT_EQ(doc.Str("/0/ServiceName"), "redis");
  EXPECT_EQ(doc.Raw("/0/ServiceTags"), R"(["primary"])");
  EXPECT_EQ(doc.Str("/0/ServiceAddress"), "10.1.1.2");
  EXPECT_EQ(doc.Int("/0/ServicePort"), 6379);
  EXPECT_EQ(doc.Raw("/0/ServiceMeta"), R"({"v":"7"})");
  EXPECT_EQ(doc.Raw("/0/ServiceWeights"), R"({"Passing":1,"Warning":1})");
  EXPECT_EQ(doc.Raw("/0/ServiceTaggedAddresses/lan_ipv4"), R"({"Address":"10.1.1.2","Port":6379})");
}

TEST_F(CatalogTest, ServiceDoesNotFilterByHealthButByTag) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-1","Tags":["v1"],
      "Check":{"TTL":"10m"}})")));  // critical
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-2","Tags":["v2"]})")));
  struct Case {
    std::string query;
    IdList want;
  };
  const Case cases[] = {
      {"", {"web-1", "web-2"}},  // the critical web-1 too
      {"?tag=V1", {"web-1"}},    // case-insensitive
      {"?tag=v1&tag=v2", {}},    // all tags must match
      {"?filter=ServiceID%20==%20%22web-2%22", {"web-2"}},
      {"?node-meta=rack:r1", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    IdList ids = Json(agent().Get("/v1/catalog/service/web" + c.query)).Column("", "ServiceID");
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, c.want);
  }
}

TEST_F(CatalogTest, UnknownServiceIsEmptyListWithIndex) {
  Response r = agent().Get("/v1/catalog/service/nope");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.body, "[]");
  EXPECT_GT(ConsulIndex(r), 0u);
}

TEST_F(CatalogTest, NodesListsLocalAndExternalNodes) {
  RegisterExternal();
  Response r = agent().Get("/v1/catalog/nodes");
  ASSERT_TRUE(IsOk(r));
  EXPECT_GT(ConsulIndex(r), 0u);
  EXPECT_EQ(NodeNames(), (IdList{"ext-1", "test-node"}));
  JsonDoc doc = Json(r);
  for (size_t i = 0; i < doc.Size("").value_or(0); ++i) {
    const std::string p = "/" + std::to_string(i);
    SCOPED_TRACE(doc.Str(p + "/Node"));
    EXPECT_EQ(doc.Keys(p), (IdList{"ID", "Node", "Address", "Datacenter", "TaggedAddresses", "Meta",
                                   "CreateIndex", "ModifyIndex"}));
    EXPECT_EQ(doc.Str(p + "/Datacenter"), "dc1");
    EXPECT_EQ(doc.Type(p + "/TaggedAddresses"), "object");
    EXPECT_EQ(doc.Type(p + "/Meta"), "object");
  }
  EXPECT_EQ(Json(agent().Get("/v1/catalog/nodes?node-meta=rack:r1")).Column("", "Node"),
            IdList{"ext-1"});
  EXPECT_EQ(Json(agent().Get("/v1/catalog/nodes?filter=Meta.rack%20==%20r1")).Column("", "Node"),
            IdList{"ext-1"});
}

TEST_F(CatalogTest, NodeReturnsNodeAndItsServicesByNameOrId) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-1","Port":80})")));
  Response r = agent().Get("/v1/catalog/node/test-node");
  ASSERT_TRUE(IsOk(r));
  EXPECT_GT(ConsulIndex(r), 0u);
  JsonDoc doc = Json(r);
  EXPECT_EQ(doc.Keys(""), (IdList{"Node", "Services"}));
  EXPECT_EQ(doc.Str("/Node/Node"), "test-node");
  EXPECT_EQ(doc.Keys("/Services"), IdList{"web-1"});
  EXPECT_EQ(doc.Str("/Services/web-1/Service"), "web");
  EXPECT_EQ(doc.Int("/Services/web-1/Port"), 80);
  EXPECT_EQ(doc.Raw("/Services/web-1/Tags"), "[]");
  EXPECT_EQ(doc.Raw("/Services/web-1/Weights"), R"({"Passing":1,"Warning":1})");
  EXPECT_GT(doc.Int("/Services/web-1/ModifyIndex").value_or(0), 0);

  // The node may also be named by its UUID, and names are case-insensitive.
  const std::string id = doc.Str("/Node/ID");
  EXPECT_EQ(agent().Get("/v1/catalog/node/" + id).body, r.body);
  EXPECT_EQ(agent().Get("/v1/catalog/node/TEST-NODE").body, r.body);
}

TEST_F(CatalogTest, NodeWithoutServicesHasEmptyServicesObject) {
  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/register", R"({"Node":"lonely",
      "Address":"10.9.9.9"})")));
  JsonDoc doc = Json(agent().Get("/v1/catalog/node/lonely"));
  EXPECT_EQ(doc.Raw("/Services"), "{}");
  EXPECT_EQ(doc.Raw("/Node/Meta"), "{}");
}

TEST_F(CatalogTest, UnknownNodeIsNullWithIndex) {
  Response r = agent().Get("/v1/catalog/node/nope");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, "null");
  EXPECT_GT(ConsulIndex(r), 0u);
}

TEST_F(CatalogTest, DatacentersListsOwnDatacenterWithoutIndex) {
  Response r = agent().Get("/v1/catalog/datacenters");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, R"(["dc1"])");
  EXPECT_EQ(r.Header("X-Consul-Index"), "");
}

TEST_F(CatalogTest, RegisterExternalNodeStoresServiceAndUnexecutedCheck) {
  RegisterExternal();
  JsonDoc health = Json(agent().Get("/v1/health/service/redis"));
  ASSERT_EQ(health.Size(""), 1u);
  EXPECT_EQ(health.Str("/0/Node/Node"), "ext-1");
  EXPECT_EQ(health.Raw("/0/Node/Meta"), R"({"rack":"r1"})");
  EXPECT_EQ(health.Str("/0/Service/ID"), "redis-1");
  // Catalog checks are stored as given and never executed (10.1.1.2 is not reachable).
  EXPECT_EQ(health.Column("/0/Checks", "CheckID"), IdList{"redis-alive"});
  EXPECT_EQ(health.Str("/0/Checks/0/Status"), "passing");
  EXPECT_EQ(health.Str("/0/Checks/0/Output"), "PONG");
  EXPECT_EQ(health.Str("/0/Checks/0/ServiceName"), "redis");
  EXPECT_EQ(health.Raw("/0/Checks/0/ServiceTags"), R"(["primary"])");

  EXPECT_EQ(Json(agent().Get("/v1/health/node/ext-1")).Column("", "CheckID"),
            IdList{"redis-alive"});
  EXPECT_EQ(Json(agent().Get("/v1/catalog/node/ext-1")).Keys("/Services"), IdList{"redis-1"});
  // External services are not the agent's.
  EXPECT_EQ(agent().Get("/v1/agent/services").body, "{}");
}

TEST_F(CatalogTest, RegisterCheckWithoutCheckIdUsesName) {
  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/register", R"({"Node":"ext-2","Address":"10.2.2.2",
      "Check":{"Name":"node-alive","Status":"warning"}})")));
  JsonDoc doc = Json(agent().Get("/v1/health/node/ext-2"));
  EXPECT_EQ(doc.Column("", "CheckID"), IdList{"node-alive"});
  EXPECT_EQ(doc.Str("/0/Status"), "warning");
  EXPECT_EQ(doc.Str("/0/ServiceID"), "");
}

TEST_F(CatalogTest, DeregisterRemovesCheckThenServiceThenNode) {
  RegisterExternal();
  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/register", R"({"Node":"ext-1","Address":"10.1.1.1",
      "Service":{"Service":"cache","Port":11211}})")));

  Response check = agent().Put("/v1/catalog/deregister", R"({"Node":"ext-1",
      "CheckID":"redis-alive"})");
  ASSERT_TRUE(IsOk(check));
  EXPECT_EQ(check.body, "true");
  EXPECT_EQ(agent().Get("/v1/health/node/ext-1").body, "[]");
  EXPECT_EQ(Json(agent().Get("/v1/catalog/service/redis")).Size(""), 1u);

  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/deregister", R"({"Node":"ext-1",
      "ServiceID":"redis-1"})")));
  EXPECT_EQ(agent().Get("/v1/catalog/service/redis").body, "[]");
  EXPECT_EQ(Json(agent().Get("/v1/catalog/node/ext-1")).Keys("/Services"), IdList{"cache"});

  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/deregister", R"({"Node":"ext-1"})")));
  EXPECT_EQ(agent().Get("/v1/catalog/node/ext-1").body, "null");
  EXPECT_EQ(agent().Get("/v1/catalog/service/cache").body, "[]");
  EXPECT_EQ(NodeNames(), IdList{"test-node"});
  EXPECT_EQ(agent().Get("/v1/catalog/services").body, "{}");
}

TEST_F(CatalogTest, DeregisterOfUnknownThingsAnswersTrue) {
  for (const std::string body : {R"({"Node":"nope"})", R"({"Node":"test-node","ServiceID":"nope"})",
                                 R"({"Node":"test-node","CheckID":"nope"})"}) {
    SCOPED_TRACE(body);
    Response r = agent().Put("/v1/catalog/deregister", body);
    EXPECT_TRUE(IsOk(r));
    EXPECT_EQ(r.body, "true");
  }
}

// Contract 4.14: catalog writes to the agent's own node and services are allowed, but the agent's
// definitions win ([Beacon]: agent-owned entries are the source of truth).
TEST_F(CatalogTest, DeregisteringTheAgentsOwnNodeIsAllowedAndKeepsIt) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web"})")));
  Response r = agent().Put("/v1/catalog/deregister", R"({"Node":"test-node"})");
  EXPECT_TRUE(IsOk(r));
  EXPECT_EQ(r.body, "true");
  JsonDoc node = Json(agent().Get("/v1/catalog/node/test-node"));
  EXPECT_EQ(node.Str("/Node/Node"), "test-node");
  EXPECT_EQ(node.Keys("/Services"), IdList{"web"});
}

TEST_F(CatalogTest, DeregisteringAnAgentServiceThroughTheCatalogKeepsTheAgentDefinition) {
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","Check":{"TTL":"10m"}})")));
  ASSERT_TRUE(
      IsOk(agent().Put("/v1/catalog/deregister", R"({"Node":"test-node","ServiceID":"web"})")));
  EXPECT_EQ(Json(agent().Get("/v1/agent/services")).Keys(""), IdList{"web"});
  EXPECT_EQ(Json(agent().Get("/v1/agent/checks")).Type("/service:web"), "object");
}

}  // namespace
}  // namespace beacon::testutil
