#include "catalog/catalog.h"

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/memory/memory_store.h"

namespace beacon::catalog {
namespace {

using namespace std::chrono_literals;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    CatalogOptions options;
    options.node_name = "node1";
    options.reap_interval = 1h;  // tests run timers by hand
    options.min_deregister_after = 1s;
    auto c = Catalog::Open(options, &store_, &clock_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(*c);
  }
  void Reopen() {
    catalog_.reset();
    Open();
  }

  static RegisterService Web(std::string id, std::vector<std::string> tags = {}) {
    RegisterService r;
    r.service.name = "web";
    r.service.id = std::move(id);
    r.service.tags = std::move(tags);
    r.service.port = 8080;
    CheckSpec ttl;
    ttl.definition.type = CheckType::kTtl;
    ttl.definition.ttl = 10s;
    r.checks.push_back(ttl);
    return r;
  }

  // web-1 with a TTL check long enough to outlast the deferred-output tests.
  static RegisterService LongTtlWeb() {
    RegisterService r = Web("web-1");
    r.checks[0].definition.ttl = 1h;
    return r;
  }
  // Registers LongTtlWeb(), passes its check with output "a" (a status change) and then with "b"
  // (an output-only change, whose publication waits).
  void PassThenChangeOutput() {
    Write(LongTtlWeb());
    Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "a"});
    Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "b"});
  }

  // Moves the clock on and runs whatever timers are then due (TTL expiry, the reaper).
  void Elapse(std::chrono::nanoseconds d) {
    clock_.Advance(d);
    catalog_->RunTimersForTest();
  }

  uint64_t Write(WriteRequest r) {
    auto idx = catalog_->SubmitAndWait(std::move(r));
    EXPECT_TRUE(idx.ok()) << idx.status().ToString();
    return idx.ok() ? *idx : 0;
  }

  // "id:status" for each instance's service checks, for readable comparisons.
  std::string Health(std::string_view service) {
    SnapshotPtr snap = catalog_->Current();
    const ServiceGroup* g = snap->FindService(service);
    std::string out;
    if (g == nullptr) return "<none>";
    for (const auto& inst : g->instances) {
      out += inst->service->id + "[";
      for (const auto& c : inst->checks) {
        out += c->id + "=" + std::string(HealthStatusName(c->status)) + ";";
      }
      out += "]";
    }
    return out;
  }

  ManualClock clock_;
  store::MemoryStore store_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(CatalogTest, LocalNodeHasSerfHealth) {
  EXPECT_EQ(Health("nothing"), "<none>");
  SnapshotPtr snap = catalog_->Current();
  const NodeEntry* node = snap->FindNode("NODE1");
  ASSERT_NE(node, nullptr);
  ASSERT_EQ(node->node_checks.size(), 1u);
  EXPECT_EQ(node->node_checks[0]->id, "serfHealth");
  EXPECT_EQ(node->node_checks[0]->status, HealthStatus::kPassing);
  EXPECT_FALSE(node->node->id.empty());
}

TEST_F(CatalogTest, RegisterAssignsDefaultsAndIndexes) {
  uint64_t before = catalog_->Current()->index;
  uint64_t idx = Write(Web("web-1"));
  EXPECT_GT(idx, before);
  EXPECT_EQ(Health("WEB"), "web-1[service:web-1=critical;serfHealth=passing;]");
  SnapshotPtr snap = catalog_->Current();
  EXPECT_EQ(snap->ServiceIndex("web"), idx);
  EXPECT_EQ(snap->services_index, idx);
  const Instance& inst = *snap->FindService("web")->instances[0];
  EXPECT_EQ(inst.service->create_index, idx);
  EXPECT_EQ(inst.checks[0]->name, "Service 'web' check");
}

TEST_F(CatalogTest, IdenticalReRegistrationChangesNothing) {
  uint64_t idx = Write(Web("web-1"));
  int64_t commits = store_.CommitCountForTest();
  uint64_t again = Write(Web("web-1"));
  EXPECT_EQ(again, idx);
  EXPECT_EQ(store_.CommitCountForTest(), commits);
  EXPECT_EQ(catalog_->Current()->ServiceIndex("web"), idx);
}

