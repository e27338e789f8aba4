// `read` (W2): a closed loop of one prebuilt request over many keep-alive connections.
//
// Only responses to requests sent after the warm-up and received before the end of the window
// count, so the rate is completed responses per second of the window, whatever the connection
// count. A connection that fails is reconnected (bounded); its failures are counted as errors.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <memory>
#include <vector>

#include "loadgen/histogram.h"
#include "loadgen/http_connection.h"
#include "loadgen/workload_common.h"

namespace beacon::bench {

namespace asio = boost::asio;

namespace {

constexpr int kMaxReconnects = 1000;
constexpr size_t kReadBufferBytes = 256 * 1024;

struct ReadState {
  asio::ip::tcp::endpoint endpoint;
  std::string request;
  int64_t max_requests = 0;
  Clock::time_point measure_start;
  Clock::time_point end;
  int64_t issued = 0;
  LatencyHistogram latency;
  uint64_t responses = 0;
  uint64_t non_2xx = 0;
  uint64_t errors = 0;
  uint64_t body_bytes = 0;
  int reconnects = 0;
  Clock::time_point last_response;
};

asio::awaitable<void> ReadWorker(ReadState& st, HttpConnection& conn, Latch& done) {
  HttpResponse response;
  bool connected = false;
  for (;;) {
    if (Clock::now() >= st.end || (st.max_requests > 0 && st.issued >= st.max_requests)) {
      break;
    }
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
    ++st.issued;
    const Clock::time_point sent = Clock::now();
    ErrorCode ec = co_await conn.RoundTrip(st.request, &response);
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
      st.latency.Record(Nanos(received - sent));
      ++st.responses;
      st.body_bytes += response.body_bytes;
      if (response.status < 200 || response.status > 299) {
        ++st.non_2xx;
      }
      st.last_response = received;
    }
    if (response.close) {
      conn.Close();
      connected = false;
    }
  }
  conn.Close();
  done.CountDown();
}

}  // namespace

int RunRead(const ReadOptions& opt) {
  auto endpoint = LoopbackEndpoint(opt.common.host, opt.common.port);
  if (!endpoint || opt.conns <= 0) {
    return 1;
  }
  asio::io_context io(1);
  ReadState st;
  st.endpoint = *endpoint;
  st.request = BuildRequest(opt.method, opt.path, HostHeader(opt.common), opt.body);
  st.max_requests = opt.requests;
  const Clock::time_point start = Clock::now();
  if (opt.requests > 0) {
    st.measure_start = start;
    st.end = start + std::chrono::hours(1);  // bounded by the count; the hard stop is below
  } else {
    st.measure_start = start + FromSeconds(opt.warmup_s);
    st.end = st.measure_start + FromSeconds(opt.duration_s);
  }
  const Clock::time_point hard_stop =
      (opt.requests > 0 ? start + std::chrono::minutes(10) : st.end + std::chrono::seconds(10));

  std::vector<std::unique_ptr<HttpConnection>> conns;
  Latch done(io.get_executor(), opt.conns);
  for (int i = 0; i < opt.conns; ++i) {
    conns.push_back(std::make_unique<HttpConnection>(io.get_executor(), kReadBufferBytes));
    asio::co_spawn(io, ReadWorker(st, *conns.back(), done), asio::detached);
  }
  std::unique_ptr<CpuWindow> cpu;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await SleepFor(st.measure_start - Clock::now());
        cpu = std::make_unique<CpuWindow>(opt.common.server_pid);
        if (!co_await done.Wait(hard_stop)) {
          std::fprintf(stderr, "loadgen: read: hard stop, closing %zu connections\n", conns.size());
          for (auto& c : conns) {
            c->Close();
          }
        }
      },
      asio::detached);
  io.run();

  const double window_s = opt.requests > 0 ? Seconds(st.last_response - start) : opt.duration_s;
  JsonLine line = StartLine("read", opt.common);
  line.Add("target", opt.path)
      .Add("conns", opt.conns)
      .Add("duration_s", window_s)
      .Add("requests", st.responses)
      .Add("rps", window_s > 0 ? static_cast<double>(st.responses) / window_s : 0.0)
      .AddLatency("", st.latency)
      .Add("bytes_per_response",
           st.responses > 0 ? static_cast<double>(st.body_bytes) / static_cast<double>(st.responses)
                            : 0.0)
      .Add("non_2xx", st.non_2xx)
      .Add("errors", st.errors);
  if (cpu) {
    cpu->AddTo(line);
  }
  std::printf("%s\n", line.str().c_str());
  return st.responses > 0 ? 0 : 1;
}

}  // namespace beacon::bench
