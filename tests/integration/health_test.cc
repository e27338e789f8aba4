// /v1/health/* over real HTTP: service instances with their checks, passing/tag/filter/node-meta
// selection, and the check lists by service, state and node (consul-api.md 3, 4.11, 4.12).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "http/message.h"
#include "testutil/agent/test_agent.h"

namespace beacon::testutil {
namespace {

constexpr char kRegister[] = "/v1/agent/service/register";

using IdList = std::vector<std::string>;

class HealthTest : public AgentTest {
 protected:
  // Registers a local instance of `name` with one TTL check in `status`.
  void AddInstance(const std::string& name, const std::string& id, const std::string& status,
                   const std::string& extra = "") {
    ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":")" + name + R"(","ID":")" + id +
                                                R"(","Check":{"TTL":"10m","Status":")" + status +
                                                "\"}" + extra + "}")));
  }
  // Registers the web instances the selection tests use.
  void AddWebInstances() {
    AddInstance("web", "web-pass", "passing",
                R"(,"Tags":["v1","Primary"],"Port":8080,"Meta":{"env":"prod"})");
    AddInstance("web", "web-warn", "warning", R"(,"Tags":["v1"],"Port":8081)");
    AddInstance("web", "web-crit", "critical", R"(,"Tags":["V2"],"Port":8082)");
  }
  // Service IDs of a health/service answer, sorted.
  std::vector<std::string> Ids(const std::string& target) {
    Response r = agent().Get(target);
    EXPECT_TRUE(IsOk(r)) << target;
    std::vector<std::string> ids = Json(r).Column("", "Service/ID");
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  // Check IDs of a check-list answer, sorted.
  std::vector<std::string> CheckIds(const std::string& target) {
    Response r = agent().Get(target);
    EXPECT_TRUE(IsOk(r)) << target;
    std::vector<std::string> ids = Json(r).Column("", "CheckID");
    std::sort(ids.begin(), ids.end());
    return ids;
  }
};

TEST_F(HealthTest, ServiceEntryHasNodeServiceAndChecks) {
  AddInstance("web", "web-1", "passing", R"(,"Tags":["a"],"Port":8080,"Address":"10.0.0.1")");
  Response r = agent().Get("/v1/health/service/web");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_GT(ConsulIndex(r), 0u);
  JsonDoc doc = Json(r);
  ASSERT_EQ(doc.Size(""), 1u) << r.body;

  EXPECT_EQ(doc.Keys("/0"), (IdList{"Node", "Service", "Checks"}));
  EXPECT_FALSE(doc.Str("/0/Node/ID").empty());
  EXPECT_EQ(doc.Str("/0/Node/Node"), "test-node");
  EXPECT_EQ(doc.Str("/0/Node/Address"), "127.0.0.1");
  EXPECT_EQ(doc.Str("/0/Node/Datacenter"), "dc1");
  EXPECT_EQ(doc.Raw("/0/Node/TaggedAddresses"),
            R"({"lan":"127.0.0.1","lan_ipv4":"127.0.0.1","wan":"127.0.0.1",)"
            R"("wan_ipv4":"127.0.0.1"})");
  EXPECT_EQ(doc.Raw("/0/Node/Meta"), "{}");
  EXPECT_GT(doc.Int("/0/Node/CreateIndex").value_or(0), 0);
  EXPECT_GT(doc.Int("/0/Node/ModifyIndex").value_or(0), 0);

  EXPECT_EQ(doc.Str("/0/Service/ID"), "web-1");
  EXPECT_EQ(doc.Str("/0/Service/Service"), "web");
  EXPECT_EQ(doc.Raw("/0/Service/Tags"), R"(["a"])");
  EXPECT_EQ(doc.Str("/0/Service/Address"), "10.0.0.1");
  EXPECT_EQ(doc.Int("/0/Service/Port"), 8080);
  EXPECT_EQ(doc.Raw("/0/Service/Meta"), "{}");
  EXPECT_EQ(doc.Raw("/0/Service/Weights"), R"({"Passing":1,"Warning":1})");
  EXPECT_EQ(doc.Bool("/0/Service/EnableTagOverride"), false);
  EXPECT_EQ(doc.Type("/0/Service/TaggedAddresses/lan_ipv4"), "object");
  EXPECT_GT(doc.Int("/0/Service/CreateIndex").value_or(0), 0);
  EXPECT_GT(doc.Int("/0/Service/ModifyIndex").value_or(0), 0);

  // The instance's own check first, then its node's checks (4.11).
  EXPECT_EQ(doc.Column("/0/Checks", "CheckID"), (IdList{"service:web-1", "serfHealth"}));
  EXPECT_EQ(doc.Str("/0/Checks/0/Status"), "passing");
  EXPECT_EQ(doc.Raw("/0/Checks/1/ServiceTags"), "[]");
}

