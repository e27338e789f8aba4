#include "wire/decode.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"

namespace beacon::wire {
namespace {

using catalog::CheckSpec;
using catalog::Service;

// ---- compact renderings, so a failing case shows every decoded field at once ----------------

class Out {
 public:
  void Add(std::string_view key, std::string_view value) {
    if (!s_.empty()) {
      s_ += ' ';
    }
    s_.append(key);
    s_ += '=';
    s_.append(value);
  }
  void AddIf(std::string_view key, std::string_view value) {
    if (!value.empty()) {
      Add(key, value);
    }
  }
  void AddIf(std::string_view key, catalog::Nanos d) {
    if (d != catalog::Nanos::zero()) {
      Add(key, FormatGoDuration(d));
    }
  }
  void AddIf(std::string_view key, int v) {
    if (v != 0) {
      Add(key, std::to_string(v));
    }
  }
  void AddIf(std::string_view key, bool v) {
    if (v) {
      Add(key, "true");
    }
  }
  void AddIf(std::string_view key, const std::vector<std::string>& list) {
    if (!list.empty()) {
      Add(key, Join(list));
    }
  }
  std::string str() const { return s_; }

  static std::string Join(const std::vector<std::string>& list) {
    std::string j = "[";
    for (size_t i = 0; i < list.size(); ++i) {
      j += (i ? "," : "");
      j += list[i];
    }
    return j + "]";
  }

