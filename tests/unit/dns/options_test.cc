#include "dns/options.h"

#include <gtest/gtest.h>

namespace beacon::dns {
namespace {

TEST(DnsOptions, NormalizesDomains) {
  EXPECT_EQ(NormalizeDomain("consul"), "consul.");
  EXPECT_EQ(NormalizeDomain("consul."), "consul.");
  EXPECT_EQ(NormalizeDomain(".Consul."), "consul.");
  EXPECT_EQ(NormalizeDomain(""), ".");
}

TEST(DnsOptions, PicksServiceTtls) {
  DnsOptions o;
  o.service_ttl = {{"web", std::chrono::seconds(5)},
                   {"we*", std::chrono::seconds(7)},
                   {"w*", std::chrono::seconds(9)},
                   {"*", std::chrono::seconds(1)}};
  EXPECT_EQ(ServiceTtl(o, "web").count(), 5);
  EXPECT_EQ(ServiceTtl(o, "WEB").count(), 5);
  EXPECT_EQ(ServiceTtl(o, "west").count(), 7);
  EXPECT_EQ(ServiceTtl(o, "wx").count(), 9);
  EXPECT_EQ(ServiceTtl(o, "db").count(), 1);
  EXPECT_EQ(ServiceTtl(DnsOptions{}, "db").count(), 0);
}

}  // namespace
}  // namespace beacon::dns
