#include "health/check_runner.h"

#include <sys/resource.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <array>
#include <map>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>

#include "catalog/catalog.h"
#include "health/check_tracker.h"
#include "health/http_probe.h"
#include "health/probe.h"
#include "health/thresholds.h"
#include "net/post_batch.h"

namespace beacon::health {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

void CatalogSink::Submit(catalog::CheckResult result) {
  std::string id = result.check_id;
  catalog_.Submit(std::move(result), [id](const Status& s, uint64_t) {
    if (!s.ok()) {
      spdlog::debug("health: result of check {} not written: {}", id, s.ToString());
    }
  });
}

namespace {

class Session;

// `health.checks_run{type, result}`: every probe attempt that completed, with its raw result
// (before thresholds), including an attempt whose check was removed while it ran. All counters
// are created up front (a scrape shows zeros rather than missing series); Count is thread-safe.
class RunCounters {
  // The `type` label of each of ProbeSpec::kind's alternatives, in order.
  using Kinds = decltype(ProbeSpec::kind);
  static_assert(std::is_same_v<std::variant_alternative_t<0, Kinds>, HttpSpec> &&
                std::is_same_v<std::variant_alternative_t<1, Kinds>, TcpSpec> &&
                std::is_same_v<std::variant_alternative_t<2, Kinds>, GrpcSpec>);
  static constexpr std::array<std::string_view, 3> kTypes = {"http", "tcp", "grpc"};

 public:
  explicit RunCounters(MetricsRegistry* metrics) {
    if (metrics == nullptr) return;
    constexpr std::array<catalog::HealthStatus, 3> kResults = {
        catalog::HealthStatus::kPassing, catalog::HealthStatus::kWarning,
        catalog::HealthStatus::kCritical};
    for (size_t t = 0; t < kTypes.size(); ++t) {
      for (catalog::HealthStatus result : kResults) {
        counters_[t][static_cast<size_t>(result)] = metrics->GetCounter(
            "health.checks_run",
            {{"type", std::string(kTypes[t])},
             {"result", std::string(catalog::HealthStatusName(result))}},
            "Check attempts run (HTTP, TCP, gRPC), by type and result");
      }
    }
  }

  void Count(const ProbeSpec& spec, catalog::HealthStatus result) const {
    Counter* c = counters_[spec.kind.index()][static_cast<size_t>(result)];
    if (c != nullptr) c->Inc();
  }

 private:
  std::array<std::array<Counter*, 3>, 3> counters_{};
};

// What sessions share (read-only after Create, apart from the atomics). Sessions hold it, never
// the control state below, so no ownership cycle exists whichever way the loops end.
struct SessionEnv {
  explicit SessionEnv(CheckRunnerOptions o) : options(std::move(o)), runs(options.metrics) {}

  ResultSink* sink = nullptr;
  const CheckRunnerOptions options;
  const RunCounters runs;
  std::shared_ptr<TlsContexts> tls;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> running{0};
  std::atomic<uint64_t> attempts{0};
  // HTTP connections kept open between attempts (one per session at most), and the cap.
  std::atomic<size_t> kept_connections{0};
  size_t max_kept_connections = 0;
};

}  // namespace

struct CheckRunner::Shared {
  net::IoPool* pool = nullptr;
  Random* random = nullptr;
  std::shared_ptr<SessionEnv> env;

  // Control-loop state (loop 0 only).
  CheckTracker tracker;
  // Weak: a session is owned by its coroutine (and by handlers posted to its loop), so it dies
  // with its loop's io_context at the latest. A strong reference here kept its timer alive after
  // the pool was destroyed when Stop()'s clean-up never got to run (ASan: use after free).
  std::map<std::string, std::weak_ptr<Session>> sessions;
  size_t next_loop = 0;
};

namespace {

// One running check. Created by the control loop, then touched only on its own loop.
class Session {
 public:
  Session(asio::any_io_executor executor, std::shared_ptr<SessionEnv> shared,
          const catalog::Check& check)
      : executor_(std::move(executor)),
        shared_(std::move(shared)),
        timer_(executor_),
        check_id_(check.id),
        spec_(std::make_shared<const ProbeSpec>(
            MakeProbeSpec(check.definition, shared_->options.default_timeout))),
        thresholds_(ThresholdConfig::From(check.definition)),
        interval_(check.definition.interval),
        is_http_(std::holds_alternative<HttpSpec>(spec_->kind)),
        held_status_(check.status),
        held_output_(check.output) {
    // Resubmitting an unchanged status change is pointless until the writer had time to apply it.
    resubmit_after_ = std::max<SteadyClock::duration>(interval_, std::chrono::seconds(1));
  }
  ~Session() { DropConnection(); }