 private:
  std::string s_;
};

std::string Describe(const Service& s) {
  Out o;
  o.AddIf("id", s.id);
  o.AddIf("name", s.name);
  o.AddIf("tags", s.tags);
  o.AddIf("addr", s.address);
  for (const auto& [k, ta] : s.tagged_addresses) {
    o.Add("tagged." + k, ta.address + ":" + std::to_string(ta.port));
  }
  for (const auto& [k, v] : s.meta) {
    o.Add("meta." + k, v);
  }
  o.AddIf("port", s.port);
  if (!(s.weights == catalog::Weights{})) {
    o.Add("weights", std::to_string(s.weights.passing) + "/" + std::to_string(s.weights.warning));
  }
  o.AddIf("eto", s.enable_tag_override);
  o.AddIf("kind", s.kind);
  return o.str();
}

std::string Describe(const CheckSpec& c) {
  Out o;
  const catalog::CheckDefinition& d = c.definition;
  o.AddIf("id", c.id);
  o.AddIf("name", c.name);
  o.AddIf("notes", c.notes);
  if (c.status) {
    o.Add("status", catalog::HealthStatusName(*c.status));
  }
  o.AddIf("bad_status", c.invalid_status);
  o.AddIf("sid", c.service_id);
  o.AddIf("output", c.output);
  o.AddIf("type", catalog::CheckTypeName(d.type));
  o.AddIf("ttl", d.ttl);
  o.AddIf("interval", d.interval);
  o.AddIf("timeout", d.timeout);
  o.AddIf("dcsa", d.deregister_critical_service_after);
  o.AddIf("http", d.http);
  o.AddIf("method", d.method);
  for (const auto& [k, v] : d.header) {
    o.Add("header." + k, Out::Join(v));
  }
  o.AddIf("body", d.body);
  o.AddIf("no_redirects", d.disable_redirects);
  o.AddIf("tls_skip_verify", d.tls_skip_verify);
  o.AddIf("tls_server_name", d.tls_server_name);
  o.AddIf("tcp", d.tcp);
  o.AddIf("tcp_tls", d.tcp_use_tls);
  o.AddIf("grpc", d.grpc);
  o.AddIf("grpc_tls", d.grpc_use_tls);
  o.AddIf("udp", d.udp);
  o.AddIf("h2ping", d.h2ping);
  o.AddIf("args", d.script_args);
  o.AddIf("docker", d.docker_container_id);
  o.AddIf("shell", d.shell);
  o.AddIf("alias_node", d.alias_node);
  o.AddIf("alias_service", d.alias_service);
  o.AddIf("os_service", d.os_service);
  o.AddIf("sbp", d.success_before_passing);
  o.AddIf("fbw", d.failures_before_warning);
  o.AddIf("fbc", d.failures_before_critical);
  o.AddIf("oms", d.output_max_size);
  o.AddIf("err", c.decode_error);
  return o.str();
}

std::vector<std::string> DescribeChecks(const std::vector<CheckSpec>& checks) {
  std::vector<std::string> out;
  for (const CheckSpec& c : checks) {
    out.push_back(Describe(c));
  }
  return out;
}

// ---- agent service register ----------------------------------------------------------------

struct ServiceCase {
  std::string name;
  std::string body;
  std::string service;
  std::vector<std::string> checks;
};

TEST(DecodeAgentServiceRegister, DecodesBodies) {
  const std::vector<ServiceCase> cases = {
      {"go client, nulls",
       R"({"ID":"web-1","Name":"web","Tags":["a","b"],"Port":8080,"Address":"10.0.0.1",
           "Meta":{"k":"v"},"Weights":{"Passing":3,"Warning":2},"EnableTagOverride":true,
           "Check":null,"Checks":null,"Proxy":null,"Connect":null,"Kind":"","Namespace":""})",
       "id=web-1 name=web tags=[a,b] addr=10.0.0.1 meta.k=v port=8080 weights=3/2 eto=true",
       {}},
      {"python-consul lower-case keys (patroni)",
       R"({"name":"pg","id":"batman/pg0","address":"10.0.0.2","port":5432,"tags":["master"],
           "enabletagoverride":true,
           "check":{"http":"http://10.0.0.2:8008/","interval":"5s",
                    "DeregisterCriticalServiceAfter":"150.0s","TLSServerName":"pg"}})",
       "id=batman/pg0 name=pg tags=[master] addr=10.0.0.2 port=5432 eto=true",
       {"type=http interval=5s dcsa=2m30s http=http://10.0.0.2:8008/ tls_server_name=pg"}},
      {"upper-case and mixed-case keys",
       R"({"NAME":"x","Id":"y","PORT":1,"tAgS":["t"]})",
       "id=y name=x tags=[t] port=1",
       {}},
      {"snake_case aliases",
       R"({"Name":"x","enable_tag_override":true,
           "tagged_addresses":{"lan":{"address":"1.2.3.4","port":1},"wan":{"Address":"5.6.7.8"}},
           "check":{"ttl":"10s","deregister_critical_service_after":"1m","tls_skip_verify":true,
                    "tls_server_name":"s","docker_container_id":"d","grpc_use_tls":true,
                    "disable_redirects":true,"script_args":["a"]}})",
       "name=x tagged.lan=1.2.3.4:1 tagged.wan=5.6.7.8:0 eto=true",
       {"type=ttl ttl=10s dcsa=1m0s no_redirects=true tls_skip_verify=true tls_server_name=s "
        "grpc_tls=true args=[a] docker=d err=TTL and ScriptArgs are mutually exclusive"}},
      {"Check first, then Checks",
       R"({"Name":"x","Checks":[{"CheckID":"b","TTL":"5s"},{"ID":"c","TCP":"h:1","Interval":"1s"}],
           "Check":{"Name":"a","TTL":"1s"}})",
       "name=x",
       {"name=a type=ttl ttl=1s", "id=b type=ttl ttl=5s", "id=c type=tcp interval=1s tcp=h:1"}},
      {"empty Check is ignored", R"({"Name":"x","Check":{}})", "name=x", {}},
      {"Check with only empty fields is ignored",
       R"({"Name":"x","Check":{"Name":"","HTTP":"","Interval":"0s","Header":null,"Status":""}})",
       "name=x",
       {}},
      {"empty entries of Checks are kept for validation, null ones skipped",
       R"({"Name":"x","Checks":[{},null]})",
       "name=x",
       {""}},
      {"numeric nanosecond durations",
       R"({"Name":"x","Check":{"HTTP":"http://h","Interval":10000000000,"Timeout":1500000000.9,
           "DeregisterCriticalServiceAfter":60000000000}})",
       "name=x",
       {"type=http interval=10s timeout=1.5s dcsa=1m0s http=http://h"}},
      {"status values",
       R"({"Name":"x","Checks":[{"TTL":"1s","Status":"passing"},{"TTL":"1s","Status":""},
                                {"TTL":"1s","Status":"PASSING"}]})",
       "name=x",
       {"status=passing type=ttl ttl=1s", "type=ttl ttl=1s", "bad_status=PASSING type=ttl ttl=1s"}},
      {"several check kinds are reported",
       R"({"Name":"x","Checks":[{"TTL":"1s","HTTP":"http://h"},
                                {"HTTP":"http://h","TCP":"h:1","GRPC":"h:2","Interval":"1s"}]})",
       "name=x",
       {"type=ttl ttl=1s http=http://h err=TTL and HTTP are mutually exclusive",
        "type=http interval=1s http=http://h tcp=h:1 grpc=h:2 "
        "err=HTTP, TCP and GRPC are mutually exclusive"}},
      {"every check kind",
       R"({"Name":"x","Checks":[{"args":["/bin/true"],"Interval":"1s"},
           {"UDP":"h:53","Interval":"1s"},
           {"H2PING":"h:443","Interval":"1s"},{"AliasService":"db"},{"AliasNode":"n1"},
           {"OSService":"sshd","Interval":"1s"},
           {"GRPC":"h:1/svc","GRPCUseTLS":true,"Interval":"1s"},
           {"ScriptArgs":["x","y"],"DockerContainerID":"c","Shell":"/bin/sh","Interval":"1s"}]})",
       "name=x",
       {"type=script interval=1s args=[/bin/true]", "type=udp interval=1s udp=h:53",
        "type=h2ping interval=1s h2ping=h:443", "type=alias alias_service=db",
        "type=alias alias_node=n1", "type=os_service interval=1s os_service=sshd",
        "type=grpc interval=1s grpc=h:1/svc grpc_tls=true",
        "type=script interval=1s args=[x,y] docker=c shell=/bin/sh"}},
      {"http check fields",
       R"({"Name":"x","Check":{"CheckID":"c","Name":"n","Notes":"no","HTTP":"https://h/health",
           "Method":"POST","Header":{"X-A":["1","2"],"X-B":[],"X-C":null},"Body":"{}",
           "TLSSkipVerify":true,"Interval":"10s","Timeout":"2s","SuccessBeforePassing":2,
           "FailuresBeforeWarning":1,"FailuresBeforeCritical":3,"OutputMaxSize":100}})",
       "name=x",
       {"id=c name=n notes=no type=http interval=10s timeout=2s http=https://h/health method=POST "
        "header.X-A=[1,2] header.X-B=[] header.X-C=[] body={} tls_skip_verify=true sbp=2 fbw=1 "
        "fbc=3 oms=100"}},
      {"a ServiceID inside a service's check is ignored",
       R"({"Name":"x","Check":{"TTL":"1s","ServiceID":"other"}})",
       "name=x",
       {"type=ttl ttl=1s"}},
      {"unknown keys are ignored",
       R"({"Name":"x","Bogus":{"deep":[1,[2,{"a":null}]]},"SocketPath":"/s","Token":"t",
           "Check":{"TTL":"1s","Whatever":true}})",
       "name=x",
       {"type=ttl ttl=1s"}},
      {"last duplicate key wins", R"({"Name":"a","name":"b"})", "name=b", {}},
      {"a given Weights object starts from zero",
       R"({"Name":"x","Weights":{"Warning":2}})",
       "name=x weights=0/2",
       {}},
      {"null Weights keeps the default", R"({"Name":"x","Weights":null})", "name=x", {}},
      {"kind, null tags and meta values",
       R"({"Name":"x","Kind":"connect-proxy","Tags":["a",null],"Meta":{"m":null}})",
       "name=x tags=[a,] meta.m= kind=connect-proxy",
       {}},
      {"ports are not range-checked here", R"({"Name":"x","Port":-1})", "name=x port=-1", {}},
      {"large port decodes for validation",
       R"({"Name":"x","Port":70000})",
       "name=x port=70000",
       {}},
      {"body null is an empty request", "null", "", {}},
      {"surrounding whitespace", " \n {\"Name\":\"x\"} \n", "name=x", {}},
  };
  for (const ServiceCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<catalog::RegisterService> r = DecodeAgentServiceRegister(c.body);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(Describe(r->service), c.service);
    EXPECT_EQ(DescribeChecks(r->checks), c.checks);
    EXPECT_FALSE(r->replace_existing_checks);
  }
}

