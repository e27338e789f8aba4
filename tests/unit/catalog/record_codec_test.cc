#include "catalog/record_codec.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace beacon::catalog {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

void ExpectSameNode(const Node& a, const Node& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.datacenter, b.datacenter);
  EXPECT_EQ(a.tagged_addresses, b.tagged_addresses);
  EXPECT_EQ(a.meta, b.meta);
  EXPECT_EQ(a.create_index, b.create_index);
  EXPECT_EQ(a.modify_index, b.modify_index);
}

void ExpectSameService(const Service& a, const Service& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.tagged_addresses, b.tagged_addresses);
  EXPECT_EQ(a.derived_tagged, b.derived_tagged);
  EXPECT_EQ(a.meta, b.meta);
  EXPECT_EQ(a.port, b.port);
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(a.enable_tag_override, b.enable_tag_override);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.create_index, b.create_index);
  EXPECT_EQ(a.modify_index, b.modify_index);
}

void ExpectSameCheck(const Check& a, const Check& b) {
  EXPECT_EQ(a.node, b.node);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.notes, b.notes);
  EXPECT_EQ(a.output, b.output);
  EXPECT_EQ(a.service_id, b.service_id);
  EXPECT_EQ(a.service_name, b.service_name);
  EXPECT_EQ(a.service_tags, b.service_tags);
  EXPECT_TRUE(a.definition == b.definition);
  EXPECT_EQ(a.create_index, b.create_index);
  EXPECT_EQ(a.modify_index, b.modify_index);
  EXPECT_EQ(a.ttl_deadline_ns, b.ttl_deadline_ns);
  EXPECT_EQ(a.critical_since_ns, b.critical_since_ns);
  EXPECT_EQ(a.agent_owned, b.agent_owned);
}

Node FullNode() {
  Node n;
  n.id = "40e4a748-2192-161a-0510-9bf59fe950b5";
  n.name = "node-1";
  n.address = "10.0.0.5";
  n.datacenter = "dc1";
  n.tagged_addresses = {{"lan", "10.0.0.5"}, {"wan", "198.51.100.1"}};
  n.meta = {{"rack", "r1"}, {"unicode", "caf\xc3\xa9 \"q\"\n"}};
  n.create_index = 3;
  n.modify_index = std::numeric_limits<uint64_t>::max();
  return n;
}

Service FullService() {
  Service s;
  s.id = "batman/pg0";
  s.name = "pg";
  s.tags = {"master", "", "v1"};
  s.address = "10.0.0.7";
  s.tagged_addresses = {{"lan_ipv4", {"10.0.0.7", 5432}}, {"wan_ipv4", {"203.0.113.7", 15432}}};
  s.meta = {{"version", "15"}};
  s.port = 5432;
  s.weights = {5, 0};
  s.enable_tag_override = true;
  s.kind = "connect-proxy";
  s.create_index = 11;
  s.modify_index = 12;
  DeriveTaggedAddresses(s);  // as the catalog stores it: lan_ipv4 is derived, wan_ipv4 is not
  return s;
}

Check FullCheck() {
  Check c;
  c.node = "node-1";
  c.id = "service:batman/pg0";
  c.name = "Service 'pg' check";
  c.status = HealthStatus::kWarning;
  c.notes = "notes";
  c.output = std::string(5000, 'o');
  c.service_id = "batman/pg0";
  c.service_name = "pg";
  c.service_tags = {"master"};
  CheckDefinition d;
  d.type = CheckType::kHttp;
  d.ttl = seconds(30);
  d.interval = seconds(5);
  d.timeout = milliseconds(1500);
  d.deregister_critical_service_after = seconds(150);
  d.http = "https://10.0.0.7:8008/health";
  d.method = "POST";
  d.header = {{"Authorization", {"Bearer x"}}, {"X-Multi", {"1", "2"}}, {"X-Empty", {}}};
  d.body = "{\"a\":1}";
  d.disable_redirects = true;
  d.tls_skip_verify = true;
  d.tls_server_name = "pg.example";
  d.tcp = "10.0.0.7:5432";
  d.tcp_use_tls = true;
  d.grpc = "10.0.0.7:50051/health";
  d.grpc_use_tls = true;
  d.udp = "10.0.0.7:53";
  d.h2ping = "10.0.0.7:443";
  d.script_args = {"/bin/check", "-v"};
  d.docker_container_id = "abc123";
  d.shell = "/bin/sh";
  d.alias_node = "node-2";
  d.alias_service = "db";
  d.os_service = "postgresql";
  d.success_before_passing = 2;
  d.failures_before_warning = 1;
  d.failures_before_critical = 3;
  d.output_max_size = 8192;
  c.definition = d;
  c.create_index = 21;
  c.modify_index = 22;
  c.ttl_deadline_ns = 1700000000123456789;
  c.critical_since_ns = -5;
  c.agent_owned = false;
  return c;
}

