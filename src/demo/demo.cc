// The demo's narrative. Structure: a Demo object owns everything it starts (agent, backend
// processes, client, cache, balancers); Run() walks the steps in order and stops at the first
// that does not go as narrated; Cleanup() (also run by the destructor) undoes what was started,
// in reverse.
//
// Waiting: the cache pushes every answer to a subscription that bumps a version under a
// condition variable; WaitUntil() re-checks its condition on each bump, bounded by a deadline
// and by the stop token (Ctrl-C). Nothing sleeps to wait.
#include "demo/demo.h"

#include <fmt/core.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "agent/agent.h"
#include "beacon/beacon.h"
#include "demo/process.h"

namespace beacon::demo {

namespace {

namespace bc = ::beacon::client;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct BackendSpec {
  std::string id;
  std::string service;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;
  int weight;  // Weights.Passing
};

// The sketch's four instances; the canary gets a third of the others' weight.
const std::vector<BackendSpec>& Specs() {
  static const std::vector<BackendSpec> specs = {
      {"user-service-1",
       "user-service",
       {"v1", "primary"},
       {{"region", "us-east-1"}, {"az", "us-east-1a"}, {"version", "1.4.2"}},
       3},
      {"user-service-2",
       "user-service",
       {"v1", "secondary"},
       {{"region", "us-east-1"}, {"az", "us-east-1b"}, {"version", "1.4.2"}},
       3},
      {"user-service-3",
       "user-service",
       {"v2", "canary"},
       {{"region", "us-west-2"}, {"az", "us-west-2a"}, {"version", "2.0.0-rc1"}},
       1},
      {"order-service-1",
       "order-service",
       {"v1"},
       {{"region", "us-east-1"}, {"az", "us-east-1a"}, {"version", "3.1.0"}},
       1},
  };
  return specs;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) {
      out += sep;
    }
    out += s;
  }
  return out;
}

std::string Seconds(Clock::duration d) {
  return fmt::format("{:.1f}s", std::chrono::duration<double>(d).count());
}

