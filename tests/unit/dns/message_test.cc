#include "dns/message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace beacon::dns {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// A header with the given counts, then `body`.
std::string WithHeader(uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar, std::string_view body) {
  std::string h = {'\x12', '\x34', '\x01', '\x00'};
  for (uint16_t c : {qd, an, ns, ar}) {
    h.push_back(static_cast<char>(c >> 8));
    h.push_back(static_cast<char>(c & 0xff));
  }
  return h + std::string(body);
}

Message SampleMessage() {
  Message m;
  m.header.id = 0xbeef;
  m.header.qr = true;
  m.header.aa = true;
  m.header.rd = true;
  m.header.rcode = 3;
  m.questions.push_back({"web.service.consul.", kTypeSrv, kClassIn});
  RdataSrv srv;
  srv.priority = 1;
  srv.weight = 5;
  srv.port = 8080;
  srv.target = "node-1.node.dc1.consul.";
  m.answers.push_back({"web.service.consul.", kTypeSrv, kClassIn, 30, srv});
  m.answers.push_back({"web.service.consul.", kTypeA, kClassIn, 0, RdataA{{10, 0, 0, 1}}});
  RdataAaaa v6;
  v6.address[0] = 0xfd;
  v6.address[15] = 1;
  m.answers.push_back({"web.service.consul.", kTypeAaaa, kClassIn, 0, v6});
  m.answers.push_back(
      {"alias.service.consul.", kTypeCname, kClassIn, 0, RdataName{"db.example.com."}});
  RdataSoa soa{"ns.consul.", "hostmaster.consul.", 1700000000, 3600, 600, 86400, 0};
  m.authority.push_back({"consul.", kTypeSoa, kClassIn, 0, soa});
  m.authority.push_back({"consul.", kTypeNs, kClassIn, 0, RdataName{"node-1.node.dc1.consul."}});
  m.additional.push_back({"node-1.node.dc1.consul.", kTypeA, kClassIn, 0, RdataA{{10, 0, 0, 2}}});
  m.additional.push_back(
      {"node-1.node.dc1.consul.", kTypeTxt, kClassIn, 0, RdataTxt{{"rack=r1", std::string(255, 'x')}}});
  m.additional.push_back({"node-1.node.dc1.consul.", kTypeMx, kClassIn, 0,
                          RdataRaw{std::string("\x00\x0a\x00", 3)}});
  m.edns = Edns{4096, 0, true, std::string("\x00\x0a\x00\x02\xab\xcd", 6)};
  return m;
}

std::string Render(const Message& m) {
  std::string s = "id=" + std::to_string(m.header.id) + " rcode=" + std::to_string(m.header.rcode);
  for (const Question& q : m.questions) {
    s += "\nQ " + q.name + " " + std::to_string(q.type) + " " + std::to_string(q.klass);
  }
  for (const auto* section : {&m.answers, &m.authority, &m.additional}) {
    s += "\n--";
    for (const ResourceRecord& rr : *section) s += "\n" + RecordToString(rr);
  }
  if (m.edns) s += "\nOPT " + std::to_string(m.edns->udp_size);
  return s;
}

TEST(MessageCodec, RoundTripsEveryRecordType) {
  Message m = SampleMessage();
  std::string wire;
  ASSERT_TRUE(EncodeMessage(m, &wire).ok());
  auto parsed = ParseMessage(Bytes(wire));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->header.id, 0xbeef);
  EXPECT_TRUE(parsed->header.qr);
  EXPECT_TRUE(parsed->header.aa);
  EXPECT_TRUE(parsed->header.rd);
  EXPECT_FALSE(parsed->header.tc);
  EXPECT_EQ(parsed->questions, m.questions);
  EXPECT_EQ(parsed->answers, m.answers);
  EXPECT_EQ(parsed->authority, m.authority);
  EXPECT_EQ(parsed->additional, m.additional);
  ASSERT_TRUE(parsed->edns.has_value());
  EXPECT_EQ(*parsed->edns, *m.edns);
  EXPECT_EQ(Render(*parsed), Render(m));
}

