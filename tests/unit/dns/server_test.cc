#include "dns/server.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <sys/socket.h>
#include <sys/time.h>

#include <string>

#include "dns/message.h"
#include "test_catalog.h"
#include "testutil/eventually.h"

namespace beacon::dns {
namespace {

namespace asio = boost::asio;
using catalog::HealthStatus;
using dnstest::CatalogBuilder;

catalog::SnapshotPtr Catalog(int instances, uint64_t generation) {
  CatalogBuilder b;
  b.Node("server1", "127.0.0.1");
  for (int i = 0; i < instances; ++i) {
    b.Instance({"server1", "web" + std::to_string(i), "web", "127.0.1." + std::to_string(i + 1),
                8000 + i, {}, {HealthStatus::kPassing}, {}});
  }
  auto snap = b.Build("server1");
  std::const_pointer_cast<catalog::Snapshot>(snap)->generation = generation;
  return snap;
}

std::string Query(const std::string& name, uint16_t type, uint16_t id) {
  Message m;
  m.header.id = id;
  m.questions.push_back({name, type, kClassIn});
  std::string wire;
  EXPECT_TRUE(EncodeMessage(m, &wire).ok());
  return wire;
}

Message Parse(const std::string& wire) {
  auto m = ParseMessage(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wire.data()), wire.size()));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : Message{};
}

void SetReceiveTimeout(int fd) {
  timeval tv{2, 0};  // every read in these tests is bounded
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

// One exchange over an open TCP connection: the query and the reply with their 2-byte lengths.
std::string AskTcp(asio::ip::tcp::socket& s, const std::string& q) {
  std::string framed = {static_cast<char>(q.size() >> 8), static_cast<char>(q.size() & 0xff)};
  asio::write(s, asio::buffer(framed + q));
  uint8_t len[2];
  asio::read(s, asio::buffer(len));
  std::string body((len[0] << 8) | len[1], '\0');
  asio::read(s, asio::buffer(body));
  return body;
}

class DnsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<net::IoPool>(2);
    DnsServerOptions options;
    options.port = 0;
    options.dns.datacenter = "dc1";
    options.dns.local_node = "server1";
    options.dns.tcp_idle_timeout = std::chrono::milliseconds(300);
    options.metrics = &metrics_;
    auto server = DnsServer::Start(*pool_, options, Catalog(5, 1));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    pool_->Start();
  }
  void TearDown() override {
    if (server_) server_->Stop();
    pool_->Stop();
    server_.reset();
    pool_.reset();
  }

  // One UDP exchange; "" on timeout.
  std::string AskUdp(const std::string& query) {
    asio::ip::udp::socket s(io_);
    s.open(asio::ip::udp::v4());
    SetReceiveTimeout(s.native_handle());
    asio::ip::udp::endpoint to(asio::ip::make_address("127.0.0.1"), server_->port());
    s.send_to(asio::buffer(query), to);
    std::string buf(65536, '\0');
    boost::system::error_code ec;
    asio::ip::udp::endpoint from;
    size_t n = s.receive_from(asio::buffer(buf), from, 0, ec);
    if (ec) return "";
    buf.resize(n);
    return buf;
  }

  // dns.queries{protocol, rcode}.
  uint64_t Queries(const std::string& protocol, const std::string& rcode) {
    return metrics_.GetCounter("dns.queries", {{"protocol", protocol}, {"rcode", rcode}})->value();
  }

  asio::io_context io_;
  MetricsRegistry metrics_;  // outlives the server
  std::unique_ptr<net::IoPool> pool_;
  std::unique_ptr<DnsServer> server_;
};

TEST_F(DnsServerTest, AnswersOverUdp) {
  ASSERT_NE(server_->port(), 0);
  Message m = Parse(AskUdp(Query("web.service.consul.", kTypeA, 7)));
  EXPECT_EQ(m.header.id, 7);
  EXPECT_EQ(m.header.rcode, 0);
  EXPECT_EQ(m.answers.size(), 3u);  // plain UDP: udp_answer_limit
}

TEST_F(DnsServerTest, AnswersSeveralQueriesOnOneTcpConnection) {
  asio::ip::tcp::socket s(io_);
  s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  SetReceiveTimeout(s.native_handle());
  for (uint16_t id = 1; id <= 3; ++id) {
    Message m = Parse(AskTcp(s, Query("web.service.consul.", kTypeSrv, id)));
    EXPECT_EQ(m.header.id, id);
    EXPECT_EQ(m.answers.size(), 5u) << "TCP: every instance";
    EXPECT_EQ(m.additional.size(), 5u);
  }
}

