// wire::EncodeHealthServiceEntries micro-benchmark: the JSON encoding of a health/service answer.
//
// This is the work the W2 read does per request when nothing is cached, so its cost per
// instance bounds the uncached read rate: at 100 instances, 1 / (time per call) is the most
// reads per second one core could encode. Instances are built by hand (bench_instances.h) in the
// shape the load generator registers; bytes/s is the output rate and items/s the instance rate.
// Compact output (the default) and ?pretty output are measured separately.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_instances.h"
#include "wire/encode.h"

namespace beacon::wire {
namespace {

void BM_EncodeHealthServiceEntries(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  const bool pretty = state.range(1) != 0;
  const std::vector<catalog::Instance> instances = bench::MakeBenchInstances(count);
  std::vector<const catalog::Instance*> view;
  view.reserve(instances.size());
  for (const catalog::Instance& inst : instances) {
    view.push_back(&inst);
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = EncodeHealthServiceEntries(view, "dc1", {.pretty = pretty});
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetItemsProcessed(state.iterations() * count);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodeHealthServiceEntries)
    ->ArgNames({"instances", "pretty"})
    ->ArgsProduct({{5, 100}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace beacon::wire
