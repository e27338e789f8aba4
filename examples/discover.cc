// discover: watch a service through the client cache and spread calls over it.
//
//   ./discover web                 agent from $CONSUL_HTTP_ADDR or 127.0.0.1:8500
//   ./discover web 127.0.0.1:8501
//
// Prints the service's passing instances, then for 30 seconds prints every change the watch
// pushes and which instance a round-robin balancer would call next.
#include <beacon/beacon.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace bc = beacon::client;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <service> [agent address]\n", argv[0]);
    return 2;
  }
  bc::ClientOptions options;
  if (argc > 2) {
    options.address = argv[2];
  }
  auto client = bc::Client::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 2;
  }
  std::shared_ptr<bc::Client> shared(std::move(*client));
  bc::ServiceCache cache(shared);
  bc::ServiceQuery query{.service = argv[1]};

  auto first = cache.Get(query);
  if (!first.ok()) {
    std::fprintf(stderr, "cannot read %s: %s\n", argv[1], first.status().ToString().c_str());
    return 1;
  }

  auto lb = bc::MakeLoadBalancer(bc::BalancerKind::kRoundRobin, {.name = argv[1]});
  bc::Subscription feed = bc::FeedBalancer(cache, query, lb);

  std::mutex mu;
  std::condition_variable cv;
  int changes = 0;
  bc::Subscription printer = cache.Subscribe(query, [&](const bc::ServiceSnapshot& s) {
    std::printf("%s: %zu passing instance(s) at index %llu%s\n", argv[1], s.entries->size(),
                static_cast<unsigned long long>(s.index),
                s.stale ? " (stale: agent unreachable)" : "");
    for (const bc::ServiceEntry& e : *s.entries) {
      std::printf("  %s at %s:%d\n", e.service.id.c_str(), e.Address().c_str(), e.service.port);
    }
    std::fflush(stdout);
    std::lock_guard lock(mu);
    ++changes;
    cv.notify_all();
  });

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::unique_lock lock(mu);
  for (int seen = changes; cv.wait_until(lock, deadline, [&] { return changes != seen; });
       seen = changes) {
    lock.unlock();
    auto pick = lb->Choose();
    std::printf("next call would go to %s\n",
                pick.ok() ? pick->instance().HostPort().c_str() : pick.status().message().c_str());
    lock.lock();
  }
  bc::CacheStats stats = cache.stats();
  std::printf("cache: hits=%llu misses=%llu round_trips=%llu errors=%llu\n",
              static_cast<unsigned long long>(stats.hits),
              static_cast<unsigned long long>(stats.misses),
              static_cast<unsigned long long>(stats.watch_round_trips),
              static_cast<unsigned long long>(stats.errors));
  return 0;
}