TEST(DecodeAgentServiceRegister, DefaultsWhenAbsent) {
  Result<catalog::RegisterService> r = DecodeAgentServiceRegister(R"({"Name":"web"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->service.id, "");  // the catalog defaults it to the name
  EXPECT_EQ(r->service.weights, (catalog::Weights{1, 1}));
  EXPECT_TRUE(r->checks.empty());
}

struct ErrorCase {
  std::string name;
  std::string body;
  std::string message;  // the whole message, or a prefix when it ends with "..."
};

void ExpectError(const Status& st, const ErrorCase& c) {
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  if (c.message.size() > 3 && c.message.ends_with("...")) {
    std::string prefix = c.message.substr(0, c.message.size() - 3);
    EXPECT_TRUE(st.message().starts_with(prefix)) << st.message();
    EXPECT_GT(st.message().size(), prefix.size()) << st.message();
  } else {
    EXPECT_EQ(st.message(), c.message);
  }
}

TEST(DecodeAgentServiceRegister, RejectsBadBodies) {
  const std::vector<ErrorCase> cases = {
      {"empty body", "", "Request decode failed: EOF"},
      {"whitespace body", " \r\n\t", "Request decode failed: EOF"},
      {"truncated object", R"({"Name":)", "Request decode failed: ..."},
      {"trailing garbage", R"({"Name":"x"} x)", "Request decode failed: ..."},
      {"not json", "Name=x", "Request decode failed: ..."},
      {"invalid utf-8", "{\"Name\":\"\xff\"}",
       "Request decode failed: The input is not valid UTF-8"},
      {"top-level array", "[]", "Request decode failed: expected a JSON object, got array"},
      {"top-level string", R"("x")", "Request decode failed: expected a JSON object, got string"},
      {"port as string", R"({"Port":"abc"})",
       "Request decode failed: Port: expected an integer, got string"},
      {"port numeric string", R"({"Port":"8080"})",
       "Request decode failed: Port: expected an integer, got string"},
      {"port fraction", R"({"Port":80.5})",
       "Request decode failed: Port: expected an integer, got a fraction"},
      {"port huge double", R"({"Port":1e30})", "Request decode failed: Port: number out of range"},
      {"port above int", R"({"Port":4294967296})",
       "Request decode failed: Port: number out of range"},
      {"port below int", R"({"Port":-4294967296})",
       "Request decode failed: Port: number out of range"},
      {"port uint64", R"({"Port":18446744073709551615})",
       "Request decode failed: Port: number out of range"},
      {"port beyond uint64", R"({"Port":99999999999999999999999})", "Request decode failed: ..."},
      {"name not a string", R"({"Name":1})",
       "Request decode failed: Name: expected a string, got number"},
      {"tags not a list", R"({"Tags":"a"})",
       "Request decode failed: Tags: expected a list of strings, got string"},
      {"tag not a string", R"({"Tags":["a",1]})",
       "Request decode failed: Tags[1]: expected a string, got number"},
      {"meta not an object", R"({"Meta":["a"]})",
       "Request decode failed: Meta: expected an object of strings, got array"},
      {"meta value not a string", R"({"Meta":{"a":1}})",
       "Request decode failed: Meta.a: expected a string, got number"},
      {"bool as string", R"({"EnableTagOverride":"true"})",
       "Request decode failed: EnableTagOverride: expected a bool, got string"},
      {"weights not an object", R"({"Weights":3})",
       "Request decode failed: Weights: expected an object, got number"},
      {"weights field", R"({"Weights":{"Passing":"1"}})",
       "Request decode failed: Weights.Passing: expected an integer, got string"},
      {"tagged address port", R"({"TaggedAddresses":{"lan":{"Port":"x"}}})",
       "Request decode failed: TaggedAddresses.lan.Port: expected an integer, got string"},
      {"tagged address not an object", R"({"TaggedAddresses":{"lan":"1.2.3.4"}})",
       "Request decode failed: TaggedAddresses.lan: expected an object, got string"},
      {"check not an object", R"({"Check":"x"})",
       "Request decode failed: Check: expected an object, got string"},
      {"checks not a list", R"({"Checks":{}})",
       "Request decode failed: Checks: expected a list of checks, got object"},
      {"check element not an object", R"({"Checks":[{},3]})",
       "Request decode failed: Checks[1]: expected an object, got number"},
      {"duration wrong type", R"({"Checks":[{},{"TTL":[]}]})",
       "Request decode failed: Checks[1].TTL: expected a duration, got array"},
      {"duration bad text", R"({"Check":{"Interval":"abc"}})",
       "Request decode failed: Check.Interval: ..."},
      {"duration missing unit", R"({"Check":{"Interval":"10"}})",
       "Request decode failed: Check.Interval: ..."},
      {"duration huge number", R"({"Check":{"Interval":1e30}})",
       "Request decode failed: Check.Interval: duration out of range"},
      {"duration uint64", R"({"Check":{"Timeout":18446744073709551615}})",
       "Request decode failed: Check.Timeout: duration out of range"},
      {"header not lists", R"({"Check":{"Header":{"A":"b"}}})",
       "Request decode failed: Check.Header.A: expected a list of strings, got string"},
      {"header not an object", R"({"Check":{"Header":["A"]}})",
       "Request decode failed: Check.Header: expected an object of string lists, got array"},
      {"status not a string", R"({"Check":{"Status":1}})",
       "Request decode failed: Check.Status: expected a string, got number"},
      {"args not a list", R"({"Check":{"Args":"/bin/true"}})",
       "Request decode failed: Check.Args: expected a list of strings, got string"},
      {"int field of check", R"({"Check":{"OutputMaxSize":1.5}})",
       "Request decode failed: Check.OutputMaxSize: expected an integer, got a fraction"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<catalog::RegisterService> r = DecodeAgentServiceRegister(c.body);
    ASSERT_FALSE(r.ok());
    ExpectError(r.status(), c);
  }
}

TEST(DecodeAgentServiceRegister, DeepNestingIsAnErrorNotACrash) {
  for (size_t depth : {2000u, 100000u}) {
    SCOPED_TRACE(depth);
    std::string body =
        R"({"Name":"x","Bogus":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
    Result<catalog::RegisterService> r = DecodeAgentServiceRegister(body);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().message().starts_with("Request decode failed: "));
  }
  // Unbalanced, as an attacker would send it.
  Result<catalog::RegisterService> r = DecodeAgentServiceRegister(std::string(500000, '['));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().message().starts_with("Request decode failed: "));
}

