#include "wire/filter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace beacon::wire {
namespace {

using catalog::Check;
using catalog::CheckType;
using catalog::HealthStatus;
using catalog::Instance;
using catalog::Node;
using catalog::Service;
using std::chrono::seconds;

struct Case {
  std::string expr;
  bool want;
};

Node MakeNode() {
  Node n;
  n.id = "6a5e3c3e-0a5f-4d7e-9c1e-2f3f6b1f0c11";
  n.name = "db-1";
  n.address = "10.0.0.5";
  n.datacenter = "dc1";
  n.tagged_addresses = {{"lan", "10.0.0.5"}, {"wan", "198.51.100.5"}};
  n.meta = {{"env", "prod"}, {"build-id", "abc123"}, {"blank", ""}};
  n.create_index = 5;
  n.modify_index = 9;
  return n;
}

Service MakeService() {
  Service s;
  s.id = "web-1";
  s.name = "web";
  s.tags = {"v1.2", "primary", "http"};
  s.address = "10.0.0.6";
  s.port = 8080;
  s.meta = {{"version", "1.2.3"}, {"team", "core"}};
  s.weights = {10, 1};
  s.enable_tag_override = true;
  s.tagged_addresses = {{"lan_ipv4", {"10.0.0.6", 8080}}, {"wan_ipv4", {"203.0.113.6", 80}}};
  s.create_index = 7;
  s.modify_index = 11;
  return s;
}

Check MakeServiceCheck() {
  Check c;
  c.node = "db-1";
  c.id = "service:web-1";
  c.name = "Service 'web' check";
  c.status = HealthStatus::kPassing;
  c.output = "HTTP GET http://10.0.0.6:8080/health: 200 OK";
  c.service_id = "web-1";
  c.service_name = "web";
  c.service_tags = {"v1.2", "primary", "http"};
  c.definition.type = CheckType::kHttp;
  c.definition.interval = seconds(10);
  c.definition.timeout = std::chrono::milliseconds(1500);
  c.create_index = 8;
  c.modify_index = 12;
  return c;
}

Check MakeMemCheck() {
  Check c;
  c.node = "db-1";
  c.id = "mem";
  c.name = "Memory";
  c.status = HealthStatus::kWarning;
  c.notes = "high memory";
  c.output = "92% used";
  c.definition.type = CheckType::kTtl;
  c.definition.ttl = seconds(30);
  return c;
}

Check MakeSerfCheck() {
  Check c;
  c.node = "db-1";
  c.id = std::string(catalog::kSerfHealthCheckId);
  c.name = std::string(catalog::kSerfHealthName);
  c.status = HealthStatus::kPassing;
  c.output = std::string(catalog::kSerfHealthOutput);
  return c;
}

// A web instance on db-1 with a passing service check, a warning node check and serfHealth.
Instance MakeInstance() {
  Instance inst;
  inst.node = std::make_shared<const Node>(MakeNode());
  inst.service = std::make_shared<const Service>(MakeService());
  inst.checks = {std::make_shared<const Check>(MakeServiceCheck()),
                 std::make_shared<const Check>(MakeMemCheck()),
                 std::make_shared<const Check>(MakeSerfCheck())};
  return inst;
}

Filter MustParse(const std::string& expr, FilterTarget target) {
  Result<Filter> f = Filter::Parse(expr, target);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? std::move(f).value() : Filter();
}

void RunCases(const std::vector<Case>& cases, FilterTarget target,
              const std::function<bool(const Filter&)>& match) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expr);
    Result<Filter> f = Filter::Parse(c.expr, target);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_FALSE(f->MatchesAll());
    EXPECT_EQ(match(*f), c.want);
  }
}

void RunHealthCases(const std::vector<Case>& cases, const Instance& inst) {
  RunCases(cases, FilterTarget::kHealthService, [&](const Filter& f) { return f.Matches(inst); });
}

