#include "dns/server.h"

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <ctime>
#include <random>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "dns/responder.h"
#include "net/post_batch.h"

namespace beacon::dns {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Datagrams taken per recvmmsg call. After kBatchesBeforeYield full batches in a row the loop
// yields, so a flood on UDP cannot starve the TCP and HTTP work sharing the loop.
constexpr size_t kUdpBatch = 32;
constexpr int kBatchesBeforeYield = 8;
// Largest UDP query we read. Real queries are tens of bytes; a bigger datagram is dropped.
constexpr size_t kMaxUdpQueryBytes = 4096;
// Tries to find a port free for both UDP and TCP when asked for port 0.
constexpr int kFreePortAttempts = 32;

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

uint32_t NowUnix() { return static_cast<uint32_t>(std::time(nullptr)); }

// Every RCODE Respond() can send, in the order of QueryCounters' columns.
constexpr std::array<Rcode, 7> kCountedRcodes = {
    Rcode::kNoError, Rcode::kFormErr, Rcode::kServFail, Rcode::kNxDomain,
    Rcode::kNotImp,  Rcode::kRefused, Rcode::kBadVers};

// `dns.queries{protocol, rcode}`: every query answered. All counters are created at start (so a
// scrape shows zeros rather than missing series) and only incremented afterwards, from any loop.
class QueryCounters {
 public:
  explicit QueryCounters(MetricsRegistry* metrics) {
    if (metrics == nullptr) return;
    for (size_t t = 0; t < 2; ++t) {
      const std::string protocol = t == 0 ? "udp" : "tcp";
      for (size_t r = 0; r < kCountedRcodes.size(); ++r) {
        counters_[t][r] = metrics->GetCounter(
            "dns.queries",
            {{"protocol", protocol}, {"rcode", std::string(RcodeName(kCountedRcodes[r]))}},
            "DNS queries answered, by protocol and response code");
      }
    }
  }

  void Count(Transport transport, Rcode rcode) const {
    const size_t t = transport == Transport::kUdp ? 0 : 1;
    for (size_t r = 0; r < kCountedRcodes.size(); ++r) {
      if (kCountedRcodes[r] == rcode) {
        if (counters_[t][r] != nullptr) counters_[t][r]->Inc();
        return;
      }
    }
  }

 private:
  std::array<std::array<Counter*, kCountedRcodes.size()>, 2> counters_{};
};

}  // namespace

struct DnsServer::State {
  // Touched only by its loop's thread (after Start).
  struct Loop {
    explicit Loop(asio::io_context& io) : udp_socket(io) {}
    catalog::SnapshotPtr snapshot;
    std::minstd_rand rng{std::random_device{}()};
    ResolverCache cache;
    udp::socket udp_socket;
  };

  State(net::IoPool& p, DnsOptions o, MetricsRegistry* metrics)
      : pool(p), options(std::move(o)), queries(metrics) {}

  net::IoPool& pool;
  const DnsOptions options;
  const QueryCounters queries;
  std::vector<std::unique_ptr<Loop>> loops;
  std::unique_ptr<tcp::acceptor> acceptor;  // on loop 0
  // Shared with the connection coroutines: their frames may be destroyed after the State, when
  // the pool's contexts go away.
  std::shared_ptr<std::atomic<size_t>> tcp_connections =
      std::make_shared<std::atomic<size_t>>(0);
  std::atomic<bool> stopped{false};
};

namespace {

using State = DnsServer::State;

// Keeps the open-connection count right however the coroutine ends (including its frame being
// destroyed unfinished when the pool goes away).
class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::shared_ptr<std::atomic<size_t>> count) : count_(std::move(count)) {}
  ~ConnectionSlot() { count_->fetch_sub(1, std::memory_order_relaxed); }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

 private:
  std::shared_ptr<std::atomic<size_t>> count_;
};