TEST(RecordCodec, NodeRoundTripsEveryField) {
  Node n = FullNode();
  Result<Node> back = DecodeNodeRecord(EncodeNodeRecord(n));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameNode(*back, n);
}

TEST(RecordCodec, ServiceRoundTripsEveryField) {
  Service s = FullService();
  Result<Service> back = DecodeServiceRecord(EncodeServiceRecord(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameService(*back, s);
}

TEST(RecordCodec, StoredCopiesOfDerivedTaggedAddressesAreDropped) {
  // Before they were derived on read, records held lan_ipv4/wan_ipv4 like any other.
  Service old;
  old.id = "web-1";
  old.name = "web";
  old.address = "10.0.0.7";
  old.port = 80;
  old.tagged_addresses = {{"lan_ipv4", {"10.0.0.7", 80}}, {"wan_ipv4", {"10.0.0.7", 80}}};
  Result<Service> back = DecodeServiceRecord(EncodeServiceRecord(old));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->tagged_addresses.empty());
  EXPECT_EQ(back->derived_tagged, DerivedTaggedAddresses::kIpv4);
  EXPECT_EQ(TaggedAddressCount(*back), 2u);
  EXPECT_EQ(FindTaggedAddress(*back, "lan_ipv4")->address, "10.0.0.7");
}

TEST(RecordCodec, CheckRoundTripsEveryField) {
  Check c = FullCheck();
  Result<Check> back = DecodeCheckRecord(EncodeCheckRecord(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameCheck(*back, c);
}

TEST(RecordCodec, DefaultsRoundTrip) {
  Result<Node> n = DecodeNodeRecord(EncodeNodeRecord(Node{}));
  ASSERT_TRUE(n.ok());
  ExpectSameNode(*n, Node{});
  Result<Service> s = DecodeServiceRecord(EncodeServiceRecord(Service{}));
  ASSERT_TRUE(s.ok());
  ExpectSameService(*s, Service{});
  Result<Check> c = DecodeCheckRecord(EncodeCheckRecord(Check{}));
  ASSERT_TRUE(c.ok());
  ExpectSameCheck(*c, Check{});
}

TEST(RecordCodec, EveryStatusAndCheckTypeRoundTrips) {
  for (HealthStatus st :
       {HealthStatus::kPassing, HealthStatus::kWarning, HealthStatus::kCritical}) {
    for (CheckType t : {CheckType::kNone, CheckType::kTtl, CheckType::kHttp, CheckType::kTcp,
                        CheckType::kGrpc, CheckType::kScript, CheckType::kAlias, CheckType::kUdp,
                        CheckType::kH2ping, CheckType::kOsService}) {
      SCOPED_TRACE(static_cast<int>(t));
      Check c;
      c.status = st;
      c.definition.type = t;
      Result<Check> back = DecodeCheckRecord(EncodeCheckRecord(c));
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(back->status, st);
      EXPECT_EQ(back->definition.type, t);
    }
  }
}

TEST(RecordCodec, NegativeDurationsRoundTrip) {
  Check c;
  c.definition.interval = catalog::Nanos(-1);
  c.definition.ttl = catalog::Nanos(std::numeric_limits<int64_t>::max());
  Result<Check> back = DecodeCheckRecord(EncodeCheckRecord(c));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->definition == c.definition);
}

TEST(RecordCodec, MissingKeysDecodeToDefaults) {
  Result<Node> n = DecodeNodeRecord(R"({"name":"n1"})");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  Node want;
  want.name = "n1";
  ExpectSameNode(*n, want);

  Result<Service> s = DecodeServiceRecord("{}");
  ASSERT_TRUE(s.ok());
  ExpectSameService(*s, Service{});
  EXPECT_EQ(s->weights, (Weights{1, 1}));

  Result<Check> c = DecodeCheckRecord(R"({"id":"c","def":{}})");
  ASSERT_TRUE(c.ok());
  Check want_check;
  want_check.id = "c";
  ExpectSameCheck(*c, want_check);
  EXPECT_TRUE(c->agent_owned);
  EXPECT_EQ(c->status, HealthStatus::kCritical);
}

TEST(RecordCodec, UnknownKeysAreIgnored) {
  Result<Service> s =
      DecodeServiceRecord(R"({"id":"a","future":{"x":[1,2,{"y":null}]},"def2":true})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->id, "a");
  Result<Check> c = DecodeCheckRecord(R"({"def":{"type":"ttl","future_field":1}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->definition.type, CheckType::kTtl);
}

TEST(RecordCodec, RejectsBadRecords) {
  struct Case {
    std::string name;
    Status status;
    std::string message;  // prefix
  };
  const std::vector<Case> cases = {
      {"empty", DecodeNodeRecord("").status(), "node record: "},
      {"malformed", DecodeNodeRecord("{\"id\":").status(), "node record: "},
      {"array", DecodeNodeRecord("[]").status(), "node record: not a JSON object"},
      {"null", DecodeServiceRecord("null").status(), "service record: not a JSON object"},
      {"number", DecodeCheckRecord("1").status(), "check record: not a JSON object"},
      {"wrong type", DecodeNodeRecord(R"({"ci":"1"})").status(),
       "node record: ci: expected a uint64"},
      {"negative index", DecodeServiceRecord(R"({"mi":-1})").status(),
       "service record: mi: expected a uint64"},
      {"port out of int range", DecodeServiceRecord(R"({"port":4294967296})").status(),
       "service record: port: expected an int"},
      {"tagged address shape", DecodeServiceRecord(R"({"tagged":{"lan":"x"}})").status(),
       "service record: tagged: expected an object"},
      {"unknown status", DecodeCheckRecord(R"({"status":"bogus"})").status(),
       "check record: status: unknown status \"bogus\""},
      {"unknown type", DecodeCheckRecord(R"({"def":{"type":"docker"}})").status(),
       "check record: type: unknown check type \"docker\""},
      {"bad list", DecodeCheckRecord(R"({"stags":[1]})").status(),
       "check record: stags: expected a string"},
      {"bad header", DecodeCheckRecord(R"({"def":{"header":{"a":"b"}}})").status(),
       "check record: header: expected a list"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(c.status.code(), StatusCode::kInvalidArgument) << c.status.ToString();
    EXPECT_TRUE(c.status.message().starts_with(c.message)) << c.status.message();
  }
}

TEST(RecordCodec, EncodingIsCompactAndStable) {
  Node n;
  n.name = "n1";
  n.create_index = 1;
  n.modify_index = 2;
  EXPECT_EQ(EncodeNodeRecord(n),
            R"({"id":"","name":"n1","addr":"","dc":"","tagged":{},"meta":{},"ci":1,"mi":2})");
  // Zero-valued definition fields are omitted; the bookkeeping fields are always there.
  Check c;
  c.id = "c";
  c.definition.type = CheckType::kTtl;
  c.definition.ttl = seconds(10);
  EXPECT_EQ(EncodeCheckRecord(c),
            R"({"node":"","id":"c","name":"","status":"critical","notes":"","output":"",)"
            R"("sid":"","sname":"","stags":[],"def":{"type":"ttl","ttl":10000000000},"ci":0,)"
            R"("mi":0,"ttl_deadline":0,"critical_since":0,"agent":true})");
}

}  // namespace
}  // namespace beacon::catalog
