// Shared by the health unit tests: a real Catalog on the memory store for node "Node1", and a
// CheckRunner on a two-loop IoPool whose sessions start at once (no stagger) and count their
// attempts in metrics_ (`health.checks_run`).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "catalog/catalog.h"
#include "common/metrics.h"
#include "health/check_runner.h"
#include "net/io_pool.h"
#include "store/memory/memory_store.h"

namespace beacon::health {

// A catalog for node "Node1" on `store`, its reaper out of the tests' way.
inline Result<std::unique_ptr<catalog::Catalog>> OpenTestCatalog(store::MemoryStore& store) {
  catalog::CatalogOptions options;
  options.node_name = "Node1";
  options.reap_interval = std::chrono::hours(1);
  return catalog::Catalog::Open(options, &store);
}

class RecordingSink final : public ResultSink {
 public:
  void Submit(catalog::CheckResult result) override {
    std::lock_guard<std::mutex> lock(mu_);
    results_.push_back(std::move(result));
  }

 private:
  std::mutex mu_;
  std::vector<catalog::CheckResult> results_;
};

// No stagger: every check's first attempt runs at once.
class ZeroRandom final : public Random {
 public:
  uint64_t Uniform(uint64_t) override { return 0; }
};

class CheckRunnerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = OpenTestCatalog(store_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(*c);
    pool_ = std::make_unique<net::IoPool>(2);
    CheckRunnerOptions runner_options;
    runner_options.min_interval = std::chrono::milliseconds(20);
    runner_options.metrics = &metrics_;
    auto r = CheckRunner::Create(*pool_, sink_, runner_options, &random_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    runner_ = std::move(*r);
    pool_->Start();
  }
  void TearDown() override {
    if (runner_) runner_->Stop();
    pool_->Stop();
    runner_.reset();
    pool_.reset();
    catalog_->Stop();
  }

  // Attempts counted with this type ("http", "tcp", "grpc") and result.
  uint64_t Runs(const std::string& type, const std::string& result) {
    return metrics_.GetCounter("health.checks_run", {{"type", type}, {"result", result}})
        ->value();
  }

  store::MemoryStore store_;
  std::unique_ptr<catalog::Catalog> catalog_;
  MetricsRegistry metrics_;  // outlives the runner
  RecordingSink sink_;
  ZeroRandom random_;
  std::unique_ptr<net::IoPool> pool_;
  std::unique_ptr<CheckRunner> runner_;
};

}  // namespace beacon::health