TEST(DecodeAgentServiceRegister, ModerateNestingInUnknownKeysIsIgnored) {
  std::string body =
      R"({"Name":"x","Bogus":)" + std::string(100, '[') + std::string(100, ']') + "}";
  Result<catalog::RegisterService> r = DecodeAgentServiceRegister(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->service.name, "x");
}

TEST(DecodeAgentServiceRegister, LargeBodyUsesItsOwnParser) {
  std::string body = R"({"Name":"x","Meta":{"big":")" + std::string(200000, 'a') + R"("}})";
  Result<catalog::RegisterService> r = DecodeAgentServiceRegister(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->service.meta["big"].size(), 200000u);
  // A small body decoded afterwards on the same thread still works.
  Result<catalog::RegisterService> small = DecodeAgentServiceRegister(R"({"Name":"y"})");
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->service.name, "y");
}

// ---- agent check register ------------------------------------------------------------------

struct CheckCase {
  std::string name;
  std::string body;
  std::string check;
};

TEST(DecodeAgentCheckRegister, DecodesBodies) {
  const std::vector<CheckCase> cases = {
      {"python-consul ttl check",
       R"({"name":"c1","id":"c1id","notes":"n","serviceid":"web","ttl":"10s"})",
       "id=c1id name=c1 notes=n sid=web type=ttl ttl=10s"},
      {"python-consul http check",
       R"({"name":"h","http":"http://x/","interval":"10s","timeout":"1s",
           "DeregisterCriticalServiceAfter":"2m"})",
       "name=h type=http interval=10s timeout=1s dcsa=2m0s http=http://x/"},
      {"python-consul tcp check", R"({"name":"t","tcp":"db:5432","interval":"5s"})",
       "name=t type=tcp interval=5s tcp=db:5432"},
      {"CheckID alias", R"({"Name":"x","CheckID":"cid","TTL":"1s"})",
       "id=cid name=x type=ttl ttl=1s"},
      {"ID wins over CheckID, either order", R"({"ID":"a","CheckID":"b","Name":"x","TTL":"1s"})",
       "id=a name=x type=ttl ttl=1s"},
      {"ID wins over CheckID, reversed", R"({"CheckID":"b","ID":"a","Name":"x","TTL":"1s"})",
       "id=a name=x type=ttl ttl=1s"},
      {"service_id alias", R"({"Name":"x","service_id":"web","TTL":"1s"})",
       "name=x sid=web type=ttl ttl=1s"},
      {"initial status", R"({"Name":"x","TTL":"1s","Status":"warning"})",
       "name=x status=warning type=ttl ttl=1s"},
      {"invalid status is kept for validation", R"({"Name":"x","TTL":"1s","Status":"ok"})",
       "name=x bad_status=ok type=ttl ttl=1s"},
      {"args alias (python-consul2)", R"({"Name":"x","Args":["/bin/check","-v"],"Interval":"30s"})",
       "name=x type=script interval=30s args=[/bin/check,-v]"},
      {"grpc (python-consul2)", R"({"Name":"g","GRPC":"h:50051","Interval":"10s"})",
       "name=g type=grpc interval=10s grpc=h:50051"},
      {"empty object", "{}", ""},
      {"null body", "null", ""},
      {"ambiguous kinds", R"({"Name":"x","TCP":"h:1","UDP":"h:2","Interval":"1s"})",
       "name=x type=tcp interval=1s tcp=h:1 udp=h:2 err=TCP and UDP are mutually exclusive"},
  };
  for (const CheckCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<catalog::RegisterCheck> r = DecodeAgentCheckRegister(c.body);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(Describe(r->check), c.check);
  }
}