TEST(Filter, StringOperators) {
  RunHealthCases(
      {
          {"Service.Service == web", true},
          {"Service.Service == \"web\"", true},
          {"Service.Service == `web`", true},
          {"Service.Service == Web", false},
          {"Service.Service != web", false},
          {"Service.Service != api", true},
          {"Service.ID contains \"b-\"", true},
          {"Service.ID contains x", false},
          {"Service.ID not contains x", true},
          {"Service.ID not contains web", false},
          {"\"eb-\" in Service.ID", true},
          {"eb in Service.ID", true},
          {"\"zz\" in Service.ID", false},
          {"\"zz\" not in Service.ID", true},
          {"web not in Service.ID", false},
          {"Service.ID matches \"^web-[0-9]+$\"", true},
          {"Service.ID matches \"eb\"", true},  // unanchored
          {"Service.ID matches \"^eb\"", false},
          {"Service.ID not matches \"^api\"", true},
          {"Service.ID not matches \"-1$\"", false},
          {"Service.Kind is empty", true},
          {"Service.Kind is not empty", false},
          {"Service.Address is not empty", true},
          {"Service.Address == \"10.0.0.6\"", true},
          {"Node.Node == \"db-1\"", true},
          {"Node.Address == \"10.0.0.5\"", true},
          {"Node.Datacenter == dc1", true},
          {"Node.ID == \"6a5e3c3e-0a5f-4d7e-9c1e-2f3f6b1f0c11\"", true},
          {"Node.ID matches \"^[0-9a-f-]{36}$\"", true},
      },
      MakeInstance());
}

TEST(Filter, StringLiteralsAndBarewords) {
  RunHealthCases(
      {
          {R"(Service.Meta.team == "c\x6fre")", true},
          {R"(Service.Meta.team == "\u0063ore")", true},
          {R"(Service.Meta.team == "\U00000063ore")", true},
          {R"(Service.Meta.team == "\143ore")", true},
          {R"(Service.Meta.team == "co\"re")", false},
          {R"(Service.Meta.team == `c\x6fre`)", false},  // raw: no escapes
          {"Service.Tags contains v1.2", true},          // bareword with dots
          {"Service.Meta.version == \"1.2.3\"", true},
          {"Node.Meta.env==prod", true},  // no spaces needed around ==
          {"  Node.Meta.env == prod  ", true},
          {"\tNode.Meta.env\n==\rprod", true},
      },
      MakeInstance());
}

TEST(Filter, ScalarConversion) {
  RunHealthCases(
      {
          {"Service.Port == 8080", true},
          {"Service.Port == \"8080\"", true},
          {"Service.Port != 8080", false},
          {"Service.Port != -1", true},
          {"Service.Port == \"0x1F90\"", true},
          {"Service.Port == \"0o17620\"", true},
          {"Service.Port == \"017620\"", true},  // leading 0 is octal, as strconv base 0
          {"Service.Port == \"0b1111110010000\"", true},
          {"Service.Port == \"8_080\"", true},
          {"Service.Weights.Passing == 10", true},
          {"Service.Weights.Warning == 1", true},
          {"Service.Weights.Warning != 1", false},
          {"Service.EnableTagOverride == true", true},
          {"Service.EnableTagOverride == True", true},
          {"Service.EnableTagOverride == TRUE", true},
          {"Service.EnableTagOverride == t", true},
          {"Service.EnableTagOverride == T", true},
          {"Service.EnableTagOverride == 1", true},
          {"Service.EnableTagOverride == false", false},
          {"Service.EnableTagOverride != f", true},
          {"Service.EnableTagOverride != 0", true},
          {"Service.CreateIndex == 7", true},
          {"Service.ModifyIndex == 11", true},
          {"Node.CreateIndex == 5", true},
          {"Node.ModifyIndex != 9", false},
      },
      MakeInstance());
}

TEST(Filter, ListOperators) {
  RunHealthCases(
      {
          {"Service.Tags contains primary", true},
          {"Service.Tags contains prim", false},  // element equality, not substring
          {"Service.Tags not contains primary", false},
          {"Service.Tags not contains canary", true},
          {"primary in Service.Tags", true},
          {"\"http\" in Service.Tags", true},
          {"canary in Service.Tags", false},
          {"canary not in Service.Tags", true},
          {"Service.Tags is empty", false},
          {"Service.Tags is not empty", true},
      },
      MakeInstance());
  Instance bare = MakeInstance();
  Service no_tags = MakeService();
  no_tags.tags.clear();
  bare.service = std::make_shared<const Service>(no_tags);
  RunHealthCases({{"Service.Tags is empty", true}, {"x in Service.Tags", false}}, bare);
}

