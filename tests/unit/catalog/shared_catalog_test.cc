// Cluster mode of the catalog (issue #9) against an in-process shared store that behaves like
// the etcd store: one revision per commit, a conflict check on the index key, and a change feed
// per subscriber. The etcd store itself is tested against real etcd in tests/unit/etcd and the
// whole cluster in tests/e2e/cluster_test.py.
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "catalog/catalog.h"
#include "testutil/eventually.h"

namespace beacon::catalog {
namespace {

using namespace std::chrono_literals;
using testutil::Eventually;

// The shared state: what etcd holds, with its history.
class Backend {
 public:
  struct Entry {
    std::string value;
    int64_t mod_revision = 0;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Entry> kv;
  std::vector<store::Change> history;  // every change, in revision order
  int64_t revision = 0;
  int64_t compacted = 0;  // changes at or below this revision are gone from `history`
  int conflicts = 0;
};

class FakeSharedStore : public store::SharedStore {
 public:
  explicit FakeSharedStore(Backend* b) : b_(b) {}
  ~FakeSharedStore() override { Unsubscribe(); }
  void Unsubscribe() override {
    {
      std::lock_guard<std::mutex> lock(b_->mu);
      stop_ = true;
    }
    b_->cv.notify_all();
    if (feed_.joinable()) feed_.join();
  }

  Result<std::vector<store::KeyValue>> Range(const std::string& prefix) override {
    std::lock_guard<std::mutex> lock(b_->mu);
    std::vector<store::KeyValue> out;
    for (const auto& [k, e] : b_->kv) {
      if (k.compare(0, prefix.size(), prefix) == 0) out.push_back({k, e.value, e.mod_revision});
    }
    range_revision_ = b_->revision;
    return out;
  }

  Result<int64_t> Commit(const store::WriteBatch& batch) override {
    std::lock_guard<std::mutex> lock(b_->mu);
    auto idx = b_->kv.find("m/index");
    int64_t index_rev = idx == b_->kv.end() ? 0 : idx->second.mod_revision;
    if (index_rev > view_) {
      conflict_revision_ = index_rev;
      b_->conflicts++;
      return Aborted("conflict");
    }
    int64_t rev = ++b_->revision;
    std::map<std::string, std::optional<std::string>> last;
    for (const auto& op : batch.ops) last[op.key] = op.value;
    for (const auto& [k, v] : last) {
      if (v) {
        b_->kv[k] = {*v, rev};
      } else {
        b_->kv.erase(k);
      }
      b_->history.push_back({k, v, rev});
    }
    b_->cv.notify_all();
    return rev;
  }

  int64_t Revision() const override { return 0; }
  const char* Name() const override { return "fake-shared"; }

  Status Subscribe(std::function<void(store::ChangeBatch)> deliver) override {
    int64_t from = range_revision_ + 1;
    feed_ = std::thread([this, from, deliver]() mutable {
      std::unique_lock<std::mutex> lock(b_->mu);
      for (;;) {
        b_->cv.wait(lock, [&] { return stop_ || b_->revision >= from; });
        if (stop_) return;
        store::ChangeBatch batch;
        if (from <= b_->compacted) {
          batch.reset = true;
          for (const auto& [k, e] : b_->kv) batch.changes.push_back({k, e.value, e.mod_revision});
        } else {
          for (const auto& c : b_->history) {
            if (c.revision >= from) batch.changes.push_back(c);
          }
        }
        batch.revision = b_->revision;
        from = b_->revision + 1;
        lock.unlock();
        deliver(std::move(batch));
        lock.lock();
      }
    });
    return Status();
  }
  void SetViewRevision(int64_t revision) override {
    std::lock_guard<std::mutex> lock(b_->mu);
    view_ = std::max(view_, revision);
  }
  int64_t ConflictRevision() const override { return conflict_revision_; }
  int64_t RangeRevision() const override { return range_revision_; }

 private:
  Backend* b_;
  std::thread feed_;
  bool stop_ = false;           // guarded by b_->mu
  int64_t view_ = 0;            // guarded by b_->mu
  int64_t range_revision_ = 0;  // writer thread / Open
  int64_t conflict_revision_ = 0;
};

struct Member {
  std::unique_ptr<FakeSharedStore> store;
  std::unique_ptr<Catalog> catalog;
};

class SharedCatalogTest : public ::testing::Test {
 protected:
  Member Open(const std::string& node) {
    Member m;
    m.store = std::make_unique<FakeSharedStore>(&backend_);
    CatalogOptions options;
    options.node_name = node;
    options.reap_interval = 1h;  // tests run timers by hand
    options.min_deregister_after = 1s;
    auto c = Catalog::Open(options, m.store.get(), &clock_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) m.catalog = std::move(*c);
    return m;
  }

