#include "wire/encode.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace beacon::wire {
namespace {

using catalog::Check;
using catalog::Instance;
using catalog::Node;
using catalog::Service;
using std::chrono::seconds;

Node MakeNode() {
  Node n;
  n.id = "40e4a748-2192-161a-0510-9bf59fe950b5";
  n.name = "node1";
  n.address = "10.0.0.5";
  n.datacenter = "dc1";
  n.tagged_addresses = {{"lan", "10.0.0.5"}, {"wan", "10.0.0.5"}};
  n.meta = {{"rack", "r1"}};
  n.create_index = 5;
  n.modify_index = 6;
  return n;
}

Service MakeService() {
  Service s;
  s.id = "web-1";
  s.name = "web";
  s.tags = {"v1"};
  s.port = 8080;
  s.create_index = 7;
  s.modify_index = 8;
  return s;
}

Check MakeServiceCheck() {
  Check c;
  c.node = "node1";
  c.id = "service:web-1";
  c.name = "Service 'web' check";
  c.status = catalog::HealthStatus::kPassing;
  c.output = "HTTP GET http://10.0.0.5:8080/: 200 OK Output: ok";
  c.service_id = "web-1";
  c.service_name = "web";
  c.service_tags = {"v1"};
  catalog::CheckDefinition d;
  d.type = catalog::CheckType::kHttp;
  d.http = "http://10.0.0.5:8080/";
  d.interval = seconds(10);
  d.timeout = seconds(1);
  c.definition = d;
  c.create_index = 9;
  c.modify_index = 10;
  return c;
}

Check MakeSerfCheck() {
  Check c;
  c.node = "node1";
  c.id = std::string(catalog::kSerfHealthCheckId);
  c.name = std::string(catalog::kSerfHealthName);
  c.status = catalog::HealthStatus::kPassing;
  c.output = std::string(catalog::kSerfHealthOutput);
  c.create_index = 1;
  c.modify_index = 1;
  return c;
}

const char kNodeJson[] =
    R"({"ID":"40e4a748-2192-161a-0510-9bf59fe950b5","Node":"node1","Address":"10.0.0.5",)"
    R"("Datacenter":"dc1","TaggedAddresses":{"lan":"10.0.0.5","wan":"10.0.0.5"},)"
    R"("Meta":{"rack":"r1"},"CreateIndex":5,"ModifyIndex":6})";
const char kServiceJson[] =
    R"({"ID":"web-1","Service":"web","Tags":["v1"],"Address":"","Meta":{},"Port":8080,)"
    R"("Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"Proxy":{},"Connect":{},)"
    R"("CreateIndex":7,"ModifyIndex":8})";
const char kServiceCheckJson[] =
    R"({"Node":"node1","CheckID":"service:web-1","Name":"Service 'web' check",)"
    R"("Status":"passing","Notes":"","Output":"HTTP GET http://10.0.0.5:8080/: 200 OK Output: ok",)"
    R"("ServiceID":"web-1","ServiceName":"web","ServiceTags":["v1"],"Type":"http",)"
    R"("Interval":"10s","Timeout":"1s","ExposedPort":0,"Definition":{},)"
    R"("CreateIndex":9,"ModifyIndex":10})";
const char kSerfCheckJson[] =
    R"({"Node":"node1","CheckID":"serfHealth","Name":"Serf Health Status","Status":"passing",)"
    R"("Notes":"","Output":"Agent alive and reachable","ServiceID":"","ServiceName":"",)"
    R"("ServiceTags":[],"Type":"","Interval":"","Timeout":"","ExposedPort":0,"Definition":{},)"
    R"("CreateIndex":1,"ModifyIndex":1})";

Instance MakeInstance() {
  Instance in;
  in.node = std::make_shared<Node>(MakeNode());
  in.service = std::make_shared<Service>(MakeService());
  in.checks = {std::make_shared<Check>(MakeServiceCheck()),
               std::make_shared<Check>(MakeSerfCheck())};
  return in;
}

TEST(EncodeHealthServiceEntries, WritesNodeServiceAndChecks) {
  Instance in = MakeInstance();
  EXPECT_EQ(EncodeHealthServiceEntries({&in}, "dc1"),
            std::string("[{\"Node\":") + kNodeJson + ",\"Service\":" + kServiceJson +
                ",\"Checks\":[" + kServiceCheckJson + "," + kSerfCheckJson + "]}]");
}