TEST(Filter, MapOperators) {
  RunHealthCases(
      {
          {"Node.Meta contains env", true},
          {"env in Node.Meta", true},
          {"\"build-id\" in Node.Meta", true},
          {"prod in Node.Meta", false},  // keys, not values
          {"Node.Meta not contains zone", true},
          {"zone not in Node.Meta", true},
          {"Node.Meta is not empty", true},
          {"Node.Meta is empty", false},
          {"Node.Meta.env == prod", true},
          {"Node.Meta[\"env\"] == prod", true},
          {"Node.Meta[ `build-id` ] == abc123", true},
          {"Node.Meta[\"build-id\"] contains 123", true},
          {"Node.Meta.env matches \"^pr\"", true},
          {"Node.Meta.blank is empty", true},  // present but empty
          {"Node.Meta.blank is not empty", false},
          {"Node.TaggedAddresses.wan == \"198.51.100.5\"", true},
          {"Node.TaggedAddresses contains lan", true},
          {"Service.Meta.version == \"1.2.3\"", true},
          {"Service.Meta contains team", true},
          {"Service.TaggedAddresses contains wan_ipv4", true},
          {"lan_ipv6 in Service.TaggedAddresses", false},
          {"Service.TaggedAddresses is not empty", true},
          {"Service.TaggedAddresses.lan_ipv4.Address == \"10.0.0.6\"", true},
          {"Service.TaggedAddresses.wan_ipv4.Port == 80", true},
          {"Service.TaggedAddresses[\"wan_ipv4\"].Port != 80", false},
      },
      MakeInstance());
}

TEST(Filter, MissingMapKey) {
  // Contract section 3: ==, in, is not empty -> false; !=, not in, is empty -> true.
  RunHealthCases(
      {
          {"Node.Meta.zone == a", false},
          {"Node.Meta.zone != a", true},
          {"Node.Meta.zone contains a", false},
          {"a in Node.Meta.zone", false},
          {"Node.Meta.zone not contains a", true},
          {"a not in Node.Meta.zone", true},
          {"Node.Meta.zone is empty", true},
          {"Node.Meta.zone is not empty", false},
          {"Node.Meta.zone matches \".*\"", false},
          {"Node.Meta.zone not matches \"x\"", true},
          {"Node.TaggedAddresses.lan_ipv6 == a", false},
          {"Service.Meta[\"no-such\"] != a", true},
          {"Service.TaggedAddresses.lan_ipv6.Address == a", false},
          {"Service.TaggedAddresses.lan_ipv6.Address != a", true},
          {"Service.TaggedAddresses.lan_ipv6.Port == 0", false},
          {"Service.TaggedAddresses.lan_ipv6.Port != 0", true},
      },
      MakeInstance());
}

