// CheckTracker: which sessions to start, restart and stop as the catalog changes, driven by a
// real Catalog on the memory store and the ChangeSets it publishes.
#include "health/check_tracker.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "store/memory/memory_store.h"
#include "unit/health/runner_fixture.h"

namespace beacon::health {
namespace {

using namespace std::chrono_literals;
using catalog::CheckSpec;
using catalog::CheckType;

class CheckTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = OpenTestCatalog(store_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(*c);
    catalog_->AddListener([this](const catalog::SnapshotPtr& s, const catalog::ChangeSet& c) {
      std::lock_guard<std::mutex> lock(mu_);
      published_.push_back({s, c});
    });
  }

  static CheckSpec Http(std::string id, std::string url = "http://127.0.0.1:1/",
                        std::chrono::nanoseconds interval = 10s) {
    CheckSpec s;
    s.id = std::move(id);
    s.definition.type = CheckType::kHttp;
    s.definition.http = std::move(url);
    s.definition.interval = interval;
    return s;
  }
  static CheckSpec Ttl(std::string id) {
    CheckSpec s;
    s.id = std::move(id);
    s.definition.type = CheckType::kTtl;
    s.definition.ttl = 30s;
    return s;
  }
  void Register(std::string id, std::vector<CheckSpec> checks, std::string name = "web") {
    catalog::RegisterService r;
    r.service.name = std::move(name);
    r.service.id = std::move(id);
    r.checks = std::move(checks);
    ASSERT_TRUE(catalog_->SubmitAndWait(std::move(r)).ok());
  }
  void Write(catalog::WriteRequest r) {
    auto idx = catalog_->SubmitAndWait(std::move(r));
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  }

  // Feeds every snapshot published since the last call; renders the actions.
  std::string Drain(bool skip_all_but_last = false) {
    std::vector<std::pair<catalog::SnapshotPtr, catalog::ChangeSet>> batch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(published_);
    }
    std::string out;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (skip_all_but_last && i + 1 < batch.size()) {
        continue;
      }
      for (const TrackerAction& a : tracker_.Observe(*batch[i].first, &batch[i].second)) {
        static const char* kNames[] = {"start", "restart", "stop", "state"};
        if (!out.empty()) {
          out += ' ';
        }
        out += std::string(kNames[static_cast<int>(a.kind)]) + ":" + a.check_id;
      }
    }
    return out;
  }

  store::MemoryStore store_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::mutex mu_;
  std::vector<std::pair<catalog::SnapshotPtr, catalog::ChangeSet>> published_;
  CheckTracker tracker_;
};

TEST_F(CheckTrackerTest, FirstScanIsFull) {
  Register("web-1", {Http("h1"), Ttl("t1")});
  {
    std::lock_guard<std::mutex> lock(mu_);
    published_.clear();
  }
  auto actions = tracker_.Observe(*catalog_->Current(), nullptr);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, TrackerAction::Kind::kStart);
  EXPECT_EQ(actions[0].check_id, "h1");
  EXPECT_EQ(tracker_.DebugString(), "h1:s:web");
  // An older snapshot is ignored.
  EXPECT_TRUE(tracker_.Observe(*catalog_->Current(), nullptr).empty());
}

TEST_F(CheckTrackerTest, StartStateRestartStop) {
  tracker_.Observe(*catalog_->Current(), nullptr);
  Register("web-1", {Http("h1")});
  EXPECT_EQ(Drain(), "start:h1");

  Write(catalog::CheckResult{"h1", catalog::HealthStatus::kPassing, "ok"});
  EXPECT_EQ(Drain(), "state:h1");

  // Re-registering the same definition keeps the session.
  Register("web-1", {Http("h1")});
  EXPECT_EQ(Drain(), "");

  Register("web-1", {Http("h1", "http://127.0.0.1:2/")});
  EXPECT_EQ(Drain(), "restart:h1");

  Write(catalog::DeregisterService{"web-1"});
  EXPECT_EQ(Drain(), "stop:h1");
  EXPECT_EQ(tracker_.size(), 0u);
}

TEST_F(CheckTrackerTest, TtlAndCatalogChecksAreNotRun) {
  tracker_.Observe(*catalog_->Current(), nullptr);
  Register("web-1", {Ttl("t1")});
  catalog::CatalogRegister other;
  other.node.name = "node2";
  other.node.address = "10.0.0.2";
  catalog::Service svc;
  svc.name = "web";
  svc.id = "web-2";
  other.service = svc;
  CheckSpec remote = Http("remote");
  remote.service_id = "web-2";
  other.checks.push_back(remote);
  Write(std::move(other));
  EXPECT_EQ(Drain(), "");
}

TEST_F(CheckTrackerTest, BecomingTtlStopsTheSession) {
  tracker_.Observe(*catalog_->Current(), nullptr);
  Register("web-1", {Http("c1")});
  EXPECT_EQ(Drain(), "start:c1");
  Register("web-1", {Ttl("c1")});
  EXPECT_EQ(Drain(), "stop:c1");
}

TEST_F(CheckTrackerTest, NodeChecksAndServiceMoves) {
  tracker_.Observe(*catalog_->Current(), nullptr);
  catalog::RegisterCheck node_check;
  node_check.check = Http("node-http");
  node_check.check.name = "node http";
  Write(node_check);
  EXPECT_EQ(Drain(), "start:node-http");
  EXPECT_EQ(tracker_.DebugString(), "node-http:n:node1");

  // Other services changing do not disturb running checks.
  Register("api-1", {Http("a1")}, "api");
  Register("web-1", {Http("w1")}, "web");
  EXPECT_EQ(Drain(), "start:a1 start:w1");

  // Renaming the service moves its check to another scope without a restart.
  Register("web-1", {Http("w1")}, "www");
  EXPECT_EQ(Drain(), "state:w1");
  EXPECT_EQ(tracker_.DebugString(), "a1:s:api node-http:n:node1 w1:s:www");

  Write(catalog::DeregisterCheck{"node-http"});
  EXPECT_EQ(Drain(), "stop:node-http");
}

TEST_F(CheckTrackerTest, GapForcesFullScan) {
  tracker_.Observe(*catalog_->Current(), nullptr);
  Register("web-1", {Http("h1")});
  Register("web-2", {Http("h2")});
  EXPECT_EQ(Drain(), "start:h1 start:h2");
  Write(catalog::DeregisterService{"web-1"});
  Register("api-1", {Http("a1")}, "api");
  // Only the last snapshot is fed: a generation gap, so the tracker rescans everything and still
  // sees that h1 is gone.
  EXPECT_EQ(Drain(/*skip_all_but_last=*/true), "stop:h1 start:a1");
  EXPECT_EQ(tracker_.DebugString(), "a1:s:api h2:s:web");
}

}  // namespace
}  // namespace beacon::health