  const asio::any_io_executor& executor() const { return executor_; }

  // On the session's loop.
  void Stop() {
    stopped_ = true;
    timer_.cancel();
    DropConnection();  // the server sees the kept connection close now, not at the next attempt
  }
  void OnCatalogState(catalog::HealthStatus status, std::string output) {
    held_status_ = status;
    held_output_ = std::move(output);
    last_write_seen_ = SteadyClock::now();
  }

  static asio::awaitable<void> Run(std::shared_ptr<Session> self,
                                   std::chrono::nanoseconds first_delay);

 private:
  bool Done() const { return stopped_ || shared_->stopping.load(std::memory_order_relaxed); }
  // One attempt; HTTP attempts reuse and keep the session's connection (http_probe.h).
  static asio::awaitable<ProbeResult> Attempt(std::shared_ptr<Session> self);
  // The kept connection if it is still usable (open, idle for at most two intervals: a loop that
  // fell that far behind reconnects rather than trust a connection the server may have dropped).
  std::shared_ptr<Connection> TakeConnection();
  void KeepConnection(std::shared_ptr<Connection> conn);
  // Takes one of SessionEnv::kept_connections unless the session holds one; false at the cap.
  bool ClaimSlot();
  void DropConnection();
  void OnResult(ProbeResult result);
  void SubmitReport(const Report& report, SteadyClock::time_point now);

  asio::any_io_executor executor_;
  std::shared_ptr<SessionEnv> shared_;
  asio::steady_timer timer_;
  const std::string check_id_;
  const std::shared_ptr<const ProbeSpec> spec_;
  Thresholds thresholds_;
  const std::chrono::nanoseconds interval_;
  const bool is_http_;  // may keep a connection (RunHttpProbe applies HttpKeepAliveAllowed)
  SteadyClock::duration resubmit_after_;
  bool stopped_ = false;
  // The HTTP connection kept between attempts, idle while it is here (null when none); holds one
  // of SessionEnv::kept_connections while has_slot_.
  std::shared_ptr<Connection> conn_;
  bool has_slot_ = false;