TEST_F(CatalogTest, ReRegistrationKeepsCheckStatus) {
  Write(Web("web-1"));
  Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "fine"});
  Write(Web("web-1", {"v2"}));
  EXPECT_EQ(Health("web"), "web-1[service:web-1=passing;serfHealth=passing;]");
  const Instance& inst = *catalog_->Current()->FindService("web")->instances[0];
  EXPECT_EQ(inst.checks[0]->output, "fine");
  EXPECT_EQ(inst.checks[0]->service_tags, std::vector<std::string>{"v2"});
}

TEST_F(CatalogTest, InstancesAndChecksWithTheSameTagsShareOneList) {
  Write(Web("web-1", {"primary", "v1"}));
  Write(Web("web-2", {"primary", "v1"}));
  Write(Web("web-3", {"v1"}));
  auto shares = [this] {
    const ServiceGroup& g = *catalog_->Current()->FindService("web");
    EXPECT_EQ(g.instances.size(), 3u);
    const Instance& a = *g.instances[0];
    const Instance& b = *g.instances[1];
    EXPECT_EQ(a.service->tags, (std::vector<std::string>{"primary", "v1"}));
    EXPECT_EQ(g.instances[2]->service->tags, std::vector<std::string>{"v1"});
    return a.service->tags.SharesWith(b.service->tags) &&
           a.checks[0]->service_tags.SharesWith(a.service->tags) &&
           b.checks[0]->service_tags.SharesWith(a.service->tags);
  };
  EXPECT_TRUE(shares());
  Reopen();  // loading from the store shares them the same way
  EXPECT_TRUE(shares());
}

TEST_F(CatalogTest, TtlUpdateByBareServiceId) {
  Write(Web("web-1"));
  Write(UpdateTtl{"web-1", HealthStatus::kWarning, ""});
  EXPECT_EQ(Health("web"), "web-1[service:web-1=warning;serfHealth=passing;]");
}

TEST_F(CatalogTest, TtlUpdateErrors) {
  auto r = catalog_->SubmitAndWait(UpdateTtl{"nope", HealthStatus::kPassing, ""});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  r = catalog_->SubmitAndWait(UpdateTtl{"serfHealth", HealthStatus::kPassing, ""});
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "CheckID \"serfHealth\" does not have associated TTL");
}

TEST_F(CatalogTest, OutputOnlyChangeDoesNotMoveIndexWithinInterval) {
  Write(Web("web-1"));
  uint64_t first = Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "a"});
  uint64_t second = Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "b"});
  EXPECT_EQ(catalog_->Current()->ServiceIndex("web"), first);
  EXPECT_EQ(second, first);
  // The new output is stored all the same.
  EXPECT_EQ(catalog_->Current()->FindService("web")->instances[0]->checks[0]->output, "b");
}

// Consul's agent defers output-only changes by check_update_interval d: the first starts a timer of
// d/2 plus a random stagger below d (5 min: 2.5 to 7.5 min), later ones ride along.
TEST_F(CatalogTest, OutputOnlyTtlChangeIsPublishedAfterTheDeferral) {
  Write(LongTtlWeb());
  const uint64_t passing = Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "a"});
  ASSERT_EQ(catalog_->Current()->ServiceIndex("web"), passing);
  Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "b"});
  Elapse(2min);  // before d/2
  EXPECT_EQ(catalog_->Current()->ServiceIndex("web"), passing);
  Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "c"});
  Elapse(5min + 31s);  // 7.5 min and 1 s after "b"
  SnapshotPtr snap = catalog_->Current();
  const uint64_t flushed = snap->ServiceIndex("web");
  EXPECT_GT(flushed, passing);
  const Check& check = *snap->FindService("web")->instances[0]->checks[0];
  EXPECT_EQ(check.output, "c");
  EXPECT_EQ(check.modify_index, flushed);
  // Both changes went out in that one publication: nothing else is due.
  Elapse(10min);
  EXPECT_EQ(catalog_->Current()->ServiceIndex("web"), flushed);
  // A later output-only change starts a new deferral.
  Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "d"});
  EXPECT_EQ(catalog_->Current()->ServiceIndex("web"), flushed);
  Elapse(7min + 31s);
  EXPECT_GT(catalog_->Current()->ServiceIndex("web"), flushed);
}

