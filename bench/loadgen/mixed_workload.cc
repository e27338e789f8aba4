// `mixed` (W7): reads and writes together, with blocking watchers attached.
//
// `conns` connections share one request sequence: request k is a write when
// k % write_every == write_every - 1, else the read of `path`. Writes alternate between a
// re-registration (its Meta changes, so it is a real write) and a TTL pass with a new note (a
// real change of the check's output), each on an instance picked by striding over the
// services x instances that `register` loaded, so writes spread over every service.
// `watchers` more connections each follow one service (watcher j: service j % services) with
// blocking queries, re-parking at the returned index after every answer. A watcher's delay is
// measured from the send of the latest write to its service to the arrival of its answer, which
// attributes each wake-up to the most recent write (close enough when writes to one service are
// further apart than the delay, which the printed write rate lets a reader check).
#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "loadgen/histogram.h"
#include "loadgen/http_connection.h"
#include "loadgen/payloads.h"
#include "loadgen/workload_common.h"

namespace beacon::bench {

namespace asio = boost::asio;

namespace {

constexpr int kMaxReconnects = 1000;
// A stride coprime with any catalog size used here, so consecutive writes land far apart.
constexpr int64_t kWriteStride = 7919;

struct MixedState {
  const MixedOptions* opt = nullptr;
  asio::ip::tcp::endpoint endpoint;
  std::string host;
  std::string read_request;
  int64_t nonce = 0;
  Clock::time_point measure_start;
  Clock::time_point end;
  bool stopping = false;
  int64_t seq = 0;
  int64_t writes_issued = 0;
  std::vector<Clock::time_point> last_write_sent;  // per service; epoch() = never
  LatencyHistogram read_latency;
  LatencyHistogram write_latency;
  LatencyHistogram watch_delay;
  uint64_t reads = 0, writes = 0, non_2xx = 0, errors = 0, wakeups = 0;
  uint64_t read_bytes = 0;
  uint64_t watch_bytes = 0;
  int reconnects = 0;
  std::string first_error;
};

std::string WriteRequest(MixedState& st, int* service) {
  const MixedOptions& opt = *st.opt;
  const int64_t w = st.writes_issued++;
  const int64_t total = static_cast<int64_t>(opt.services) * opt.instances;
  const int64_t k = (w * kWriteStride) % total;
  InstanceSpec inst = InstanceForSequence(k, opt.services, opt.service_prefix);
  *service = static_cast<int>(k % opt.services);
  if (w % 2 == 0) {
    return BuildRequest("PUT", "/v1/agent/service/register", st.host,
                        RegistrationBody(inst, opt.ttl, st.nonce + w));
  }
  return BuildRequest(
      "PUT", fmt::format("/v1/agent/check/pass/{}?note=w{}", inst.check_id, st.nonce + w), st.host);
}

asio::awaitable<void> MixedWorker(MixedState& st, HttpConnection& conn, Latch& done) {
  const int write_every = st.opt->write_every;
  HttpResponse response;
  bool connected = false;
  while (Clock::now() < st.end && !st.stopping) {
    if (!connected) {
      if (ErrorCode ec = co_await conn.Connect(st.endpoint)) {
        ++st.errors;
        if (++st.reconnects > kMaxReconnects) {
          break;
        }
        co_await SleepFor(std::chrono::milliseconds(10));
        continue;
      }
      connected = true;
    }
    const int64_t k = st.seq++;
    const bool is_write = write_every > 0 && k % write_every == write_every - 1;
    std::string write_request;
    if (is_write) {
      int service = 0;
      write_request = WriteRequest(st, &service);
      st.last_write_sent[service] = Clock::now();
    }
    const Clock::time_point sent = Clock::now();
    ErrorCode ec = co_await conn.RoundTrip(is_write ? write_request : st.read_request, &response,
                                           /*keep_body=*/is_write);
    const Clock::time_point received = Clock::now();
    if (ec) {
      ++st.errors;
      conn.Close();
      connected = false;
      if (++st.reconnects > kMaxReconnects) {
        break;
      }
      continue;
    }
    if (sent >= st.measure_start && received <= st.end) {
      if (response.status < 200 || response.status > 299) {
        ++st.non_2xx;
        if (st.first_error.empty()) {
          st.first_error = std::to_string(response.status) + ": " + response.body.substr(0, 200);
        }
      } else if (is_write) {
        ++st.writes;
        st.write_latency.Record(Nanos(received - sent));
      } else {
        ++st.reads;
        st.read_bytes += response.body_bytes;
        st.read_latency.Record(Nanos(received - sent));
      }
    }
    if (response.close) {
      conn.Close();
      connected = false;
    }
  }
  conn.Close();
  done.CountDown();
}

asio::awaitable<void> MixedWatcher(MixedState& st, HttpConnection& conn, int service,
                                   Latch& ready) {
  const std::string base = fmt::format("/v1/health/service/{}{}", st.opt->service_prefix, service);
  HttpResponse response;
  bool counted_ready = false;
  auto mark_ready = [&] {
    if (!counted_ready) {
      counted_ready = true;
      ready.CountDown();
    }
  };
  ErrorCode ec = co_await conn.Connect(st.endpoint);
  if (!ec) {
    ec = co_await conn.RoundTrip(BuildRequest("GET", base, st.host), &response);
  }
  uint64_t index = response.consul_index;
  while (!ec && !st.stopping) {
    const std::string request =
        BuildRequest("GET", fmt::format("{}?index={}&wait=60s", base, index), st.host);
    ec = co_await conn.Send(request);
    mark_ready();
    if (!ec) {
      ec = co_await conn.ReadHead(&response);
    }
    if (!ec) {
      ec = co_await conn.ReadBody(&response, false);
    }
    if (ec || st.stopping) {
      break;
    }
    const Clock::time_point arrival = Clock::now();
    const Clock::time_point written = st.last_write_sent[service];
    if (response.consul_index != index && arrival >= st.measure_start && arrival <= st.end) {
      ++st.wakeups;
      st.watch_bytes += response.body_bytes;
      if (written.time_since_epoch().count() != 0) {
        st.watch_delay.Record(Nanos(arrival - written));
      }
    }
    index = response.consul_index;
  }
  if (ec && !st.stopping) {
    ++st.errors;
  }
  mark_ready();
}

}  // namespace

int RunMixed(const MixedOptions& opt) {
  auto endpoint = LoopbackEndpoint(opt.common.host, opt.common.port);
  if (!endpoint || opt.conns <= 0 || opt.services <= 0 || opt.instances <= 0 || opt.watchers < 0) {
    return 1;
  }
  asio::io_context io(1);
  MixedState st;
  st.opt = &opt;
  st.endpoint = *endpoint;
  st.host = HostHeader(opt.common);
  st.read_request = BuildRequest("GET", opt.path, st.host);
  st.nonce = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  st.last_write_sent.assign(opt.services, Clock::time_point{});
  // Far in the future until the watchers are parked; set for real below.
  st.measure_start = Clock::now() + std::chrono::hours(1);
  st.end = st.measure_start + std::chrono::hours(1);

  std::vector<std::unique_ptr<HttpConnection>> watcher_conns;
  std::vector<std::unique_ptr<HttpConnection>> worker_conns;
  Latch watchers_ready(io.get_executor(), opt.watchers);
  Latch workers_done(io.get_executor(), opt.conns);
  std::unique_ptr<CpuWindow> cpu;

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        // Watchers first, a few hundred at a time so the listen backlog never overflows.
        for (int j = 0; j < opt.watchers; ++j) {
          watcher_conns.push_back(std::make_unique<HttpConnection>(executor, 32 * 1024));
          asio::co_spawn(executor,
                         MixedWatcher(st, *watcher_conns.back(), j % opt.services, watchers_ready),
                         asio::detached);
          if (j % 200 == 199) {
            co_await SleepFor(std::chrono::milliseconds(20));
          }
        }
        if (!co_await watchers_ready.Wait(Clock::now() + std::chrono::seconds(60))) {
          std::fprintf(stderr, "loadgen: mixed: %lld watchers not parked in time\n",
                       static_cast<long long>(watchers_ready.remaining()));
        }
        co_await SleepFor(std::chrono::milliseconds(500));
        st.measure_start = Clock::now() + FromSeconds(opt.warmup_s);
        st.end = st.measure_start + FromSeconds(opt.duration_s);
        for (int i = 0; i < opt.conns; ++i) {
          worker_conns.push_back(std::make_unique<HttpConnection>(executor, 256 * 1024));
          asio::co_spawn(executor, MixedWorker(st, *worker_conns.back(), workers_done),
                         asio::detached);
        }
        co_await SleepFor(st.measure_start - Clock::now());
        cpu = std::make_unique<CpuWindow>(opt.common.server_pid);
        const bool finished = co_await workers_done.Wait(st.end + std::chrono::seconds(10));
        st.stopping = true;
        if (!finished) {
          for (auto& c : worker_conns) {
            c->Close();
          }
        }
        for (auto& c : watcher_conns) {
          c->Close();
        }
      },
      asio::detached);
  io.run();

  const double window_s = opt.duration_s;
  JsonLine line = StartLine("mixed", opt.common);
  line.Add("target", opt.path)
      .Add("conns", opt.conns)
      .Add("watchers", opt.watchers)
      .Add("write_every", opt.write_every)
      .Add("duration_s", window_s)
      .Add("reads", st.reads)
      .Add("writes", st.writes)
      .Add("reads_per_s", static_cast<double>(st.reads) / window_s)
      .Add("writes_per_s", static_cast<double>(st.writes) / window_s)
      .AddLatency("read_", st.read_latency)
      .AddLatency("write_", st.write_latency)
      .Add("watch_wakeups", st.wakeups)
      .AddLatency("watch_delay_", st.watch_delay)
      .Add("bytes_per_read",
           st.reads > 0 ? static_cast<double>(st.read_bytes) / static_cast<double>(st.reads) : 0.0)
      .Add("watch_bytes_per_s", static_cast<double>(st.watch_bytes) / window_s)
      .Add("read_bytes_per_s", static_cast<double>(st.read_bytes) / window_s)
      .Add("non_2xx", st.non_2xx)
      .Add("errors", st.errors);
  if (!st.first_error.empty()) {
    line.Add("first_error", st.first_error);
  }
  if (cpu) {
    cpu->AddTo(line);
  }
  std::printf("%s\n", line.str().c_str());
  return st.reads > 0 ? 0 : 1;
}

}  // namespace beacon::bench