TEST(Filter, ChecksAnyElement) {
  RunHealthCases(
      {
          {"Checks is not empty", true},
          {"Checks is empty", false},
          {"Checks.Status == passing", true},
          {"Checks.Status == warning", true},
          {"Checks.Status == critical", false},
          {"Checks.Status != passing", true},  // the mem check is warning
          {"Checks.Status != critical", true},
          {"Checks.CheckID == serfHealth", true},
          {"Checks.CheckID == \"service:web-1\"", true},
          {"Checks.Name == Memory", true},
          {"Checks.Node == \"db-1\"", true},
          {"Checks.Notes == \"high memory\"", true},
          {"Checks.Notes is empty", true},  // serfHealth has no notes
          {"Checks.Output contains \"200 OK\"", true},
          {"Checks.Output matches \"^HTTP GET\"", true},
          {"Checks.ServiceID == \"web-1\"", true},
          {"Checks.ServiceName == web", true},
          {"Checks.ServiceTags contains primary", true},
          {"Checks.ServiceTags is empty", true},  // the node checks
          {"primary in Checks.ServiceTags", true},
          {"Checks.Type == http", true},
          {"Checks.Type == ttl", true},
          {"Checks.Type is empty", true},  // serfHealth
          {"Checks.Type == tcp", false},
          {"Checks.Interval == \"10s\"", true},
          {"Checks.Timeout == `1.5s`", true},
          {"Checks.Interval is empty", true},
          {"Checks.ExposedPort == 0", true},
          {"Checks.CreateIndex == 8", true},
          {"Checks.ModifyIndex == 12", true},
          {"not Checks.Status == critical", true},
          {"not Checks.Status != passing", false},
      },
      MakeInstance());

  Instance healthy = MakeInstance();
  healthy.checks = {std::make_shared<const Check>(MakeServiceCheck()),
                    std::make_shared<const Check>(MakeSerfCheck())};
  RunHealthCases({{"Checks.Status != passing", false}, {"Checks.Status == passing", true}},
                 healthy);

  // An empty list satisfies no element test, positive or negative.
  Instance unchecked = MakeInstance();
  unchecked.checks.clear();
  RunHealthCases(
      {
          {"Checks is empty", true},
          {"Checks.Status == passing", false},
          {"Checks.Status != passing", false},
          {"Checks.Notes is empty", false},
          {"x not in Checks.ServiceTags", false},
      },
      unchecked);
}

TEST(Filter, PrecedenceAndGrouping) {
  RunHealthCases(
      {
          // and binds tighter than or.
          {"Service.Port == 1 and Service.Port == 2 or Node.Node == \"db-1\"", true},
          {"Node.Node == \"db-1\" or Service.Port == 1 and Service.Port == 2", true},
          {"(Node.Node == \"db-1\" or Service.Port == 1) and Service.Port == 2", false},
          // not binds tighter than and.
          {"not Service.Port == 1 and Service.Port == 2", false},
          {"not (Service.Port == 1 and Service.Port == 2)", true},
          {"not Node.Node == \"db-1\" or Service.Port == 8080", true},
          {"not (Node.Node == \"db-1\" or Service.Port == 8080)", false},
          {"not not Node.Node == \"db-1\"", true},
          {"not not not Node.Node == \"db-1\"", false},
          {"not(Node.Node == x)", true},
          {"((Node.Node == \"db-1\"))", true},
          {"(Node.Node == x or Node.Node == \"db-1\") and (Service.Port == 8080)", true},
          {"Node.Node == a or Node.Node == b or Node.Node == c or Node.Node == \"db-1\"", true},
          {"Node.Node == \"db-1\" and Service.Port == 8080 and Service.Tags contains http", true},
          {"Node.Node == \"db-1\" and Service.Port == 8080 and Service.Tags contains ftp", false},
      },
      MakeInstance());
}

TEST(Filter, CatalogServiceTarget) {
  const Instance inst = MakeInstance();
  RunCases(
      {
          {"ServiceName == web", true},
          {"ServiceID == \"web-1\"", true},
          {"ServiceTags contains primary", true},
          {"ServiceAddress == \"10.0.0.6\"", true},
          {"ServicePort == 8080", true},
          {"ServiceMeta.version == \"1.2.3\"", true},
          {"ServiceKind is empty", true},
          {"ServiceEnableTagOverride == true", true},
          {"ServiceWeights.Passing == 10", true},
          {"ServiceTaggedAddresses.wan_ipv4.Address == \"203.0.113.6\"", true},
          {"Node == \"db-1\"", true},
          {"Address == \"10.0.0.5\"", true},
          {"Datacenter == dc1", true},
          {"ID contains \"6a5e\"", true},
          {"NodeMeta.env == prod", true},
          {"NodeMeta.zone != a", true},
          {"TaggedAddresses.lan == \"10.0.0.5\"", true},
          {"CreateIndex == 7", true},
          {"ModifyIndex == 11", true},
      },
      FilterTarget::kCatalogService, [&](const Filter& f) { return f.Matches(inst); });
}