TEST_F(CatalogTest, StatusChangePublishesAPendingOutputAtOnce) {
  PassThenChangeOutput();
  const uint64_t warning = Write(UpdateTtl{"service:web-1", HealthStatus::kWarning, "c"});
  EXPECT_EQ(catalog_->Current()->ServiceIndex("web"), warning);
  Elapse(8min);  // the deferral was dropped: it would publish nothing new
  EXPECT_EQ(catalog_->Current()->ServiceIndex("web"), warning);
  EXPECT_EQ(catalog_->Current()->index, warning);
}

TEST_F(CatalogTest, DeferredOutputOfARemovedCheckPublishesNothing) {
  PassThenChangeOutput();
  const uint64_t removed = Write(DeregisterService{"web-1"});
  Elapse(8min);
  EXPECT_EQ(catalog_->Current()->index, removed);
  // Registered again, the check starts without the old deferral.
  Write(LongTtlWeb());
  const uint64_t back = catalog_->Current()->index;
  Elapse(8min);
  EXPECT_EQ(catalog_->Current()->index, back);
}

TEST_F(CatalogTest, TtlExpiresToCritical) {
  Write(Web("web-1"));
  Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "ok"});
  Elapse(11s);
  EXPECT_EQ(Health("web"), "web-1[service:web-1=critical;serfHealth=passing;]");
  const Instance& inst = *catalog_->Current()->FindService("web")->instances[0];
  EXPECT_EQ(inst.checks[0]->output, "TTL expired (last output before timeout follows): ok");
}

TEST_F(CatalogTest, ReapsServiceCriticalTooLong) {
  RegisterService r = Web("web-1");
  r.checks[0].definition.deregister_critical_service_after = 2s;
  Write(r);
  Elapse(1s);
  EXPECT_NE(Health("web"), "");
  Elapse(2s);
  EXPECT_EQ(Health("web"), "");
}

TEST_F(CatalogTest, MaintenanceAddsCriticalCheck) {
  Write(Web("web-1"));
  Write(SetMaintenance{"web-1", true, "upgrade"});
  EXPECT_EQ(Health("web"),
            "web-1[_service_maintenance:web-1=critical;service:web-1=critical;serfHealth=passing;]");
  Write(SetMaintenance{"web-1", false, ""});
  EXPECT_EQ(Health("web"), "web-1[service:web-1=critical;serfHealth=passing;]");
  Write(SetMaintenance{"", true, ""});
  EXPECT_EQ(Health("web"),
            "web-1[service:web-1=critical;_node_maintenance=critical;serfHealth=passing;]");
}

