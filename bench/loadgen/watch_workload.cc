// `watch` (W3): fan-out of one change to many parked watchers, Beacon or etcd.
//
// Order of events:
//  1. A control connection loads the watched service (service_instances registrations), then
//     20 changes of it are timed with nobody watching, each after kIdlePauseMs without requests:
//     the write's acknowledgement latency at rest. The change in 4. also comes after a pause
//     (settling, parking), and on this VM a write after a pause costs ~0.9 ms against ~0.15 ms
//     back to back, so only paused writes are a fair reference for it.
//  2. The server's RSS is read (--server-pid), then `watchers` connections are opened, at most
//     connect_parallel connecting at once, each parking one watch:
//       Beacon: GET /v1/health/service/<service>?index=<current>&wait=60s;
//       etcd:   POST /v3/watch {"create_request": <prefix of the service's keys>} (a stream).
//  3. Parked means: etcd has answered `created` on every stream (exact). Beacon says nothing until
//     the change, so after the last request is written we wait settle_ms and then until the
//     server's CPU time stops moving (it is idle once every query is parked). RSS is read again:
//     (with - before) / watchers is the memory per parked watcher.
//  4. One new instance is registered; its acknowledgement time is the reference. The timed writes
//     (this one and the 20 at rest) go over a connection on a loop of their own that this thread
//     runs alone until the answer is in, so the ack is never seen late behind the reads of the
//     watchers' answers that arrive right after it. Each watcher's
//     delay is the time from that ack until its full response (Beacon) or event (etcd) has
//     arrived; a response that arrives before the ack counts as 0 and is reported as before_ack.
//     Beacon responses must carry an X-Consul-Index above the parked one (else: stale).
// Every phase is bounded by timeout_s; watchers still silent then are reported as missing.
#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "loadgen/histogram.h"
#include "loadgen/http_connection.h"
#include "loadgen/payloads.h"
#include "loadgen/proc_stats.h"
#include "loadgen/workload_common.h"