TEST(DecodeAgentCheckRegister, RejectsBadBodies) {
  const std::vector<ErrorCase> cases = {
      {"empty", "", "Request decode failed: EOF"},
      {"malformed", "{", "Request decode failed: ..."},
      {"name type", R"({"Name":["x"]})",
       "Request decode failed: Name: expected a string, got array"},
      {"interval type", R"({"Interval":true})",
       "Request decode failed: Interval: expected a duration, got bool"},
      {"service id type", R"({"ServiceID":1})",
       "Request decode failed: ServiceID: expected a string, got number"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<catalog::RegisterCheck> r = DecodeAgentCheckRegister(c.body);
    ASSERT_FALSE(r.ok());
    ExpectError(r.status(), c);
  }
}

// ---- check update --------------------------------------------------------------------------

TEST(DecodeCheckUpdate, DecodesStatusAndOutput) {
  struct Case {
    std::string body;
    catalog::HealthStatus status;
    std::string output;
  };
  const std::vector<Case> cases = {
      {R"({"Status":"passing","Output":"ok"})", catalog::HealthStatus::kPassing, "ok"},
      {R"({"status":"warning"})", catalog::HealthStatus::kWarning, ""},
      {R"({"STATUS":"critical","output":"down","Extra":1})", catalog::HealthStatus::kCritical,
       "down"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    Result<catalog::UpdateTtl> r = DecodeCheckUpdate(c.body);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, c.status);
    EXPECT_EQ(r->output, c.output);
    EXPECT_EQ(r->check_id, "");
  }
}

TEST(DecodeCheckUpdate, RejectsBadStatus) {
  const std::vector<ErrorCase> cases = {
      {"unknown status", R"({"Status":"bogus"})", "Invalid check status: 'bogus'"},
      {"upper-case status", R"({"Status":"PASSING"})", "Invalid check status: 'PASSING'"},
      {"missing status", R"({"Output":"x"})", "Invalid check status: ''"},
      {"null status", R"({"Status":null})", "Invalid check status: ''"},
      {"empty body", "", "Request decode failed: EOF"},
      {"status type", R"({"Status":1})",
       "Request decode failed: Status: expected a string, got number"},
      {"output type", R"({"Status":"passing","Output":{}})",
       "Request decode failed: Output: expected a string, got object"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<catalog::UpdateTtl> r = DecodeCheckUpdate(c.body);
    ASSERT_FALSE(r.ok());
    ExpectError(r.status(), c);
  }
}

// ---- catalog register / deregister ---------------------------------------------------------

std::string DescribeNode(const catalog::Node& n) {
  Out o;
  o.AddIf("id", n.id);
  o.AddIf("name", n.name);
  o.AddIf("addr", n.address);
  o.AddIf("dc", n.datacenter);
  for (const auto& [k, v] : n.tagged_addresses) {
    o.Add("tagged." + k, v);
  }
  for (const auto& [k, v] : n.meta) {
    o.Add("meta." + k, v);
  }
  return o.str();
}

struct CatalogCase {
  std::string name;
  std::string body;
  std::string node;
  std::string service;  // "-" when absent
  std::vector<std::string> checks;
  bool skip_node_update = false;
};

TEST(DecodeCatalogRegister, DecodesBodies) {
  const std::vector<CatalogCase> cases = {
      {"go client",
       R"({"ID":"40e4a748-2192-161a-0510-9bf59fe950b5","Node":"ext","Address":"10.1.1.1",
           "Datacenter":"dc1","TaggedAddresses":{"wan":"1.1.1.1"},"NodeMeta":{"k":"v"},
           "Service":{"ID":"s1","Service":"redis","Tags":["primary"],"Port":8000,
                      "Weights":{"Passing":0,"Warning":0},"Address":"","Meta":null},
           "Check":{"Node":"ext","CheckID":"service:s1","Name":"Redis health","Notes":"n",
                    "Status":"passing","ServiceID":"s1","ServiceName":"redis","Type":"tcp",
                    "Definition":{"TCP":"localhost:8888","Interval":"5s","Timeout":"1s",
                                  "DeregisterCriticalServiceAfter":"30s"}},
           "Checks":null,"SkipNodeUpdate":false})",
       "id=40e4a748-2192-161a-0510-9bf59fe950b5 name=ext addr=10.1.1.1 dc=dc1 "
       "tagged.wan=1.1.1.1 meta.k=v",
       "id=s1 name=redis tags=[primary] port=8000 weights=0/0",
       {"id=service:s1 name=Redis health notes=n status=passing sid=s1 type=tcp interval=5s "
        "timeout=1s dcsa=30s tcp=localhost:8888"}},
      {"python-consul lower-case keys",
       R"({"node":"n","address":"a","datacenter":"dc1",
           "service":{"service":"s","port":1,"id":"s-1"},
           "check":{"name":"c","status":"warning","output":"o","serviceid":"s-1"},
           "WriteRequest":{"Token":"x"}})",
       "name=n addr=a dc=dc1",
       "id=s-1 name=s port=1",
       {"name=c status=warning sid=s-1 output=o"}},
      {"snake aliases",
       R"({"node":"n","tagged_addresses":{"lan":"x"},"node_meta":{"a":"b"},
                           "skip_node_update":true})",
       "name=n tagged.lan=x meta.a=b",
       "-",
       {},
       true},
      {"definition with ...Duration names",
       R"({"Node":"n","Checks":[{"CheckID":"c","Definition":{"HTTP":"http://x",
           "IntervalDuration":"10s","TimeoutDuration":2000000000,
           "DeregisterCriticalServiceAfterDuration":"1m","Header":{"A":["b"]},"Method":"HEAD"}},
           {"CheckID":"d","Definition":{"TTLDuration":"30s"}}]})",
       "name=n",
       "-",
       {"id=c type=http interval=10s timeout=2s dcsa=1m0s http=http://x method=HEAD header.A=[b]",
        "id=d type=ttl ttl=30s"}},
      {"top-level Interval/Timeout of a HealthCheck",
       R"({"Node":"n","Check":{"CheckID":"c","Interval":"3s","Timeout":"1s",
           "Definition":{"Interval":"7s"}}})",
       "name=n",
       "-",
       {"id=c interval=7s timeout=1s"}},
      {"check without definition has no type",
       R"({"Node":"n","Check":{"CheckID":"c","ID":"x"}})",
       "name=n",
       "-",
       {"id=x"}},
      {"flat type fields are not read from a catalog check",
       R"({"Node":"n","Check":{"CheckID":"c","HTTP":"http://x","TTL":"1s"}})",
       "name=n",
       "-",
       {"id=c"}},
      {"null Service is absent, empty Check ignored",
       R"({"Node":"n","Service":null,"Check":{}})",
       "name=n",
       "-",
       {}},
      {"empty Service object is present", R"({"Node":"n","Service":{}})", "name=n", "", {}},
      {"service name is `Service` in the catalog form",
       R"({"Node":"n","Service":{"Name":"ignored","Service":"real"}})",
       "name=n",
       "name=real",
       {}},
      {"Check then Checks",
       R"({"Node":"n","Checks":[{"CheckID":"b"}],"Check":{"CheckID":"a"}})",
       "name=n",
       "-",
       {"id=a", "id=b"}},
  };
  for (const CatalogCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<catalog::CatalogRegister> r = DecodeCatalogRegister(c.body);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(DescribeNode(r->node), c.node);
    EXPECT_EQ(r->service ? Describe(*r->service) : "-", c.service);
    EXPECT_EQ(DescribeChecks(r->checks), c.checks);
    EXPECT_EQ(r->skip_node_update, c.skip_node_update);
  }
}

