#include "dns/responder.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "test_catalog.h"

namespace beacon::dns {
namespace {

using catalog::HealthStatus;
using dnstest::CatalogBuilder;
using dnstest::InstanceSpec;

catalog::SnapshotPtr Catalog() {
  CatalogBuilder b;
  b.Node("server1", "10.0.0.1", {{"rack", "r1"}});
  b.Node("bigmeta", "10.0.0.2", {{"blob", std::string(600, 'm')}});
  // A node whose name fills a whole label: SRV answers to it are large.
  b.Node(std::string(63, 'l'), "10.0.0.3", {{"k", std::string(200, 'v')}});
  b.Instance({"server1", "web1", "web", "", 80, {"primary"}, {HealthStatus::kPassing}, {}});
  for (int i = 0; i < 100; ++i) {
    b.Instance({"server1", "big" + std::to_string(i), "big",
                "10.9." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1), 1000 + i,
                {}, {}, {}});
  }
  for (int i = 0; i < 4; ++i) {
    b.Instance({std::string(63, 'l'), "long" + std::to_string(i), "long", "", 2000 + i, {}, {}, {}});
  }
  return b.Build("server1");
}

struct Query {
  Query(std::string n, uint16_t t = kTypeA, std::optional<uint16_t> edns = std::nullopt,
        uint16_t c = kClassIn, uint8_t op = kOpcodeQuery, uint8_t version = 0)
      : name(std::move(n)), type(t), edns_size(edns), klass(c), opcode(op), edns_version(version) {}
  std::string name;
  uint16_t type;
  std::optional<uint16_t> edns_size;
  uint16_t klass;
  uint8_t opcode;
  uint8_t edns_version;
};

Edns WithSize(uint16_t size) {
  Edns e;
  e.udp_size = size;
  return e;
}

std::string Encode(const Query& q) {
  Message m;
  m.header.id = 0x4242;
  m.header.rd = true;
  m.header.opcode = q.opcode;
  m.questions.push_back({q.name, q.type, q.klass});
  if (q.edns_size) m.edns = Edns{*q.edns_size, q.edns_version, false, {}};
  std::string wire;
  EXPECT_TRUE(EncodeMessage(m, &wire).ok());
  return wire;
}

class ResponderTest : public ::testing::Test {
 protected:
  ResponderTest() {
    options_.datacenter = "dc1";
    options_.local_node = "server1";
  }

  // Sends raw bytes; nullopt when the responder stays silent.
  std::optional<std::string> RespondBytes(std::string_view request,
                                          Transport transport = Transport::kUdp) {
    QueryEnv env{transport, snapshot_.get(), &options_, &rng_, 1700000000};
    std::string out;
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(request.data()),
                                   request.size());
    last_rcode_.reset();
    Rcode rcode = Rcode::kNoError;
    if (!Respond(bytes, env, &out, &rcode)) return std::nullopt;
    last_rcode_ = rcode;
    return out;
  }

  Message Ask(const Query& q, Transport transport = Transport::kUdp) {
    auto wire = RespondBytes(Encode(q), transport);
    EXPECT_TRUE(wire.has_value());
    last_size_ = wire ? wire->size() : 0;
    auto m = ParseMessage(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(wire->data()), wire->size()));
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : Message{};
  }

  catalog::SnapshotPtr snapshot_ = Catalog();
  DnsOptions options_;
  std::minstd_rand rng_{3};
  size_t last_size_ = 0;
  std::optional<Rcode> last_rcode_;  // what Respond reported for the last request answered
};

// "NXDOMAIN aa qr rd an=0 ns=SOA ar=0"
std::string Summary(const Message& m) {
  static const std::map<uint16_t, std::string> kNames = {
      {0, "NOERROR"}, {1, "FORMERR"}, {2, "SERVFAIL"}, {3, "NXDOMAIN"},
      {4, "NOTIMP"},  {5, "REFUSED"}, {16, "BADVERS"}};
  std::string s = kNames.count(m.header.rcode) ? kNames.at(m.header.rcode)
                                               : std::to_string(m.header.rcode);
  if (m.header.aa) s += " aa";
  if (m.header.tc) s += " tc";
  if (m.header.ra) s += " ra";
  s += " an=" + std::to_string(m.answers.size());
  s += " ns=";
  for (const auto& rr : m.authority) s += rr.type == kTypeSoa ? "SOA" : rr.type == kTypeNs ? "NS" : "?";
  s += " ar=" + std::to_string(m.additional.size());
  if (m.edns) s += " opt=" + std::to_string(m.edns->udp_size);
  return s;
}