TEST(MessageCodec, ExtendedRcodeTravelsInOpt) {
  Message m;
  m.header.qr = true;
  m.header.rcode = static_cast<uint16_t>(Rcode::kBadVers);
  std::string wire;
  EXPECT_FALSE(EncodeMessage(m, &wire).ok()) << "BADVERS needs an OPT record";
  EXPECT_TRUE(wire.empty());
  m.edns = Edns{};
  ASSERT_TRUE(EncodeMessage(m, &wire).ok());
  auto parsed = ParseMessage(Bytes(wire));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header.rcode, 16);
}

TEST(MessageCodec, CompressesOwnerNamesButNotSrvTargets) {
  Message m;
  m.questions.push_back({"web.service.consul.", kTypeSrv, kClassIn});
  for (int i = 0; i < 3; ++i) {
    RdataSrv srv{1, 1, static_cast<uint16_t>(8000 + i), "node-1.node.dc1.consul."};
    m.answers.push_back({"web.service.consul.", kTypeSrv, kClassIn, 0, srv});
  }
  std::string wire;
  ASSERT_TRUE(EncodeMessage(m, &wire).ok());
  // Owners point at the question (offset 12): 0xc00c.
  EXPECT_NE(wire.find("\xc0\x0c", 0), std::string::npos);
  // Each SRV target is written whole (RFC 2782), so the full name appears three times.
  const std::string target = "\x06node-1\x04node\x03" "dc1\x06" "consul";
  size_t count = 0;
  for (size_t p = wire.find(target); p != std::string::npos; p = wire.find(target, p + 1)) ++count;
  EXPECT_EQ(count, 3u);
  // 12 header + 24 question + 3 * (2 owner + 10 + 6 + 24 target)
  EXPECT_EQ(wire.size(), 12u + 24u + 3u * 42u);
}

TEST(MessageCodec, LaterNamesPointIntoSrvTargets) {
  Message m;
  m.questions.push_back({"web.service.consul.", kTypeSrv, kClassIn});
  m.answers.push_back(
      {"web.service.consul.", kTypeSrv, kClassIn, 0, RdataSrv{1, 1, 80, "n1.node.dc1.consul."}});
  m.additional.push_back({"n1.node.dc1.consul.", kTypeA, kClassIn, 0, RdataA{{1, 2, 3, 4}}});
  std::string wire;
  ASSERT_TRUE(EncodeMessage(m, &wire).ok());
  auto parsed = ParseMessage(Bytes(wire));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->additional[0].name, "n1.node.dc1.consul.");
  // The additional owner is a bare pointer: its record is 2 + 10 + 4 bytes.
  EXPECT_EQ(wire.size(), 12u + 24u + (2 + 10 + 6 + 20) + 16u);
}

TEST(MessageCodec, AnswerOwnersPointAtTheQuestion) {
  for (const std::string& name : {std::string("web.service.consul."), std::string(".")}) {
    SCOPED_TRACE(name);
    Message m;
    m.questions.push_back({name, kTypeA, kClassIn});
    m.answers.push_back({name, kTypeA, kClassIn, 0, RdataA{{1, 2, 3, 4}}});
    m.answers.push_back({name, kTypeA, kClassIn, 0, RdataA{{5, 6, 7, 8}}});
    std::string wire;
    ASSERT_TRUE(EncodeMessage(m, &wire).ok());
    auto parsed = ParseMessage(Bytes(wire));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->answers[0].name, name);
    EXPECT_EQ(parsed->answers[1].name, name);
  }
  // Two questions whose second is a pointer to the first: owners still decode right.
  Message two;
  two.questions = {{"a.consul.", kTypeA, kClassIn}, {"a.consul.", kTypeAaaa, kClassIn}};
  two.answers.push_back({"a.consul.", kTypeA, kClassIn, 0, RdataA{{1, 2, 3, 4}}});
  std::string wire;
  ASSERT_TRUE(EncodeMessage(two, &wire).ok());
  auto parsed = ParseMessage(Bytes(wire));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->answers[0].name, "a.consul.");
}