  // What the catalog holds for this check, as last seen in a snapshot.
  catalog::HealthStatus held_status_;
  std::string held_output_;
  SteadyClock::time_point last_write_seen_ = SteadyClock::time_point::min();
  // The last report submitted and when.
  std::optional<Report> submitted_;
  SteadyClock::time_point submitted_at_ = SteadyClock::time_point::min();
};

asio::awaitable<void> Session::Run(std::shared_ptr<Session> self,
                                   std::chrono::nanoseconds first_delay) {
  self->shared_->running.fetch_add(1, std::memory_order_relaxed);
  SteadyClock::time_point next =
      SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(first_delay);
  const auto interval = std::chrono::duration_cast<SteadyClock::duration>(self->interval_);
  while (!self->Done()) {
    self->timer_.expires_at(next);
    co_await self->timer_.async_wait(kTuple);  // cancelled by Stop(): Done() says so
    if (self->Done()) {
      break;
    }
    ProbeResult result = co_await Attempt(self);
    // Counted even if the check was removed meanwhile: the probe did run.
    self->shared_->attempts.fetch_add(1, std::memory_order_relaxed);
    self->shared_->runs.Count(*self->spec_, result.status);
    if (self->Done()) {
      break;  // removed or shutting down while the attempt ran: its result no longer matters
    }
    self->OnResult(std::move(result));
    // Fixed rate; if the loop fell behind (an overloaded machine), skip rather than burst.
    next += interval;
    const SteadyClock::time_point now = SteadyClock::now();
    if (next < now) {
      next = now;
    }
  }
  self->DropConnection();
  self->shared_->running.fetch_sub(1, std::memory_order_relaxed);
}

asio::awaitable<ProbeResult> Session::Attempt(std::shared_ptr<Session> self) {
  if (!self->is_http_) {
    co_return co_await RunProbe(self->spec_, self->shared_->tls, self->executor_);
  }
  HttpProbeOutcome outcome = co_await RunHttpProbe(self->spec_, self->shared_->tls,
                                                   self->executor_, self->TakeConnection());
  self->KeepConnection(std::move(outcome.keep));
  co_return std::move(outcome.result);
}

std::shared_ptr<Connection> Session::TakeConnection() {
  std::shared_ptr<Connection> conn = std::move(conn_);
  if (conn && !conn->EndIdle(2 * std::chrono::duration_cast<SteadyClock::duration>(interval_))) {
    conn.reset();  // closed by the server meanwhile, or idle too long (closed by EndIdle)
  }
  return conn;
}

bool Session::ClaimSlot() {
  if (!has_slot_) {
    // A check's connection is one file descriptor for as long as the check runs: within the cap
    // (a quarter of the file limit stays free for the API and for attempts that connect afresh).
    has_slot_ = shared_->kept_connections.fetch_add(1, std::memory_order_relaxed) <
                shared_->max_kept_connections;
    if (!has_slot_) shared_->kept_connections.fetch_sub(1, std::memory_order_relaxed);
  }
  return has_slot_;
}

void Session::KeepConnection(std::shared_ptr<Connection> conn) {
  if (conn && !Done() && ClaimSlot()) {
    conn_ = std::move(conn);
    Connection::StartIdle(conn_);
    return;
  }
  if (conn) conn->Finish();
  DropConnection();  // and the slot with it
}

void Session::DropConnection() {
  if (conn_) {
    conn_->Finish();
    conn_.reset();
  }
  if (has_slot_) {
    has_slot_ = false;
    shared_->kept_connections.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Session::OnResult(ProbeResult result) {
  std::optional<Report> report = thresholds_.Apply(result.status, std::move(result.output));
  if (!report) {
    return;
  }
  // The catalog truncates stored output to OutputMaxSize; compare like with like.
  if (report->output.size() > spec_->output_max_size) {
    report->output.resize(spec_->output_max_size);
  }
  const SteadyClock::time_point now = SteadyClock::now();
  const bool in_flight = submitted_ && *submitted_ == *report && now - submitted_at_ < resubmit_after_;
  if (report->status != held_status_) {
    if (!in_flight) {
      SubmitReport(*report, now);
    }
    return;
  }
  if (report->output == held_output_) {
    return;
  }
  // Output-only change: the catalog writes these at most once per output_update_interval after
  // its last write of this check, which happened before we saw it (last_write_seen_) or before we
  // submitted (submitted_at_). Waiting as long from either keeps us from queueing dropped writes.
  const auto period =
      std::chrono::duration_cast<SteadyClock::duration>(shared_->options.output_update_interval);
  const SteadyClock::time_point last = std::max(last_write_seen_, submitted_at_);
  if (last != SteadyClock::time_point::min() && now - last < period) {
    return;
  }
  SubmitReport(*report, now);
}

void Session::SubmitReport(const Report& report, SteadyClock::time_point now) {
  submitted_ = report;
  submitted_at_ = now;
  shared_->sink->Submit(catalog::CheckResult{check_id_, report.status, report.output});
}

// ---------------------------------------------------------------------------------------------
// Control loop.

void StartSession(const std::shared_ptr<CheckRunner::Shared>& shared,
                  const catalog::Check& registered) {
  net::IoPool& pool = *shared->pool;
  catalog::Check check = registered;
  // Consul raises short intervals to its minimum (and so the timeout cap follows it).
  check.definition.interval =
      std::max(check.definition.interval, shared->env->options.min_interval);
  const size_t loop = shared->next_loop++ % pool.size();
  auto session = std::make_shared<Session>(pool.Get(loop).get_executor(), shared->env, check);
  const uint64_t interval_ns = static_cast<uint64_t>(check.definition.interval.count());
  const std::chrono::nanoseconds stagger(shared->random->Uniform(interval_ns));
  shared->sessions[check.id] = session;
  asio::co_spawn(session->executor(), Session::Run(session, stagger), asio::detached);
}

// A session whose coroutine has already ended (expired) needs nothing.
void StopSession(const std::weak_ptr<Session>& weak) {
  if (std::shared_ptr<Session> session = weak.lock()) {
    asio::post(session->executor(), [session] { session->Stop(); });
  }
}

void Apply(const std::shared_ptr<CheckRunner::Shared>& shared, const catalog::Snapshot& snapshot,
           const catalog::ChangeSet* changes) {
  if (shared->env->stopping.load()) {
    return;
  }
  for (TrackerAction& a : shared->tracker.Observe(snapshot, changes)) {
    auto it = shared->sessions.find(a.check_id);
    switch (a.kind) {
      case TrackerAction::Kind::kStop:
        if (it != shared->sessions.end()) {
          StopSession(it->second);
          shared->sessions.erase(it);
        }
        break;
      case TrackerAction::Kind::kRestart:
        if (it != shared->sessions.end()) {
          StopSession(it->second);
          shared->sessions.erase(it);
        }
        StartSession(shared, *a.check);
        break;
      case TrackerAction::Kind::kStart:
        StartSession(shared, *a.check);
        break;
      case TrackerAction::Kind::kState:
        if (it == shared->sessions.end()) {
          break;
        }
        if (std::shared_ptr<Session> s = it->second.lock()) {
          asio::post(s->executor(), [s, status = a.check->status, output = a.check->output]() {
            s->OnCatalogState(status, output);
          });
        }
        break;
    }
  }
}

}  // namespace

Result<std::unique_ptr<CheckRunner>> CheckRunner::Create(net::IoPool& pool, ResultSink& sink,
                                                         CheckRunnerOptions options,
                                                         Random* random) {
  std::unique_ptr<CheckRunner> runner(new CheckRunner());
  auto shared = std::make_shared<Shared>();
  shared->env = std::make_shared<SessionEnv>(options);
  BEACON_ASSIGN_OR_RETURN(std::unique_ptr<TlsContexts> tls, TlsContexts::Create());
  shared->env->tls = std::move(tls);
  if (random == nullptr) {
    runner->owned_random_ = std::make_unique<SystemRandom>();
    random = runner->owned_random_.get();
  }
  if (options.max_kept_connections) {
    shared->env->max_kept_connections = *options.max_kept_connections;
  } else {
    rlimit limit{};
    const size_t files =
        getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
            ? static_cast<size_t>(limit.rlim_cur)
            : size_t{1} << 20;
    shared->env->max_kept_connections = files / 4 * 3;
  }
  shared->pool = &pool;
  shared->env->sink = &sink;
  shared->random = random;
  runner->shared_ = std::move(shared);
  return runner;
}

CheckRunner::~CheckRunner() { Stop(); }

void CheckRunner::Post(catalog::SnapshotPtr snapshot, std::optional<catalog::ChangeSet> changes) {
  if (shared_->env->stopping.load()) {
    return;
  }
  net::Post(shared_->pool->Get(0),
            [shared = shared_, snapshot = std::move(snapshot), changes = std::move(changes)] {
              Apply(shared, *snapshot, changes ? &*changes : nullptr);
            });
}

void CheckRunner::Observe(catalog::SnapshotPtr snapshot, catalog::ChangeSet changes) {
  Post(std::move(snapshot), std::move(changes));
}

void CheckRunner::ObserveFull(catalog::SnapshotPtr snapshot) {
  Post(std::move(snapshot), std::nullopt);
}

void CheckRunner::Stop() {
  if (!shared_ || shared_->env->stopping.exchange(true)) {
    return;
  }
  asio::post(shared_->pool->Get(0), [shared = shared_] {
    for (auto& [id, session] : shared->sessions) {
      StopSession(session);
    }
    shared->sessions.clear();
  });
}

size_t CheckRunner::running() const {
  return shared_->env->running.load(std::memory_order_relaxed);
}

uint64_t CheckRunner::attempts() const {
  return shared_->env->attempts.load(std::memory_order_relaxed);
}

size_t CheckRunner::kept_connections() const {
  return shared_->env->kept_connections.load(std::memory_order_relaxed);
}

}  // namespace beacon::health