TEST_F(CatalogTest, DeregisterMovesServiceIndex) {
  uint64_t reg = Write(Web("web-1"));
  uint64_t dereg = Write(DeregisterService{"web-1"});
  EXPECT_GT(dereg, reg);
  EXPECT_EQ(Health("web"), "");
  EXPECT_EQ(catalog_->Current()->ServiceIndex("web"), dereg);
  auto missing = catalog_->SubmitAndWait(DeregisterService{"web-1"});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(CatalogTest, InvalidInputRejectedBeforeQueue) {
  RegisterService r;
  auto s = catalog_->SubmitAndWait(r);
  EXPECT_EQ(s.status().message(), "Missing service name");
  r.service.name = "x";
  r.service.port = 70000;
  EXPECT_EQ(catalog_->SubmitAndWait(r).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CatalogTest, ReplaceExistingChecks) {
  RegisterService r = Web("web-1");
  CheckSpec second;
  second.definition.type = CheckType::kTtl;
  second.definition.ttl = 5s;
  r.checks.push_back(second);
  Write(r);
  EXPECT_EQ(Health("web"),
            "web-1[service:web-1:1=critical;service:web-1:2=critical;serfHealth=passing;]");
  RegisterService one = Web("web-1");
  one.checks[0].id = "service:web-1:1";
  Write(one);
  EXPECT_EQ(Health("web"),
            "web-1[service:web-1:1=critical;service:web-1:2=critical;serfHealth=passing;]");
  one.replace_existing_checks = true;
  Write(one);
  EXPECT_EQ(Health("web"), "web-1[service:web-1:1=critical;serfHealth=passing;]");
}

TEST_F(CatalogTest, SurvivesReopenWithStatuses) {
  Write(Web("web-1", {"a"}));
  Write(Web("web-2"));
  uint64_t idx = Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "ok"});
  Reopen();
  EXPECT_EQ(Health("web"),
            "web-1[service:web-1=passing;serfHealth=passing;]web-2[service:web-2=critical;serfHealth=passing;]");
  EXPECT_GE(catalog_->Current()->index, idx);
  uint64_t next = Write(DeregisterService{"web-2"});
  EXPECT_GT(next, idx);
}

TEST_F(CatalogTest, FailedCommitChangesNothing) {
  Write(Web("web-1"));
  std::string before = Health("web");
  store_.FailCommitsForTest(Unavailable("disk gone"));
  auto r = catalog_->SubmitAndWait(Web("web-2"));
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Health("web"), before);
  store_.FailCommitsForTest(Status());
  Write(Web("web-2"));
  EXPECT_NE(Health("web"), before);
}

TEST_F(CatalogTest, ListenerSeesChangedKeysOnly) {
  Write(Web("web-1"));
  std::vector<std::string> keys;
  std::mutex mu;
  catalog_->AddListener([&](const SnapshotPtr&, const ChangeSet& c) {
    std::lock_guard<std::mutex> lock(mu);
    keys.insert(keys.end(), c.keys.begin(), c.keys.end());
  });
  Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, ""});
  std::lock_guard<std::mutex> lock(mu);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"T:checks", "n:node1", "s:web"}));
}

// Listeners see a batch before its acknowledgements (a client's next read must see its write);
// wake listeners after them (waking thousands of watchers must not delay the acknowledgements).
TEST_F(CatalogTest, WakeListenersRunAfterTheAcknowledgements) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> order;
  auto record = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(std::move(what));
    cv.notify_all();
  };
  catalog_->AddListener([&](const SnapshotPtr&, const ChangeSet&) { record("listener"); });
  catalog_->AddWakeListener([&](const SnapshotPtr& s, const ChangeSet& c) {
    record("wake " + std::to_string(s->index == c.index));
  });
  catalog_->Submit(Web("web-1"), [&](const Status& s, uint64_t) { record("ack " + s.ToString()); });
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return order.size() >= 3; }));
  EXPECT_EQ(order, (std::vector<std::string>{"listener", "ack OK", "wake 1"}));
}