TEST(EncodeHealthServiceEntries, EmptyListAndEmptyChecks) {
  EXPECT_EQ(EncodeHealthServiceEntries({}, "dc1"), "[]");
  Instance in = MakeInstance();
  in.checks.clear();
  std::string json = EncodeHealthServiceEntries({&in}, "dc1");
  EXPECT_TRUE(json.ends_with(",\"Checks\":[]}]")) << json;
}

TEST(EncodeHealthServiceEntry, CompactAnswerIsTheJoinOfItsElements) {
  Instance a = MakeInstance();
  EXPECT_EQ(EncodeHealthServiceEntry(a, "dc1"),
            std::string("{\"Node\":") + kNodeJson + ",\"Service\":" + kServiceJson +
                ",\"Checks\":[" + kServiceCheckJson + "," + kSerfCheckJson + "]}");
  Instance b = MakeInstance();
  b.checks.clear();
  Instance c = MakeInstance();
  Service other = MakeService();
  other.id = "web-2";
  other.port = 9090;
  c.service = std::make_shared<Service>(other);
  for (std::string_view dc : {"dc1", "east"}) {
    EXPECT_EQ(EncodeHealthServiceEntries({&a, &b, &c}, dc),
              "[" + EncodeHealthServiceEntry(a, dc) + "," + EncodeHealthServiceEntry(b, dc) + "," +
                  EncodeHealthServiceEntry(c, dc) + "]");
  }
}

TEST(EncodeHealthServiceEntries, NodeWithoutDatacenterGetsTheGivenOne) {
  Instance in = MakeInstance();
  Node n = MakeNode();
  n.datacenter.clear();
  n.tagged_addresses.clear();
  n.meta.clear();
  in.node = std::make_shared<Node>(n);
  std::string json = EncodeHealthServiceEntries({&in}, "east");
  EXPECT_NE(json.find(R"("Datacenter":"east","TaggedAddresses":{},"Meta":{})"), std::string::npos)
      << json;
}

TEST(EncodeService, OptionalFieldsAppearOnlyWhenSet) {
  Service s = MakeService();
  s.tags.clear();
  s.address = "10.0.0.9";
  s.tagged_addresses = {{"lan_ipv4", {"10.0.0.9", 8080}}, {"wan_ipv4", {"10.0.0.9", 8080}}};
  s.meta = {{"version", "2"}};
  s.weights = {3, 0};
  s.enable_tag_override = true;
  s.kind = "connect-proxy";
  Node n = MakeNode();
  EXPECT_EQ(EncodeCatalogNode(&n, {&s}),
            std::string("{\"Node\":") + kNodeJson + ",\"Services\":{\"web-1\":" +
                R"({"ID":"web-1","Service":"web","Tags":[],"Address":"10.0.0.9",)"
                R"("TaggedAddresses":{"lan_ipv4":{"Address":"10.0.0.9","Port":8080},)"
                R"("wan_ipv4":{"Address":"10.0.0.9","Port":8080}},"Meta":{"version":"2"},)"
                R"("Port":8080,"Weights":{"Passing":3,"Warning":0},"EnableTagOverride":true,)"
                R"("Kind":"connect-proxy","Proxy":{},"Connect":{},"CreateIndex":7,)"
                R"("ModifyIndex":8}}})");
}

TEST(EncodeCatalogNode, UnknownNodeIsNull) {
  EXPECT_EQ(EncodeCatalogNode(nullptr, {}), "null");
  EXPECT_EQ(EncodeCatalogNode(nullptr, {}, {.pretty = true}), "null\n");
}

TEST(EncodeCatalogNode, ServicesKeyedByIdInOrder) {
  Node n = MakeNode();
  Service b = MakeService();
  b.id = "b";
  Service a = MakeService();
  a.id = "a";
  std::string json = EncodeCatalogNode(&n, {&b, &a});
  EXPECT_LT(json.find("\"a\":{\"ID\":\"a\""), json.find("\"b\":{\"ID\":\"b\"")) << json;
  EXPECT_EQ(EncodeCatalogNode(&n, {}), std::string("{\"Node\":") + kNodeJson + ",\"Services\":{}}");
}

