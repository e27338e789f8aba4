#include "beacon/json.h"

#include <gtest/gtest.h>

#include "client/json_decode.h"

namespace beacon::client {
namespace {

// What Beacon (and Consul) answer for GET /v1/health/service/web, trimmed to two instances.
constexpr const char* kHealth = R"([
 {"Node":{"ID":"7d1a","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1",
          "TaggedAddresses":{"lan":"10.0.0.1"},"Meta":{"rack":"r1"},"CreateIndex":1,"ModifyIndex":2},
  "Service":{"ID":"web-1","Service":"web","Tags":["v1","primary"],"Address":"",
             "TaggedAddresses":{"lan_ipv4":{"Address":"10.0.0.1","Port":80}},
             "Meta":{"az":"a"},"Port":8080,"Weights":{"Passing":3,"Warning":1},
             "EnableTagOverride":false,"Proxy":{},"Connect":{},"CreateIndex":5,"ModifyIndex":6},
  "Checks":[{"Node":"n1","CheckID":"serfHealth","Name":"Serf Health Status","Status":"passing",
             "Notes":"","Output":"Agent alive and reachable","ServiceID":"","ServiceName":"",
             "ServiceTags":[],"Type":"","Interval":"","Timeout":"","ExposedPort":0,
             "Definition":{},"CreateIndex":1,"ModifyIndex":1},
            {"Node":"n1","CheckID":"service:web-1","Name":"Service 'web' check",
             "Status":"warning","Output":"slow","ServiceID":"web-1","ServiceName":"web",
             "ServiceTags":["v1","primary"],"Type":"http","CreateIndex":5,"ModifyIndex":9}]},
 {"Node":{"Node":"n2","Address":"10.0.0.2"},
  "Service":{"ID":"web-2","Service":"web","Tags":null,"Address":"10.9.9.9","Port":8081,
             "Meta":null,"Weights":{"Passing":1,"Warning":1}},
  "Checks":[]}
])";

TEST(DecodeServiceEntries, ReadsConsulsShape) {
  auto r = json::DecodeServiceEntries(kHealth);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  const ServiceEntry& a = (*r)[0];
  EXPECT_EQ(a.node.node, "n1");
  EXPECT_EQ(a.node.meta.at("rack"), "r1");
  EXPECT_EQ(a.node.tagged_addresses.at("lan"), "10.0.0.1");
  EXPECT_EQ(a.service.id, "web-1");
  EXPECT_EQ(a.service.tags, (std::vector<std::string>{"v1", "primary"}));
  EXPECT_EQ(a.service.port, 8080);
  EXPECT_EQ(a.service.weights, (Weights{3, 1}));
  EXPECT_EQ(a.service.modify_index, 6u);
  ASSERT_EQ(a.checks.size(), 2u);
  EXPECT_EQ(a.checks[1].status, HealthStatus::kWarning);
  EXPECT_EQ(a.checks[1].type, "http");
  EXPECT_EQ(a.AggregatedStatus(), HealthStatus::kWarning);
  EXPECT_EQ(a.Address(), "10.0.0.1");
  const ServiceEntry& b = (*r)[1];
  EXPECT_TRUE(b.service.tags.empty());
  EXPECT_EQ(b.Address(), "10.9.9.9");
  EXPECT_EQ(b.AggregatedStatus(), HealthStatus::kPassing);
}

