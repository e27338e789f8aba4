#include "beacon/client.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "unit/client/fake_agent.h"

namespace beacon::client {
namespace {

using testing::FakeAgent;

HttpResponse Answer(int status, std::string body = "",
                    std::map<std::string, std::string> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

struct Fixture {
  Fixture() {
    agent = std::make_shared<FakeAgent>();
    ClientOptions o;
    o.transport = agent;
    o.token = "secret";
    auto c = Client::Create(o);
    EXPECT_TRUE(c.ok());
    client = std::move(*c);
  }
  std::string LastTarget() const { return agent->requests().back().target; }
  std::shared_ptr<FakeAgent> agent;
  std::unique_ptr<Client> client;
};

TEST(ParseHttpAddress, AcceptsTheFormsConsulAccepts) {
  struct Case {
    const char* in;
    const char* want;  // ToString(), or "" for an error
  };
  const Case cases[] = {
      {"127.0.0.1:8500", "127.0.0.1:8500"},
      {"http://127.0.0.1:18500", "127.0.0.1:18500"},
      {"HTTP://localhost:9/", "localhost:9"},
      {"localhost", "localhost:8500"},
      {" 10.0.0.1:1 ", "10.0.0.1:1"},
      {"[::1]:8501", "[::1]:8501"},
      {"[::1]", "[::1]:8500"},
      {"::1", "[::1]:8500"},
      {"https://127.0.0.1:8501", ""},
      {"unix:///tmp/consul.sock", ""},
      {"127.0.0.1:0", ""},
      {"127.0.0.1:70000", ""},
      {"127.0.0.1:http", ""},
      {"http://host:1/v1", ""},
      {"", ""},
      {":8500", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    auto a = ParseHttpAddress(c.in);
    if (*c.want == '\0') {
      EXPECT_FALSE(a.ok());
      EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
    } else {
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      EXPECT_EQ(a->ToString(), c.want);
    }
  }
  EXPECT_NE(ParseHttpAddress("https://x").status().message().find("https is not supported"),
            std::string::npos);
}

TEST(Client, AddressComesFromOptionsThenEnvironmentThenDefault) {
  ::setenv("CONSUL_HTTP_ADDR", "http://127.0.0.1:18888", 1);
  auto from_env = Client::Create({});
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ((*from_env)->address(), "127.0.0.1:18888");
  auto from_options = Client::Create({.address = "10.1.2.3:1"});
  ASSERT_TRUE(from_options.ok());
  EXPECT_EQ((*from_options)->address(), "10.1.2.3:1");
  ::unsetenv("CONSUL_HTTP_ADDR");
  auto fallback = Client::Create({});
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ((*fallback)->address(), "127.0.0.1:8500");
  auto bad = Client::Create({.address = "https://127.0.0.1:8501"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(Client, RegisterSendsTheServiceDefinition) {
  Fixture f;
  f.agent->Respond("/v1/agent/service/register", Answer(200));
  ServiceRegistration s;
  s.id = "web-1";
  s.name = "web";
  s.tags = {"v1"};
  s.port = 8080;
  s.meta = {{"az", "a"}};
  s.weights = {.passing = 3, .warning = 1};
  CheckDefinition ttl;
  ttl.ttl = std::chrono::seconds(15);
  CheckDefinition http;
  http.http = "http://127.0.0.1:8080/health";
  http.interval = std::chrono::milliseconds(1500);
  s.checks = {ttl, http};
  ASSERT_TRUE(f.client->RegisterService(s, true).ok());
  HttpRequest r = f.agent->requests().back();
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.target, "/v1/agent/service/register?replace-existing-checks=true");
  EXPECT_EQ(r.body, R"({"ID":"web-1","Name":"web","Tags":["v1"],"Port":8080,"Meta":{"az":"a"},)"
                    R"("Weights":{"Passing":3,"Warning":1},"EnableTagOverride":false,"Checks":[)"
                    R"({"TTL":"15s"},{"HTTP":"http://127.0.0.1:8080/health","Interval":"1.5s"}]})");
  auto has = [&](std::string k, std::string v) {
    for (const auto& h : r.headers) {
      if (h.first == k && h.second == v) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(has("X-Consul-Token", "secret"));
  EXPECT_TRUE(has("Content-Type", "application/json"));
  EXPECT_EQ(f.client->RegisterService(ServiceRegistration{}).code(), StatusCode::kInvalidArgument);
}

TEST(Client, WritesEscapeIdsAndMapErrors) {
  Fixture f;
  f.agent->Respond("/v1/agent/service/deregister/",
                   Answer(404,
                          "Unknown service ID \"a/b\". Ensure that the service ID is passed, "
                          "not the service name.\n"));
  Status s = f.client->DeregisterService("a/b");
  EXPECT_EQ(f.LastTarget(), "/v1/agent/service/deregister/a%2Fb");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "PUT /v1/agent/service/deregister/a%2Fb: Unexpected response code: 404 (Unknown "
            "service ID \"a/b\". Ensure that the service ID is passed, not the service name.)");

  f.agent->Respond("/v1/agent/check/", Answer(200));
  EXPECT_TRUE(f.client->PassTtl("service:web-1", "all good").ok());
  EXPECT_EQ(f.LastTarget(), "/v1/agent/check/pass/service%3Aweb-1?note=all%20good");
  EXPECT_TRUE(f.client->WarnTtl("c").ok());
  EXPECT_EQ(f.LastTarget(), "/v1/agent/check/warn/c");
  EXPECT_TRUE(f.client->FailTtl("c").ok());
  EXPECT_EQ(f.LastTarget(), "/v1/agent/check/fail/c");

  const std::pair<int, StatusCode> mapping[] = {
      {400, StatusCode::kInvalidArgument},   {403, StatusCode::kPermissionDenied},
      {404, StatusCode::kNotFound},          {409, StatusCode::kAborted},
      {429, StatusCode::kResourceExhausted}, {500, StatusCode::kInternal},
      {503, StatusCode::kUnavailable},
  };
  for (const auto& [code, want] : mapping) {
    SCOPED_TRACE(code);
    f.agent->Respond("/v1/agent/check/pass/", Answer(code, "nope"));
    EXPECT_EQ(f.client->PassTtl("x").code(), want);
  }
}

TEST(Client, ReadsReturnValueAndQueryMeta) {
  Fixture f;
  f.agent->Respond("/v1/catalog/services", Answer(200, R"({"consul":[],"web":["v1","v2"]})",
                                                  {{"x-consul-index", "42"},
                                                   {"x-consul-knownleader", "true"},
                                                   {"x-consul-lastcontact", "15"}}));
  QueryOptions q;
  q.allow_stale = true;
  q.datacenter = "dc2";
  q.wait_index = 41;
  q.wait_time = std::chrono::seconds(2);
  q.node_meta = {{"rack", "r1"}};
  auto r = f.client->CatalogServices(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(f.LastTarget(),
            "/v1/catalog/services?dc=dc2&stale&index=41&wait=2000ms&node-meta=rack%3Ar1");
  EXPECT_EQ(r->value.at("web"), (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(r->meta.last_index, 42u);
  EXPECT_TRUE(r->meta.known_leader);
  EXPECT_EQ(r->meta.last_contact, std::chrono::milliseconds(15));

  q.require_consistent = true;
  EXPECT_EQ(f.client->CatalogServices(q).status().code(), StatusCode::kInvalidArgument);
}

TEST(Client, HealthServiceBuildsTheQuery) {
  Fixture f;
  f.agent->SetHealth(testing::HealthBody({"web-1"}), 9);
  auto r = f.client->HealthService("web", {.tags = {"v1", "primary"}, .passing_only = true},
                                   {.filter = "Service.Meta.az == \"a\""});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(f.LastTarget(),
            "/v1/health/service/web?passing&tag=v1&tag=primary"
            "&filter=Service.Meta.az%20%3D%3D%20%22a%22");
  ASSERT_EQ(r->value.size(), 1u);
  EXPECT_EQ(r->value[0].service.id, "web-1");
  EXPECT_EQ(r->meta.last_index, 9u);
  EXPECT_EQ(f.client->HealthService("", {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(Client, TransportErrorsPassThrough) {
  Fixture f;
  f.agent->SetDown(true);
  auto r = f.client->Members();
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  std::stop_source stop;
  stop.request_stop();
  f.agent->SetDown(false);
  f.agent->SetHealth("[]", 5);
  auto cancelled = f.client->HealthService("web", {}, {.wait_index = 5, .stop = stop.get_token()});
  EXPECT_EQ(cancelled.status().code(), StatusCode::kCancelled);
}

TEST(Client, OtherReads) {
  Fixture f;
  f.agent->Respond("/v1/status/leader", Answer(200, R"("127.0.0.1:8300")"));
  f.agent->Respond("/v1/agent/members",
                   Answer(200, R"([{"Name":"n1","Addr":"127.0.0.1","Port":8301,)"
                               R"("Tags":{"role":"consul","build":"0.1.0"},"Status":1}])"));
  f.agent->Respond("/v1/agent/services",
                   Answer(200, R"({"web-1":{"ID":"web-1","Service":"web","Port":80,)"
                               R"("Tags":[],"Meta":{},"Weights":{"Passing":1,"Warning":1}}})"));
  f.agent->Respond("/v1/agent/checks",
                   Answer(200, R"({"serfHealth":{"CheckID":"serfHealth","Status":"passing"}})"));
  f.agent->Respond("/v1/agent/metrics",
                   Answer(200, R"({"Gauges":[{"Name":"consul.catalog.services","Value":3,)"
                               R"("Labels":{}}],"Counters":[{"Name":"consul.http.requests",)"
                               R"("Count":7,"Sum":7,"Labels":{"method":"GET"}},)"
                               R"({"Name":"consul.http.requests","Count":2,"Sum":2,)"
                               R"("Labels":{"method":"PUT"}}],"Samples":[]})"));
  EXPECT_EQ(*f.client->Leader(), "127.0.0.1:8300");
  auto members = f.client->Members();
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].StatusName(), "alive");
  EXPECT_EQ((*members)[0].tags.at("build"), "0.1.0");
  auto services = f.client->AgentServices("Service == web");
  ASSERT_TRUE(services.ok());
  EXPECT_EQ(f.LastTarget(), "/v1/agent/services?filter=Service%20%3D%3D%20web");
  EXPECT_EQ(services->at("web-1").port, 80);
  auto checks = f.client->AgentChecks();
  ASSERT_TRUE(checks.ok());
  EXPECT_EQ(checks->at("serfHealth").status, HealthStatus::kPassing);
  auto metrics = f.client->Metrics();
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_EQ(metrics->GaugeTotal("consul.catalog.services"), 3);
  EXPECT_EQ(metrics->CounterTotal("consul.http.requests"), 9u);
  EXPECT_EQ(metrics->CounterTotal("missing"), 0u);
}

}  // namespace
}  // namespace beacon::client