TEST(DecideRcode, MapsEveryOutcome) {
  struct Case {
    Outcome outcome;
    size_t answers;
    Rcode rcode;
    bool aa;
    bool soa;
  };
  const std::vector<Case> cases = {
      {Outcome::kFound, 2, Rcode::kNoError, true, false},
      {Outcome::kFound, 0, Rcode::kNoError, true, true},
      {Outcome::kNameError, 0, Rcode::kNxDomain, true, true},
      {Outcome::kRefused, 0, Rcode::kRefused, false, false},
      {Outcome::kMalformed, 0, Rcode::kFormErr, false, false},
      {Outcome::kNotImplemented, 0, Rcode::kNotImp, false, false},
      {Outcome::kBadVersion, 0, Rcode::kBadVers, false, false},
      {Outcome::kServerFailure, 0, Rcode::kServFail, false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.outcome));
    RcodeDecision d = DecideRcode(c.outcome, c.answers);
    EXPECT_EQ(d.rcode, c.rcode);
    EXPECT_EQ(d.authoritative, c.aa);
    EXPECT_EQ(d.soa_in_authority, c.soa);
  }
}

TEST_F(ResponderTest, AnswersWithTheRightRcode) {
  struct Case {
    Query query;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"web.service.consul.", kTypeA}, "NOERROR aa an=1 ns= ar=0"},
      {{"web.service.consul.", kTypeSrv}, "NOERROR aa an=1 ns= ar=2"},  // A + meta TXT
      {{"nosuch.service.consul.", kTypeA}, "NXDOMAIN aa an=0 ns=SOA ar=0"},
      {{"web.service.dc2.consul.", kTypeA}, "NXDOMAIN aa an=0 ns=SOA ar=0"},
      {{"web.service.consul.", kTypeAaaa}, "NOERROR aa an=0 ns=SOA ar=0"},
      {{"web.service.consul.", kTypeMx}, "NOERROR aa an=0 ns=SOA ar=0"},
      {{"server1.node.consul.", kTypeMx}, "NOERROR aa an=0 ns=SOA ar=0"},
      {{"nobody.node.consul.", kTypeA}, "NXDOMAIN aa an=0 ns=SOA ar=0"},
      {{"web.query.consul.", kTypeA}, "NXDOMAIN aa an=0 ns=SOA ar=0"},
      {{"example.com.", kTypeA}, "REFUSED an=0 ns= ar=0"},
      {{"web.service.consul.", kTypeA, std::nullopt, kClassChaos}, "REFUSED an=0 ns= ar=0"},
      {{"consul.", kTypeAxfr}, "NOTIMP an=0 ns= ar=0"},
      {{"web.service.consul.", kTypeA, std::nullopt, kClassIn, 2}, "NOTIMP an=0 ns= ar=0"},
      {{"consul.", kTypeSoa}, "NOERROR aa an=1 ns=NS ar=1"},
      {{"consul.", kTypeNs}, "NOERROR aa an=1 ns= ar=1"},
      {{"web.service.consul.", kTypeA, 1232}, "NOERROR aa an=1 ns= ar=0 opt=1232"},
      {{"nosuch.service.consul.", kTypeA, 4096}, "NXDOMAIN aa an=0 ns=SOA ar=0 opt=4096"},
      {{"web.service.consul.", kTypeA, 4096, kClassIn, 0, 1}, "BADVERS an=0 ns= ar=0 opt=4096"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query.name + " type " + std::to_string(c.query.type));
    EXPECT_EQ(Summary(Ask(c.query)), c.want);
    // The RCODE reported for the query counters is the one sent.
    ASSERT_TRUE(last_rcode_.has_value());
    EXPECT_EQ(RcodeName(*last_rcode_), c.want.substr(0, c.want.find(' ')));
  }
}

TEST_F(ResponderTest, EchoesIdFlagsAndTheQuestionAsAsked) {
  Message m = Ask({"WeB.SeRvIcE.CoNsUl.", kTypeA});
  EXPECT_EQ(m.header.id, 0x4242);
  EXPECT_TRUE(m.header.qr);
  EXPECT_TRUE(m.header.rd);
  EXPECT_FALSE(m.header.ra);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].name, "WeB.SeRvIcE.CoNsUl.");
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].name, "WeB.SeRvIcE.CoNsUl.");
}

TEST_F(ResponderTest, NegativeAnswersCarryTheZoneSoa) {
  Message m = Ask({"nosuch.service.consul.", kTypeA});
  ASSERT_EQ(m.authority.size(), 1u);
  EXPECT_EQ(RecordToString(m.authority[0]),
            "consul. 0 IN SOA ns.consul. hostmaster.consul. 1700000000 3600 600 86400 0");
}