TEST(EncodeCatalogServiceNodes, FlattensNodeAndService) {
  Instance in = MakeInstance();
  EXPECT_EQ(
      EncodeCatalogServiceNodes({&in}, "dc1"),
      R"([{"ID":"40e4a748-2192-161a-0510-9bf59fe950b5","Node":"node1","Address":"10.0.0.5",)"
      R"("Datacenter":"dc1","TaggedAddresses":{"lan":"10.0.0.5","wan":"10.0.0.5"},)"
      R"("NodeMeta":{"rack":"r1"},"ServiceKind":"","ServiceID":"web-1","ServiceName":"web",)"
      R"("ServiceTags":["v1"],"ServiceAddress":"","ServiceWeights":{"Passing":1,"Warning":1},)"
      R"("ServiceMeta":{},"ServicePort":8080,"ServiceEnableTagOverride":false,)"
      R"("ServiceProxy":{},"ServiceConnect":{},"CreateIndex":7,"ModifyIndex":8}])");
  EXPECT_EQ(EncodeCatalogServiceNodes({}, "dc1"), "[]");
}

TEST(EncodeCatalogServiceNodes, ServiceTaggedAddressesWhenSet) {
  Instance in = MakeInstance();
  Service s = MakeService();
  s.tagged_addresses = {{"lan", {"1.2.3.4", 1}}};
  in.service = std::make_shared<Service>(s);
  std::string json = EncodeCatalogServiceNodes({&in}, "dc1");
  EXPECT_NE(json.find(R"("ServiceAddress":"",)"
                      R"("ServiceTaggedAddresses":{"lan":{"Address":"1.2.3.4","Port":1}},)"
                      R"("ServiceWeights")"),
            std::string::npos)
      << json;
}

TEST(EncodeNodes, ListOfNodes) {
  Node n = MakeNode();
  EXPECT_EQ(EncodeNodes({&n, &n}), std::string("[") + kNodeJson + "," + kNodeJson + "]");
  EXPECT_EQ(EncodeNodes({}), "[]");
}

TEST(EncodeCatalogServices, NamesToTags) {
  std::map<std::string, std::vector<std::string>> services = {{"consul", {}}, {"web", {"a", "b"}}};
  EXPECT_EQ(EncodeCatalogServices(services), R"({"consul":[],"web":["a","b"]})");
  EXPECT_EQ(EncodeCatalogServices({}), "{}");
}

TEST(EncodeHealthChecks, ListOfChecks) {
  Check c = MakeServiceCheck();
  Check serf = MakeSerfCheck();
  EXPECT_EQ(EncodeHealthChecks({&c, &serf}),
            std::string("[") + kServiceCheckJson + "," + kSerfCheckJson + "]");
  EXPECT_EQ(EncodeHealthChecks({}), "[]");
}

TEST(EncodeHealthChecks, StatusTypeAndDurations) {
  struct Case {
    catalog::HealthStatus status;
    catalog::CheckType type;
    catalog::Nanos interval;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {catalog::HealthStatus::kWarning, catalog::CheckType::kTtl, catalog::Nanos(0),
       R"("Status":"warning")"},
      {catalog::HealthStatus::kCritical, catalog::CheckType::kTcp, std::chrono::minutes(90),
       R"("Type":"tcp","Interval":"1h30m0s","Timeout":"")"},
      {catalog::HealthStatus::kPassing, catalog::CheckType::kGrpc, std::chrono::milliseconds(1500),
       R"("Type":"grpc","Interval":"1.5s")"},
      {catalog::HealthStatus::kPassing, catalog::CheckType::kTtl, catalog::Nanos(0),
       R"("Type":"ttl","Interval":"","Timeout":"")"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expected);
    Check check = MakeSerfCheck();
    check.status = c.status;
    check.definition.type = c.type;
    check.definition.interval = c.interval;
    std::string json = EncodeHealthChecks({&check});
    EXPECT_NE(json.find(c.expected), std::string::npos) << json;
  }
}

TEST(EncodeAgentChecks, ObjectKeyedByCheckIdInOrder) {
  Check c = MakeServiceCheck();
  Check serf = MakeSerfCheck();
  EXPECT_EQ(EncodeAgentChecks({&serf, &c}), std::string("{\"serfHealth\":") + kSerfCheckJson +
                                                ",\"service:web-1\":" + kServiceCheckJson + "}");
  EXPECT_EQ(EncodeAgentChecks({}), "{}");
}

const char kAgentServiceJson[] =
    R"({"ID":"web-1","Service":"web","Tags":["v1"],"Address":"","Meta":{},"Port":8080,)"
    R"("Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"Proxy":{},"Connect":{},)"
    R"("Datacenter":"dc1"})";

