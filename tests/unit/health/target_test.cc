// Check targets: URL, host:port and gRPC target parsing.
#include "health/target.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace beacon::health {
namespace {

TEST(Target, ParseHttpUrl) {
  struct Case {
    std::string url;
    std::string want;  // "tls host port host_header target" or "error"
  };
  const std::vector<Case> cases = {
      {"http://127.0.0.1:8080/health", "0 127.0.0.1 8080 127.0.0.1:8080 /health"},
      {"http://example.com", "0 example.com 80 example.com /"},
      {"https://example.com/a?b=c#frag", "1 example.com 443 example.com /a?b=c"},
      {"HTTPS://[::1]:8443/x", "1 ::1 8443 [::1]:8443 /x"},
      {"http://user:pw@host:81/p", "0 host 81 host:81 /p"},
      {"http://host?q=1", "0 host 80 host /?q=1"},
      {"ftp://host/", "error"},
      {"host:80/health", "error"},
      {"http://:80/", "error"},
      {"http://host:0/", "error"},
      {"http://host:99999/", "error"},
      {"http://host:8x/", "error"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.url);
    Result<HttpUrl> u = ParseHttpUrl(c.url);
    std::string got = "error";
    if (u.ok()) {
      got = std::to_string(u->tls) + " " + u->address.host + " " +
            std::to_string(u->address.port) + " " + u->host_header + " " + u->target;
    }
    EXPECT_EQ(got, c.want);
  }
}

TEST(Target, ParseHostPort) {
  EXPECT_EQ(*ParseHostPort("10.0.0.1:53"), (HostPort{"10.0.0.1", 53}));
  EXPECT_EQ(*ParseHostPort("[fe80::1]:80"), (HostPort{"fe80::1", 80}));
  EXPECT_EQ(*ParseHostPort("db.local", 5432), (HostPort{"db.local", 5432}));
  EXPECT_FALSE(ParseHostPort("db.local").ok());  // TCP checks need a port
  EXPECT_FALSE(ParseHostPort("[::1").ok());
  EXPECT_FALSE(ParseHostPort("[::1]x").ok());
  EXPECT_FALSE(ParseHostPort(":80").ok());
}

TEST(Target, ParseGrpcTarget) {
  Result<GrpcTarget> t = ParseGrpcTarget("127.0.0.1:9000/my.Service");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->address, (HostPort{"127.0.0.1", 9000}));
  EXPECT_EQ(t->service, "my.Service");
  t = ParseGrpcTarget("[::1]:9000");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->address, (HostPort{"::1", 9000}));
  EXPECT_EQ(t->service, "");
  EXPECT_FALSE(ParseGrpcTarget("nohost").ok());
}

TEST(Target, IsIpLiteral) {
  EXPECT_TRUE(IsIpLiteral("127.0.0.1"));
  EXPECT_TRUE(IsIpLiteral("::1"));
  EXPECT_FALSE(IsIpLiteral("localhost"));
  EXPECT_FALSE(IsIpLiteral("[::1]"));
}

}  // namespace
}  // namespace beacon::health
