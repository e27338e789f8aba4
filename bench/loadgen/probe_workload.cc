// `probe` (W4 restart): how long after exec a restarted server first answers a read correctly.
//
// Polls one GET every interval_ms (connection refused while the server starts is expected and
// retried) until the response is a 200 whose body contains count_substr exactly expect_count
// times, e.g. 100 health entries of a 100-instance service; then reports the wall-clock time
// since --t0-epoch-ns. The whole poll is bounded by timeout_s.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "loadgen/http_connection.h"
#include "loadgen/proc_stats.h"
#include "loadgen/workload_common.h"

namespace beacon::bench {

namespace asio = boost::asio;

namespace {

int CountOccurrences(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) {
    return 0;
  }
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

int64_t EpochNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int RunProbe(const ProbeOptions& opt) {
  auto endpoint = LoopbackEndpoint(opt.common.host, opt.common.port);
  if (!endpoint || opt.path.empty()) {
    return 1;
  }
  asio::io_context io(1);
  const std::string request = BuildRequest("GET", opt.path, HostHeader(opt.common));
  int attempts = 0;
  int last_status = 0;
  int last_count = -1;
  bool ok = false;
  int64_t ready_ns = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        HttpConnection conn(co_await asio::this_coro::executor, 256 * 1024);
        const Clock::time_point deadline = Clock::now() + FromSeconds(opt.timeout_s);
        HttpResponse response;
        bool connected = false;
        while (Clock::now() < deadline) {
          ++attempts;
          if (!connected) {
            connected = !co_await conn.Connect(*endpoint);
          }
          if (connected) {
            ErrorCode ec = co_await conn.RoundTrip(request, &response, /*keep_body=*/true);
            if (ec || response.close) {
              conn.Close();
              connected = false;
            }
            if (!ec) {
              last_status = response.status;
              last_count = CountOccurrences(response.body, opt.count_substr);
              if (response.status == 200 && last_count == opt.expect_count) {
                ready_ns = EpochNowNs();
                ok = true;
                co_return;
              }
            }
          }
          co_await SleepFor(std::chrono::milliseconds(opt.interval_ms));
        }
      },
      asio::detached);
  io.run();

  JsonLine line = StartLine("probe", opt.common);
  line.Add("target", opt.path)
      .Add("ok", ok)
      .Add("attempts", attempts)
      .Add("last_status", last_status)
      .Add("last_count", last_count)
      .Add("expect_count", opt.expect_count);
  if (ok && opt.t0_epoch_ns > 0) {
    line.Add("ready_ms", static_cast<double>(ready_ns - opt.t0_epoch_ns) / 1e6);
  }
  if (opt.common.server_pid > 0) {
    line.Add("server_rss_kb", ReadRssKb(opt.common.server_pid));
  }
  std::printf("%s\n", line.str().c_str());
  return ok ? 0 : 1;
}

}  // namespace beacon::bench
