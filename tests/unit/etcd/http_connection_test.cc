#include "etcd/http_connection.h"

#include <gtest/gtest.h>

#include <string>

namespace beacon::etcd::internal {
namespace {

TEST(EtcdParseEndpoint, AcceptsHttpUrls) {
  struct Case {
    std::string url, host, port, host_header;
  };
  const Case cases[] = {
      {"http://127.0.0.1:2379", "127.0.0.1", "2379", "127.0.0.1:2379"},
      {"127.0.0.1:23790/", "127.0.0.1", "23790", "127.0.0.1:23790"},
      {"http://localhost", "localhost", "2379", "localhost:2379"},
      {"http://[::1]:2379", "::1", "2379", "[::1]:2379"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.url);
    auto ep = ParseEndpoint(c.url);
    ASSERT_TRUE(ep.ok()) << ep.status().ToString();
    EXPECT_EQ(ep->host, c.host);
    EXPECT_EQ(ep->port, c.port);
    EXPECT_EQ(ep->host_header, c.host_header);
  }
  for (const char* bad : {"https://127.0.0.1:2379", "http://", "http://h:0", "http://h:99999",
                          "http://h:1/v3", "http://[::1"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ParseEndpoint(bad).status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace beacon::etcd::internal