std::vector<std::string> IdsOf(const std::vector<bc::ServiceEntry>& entries) {
  std::vector<std::string> ids;
  for (const bc::ServiceEntry& e : entries) {
    ids.push_back(e.service.id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> IdsOf(const bc::InstanceSet& set) {
  std::vector<std::string> ids;
  for (const bc::Instance& i : *set) {
    ids.push_back(i.id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string MetaOf(const bc::ServiceEntry& e, const std::string& key) {
  auto it = e.service.meta.find(key);
  return it == e.service.meta.end() ? "-" : it->second;
}

// Wakes waiters whenever the cache pushes an answer.
class Changes {
 public:
  void Bump() {
    std::lock_guard lock(mu_);
    ++version_;
    cv_.notify_all();
  }

  // True once `done()` holds; false at the deadline or on stop. done() runs without the lock.
  bool WaitUntil(const std::function<bool()>& done, milliseconds timeout, std::stop_token stop) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      uint64_t seen;
      {
        std::lock_guard lock(mu_);
        seen = version_;
      }
      if (done()) {
        return true;
      }
      std::unique_lock lock(mu_);
      if (!cv_.wait_until(lock, stop, deadline, [&] { return version_ != seen; })) {
        return done();  // deadline or stop: one last look
      }
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable_any cv_;
  uint64_t version_ = 0;  // guarded by mu_
};

struct Backend {
  const BackendSpec* spec;
  uint16_t port = 0;
  std::optional<ChildProcess> process{};
  bool registered = false;
};

class Demo {
 public:
  Demo(const DemoOptions& options, std::stop_token stop) : options_(options), stop_(stop) {}
  ~Demo() { Cleanup(); }

  int Run() {
    start_ = Clock::now();
    Say("=== Beacon service discovery demo ===");
    bool ok = StartAgent() && StartBackends() && Register() && Discover() && Balance() &&
              FailHealth() && Crash() && Recover() && Deregister();
    if (ok) {
      Metrics();
    }
    Cleanup();
    if (!ok) {
      if (stop_.stop_requested()) {
        std::fprintf(stderr, "demo: interrupted\n");
      } else {
        std::fprintf(stderr, "demo: FAILED: %s\n", failure_.c_str());
      }
      return 1;
    }
    Say("");
    Say("=== Demo finished in {}: every step went as narrated ===", Seconds(Clock::now() - start_));
    return 0;
  }

 private:
  template <typename... Args>
  void Say(fmt::format_string<Args...> format, Args&&... args) {
    std::string line = fmt::format(format, std::forward<Args>(args)...);
    line += '\n';
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
  }

  bool Fail(std::string why) {
    failure_ = std::move(why);
    return false;
  }

  bool Interrupted() { return stop_.stop_requested() ? Fail("interrupted") : false; }

  // --- steps ---

  bool StartAgent() {
    Say("");
    Say("1. Agent");
    std::string address = options_.http_addr;
    if (address.empty()) {
      agent::AgentConfig config;
      config.dev = true;  // throw-away data directory, removed when the agent stops
      config.node_name = "demo-node";
      config.http_port = 0;
      config.dns_port = -1;
      config.io_threads = 2;
      auto a = agent::Agent::Start(std::move(config));
      if (!a.ok()) {
        return Fail("start the in-process agent: " + a.status().message());
      }
      agent_ = std::move(*a);
      address = "127.0.0.1:" + std::to_string(agent_->http_port());
      Say("   started an in-process Beacon agent: HTTP API on {} (data in a throw-away directory)",
          address);
    } else {
      Say("   using the agent at {}", address);
    }
    bc::ClientOptions co;
    co.address = address;
    auto c = bc::Client::Create(co);
    if (!c.ok()) {
      return Fail(c.status().message());
    }
    client_ = std::shared_ptr<bc::Client>(std::move(*c));
    auto leader = client_->Leader();
    if (!leader.ok()) {
      return Fail("agent at " + address + " does not answer: " + leader.status().message());
    }
    Say("   the agent answers; leader {}", leader->empty() ? "(none)" : *leader);
    bc::CacheOptions cache_options;
    // Short parks keep shutdown and the demo's pace independent of the agent's default 5 min.
    cache_options.watch_wait = std::chrono::seconds(30);
    cache_ = std::make_unique<bc::ServiceCache>(client_, cache_options);
    return true;
  }

  bool StartBackends() {
    Say("");
    Say("2. Backends: four tiny HTTP services, each in its own process");
    for (const BackendSpec& spec : Specs()) {
      backends_.push_back(Backend{&spec});
    }
    for (Backend& b : backends_) {
      if (!StartBackend(b)) {
        return false;
      }
      std::vector<std::string> meta;
      for (const auto& [k, v] : b.spec->meta) {
        meta.push_back(k + "=" + v);
      }
      Say("   {:<16} pid {:<7} 127.0.0.1:{:<5}  tags {:<12}  {}", b.spec->id, b.process->pid(),
          b.port, Join(b.spec->tags, ","), Join(meta, " "));
    }
    return true;
  }

  bool StartBackend(Backend& b) {
    if (Interrupted()) {
      return false;
    }
    std::vector<std::string> argv = {options_.self_exe, "demo-backend", "-id=" + b.spec->id,
                                     "-tags=" + Join(b.spec->tags, ","),
                                     "-port=" + std::to_string(b.port)};
    auto child = ChildProcess::Spawn(argv);
    if (!child.ok()) {
      return Fail(child.status().message());
    }
    auto line = child->ReadLine(std::chrono::seconds(10));
    constexpr std::string_view kPrefix = "listening on 127.0.0.1:";
    if (!line || line->rfind(kPrefix, 0) != 0) {
      return Fail("backend " + b.spec->id + " did not start listening");
    }
    b.port = static_cast<uint16_t>(std::stoi(line->substr(kPrefix.size())));
    b.process = std::move(*child);
    return true;
  }

  bool Register() {
    Say("");
    Say("3. Registration, each with an HTTP health check of its real /health (every 1s)");
    for (Backend& b : backends_) {
      bc::ServiceRegistration s;
      s.id = b.spec->id;
      s.name = b.spec->service;
      s.tags = b.spec->tags;
      s.address = "127.0.0.1";
      s.port = b.port;
      s.meta = b.spec->meta;
      s.weights = {.passing = b.spec->weight, .warning = 1};
      bc::CheckDefinition check;
      check.name = "GET /health";
      check.http = fmt::format("http://127.0.0.1:{}/health", b.port);
      check.interval = std::chrono::seconds(1);
      check.timeout = std::chrono::seconds(1);
      s.checks.push_back(check);
      if (bc::Status st = client_->RegisterService(s); !st.ok()) {
        return Fail("register " + s.id + ": " + st.message());
      }
      b.registered = true;
      Say("   registered {:<16} weight {}  check {}", s.id, b.spec->weight, check.http);
    }
    // Two balancers fed by the same query share its one watch.
    bc::BalancerOptions bo;
    bo.name = "user-service";
    round_robin_ = bc::MakeLoadBalancer(bc::BalancerKind::kRoundRobin, bo);
    weighted_ = bc::MakeLoadBalancer(bc::BalancerKind::kWeighted, bo);
    feeds_.push_back(bc::FeedBalancer(*cache_, UserQuery(), round_robin_));
    feeds_.push_back(bc::FeedBalancer(*cache_, UserQuery(), weighted_));
    // Every answer the cache gets wakes WaitUntil(). Subscribers of a query are called in the
    // order they subscribed, so by the time this runs the balancers above have the new set.
    watch_users_ =
        cache_->Subscribe(UserQuery(), [this](const bc::ServiceSnapshot&) { changes_.Bump(); });
    watch_orders_ =
        cache_->Subscribe(OrderQuery(), [this](const bc::ServiceSnapshot&) { changes_.Bump(); });
    Say("   waiting for the agent to run the first checks...");
    auto t0 = Clock::now();
    bool all = changes_.WaitUntil(
        [&] {
          return HealthyIds(UserQuery()).size() == 3 && HealthyIds(OrderQuery()).size() == 1 &&
                 round_robin_->instances()->size() == 3 && weighted_->instances()->size() == 3;
        },
        options_.step_timeout, stop_);
    if (!all) {
      return Interrupted() || Fail("the instances did not all pass their checks in time");
    }
    Say("   all 4 instances passing after {}", Seconds(Clock::now() - t0));
    return true;
  }

  bool Discover() {
    Say("");
    Say("4. Discovery through the watch-fed cache (GET /v1/health/service/<name>?passing)");
    for (const bc::ServiceQuery& q : {UserQuery(), OrderQuery()}) {
      auto s = cache_->Get(q);
      if (!s.ok()) {
        return Fail("discover " + q.service + ": " + s.status().message());
      }
      Say("   {}: {} healthy instance{} (index {})", q.service, s->entries->size(),
          s->entries->size() == 1 ? "" : "s", s->index);
      for (const bc::ServiceEntry& e : *s->entries) {
        Say("     - {} at {}:{}  tags [{}]  region {} az {}", e.service.id, e.Address(),
            e.service.port, Join(e.service.tags, ","), MetaOf(e, "region"), MetaOf(e, "az"));
      }
    }
    bc::ServiceQuery v2 = UserQuery();
    v2.tags = {"v2"};
    auto tagged = cache_->Get(v2);
    bc::ServiceQuery east = UserQuery();
    east.filter = "Service.Meta.region == \"us-east-1\"";
    auto filtered = cache_->Get(east);
    if (!tagged.ok() || !filtered.ok()) {
      return Fail("tag/filter queries failed");
    }
    Say("   tag v2 only: {}", Join(IdsOf(*tagged->entries)));
    Say("   filter {}: {}", east.filter, Join(IdsOf(*filtered->entries)));
    return true;
  }

  bool Balance() {
    Say("");
    Say("5. Load balancing real requests (round robin over the cached instances)");
    std::set<std::string> answered;
    for (int k = 0; k < options_.requests; ++k) {
      std::string id;
      if (!Request(*round_robin_, &id)) {
        return false;
      }
      answered.insert(id);
    }
    if (answered.size() != 3) {
      return Fail("round robin did not reach all three user-service instances");
    }
    // Weighted: Weights.Passing 3/3/1, so the canary gets one call in seven.
    std::map<std::string, int> counts;
    const int total = 14;
    for (int k = 0; k < total; ++k) {
      auto pick = weighted_->Choose();
      if (!pick.ok()) {
        return Fail(pick.status().message());
      }
      std::string answer;
      if (!Call(pick->instance(), &answer)) {
        pick->ReportFailure();
        return Fail("weighted call to " + pick->instance().id + " failed: " + answer);
      }
      pick->ReportSuccess();
      counts[pick->instance().id]++;
    }
    std::vector<std::string> parts;
    for (const auto& [id, n] : counts) {
      parts.push_back(fmt::format("{} x{}", id, n));
    }
    Say("   weighted by Weights.Passing (3/3/1): {} requests -> {}", total, Join(parts));
    return true;
  }

  bool FailHealth() {
    Say("");
    Say("6. Health failure: user-service-2 starts failing GET /health");
    Backend& b = Find("user-service-2");
    std::string answer;
    if (!Admin(b, "fail", &answer)) {
      return Fail("tell user-service-2 to fail: " + answer);
    }
    Say("   user-service-2 /health now answers 503");
    auto t0 = Clock::now();
    if (!WaitForRotation({"user-service-1", "user-service-3"})) {
      return false;
    }
    Say("   user-service-2 left discovery after {} (its check turned critical)",
        Seconds(Clock::now() - t0));
    Say("   agent's check output: {}", CheckOutput("user-service-2"));
    Say("   healthy now: {}", Join(HealthyIds(UserQuery())));
    for (int k = 0; k < options_.requests; ++k) {
      std::string id;
      if (!Request(*round_robin_, &id)) {
        return false;
      }
      if (id == "user-service-2") {
        return Fail("a request reached user-service-2 after it left discovery");
      }
    }
    Say("   no request went to user-service-2");
    return true;
  }

  bool Crash() {
    Say("");
    Backend& b = Find("user-service-1");
    Say("7. Crash: killing user-service-1 (pid {}) with SIGKILL", b.process->pid());
    b.process->Signal(SIGKILL);
    b.process->Wait(std::chrono::seconds(5));
    Say("   {}", "process gone; its check has not noticed yet, so it is still in the rotation");
    // Calls fail before the agent's check notices; the balancer ejects the instance on the first
    // reported failure, so the next call goes elsewhere (passive ejection).
    bool ejected = false;
    for (int k = 0; k < 4 && !ejected; ++k) {
      auto pick = round_robin_->Choose();
      if (!pick.ok()) {
        return Fail(pick.status().message());
      }
      const bc::Instance& inst = pick->instance();
      std::string answer;
      ++request_number_;
      if (Call(inst, &answer)) {
        pick->ReportSuccess();
        Say("   request {:>2} -> {} ({}) answered: {}", request_number_, inst.id, inst.HostPort(),
            answer);
        continue;
      }
      pick->ReportFailure();
      ejected = true;
      Say("   request {:>2} -> {} ({}): FAILED ({}); reported to the balancer, which ejects it",
          request_number_, inst.id, inst.HostPort(), answer);
      std::string id;
      if (!Request(*round_robin_, &id, "retry")) {
        return false;
      }
      if (id == "user-service-1") {
        return Fail("the retry went to the ejected instance");
      }
    }
    if (!ejected) {
      Say("   (the agent's check was faster than our calls: no call failed)");
    } else {
      for (const bc::InstanceStats& s : round_robin_->stats().instances) {
        if (s.id == "user-service-1") {
          Say("   balancer: user-service-1 ejected={} after {} failure(s)",
              s.ejected ? "yes" : "no", s.failures);
        }
      }
    }
    auto t0 = Clock::now();
    if (!WaitForRotation({"user-service-3"})) {
      return false;
    }
    Say("   user-service-1 left discovery after {}; check output: {}", Seconds(Clock::now() - t0),
        CheckOutput("user-service-1"));
    for (int k = 0; k < 3; ++k) {
      std::string id;
      if (!Request(*round_robin_, &id)) {
        return false;
      }
      if (id != "user-service-3") {
        return Fail("a request reached " + id + " while only user-service-3 is healthy");
      }
    }
    return true;
  }

  bool Recover() {
    Say("");
    Say("8. Recovery: restarting user-service-1 and healing user-service-2");
    Backend& one = Find("user-service-1");
    if (!StartBackend(one)) {
      return false;
    }
    Say("   user-service-1 restarted as pid {} on 127.0.0.1:{}", one.process->pid(), one.port);
    Backend& two = Find("user-service-2");
    std::string answer;
    if (!Admin(two, "ok", &answer)) {
      return Fail("heal user-service-2: " + answer);
    }
    Say("   user-service-2 /health answers 200 again");
    auto t0 = Clock::now();
    if (!WaitForRotation({"user-service-1", "user-service-2", "user-service-3"})) {
      return false;
    }
    Say("   both back in discovery after {}: {}", Seconds(Clock::now() - t0),
        Join(HealthyIds(UserQuery())));
    std::set<std::string> answered;
    for (int k = 0; k < options_.requests; ++k) {
      std::string id;
      if (!Request(*round_robin_, &id)) {
        return false;
      }
      answered.insert(id);
    }
    if (answered.size() != 3) {
      return Fail("after recovery the rotation did not reach all three instances");
    }
    return true;
  }

  bool Deregister() {
    Say("");
    Say("9. Deregistration: removing user-service-3");
    Backend& b = Find("user-service-3");
    if (bc::Status st = client_->DeregisterService(b.spec->id); !st.ok()) {
      return Fail("deregister user-service-3: " + st.message());
    }
    b.registered = false;
    Say("   deregistered user-service-3 (PUT /v1/agent/service/deregister/user-service-3)");
    if (!WaitForRotation({"user-service-1", "user-service-2"})) {
      return false;
    }
    auto all = client_->HealthService("user-service", {});
    if (!all.ok()) {
      return Fail(all.status().message());
    }
    Say("   remaining user-service instances: {}", Join(IdsOf(all->value)));
    Say("   stopped its backend: {}", b.process->Stop(std::chrono::seconds(5)));
    return true;
  }

  void Metrics() {
    Say("");
    Say("10. Metrics");
    bc::CacheStats c = cache_->stats();
    Say("   client cache: hits={} misses={} watch_round_trips={} errors={} updates={} watches={}",
        c.hits, c.misses, c.watch_round_trips, c.errors, c.updates, c.watches);
    for (const auto& lb : {round_robin_, weighted_}) {
      bc::BalancerStats s = lb->stats();
      Say("   balancer {}: picks={} successes={} failures={} ejections={} set_updates={}",
          lb->kind(), s.picks, s.successes, s.failures, s.ejections, s.updates);
      std::vector<std::string> per;
      for (const bc::InstanceStats& i : s.instances) {
        per.push_back(fmt::format("{} {}", i.id, i.picks));
      }
      Say("     picks per instance since it (re)joined the set: {}", Join(per));
    }
    auto m = client_->Metrics();
    if (!m.ok()) {
      Say("   agent: metrics unavailable ({})", m.status().message());
      return;
    }
    auto gauge = [&](std::string_view suffix) {
      double total = 0;
      for (const auto& g : m->gauges) {
        if (g.name.size() >= suffix.size() &&
            g.name.compare(g.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
          total += g.value;
        }
      }
      return total;
    };
    uint64_t requests = 0;
    for (const auto& counter : m->counters) {
      if (counter.name.ends_with(".http.requests")) {
        requests += counter.count;
      }
    }
    Say("   agent: services={} service_instances={} catalog_index={} http_requests={} "
        "blocking_queries_parked={}",
        gauge(".catalog.services"), gauge(".catalog.service_instances"), gauge(".catalog.index"),
        requests, gauge(".http.blocking_queries_parked"));
  }

  // Undoes what was started, in reverse; safe to call twice.
  void Cleanup() {
    if (cleaned_) {
      return;
    }
    cleaned_ = true;
    bool printed = false;
    auto header = [&] {
      if (!printed) {
        Say("");
        Say("11. Cleanup");
        printed = true;
      }
    };
    feeds_.clear();
    watch_users_.Cancel();
    watch_orders_.Cancel();
    cache_.reset();  // stops the watches (cancels their parked queries)
    std::vector<std::string> deregistered;
    for (Backend& b : backends_) {
      if (b.registered && client_) {
        if (client_->DeregisterService(b.spec->id).ok()) {
          deregistered.push_back(b.spec->id);
        }
        b.registered = false;
      }
    }
    if (!deregistered.empty()) {
      header();
      Say("   deregistered {}", Join(deregistered));
    }
    int stopped = 0;
    for (Backend& b : backends_) {
      if (b.process && b.process->running()) {
        b.process->Stop(std::chrono::seconds(5));
        ++stopped;
      }
    }
    if (!backends_.empty()) {
      header();
      Say("   stopped {} backend process{}; none of the demo's processes is left running", stopped,
          stopped == 1 ? "" : "es");
    }
    backends_.clear();
    client_.reset();
    if (agent_) {
      agent_->Stop();
      agent_.reset();
      header();
      Say("   stopped the in-process agent and removed its data directory");
    }
  }

  // --- helpers ---

  static bc::ServiceQuery UserQuery() { return bc::ServiceQuery{.service = "user-service"}; }
  static bc::ServiceQuery OrderQuery() { return bc::ServiceQuery{.service = "order-service"}; }

  Backend& Find(std::string_view id) {
    for (Backend& b : backends_) {
      if (b.spec->id == id) {
        return b;
      }
    }
    std::abort();  // the ids are the demo's own constants
  }

  // The passing instances the cache has for `q` (empty when it has no answer yet).
  std::vector<std::string> HealthyIds(const bc::ServiceQuery& q) {
    auto s = cache_->Get(q, milliseconds(0));
    return s.ok() ? IdsOf(*s->entries) : std::vector<std::string>{};
  }

  // Waits until both the cache and the round-robin balancer hold exactly `ids`.
  bool WaitForRotation(std::vector<std::string> ids) {
    std::sort(ids.begin(), ids.end());
    bool ok = changes_.WaitUntil(
        [&] { return HealthyIds(UserQuery()) == ids && IdsOf(round_robin_->instances()) == ids; },
        options_.step_timeout, stop_);
    if (!ok) {
      return Interrupted() || Fail("discovery did not settle on [" + Join(ids) + "] within " +
                                   std::to_string(options_.step_timeout.count()) + "s (have [" +
                                   Join(HealthyIds(UserQuery())) + "])");
    }
    return true;
  }

  // The output of the instance's HTTP check, as the agent reports it.
  std::string CheckOutput(std::string_view id) {
    auto all = client_->HealthService("user-service", {});
    if (!all.ok()) {
      return "(unavailable: " + all.status().message() + ")";
    }
    for (const bc::ServiceEntry& e : all->value) {
      if (e.service.id != id) {
        continue;
      }
      for (const bc::HealthCheck& c : e.checks) {
        if (c.service_id == id) {
          std::string out = c.output;
          out.erase(std::remove(out.begin(), out.end(), '\n'), out.end());
          return std::string(bc::HealthStatusName(c.status)) + ", \"" + out + "\"";
        }
      }
    }
    return "(no check)";
  }

  // One real HTTP GET to `inst`; the answer's first line, or the error.
  bool Call(const bc::Instance& inst, std::string* answer) {
    auto transport =
        bc::MakeHttpTransport(bc::HttpAddress{.host = inst.address, .port = inst.port}, 0);
    bc::HttpRequest req;
    req.target = "/";
    req.timeout = std::chrono::seconds(2);
    auto r = transport->RoundTrip(req, stop_);
    if (!r.ok()) {
      std::string m = r.status().message();
      *answer = m.substr(m.rfind(": ") == std::string::npos ? 0 : m.rfind(": ") + 2);
      return false;
    }
    if (r->status != 200) {
      *answer = "HTTP " + std::to_string(r->status);
      return false;
    }
    *answer = r->body.substr(0, r->body.find('\n'));
    return true;
  }

  // A PUT /admin/health?<action> to a backend.
  bool Admin(Backend& b, std::string_view action, std::string* answer) {
    auto transport = bc::MakeHttpTransport(bc::HttpAddress{.host = "127.0.0.1", .port = b.port}, 0);
    bc::HttpRequest req;
    req.method = "PUT";
    req.target = "/admin/health?" + std::string(action);
    req.timeout = std::chrono::seconds(2);
    auto r = transport->RoundTrip(req, stop_);
    if (!r.ok() || r->status != 200) {
      *answer = r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message();
      return false;
    }
    return true;
  }

  // Picks through `lb`, calls the instance, reports the outcome and prints who answered.
  bool Request(bc::LoadBalancer& lb, std::string* answered_by, std::string_view label = "") {
    if (Interrupted()) {
      return false;
    }
    auto pick = lb.Choose();
    if (!pick.ok()) {
      return Fail(pick.status().message());
    }
    const bc::Instance& inst = pick->instance();
    std::string answer;
    std::string number =
        label.empty() ? fmt::format("{:>2}", ++request_number_) : std::string(label);
    if (!Call(inst, &answer)) {
      pick->ReportFailure();
      return Fail(fmt::format("request {} to {} ({}) failed: {}", number, inst.id, inst.HostPort(),
                              answer));
    }
    pick->ReportSuccess();
    Say("   request {} -> {} ({}) answered: {}", number, inst.id, inst.HostPort(), answer);
    *answered_by = inst.id;
    return true;
  }

  const DemoOptions options_;
  std::stop_token stop_;
  Clock::time_point start_;
  std::string failure_;
  bool cleaned_ = false;
  int request_number_ = 0;

  std::unique_ptr<agent::Agent> agent_;
  std::vector<Backend> backends_;
  std::shared_ptr<bc::Client> client_;
  std::unique_ptr<bc::ServiceCache> cache_;
  Changes changes_;
  bc::Subscription watch_users_;
  bc::Subscription watch_orders_;
  std::shared_ptr<bc::LoadBalancer> round_robin_;
  std::shared_ptr<bc::LoadBalancer> weighted_;
  std::vector<bc::Subscription> feeds_;
};

}  // namespace

int RunDemo(const DemoOptions& options, std::stop_token stop) {
  Demo demo(options, std::move(stop));
  return demo.Run();
}

}  // namespace beacon::demo
