// Bad input over real HTTP (STYLE.md section 3, consul-api.md 1.1-1.3, 4.1, 4.6): each bad request
// gets its exact 4xx status and a one-line plain-text message, changes nothing in the catalog,
// and leaves the server serving.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testutil/agent/test_agent.h"

namespace beacon::testutil {
namespace {

constexpr char kRegister[] = "/v1/agent/service/register";
constexpr char kDecodeFailed[] = "Request decode failed: ";

struct BadCase {
  std::string name;
  std::string method;
  std::string target;
  std::string body;
  int status;
  std::string message;  // the exact body, or its prefix when `prefix_only`
  bool prefix_only = false;
};

class BadInputTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    // Something to lose: a service with a check in a non-default state, and an external node.
    ASSERT_TRUE(IsOk(agent().Put(kRegister, R"({"Name":"keep","Tags":["t"],"Port":1,
        "Check":{"TTL":"10m"}})")));
    ASSERT_TRUE(IsOk(agent().Put("/v1/agent/check/warn/service:keep?note=kept")));
    ASSERT_TRUE(IsOk(agent().Put("/v1/catalog/register", R"({"Node":"ext-1",
        "Address":"10.1.1.1","Service":{"Service":"ext","Port":2}})")));
  }

  // Everything a bad request could have touched, with indexes, as one string.
  std::string CatalogState() {
    std::string state;
    for (const char* target :
         {"/v1/agent/services", "/v1/agent/checks", "/v1/health/state/any", "/v1/catalog/services",
          "/v1/catalog/nodes", "/v1/catalog/service/ext"}) {
      Response r = agent().Get(target);
      state +=
          std::string(target) + " " + r.ToString() + " @" + std::to_string(ConsulIndex(r)) + "\n";
    }
    return state;
  }

  // Sends the bad request and checks its answer, that nothing changed and the server still serves.
  void Expect(const BadCase& c) {
    SCOPED_TRACE(c.name);
    const std::string before = CatalogState();
    Response r = agent().Request(c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << r.ToString();
    if (c.prefix_only) {
      EXPECT_TRUE(r.body.starts_with(c.message)) << r.body;
    } else {
      EXPECT_EQ(r.body, c.message);
    }
    EXPECT_EQ(r.body.find('\n'), std::string::npos) << "not one line: " << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(CatalogState(), before);
    EXPECT_TRUE(IsOk(agent().Get("/v1/status/leader")));
  }
};

TEST_F(BadInputTest, ServiceRegistrationBodiesAreRejected) {
  constexpr int kDepth = 10'000;
  const std::string open_arrays(kDepth, '[');
  const std::string deep_array = open_arrays + std::string(kDepth, ']');  // valid but too deep
  std::string deep_object;
  for (int i = 0; i < kDepth; ++i) {
    deep_object += R"({"a":)";
  }
  deep_object += "1" + std::string(kDepth, '}');
  const BadCase cases[] = {
      {"malformed JSON", "PUT", kRegister, R"({"Name": "web",)", 400, kDecodeFailed, true},
      {"trailing garbage", "PUT", kRegister, R"({"Name":"web"} x)", 400, kDecodeFailed, true},
      {"empty body", "PUT", kRegister, "", 400, "Request decode failed: EOF"},
      {"blank body", "PUT", kRegister, " \r\n\t", 400, "Request decode failed: EOF"},
      {"not an object", "PUT", kRegister, "[]", 400,
       "Request decode failed: expected a JSON object, got array"},
      {"Port as string", "PUT", kRegister, R"({"Name":"web","Port":"abc"})", 400,
       "Request decode failed: Port: expected an integer, got string"},
      {"Port as fraction", "PUT", kRegister, R"({"Name":"web","Port":80.5})", 400,
       "Request decode failed: Port: expected an integer, got a fraction"},
      {"Tags as number", "PUT", kRegister, R"({"Name":"web","Tags":5})", 400,
       "Request decode failed: Tags: expected a list of strings, got number"},
      {"Tags element as number", "PUT", kRegister, R"({"Name":"web","Tags":["a",5]})", 400,
       "Request decode failed: Tags[1]: expected a string, got number"},
      {"Meta value as number", "PUT", kRegister, R"({"Name":"web","Meta":{"k":1}})", 400,
       "Request decode failed: Meta.k: expected a string, got number"},
      {"Check as list", "PUT", kRegister, R"({"Name":"web","Check":[]})", 400,
       "Request decode failed: Check: expected an object, got array"},
      {"missing Name", "PUT", kRegister, R"({"ID":"web-1","Port":80})", 400,
       "Missing service name"},
      {"empty Name", "PUT", kRegister, R"({"Name":""})", 400, "Missing service name"},
      {"port 70000", "PUT", kRegister, R"({"Name":"web","Port":70000})", 400,
       "Invalid service port: port must be between 0 and 65535, got 70000"},
      {"port -1", "PUT", kRegister, R"({"Name":"web","Port":-1})", 400,
       "Invalid service port: port must be between 0 and 65535, got -1"},
      {"Address 0.0.0.0", "PUT", kRegister, R"({"Name":"web","Address":"0.0.0.0"})", 400,
       "Invalid service address"},
      {"Address ::", "PUT", kRegister, R"({"Name":"web","Address":"::"})", 400,
       "Invalid service address"},
      {"check of unknown type", "PUT", kRegister,
       R"({"Name":"web","Check":{"Type":"bogus","Name":"c"}})", 400,
       "Invalid check: TTL must be > 0 for TTL checks"},
      {"Interval without a type", "PUT", kRegister, R"({"Name":"web","Check":{"Interval":"10s"}})",
       400, "Invalid check: TTL must be > 0 for TTL checks"},
      {"TTL and HTTP in one check", "PUT", kRegister,
       R"({"Name":"web","Check":{"TTL":"10s","HTTP":"http://127.0.0.1:1/"}})", 400,
       "Invalid check: TTL and HTTP are mutually exclusive"},
      {"HTTP without Interval", "PUT", kRegister,
       R"({"Name":"web","Check":{"HTTP":"http://127.0.0.1:1/"}})", 400,
       "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or GRPC checks"},
      {"TTL with Interval", "PUT", kRegister,
       R"({"Name":"web","Check":{"TTL":"10s","Interval":"10s"}})", 400,
       "Invalid check: Interval and TTL cannot be set simultaneously"},
      {"bad duration", "PUT", kRegister, R"({"Name":"web","Check":{"TTL":"10 s"}})", 400,
       kDecodeFailed, true},
      {"bad second check", "PUT", kRegister,
       R"({"Name":"web","Checks":[{"TTL":"10s"},{"Interval":"1s"}]})", 400,
       "Invalid check: TTL must be > 0 for TTL checks"},
      {"bad check Status", "PUT", kRegister,
       R"({"Name":"web","Check":{"TTL":"10s","Status":"ok"}})", 400,
       "Status for checks must 'passing', 'warning', 'critical'"},
      {"bad Meta key", "PUT", kRegister, R"({"Name":"web","Meta":{"bad key":"v"}})", 400,
       "Invalid Service Meta: Key contains invalid characters"},
      {"reserved Meta key", "PUT", kRegister, R"({"Name":"web","Meta":{"consul-x":"v"}})", 400,
       "Invalid Service Meta: Key prefix 'consul-' is reserved for internal use"},
      {"Weights.Passing 0", "PUT", kRegister,
       R"({"Name":"web","Weights":{"Passing":0,"Warning":1}})", 400,
       "Invalid Weights: Passing must be greater than 0"},
      {"Weights without Passing", "PUT", kRegister, R"({"Name":"web","Weights":{"Warning":1}})",
       400, "Invalid Weights: Passing must be greater than 0"},
      {"Weights.Warning -1", "PUT", kRegister,
       R"({"Name":"web","Weights":{"Passing":1,"Warning":-1}})", 400,
       "Invalid Weights: Warning must be greater or equal than 0"},
      {"10,000 open brackets", "PUT", kRegister, open_arrays, 400, kDecodeFailed, true},
      {"deeply nested array", "PUT", kRegister, deep_array, 400, kDecodeFailed, true},
      {"deeply nested object", "PUT", kRegister, R"({"Name":"web","Meta":)" + deep_object + "}",
       400, kDecodeFailed, true},
      {"invalid UTF-8", "PUT", kRegister, "{\"Name\":\"w\xff\xfe\"}", 400, kDecodeFailed, true},
      {"truncated UTF-8", "PUT", kRegister, "{\"Name\":\"w\xc3\"}", 400, kDecodeFailed, true},
      {"NUL in body", "PUT", kRegister, std::string("{\"Name\":\"w\0\"}", 13), 400, kDecodeFailed,
       true},
  };
  for (const BadCase& c : cases) {
    Expect(c);
  }
}

TEST_F(BadInputTest, CheckWritesAreRejected) {
  const BadCase cases[] = {
      {"check register: malformed", "PUT", "/v1/agent/check/register", "{", 400, kDecodeFailed,
       true},
      {"check register: no Name", "PUT", "/v1/agent/check/register", R"({"TTL":"10s"})", 400,
       "Missing check name"},
      {"check register: bad Status", "PUT", "/v1/agent/check/register",
       R"({"Name":"c","TTL":"10s","Status":"fine"})", 400, "Bad check status"},
      {"check register: unknown ServiceID", "PUT", "/v1/agent/check/register",
       R"({"Name":"c","TTL":"10s","ServiceID":"nope"})", 404, R"(ServiceID "nope" does not exist)"},
      {"check register: no type", "PUT", "/v1/agent/check/register", R"({"Name":"c"})", 400,
       "Invalid check: TTL must be > 0 for TTL checks"},
      {"check update: bad status", "PUT", "/v1/agent/check/update/service:keep",
       R"({"Status":"ok"})", 400, "Invalid check status: 'ok'"},
      {"check update: malformed", "PUT", "/v1/agent/check/update/service:keep", "{\"Status\"", 400,
       kDecodeFailed, true},
      {"check update: empty body", "PUT", "/v1/agent/check/update/service:keep", "", 400,
       "Request decode failed: EOF"},
      {"check pass: non-TTL", "PUT", "/v1/agent/check/pass/serfHealth", "", 500,
       R"(CheckID "serfHealth" does not have associated TTL)"},
  };
  for (const BadCase& c : cases) {
    Expect(c);
  }
}

TEST_F(BadInputTest, CatalogWritesAreRejected) {
  const BadCase cases[] = {
      {"register: malformed", "PUT", "/v1/catalog/register", "{", 400, kDecodeFailed, true},
      {"register: no Node", "PUT", "/v1/catalog/register", R"({"Address":"10.0.0.1"})", 400,
       "Must provide node"},
      {"register: no Address", "PUT", "/v1/catalog/register", R"({"Node":"n"})", 400,
       "Must provide address"},
      {"register: service without name", "PUT", "/v1/catalog/register",
       R"({"Node":"n","Address":"10.0.0.1","Service":{"Port":1}})", 400,
       "Must provide service name"},
      {"register: bad check status", "PUT", "/v1/catalog/register",
       R"({"Node":"n","Address":"10.0.0.1","Check":{"Name":"c","Status":"up"}})", 400,
       "Status for checks must 'passing', 'warning', 'critical'"},
      {"register: check of unknown service", "PUT", "/v1/catalog/register",
       R"({"Node":"n","Address":"10.0.0.1","Check":{"Name":"c","ServiceID":"nope"}})", 404,
       R"(Unknown service ID "nope" for check ID "c")"},
      {"register: other datacenter", "PUT", "/v1/catalog/register",
       R"({"Node":"n","Address":"10.0.0.1","Datacenter":"dc2"})", 500, "No path to datacenter"},
      {"deregister: no Node", "PUT", "/v1/catalog/deregister", R"({"ServiceID":"ext"})", 400,
       "Must provide node"},
      {"deregister: empty body", "PUT", "/v1/catalog/deregister", "", 400,
       "Request decode failed: EOF"},
  };
  for (const BadCase& c : cases) {
    Expect(c);
  }
}

TEST_F(BadInputTest, UnknownIdsAre404) {
  const std::string unknown_check =
      R"(Unknown check ID "nope". Ensure that the check ID is passed, not the check name.)";
  const BadCase cases[] = {
      {"service deregister", "PUT", "/v1/agent/service/deregister/nope", "", 404,
       R"(Unknown service ID "nope". Ensure that the service ID is passed, not the service name.)"},
      {"service by ID", "GET", "/v1/agent/service/nope", "", 404, "unknown service ID: nope"},
      {"service maintenance", "PUT", "/v1/agent/service/maintenance/nope?enable=true", "", 404,
       R"(No service registered with ID "nope")"},
      {"check deregister", "PUT", "/v1/agent/check/deregister/nope", "", 404, unknown_check},
      {"check pass", "PUT", "/v1/agent/check/pass/nope", "", 404, unknown_check},
      {"check warn (GET)", "GET", "/v1/agent/check/warn/nope", "", 404, unknown_check},
      {"check update", "PUT", "/v1/agent/check/update/nope", R"({"Status":"passing"})", 404,
       unknown_check},
      {"IDs are case-sensitive", "PUT", "/v1/agent/service/deregister/KEEP", "", 404,
       R"(Unknown service ID "KEEP". Ensure that the service ID is passed, not the service name.)"},
  };
  for (const BadCase& c : cases) {
    Expect(c);
  }
}

TEST_F(BadInputTest, UnsupportedMethodsAre405WithAllowHeader) {
  struct Case {
    std::string method;
    std::string target;
    std::string allow;
  };
  const Case cases[] = {
      {"DELETE", "/v1/agent/service/register", "OPTIONS,PUT,POST"},
      {"GET", "/v1/agent/service/register", "OPTIONS,PUT,POST"},
      {"GET", "/v1/agent/check/update/service:keep", "OPTIONS,PUT,POST"},
      {"GET", "/v1/agent/service/maintenance/keep?enable=true", "OPTIONS,PUT,POST"},
      {"DELETE", "/v1/agent/service/deregister/keep", "OPTIONS,GET,PUT,POST"},
      {"PUT", "/v1/agent/services", "OPTIONS,GET"},
      {"POST", "/v1/health/service/keep", "OPTIONS,GET"},
      {"PATCH", "/v1/catalog/register", "OPTIONS,PUT,POST"},
      {"DELETE", "/v1/catalog/nodes", "OPTIONS,GET"},
      {"PUT", "/v1/status/leader", "OPTIONS,GET"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.target);
    const std::string before = CatalogState();
    Response r = agent().Request(c.method, c.target);
    EXPECT_TRUE(IsError(r, 405, "method " + c.method + " not allowed"));
    EXPECT_EQ(r.Header("Allow"), c.allow);
    EXPECT_EQ(CatalogState(), before);
  }
}

TEST_F(BadInputTest, OptionsOnAKnownRouteAnswersAllow) {
  Response r = agent().Request("OPTIONS", "/v1/agent/service/register");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.Header("Allow"), "OPTIONS,PUT,POST");
  EXPECT_EQ(agent().Request("OPTIONS", "/v1/health/service/keep").Header("Allow"), "OPTIONS,GET");
}

TEST_F(BadInputTest, UnknownPathsAre404Text) {
  const std::string message = "Invalid URL path: not a recognized HTTP API endpoint";
  for (const std::string target :
       {"/v1/bogus", "/v1/agent/servicesx", "/v1/kv/some/key", "/v1/agent/", "/v1/", "/v1/catalog",
        "/v1/query", "/v1/agent/connect/ca/roots"}) {
    SCOPED_TRACE(target);
    Expect({target, "GET", target, "", 404, message});
  }
}

TEST_F(BadInputTest, OtherDatacenterIs500) {
  Expect({"dc=dc2", "GET", "/v1/health/service/keep?dc=dc2", "", 500, "No path to datacenter"});
  EXPECT_TRUE(IsOk(agent().Get("/v1/health/service/keep?dc=dc1")));
}

TEST_F(BadInputTest, MalformedPercentEscapeIs400) {
  Expect({"bad escape in path", "PUT", "/v1/agent/service/deregister/a%zz", "", 400,
          "Invalid URL escape in request target"});
  Expect({"bad escape in query", "GET", "/v1/health/service/keep?tag=%g1", "", 400,
          "Invalid URL escape in request target"});
}

TEST_F(BadInputTest, OversizedBodyIs413) {
  const std::string huge = R"({"Name":"web","Meta":{"k":")" + std::string(600 * 1024, 'x') + "\"}}";
  const std::string before = CatalogState();
  Response r = agent().Put(kRegister, huge);
  EXPECT_EQ(r.status, 413) << r.ToString().substr(0, 200);
  EXPECT_TRUE(r.body.starts_with("Request body")) << r.body;
  EXPECT_NE(r.body.find("524288"), std::string::npos) << r.body;
  EXPECT_EQ(CatalogState(), before);
  EXPECT_TRUE(IsOk(agent().Get("/v1/status/leader")));
}

TEST_F(BadInputTest, BodyJustUnderTheLimitIsReadAndValidated) {
  // 500 KiB of valid JSON is read in full; the oversized Meta value is then rejected by validation.
  const std::string big = R"({"Name":"web","Meta":{"k":")" + std::string(500 * 1024, 'x') + "\"}}";
  Expect({"500 KiB body", "PUT", kRegister, big, 400,
          "Invalid Service Meta: Value is too long (limit: 512 characters)"});
}

TEST_F(BadInputTest, GarbageInsteadOfHttpIs400AndServerKeepsServing) {
  const std::string before = CatalogState();
  RawConnection conn;
  ASSERT_TRUE(conn.Connect(agent().port()).ok());
  ASSERT_TRUE(conn.Send("THIS IS NOT HTTP\r\n\r\n").ok());
  const std::string answer = conn.ReadUntilClose(std::chrono::seconds(10));
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 ")) << answer;
  EXPECT_EQ(CatalogState(), before);
}

TEST_F(BadInputTest, ClientHangingUpMidRequestDoesNotBreakTheServer) {
  const std::string before = CatalogState();
  {
    RawConnection conn;
    ASSERT_TRUE(conn.Connect(agent().port()).ok());
    ASSERT_TRUE(conn.Send("PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\n"
                          "Content-Length: 100\r\n\r\n{\"Name\":\"half")
                    .ok());
  }
  EXPECT_EQ(CatalogState(), before);
}

}  // namespace
}  // namespace beacon::testutil