TEST_F(DnsServerTest, ClosesIdleTcpConnections) {
  asio::ip::tcp::socket s(io_);
  s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  SetReceiveTimeout(s.native_handle());
  uint8_t byte;
  boost::system::error_code ec;
  asio::read(s, asio::buffer(&byte, 1), ec);  // the server closes after 300 ms of silence
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(DnsServerTest, ServesPublishedSnapshots) {
  server_->Publish(Catalog(0, 2));
  ASSERT_TRUE(testutil::Eventually([&] {
    return Parse(AskUdp(Query("web.service.consul.", kTypeA, 1))).header.rcode == 3;
  }));
  // An older generation never replaces a newer one.
  server_->Publish(Catalog(5, 1));
  server_->Publish(Catalog(1, 3));
  ASSERT_TRUE(testutil::Eventually([&] {
    return Parse(AskUdp(Query("web.service.consul.", kTypeA, 1))).answers.size() == 1;
  }));
}

TEST_F(DnsServerTest, IgnoresGarbageAndKeepsServing) {
  asio::ip::udp::socket s(io_);
  s.open(asio::ip::udp::v4());
  asio::ip::udp::endpoint to(asio::ip::make_address("127.0.0.1"), server_->port());
  for (int i = 0; i < 50; ++i) s.send_to(asio::buffer(std::string(static_cast<size_t>(i), 'x')), to);
  s.send_to(asio::buffer(std::string(5000, 'y')), to);  // larger than any query we read
  Message m = Parse(AskUdp(Query("web.service.consul.", kTypeA, 99)));
  EXPECT_EQ(m.header.id, 99);
  EXPECT_EQ(m.answers.size(), 3u);
}

TEST_F(DnsServerTest, CountsAnsweredQueriesByProtocolAndRcode) {
  // Every label pair exists from the start, at zero.
  for (const char* rcode : {"NOERROR", "NXDOMAIN", "REFUSED", "FORMERR", "SERVFAIL", "NOTIMP"}) {
    EXPECT_EQ(Queries("udp", rcode), 0u) << rcode;
    EXPECT_EQ(Queries("tcp", rcode), 0u) << rcode;
  }
  for (uint16_t id = 1; id <= 2; ++id) {
    EXPECT_EQ(Parse(AskUdp(Query("web.service.consul.", kTypeA, id))).header.rcode, 0);
  }
  EXPECT_EQ(Parse(AskUdp(Query("nosuch.service.consul.", kTypeA, 3))).header.rcode, 3);
  EXPECT_EQ(Parse(AskUdp(Query("example.com.", kTypeA, 4))).header.rcode, 5);
  EXPECT_EQ(Parse(AskUdp(Query("consul.", kTypeAxfr, 5))).header.rcode, 4);
  // A header announcing one question, and no question bytes: FORMERR.
  EXPECT_EQ(Parse(AskUdp(std::string("\0\6\1\0\0\1\0\0\0\0\0\0", 12))).header.rcode, 1);

  asio::ip::tcp::socket s(io_);
  s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  SetReceiveTimeout(s.native_handle());
  EXPECT_EQ(Parse(AskTcp(s, Query("nobody.node.consul.", kTypeA, 7))).header.rcode, 3);

  // Counted before the answer is sent, so each count is visible once its reply arrived.
  EXPECT_EQ(Queries("udp", "NOERROR"), 2u);
  EXPECT_EQ(Queries("udp", "NXDOMAIN"), 1u);
  EXPECT_EQ(Queries("udp", "REFUSED"), 1u);
  EXPECT_EQ(Queries("udp", "NOTIMP"), 1u);
  EXPECT_EQ(Queries("udp", "FORMERR"), 1u);
  EXPECT_EQ(Queries("udp", "SERVFAIL"), 0u);
  EXPECT_EQ(Queries("tcp", "NXDOMAIN"), 1u);
  EXPECT_EQ(Queries("tcp", "NOERROR"), 0u);
}

TEST(DnsServerStart, FailsOnAPortInUse) {
  net::IoPool pool(1);
  DnsServerOptions options;
  options.port = 0;
  auto first = DnsServer::Start(pool, options, Catalog(1, 1));
  ASSERT_TRUE(first.ok());
  options.port = (*first)->port();
  auto second = DnsServer::Start(pool, options, Catalog(1, 1));
  EXPECT_FALSE(second.ok());
  options.address = "not an address";
  EXPECT_FALSE(DnsServer::Start(pool, options, Catalog(1, 1)).ok());
  pool.Stop();
}

}  // namespace
}  // namespace beacon::dns