TEST(DecodeCatalogRegister, RejectsBadBodies) {
  const std::vector<ErrorCase> cases = {
      {"empty", "", "Request decode failed: EOF"},
      {"node type", R"({"Node":1})", "Request decode failed: Node: expected a string, got number"},
      {"tagged addresses are strings for nodes", R"({"TaggedAddresses":{"lan":{"Address":"x"}}})",
       "Request decode failed: TaggedAddresses.lan: expected a string, got object"},
      {"service not an object", R"({"Service":"redis"})",
       "Request decode failed: Service: expected an object, got string"},
      {"service port", R"({"Service":{"Port":"x"}})",
       "Request decode failed: Service.Port: expected an integer, got string"},
      {"definition not an object", R"({"Check":{"Definition":"x"}})",
       "Request decode failed: Check.Definition: expected an object, got string"},
      {"definition field", R"({"Checks":[{"Definition":{"Interval":true}}]})",
       "Request decode failed: Checks[0].Definition.Interval: expected a duration, got bool"},
      {"skip node update type", R"({"SkipNodeUpdate":"yes"})",
       "Request decode failed: SkipNodeUpdate: expected a bool, got string"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<catalog::CatalogRegister> r = DecodeCatalogRegister(c.body);
    ASSERT_FALSE(r.ok());
    ExpectError(r.status(), c);
  }
}

TEST(DecodeCatalogDeregister, DecodesBodies) {
  struct Case {
    std::string body;
    std::string node, service_id, check_id;
  };
  const std::vector<Case> cases = {
      {R"({"Node":"n"})", "n", "", ""},
      {R"({"Node":"n","ServiceID":"s","Datacenter":"dc1"})", "n", "s", ""},
      {R"({"node":"n","serviceid":"s","checkid":"c","datacenter":"dc1"})", "n", "s", "c"},
      {R"({"Node":"n","service_id":"s","check_id":"c","WriteRequest":null})", "n", "s", "c"},
      {R"({"Node":"n","CheckID":"c"})", "n", "", "c"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    Result<catalog::CatalogDeregister> r = DecodeCatalogDeregister(c.body);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->node, c.node);
    EXPECT_EQ(r->service_id, c.service_id);
    EXPECT_EQ(r->check_id, c.check_id);
  }
}

TEST(DecodeCatalogDeregister, RejectsBadBodies) {
  const std::vector<ErrorCase> cases = {
      {"empty", "", "Request decode failed: EOF"},
      {"malformed", R"({"Node":"n",})", "Request decode failed: ..."},
      {"node type", R"({"Node":1})", "Request decode failed: Node: expected a string, got number"},
      {"datacenter type", R"({"Node":"n","Datacenter":[]})",
       "Request decode failed: Datacenter: expected a string, got array"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<catalog::CatalogDeregister> r = DecodeCatalogDeregister(c.body);
    ASSERT_FALSE(r.ok());
    ExpectError(r.status(), c);
  }
}

}  // namespace
}  // namespace beacon::wire
