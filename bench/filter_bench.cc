// wire::Filter micro-benchmark: `filter=` parsing, and evaluation over a 100-instance answer.
//
// A health/service read with `filter=` parses the expression once per request and evaluates it
// once per instance, so both costs matter: BM_FilterParse is the per-request part (tokenize,
// parse, compile selectors, compile RE2 regexes), BM_FilterMatches the per-instance part over
// the 100 instances of the W2 read (items/s = instances evaluated per second). The expressions
// cover the operator families: string equality on a map value, list membership, a regex, an
// any-element selector over Checks, and a compound of them.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_instances.h"
#include "wire/filter.h"

namespace beacon::wire {
namespace {

const std::vector<std::string>& Expressions() {
  static const std::vector<std::string> kExpressions = {
      R"(Service.Meta.version == "1.1")",
      R"(v2 in Service.Tags)",
      R"(Service.ID matches "-[0-9]*7$")",
      R"(Checks.Status == passing)",
      R"((Service.Meta.version == "1.1" or Service.Meta.version == "1.2") and )"
      R"(primary in Service.Tags and Service.Port != 20010)",
  };
  return kExpressions;
}

void BM_FilterParse(benchmark::State& state) {
  const std::string& expression = Expressions()[state.range(0)];
  for (auto _ : state) {
    Result<Filter> filter = Filter::Parse(expression, FilterTarget::kHealthService);
    if (!filter.ok()) {
      state.SkipWithError(filter.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(filter);
  }
  state.SetLabel(expression);
}
BENCHMARK(BM_FilterParse)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

void BM_FilterMatches(benchmark::State& state) {
  const std::string& expression = Expressions()[state.range(0)];
  Result<Filter> filter = Filter::Parse(expression, FilterTarget::kHealthService);
  if (!filter.ok()) {
    state.SkipWithError(filter.status().ToString().c_str());
    return;
  }
  const std::vector<catalog::Instance> instances = bench::MakeBenchInstances(100);
  int matched = 0;
  for (auto _ : state) {
    matched = 0;
    for (const catalog::Instance& inst : instances) {
      matched += filter->Matches(inst) ? 1 : 0;
    }
    benchmark::DoNotOptimize(matched);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(instances.size()));
  state.counters["matched"] = matched;
  state.SetLabel(expression);
}
BENCHMARK(BM_FilterMatches)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace beacon::wire