TEST(Filter, NodeTarget) {
  const Node node = MakeNode();
  RunCases(
      {
          {"Node == \"db-1\"", true},
          {"Node != \"db-1\"", false},
          {"Address == \"10.0.0.5\"", true},
          {"Datacenter == dc1", true},
          {"ID matches \"^6a5e\"", true},
          {"Meta.env == prod", true},
          {"Meta[\"build-id\"] == abc123", true},
          {"env in Meta", true},
          {"TaggedAddresses.wan == \"198.51.100.5\"", true},
          {"TaggedAddresses is empty", false},
          {"CreateIndex == 5", true},
          {"ModifyIndex == 9", true},
      },
      FilterTarget::kNode, [&](const Filter& f) { return f.Matches(node); });
}

TEST(Filter, AgentServiceTarget) {
  const Service svc = MakeService();
  RunCases(
      {
          {"Service == web", true},
          {"ID == \"web-1\"", true},
          {"Tags contains v1.2", true},
          {"Meta.team == core", true},
          {"Port == 8080", true},
          {"Address == \"10.0.0.6\"", true},
          {"Kind is empty", true},
          {"Weights.Passing == 10", true},
          {"Weights.Warning == 2", false},
          {"EnableTagOverride == true", true},
          {"TaggedAddresses.lan_ipv4.Port == 8080", true},
          {"TaggedAddresses contains lan_ipv4", true},
      },
      FilterTarget::kAgentService, [&](const Filter& f) { return f.Matches(svc); });
}

TEST(Filter, CheckTarget) {
  const Check check = MakeServiceCheck();
  const Check mem = MakeMemCheck();
  RunCases(
      {
          {"CheckID == \"service:web-1\"", true},
          {"Name contains web", true},
          {"Node == \"db-1\"", true},
          {"Notes is empty", true},
          {"Output contains \"200\"", true},
          {"ServiceID == \"web-1\"", true},
          {"ServiceName == web", true},
          {"ServiceTags contains primary", true},
          {"Status == passing", true},
          {"Status != passing", false},
          {"Type == http", true},
          {"Interval == \"10s\"", true},
          {"Timeout == \"1.5s\"", true},
          {"CreateIndex == 8", true},
          {"ModifyIndex == 12", true},
      },
      FilterTarget::kCheck, [&](const Filter& f) { return f.Matches(check); });
  RunCases({{"Status == warning", true}, {"Type == ttl", true}, {"ServiceID is empty", true}},
           FilterTarget::kCheck, [&](const Filter& f) { return f.Matches(mem); });
}

