#include "catalog/snapshot.h"

#include <algorithm>

#include "common/strings.h"

namespace beacon::catalog {

std::string WatchKeyService(std::string_view name) { return "s:" + AsciiLower(name); }
std::string WatchKeyNode(std::string_view name) { return "n:" + AsciiLower(name); }

const ServiceGroup* Snapshot::FindService(std::string_view name) const {
  auto it = services.find(AsciiLower(name));
  return it == services.end() ? nullptr : it->second.get();
}

std::shared_ptr<const ServiceGroup> Snapshot::FindServiceShared(std::string_view name) const {
  auto it = services.find(AsciiLower(name));
  return it == services.end() ? nullptr : it->second;
}

const NodeEntry* Snapshot::FindNode(std::string_view name) const {
  auto it = nodes.find(AsciiLower(name));
  if (it != nodes.end()) return it->second.get();
  // Consul also accepts the node's UUID where a node name is expected (contract 4.13).
  for (const auto& [key, entry] : nodes) {
    if (EqualsIgnoreCase(entry->node->id, name)) return entry.get();
  }
  return nullptr;
}

uint64_t Snapshot::ServiceIndex(std::string_view name) const {
  const ServiceGroup* group = FindService(name);
  // A service never seen: the services table index, which only grows (coarser is allowed, 2.2).
  uint64_t idx = group ? group->index : services_index;
  return idx == 0 ? 1 : idx;
}

uint64_t Snapshot::NodeIndex(std::string_view name) const {
  if (const NodeEntry* entry = FindNode(name)) return std::max<uint64_t>(entry->index, 1);
  auto it = node_tombstones.find(AsciiLower(name));
  uint64_t idx = it != node_tombstones.end() ? it->second : nodes_index;
  return idx == 0 ? 1 : idx;
}

std::vector<const Instance*> Snapshot::InstancesOnNode(std::string_view node) const {
  std::vector<const Instance*> out;
  for (const auto& [key, group] : services) {
    for (const auto& inst : group->instances) {
      if (EqualsIgnoreCase(inst->node->name, node)) out.push_back(inst.get());
    }
  }
  std::sort(out.begin(), out.end(), [](const Instance* a, const Instance* b) {
    return a->service->id < b->service->id;
  });
  return out;
}

const Instance* Snapshot::FindLocalService(std::string_view service_id) const {
  for (const auto& [key, group] : services) {
    for (const auto& inst : group->instances) {
      if (inst->service->id == service_id && EqualsIgnoreCase(inst->node->name, local_node)) {
        return inst.get();
      }
    }
  }
  return nullptr;
}

std::vector<std::shared_ptr<const Check>> Snapshot::ChecksOnNode(std::string_view node) const {
  std::vector<std::shared_ptr<const Check>> out;
  if (const NodeEntry* entry = FindNode(node)) {
    out = entry->node_checks;
    for (const Instance* inst : InstancesOnNode(entry->node->name)) {
      for (const auto& check : inst->checks) {
        if (!check->service_id.empty()) out.push_back(check);
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->id < b->id; });
  return out;
}

}  // namespace beacon::catalog