TEST(EncodeAgentServices, ObjectKeyedByIdWithoutIndexes) {
  Service s = MakeService();
  Service a = MakeService();
  a.id = "a";
  a.tags.clear();
  EXPECT_EQ(EncodeAgentServices({&s}, "dc1"), std::string("{\"web-1\":") + kAgentServiceJson + "}");
  std::string both = EncodeAgentServices({&s, &a}, "dc1");
  EXPECT_TRUE(both.starts_with(R"({"a":{"ID":"a","Service":"web","Tags":[],)")) << both;
  EXPECT_EQ(EncodeAgentServices({}, "dc1"), "{}");
}

TEST(EncodeAgentService, AddsContentHash) {
  Service s = MakeService();
  EXPECT_EQ(EncodeAgentService(s, "dc1", "6b3c1b1e0f7a"),
            R"({"ID":"web-1","Service":"web","Tags":["v1"],"Address":"","Meta":{},"Port":8080,)"
            R"("Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"Proxy":{},)"
            R"("Connect":{},"ContentHash":"6b3c1b1e0f7a","Datacenter":"dc1"})");
}

TEST(EncodePretty, IndentsLikeGoMarshalIndent) {
  std::map<std::string, std::vector<std::string>> services = {{"consul", {}}, {"web", {"a", "b"}}};
  EXPECT_EQ(EncodeCatalogServices(services, {.pretty = true}),
            "{\n"
            "    \"consul\": [],\n"
            "    \"web\": [\n"
            "        \"a\",\n"
            "        \"b\"\n"
            "    ]\n"
            "}\n");
  EXPECT_EQ(EncodeHealthChecks({}, {.pretty = true}), "[]\n");
  EXPECT_EQ(EncodeAgentServices({}, "dc1", {.pretty = true}), "{}\n");
  Node n = MakeNode();
  EXPECT_EQ(EncodeNodes({&n}, {.pretty = true}),
            "[\n"
            "    {\n"
            "        \"ID\": \"40e4a748-2192-161a-0510-9bf59fe950b5\",\n"
            "        \"Node\": \"node1\",\n"
            "        \"Address\": \"10.0.0.5\",\n"
            "        \"Datacenter\": \"dc1\",\n"
            "        \"TaggedAddresses\": {\n"
            "            \"lan\": \"10.0.0.5\",\n"
            "            \"wan\": \"10.0.0.5\"\n"
            "        },\n"
            "        \"Meta\": {\n"
            "            \"rack\": \"r1\"\n"
            "        },\n"
            "        \"CreateIndex\": 5,\n"
            "        \"ModifyIndex\": 6\n"
            "    }\n"
            "]\n");
}

TEST(EncodeStrings, EscapesSpecialCharacters) {
  Check c = MakeSerfCheck();
  c.output = "line1\nline2\t\"quoted\" back\\slash \x01 caf\xc3\xa9";
  std::string json = EncodeHealthChecks({&c});
  EXPECT_NE(json.find(R"("Output":"line1\nline2\t\"quoted\" back\\slash \u0001 café")"),
            std::string::npos)
      << json;
}

// Output far beyond the first reservation must grow the buffer correctly and stay valid JSON.
TEST(EncodeLarge, GrowsAndStaysValid) {
  std::vector<Instance> instances(2000, MakeInstance());
  Check big = MakeServiceCheck();
  big.output = std::string(100000, 'x');
  instances[1000].checks.push_back(std::make_shared<Check>(big));
  std::vector<const Instance*> ptrs;
  for (const Instance& in : instances) {
    ptrs.push_back(&in);
  }
  for (bool pretty : {false, true}) {
    SCOPED_TRACE(pretty);
    std::string json = EncodeHealthServiceEntries(ptrs, "dc1", {.pretty = pretty});
    simdjson::dom::parser parser;
    simdjson::dom::array list;
    ASSERT_EQ(parser.parse(json).get(list), simdjson::SUCCESS);
    EXPECT_EQ(list.size(), 2000u);
    simdjson::dom::array checks;
    ASSERT_EQ(list.at(1000)["Checks"].get(checks), simdjson::SUCCESS);
    EXPECT_EQ(checks.size(), 3u);
    std::string_view output;
    ASSERT_EQ(checks.at(2)["Output"].get(output), simdjson::SUCCESS);
    EXPECT_EQ(output.size(), 100000u);
  }
}

}  // namespace
}  // namespace beacon::wire
