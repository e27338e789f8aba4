// HTTP checks reuse their connection between attempts (http_probe.h, check_runner.h): real
// CheckRunner sessions on an IoPool probe a small HTTP server on loopback whose connection
// behaviour the test picks (keep-alive, close after each response, HTTP/1.0, drop or stall the
// second request on a connection, close idle connections, restart, a body past OutputMaxSize).
// The server counts connections, requests and the connections the client closed, so each test
// asserts what the server saw and what the checks reported (`health.checks_run`), never timing.
#include "health/check_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "testutil/eventually.h"
#include "unit/health/runner_fixture.h"

namespace beacon::health {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using catalog::CheckSpec;
using catalog::CheckType;
using testutil::Eventually;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// How the server treats a connection.
enum class Behaviour {
  kKeepAlive,    // HTTP/1.1 200 with Content-Length; the connection stays open
  kClose,        // HTTP/1.1 200 with `Connection: close`, then the server closes
  kHttp10,       // HTTP/1.0 200 with Content-Length; the server leaves the closing to the client
  kDropSecond,   // answers the first request on a connection, closes on the second unanswered
  kStallSecond,  // answers the first request on a connection, never the later ones
  kCloseIdle,    // answers with keep-alive, then closes the connection 10 ms later
  kBigBody,      // HTTP/1.1 200 keep-alive with a 64 KiB body (past the check's OutputMaxSize)
};

struct ServerState {
  explicit ServerState(asio::io_context& io, Behaviour b) : io(io), behaviour(b) {}
  asio::io_context& io;
  const Behaviour behaviour;
  std::unique_ptr<tcp::acceptor> acceptor;          // io thread only
  std::vector<std::weak_ptr<tcp::socket>> sockets;  // io thread only
  uint16_t port = 0;
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> client_closed{0};  // connections on which the server read EOF
  std::atomic<int> open{0};
  std::mutex mu;
  std::string last_request;  // guarded by mu
};

std::string Reply(Behaviour b) {
  switch (b) {
    case Behaviour::kClose:
      return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    case Behaviour::kHttp10:
      return "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
    case Behaviour::kBigBody:
      return "HTTP/1.1 200 OK\r\nContent-Length: 65536\r\n\r\n" + std::string(65536, 'x');
    default:
      return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
  }
}

asio::awaitable<void> Serve(std::shared_ptr<ServerState> st, std::shared_ptr<tcp::socket> socket) {
  ++st->connections;
  ++st->open;
  std::string buf;
  int on_this_connection = 0;
  for (;;) {
    // The checks send no body (GET; a POST here has none either).
    auto [ec, n] = co_await asio::async_read_until(*socket, asio::dynamic_buffer(buf, 64 * 1024),
                                                   "\r\n\r\n", kTuple);
    if (ec) {
      if (ec == asio::error::eof) {
        ++st->client_closed;
      }
      break;
    }
    {
      std::lock_guard<std::mutex> lock(st->mu);
      st->last_request = buf.substr(0, n);
    }
    buf.erase(0, n);
    ++st->requests;
    ++on_this_connection;
    if (st->behaviour == Behaviour::kDropSecond && on_this_connection >= 2) {
      break;  // as a server whose idle timeout ran out just as the request arrived
    }
    if (st->behaviour == Behaviour::kStallSecond && on_this_connection >= 2) {
      char c;
      auto [rec, rn] = co_await socket->async_read_some(asio::buffer(&c, 1), kTuple);
      if (rec == asio::error::eof) {
        ++st->client_closed;
      }
      break;
    }
    const std::string reply = Reply(st->behaviour);
    auto [wec, wn] = co_await asio::async_write(*socket, asio::buffer(reply), kTuple);
    if (wec || st->behaviour == Behaviour::kClose) {
      break;
    }
    if (st->behaviour == Behaviour::kCloseIdle) {
      asio::steady_timer t(st->io, 10ms);
      co_await t.async_wait(kTuple);
      break;
    }
  }
  boost::system::error_code ignored;
  socket->shutdown(tcp::socket::shutdown_send, ignored);
  socket->close(ignored);
  --st->open;
}

asio::awaitable<void> AcceptLoop(std::shared_ptr<ServerState> st) {
  for (;;) {
    tcp::acceptor* acceptor = st->acceptor.get();
    if (acceptor == nullptr || !acceptor->is_open()) {
      co_return;
    }
    auto [ec, socket] = co_await acceptor->async_accept(kTuple);
    if (ec) {
      co_return;
    }
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    st->sockets.push_back(s);
    asio::co_spawn(st->io, Serve(st, std::move(s)), asio::detached);
  }
}

class TestServer {
 public:
  explicit TestServer(Behaviour b) : state_(std::make_shared<ServerState>(io_, b)) {
    Listen(0);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    io_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(state_->port) + "/hc"; }
  uint64_t connections() const { return state_->connections.load(); }
  uint64_t requests() const { return state_->requests.load(); }
  uint64_t client_closed() const { return state_->client_closed.load(); }
  int open() const { return state_->open.load(); }
  std::string last_request() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->last_request;
  }
  bool WaitRequests(uint64_t n) {
    const uint64_t target = requests() + n;
    return Eventually([&] { return requests() >= target; }, 10s);
  }
  // As a server restart: every connection and the listener close, then it listens again on the
  // same port, all in one step on the server's thread.
  void Restart() {
    std::promise<void> done;
    asio::post(io_, [this, &done] {
      state_->acceptor.reset();
      for (const auto& weak : state_->sockets) {
        if (auto s = weak.lock()) {
          boost::system::error_code ignored;
          s->close(ignored);
        }
      }
      state_->sockets.clear();
      Listen(state_->port);
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  void Listen(uint16_t port) {
    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor->open(ep.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(ep);
    acceptor->listen();
    state_->port = acceptor->local_endpoint().port();
    state_->acceptor = std::move(acceptor);
    asio::co_spawn(io_, AcceptLoop(state_), asio::detached);
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  std::shared_ptr<ServerState> state_;
  std::thread thread_;
};

class HttpKeepAliveTest : public CheckRunnerFixture {
 protected:
  // An HTTP check at a 200 ms interval: a kept connection is idle for about that long, well
  // inside the two intervals after which a session reconnects even on a busy machine.
  void Register(const std::string& service_id, const std::string& url,
                std::chrono::milliseconds timeout = 150ms, const std::string& method = "") {
    CheckSpec s;
    s.id = "check-" + service_id;
    s.definition.type = CheckType::kHttp;
    s.definition.http = url;
    s.definition.method = method;
    s.definition.interval = 200ms;
    s.definition.timeout = timeout;
    s.definition.output_max_size = 100;
    catalog::RegisterService r;
    r.service.name = "web";
    r.service.id = service_id;
    r.checks = {s};
    ASSERT_TRUE(catalog_->SubmitAndWait(std::move(r)).ok());
    runner_->ObserveFull(catalog_->Current());
  }
  // Removes the service and waits until its session ran its last attempt (`remaining` sessions
  // are left), so no attempt of it starts after the test stops its server.
  void Deregister(const std::string& service_id, size_t remaining = 0) {
    ASSERT_TRUE(catalog_->SubmitAndWait(catalog::DeregisterService{service_id}).ok());
    runner_->ObserveFull(catalog_->Current());
    ASSERT_TRUE(Eventually([&] { return runner_->running() == remaining; }));
  }

  using CheckRunnerFixture::Runs;
  uint64_t Runs(const std::string& result) { return Runs("http", result); }
  // What the server saw, compactly, for failure messages.
  static std::string Seen(TestServer& s) {
    return "connections " + std::to_string(s.connections()) + ", requests " +
           std::to_string(s.requests()) + ", closed by the client " +
           std::to_string(s.client_closed()) + ", open " + std::to_string(s.open());
  }
};

TEST_F(HttpKeepAliveTest, KeepAliveServerSeesEveryAttemptOnOneConnection) {
  TestServer server(Behaviour::kKeepAlive);
  Register("web-1", server.url());
  ASSERT_TRUE(server.WaitRequests(5)) << Seen(server);
  EXPECT_EQ(server.connections(), 1u) << Seen(server);
  EXPECT_EQ(server.client_closed(), 0u);
  EXPECT_EQ(runner_->kept_connections(), 1u);
  EXPECT_EQ(Runs("critical"), 0u);
  // The server counts a request before its response reaches the check: the fifth result is
  // recorded a moment after the fifth request.
  EXPECT_TRUE(Eventually([&] { return Runs("passing") >= 5u; })) << Runs("passing");
  // No `Connection: close` in a request that wants the connection kept.
  EXPECT_EQ(server.last_request().find("Connection:"), std::string::npos) << server.last_request();
}

TEST_F(HttpKeepAliveTest, ServerThatClosesGetsAConnectionPerAttempt) {
  struct Case {
    const char* name;
    Behaviour behaviour;
  };
  for (const Case& c :
       {Case{"Connection: close", Behaviour::kClose}, Case{"HTTP/1.0", Behaviour::kHttp10}}) {
    SCOPED_TRACE(c.name);
    TestServer server(c.behaviour);
    const std::string id = c.behaviour == Behaviour::kClose ? "web-close" : "web-10";
    Register(id, server.url());
    ASSERT_TRUE(server.WaitRequests(4)) << Seen(server);
    Deregister(id);
    ASSERT_TRUE(Eventually([&] { return server.open() == 0; })) << Seen(server);
    EXPECT_EQ(server.connections(), server.requests()) << Seen(server);
    if (c.behaviour == Behaviour::kHttp10) {
      // The server left every connection open: the agent closed each after its response.
      EXPECT_EQ(server.client_closed(), server.connections()) << Seen(server);
    }
  }
  EXPECT_EQ(Runs("critical"), 0u);
  EXPECT_EQ(runner_->kept_connections(), 0u);
}

TEST_F(HttpKeepAliveTest, BodyNotReadToItsEndClosesTheConnection) {
  TestServer server(Behaviour::kBigBody);  // 64 KiB body, OutputMaxSize 100
  Register("web-1", server.url());
  ASSERT_TRUE(server.WaitRequests(3)) << Seen(server);
  ASSERT_TRUE(Eventually([&] { return server.open() <= 1; })) << Seen(server);
  EXPECT_GE(server.connections(), server.requests()) << Seen(server);
  EXPECT_EQ(Runs("critical"), 0u);
}

TEST_F(HttpKeepAliveTest, PostCheckDoesNotKeepConnections) {
  TestServer server(Behaviour::kKeepAlive);
  Register("web-1", server.url(), 150ms, "POST");
  ASSERT_TRUE(server.WaitRequests(3)) << Seen(server);
  EXPECT_NE(server.last_request().find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_GE(server.connections(), server.requests()) << Seen(server);
  EXPECT_EQ(Runs("critical"), 0u);
  EXPECT_EQ(runner_->kept_connections(), 0u);
}

// The server closes a kept connection just as the next request arrives (its idle timeout ran
// out): the attempt goes on with a fresh connection, and only that one's result counts.
TEST_F(HttpKeepAliveTest, KeptConnectionClosedByTheServerIsRetriedOnce) {
  TestServer server(Behaviour::kDropSecond);
  Register("web-1", server.url());
  ASSERT_TRUE(server.WaitRequests(7)) << Seen(server);
  EXPECT_EQ(Runs("critical"), 0u) << Seen(server);
  EXPECT_GE(Runs("passing"), 3u);
  // Every attempt after the first was a dropped request plus a fresh connection.
  EXPECT_GE(server.connections(), 3u) << Seen(server);
}

// The server closes idle connections (soon after each response), then restarts: the check stays
// passing throughout.
TEST_F(HttpKeepAliveTest, ServerClosingIdleConnectionsOrRestartingKeepsCheckPassing) {
  {
    TestServer server(Behaviour::kCloseIdle);
    Register("web-idle", server.url());
    ASSERT_TRUE(server.WaitRequests(4)) << Seen(server);
    EXPECT_GE(server.connections(), 3u) << Seen(server);
    Deregister("web-idle");
  }
  TestServer server(Behaviour::kKeepAlive);
  Register("web-restart", server.url());
  ASSERT_TRUE(server.WaitRequests(2)) << Seen(server);
  server.Restart();
  ASSERT_TRUE(server.WaitRequests(2)) << Seen(server);
  server.Restart();
  ASSERT_TRUE(server.WaitRequests(3)) << Seen(server);
  EXPECT_EQ(Runs("critical"), 0u) << Seen(server);
  // One connection per server lifetime, unless a restart caught a request unanswered (retried).
  EXPECT_GE(server.connections(), 3u) << Seen(server);
  EXPECT_LE(server.connections(), 5u) << Seen(server);
}

// A kept connection on which the server stops answering times out (critical) with no retry, even
// though a fresh connection would have been answered.
TEST_F(HttpKeepAliveTest, StalledKeptConnectionTimesOutWithoutRetry) {
  TestServer server(Behaviour::kStallSecond);
  Register("web-1", server.url(), 50ms);
  ASSERT_TRUE(Eventually([&] { return Runs("critical") >= 2; }, 10s)) << Seen(server);
  EXPECT_GE(Runs("passing"), 2u);
  // Had a timed-out attempt been retried on a fresh connection, that one would have been answered
  // and no attempt would be critical. A timed-out connection is not reused: at most two requests
  // per connection.
  EXPECT_LE(server.requests(), 2 * server.connections()) << Seen(server);
}

TEST_F(HttpKeepAliveTest, RemovingTheCheckOrStoppingClosesItsConnection) {
  TestServer a(Behaviour::kKeepAlive);
  TestServer b(Behaviour::kKeepAlive);
  Register("web-a", a.url());
  Register("web-b", b.url());
  ASSERT_TRUE(a.WaitRequests(2)) << Seen(a);
  ASSERT_TRUE(b.WaitRequests(2)) << Seen(b);
  EXPECT_EQ(runner_->kept_connections(), 2u);

  Deregister("web-a", 1);
  ASSERT_TRUE(Eventually([&] { return a.client_closed() == 1 && a.open() == 0; })) << Seen(a);
  EXPECT_EQ(a.connections(), 1u);
  EXPECT_EQ(b.open(), 1);

  runner_->Stop();
  ASSERT_TRUE(Eventually([&] { return b.client_closed() == 1 && b.open() == 0; })) << Seen(b);
  EXPECT_TRUE(Eventually([&] { return runner_->kept_connections() == 0; }));
  EXPECT_EQ(Runs("critical"), 0u);
}

TEST_F(HttpKeepAliveTest, CapOfZeroKeepsNoConnection) {
  runner_->Stop();
  CheckRunnerOptions options;
  options.min_interval = 20ms;
  options.max_kept_connections = 0;
  auto r = CheckRunner::Create(*pool_, sink_, options, &random_);
  ASSERT_TRUE(r.ok());
  runner_ = std::move(*r);
  TestServer server(Behaviour::kKeepAlive);
  Register("web-1", server.url());
  ASSERT_TRUE(server.WaitRequests(3)) << Seen(server);
  EXPECT_GE(server.connections(), server.requests()) << Seen(server);
  EXPECT_EQ(runner_->kept_connections(), 0u);
}

}  // namespace
}  // namespace beacon::health