// CatalogOptions::notify_scope wraps what follows each commit, on the writer thread: the
// listeners in one call, then the write's completion and the wake listeners in the next (so the
// posts listeners make are all out before any acknowledgement's).
TEST_F(CatalogTest, NotifyScopeWrapsListenersCompletionsAndWakeListeners) {
  // Shared with the writer thread's callbacks, which may run until the catalog is gone.
  struct Seen {
    std::mutex mu;
    std::condition_variable cv;
    int scopes = 0;
    bool in_scope = false;
    std::vector<std::string> what;  // what ran, and in which scope
  };
  auto seen = std::make_shared<Seen>();
  auto record = [seen](const std::string& what) {
    std::lock_guard<std::mutex> lock(seen->mu);
    seen->what.push_back(what +
                         (seen->in_scope ? " in scope " + std::to_string(seen->scopes) : " outside"));
    seen->cv.notify_all();
  };
  catalog_.reset();
  CatalogOptions options;
  options.node_name = "node1";
  options.reap_interval = 1h;
  options.notify_scope = [seen](const std::function<void()>& work) {
    {
      std::lock_guard<std::mutex> lock(seen->mu);
      ++seen->scopes;
      seen->in_scope = true;
    }
    work();
    std::lock_guard<std::mutex> lock(seen->mu);
    seen->in_scope = false;
  };
  auto c = Catalog::Open(options, &store_, &clock_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  catalog_ = std::move(*c);
  catalog_->AddListener([record](const SnapshotPtr&, const ChangeSet&) { record("listener"); });
  catalog_->AddWakeListener([record](const SnapshotPtr&, const ChangeSet&) { record("wake"); });
  int before = 0;
  {
    std::lock_guard<std::mutex> lock(seen->mu);
    before = seen->scopes;
  }
  catalog_->Submit(Web("web-1"), [record](const Status&, uint64_t) { record("ack"); });
  std::vector<std::string> got;
  {
    std::unique_lock<std::mutex> lock(seen->mu);
    seen->cv.wait_for(lock, 5s, [&] { return seen->what.size() >= 3; });
    got = seen->what;
  }
  const std::string first = std::to_string(before + 1);
  const std::string second = std::to_string(before + 2);
  EXPECT_EQ(got, (std::vector<std::string>{"listener in scope " + first, "ack in scope " + second,
                                           "wake in scope " + second}));
}

TEST_F(CatalogTest, CheckResultWritesStatusChangesAndThrottlesOutput) {
  RegisterService r = Web("web-1");
  r.checks[0].definition = CheckDefinition{};
  r.checks[0].definition.type = CheckType::kHttp;
  r.checks[0].definition.http = "http://127.0.0.1:1/";
  r.checks[0].definition.interval = 1s;
  Write(r);
  uint64_t passing = Write(CheckResult{"service:web-1", HealthStatus::kPassing, "200 OK"});
  EXPECT_EQ(Health("web"), "web-1[service:web-1=passing;serfHealth=passing;]");
  int64_t commits = store_.CommitCountForTest();
  // Output-only change inside the interval: neither stored nor indexed.
  EXPECT_EQ(Write(CheckResult{"service:web-1", HealthStatus::kPassing, "200 OK again"}), passing);
  EXPECT_EQ(store_.CommitCountForTest(), commits);
  clock_.Advance(6min);
  uint64_t later = Write(CheckResult{"service:web-1", HealthStatus::kPassing, "200 OK again"});
  EXPECT_GT(later, passing);
  auto ttl = catalog_->SubmitAndWait(CheckResult{"serfHealth", HealthStatus::kPassing, ""});
  EXPECT_TRUE(ttl.ok());
  auto missing = catalog_->SubmitAndWait(CheckResult{"nope", HealthStatus::kPassing, ""});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

// Groups are rebuilt incrementally (only touched instances); the result must equal a rebuild
// from scratch: same members, same (node, ID) order, fresh checks.
TEST_F(CatalogTest, IncrementalGroupRebuildKeepsOrderAndContent) {
  for (std::string id : {"w5", "w1", "w3"}) Write(Web(id));
  for (std::string node : {"Zeta", "alpha"}) {
    CatalogRegister r;
    r.node.name = node;
    r.node.address = "10.0.0.1";
    Service s;
    s.name = "web";
    s.id = "x-" + node;
    r.service = s;
    Write(r);
  }
  Write(Web("w2"));
  Write(DeregisterService{"w3"});
  Write(UpdateTtl{"w5", HealthStatus::kPassing, ""});
  EXPECT_EQ(Health("web"),
            "x-alpha[]w1[service:w1=critical;serfHealth=passing;]"
            "w2[service:w2=critical;serfHealth=passing;]"
            "w5[service:w5=passing;serfHealth=passing;]x-Zeta[]");
  Write(SetMaintenance{"", true, ""});  // a node check touches every instance on the node
  EXPECT_EQ(Health("web"),
            "x-alpha[]w1[service:w1=critical;_node_maintenance=critical;serfHealth=passing;]"
            "w2[service:w2=critical;_node_maintenance=critical;serfHealth=passing;]"
            "w5[service:w5=passing;_node_maintenance=critical;serfHealth=passing;]x-Zeta[]");
  std::string incremental = Health("web");
  Reopen();  // full rebuild from the store
  EXPECT_EQ(Health("web"), incremental);
}

TEST_F(CatalogTest, CatalogRegisterExternalNode) {
  CatalogRegister r;
  r.node.name = "ext";
  r.node.address = "10.1.1.1";
  Service s;
  s.name = "db";
  s.id = "db1";
  r.service = s;
  CheckSpec c;
  c.id = "db-check";
  c.name = "db check";
  c.service_id = "db1";
  c.status = HealthStatus::kPassing;
  r.checks.push_back(c);
  Write(r);
  EXPECT_EQ(Health("db"), "db1[db-check=passing;]");
  Write(CatalogDeregister{"ext", "", ""});
  EXPECT_EQ(Health("db"), "");
  EXPECT_EQ(catalog_->Current()->FindNode("ext"), nullptr);
}

TEST_F(CatalogTest, RenamedServiceMovesToItsNewGroup) {
  Write(Web("web-1"));
  Write(Web("web-2"));
  RegisterService renamed = Web("web-1");
  renamed.service.name = "API";
  uint64_t idx = Write(renamed);
  EXPECT_EQ(Health("web"), "web-2[service:web-2=critical;serfHealth=passing;]");
  EXPECT_EQ(Health("api"), "web-1[service:web-1=critical;serfHealth=passing;]");
  EXPECT_EQ(catalog_->Current()->ServiceIndex("web"), idx);  // the old group saw a removal
  Reopen();
  EXPECT_EQ(Health("web"), "web-2[service:web-2=critical;serfHealth=passing;]");
  EXPECT_EQ(Health("api"), "web-1[service:web-1=critical;serfHealth=passing;]");
}

TEST_F(CatalogTest, TtlTimerFollowsTheCurrentCheck) {
  Write(Web("web-1"));
  Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "ok"});
  clock_.Advance(6s);
  // Each of these replaces the check record: a heartbeat, then new tags (which rewrites the
  // check's ServiceTags and keeps its deadline).
  Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "ok"});
  Write(Web("web-1", {"v2"}));
  Elapse(6s);  // past the first deadline, not the second
  EXPECT_EQ(Health("web"), "web-1[service:web-1=passing;serfHealth=passing;]");
  Elapse(5s);
  EXPECT_EQ(Health("web"), "web-1[service:web-1=critical;serfHealth=passing;]");
}