TEST(DecodeServiceEntries, ReportsWhatIsWrong) {
  struct Case {
    const char* name;
    const char* body;
    const char* want;
  };
  const Case cases[] = {
      {"not json", "[{", "decode health answer: invalid JSON: "},
      {"not a list", "{}", "decode health answer: expected a list, got object"},
      {"bad port", R"([{"Service":{"Port":"80"}}])",
       "decode health answer: [0].Service.Port: expected an integer, got string"},
      {"bad tags", R"([{},{"Service":{"Tags":[1]}}])",
       "decode health answer: [1].Service.Tags[0]: expected a string, got number"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = json::DecodeServiceEntries(c.body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInternal);
    EXPECT_EQ(r.status().message().rfind(c.want, 0), 0u) << r.status().message();
  }
  EXPECT_TRUE(json::DecodeServiceEntries("[]")->empty());
}

TEST(DecodeOthers, CatalogServicesMembersAndStrings) {
  auto s = json::DecodeCatalogServices(R"({"consul":[],"web":["a","b"]})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 2u);
  EXPECT_EQ(json::DecodeCatalogServices("[]").status().code(), StatusCode::kInternal);
  auto leader = json::DecodeString(R"("127.0.0.1:8300")");
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ(*leader, "127.0.0.1:8300");
  EXPECT_FALSE(json::DecodeString("null").ok());
}

TEST(ParseServiceDefinitions, AcceptsConfigFileForms) {
  const char* wrapped = R"({"service": {"name": "web", "id": "web-1", "port": 8080,
      "tags": ["v1"], "meta": {"az": "a"}, "weights": {"passing": 5, "warning": 1},
      "enable_tag_override": true,
      "check": {"http": "http://127.0.0.1:8080/health", "interval": "1.5s", "timeout": "1s",
                "header": {"X-Trace": ["1"]}},
      "checks": [{"ttl": "30s", "check_id": "web-1-ttl", "deregister_critical_service_after": "1m"}]}})";
  auto r = ParseServiceDefinitions(wrapped);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  const ServiceRegistration& s = (*r)[0];
  EXPECT_EQ(s.name, "web");
  EXPECT_EQ(s.id, "web-1");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.weights, (Weights{5, 1}));
  EXPECT_TRUE(s.enable_tag_override);
  ASSERT_EQ(s.checks.size(), 2u);
  EXPECT_EQ(s.checks[0].http, "http://127.0.0.1:8080/health");
  EXPECT_EQ(s.checks[0].interval, std::chrono::milliseconds(1500));
  EXPECT_EQ(s.checks[0].header.at("X-Trace"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(s.checks[1].check_id, "web-1-ttl");
  EXPECT_EQ(s.checks[1].ttl, std::chrono::seconds(30));
  EXPECT_EQ(s.checks[1].deregister_critical_service_after, std::chrono::minutes(1));

  auto many = ParseServiceDefinitions(R"({"services":[{"Name":"a"},{"Name":"b","Port":1}]})");
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->size(), 2u);
  auto bare = ParseServiceDefinitions(R"({"Name":"api","Check":{"TTL":"10s"}})");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ((*bare)[0].checks[0].ttl, std::chrono::seconds(10));
}

TEST(ParseServiceDefinitions, RejectsBadDefinitionsClearly) {
  struct Case {
    const char* body;
    const char* want;
  };
  const Case cases[] = {
      {"{", "service definition: invalid JSON"},
      {"[]", "service definition: expected an object, got array"},
      {R"({"service":{"port":80}})", "service definition: service has no name"},
      {R"({"services":[{"name":"a"},{"name":"b","port":"x"}]})",
       "service definition: services[1].port: expected an integer, got string"},
      {R"({"name":"a","check":{"interval":"10 parsecs"}})",
       "service definition: check.interval: unknown unit"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = ParseServiceDefinitions(c.body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind(c.want, 0), 0u) << r.status().message();
  }
}

TEST(Duration, ParsesAndFormatsGoDurations) {
  const std::pair<const char*, int64_t> parse[] = {
      {"0", 0},       {"10s", 10'000},   {"1.5s", 1'500}, {"0.3s", 300},         {"1m30s", 90'000},
      {"250ms", 250}, {"2h", 7'200'000}, {"1500us", 1},   {"120000ms", 120'000},
  };
  for (const auto& [text, ms] : parse) {
    SCOPED_TRACE(text);
    auto d = ParseDuration(text);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->count(), ms);
  }
  for (const char* bad : {"", "10", "s", "-1s", "1x", "1.s5"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParseDuration(bad).ok());
  }
  const std::pair<int64_t, const char*> format[] = {
      {0, "0s"},         {250, "250ms"},        {1000, "1s"},         {1500, "1.5s"},
      {90'000, "1m30s"}, {3'600'000, "1h0m0s"}, {61'001, "1m1.001s"},
  };
  for (const auto& [ms, text] : format) {
    EXPECT_EQ(FormatDuration(std::chrono::milliseconds(ms)), text);
  }
}

TEST(ToJson, WritesWireShapes) {
  auto entries = json::DecodeServiceEntries(kHealth);
  ASSERT_TRUE(entries.ok());
  std::string out = ToJson(*entries);
  auto again = json::DecodeServiceEntries(out);
  ASSERT_TRUE(again.ok()) << out;
  EXPECT_EQ(*again, *entries);
  EXPECT_EQ(ToJson(CatalogServiceMap{{"web", {"v1"}}}), R"({"web":["v1"]})");
  EXPECT_EQ(ToJson(CatalogServiceMap{{"web", {}}}, true), "{\n  \"web\": []\n}\n");
}

}  // namespace
}  // namespace beacon::client