struct TcpConnection {
  explicit TcpConnection(tcp::socket s) : socket(std::move(s)), deadline(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer deadline;
};

// Closes the connection when its deadline passes. The reader moves the deadline before every
// query; that cancels this wait, which then finds the deadline in the future and waits again.
asio::awaitable<void> Watchdog(std::shared_ptr<TcpConnection> conn) {
  for (;;) {
    co_await conn->deadline.async_wait(kTuple);  // fired or moved: both checked below
    if (!conn->socket.is_open()) co_return;
    if (conn->deadline.expiry() <= asio::steady_timer::clock_type::now()) {
      boost::system::error_code ignored;
      conn->socket.close(ignored);
      co_return;
    }
  }
}

asio::awaitable<void> ServeTcp(State* state, size_t loop_index, tcp::socket socket) {
  ConnectionSlot slot(state->tcp_connections);
  State::Loop& loop = *state->loops[loop_index];
  auto conn = std::make_shared<TcpConnection>(std::move(socket));
  conn->deadline.expires_after(state->options.tcp_idle_timeout);
  asio::co_spawn(conn->socket.get_executor(), Watchdog(conn), asio::detached);

  std::array<uint8_t, 2> length{};
  std::vector<uint8_t> query;
  std::string response;
  for (;;) {
    conn->deadline.expires_after(state->options.tcp_idle_timeout);
    auto [ec, n] = co_await asio::async_read(conn->socket, asio::buffer(length), kTuple);
    if (ec) break;
    const size_t size = (static_cast<size_t>(length[0]) << 8) | length[1];
    query.resize(size);
    std::tie(ec, n) = co_await asio::async_read(conn->socket, asio::buffer(query), kTuple);
    if (ec) break;
    // Hold this loop's current snapshot for the query; Publish may replace it while we write.
    catalog::SnapshotPtr snapshot = loop.snapshot;
    QueryEnv env{Transport::kTcp, snapshot.get(), &state->options, &loop.rng, NowUnix(),
                 &loop.cache};
    response.assign(2, '\0');
    Rcode rcode = Rcode::kNoError;
    // Nothing to answer (a response, or under 12 bytes): the stream cannot be trusted further.
    if (!Respond(query, env, &response, &rcode)) break;
    state->queries.Count(Transport::kTcp, rcode);
    const size_t body = response.size() - 2;  // <= 65535: LimitsFor caps TCP answers there
    response[0] = static_cast<char>(body >> 8);
    response[1] = static_cast<char>(body & 0xff);
    std::tie(ec, n) = co_await asio::async_write(conn->socket, asio::buffer(response), kTuple);
    if (ec) break;
  }
  boost::system::error_code ignored;
  conn->socket.shutdown(tcp::socket::shutdown_both, ignored);
  conn->socket.close(ignored);
  conn->deadline.cancel();
}

asio::awaitable<void> AcceptTcp(State* state) {
  tcp::acceptor& acceptor = *state->acceptor;
  asio::steady_timer backoff(acceptor.get_executor());
  for (;;) {
    const size_t loop = state->pool.NextIndex();
    tcp::socket socket(state->pool.Get(loop));
    auto [ec] = co_await acceptor.async_accept(socket, kTuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of file descriptors and the like: pause instead of spinning on the same error.
      spdlog::warn("dns: tcp accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(kTuple);
      if (!acceptor.is_open()) co_return;
      continue;
    }
    if (state->tcp_connections->fetch_add(1, std::memory_order_relaxed) >=
        state->options.max_tcp_connections) {
      state->tcp_connections->fetch_sub(1, std::memory_order_relaxed);
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(state->pool.Get(loop), ServeTcp(state, loop, std::move(socket)),
                   asio::detached);
  }
}

// Buffers for one batch of datagrams, reused for the life of the loop.
struct UdpBatch {
  std::array<std::array<uint8_t, kMaxUdpQueryBytes>, kUdpBatch> in{};
  std::array<sockaddr_storage, kUdpBatch> peers{};
  std::array<iovec, kUdpBatch> in_iov{};
  std::array<mmsghdr, kUdpBatch> in_msgs{};
  std::array<std::string, kUdpBatch> out;
  std::array<iovec, kUdpBatch> out_iov{};
  std::array<mmsghdr, kUdpBatch> out_msgs{};

  void ResetInput() {
    for (size_t i = 0; i < kUdpBatch; ++i) {
      in_iov[i] = iovec{in[i].data(), in[i].size()};
      in_msgs[i] = mmsghdr{};
      in_msgs[i].msg_hdr.msg_name = &peers[i];
      in_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      in_msgs[i].msg_hdr.msg_iov = &in_iov[i];
      in_msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
};

asio::awaitable<void> ServeUdp(State* state, size_t loop_index) {
  State::Loop& loop = *state->loops[loop_index];
  udp::socket& socket = loop.udp_socket;
  auto batch = std::make_unique<UdpBatch>();
  asio::steady_timer backoff(socket.get_executor());
  int full_batches = 0;
  for (;;) {
    // The socket may have been closed (Stop) while we were suspended; never touch a stale fd.
    if (!socket.is_open()) co_return;
    batch->ResetInput();
    const int got = recvmmsg(socket.native_handle(), batch->in_msgs.data(), kUdpBatch,
                             MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        full_batches = 0;
        auto [ec] = co_await socket.async_wait(udp::socket::wait_read, kTuple);
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      if (errno == EINTR) continue;
      spdlog::warn("dns: udp receive failed: {}", std::strerror(errno));
      backoff.expires_after(std::chrono::milliseconds(10));
      co_await backoff.async_wait(kTuple);
      continue;
    }

    catalog::SnapshotPtr snapshot = loop.snapshot;
    QueryEnv env{Transport::kUdp, snapshot.get(), &state->options, &loop.rng, NowUnix(),
                 &loop.cache};
    size_t replies = 0;
    for (int i = 0; i < got; ++i) {
      const mmsghdr& msg = batch->in_msgs[i];
      if (msg.msg_hdr.msg_flags & MSG_TRUNC) continue;  // over kMaxUdpQueryBytes: not DNS we serve
      std::string& out = batch->out[replies];
      out.clear();
      Rcode rcode = Rcode::kNoError;
      if (!Respond(std::span<const uint8_t>(batch->in[i].data(), msg.msg_len), env, &out,
                   &rcode)) {
        continue;
      }
      state->queries.Count(Transport::kUdp, rcode);
      batch->out_iov[replies] = iovec{out.data(), out.size()};
      mmsghdr& reply = batch->out_msgs[replies];
      reply = mmsghdr{};
      reply.msg_hdr.msg_name = &batch->peers[i];
      reply.msg_hdr.msg_namelen = msg.msg_hdr.msg_namelen;
      reply.msg_hdr.msg_iov = &batch->out_iov[replies];
      reply.msg_hdr.msg_iovlen = 1;
      ++replies;
    }

    size_t sent = 0;
    while (sent < replies) {
      const int n = sendmmsg(socket.native_handle(), batch->out_msgs.data() + sent,
                             static_cast<unsigned>(replies - sent), MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        auto [ec] = co_await socket.async_wait(udp::socket::wait_write, kTuple);
        if (ec == asio::error::operation_aborted || !socket.is_open()) co_return;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      // This datagram cannot be sent (peer unreachable, ...): UDP is lossy, the client retries.
      ++sent;
    }

    if (static_cast<size_t>(got) == kUdpBatch && ++full_batches >= kBatchesBeforeYield) {
      full_batches = 0;
      co_await asio::post(socket.get_executor(), asio::use_awaitable);
    }
  }
}

// Binds every loop's UDP socket and the TCP acceptor to `port` (0 = let the kernel pick for UDP,
// then take the same number for TCP).
Result<uint16_t> Bind(State& state, const asio::ip::address& address, uint16_t port) {
  boost::system::error_code ec;
  const bool many = state.loops.size() > 1;
  udp::endpoint first(address, port);
  uint16_t bound = 0;
  for (size_t i = 0; i < state.loops.size(); ++i) {
    udp::socket& s = state.loops[i]->udp_socket;
    s.open(first.protocol(), ec);
    // Several sockets on one port: the kernel spreads clients over them (one per loop).
    if (!ec && many) s.set_option(ReusePort(true), ec);
    if (!ec) s.bind(udp::endpoint(address, i == 0 ? port : bound), ec);
    if (!ec) s.non_blocking(true, ec);
    if (ec) return Unavailable("udp: " + ec.message());
    if (i == 0) bound = s.local_endpoint().port();
  }
  auto acceptor = std::make_unique<tcp::acceptor>(state.pool.Get(0));
  tcp::endpoint endpoint(address, bound);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable("tcp: " + ec.message());
  state.acceptor = std::move(acceptor);
  return bound;
}

}  // namespace

Result<std::unique_ptr<DnsServer>> DnsServer::Start(net::IoPool& pool, DnsServerOptions options,
                                                    catalog::SnapshotPtr initial) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options.address, ec);
  if (ec) return InvalidArgument("dns: invalid listen address " + options.address);
  options.dns.domain = NormalizeDomain(options.dns.domain);

  std::unique_ptr<State> state;
  Result<uint16_t> bound = Unavailable("not tried");
  const int attempts = options.port == 0 ? kFreePortAttempts : 1;
  for (int attempt = 0; attempt < attempts && !bound.ok(); ++attempt) {
    state = std::make_unique<State>(pool, options.dns, options.metrics);
    for (size_t i = 0; i < pool.size(); ++i) {
      state->loops.push_back(std::make_unique<State::Loop>(pool.Get(i)));
      state->loops.back()->snapshot = initial;
    }
    // A failed attempt's sockets close when its State goes away; nothing was started on them.
    bound = Bind(*state, address, options.port);
  }
  if (!bound.ok()) {
    return Unavailable("dns: cannot listen on " + options.address + ":" +
                       std::to_string(options.port) + ": " + bound.status().message());
  }

  std::unique_ptr<DnsServer> server(new DnsServer());
  server->state_ = std::move(state);
  server->port_ = *bound;
  State* raw = server->state_.get();
  for (size_t i = 0; i < pool.size(); ++i) {
    asio::co_spawn(pool.Get(i), ServeUdp(raw, i), asio::detached);
  }
  asio::co_spawn(pool.Get(0), AcceptTcp(raw), asio::detached);
  return server;
}

DnsServer::~DnsServer() { Stop(); }

void DnsServer::Publish(const catalog::SnapshotPtr& snapshot) {
  for (size_t i = 0; i < state_->loops.size(); ++i) {
    net::Post(state_->pool.Get(i), [state = state_.get(), i, snapshot] {
      // Posts from the writer arrive in order; the generation guard covers the initial snapshot
      // racing with the first publications.
      State::Loop& loop = *state->loops[i];
      if (!loop.snapshot || snapshot->generation > loop.snapshot->generation) {
        loop.snapshot = snapshot;
      }
    });
  }
}

void DnsServer::Stop() {
  if (!state_ || state_->stopped.exchange(true)) return;
  for (size_t i = 0; i < state_->loops.size(); ++i) {
    asio::post(state_->pool.Get(i), [state = state_.get(), i] {
      boost::system::error_code ignored;
      state->loops[i]->udp_socket.close(ignored);
    });
  }
  asio::post(state_->pool.Get(0), [state = state_.get()] {
    boost::system::error_code ignored;
    state->acceptor->close(ignored);
  });
}

}  // namespace beacon::dns