TEST_F(CatalogTest, TtlTimerOfARemovedCheckNeverFires) {
  Write(Web("web-1"));
  Write(Web("web-2"));
  Write(DeregisterService{"web-1"});
  RegisterCheck check;
  check.check.id = "node-ttl";
  check.check.name = "node ttl";
  check.check.definition.type = CheckType::kTtl;
  check.check.definition.ttl = 10s;
  Write(check);
  Write(DeregisterCheck{"node-ttl"});
  Elapse(11s);
  EXPECT_EQ(Health("web"), "web-2[service:web-2=critical;serfHealth=passing;]");
  EXPECT_EQ(catalog_->Current()->FindNode("node1")->node_checks.size(), 1u);
}

TEST_F(CatalogTest, FailedCommitKeepsTheTimers) {
  Write(Web("web-1"));
  Write(UpdateTtl{"service:web-1", HealthStatus::kPassing, "ok"});
  store_.FailCommitsForTest(Unavailable("disk gone"));
  auto r = catalog_->SubmitAndWait(UpdateTtl{"service:web-1", HealthStatus::kPassing, "later"});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  store_.FailCommitsForTest(Status());
  Elapse(11s);
  EXPECT_EQ(Health("web"), "web-1[service:web-1=critical;serfHealth=passing;]");
}

}  // namespace
}  // namespace beacon::catalog
