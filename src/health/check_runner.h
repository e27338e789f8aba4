// CheckRunner: runs the agent's HTTP, TCP and gRPC checks on the I/O loops (issue #4,
// consul-api.md section 5; shaped after Envoy's health checker sessions and Consul's
// agent/checks/check.go).
//
// Design:
// - The catalog's writer hands every published snapshot to Observe(), which only posts it to the
//   control loop (the pool's loop 0). There a CheckTracker diffs it and the runner keeps exactly
//   one Session per runnable check: new checks start, checks whose definition changed restart,
//   removed checks stop, and catalog-side record changes (status/output after our own writes)
//   are forwarded to the session.
// - Sessions are spread round-robin over the pool's loops and live there for life: all of a
//   session's state is touched only by its own loop; the control loop talks to it by posting.
//   No thread per check, no blocking call: a session is one coroutine sleeping on a timer.
// - Scheduling: the first attempt runs after a random stagger in [0, Interval) (injectable
//   Random), later ones every Interval (fixed rate; an attempt can never overrun it since its
//   timeout is capped at the Interval). Each attempt has its own deadline (connection.h).
// - Each result goes through the session's Thresholds; what they report is compared with what
//   the catalog holds (the session's copy of the check's status and output, refreshed from the
//   snapshots). A status change is submitted at once; an output-only change at most once per
//   output_update_interval, mirroring the catalog's own throttle so that writes it would drop are
//   not even queued. The sink is the catalog's single writer (CheckResult requests).
// - HTTP sessions keep their connection open between attempts when the server allows it (see
//   http_probe.h for the rules that keep a check's verdict exact). The session owns the idle
//   connection; it is closed when the session stops, when the loops go, and when it has been idle
//   for more than two intervals (checked at the next attempt; the server hanging up closes it at
//   once). The number kept is capped (options.max_kept_connections).
// - Stop() flags every session to end and cancels their timers; attempts in flight end by their
//   own deadline or with the pool, and never report after Stop().
//
// Thread rules: Observe, Stop and the counters are thread-safe. The sink must outlive the pool's
// last run of this runner's handlers (the agent stops the pool before destroying the runner).
// Sessions are owned by their coroutines, so they go with their loop's io_context: after Stop(),
// the runner may be destroyed before or after the pool.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "catalog/requests.h"
#include "catalog/snapshot.h"
#include "common/metrics.h"
#include "common/status.h"
#include "health/random.h"
#include "net/io_pool.h"

namespace beacon::catalog {
class Catalog;
}

namespace beacon::health {

// Where check results go: one narrow, thread-safe entry into the writer.
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // Called on a loop thread; must not block.
  virtual void Submit(catalog::CheckResult result) = 0;
};

// The production sink: Catalog::Submit. Failures (the check was removed meanwhile: NotFound) are
// expected and only logged at debug level.
class CatalogSink final : public ResultSink {
 public:
  explicit CatalogSink(catalog::Catalog& catalog) : catalog_(catalog) {}
  void Submit(catalog::CheckResult result) override;

 private:
  catalog::Catalog& catalog_;
};

struct CheckRunnerOptions {
  // Per-attempt timeout when a definition has none (Consul: 10 s); always capped at the Interval.
  std::chrono::nanoseconds default_timeout = std::chrono::seconds(10);
  // Output-only changes are submitted at most this often per check. Keep it equal to the
  // catalog's CatalogOptions::output_update_interval (Consul: 5 min); shorter only wastes writes
  // the catalog drops, longer delays output updates.
  std::chrono::nanoseconds output_update_interval = std::chrono::minutes(5);
  // Intervals below this run at this rate (Consul's MinInterval, 1 s: a typo such as "1ms" must
  // not turn one check into a load generator). Lower only in tests.
  std::chrono::nanoseconds min_interval = std::chrono::seconds(1);
  // Where `health.checks_run` (by type and result) is counted; nullptr = not counted. Must
  // outlive the runner.
  MetricsRegistry* metrics = nullptr;
  // HTTP checks keep their connection open between attempts (http_probe.h), one file descriptor
  // per check; at most this many at once, the other checks connect afresh each time.
  // nullopt = three quarters of the open-file limit when the runner is created (the agent raises
  // it to the hard limit first); 0 = never keep one (Consul's behaviour, a connection per attempt).
  std::optional<size_t> max_kept_connections;
};

class CheckRunner {
 public:
  // Fails when TLS cannot be set up. `random` (nullptr = a SystemRandom) must outlive the runner.
  // Nothing runs until the first Observe*.
  static Result<std::unique_ptr<CheckRunner>> Create(net::IoPool& pool, ResultSink& sink,
                                                     CheckRunnerOptions options = {},
                                                     Random* random = nullptr);
  ~CheckRunner();  // Stop()s
  CheckRunner(const CheckRunner&) = delete;
  CheckRunner& operator=(const CheckRunner&) = delete;

  // A snapshot the catalog published, with its ChangeSet. Thread-safe; only posts.
  void Observe(catalog::SnapshotPtr snapshot, catalog::ChangeSet changes);
  // The same, diffed in full (the first snapshot, read with Catalog::Current()).
  void ObserveFull(catalog::SnapshotPtr snapshot);

  // Stops every session. Idempotent, thread-safe, does not wait for the loops.
  void Stop();

  // Sessions currently scheduled (coroutines alive), and attempts completed since start (each
  // also counted in `health.checks_run` when options.metrics is set).
  size_t running() const;
  uint64_t attempts() const;
  // HTTP connections held open between attempts right now (idle or in use by an attempt).
  size_t kept_connections() const;

  struct Shared;  // state shared with the sessions (implementation detail)

 private:
  CheckRunner() = default;
  void Post(catalog::SnapshotPtr snapshot, std::optional<catalog::ChangeSet> changes);

  std::shared_ptr<Shared> shared_;
  std::unique_ptr<SystemRandom> owned_random_;
};

}  // namespace beacon::health