// Answers past SharedBody::kFileMinBytes go out by copy for their first SharedBody::kCopySends
// sends, then with sendfile(2) from the cached body's file: the bytes must be exactly the
// encoding, every time, both ways, on a kept-alive connection and when a blocking query is woken.
TEST_F(HealthTest, BigAnswersAreWholeAndCurrent) {
  const std::string pad(400, 'p');  // Meta values are capped at 512 characters
  constexpr int kInstances = 150;  // ~150 * 1.3 KB: well past the 64 KiB threshold
  for (int i = 0; i < kInstances; ++i) {
    AddInstance("big", "big-" + std::to_string(i), "passing",
                R"(,"Meta":{"a":")" + pad + R"(","b":")" + pad + R"("})");
  }
  Response first = agent().Get("/v1/health/service/big");
  ASSERT_TRUE(IsOk(first));
  ASSERT_GT(first.body.size(), 64u * 1024);
  EXPECT_EQ(first.Header("Content-Length"), std::to_string(first.body.size()));
  EXPECT_EQ(Json(first).Size(""), static_cast<size_t>(kInstances));
  for (int i = 0; i < http::SharedBody::kCopySends + 3; ++i) {  // cached: the same bytes each time
    Response again = agent().Get("/v1/health/service/big");
    ASSERT_TRUE(IsOk(again));
    EXPECT_EQ(again.body, first.body);
  }
  const uint64_t index = ConsulIndex(first);
  // Parked or not when the write lands, the query must answer with the new instance.
  std::future<Response> woken = std::async(std::launch::async, [port = agent().port(), index] {
    HttpClient client("127.0.0.1", port);
    return client.Request("GET", "/v1/health/service/big?index=" + std::to_string(index) +
                                     "&wait=20s");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  AddInstance("big", "big-new", "passing", R"(,"Meta":{"a":")" + pad + R"(","b":")" + pad + R"("})");
  Response after = woken.get();
  ASSERT_TRUE(IsOk(after));
  EXPECT_GT(ConsulIndex(after), index);
  EXPECT_EQ(Json(after).Size(""), static_cast<size_t>(kInstances + 1));
  EXPECT_NE(after.body.find("\"big-new\""), std::string::npos);
  EXPECT_EQ(after.Header("Content-Length"), std::to_string(after.body.size()));
}

// A big answer that does not fit the socket at once (the client reads late, through a small
// receive buffer) is sent in parts: the first send takes what fits, the loop sends the rest when
// the client drains it. The client must get every byte, in order.
TEST_F(HealthTest, BigAnswerToASlowReaderArrivesWhole) {
  // ~24 KB per instance (60 Meta values of 400 bytes), ~7 MB in all: more than a loopback
  // socket's send buffer takes at once (tcp_wmem's 4 MiB at most), whatever the client does.
  std::string meta;
  for (int k = 0; k < 60; ++k) {
    meta += (k == 0 ? "" : ",") + ("\"k" + std::to_string(k) + "\":\"") + std::string(400, 'p') +
            "\"";
  }
  for (int i = 0; i < 300; ++i) {
    AddInstance("big", "big-" + std::to_string(i), "passing", R"(,"Meta":{)" + meta + "}");
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const int small = 4096;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(agent().port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request = "GET /v1/health/service/big HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server's send stalls
  std::string got;
  char buf[8192];
  size_t want = std::string::npos;
  while (want == std::string::npos || got.size() < want) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << "connection ended after " << got.size() << " bytes";
    got.append(buf, static_cast<size_t>(n));
    const size_t end = got.find("\r\n\r\n");
    if (want == std::string::npos && end != std::string::npos) {
      const size_t cl = got.find("Content-Length: ");
      ASSERT_NE(cl, std::string::npos);
      want = end + 4 + std::stoul(got.substr(cl + 16));
    }
  }
  ::close(fd);
  const std::string body = got.substr(got.find("\r\n\r\n") + 4);
  Response again = agent().Get("/v1/health/service/big");  // the same cached answer
  ASSERT_TRUE(IsOk(again));
  EXPECT_GT(body.size(), 256u * 1024);
  EXPECT_EQ(body, again.body);
  EXPECT_EQ(Json(again).Size(""), 300u);
}

// After a change, an answer is rebuilt from the previous one to the same question (its unchanged
// instances' elements and verdicts are copied). Whatever changed, the rebuilt bytes must be the
// ones a fresh agent, which has no previous answer, encodes for the same catalog.
TEST_F(HealthTest, AnswersRebuiltAfterChangesEqualFreshOnes) {
  const std::vector<std::string> queries = {"/v1/health/service/web",
                                            "/v1/health/service/web?passing",
                                            "/v1/health/service/web?tag=v1",
                                            "/v1/health/service/web?filter=Service.ID%20!%3D%20%22web-4%22"};
  for (int i = 0; i < 8; ++i) {
    AddInstance("web", "web-" + std::to_string(i), i % 3 == 0 ? "warning" : "passing",
                R"(,"Tags":["v)" + std::to_string(i % 2) + R"("],"Port":)" +
                    std::to_string(8000 + i));
  }
  auto answers = [&] {
    std::vector<std::string> out;
    for (const std::string& q : queries) {
      Response r = agent().Get(q);
      EXPECT_TRUE(IsOk(r)) << q;
      out.push_back(r.body);
    }
    return out;
  };
  answers();  // every question cached
  // A changed instance (now tagged v1, so in and out of different answers), a removed one, an
  // added one (sorting between others), and check status moves in both directions.
  AddInstance("web", "web-2", "passing", R"(,"Tags":["v1"],"Port":8002)");
  answers();
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/service/deregister/web-5", "")));
  answers();
  AddInstance("web", "web-10", "passing", R"(,"Tags":["v1"],"Port":8010)");
  answers();
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/fail/service:web-1", "")));
  answers();
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/pass/service:web-3", "")));
  const std::vector<std::string> rebuilt = answers();

  ASSERT_TRUE(agent().Restart().ok());
  const std::vector<std::string> fresh = answers();
  for (size_t i = 0; i < queries.size(); ++i) {
    EXPECT_EQ(rebuilt[i], fresh[i]) << queries[i];
  }
  EXPECT_EQ(JsonDoc(fresh[1]).Size(""), 5u);  // 8 instances: web-0, web-6 warning, web-1 failed
  EXPECT_EQ(fresh[1].find("\"web-1\""), std::string::npos);
  EXPECT_NE(fresh[1].find("\"web-3\""), std::string::npos);
  EXPECT_NE(fresh[2].find("\"web-2\""), std::string::npos);
}

TEST_F(HealthTest, ServiceNamesAreCaseInsensitive) {
  AddInstance("Web", "web-1", "passing");
  EXPECT_EQ(Ids("/v1/health/service/web"), IdList{"web-1"});
  EXPECT_EQ(Ids("/v1/health/service/WEB"), IdList{"web-1"});
}

TEST_F(HealthTest, BlockingHeadersReflectConsistencyMode) {
  AddInstance("web", "web-1", "passing");
  struct Case {
    std::string query;
    std::string consistency;
  };
  const Case cases[] = {
      {"", "leader"},
      {"?stale", "stale"},
      {"?consistent", "consistent"},
      {"?max_stale=5s", "stale"},
      {"?leader", "leader"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    Response r = agent().Get("/v1/health/service/web" + c.query);
    ASSERT_TRUE(IsOk(r));
    EXPECT_GT(ConsulIndex(r), 0u);
    EXPECT_EQ(r.Header("X-Consul-KnownLeader"), "true");
    EXPECT_EQ(r.Header("X-Consul-LastContact"), "0");
    EXPECT_EQ(r.Header("X-Consul-Effective-Consistency"), c.consistency);
  }
}

TEST_F(HealthTest, PassingDropsWarningAndCriticalInstances) {
  AddWebInstances();
  struct Case {
    std::string query;
    IdList want;
  };
  const Case cases[] = {
      {"", {"web-crit", "web-pass", "web-warn"}},
      {"?passing", {"web-pass"}},
      {"?passing=", {"web-pass"}},
      {"?passing=true", {"web-pass"}},
      {"?passing=1", {"web-pass"}},
      {"?passing=false", {"web-crit", "web-pass", "web-warn"}},
      {"?passing=0", {"web-crit", "web-pass", "web-warn"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    EXPECT_EQ(Ids("/v1/health/service/web" + c.query), c.want);
  }
  EXPECT_TRUE(IsError(agent().Get("/v1/health/service/web?passing=bogus"), 400,
                      "Invalid value for ?passing"));
}

TEST_F(HealthTest, NodeCheckFailureDropsEveryInstanceFromPassing) {
  AddInstance("web", "web-1", "passing");
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/register", R"({"Name":"disk","TTL":"10m",
      "Status":"passing"})")));
  EXPECT_EQ(Ids("/v1/health/service/web?passing"), IdList{"web-1"});
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/warn/disk")));
  EXPECT_EQ(Ids("/v1/health/service/web?passing"), IdList{});
  JsonDoc doc = Json(agent().Get("/v1/health/service/web"));
  EXPECT_EQ(doc.Column("/0/Checks", "CheckID"), (IdList{"service:web-1", "disk", "serfHealth"}));
}

TEST_F(HealthTest, TagFilterIsRepeatableCaseInsensitiveAndNeedsAllTags) {
  AddWebInstances();
  struct Case {
    std::string query;
    IdList want;
  };
  const Case cases[] = {
      {"?tag=v1", {"web-pass", "web-warn"}},
      {"?tag=V1", {"web-pass", "web-warn"}},
      {"?tag=v1&tag=primary", {"web-pass"}},
      {"?tag=PRIMARY&tag=v2", {}},
      {"?tag=v2", {"web-crit"}},
      {"?tag=none", {}},
      {"?tag=v1&passing", {"web-pass"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    EXPECT_EQ(Ids("/v1/health/service/web" + c.query), c.want);
  }
}

TEST_F(HealthTest, DifferentTagQueriesNeverShareAnAnswer) {
  // One tag "a<US>tb" (%1F is the ASCII unit separator) is not the two tags "a" and "b". Asked on
  // one keep-alive connection, so any per-loop cache of encoded answers sees both questions.
  ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"web","ID":"web-1","Tags":["a","b"]})")));
  for (const std::string path : {"/v1/health/service/web", "/v1/catalog/service/web"}) {
    SCOPED_TRACE(path);
    const std::string id = path.starts_with("/v1/health") ? "Service/ID" : "ServiceID";
    EXPECT_EQ(Json(agent().Get(path + "?tag=a%1Ftb")).Column("", id), IdList{});
    EXPECT_EQ(Json(agent().Get(path + "?tag=a&tag=b")).Column("", id), IdList{"web-1"});
    EXPECT_EQ(Json(agent().Get(path + "?tag=a%1Ftb")).Column("", id), IdList{});
  }
}

TEST_F(HealthTest, FilterSelectsInstances) {
  AddWebInstances();
  struct Case {
    std::string filter;  // already URL-encoded
    IdList want;
  };
  const Case cases[] = {
      {"Service.Port%20==%208081", {"web-warn"}},
      {"Service.Meta.env%20==%20prod", {"web-pass"}},
      {"v1%20in%20Service.Tags", {"web-pass", "web-warn"}},
      {"Checks.Status%20==%20critical", {"web-crit"}},
      {"Service.ID%20matches%20%22-(pass|warn)$%22", {"web-pass", "web-warn"}},
      {"not%20(Service.Port%20==%208080)%20and%20Node.Node%20==%20%22test-node%22",
       {"web-crit", "web-warn"}},
      {"", {"web-crit", "web-pass", "web-warn"}},  // empty filter = no filter
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.filter);
    EXPECT_EQ(Ids("/v1/health/service/web?filter=" + c.filter), c.want);
  }
}

TEST_F(HealthTest, FilterDoesNotChangeTheIndex) {
  AddWebInstances();
  const uint64_t all = ConsulIndex(agent().Get("/v1/health/service/web"));
  EXPECT_EQ(ConsulIndex(agent().Get("/v1/health/service/web?filter=Service.Port%20==%201")), all);
  EXPECT_EQ(ConsulIndex(agent().Get("/v1/health/service/web?passing")), all);
}

TEST_F(HealthTest, InvalidFilterIs400NamingTheBadToken) {
  AddWebInstances();
  struct Case {
    std::string filter;  // URL-encoded
    std::string token;   // must appear in the message
  };
  const Case cases[] = {
      {"Service.Bogus%20==%201", "Service.Bogus"},
      {"Service.Port%20==", "position"},
      {"Service.Port%20==%20abc", "abc"},
      {"service.port%20==%2080", "service.port"},  // selectors are case-sensitive
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.filter);
    Response r = agent().Get("/v1/health/service/web?filter=" + c.filter);
    // Issue #2 overrides contract 1.6 here: a filter Beacon cannot parse is bad input, 400.
    EXPECT_EQ(r.status, 400) << r.ToString();
    EXPECT_NE(r.body.find(c.token), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find('\n'), std::string::npos) << r.body;
  }
}

TEST_F(HealthTest, NodeMetaSelectsInstancesByTheirNode) {
  AddInstance("web", "web-local", "passing");
  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/register", R"({"Node":"ext-1","Address":"10.1.1.1",
      "NodeMeta":{"rack":"r1","zone":"a:b"},
      "Service":{"Service":"web","ID":"web-ext","Port":80}})")));
  struct Case {
    std::string query;
    IdList want;
  };
  const Case cases[] = {
      {"", {"web-ext", "web-local"}},
      {"?node-meta=rack:r1", {"web-ext"}},
      {"?node-meta=rack:r2", {}},
      {"?node-meta=rack:r1&node-meta=zone:a:b", {"web-ext"}},  // split at the first ':'
      {"?node-meta=rack:r1&node-meta=zone:a", {}},             // all pairs must match
      {"?node-meta=rack", {}},                                 // no colon = empty value
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    EXPECT_EQ(Ids("/v1/health/service/web" + c.query), c.want);
  }
}

TEST_F(HealthTest, NodeMetaChangeIsSeenByTheNextRead) {
  const std::string node = R"({"Node":"ext-1","Address":"10.1.1.1","NodeMeta":{"rack":")";
  const std::string service = R"("},"Service":{"Service":"web","ID":"web-ext"}})";
  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/register", node + "r1" + service)));
  ASSERT_EQ(Ids("/v1/health/service/web?node-meta=rack:r1"), IdList{"web-ext"});
  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/register", node + "r2" + service)));
  EXPECT_EQ(Ids("/v1/health/service/web?node-meta=rack:r1"), IdList{});
  EXPECT_EQ(Ids("/v1/health/service/web?node-meta=rack:r2"), IdList{"web-ext"});
  EXPECT_EQ(Json(agent().Get("/v1/health/service/web")).Raw("/0/Node/Meta"), R"({"rack":"r2"})");
}

