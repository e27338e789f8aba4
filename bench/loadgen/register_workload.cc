// `register` (W1): bulk registration at a fixed concurrency, Beacon or etcd.
//
// Connections share one sequence counter; each takes the next instance, sends its registration
// (Beacon: PUT /v1/agent/service/register; etcd: POST /v3/kv/put of the same JSON) and counts it
// only when the 2xx arrives, which both servers send after the write is durable (Beacon: after
// its group commit is synced; etcd: after the raft entry is fsynced). The rate is acknowledged
// registrations over the time from the first send to the last acknowledgement.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <memory>
#include <vector>

#include "loadgen/histogram.h"
#include "loadgen/http_connection.h"
#include "loadgen/payloads.h"
#include "loadgen/workload_common.h"

namespace beacon::bench {

namespace asio = boost::asio;

namespace {

constexpr int kMaxReconnects = 200;

struct RegisterState {
  const RegisterOptions* opt = nullptr;
  asio::ip::tcp::endpoint endpoint;
  std::string host;
  int64_t total = 0;
  int64_t next = 0;
  Clock::time_point stop_issuing;
  LatencyHistogram latency;
  uint64_t acked = 0;
  uint64_t non_2xx = 0;
  uint64_t errors = 0;
  int reconnects = 0;
  std::string first_error;
  Clock::time_point last_ack;
};

std::string RequestFor(const RegisterState& st, int64_t k) {
  const RegisterOptions& opt = *st.opt;
  InstanceSpec inst = InstanceForSequence(k, opt.services, opt.service_prefix);
  if (opt.common.peer == Peer::kEtcd) {
    return BuildRequest("POST", "/v3/kv/put", st.host, EtcdPutBody(opt.key_prefix, inst, opt.ttl));
  }
  return BuildRequest("PUT", "/v1/agent/service/register", st.host,
                      RegistrationBody(inst, opt.ttl));
}

asio::awaitable<void> RegisterWorker(RegisterState& st, HttpConnection& conn, Latch& done) {
  HttpResponse response;
  bool connected = false;
  for (;;) {
    if (st.next >= st.total || Clock::now() >= st.stop_issuing) {
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
      continue;  // the others may have taken the rest while this one connected
    }
    const int64_t k = st.next++;
    const std::string request = RequestFor(st, k);
    const Clock::time_point sent = Clock::now();
    ErrorCode ec = co_await conn.RoundTrip(request, &response, /*keep_body=*/true);
    const Clock::time_point received = Clock::now();
    if (ec) {
      // Not retried: the count stays bounded and the figure honest (an error is not an ack).
      ++st.errors;
      if (st.first_error.empty()) {
        st.first_error = "transport: " + ec.message();
      }
      conn.Close();
      connected = false;
      if (++st.reconnects > kMaxReconnects) {
        break;
      }
      continue;
    }
    if (response.status >= 200 && response.status <= 299) {
      ++st.acked;
      st.latency.Record(Nanos(received - sent));
      st.last_ack = received;
    } else {
      ++st.non_2xx;
      if (st.first_error.empty()) {
        st.first_error = std::to_string(response.status) + ": " + response.body.substr(0, 200);
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

}  // namespace

int RunRegister(const RegisterOptions& opt) {
  auto endpoint = LoopbackEndpoint(opt.common.host, opt.common.port);
  if (!endpoint || opt.conns <= 0 || opt.services <= 0 || opt.instances <= 0) {
    return 1;
  }
  asio::io_context io(1);
  RegisterState st;
  st.opt = &opt;
  st.endpoint = *endpoint;
  st.host = HostHeader(opt.common);
  st.total = static_cast<int64_t>(opt.services) * opt.instances;
  const Clock::time_point start = Clock::now();
  st.stop_issuing =
      opt.max_seconds > 0 ? start + FromSeconds(opt.max_seconds) : start + std::chrono::minutes(30);
  st.last_ack = start;
  const Clock::time_point hard_stop = st.stop_issuing + std::chrono::seconds(30);
  CpuWindow cpu(opt.common.server_pid);

  std::vector<std::unique_ptr<HttpConnection>> conns;
  Latch done(io.get_executor(), opt.conns);
  for (int i = 0; i < opt.conns; ++i) {
    conns.push_back(std::make_unique<HttpConnection>(io.get_executor(), 16 * 1024));
    asio::co_spawn(io, RegisterWorker(st, *conns.back(), done), asio::detached);
  }
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        if (!co_await done.Wait(hard_stop)) {
          std::fprintf(stderr, "loadgen: register: hard stop\n");
          for (auto& c : conns) {
            c->Close();
          }
        }
      },
      asio::detached);
  io.run();

  const double elapsed_s = Seconds(st.last_ack - start);
  JsonLine line = StartLine("register", opt.common);
  line.Add("conns", opt.conns)
      .Add("planned", st.total)
      .Add("acked", st.acked)
      .Add("duration_s", elapsed_s)
      .Add("rps", elapsed_s > 0 ? static_cast<double>(st.acked) / elapsed_s : 0.0)
      .AddLatency("", st.latency)
      .Add("non_2xx", st.non_2xx)
      .Add("errors", st.errors);
  if (!st.first_error.empty()) {
    line.Add("first_error", st.first_error);
  }
  cpu.AddTo(line);
  std::printf("%s\n", line.str().c_str());
  return st.acked > 0 ? 0 : 1;
}

}  // namespace beacon::bench
