// Hand-built catalog instances shared by the wire micro-benchmarks (encode_bench, filter_bench).
//
// The shape matches what bench/loadgen registers for the W2 read: one agent node ("bench") with
// its serfHealth check, and per instance a service with two tags, a two-key Meta, the tagged
// addresses the catalog derives, and one passing TTL check. Values vary with the instance
// number so filters have something to select on. Header-only on purpose: it is not a
// benchmark itself, so the *_bench.cc glob in CMakeLists.txt must not pick it up.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "catalog/snapshot.h"
#include "catalog/types.h"

namespace beacon::bench {

inline std::vector<catalog::Instance> MakeBenchInstances(int count) {
  auto node = std::make_shared<catalog::Node>();
  node->id = "6a5e3c3e-0a5f-4d7e-9c1e-2f3f6b1f0c11";
  node->name = "bench";
  node->address = "127.0.0.1";
  node->datacenter = "dc1";
  node->tagged_addresses = {{"lan", "127.0.0.1"},
                            {"lan_ipv4", "127.0.0.1"},
                            {"wan", "127.0.0.1"},
                            {"wan_ipv4", "127.0.0.1"}};
  node->create_index = 1;
  node->modify_index = 1;

  auto serf = std::make_shared<catalog::Check>();
  serf->node = node->name;
  serf->id = std::string(catalog::kSerfHealthCheckId);
  serf->name = std::string(catalog::kSerfHealthName);
  serf->status = catalog::HealthStatus::kPassing;
  serf->output = std::string(catalog::kSerfHealthOutput);
  serf->create_index = 1;
  serf->modify_index = 1;

  std::vector<catalog::Instance> instances;
  instances.reserve(count);
  for (int i = 0; i < count; ++i) {
    auto service = std::make_shared<catalog::Service>();
    service->id = "svc-0-" + std::to_string(i);
    service->name = "svc-0";
    service->tags = {"primary", "v" + std::to_string(i % 3)};
    service->address = "10.0.0." + std::to_string(i % 256);
    service->port = 20000 + i;
    service->tagged_addresses = {{"lan_ipv4", {service->address, service->port}},
                                 {"wan_ipv4", {service->address, service->port}}};
    service->meta = {{"version", "1." + std::to_string(i % 4)}, {"seq", std::to_string(i)}};
    service->create_index = 2 + i;
    service->modify_index = 2 + i;

    auto check = std::make_shared<catalog::Check>();
    check->node = node->name;
    check->id = "chk-" + service->id;
    check->name = "Service 'svc-0' check";
    check->status = catalog::HealthStatus::kPassing;
    check->service_id = service->id;
    check->service_name = service->name;
    check->service_tags = service->tags;
    check->definition.type = catalog::CheckType::kTtl;
    check->definition.ttl = std::chrono::hours(1);
    check->create_index = service->create_index;
    check->modify_index = service->modify_index;

    catalog::Instance inst;
    inst.node = node;
    inst.service = std::move(service);
    inst.checks = {std::move(check), serf};
    instances.push_back(std::move(inst));
  }
  return instances;
}

}  // namespace beacon::bench