TEST(Filter, ParseErrorsPointAtTheToken) {
  struct ErrorCase {
    std::string expr;
    FilterTarget target;
    std::string want;  // a substring of the message
  };
  const FilterTarget h = FilterTarget::kHealthService;
  const std::vector<ErrorCase> cases = {
      // Syntax.
      {"Service.Service == == web", h, R"(unexpected token "==" at position 19)"},
      {"Service.Service ==", h, "unexpected end of expression at position 18"},
      {"Service.Service == web and", h, "unexpected end of expression at position 26"},
      {"Service.Service == web or or x", h, R"(unexpected token "or" at position 26)"},
      {"Service.Service web", h, R"(unexpected token "web" at position 16)"},
      {"Service.Service is web", h, R"(unexpected token "web" at position 19)"},
      {"Service.Service is not web", h, R"(unexpected token "web" at position 23)"},
      {"Service.Service not web", h, R"(unexpected token "web" at position 20)"},
      {"Service.Service == web)", h, R"x(unexpected token ")" at position 22)x"},
      {")", h, R"x(unexpected token ")" at position 0)x"},
      {"== web", h, R"(unexpected token "==" at position 0)"},
      {"(Service.Service == web", h, "unmatched parenthesis at position 0"},
      {"(Service.Service == web x", h, R"(unexpected token "x" at position 24)"},
      {"Service.Service = web", h, R"(unexpected character "=" at position 16)"},
      {"Service.Service == web & x", h, R"(unexpected character "&" at position 23)"},
      {"Service.Service == \"web", h, "unterminated string literal at position 19"},
      {"Service.Service == `web", h, "unterminated string literal at position 19"},
      {"Service.Service == \"a\\qb\"", h,
       R"(invalid escape "\\q" in string literal at position 21)"},
      {"Service.Service == \"\\x4\"", h, "invalid escape"},
      {"Service.Meta[\"a\" == x", h, "unclosed index expression at position 12"},
      {"Service.Meta[a] == x", h, "invalid index at position 12"},
      {"Service. == x", h, R"(invalid selector "Service." at position 0)"},
      {"Service.Address == 10.10.10.10", h,
       R"(invalid number literal "10.10.10.10" at position 19)"},
      {"Service.Port == 007", h, R"(invalid number literal "007" at position 16)"},
      {"Checks.Interval == 10s", h, R"(invalid number literal "10s" at position 19)"},
      {"Node.Node == db-1", h, R"(unexpected token "-1" at position 15)"},
      {"Service.Port == 80x", h, R"(invalid number literal "80x" at position 16)"},
      {"Service.Port == -x", h, R"(unexpected character "-" at position 16)"},
      {"5 == Service.Port", h, R"(invalid selector "5" at position 0)"},
      {"web in \"Service.Tags\"", h, R"(invalid selector "\"Service.Tags\"" at position 7)"},
      {"Service.Meta[\"a\"] in Service.Tags", h, R"(invalid value "Service.Meta[\"a\"]")"},
      // Selectors.
      {"Service.Foo == x", h, R"(unknown selector "Service.Foo" at position 0)"},
      {"service.service == web", h, R"(unknown selector "service.service" at position 0)"},
      {"Node.Node == a and Service.Bogus == b", h,
       R"(unknown selector "Service.Bogus" at position 19)"},
      {"x in Service.Nope", h, R"(unknown selector "Service.Nope" at position 5)"},
      {"Service.Meta.a.b == x", h, R"(unknown selector "Service.Meta.a.b")"},
      {"Service.Tags.x == y", h, R"(unknown selector "Service.Tags.x")"},
      {"Service.TaggedAddresses.lan.Foo == y", h, "unknown selector"},
      {"Checks.Foo == y", h, R"(unknown selector "Checks.Foo")"},
      {"Checks.Status.x == y", h, "unknown selector"},
      {"ServiceName == web", h, R"(unknown selector "ServiceName")"},
      {"Service.Service == web", FilterTarget::kCatalogService, "unknown selector"},
      {"Checks is empty", FilterTarget::kCatalogService, "unknown selector"},
      {"NodeMeta.env == x", FilterTarget::kNode, "unknown selector"},
      {"CreateIndex == 1", FilterTarget::kAgentService, "unknown selector"},
      {"Checks.Status == passing", FilterTarget::kCheck, "unknown selector"},
      // Operators not defined for the field's kind.
      {"Service.Tags == web", h,
       R"(operator "==" is not supported for selector "Service.Tags" at position 13)"},
      {"Service.Port contains 8", h, R"(operator "contains" is not supported)"},
      {"Service.Port is empty", h, R"(operator "is empty" is not supported)"},
      {"8 in Service.Port", h, R"(operator "in" is not supported)"},
      {"Service.EnableTagOverride matches x", h, R"(operator "matches" is not supported)"},
      {"Node.Meta == x", h, R"(operator "==" is not supported for selector "Node.Meta")"},
      {"Node.Meta matches x", h, R"(operator "matches" is not supported)"},
      {"Checks == x", h, R"(operator "==" is not supported for selector "Checks")"},
      {"x in Checks", h, R"(operator "in" is not supported for selector "Checks")"},
      {"Node == x", h, R"(operator "==" is not supported for selector "Node")"},
      {"Service.Weights == 1", h, "is not supported"},
      {"Service.TaggedAddresses.lan == x", h, "is not supported"},
      {"Service.Tags not matches x", h, R"(operator "not matches" is not supported)"},
      // Values that do not convert to the field's type.
      {"Service.Port == abc", h,
       R"(invalid value "abc" for selector "Service.Port" (want int) at position 16)"},
      {"Service.Port == 1.5", h, R"(invalid value "1.5")"},
      {"Service.Port == \"8__0\"", h, "invalid value"},
      {"Service.Port == \"99999999999999999999\"", h, "invalid value"},
      {"Service.EnableTagOverride == yes", h, R"((want bool))"},
      {"Service.EnableTagOverride == tRuE", h, R"((want bool))"},
      {"Service.CreateIndex == -1", h, R"((want uint))"},
      // Regular expressions.
      {"Service.Service matches \"(\"", h,
       R"(invalid regular expression "(" at position 24: missing ))"},
      {"Service.Service not matches \"[a-\"", h, "invalid regular expression"},
      // Nesting cap.
      {std::string(100, '(') + "Node.Node == x" + std::string(100, ')'), h,
       "expression nested too deeply"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.expr);
    Result<Filter> f = Filter::Parse(c.expr, c.target);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(f.status().message().starts_with("filter: ")) << f.status().message();
    EXPECT_NE(f.status().message().find(c.want), std::string::npos) << f.status().message();
  }
}

