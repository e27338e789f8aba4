// register_ttl: register an instance with a TTL check, keep it passing, then leave.
//
//   ./register_ttl                 agent from $CONSUL_HTTP_ADDR or 127.0.0.1:8500
//
// Registers "example-api" (ID example-api-1) with a 10 s TTL check, reports passing three times
// (as a service would from its heartbeat loop), reads it back as a passing instance, deregisters.
#include <beacon/beacon.h>

#include <cstdio>

namespace bc = beacon::client;

int main() {
  auto client = bc::Client::Create();
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 2;
  }
  bc::Client& c = **client;

  bc::ServiceRegistration service;
  service.id = "example-api-1";
  service.name = "example-api";
  service.port = 9090;
  service.tags = {"example"};
  bc::CheckDefinition ttl;
  ttl.ttl = std::chrono::seconds(10);
  service.checks.push_back(ttl);
  if (bc::Status s = c.RegisterService(service); !s.ok()) {
    std::fprintf(stderr, "register: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("registered %s at %s\n", service.id.c_str(), c.address().c_str());

  for (int beat = 1; beat <= 3; ++beat) {
    if (bc::Status s = c.PassTtl("service:example-api-1", "beat " + std::to_string(beat));
        !s.ok()) {
      std::fprintf(stderr, "heartbeat: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  auto healthy = c.HealthService("example-api", {.passing_only = true});
  if (!healthy.ok()) {
    std::fprintf(stderr, "health: %s\n", healthy.status().ToString().c_str());
    return 1;
  }
  std::printf("passing instances: %zu (index %llu)\n", healthy->value.size(),
              static_cast<unsigned long long>(healthy->meta.last_index));

  if (bc::Status s = c.DeregisterService(service.id); !s.ok()) {
    std::fprintf(stderr, "deregister: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("deregistered %s\n", service.id.c_str());
  return healthy->value.size() == 1 ? 0 : 1;
}
