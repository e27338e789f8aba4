// balancers: the four load balancers over a hand-made instance set -- no agent needed.
//
// Shows the distribution each policy gives, passive ejection of an instance whose calls fail,
// and a swap to a new set while picks are in flight.
//
//   ./balancers
#include <beacon/beacon.h>

#include <cstdio>
#include <map>
#include <string>

namespace bc = beacon::client;

namespace {

bc::Instance Make(std::string id, int weight, uint16_t port) {
  bc::Instance i;
  i.id = std::move(id);
  i.service = "web";
  i.address = "127.0.0.1";
  i.port = port;
  i.weight = weight;
  return i;
}

// Picks `n` times and prints how many picks each instance got.
void Show(bc::LoadBalancer& lb, int n) {
  std::map<std::string, int> counts;
  for (int k = 0; k < n; ++k) {
    auto pick = lb.Choose();
    if (!pick.ok()) {
      std::printf("  error: %s\n", pick.status().message().c_str());
      return;
    }
    counts[pick->instance().id]++;
    pick->ReportSuccess();
  }
  std::printf("%-14s", (std::string(lb.kind()) + ":").c_str());
  for (const auto& [id, c] : counts) {
    std::printf(" %s=%d", id.c_str(), c);
  }
  std::printf("\n");
}

}  // namespace

int main() {
  auto set = std::make_shared<const std::vector<bc::Instance>>(std::vector<bc::Instance>{
      Make("web-1", 3, 8001), Make("web-2", 3, 8002), Make("web-3", 1, 8003)});

  std::printf("700 picks over web-1/2/3 with Weights.Passing 3/3/1:\n");
  for (auto kind : {bc::BalancerKind::kRoundRobin, bc::BalancerKind::kRandom,
                    bc::BalancerKind::kWeighted, bc::BalancerKind::kLeastRequest}) {
    auto lb = bc::MakeLoadBalancer(kind);
    lb->Update(set);
    Show(*lb, 700);
  }

  std::printf("\npassive ejection: web-2 fails a call and sits out\n");
  auto lb = bc::MakeLoadBalancer(bc::BalancerKind::kRoundRobin);
  lb->Update(set);
  for (int k = 0; k < 3; ++k) {
    auto pick = lb->Choose();
    if (pick.ok() && pick->instance().id == "web-2") {
      pick->ReportFailure();
      break;
    }
  }
  Show(*lb, 10);
  for (const bc::InstanceStats& s : lb->stats().instances) {
    std::printf("  %s: picks=%llu failures=%llu ejected=%s\n", s.id.c_str(),
                static_cast<unsigned long long>(s.picks),
                static_cast<unsigned long long>(s.failures), s.ejected ? "yes" : "no");
  }

  std::printf("\nswap: a pick taken before Update() stays valid\n");
  auto held = lb->Choose();
  lb->Update(std::make_shared<const std::vector<bc::Instance>>(
      std::vector<bc::Instance>{Make("web-9", 1, 8009)}));
  std::printf("  held pick: %s; new set: %zu instance(s)\n",
              held.ok() ? held->instance().HostPort().c_str() : "none", lb->instances()->size());
  Show(*lb, 3);

  lb->Update(nullptr);
  auto none = lb->Choose();
  std::printf("\nempty set: %s\n", none.ok() ? "picked?!" : none.status().ToString().c_str());
  return none.ok() ? 1 : 0;
}