TEST_F(HealthTest, UnknownServiceIsEmptyListWithIndex) {
  Response r = agent().Get("/v1/health/service/nope");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.body, "[]");
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_GT(ConsulIndex(r), 0u);
}

TEST_F(HealthTest, ChecksOfServiceListsOnlyServiceChecks) {
  AddInstance("web", "web-1", "passing");
  AddInstance("web", "web-2", "warning");
  AddInstance("db", "db-1", "critical");
  Response r = agent().Get("/v1/health/checks/web");
  ASSERT_TRUE(IsOk(r));
  EXPECT_GT(ConsulIndex(r), 0u);
  EXPECT_EQ(CheckIds("/v1/health/checks/web"), (IdList{"service:web-1", "service:web-2"}));
  EXPECT_EQ(CheckIds("/v1/health/checks/web?filter=Status%20==%20warning"),
            IdList{"service:web-2"});
  EXPECT_EQ(Json(r).Str("/0/ServiceName"), "web");

  Response unknown = agent().Get("/v1/health/checks/nope");
  ASSERT_TRUE(IsOk(unknown));
  EXPECT_EQ(unknown.body, "[]");
  EXPECT_GT(ConsulIndex(unknown), 0u);
}

TEST_F(HealthTest, StateListsChecksInThatState) {
  AddInstance("web", "web-1", "passing");
  AddInstance("web", "web-2", "warning");
  AddInstance("db", "db-1", "critical");
  struct Case {
    std::string state;
    IdList want;
  };
  const Case cases[] = {
      {"any", {"serfHealth", "service:db-1", "service:web-1", "service:web-2"}},
      {"passing", {"serfHealth", "service:web-1"}},
      {"warning", {"service:web-2"}},
      {"critical", {"service:db-1"}},
      {"bogus", {}},
      {"PASSING", {}},  // states are the lower-case names only
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.state);
    Response r = agent().Get("/v1/health/state/" + c.state);
    ASSERT_TRUE(IsOk(r));
    EXPECT_EQ(r.Header("Content-Type"), "application/json");
    EXPECT_GT(ConsulIndex(r), 0u);
    EXPECT_EQ(CheckIds("/v1/health/state/" + c.state), c.want);
  }
  EXPECT_EQ(agent().Get("/v1/health/state/bogus").body, "[]");
  EXPECT_EQ(CheckIds("/v1/health/state/any?filter=ServiceName%20==%20db"), IdList{"service:db-1"});
}