TEST_F(ResponderTest, MalformedQueriesGetFormerrWithTheirId) {
  std::string garbage = std::string("\x77\x88\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12) + "\x05" "ab";
  auto wire = RespondBytes(garbage);
  ASSERT_TRUE(wire.has_value());
  auto m = ParseMessage(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wire->data()),
                                                 wire->size()));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header.id, 0x7788);
  EXPECT_EQ(Summary(*m), "FORMERR an=0 ns= ar=0");
  EXPECT_EQ(last_rcode_, Rcode::kFormErr);
  EXPECT_TRUE(m->questions.empty());

  // Two questions: FORMERR too.
  Message two;
  two.header.id = 9;
  two.questions = {{"a.service.consul.", kTypeA, kClassIn}, {"b.service.consul.", kTypeA, kClassIn}};
  std::string req;
  ASSERT_TRUE(EncodeMessage(two, &req).ok());
  auto two_wire = RespondBytes(req);
  ASSERT_TRUE(two_wire.has_value());
  EXPECT_EQ((*two_wire)[3] & 0xf, 1);
  // No question at all: FORMERR.
  Message none;
  std::string empty_q;
  ASSERT_TRUE(EncodeMessage(none, &empty_q).ok());
  auto none_wire = RespondBytes(empty_q);
  ASSERT_TRUE(none_wire.has_value());
  EXPECT_EQ((*none_wire)[3] & 0xf, 1);
}

TEST_F(ResponderTest, StaysSilentForResponsesAndShortPackets) {
  EXPECT_FALSE(RespondBytes("").has_value());
  EXPECT_FALSE(RespondBytes(std::string(11, '\0')).has_value());
  std::string response = Encode({"web.service.consul.", kTypeA});
  response[2] = static_cast<char>(response[2] | 0x80);  // QR
  EXPECT_FALSE(RespondBytes(response).has_value());
  EXPECT_FALSE(last_rcode_.has_value()) << "nothing sent, nothing to count";
}

TEST_F(ResponderTest, PlainUdpGivesThreeAnswersWithoutTc) {
  Message m = Ask({"big.service.consul.", kTypeA});
  EXPECT_EQ(Summary(m), "NOERROR aa an=3 ns= ar=0");
  EXPECT_LE(last_size_, 512u);
  m = Ask({"big.service.consul.", kTypeSrv});
  EXPECT_EQ(Summary(m), "NOERROR aa an=3 ns= ar=3");
  // Each kept SRV answer has its target's A record, and only those.
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m.additional[i].name, std::get<RdataSrv>(m.answers[i].rdata).target);
  }
}

TEST_F(ResponderTest, EnableTruncateSetsTcWhenUdpAnswersWereCut) {
  options_.enable_truncate = true;
  EXPECT_EQ(Summary(Ask({"big.service.consul.", kTypeA})), "NOERROR aa tc an=3 ns= ar=0");
  // Nothing was cut: no TC.
  EXPECT_EQ(Summary(Ask({"web.service.consul.", kTypeA})), "NOERROR aa an=1 ns= ar=0");
  // Over TCP nothing is cut and TC never applies.
  EXPECT_EQ(Summary(Ask({"big.service.consul.", kTypeA}, Transport::kTcp)),
            "NOERROR aa an=100 ns= ar=0");
}

TEST_F(ResponderTest, UdpAnswerLimitIsConfigurableUpToEight) {
  options_.udp_answer_limit = 5;
  EXPECT_EQ(Ask({"big.service.consul.", kTypeA}).answers.size(), 5u);
  options_.udp_answer_limit = 50;
  EXPECT_EQ(Ask({"big.service.consul.", kTypeA}).answers.size(), 8u);
  // An EDNS size of 512 or less is plain UDP for these rules.
  options_.udp_answer_limit = 3;
  EXPECT_EQ(Ask({"big.service.consul.", kTypeA, 400}).answers.size(), 3u);
}