TEST(Filter, ExactErrorMessages) {
  Result<Filter> f = Filter::Parse("Service.Tags == == x", FilterTarget::kHealthService);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), R"(filter: unexpected token "==" at position 16)");
  f = Filter::Parse("Service.Foo == x", FilterTarget::kHealthService);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), R"(filter: unknown selector "Service.Foo" at position 0)");
}

TEST(Filter, EmptyExpressionMatchesEverything) {
  for (const std::string expr : {"", "   ", "\t\n"}) {
    SCOPED_TRACE("[" + expr + "]");
    Result<Filter> f = Filter::Parse(expr, FilterTarget::kNode);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_TRUE(f->MatchesAll());
    EXPECT_TRUE(f->Matches(MakeNode()));
  }
  const Filter none;
  EXPECT_TRUE(none.MatchesAll());
  EXPECT_TRUE(none.Matches(MakeInstance()));
  EXPECT_TRUE(none.Matches(MakeService()));
  EXPECT_TRUE(none.Matches(MakeServiceCheck()));
}

TEST(Filter, DeepButAllowedNestingAndLongChains) {
  std::string nested = std::string(64, '(') + "Node.Node == \"db-1\"" + std::string(64, ')');
  const Filter f = MustParse(nested, FilterTarget::kHealthService);
  EXPECT_TRUE(f.Matches(MakeInstance()));

  // Long chains and runs of `not` must not recurse per term.
  std::string chain = "Node.Node == x0";
  for (int i = 1; i < 20000; ++i) {
    chain += " or Node.Node == x" + std::to_string(i);
  }
  chain += " or Node.Node == \"db-1\"";
  EXPECT_TRUE(MustParse(chain, FilterTarget::kHealthService).Matches(MakeInstance()));
  std::string nots;
  for (int i = 0; i < 20001; ++i) {
    nots += "not ";
  }
  EXPECT_FALSE(MustParse(nots + "Node.Node == \"db-1\"", FilterTarget::kHealthService)
                   .Matches(MakeInstance()));
}

TEST(Filter, NullPartsEvaluateAsEmpty) {
  Instance inst;  // no node, no service, no checks
  RunHealthCases(
      {
          {"Node.Node is empty", true},
          {"Service.Port == 0", true},
          {"Service.Tags is empty", true},
          {"Node.Meta.env != prod", true},
          {"Checks is empty", true},
      },
      inst);
}

TEST(Filter, CopiesShareAnImmutableProgramAcrossThreads) {
  const Filter original = MustParse(
      "Service.ID matches \"^web-[0-9]+$\" and Checks.Status != critical and "
      "Node.Meta.env == prod",
      FilterTarget::kHealthService);
  const Filter copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  Filter moved = MustParse("Node.Node == x", FilterTarget::kHealthService);
  moved = copy;
  const Instance inst = MakeInstance();
  std::vector<std::thread> threads;
  std::vector<int> hits(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        hits[t] += (t % 2 == 0 ? original : moved).Matches(inst) ? 1 : 0;
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  for (int h : hits) {
    EXPECT_EQ(h, 2000);
  }
}

}  // namespace
}  // namespace beacon::wire