  static RegisterService Svc(std::string name, std::string id, Nanos ttl = 0s) {
    RegisterService r;
    r.service.name = std::move(name);
    r.service.id = std::move(id);
    r.service.port = 8080;
    if (ttl.count() > 0) {
      CheckSpec c;
      c.definition.type = CheckType::kTtl;
      c.definition.ttl = ttl;
      c.definition.deregister_critical_service_after = 1s;
      c.status = HealthStatus::kPassing;
      r.checks.push_back(c);
    }
    return r;
  }

  static size_t Count(const Catalog& c, std::string_view service) {
    SnapshotPtr snap = c.Current();  // keeps `g` alive: the writer may drop the snapshot meanwhile
    const ServiceGroup* g = snap->FindService(service);
    return g ? g->instances.size() : 0;
  }

  static std::string Status(const Catalog& c, std::string_view node, std::string_view check) {
    SnapshotPtr snap = c.Current();
    for (const auto& ch : snap->ChecksOnNode(node)) {
      if (ch->id == check) return std::string(HealthStatusName(ch->status));
    }
    return "<none>";
  }

  ManualClock clock_;
  Backend backend_;
};

TEST_F(SharedCatalogTest, WriteOnOneAgentIsSeenByTheOther) {
  Member a = Open("a");
  Member b = Open("b");
  ASSERT_TRUE(a.catalog && b.catalog);
  // Each sees the other's node (registered at start).
  ASSERT_TRUE(Eventually([&] { return a.catalog->Current()->FindNode("b") != nullptr; }));
  ASSERT_TRUE(Eventually([&] { return b.catalog->Current()->FindNode("a") != nullptr; }));

  auto idx = a.catalog->SubmitAndWait(Svc("web", "web-a"));
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  ASSERT_TRUE(Eventually([&] { return Count(*b.catalog, "web") == 1; }));
  // The same index on both agents.
  EXPECT_EQ(b.catalog->Current()->ServiceIndex("web"), *idx);
  EXPECT_EQ(a.catalog->Current()->ServiceIndex("web"), *idx);
  EXPECT_EQ(b.catalog->Current()->index, a.catalog->Current()->index);

  ASSERT_TRUE(b.catalog->SubmitAndWait(CatalogDeregister{"a", "web-a", ""}).ok());
  ASSERT_TRUE(Eventually([&] { return Count(*a.catalog, "web") == 0; }));
  EXPECT_GT(a.catalog->Current()->ServiceIndex("web"), *idx);
}

TEST_F(SharedCatalogTest, ConcurrentWritersLoseNothing) {
  Member a = Open("a");
  Member b = Open("b");
  ASSERT_TRUE(a.catalog && b.catalog);
  constexpr int kPerAgent = 200;
  std::atomic<int> failed{0};
  auto writer = [&](Catalog* c, const std::string& prefix) {
    std::mutex m;
    std::condition_variable cv;
    int done = 0;
    for (int i = 0; i < kPerAgent; ++i) {
      c->Submit(Svc("api", prefix + std::to_string(i)), [&](const beacon::Status& s, uint64_t) {
        if (!s.ok()) failed++;
        std::lock_guard<std::mutex> lock(m);
        done++;
        cv.notify_all();
      });
    }
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return done == kPerAgent; });
  };
  std::thread ta(writer, a.catalog.get(), "a-");
  std::thread tb(writer, b.catalog.get(), "b-");
  ta.join();
  tb.join();
  EXPECT_EQ(failed.load(), 0);
  // Both agents registered on their own node; every registration is in both views.
  ASSERT_TRUE(Eventually([&] { return Count(*a.catalog, "api") == 2 * kPerAgent; }));
  ASSERT_TRUE(Eventually([&] { return Count(*b.catalog, "api") == 2 * kPerAgent; }));
  ASSERT_TRUE(Eventually(
      [&] { return a.catalog->Current()->index == b.catalog->Current()->index; }));
  // And in the store.
  std::lock_guard<std::mutex> lock(backend_.mu);
  int stored = 0;
  for (const auto& [k, e] : backend_.kv) stored += k.rfind("s/", 0) == 0 ? 1 : 0;
  EXPECT_EQ(stored, 2 * kPerAgent);
}

TEST_F(SharedCatalogTest, ResetAfterLostHistoryReloads) {
  Member a = Open("a");
  ASSERT_TRUE(a.catalog);
  ASSERT_TRUE(a.catalog->SubmitAndWait(Svc("web", "w1")).ok());
  uint64_t before = a.catalog->Current()->ServiceIndex("web");
  // Another agent writes while history is compacted away before `a` reads it.
  Member b = Open("b");
  {
    std::lock_guard<std::mutex> lock(backend_.mu);
    backend_.compacted = backend_.revision + 1;  // whatever comes next is "lost"
  }
  ASSERT_TRUE(b.catalog->SubmitAndWait(CatalogDeregister{"a", "w1", ""}).ok());
  ASSERT_TRUE(b.catalog->SubmitAndWait(Svc("db", "d1")).ok());
  ASSERT_TRUE(Eventually([&] { return Count(*a.catalog, "db") == 1; }));
  EXPECT_EQ(Count(*a.catalog, "web"), 0u);
  EXPECT_GT(a.catalog->Current()->ServiceIndex("web"), before);
  EXPECT_EQ(a.catalog->Current()->index, b.catalog->Current()->index);
}

TEST_F(SharedCatalogTest, LeaderExpiresAndReapsForDeadAgentsOnly) {
  Member a = Open("a");
  Member b = Open("b");
  ASSERT_TRUE(a.catalog && b.catalog);
  ASSERT_TRUE(b.catalog->SubmitAndWait(Svc("web", "wb", 10s)).ok());
  ASSERT_TRUE(Eventually([&] { return Count(*a.catalog, "web") == 1; }));

  // b dies (its catalog stops; its records stay). a is not the leader yet: nothing happens.
  b.catalog->Stop();
  clock_.Advance(11s);
  a.catalog->RunTimersForTest();
  EXPECT_EQ(Status(*a.catalog, "b", "service:wb"), "passing");

  // a becomes the leader while b is not live: it marks b failed, expires b's TTL check, and
  // reaps the service once it is critical longer than DeregisterCriticalServiceAfter.
  a.catalog->SetClusterRole(true, {"a"});
  ASSERT_TRUE(a.catalog
                  ->SubmitAndWait(SetNodeLiveness{"b", HealthStatus::kCritical,
                                                  "Agent not live or unreachable"})
                  .ok());
  EXPECT_EQ(Status(*a.catalog, "b", "serfHealth"), "critical");
  a.catalog->RunTimersForTest();
  ASSERT_TRUE(Eventually([&] { return Status(*a.catalog, "b", "service:wb") == "critical"; }));
  clock_.Advance(2s);
  a.catalog->RunTimersForTest();
  ASSERT_TRUE(Eventually([&] { return Count(*a.catalog, "web") == 0; }));

  // A node without serfHealth (catalog-registered) is not touched by liveness.
  CatalogRegister ext;
  ext.node.name = "external";
  ext.node.address = "10.0.0.9";
  ASSERT_TRUE(a.catalog->SubmitAndWait(ext).ok());
  ASSERT_TRUE(a.catalog
                  ->SubmitAndWait(SetNodeLiveness{"external", HealthStatus::kCritical, "x"})
                  .ok());
  EXPECT_EQ(Status(*a.catalog, "external", "serfHealth"), "<none>");
}

TEST_F(SharedCatalogTest, RestartedAgentTakesItsNodeBack) {
  Member a = Open("a");
  Member b = Open("b");
  ASSERT_TRUE(a.catalog && b.catalog);
  std::string b_id = b.catalog->Current()->FindNode("b")->node->id;
  b.catalog.reset();
  b.store.reset();
  ASSERT_TRUE(a.catalog
                  ->SubmitAndWait(SetNodeLiveness{"b", HealthStatus::kCritical,
                                                  "Agent not live or unreachable"})
                  .ok());
  Member b2 = Open("b");
  ASSERT_TRUE(b2.catalog);
  EXPECT_EQ(b2.catalog->Current()->FindNode("b")->node->id, b_id);
  ASSERT_TRUE(Eventually([&] { return Status(*a.catalog, "b", "serfHealth") == "passing"; }));
}

}  // namespace
}  // namespace beacon::catalog