TEST_F(ResponderTest, EdnsFillsTheAdvertisedSize) {
  Message a = Ask({"big.service.consul.", kTypeA, 4096});
  EXPECT_EQ(Summary(a), "NOERROR aa an=100 ns= ar=0 opt=4096");
  EXPECT_LE(last_size_, 4096u);

  Message srv = Ask({"big.service.consul.", kTypeSrv, 1232});
  EXPECT_LE(last_size_, 1232u);
  EXPECT_GT(srv.answers.size(), 3u);
  EXPECT_LT(srv.answers.size(), 100u);
  EXPECT_FALSE(srv.header.tc) << "enable_truncate is off";
  EXPECT_EQ(srv.additional.size(), srv.answers.size()) << "additional trimmed with the answers";
  // One more answer would not have fitted (the largest count that fits was chosen).
  EXPECT_GT(last_size_ + 60, 1232u);

  options_.enable_truncate = true;
  EXPECT_TRUE(Ask({"big.service.consul.", kTypeSrv, 1232}).header.tc);
}

TEST_F(ResponderTest, TcpGivesEverything) {
  Message m = Ask({"big.service.consul.", kTypeSrv}, Transport::kTcp);
  EXPECT_EQ(Summary(m), "NOERROR aa an=100 ns= ar=100");
  EXPECT_GT(last_size_, 4096u);
  EXPECT_LE(last_size_, 65535u);
}

TEST_F(ResponderTest, CutsBySizeWhenThreeAnswersDoNotFit) {
  // SRV answers to a 63-byte node name with a 200-byte meta TXT each: three exceed 512 bytes.
  Message m = Ask({"long.service.consul.", kTypeSrv});
  EXPECT_LE(last_size_, 512u);
  EXPECT_GE(m.answers.size(), 1u);
  EXPECT_LT(m.answers.size(), 3u);
  EXPECT_FALSE(m.header.tc);
  options_.enable_truncate = true;
  EXPECT_TRUE(Ask({"long.service.consul.", kTypeSrv}).header.tc);
}

TEST_F(ResponderTest, SetsTcWhenNotEvenOneAnswerFits) {
  // A 600-byte TXT record cannot travel in 512 bytes: TC whatever enable_truncate says.
  Message m = Ask({"bigmeta.node.consul.", kTypeTxt});
  EXPECT_EQ(Summary(m), "NOERROR aa tc an=0 ns= ar=0");
  EXPECT_LE(last_size_, 512u);
  EXPECT_EQ(Summary(Ask({"bigmeta.node.consul.", kTypeTxt}, Transport::kTcp)),
            "NOERROR aa an=1 ns= ar=0");
  // For A the TXT is additional only and is dropped to fit.
  EXPECT_EQ(Summary(Ask({"bigmeta.node.consul.", kTypeA})), "NOERROR aa an=1 ns= ar=0");
}

TEST_F(ResponderTest, LimitsForEachTransport) {
  struct Case {
    std::string name;
    Transport transport;
    std::optional<Edns> edns;
    uint16_t qtype;
    size_t max_bytes;
    size_t max_answers;
  };
  const std::vector<Case> cases = {
      {"plain udp", Transport::kUdp, std::nullopt, kTypeA, 512, 3},
      {"edns 512", Transport::kUdp, WithSize(512), kTypeA, 512, 3},
      {"edns 100", Transport::kUdp, WithSize(100), kTypeA, 512, 3},
      {"edns 4096 srv", Transport::kUdp, WithSize(4096), kTypeSrv, 4096, 1024},
      {"edns 65535", Transport::kUdp, WithSize(65535), kTypeA, 65467, 4096},
      {"tcp srv", Transport::kTcp, std::nullopt, kTypeSrv, 65535, 1024},
      {"tcp a", Transport::kTcp, std::nullopt, kTypeA, 65535, 4096},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ResponseLimits l = LimitsFor(c.transport, c.edns, options_, c.qtype);
    EXPECT_EQ(l.max_bytes, c.max_bytes);
    EXPECT_EQ(l.max_answers, c.max_answers);
  }
}

TEST_F(ResponderTest, NeverCrashesOnRandomBytes) {
  std::mt19937 gen(12345);
  const std::string seed = Encode({"_big._tcp.service.consul.", kTypeSrv, 1232});
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(gen() % 64);
      for (char& c : bytes) c = static_cast<char>(gen());
    } else {
      bytes = seed;  // mutate a valid query in a few places
      for (int k = 0; k < 3; ++k) bytes[gen() % bytes.size()] = static_cast<char>(gen());
      if (gen() % 4 == 0) bytes.resize(gen() % (bytes.size() + 1));
    }
    auto wire = RespondBytes(bytes, i % 3 == 0 ? Transport::kTcp : Transport::kUdp);
    if (!wire) continue;
    auto m = ParseMessage(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(wire->data()), wire->size()));
    ASSERT_TRUE(m.ok()) << "every response we send must parse: " << m.status().ToString();
  }
}

}  // namespace
}  // namespace beacon::dns