TEST(MessageCodec, PreservesCaseThroughCompression) {
  Message m;
  m.questions.push_back({"WeB.Service.CONSUL.", kTypeA, kClassIn});
  m.answers.push_back({"WeB.Service.CONSUL.", kTypeA, kClassIn, 0, RdataA{{1, 2, 3, 4}}});
  m.authority.push_back({"consul.", kTypeNs, kClassIn, 0, RdataName{"ns.consul."}});
  std::string wire;
  ASSERT_TRUE(EncodeMessage(m, &wire).ok());
  auto parsed = ParseMessage(Bytes(wire));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->answers[0].name, "WeB.Service.CONSUL.");
  EXPECT_EQ(parsed->authority[0].name, "consul.");
  EXPECT_EQ(std::get<RdataName>(parsed->authority[0].rdata).name, "ns.consul.");
}

TEST(MessageCodec, EncodesSectionPrefixes) {
  Message m = SampleMessage();
  std::string wire;
  ASSERT_TRUE(EncodeMessage(m, &wire, SectionCounts{2, 0, 1}).ok());
  auto parsed = ParseMessage(Bytes(wire));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->answers.size(), 2u);
  EXPECT_EQ(parsed->authority.size(), 0u);
  EXPECT_EQ(parsed->additional.size(), 1u);
  EXPECT_TRUE(parsed->edns.has_value());
}

TEST(MessageCodec, AppendsAfterExistingBytes) {
  Message m = SampleMessage();
  std::string alone;
  ASSERT_TRUE(EncodeMessage(m, &alone).ok());
  std::string framed = "xy";  // e.g. a TCP length prefix
  ASSERT_TRUE(EncodeMessage(m, &framed).ok());
  EXPECT_EQ(framed.substr(2), alone);
}

TEST(MessageCodec, RejectsUnencodableNames) {
  struct Case {
    std::string name;
    std::string owner;
  };
  const std::vector<Case> cases = {
      {"empty label", "a..consul."},
      {"leading dot", ".consul."},
      {"64-byte label", std::string(64, 'a') + ".consul."},
      {"256-byte name", std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                            std::string(63, 'c') + "." + std::string(63, 'd') + "."},
      {"bad escape", "a\\25.consul."},
      {"escape above 255", "a\\256.consul."},
      {"lone backslash", "a\\"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Message m;
    m.answers.push_back({c.owner, kTypeA, kClassIn, 0, RdataA{}});
    std::string wire = "keep";
    EXPECT_FALSE(EncodeMessage(m, &wire).ok());
    EXPECT_EQ(wire, "keep") << "output left unchanged on failure";
  }
  Message txt;
  txt.answers.push_back({"a.", kTypeTxt, kClassIn, 0, RdataTxt{{std::string(256, 'x')}}});
  std::string wire;
  EXPECT_FALSE(EncodeMessage(txt, &wire).ok());
}

TEST(NameText, ConvertsToWire) {
  struct Case {
    std::string text;
    std::string wire;
  };
  const std::vector<Case> cases = {
      {".", std::string(1, '\0')},
      {"", std::string(1, '\0')},
      {"consul.", std::string("\x06" "consul\x00", 8)},
      {"consul", std::string("\x06" "consul\x00", 8)},
      {"a.b.", std::string("\x01" "a\x01" "b\x00", 5)},
      {"a\\.b.c.", std::string("\x03" "a.b\x01" "c\x00", 7)},
      {"\\065\\\\.", std::string("\x02" "A\\\x00", 4)},
      {std::string(63, 'x') + ".", "\x3f" + std::string(63, 'x') + std::string(1, '\0')},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto wire = NameToWire(c.text);
    ASSERT_TRUE(wire.ok()) << wire.status().ToString();
    EXPECT_EQ(*wire, c.wire);
  }
}

TEST(NameText, EscapesOddBytesAndRoundTrips) {
  std::string label = std::string("a.b\\c d", 7) + std::string(1, '\0') + "\x7f";
  std::string text;
  AppendLabelText(label, &text);
  EXPECT_EQ(text, "a\\.b\\\\c\\032d\\000\\127.");
  auto labels = SplitName(text + "consul.");
  ASSERT_TRUE(labels.ok());
  ASSERT_EQ(labels->size(), 2u);
  EXPECT_EQ((*labels)[0], label);
  EXPECT_EQ((*labels)[1], "consul");
}

TEST(MessageParse, AcceptsAQuestionLikeDigSends) {
  // dig web.service.consul SRV +noedns
  std::string q = WithHeader(1, 0, 0, 0,
                             std::string("\x03web\x07service\x06" "consul\x00\x00\x21\x00\x01", 24));
  auto m = ParseMessage(Bytes(q));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0].name, "web.service.consul.");
  EXPECT_EQ(m->questions[0].type, kTypeSrv);
  EXPECT_EQ(m->header.id, 0x1234);
  EXPECT_TRUE(m->header.rd);
  EXPECT_FALSE(m->edns.has_value());
}