TEST_F(HealthTest, StateHonoursNodeMeta) {
  ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/register", R"({"Node":"ext-1","Address":"10.1.1.1",
      "NodeMeta":{"rack":"r1"},"Check":{"Name":"ext-check","Status":"passing"}})")));
  EXPECT_EQ(CheckIds("/v1/health/state/passing?node-meta=rack:r1"), IdList{"ext-check"});
}

TEST_F(HealthTest, NodeListsNodeAndServiceChecks) {
  AddInstance("web", "web-1", "passing");
  ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/register", R"({"Name":"disk","TTL":"10m"})")));
  Response r = agent().Get("/v1/health/node/test-node");
  ASSERT_TRUE(IsOk(r));
  EXPECT_GT(ConsulIndex(r), 0u);
  EXPECT_EQ(CheckIds("/v1/health/node/test-node"), (IdList{"disk", "serfHealth", "service:web-1"}));
  EXPECT_EQ(CheckIds("/v1/health/node/TEST-NODE"), (IdList{"disk", "serfHealth", "service:web-1"}));

  Response unknown = agent().Get("/v1/health/node/nope");
  ASSERT_TRUE(IsOk(unknown));
  EXPECT_EQ(unknown.body, "[]");
  EXPECT_GT(ConsulIndex(unknown), 0u);
}

TEST_F(HealthTest, EmptyNameSegmentIs400) {
  EXPECT_TRUE(IsError(agent().Get("/v1/health/service/"), 400, "Missing service name"));
  EXPECT_TRUE(IsError(agent().Get("/v1/health/checks/"), 400, "Missing service name"));
  EXPECT_TRUE(IsError(agent().Get("/v1/health/state/"), 400, "Missing check state"));
  EXPECT_TRUE(IsError(agent().Get("/v1/health/node/"), 400, "Missing node name"));
}

}  // namespace
}  // namespace beacon::testutil