namespace beacon::bench {

namespace asio = boost::asio;

namespace {

constexpr int kIdleWrites = 20;
constexpr int kIdlePauseMs = 300;  // before each write at rest (see 1.)
constexpr size_t kWatcherBufferBytes = 8 * 1024;

struct Watcher {
  explicit Watcher(asio::any_io_executor executor)
      : conn(std::move(executor), kWatcherBufferBytes) {}
  HttpConnection conn;
  Clock::time_point arrival{};
  int status = 0;
  uint64_t index = 0;
  size_t body_bytes = 0;
  bool parked_counted = false;
  bool answered = false;
  bool before_trigger = false;
  bool failed = false;
};

struct WatchState {
  const WatchOptions* opt = nullptr;
  asio::ip::tcp::endpoint endpoint;
  std::string host;
  std::string watch_request;
  std::vector<std::unique_ptr<Watcher>> watchers;
  int next_launch = 0;
  int connect_errors = 0;
  bool triggered = false;
  bool closing = false;             // set before the final Close(): silent watchers stay missing
  std::unique_ptr<Latch> sent;      // counts requests written (or watchers failed to start)
  std::unique_ptr<Latch> parked;    // etcd: `created` seen; Beacon: same as sent
  std::unique_ptr<Latch> answered;  // counts watchers done (answered or failed)
};

bool Is2xx(int status) { return status >= 200 && status <= 299; }

void MarkParked(WatchState& st, Watcher& w) {
  if (!w.parked_counted) {
    w.parked_counted = true;
    st.parked->CountDown();
  }
}

void Finish(WatchState& st, Watcher& w, bool failed) {
  if (w.answered || w.failed || st.closing) {
    return;
  }
  w.arrival = Clock::now();
  w.failed = failed;
  w.answered = !failed;
  w.before_trigger = !st.triggered;
  MarkParked(st, w);  // a watcher that ended early must not hold up the parking wait
  st.answered->CountDown();
}

asio::awaitable<void> BeaconWatcher(WatchState& st, Watcher& w) {
  HttpResponse response;
  ErrorCode ec = co_await w.conn.ReadHead(&response);
  if (!ec) {
    ec = co_await w.conn.ReadBody(&response, /*keep_body=*/false);
  }
  w.status = response.status;
  w.index = response.consul_index;
  w.body_bytes = response.body_bytes;
  Finish(st, w, static_cast<bool>(ec));
  // An answered watcher's connection stays open until every watcher is done (RunWatchMain closes
  // them all): closing it here would put the teardown of each connection, on both sides, into
  // the fan-out being timed.
  if (ec) w.conn.Close();
}

asio::awaitable<void> EtcdWatcher(WatchState& st, Watcher& w) {
  HttpResponse response;
  ErrorCode ec = co_await w.conn.ReadHead(&response);
  w.status = response.status;
  if (ec || !Is2xx(response.status) || !response.chunked) {
    Finish(st, w, true);
    w.conn.Close();
    co_return;
  }
  // The gateway streams one JSON message per line: {"result":{..., "created":true}} first, then
  // {"result":{..., "events":[...]}} for each change.
  std::string data;
  for (;;) {
    ec = co_await w.conn.ReadChunk(&response, &data);
    if (ec) {
      Finish(st, w, true);
      break;
    }
    size_t newline = 0;
    bool got_event = false;
    while ((newline = data.find('\n')) != std::string::npos) {
      std::string_view message(data.data(), newline);
      if (message.find("\"events\"") != std::string_view::npos) {
        got_event = true;
      } else if (message.find("\"created\":true") != std::string_view::npos) {
        MarkParked(st, w);
      }
      data.erase(0, newline + 1);
    }
    if (got_event) {
      w.body_bytes = response.body_bytes;
      Finish(st, w, false);
      co_return;  // left open until every watcher is done, as for Beacon
    }
  }
  w.conn.Close();
}

asio::awaitable<void> Launcher(WatchState& st) {
  auto executor = co_await asio::this_coro::executor;
  while (st.next_launch < static_cast<int>(st.watchers.size())) {
    const int i = st.next_launch++;
    Watcher& w = *st.watchers[i];
    std::optional<asio::ip::address> source;
    if (const int sources = st.opt->source_addresses; sources > 1) {
      source = asio::ip::make_address_v4(0x7f000001u + static_cast<uint32_t>(i % sources));
    }
    ErrorCode ec = co_await w.conn.Connect(st.endpoint, source);
    if (!ec) {
      ec = co_await w.conn.Send(st.watch_request);
    }
    st.sent->CountDown();
    if (ec) {
      ++st.connect_errors;
      Finish(st, w, true);
      continue;
    }
    if (st.opt->common.peer == Peer::kEtcd) {
      asio::co_spawn(executor, EtcdWatcher(st, w), asio::detached);
    } else {
      asio::co_spawn(executor, BeaconWatcher(st, w), asio::detached);
    }
  }
}

// One write on the control connection: Beacon registration or etcd put of `inst`.
asio::awaitable<ErrorCode> WriteInstance(WatchState& st, HttpConnection& ctl,
                                         const InstanceSpec& inst, int64_t seq, int* status) {
  const WatchOptions& opt = *st.opt;
  const std::string request = opt.common.peer == Peer::kEtcd
                                  ? BuildRequest("POST", "/v3/kv/put", st.host,
                                                 EtcdPutBody(opt.key_prefix, inst, opt.ttl, seq))
                                  : BuildRequest("PUT", "/v1/agent/service/register", st.host,
                                                 RegistrationBody(inst, opt.ttl, seq));
  HttpResponse response;
  ErrorCode ec = co_await ctl.RoundTrip(request, &response, true);
  *status = response.status;
  if (!ec && !Is2xx(response.status)) {
    std::fprintf(stderr, "loadgen: watch: write answered %d: %s\n", response.status,
                 response.body.substr(0, 200).c_str());
  }
  co_return ec;
}

// Runs the coroutine `fn()` on loop `io`, which this thread runs alone until it is done, so
// nothing else this thread serves (the watchers' loop) runs meanwhile.
template <typename Fn>
void RunAlone(asio::io_context& io, Fn fn) {
  asio::co_spawn(io, std::move(fn), asio::detached);
  io.restart();
  io.run();
}

// Times one WriteInstance over `conn`, whose loop is `io` (RunAlone).
ErrorCode TimedWrite(asio::io_context& io, WatchState& st, HttpConnection& conn,
                     const InstanceSpec& inst, int64_t seq, int* status, Clock::time_point* sent,
                     Clock::time_point* acked) {
  ErrorCode result;
  RunAlone(io, [&]() -> asio::awaitable<void> {
    *sent = Clock::now();
    result = co_await WriteInstance(st, conn, inst, seq, status);
    *acked = Clock::now();
  });
  return result;
}

// Beacon only: waits until the server's CPU time stops moving (every watch parked), bounded.
asio::awaitable<void> WaitServerIdle(int pid, Clock::time_point deadline) {
  if (pid <= 0) {
    co_return;
  }
  int64_t previous = ReadCpuNs(pid);
  while (Clock::now() < deadline) {
    co_await SleepFor(std::chrono::milliseconds(250));
    const int64_t now = ReadCpuNs(pid);
    if (now < 0 || now - previous <= 20'000'000) {  // <= 2 ticks in 250 ms: idle
      co_return;
    }
    previous = now;
  }
}

struct WatchResult {
  bool ran = false;
  std::string error;
  LatencyHistogram idle_ack;
  double ack_with_watchers_ms = 0;
  int64_t rss_before_kb = -1;
  int64_t rss_with_kb = -1;
  double park_s = 0;
  uint64_t parked_index = 0;
  Clock::time_point trigger_sent{};
  Clock::time_point trigger_acked{};
};

asio::awaitable<void> RunWatchMain(WatchState& st, WatchResult& result) {
  const WatchOptions& opt = *st.opt;
  const bool etcd = opt.common.peer == Peer::kEtcd;
  auto executor = co_await asio::this_coro::executor;
  HttpConnection ctl(executor, 64 * 1024);
  if (ErrorCode ec = co_await ctl.Connect(st.endpoint)) {
    result.error = "connect: " + ec.message();
    co_return;
  }
  // A per-run nonce keeps re-runs against the same server real changes, never skipped no-ops.
  const int64_t nonce = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  int status = 0;
  for (int i = 0; i < opt.service_instances; ++i) {
    InstanceSpec inst = NamedInstance(opt.service, fmt::format("{}-{}", opt.service, i), i);
    ErrorCode ec = co_await WriteInstance(st, ctl, inst, nonce, &status);
    if (ec || !Is2xx(status)) {
      result.error = "load the watched service failed";
      co_return;
    }
  }
  // The timed writes' own connection and loop (see 4. above).
  asio::io_context timed_io(1);
  HttpConnection timed(timed_io.get_executor(), 64 * 1024);
  ErrorCode connect_ec;
  RunAlone(timed_io, [&]() -> asio::awaitable<void> {
    connect_ec = co_await timed.Connect(st.endpoint);
  });
  if (connect_ec) {
    result.error = "connect: " + connect_ec.message();
    co_return;
  }
  InstanceSpec first = NamedInstance(opt.service, fmt::format("{}-0", opt.service), 0);
  for (int j = 1; j <= kIdleWrites; ++j) {
    co_await SleepFor(std::chrono::milliseconds(kIdlePauseMs));
    Clock::time_point sent, acked;
    ErrorCode ec = TimedWrite(timed_io, st, timed, first, nonce + j, &status, &sent, &acked);
    if (ec || !Is2xx(status)) {
      result.error = "idle write failed";
      co_return;
    }
    result.idle_ack.Record(Nanos(acked - sent));
  }

  // The watch request.
  if (etcd) {
    st.watch_request = BuildRequest("POST", "/v3/watch", st.host,
                                    EtcdWatchBody(EtcdServicePrefix(opt.key_prefix, opt.service)));
  } else {
    HttpResponse response;
    const std::string get =
        BuildRequest("GET", fmt::format("/v1/health/service/{}", opt.service), st.host);
    ErrorCode ec = co_await ctl.RoundTrip(get, &response);
    if (ec || response.status != 200 || response.consul_index == 0) {
      result.error = "could not read the service's index";
      co_return;
    }
    result.parked_index = response.consul_index;
    st.watch_request = BuildRequest(
        "GET",
        fmt::format("/v1/health/service/{}?index={}&wait=60s", opt.service, response.consul_index),
        st.host);
  }
  co_await SleepFor(std::chrono::milliseconds(300));  // let the writes' aftermath settle
  result.rss_before_kb = ReadRssKb(opt.common.server_pid);

  const Clock::time_point park_start = Clock::now();
  const Clock::time_point park_deadline = park_start + FromSeconds(opt.timeout_s);
  const int launchers = std::max(1, std::min(opt.connect_parallel, opt.watchers));
  for (int i = 0; i < launchers; ++i) {
    asio::co_spawn(executor, Launcher(st), asio::detached);
  }
  if (!co_await st.sent->Wait(park_deadline)) {
    std::fprintf(stderr, "loadgen: watch: only %lld of %d watch requests sent in time\n",
                 static_cast<long long>(opt.watchers - st.sent->remaining()), opt.watchers);
  }
  if (etcd) {
    if (!co_await st.parked->Wait(park_deadline)) {
      std::fprintf(stderr, "loadgen: watch: %lld etcd watches not created in time\n",
                   static_cast<long long>(st.parked->remaining()));
    }
  } else {
    co_await SleepFor(std::chrono::milliseconds(opt.settle_ms));
    co_await WaitServerIdle(opt.common.server_pid, Clock::now() + std::chrono::seconds(10));
  }
  result.park_s = Seconds(Clock::now() - park_start);
  result.rss_with_kb = ReadRssKb(opt.common.server_pid);
  std::fprintf(stderr, "loadgen: watch: %d watchers parked in %.2f s, rss %lld -> %lld KiB\n",
               opt.watchers, result.park_s, static_cast<long long>(result.rss_before_kb),
               static_cast<long long>(result.rss_with_kb));

  // The change.
  InstanceSpec added = NamedInstance(opt.service, fmt::format("{}-new-{}", opt.service, nonce),
                                     opt.service_instances);
  st.triggered = true;
  ErrorCode ec = TimedWrite(timed_io, st, timed, added, nonce, &status, &result.trigger_sent,
                            &result.trigger_acked);
  if (ec || !Is2xx(status)) {
    result.error = "the change was not acknowledged";
  }
  result.ack_with_watchers_ms =
      static_cast<double>(Nanos(result.trigger_acked - result.trigger_sent)) / 1e6;
  co_await st.answered->Wait(result.trigger_acked + FromSeconds(opt.timeout_s));
  st.closing = true;
  for (auto& w : st.watchers) {
    w->conn.Close();
  }
  ctl.Close();
  timed.Close();
  result.ran = true;
}

}  // namespace

int RunWatch(const WatchOptions& opt) {
  auto endpoint = LoopbackEndpoint(opt.common.host, opt.common.port);
  if (!endpoint || opt.watchers <= 0 || opt.service_instances <= 0 || opt.source_addresses < 1 ||
      opt.source_addresses > 250) {
    return 1;
  }
  asio::io_context io(1);
  WatchState st;
  st.opt = &opt;
  st.endpoint = *endpoint;
  st.host = HostHeader(opt.common);
  for (int i = 0; i < opt.watchers; ++i) {
    st.watchers.push_back(std::make_unique<Watcher>(io.get_executor()));
  }
  st.sent = std::make_unique<Latch>(io.get_executor(), opt.watchers);
  st.parked = std::make_unique<Latch>(io.get_executor(), opt.watchers);
  st.answered = std::make_unique<Latch>(io.get_executor(), opt.watchers);
  WatchResult result;
  CpuWindow cpu(opt.common.server_pid);
  asio::co_spawn(io, RunWatchMain(st, result), asio::detached);
  io.run();

  LatencyHistogram from_ack;
  LatencyHistogram from_send;
  uint64_t answered = 0, early = 0, failed = 0, before_ack = 0, stale = 0, non_2xx = 0;
  uint64_t bytes = 0;
  for (const auto& w : st.watchers) {
    if (w->failed) {
      ++failed;
      continue;
    }
    if (!w->answered) {
      continue;
    }
    if (w->before_trigger) {
      ++early;
      continue;
    }
    ++answered;
    bytes += w->body_bytes;
    if (!Is2xx(w->status)) {
      ++non_2xx;
    }
    if (opt.common.peer == Peer::kBeacon && w->index <= result.parked_index) {
      ++stale;
    }
    if (w->arrival < result.trigger_acked) {
      ++before_ack;
    }
    from_ack.Record(Nanos(w->arrival - result.trigger_acked));
    from_send.Record(Nanos(w->arrival - result.trigger_sent));
  }
  const uint64_t missing = opt.watchers - answered - early - failed;
  JsonLine line = StartLine("watch", opt.common);
  line.Add("watchers", opt.watchers)
      .Add("service_instances", opt.service_instances)
      .Add("answered", answered)
      .Add("missing", missing)
      .Add("early", early)
      .Add("failed", failed)
      .Add("connect_errors", st.connect_errors)
      .Add("stale", stale)
      .Add("non_2xx", non_2xx)
      .Add("before_ack", before_ack)
      .AddLatency("", from_ack)
      .Add("all_notified_ms", static_cast<double>(from_ack.max_ns()) / 1e6)
      .Add("from_send_p50_ms", static_cast<double>(from_send.Percentile(50)) / 1e6)
      .Add("from_send_max_ms", static_cast<double>(from_send.max_ns()) / 1e6)
      .Add("ack_idle_p50_ms", static_cast<double>(result.idle_ack.Percentile(50)) / 1e6)
      .Add("ack_idle_max_ms", static_cast<double>(result.idle_ack.max_ns()) / 1e6)
      .Add("ack_with_watchers_ms", result.ack_with_watchers_ms)
      .Add("bytes_per_response",
           answered > 0 ? static_cast<double>(bytes) / static_cast<double>(answered) : 0.0)
      .Add("park_s", result.park_s)
      .Add("rss_before_kb", result.rss_before_kb)
      .Add("rss_with_kb", result.rss_with_kb);
  if (result.rss_before_kb >= 0 && result.rss_with_kb >= 0) {
    line.Add("kb_per_watcher", static_cast<double>(result.rss_with_kb - result.rss_before_kb) /
                                   static_cast<double>(opt.watchers));
  }
  if (!result.error.empty()) {
    line.Add("error", result.error);
  }
  cpu.AddTo(line);
  std::printf("%s\n", line.str().c_str());
  return result.ran && result.error.empty() ? 0 : 1;
}

}  // namespace beacon::bench
