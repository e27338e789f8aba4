// Group commit across clients (CatalogOptions::commit_hold): a small batch of several clients'
// writes waits for the other active clients; a client alone, writes of no client and a zero hold
// never wait; a held batch ends at its deadline or when the agent stops, and is committed.
#include <future>
#include <memory>

#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "common/metrics.h"
#include "store/memory/memory_store.h"

namespace beacon::catalog {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kClientA = 101;
constexpr uint64_t kClientB = 202;
constexpr uint64_t kClientC = 303;
// Long enough that nothing here ends a hold by its deadline unless a test asks for that.
constexpr auto kForever = std::chrono::hours(1);
// How long a test waits for a write that must complete (a held one that must not, for less).
constexpr auto kPatience = std::chrono::seconds(20);
constexpr auto kStillHeld = std::chrono::milliseconds(100);

class CommitHoldTest : public ::testing::Test {
 protected:
  void Open(Nanos hold) {
    CatalogOptions options;
    options.node_name = "node1";
    options.reap_interval = 1h;
    options.commit_hold = hold;
    options.metrics = &metrics_;
    auto c = Catalog::Open(options, &store_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(*c);
  }

  static RegisterService Web(std::string id) {
    RegisterService r;
    r.service.name = "web";
    r.service.id = std::move(id);
    r.service.port = 8080;
    return r;
  }

  // Submits a write from `source`; the future holds the completion's status.
  std::future<Status> Submit(WriteRequest request, uint64_t source) {
    auto done = std::make_shared<std::promise<Status>>();
    std::future<Status> f = done->get_future();
    catalog_->Submit(
        std::move(request), [done](const Status& s, uint64_t) { done->set_value(s); }, source);
    return f;
  }

  // Submits and waits (bounded); fails the test if the write did not complete in time.
  void WriteAndWait(WriteRequest request, uint64_t source) {
    std::future<Status> f = Submit(std::move(request), source);
    ASSERT_EQ(f.wait_for(kPatience), std::future_status::ready) << "write held";
    EXPECT_TRUE(f.get().ok());
  }

  Histogram::Snapshot Batches() {
    return metrics_
        .GetHistogram("store.batch_size", {}, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024})
        ->Read();
  }

  bool Registered(std::string_view id) {
    const ServiceGroup* g = catalog_->Current()->FindService("web");
    if (g == nullptr) return false;
    for (const auto& inst : g->instances) {
      if (inst->service->id == id) return true;
    }
    return false;
  }

  MetricsRegistry metrics_;
  store::MemoryStore store_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(CommitHoldTest, AWriteWaitsForTheOtherActiveClientAndSharesItsCommit) {
  Open(kForever);
  WriteAndWait(Web("a-1"), kClientA);  // A alone: committed at once
  const Histogram::Snapshot before = Batches();

  // B's write comes while A is active: it waits for A's next write...
  std::future<Status> b = Submit(Web("b-1"), kClientB);
  EXPECT_EQ(b.wait_for(kStillHeld), std::future_status::timeout);
  EXPECT_FALSE(Registered("b-1"));

  // ... and both go in one commit.
  std::future<Status> a = Submit(Web("a-2"), kClientA);
  ASSERT_EQ(b.wait_for(kPatience), std::future_status::ready);
  ASSERT_EQ(a.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(b.get().ok());
  EXPECT_TRUE(a.get().ok());
  EXPECT_TRUE(Registered("b-1"));
  EXPECT_TRUE(Registered("a-2"));
  const Histogram::Snapshot after = Batches();
  EXPECT_EQ(after.count - before.count, 1u);
  EXPECT_EQ(after.sum - before.sum, 2.0);
}

TEST_F(CommitHoldTest, AClientWritingAloneIsNeverHeld) {
  Open(kForever);
  for (int i = 0; i < 20; ++i) {
    WriteAndWait(Web("a-" + std::to_string(i)), kClientA);
  }
  EXPECT_EQ(Batches().sum, 20.0);
}

TEST_F(CommitHoldTest, WritesOfNoClientAreNeverHeld) {
  Open(kForever);
  // Three active clients, so the held batch waits for two more writes and the one below alone
  // does not complete it.
  WriteAndWait(Web("a-1"), kClientA);
  std::future<Status> c = Submit(Web("c-1"), kClientC);  // held for A
  WriteAndWait(Web("a-2"), kClientA);
  ASSERT_EQ(c.wait_for(kPatience), std::future_status::ready);
  std::future<Status> b = Submit(Web("b-1"), kClientB);  // held: A and C are active
  ASSERT_EQ(b.wait_for(kStillHeld), std::future_status::timeout);
  // A timer's or a check's write (source 0) does not wait, and takes the held one along.
  WriteAndWait(Web("internal-1"), 0);
  ASSERT_EQ(b.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(b.get().ok());
  EXPECT_TRUE(Registered("b-1"));
}

TEST_F(CommitHoldTest, AHeldWriteIsCommittedAtItsDeadline) {
  Open(200ms);
  WriteAndWait(Web("a-1"), kClientA);
  std::future<Status> b = Submit(Web("b-1"), kClientB);  // nobody else writes
  ASSERT_EQ(b.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(b.get().ok());
  EXPECT_TRUE(Registered("b-1"));
}

TEST_F(CommitHoldTest, StoppingCommitsAHeldWrite) {
  Open(kForever);
  WriteAndWait(Web("a-1"), kClientA);
  std::future<Status> b = Submit(Web("b-1"), kClientB);
  ASSERT_EQ(b.wait_for(kStillHeld), std::future_status::timeout);
  catalog_->Stop();
  ASSERT_EQ(b.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(b.get().ok());  // acknowledged, hence durable: the reopened catalog has it
  catalog_.reset();
  Open(kForever);
  EXPECT_TRUE(Registered("b-1"));
}

TEST_F(CommitHoldTest, AZeroHoldNeverHolds) {
  Open(Nanos(0));
  WriteAndWait(Web("a-1"), kClientA);
  WriteAndWait(Web("b-1"), kClientB);
  WriteAndWait(Web("a-2"), kClientA);
  EXPECT_EQ(Batches().count, 3u);
}

}  // namespace
}  // namespace beacon::catalog
