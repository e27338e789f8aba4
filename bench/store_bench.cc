// SqliteStore micro-benchmarks: the commit path and the cost of Open.
//
// BM_SqliteCommit measures Store::Commit of batches of 1, 16 and 64 small puts (a key like
// "svc/node-17/web-3", a 100-byte value, over a working set of 10k keys, so most puts overwrite)
// with synchronous=FULL (the default: one fdatasync of the commit log per commit) and NORMAL (no
// fsync per commit). With FULL the wall time is dominated by the disk's fsync latency, so compare
// batch sizes: the per-put cost should fall almost linearly with the batch size, which is why the
// catalog's writer groups writes. Wall-clock time (UseRealTime): the fsync wait is not CPU time.
// The CPU column is the committing thread's only: folding the log into SQLite happens on the
// store's own thread, 4 MiB of log at a time, and competes for the machine meanwhile.
//
// BM_SqliteOpen measures Open on an existing database of N keys (no log left to fold).
//
// The database lives in a fresh directory under $TMPDIR (default /tmp); point TMPDIR at the disk
// you want to measure.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite/sqlite_store.h"

namespace beacon::store {
namespace {

constexpr int kWorkingSetKeys = 10000;

// A fresh directory, removed with its contents at scope end.
class BenchDir {
 public:
  BenchDir() {
    const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): single-threaded
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/beacon-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
    }
  }
  ~BenchDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;

  // Empty when the directory could not be created.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Key(int64_t i) {
  const int64_t k = i % kWorkingSetKeys;
  return "svc/node-" + std::to_string(k / 10) + "/web-" + std::to_string(k % 10);
}

void BM_SqliteCommit(benchmark::State& state) {
  const auto puts_per_batch = static_cast<int>(state.range(0));
  BenchDir dir;
  if (dir.path().empty()) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  SqliteOptions options;
  options.synchronous_full = state.range(1) != 0;
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path(), options);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  const std::string value(100, 'v');
  int64_t next_key = 0;
  for (auto _ : state) {
    WriteBatch batch;
    for (int i = 0; i < puts_per_batch; ++i) {
      batch.Put(Key(next_key++), value);
    }
    Result<int64_t> revision = (*store)->Commit(batch);
    if (!revision.ok()) {
      state.SkipWithError(revision.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * puts_per_batch);  // items/s = puts/s
  state.counters["commits/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SqliteCommit)
    ->ArgNames({"puts", "sync_full"})
    ->ArgsProduct({{1, 16, 64}, {1, 0}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_SqliteOpen(benchmark::State& state) {
  const int64_t keys = state.range(0);
  BenchDir dir;
  if (dir.path().empty()) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path());
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    const std::string value(100, 'v');
    for (int64_t done = 0; done < keys;) {
      WriteBatch batch;
      for (int i = 0; i < 1000 && done < keys; ++i, ++done) {
        batch.Put("svc/node-" + std::to_string(done), value);
      }
      if (!(*store)->Commit(batch).ok()) {
        state.SkipWithError("populate failed");
        return;
      }
    }
  }
  for (auto _ : state) {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir.path());
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      break;
    }
    state.PauseTiming();
    store->reset();  // closing checkpoints; not part of Open
    state.ResumeTiming();
  }
}
BENCHMARK(BM_SqliteOpen)->Arg(10000)->Arg(100000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace beacon::store