TEST(MessageParse, FollowsBackwardPointers) {
  // Question "a.consul." at 12, then a second question "b" + pointer to "consul." at 14.
  std::string body = std::string("\x01" "a\x06" "consul\x00\x00\x01\x00\x01", 14) +
                     std::string("\x01" "b\xc0\x0e\x00\x01\x00\x01", 8);
  auto m = ParseMessage(Bytes(WithHeader(2, 0, 0, 0, body)));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->questions[1].name, "b.consul.");
}

// A name that is a chain of `hops` pointers, each to the previous question's name.
std::string PointerChain(int hops) {
  std::string body = std::string("\x00\x00\x01\x00\x01", 5);  // question 0: root, at 12
  size_t prev = 12;
  for (int i = 0; i < hops; ++i) {
    size_t here = 12 + body.size();
    body.push_back(static_cast<char>(0xc0 | (prev >> 8)));
    body.push_back(static_cast<char>(prev & 0xff));
    body += std::string("\x00\x01\x00\x01", 4);
    prev = here;
  }
  return WithHeader(static_cast<uint16_t>(hops + 1), 0, 0, 0, body);
}

TEST(MessageParse, RejectsMalformedInput) {
  struct Case {
    std::string name;
    std::string bytes;
  };
  const std::string q_tail("\x00\x01\x00\x01", 4);
  const std::string consul("\x06" "consul\x00", 8);
  std::string long_name;  // 5 labels of 63 bytes: 320 bytes on the wire
  for (int i = 0; i < 5; ++i) long_name += "\x3f" + std::string(63, 'a');
  long_name.push_back('\0');
  const std::vector<Case> cases = {
      {"empty", ""},
      {"truncated header", std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00", 11)},
      {"question missing", WithHeader(1, 0, 0, 0, "")},
      {"question type cut", WithHeader(1, 0, 0, 0, consul + std::string("\x00", 1))},
      {"label runs past end", WithHeader(1, 0, 0, 0, "\x0a" "abc")},
      {"name without terminator", WithHeader(1, 0, 0, 0, "\x03" "abc")},
      {"label type 0x40", WithHeader(1, 0, 0, 0, std::string("\x41" "a\x00", 3) + q_tail)},
      {"label type 0x80", WithHeader(1, 0, 0, 0, std::string("\x81" "a\x00", 3) + q_tail)},
      {"name over 255 bytes", WithHeader(1, 0, 0, 0, long_name + q_tail)},
      {"truncated pointer", WithHeader(1, 0, 0, 0, "\xc0")},
      {"pointer to itself", WithHeader(1, 0, 0, 0, std::string("\xc0\x0c", 2) + q_tail)},
      {"forward pointer", WithHeader(1, 0, 0, 0, std::string("\xc0\x0e\x00", 3) + q_tail)},
      {"pointer past end", WithHeader(1, 0, 0, 0, std::string("\xc3\xff", 2) + q_tail)},
      {"pointer loop through labels",
       // "a" then a pointer back to the "a" label itself: a -> a -> a ...
       WithHeader(1, 0, 0, 0, std::string("\x01" "a\xc0\x0c", 4) + q_tail)},
      {"pointer loop across two names",
       // name 0 at 12: "x" + pointer forward to name 1, which points back to name 0
       WithHeader(2, 0, 0, 0,
                  std::string("\x01x\xc0\x11", 4) + q_tail.substr(0, 1) +
                      std::string("\xc0\x0c", 2) + q_tail)},
      {"too many pointer hops", PointerChain(130)},
      {"record header cut", WithHeader(0, 1, 0, 0, consul + std::string("\x00\x01\x00", 3))},
      {"rdata past end",
       WithHeader(0, 1, 0, 0, consul + std::string("\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\x01", 11))},
      {"A rdata of 3 bytes",
       WithHeader(0, 1, 0, 0,
                  consul + std::string("\x00\x01\x00\x01\x00\x00\x00\x00\x00\x03\x01\x02\x03", 13))},
      {"SRV target past rdata",
       WithHeader(0, 1, 0, 0,
                  consul + std::string("\x00\x21\x00\x01\x00\x00\x00\x00\x00\x08"
                                       "\x00\x01\x00\x01\x00\x50\x03" "a",
                                       18) + std::string("bc\x00", 3))},
      {"CNAME rdata longer than its name",
       WithHeader(0, 1, 0, 0,
                  consul + std::string("\x00\x05\x00\x01\x00\x00\x00\x00\x00\x03\x00\x00\x00", 13))},
      {"TXT string past rdata",
       WithHeader(0, 1, 0, 0,
                  consul + std::string("\x00\x10\x00\x01\x00\x00\x00\x00\x00\x02\x05" "a", 12))},
      {"trailing bytes", WithHeader(1, 0, 0, 0, consul + q_tail + "zz")},
      {"OPT in answer",
       WithHeader(0, 1, 0, 0, std::string("\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00", 11))},
      {"OPT with a name",
       WithHeader(0, 0, 0, 1, consul + std::string("\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00", 10))},
      {"two OPT records",
       WithHeader(0, 0, 0, 2,
                  std::string("\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00", 11) +
                      std::string("\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00", 11))},
      {"EDNS option past rdata",
       WithHeader(0, 0, 0, 1,
                  std::string("\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x05\x00\x0a\x00\x09\x00",
                              16))},
      {"count bomb", WithHeader(0xffff, 0xffff, 0xffff, 0xffff, consul + q_tail)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto m = ParseMessage(Bytes(c.bytes));
    EXPECT_FALSE(m.ok());
    if (!m.ok()) {
      EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(MessageParse, AcceptsLongLegalPointerChains) {
  auto m = ParseMessage(Bytes(PointerChain(120)));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->questions.back().name, ".");
}

TEST(MessageParse, NeverReadsPastAnyPrefix) {
  // Every prefix of a valid message is either rejected or (for the whole message) accepted;
  // under ASan this also proves no read goes past the end.
  std::string wire;
  ASSERT_TRUE(EncodeMessage(SampleMessage(), &wire).ok());
  for (size_t n = 0; n < wire.size(); ++n) {
    EXPECT_FALSE(ParseMessage(Bytes(wire.substr(0, n))).ok()) << "prefix " << n;
  }
  EXPECT_TRUE(ParseMessage(Bytes(wire)).ok());
}

TEST(MessageParse, SurvivesEveryOneByteCorruption) {
  std::string wire;
  ASSERT_TRUE(EncodeMessage(SampleMessage(), &wire).ok());
  size_t accepted = 0;
  for (size_t i = 0; i < wire.size(); ++i) {
    for (int v : {0x00, 0x3f, 0x40, 0xc0, 0xff}) {
      std::string bad = wire;
      bad[i] = static_cast<char>(v);
      auto m = ParseMessage(Bytes(bad));  // must not crash or hang; either outcome is fine
      if (m.ok()) ++accepted;
    }
  }
  EXPECT_GT(accepted, 0u);
}

TEST(MessageParse, HeaderNeedsTwelveBytes) {
  EXPECT_FALSE(ParseHeader(Bytes(std::string(11, '\0'))).ok());
  auto h = ParseHeader(Bytes(std::string("\xab\xcd\x84\x83\x00\x00\x00\x00\x00\x00\x00\x00", 12)));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->id, 0xabcd);
  EXPECT_TRUE(h->qr);
  EXPECT_TRUE(h->aa);
  EXPECT_EQ(h->rcode, 3);
}

}  // namespace
}  // namespace beacon::dns
