// Hand-built catalog snapshots for the DNS unit tests: no writer, no store, just the immutable
// Snapshot shape the DNS code reads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "catalog/snapshot.h"
#include "common/strings.h"

namespace beacon::dns::dnstest {

struct InstanceSpec {
  std::string node;
  std::string id;
  std::string service;
  std::string address;  // the service's own Address; "" = use the node's
  int port = 0;
  std::vector<std::string> tags;
  std::vector<catalog::HealthStatus> checks;  // the service's own checks
  catalog::Weights weights;
};

class CatalogBuilder {
 public:
  CatalogBuilder& Node(const std::string& name, const std::string& address,
                       catalog::StringMap meta = {},
                       std::vector<catalog::HealthStatus> node_checks = {}) {
    auto node = std::make_shared<catalog::Node>();
    node->name = name;
    node->id = "00000000-0000-0000-0000-" + std::string(12 - std::min<size_t>(12, name.size()), '0') +
               name.substr(0, 12);
    node->address = address;
    node->datacenter = "dc1";
    node->meta = std::move(meta);
    auto entry = std::make_shared<catalog::NodeEntry>();
    entry->node = node;
    int n = 0;
    for (catalog::HealthStatus status : node_checks) {
      auto check = std::make_shared<catalog::Check>();
      check->node = name;
      check->id = "node-check-" + std::to_string(n++);
      check->status = status;
      entry->node_checks.push_back(check);
    }
    nodes_[AsciiLower(name)] = entry;
    return *this;
  }

  CatalogBuilder& Instance(InstanceSpec spec) {
    specs_.push_back(std::move(spec));
    return *this;
  }

  // REQUIRES: every instance's node was added.
  catalog::SnapshotPtr Build(const std::string& local_node = "") const {
    auto snap = std::make_shared<catalog::Snapshot>();
    snap->datacenter = "dc1";
    snap->local_node = local_node;
    snap->generation = 1;
    std::map<std::string, std::shared_ptr<catalog::ServiceGroup>> groups;
    for (const InstanceSpec& spec : specs_) {
      const auto& entry = nodes_.at(AsciiLower(spec.node));
      auto service = std::make_shared<catalog::Service>();
      service->id = spec.id.empty() ? spec.service : spec.id;
      service->name = spec.service;
      service->address = spec.address;
      service->port = spec.port;
      service->tags = spec.tags;
      service->weights = spec.weights;
      auto inst = std::make_shared<catalog::Instance>();
      inst->node = entry->node;
      inst->service = service;
      int n = 0;
      for (catalog::HealthStatus status : spec.checks) {
        auto check = std::make_shared<catalog::Check>();
        check->node = spec.node;
        check->id = "service:" + service->id + ":" + std::to_string(++n);
        check->service_id = service->id;
        check->service_name = service->name;
        check->status = status;
        inst->checks.push_back(check);
      }
      inst->checks.insert(inst->checks.end(), entry->node_checks.begin(),
                          entry->node_checks.end());
      auto& group = groups[AsciiLower(spec.service)];
      if (!group) {
        group = std::make_shared<catalog::ServiceGroup>();
        group->name = spec.service;
        group->index = 1;
      }
      group->instances.push_back(inst);
    }
    for (auto& [key, group] : groups) snap->services[key] = group;
    for (const auto& [key, entry] : nodes_) snap->nodes[key] = entry;
    return snap;
  }

 private:
  std::map<std::string, std::shared_ptr<catalog::NodeEntry>> nodes_;
  std::vector<InstanceSpec> specs_;
};

}  // namespace beacon::dns::dnstest
