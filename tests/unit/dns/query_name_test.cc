#include "dns/query_name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dns/message.h"
#include "dns/options.h"

namespace beacon::dns {
namespace {

struct Case {
  std::string name;
  uint16_t qtype;
  std::string want;  // QueryNameToString
};

TEST(QueryName, ParsesEveryNameForm) {
  const std::vector<Case> cases = {
      // <service>.service[.<dc>[.dc]]
      {"web.service.consul.", kTypeA, "service web"},
      {"web.service.consul", kTypeA, "service web"},
      {"WEB.SERVICE.CONSUL.", kTypeA, "service WEB"},
      {"web.service.dc1.consul.", kTypeA, "service web dc=dc1"},
      {"web.service.dc2.dc.consul.", kTypeSrv, "service web dc=dc2"},
      {"web.service.dc2.DC.consul.", kTypeSrv, "service web dc=dc2"},
      {"web.service.a.b.consul.", kTypeA, "invalid"},
      // <tag>.<service>.service: everything left of the service joined
      {"primary.web.service.consul.", kTypeA, "service web tag=primary"},
      {"v1.2.web.service.consul.", kTypeA, "service web tag=v1.2"},
      {"primary.web.service.dc1.consul.", kTypeSrv, "service web tag=primary dc=dc1"},
      // RFC 2782
      {"_web._tcp.service.consul.", kTypeSrv, "service web rfc2782"},
      {"_web._TCP.service.consul.", kTypeSrv, "service web rfc2782"},
      {"_web._primary.service.consul.", kTypeSrv, "service web tag=primary rfc2782"},
      {"_web._udp.service.consul.", kTypeSrv, "service web tag=udp rfc2782"},
      {"_web._tcp.service.dc1.consul.", kTypeSrv, "service web rfc2782 dc=dc1"},
      {"_web._tcp.service.consul.", kTypeA, "service web rfc2782"},
      // RFC 2782 without `.service`, SRV only
      {"_web._tcp.consul.", kTypeSrv, "service web rfc2782"},
      {"_web._tcp.dc1.consul.", kTypeSrv, "service web rfc2782 dc=dc1"},
      {"_web._tcp.consul.", kTypeA, "invalid"},
      {"_web.consul.", kTypeSrv, "service _web"},
      // not RFC 2782: only one underscore label
      {"_web.tcp.service.consul.", kTypeSrv, "service tcp tag=_web"},
      // nodes, dots allowed
      {"node1.node.consul.", kTypeA, "node node1"},
      {"node1.node.dc1.consul.", kTypeA, "node node1 dc=dc1"},
      {"web.example.com.node.consul.", kTypeA, "node web.example.com"},
      {"node.consul.", kTypeA, "invalid"},
      // the right-most kind label wins
      {"a.service.b.node.consul.", kTypeA, "node a.service.b"},
      // addresses
      {"7f000001.addr.consul.", kTypeA, "addr 7f000001"},
      {"7F000001.addr.dc1.consul.", kTypeA, "addr 7f000001 dc=dc1"},
      {"20010db8000000000000000000000001.addr.consul.", kTypeAaaa,
       "addr 20010db8000000000000000000000001"},
      {"7f00001.addr.consul.", kTypeA, "invalid"},
      {"7f00000g.addr.consul.", kTypeA, "invalid"},
      {"a.7f000001.addr.consul.", kTypeA, "invalid"},
      // Tier 3 kinds
      {"web.query.consul.", kTypeA, "unsupported"},
      {"web.connect.consul.", kTypeA, "unsupported"},
      {"web.ingress.consul.", kTypeA, "unsupported"},
      {"web.virtual.consul.", kTypeA, "unsupported"},
      // no kind label
      {"web.consul.", kTypeA, "invalid"},
      {"service.consul.", kTypeA, "invalid"},
      // the domain itself and names outside it
      {"consul.", kTypeSoa, "apex"},
      {"CONSUL.", kTypeNs, "apex"},
      {".", kTypeNs, "outside"},
      {"example.com.", kTypeA, "outside"},
      {"web.service.consul.example.com.", kTypeA, "outside"},
      {"notconsul.", kTypeA, "outside"},
      {"1.0.0.127.in-addr.arpa.", kTypePtr, "outside"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(QueryNameToString(ParseQueryName(c.name, c.qtype, "consul.")), c.want);
  }
}

TEST(QueryName, HonoursAConfiguredDomain) {
  const std::string domain = NormalizeDomain("Beacon.Example.");
  EXPECT_EQ(domain, "beacon.example.");
  EXPECT_EQ(QueryNameToString(ParseQueryName("web.service.beacon.example.", kTypeA, domain)),
            "service web");
  EXPECT_EQ(QueryNameToString(ParseQueryName("beacon.example.", kTypeSoa, domain)), "apex");
  EXPECT_EQ(QueryNameToString(ParseQueryName("web.service.consul.", kTypeA, domain)), "outside");
  EXPECT_EQ(QueryNameToString(ParseQueryName("web.service.example.", kTypeA, domain)), "outside");
}

TEST(QueryName, KeepsLabelsWithEscapedDots) {
  // A node label that itself contains a dot reads back joined, like Consul's strings.Join.
  QueryName q = ParseQueryName("a\\.b.node.consul.", kTypeA, "consul.");
  EXPECT_EQ(q.kind, QueryKind::kNode);
  EXPECT_EQ(q.node, "a.b");
}

}  // namespace
}  // namespace beacon::dns
