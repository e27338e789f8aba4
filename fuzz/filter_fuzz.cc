// The filter= expression parser, and evaluation of whatever parses against a fixed instance.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "catalog/snapshot.h"
#include "wire/filter.h"

namespace {
const beacon::catalog::Instance& Sample() {
  static const beacon::catalog::Instance inst = [] {
    beacon::catalog::Instance i;
    auto node = std::make_shared<beacon::catalog::Node>();
    node->name = "n1";
    node->meta = {{"rack", "r1"}};
    auto svc = std::make_shared<beacon::catalog::Service>();
    svc->id = "web-1";
    svc->name = "web";
    svc->tags = {"v1", "primary"};
    svc->meta = {{"env", "prod"}};
    svc->port = 8080;
    auto check = std::make_shared<beacon::catalog::Check>();
    check->id = "c1";
    check->status = beacon::catalog::HealthStatus::kPassing;
    i.node = node;
    i.service = svc;
    i.checks = {check};
    return i;
  }();
  return inst;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view expr(reinterpret_cast<const char*>(data), size);
  using beacon::wire::FilterTarget;
  for (FilterTarget t : {FilterTarget::kHealthService, FilterTarget::kCatalogService,
                         FilterTarget::kNode, FilterTarget::kAgentService, FilterTarget::kCheck}) {
    auto f = beacon::wire::Filter::Parse(expr, t);
    if (!f.ok()) continue;
    const auto& inst = Sample();
    switch (t) {
      case FilterTarget::kHealthService:
      case FilterTarget::kCatalogService: (void)f->Matches(inst); break;
      case FilterTarget::kNode: (void)f->Matches(*inst.node); break;
      case FilterTarget::kAgentService: (void)f->Matches(*inst.service); break;
      case FilterTarget::kCheck: (void)f->Matches(*inst.checks[0]); break;
    }
  }
  return 0;
}
