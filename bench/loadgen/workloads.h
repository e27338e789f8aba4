// The load generator's workloads (../shared/BENCH.md): one function per mode.
//
// Every workload runs on one thread with one io_context, drives a closed loop (each connection
// sends its next request only after the previous response arrived) over keep-alive connections,
// records every latency in a LatencyHistogram, and prints exactly one JSON line on stdout with
// its figures; progress and diagnostics go to stderr. Every loop is bounded: by a request count,
// a duration, or a hard deadline after which sockets are closed. Only loopback addresses are
// accepted, so a mistyped flag cannot turn the tool on another machine.
//
// Each Run* returns the process exit code: 0 when the figures were measured (even if the server
// answered errors, which are counted), 1 when the workload could not run at all.
#pragma once

#include <cstdint>
#include <string>

namespace beacon::bench {

enum class Peer { kBeacon, kEtcd };

struct CommonOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string label;   // echoed in the JSON line, for scripts
  int server_pid = 0;  // when > 0: report the server's RSS and CPU use
  Peer peer = Peer::kBeacon;
};

// `read` (W2): GET (or any method) one target over `conns` connections.
struct ReadOptions {
  CommonOptions common;
  std::string method = "GET";
  std::string path = "/v1/health/service/svc-0?passing";
  std::string body;
  int conns = 64;
  double duration_s = 15;  // measured window, after the warm-up
  double warmup_s = 1;     // responses in the first warmup_s are not counted
  int64_t requests = 0;    // > 0: send exactly this many instead (no warm-up, no duration)
};

// `register` (W1, W4 load): services x instances registrations (or etcd puts) at concurrency
// `conns`; each counts once its 2xx arrives.
struct RegisterOptions {
  CommonOptions common;
  int conns = 16;
  int services = 100;
  int instances = 100;     // per service
  double max_seconds = 0;  // > 0: stop issuing after this long (slow fsync at concurrency 1)
  std::string service_prefix = "svc-";
  std::string key_prefix = "bench";  // etcd keys: /<key_prefix>/services/<service>/<id>
  std::string ttl = "1h";            // the TTL check's TTL; long, so nothing expires mid-run
};

// `watch` (W3): `watchers` blocking queries (or etcd watch streams) on one service, one
// registration, and the time from its acknowledgement until each watcher has the new answer.
struct WatchOptions {
  CommonOptions common;
  int watchers = 1000;
  std::string service = "watched";
  int service_instances = 10;  // the service's size before the change (response size)
  int settle_ms = 1500;        // Beacon: minimum wait after the last request is sent
  int connect_parallel = 128;  // connects in flight at once (stays under the listen backlog)
  int source_addresses = 1;    // > 1: watcher i connects from 127.0.0.(1 + i % n) (50,000 need 2+)
  double timeout_s = 30;       // for parking and for the fan-out each
  std::string key_prefix = "bench";
  std::string ttl = "1h";
};

// `mixed` (W7): reads of `path` with every write_every-th request a write (re-registration or
// TTL pass, alternately, over the services x instances loaded by `register`), plus `watchers`
// blocking queries spread over the services that re-park after every change.
struct MixedOptions {
  CommonOptions common;
  std::string path = "/v1/health/service/svc-0?passing";
  int conns = 64;
  int write_every = 20;  // 20: 5% writes
  int watchers = 1000;
  int services = 100;
  int instances = 100;
  double duration_s = 15;
  double warmup_s = 2;
  std::string service_prefix = "svc-";
  std::string ttl = "1h";
};

// `probe` (W4 restart): poll `path` until a 200 whose body holds `count_substr` exactly
// `expect_count` times; report the time since `t0_epoch_ns` (CLOCK_REALTIME, e.g. `date +%s%N`
// taken just before the server was started).
struct ProbeOptions {
  CommonOptions common;
  std::string path;
  std::string count_substr = R"({"Node":{)";
  int expect_count = 0;
  int64_t t0_epoch_ns = 0;
  double timeout_s = 30;
  int interval_ms = 2;
};

// `disk` (W1 c=1's floor): appends of `bytes` to a zero-filled file in `dir`, each followed by
// fdatasync, one at a time, as Beacon's store commits; at most `count` or `max_seconds`.
struct DiskOptions {
  std::string dir;
  std::string label;
  int bytes = 576;  // about one registration's commit record
  int64_t count = 30000;
  double max_seconds = 5;
  int file_mb = 32;  // the zero-filled file; bytes x count must fit
};

int RunRead(const ReadOptions& options);
int RunRegister(const RegisterOptions& options);
int RunWatch(const WatchOptions& options);
int RunMixed(const MixedOptions& options);
int RunProbe(const ProbeOptions& options);
int RunDisk(const DiskOptions& options);

}  // namespace beacon::bench
