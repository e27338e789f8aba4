// Snapshot: an immutable view of the whole catalog at one index.
//
// The writer publishes a new Snapshot after every committed batch; readers (HTTP handlers, DNS)
// hold a shared_ptr to the one they started with and never lock. Unchanged parts are shared
// between consecutive snapshots: a batch rebuilds only the service groups and node entries it
// touched, so publishing costs O(touched instances + number of services/nodes), not O(catalog).
//
// Result indexes follow consul-api.md section 2.2: one per service name (also moved by node and
// node-check changes on nodes hosting it, and by removals), one per node, and table indexes for
// nodes, the services list and checks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "catalog/types.h"

namespace beacon::catalog {

// One instance of a service: its node, its definition and its checks.
struct Instance {
  std::shared_ptr<const Node> node;
  std::shared_ptr<const Service> service;
  // The service's own checks (by check ID), then its node's node-level checks (by check ID).
  // Typically one of each: held inline, which saves an allocation per instance (W4 in
  // docs/PERFORMANCE.md).
  boost::container::small_vector<std::shared_ptr<const Check>, 2> checks;
};

// Every instance of one service name (names compare case-insensitively).
struct ServiceGroup {
  std::string name;  // as registered by the first instance in order
  uint64_t index = 0;  // per-service result index (2.2); kept after the last instance goes
  // Ordered by (lower-cased node name, service ID). Instances are shared between consecutive
  // groups: a batch rebuilds only the instances it touched.
  std::vector<std::shared_ptr<const Instance>> instances;
};

struct NodeEntry {
  std::shared_ptr<const Node> node;
  std::vector<std::shared_ptr<const Check>> node_checks;  // ServiceID == "", by check ID
  uint64_t index = 0;  // max index of anything on this node, removals included
};

class Snapshot {
 public:
  uint64_t generation = 0;      // grows by one per published snapshot (also for no-index batches)
  uint64_t index = 0;           // the last committed write's index
  uint64_t nodes_index = 0;     // catalog/nodes
  uint64_t services_index = 0;  // catalog/services: registrations, removals, tag changes
  uint64_t checks_index = 0;    // health/state
  std::string local_node;       // the agent's own node name
  std::string datacenter;

  // Keyed by lower-cased service name. Groups with no instances remain as removal markers.
  std::map<std::string, std::shared_ptr<const ServiceGroup>> services;
  // Keyed by lower-cased node name. Removed nodes are erased; node_tombstones keeps their index.
  std::map<std::string, std::shared_ptr<const NodeEntry>> nodes;
  std::map<std::string, uint64_t> node_tombstones;

  // Lookups: nullptr when absent. Names compare case-insensitively.
  const ServiceGroup* FindService(std::string_view name) const;
  std::shared_ptr<const ServiceGroup> FindServiceShared(std::string_view name) const;
  const NodeEntry* FindNode(std::string_view name) const;  // by name or by node ID

  // Result index for service-scoped reads (health/service, catalog/service, health/checks).
  uint64_t ServiceIndex(std::string_view name) const;
  // Result index for node-scoped reads (catalog/node, health/node).
  uint64_t NodeIndex(std::string_view name) const;

  // Every instance on `node` (case-insensitive), ordered by service ID. O(instances in catalog).
  std::vector<const Instance*> InstancesOnNode(std::string_view node) const;
  // The local agent's instance with this service ID, or nullptr. O(instances in catalog).
  const Instance* FindLocalService(std::string_view service_id) const;
  // Every check on `node`: node checks and service checks, ordered by check ID.
  std::vector<std::shared_ptr<const Check>> ChecksOnNode(std::string_view node) const;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Which watch keys a batch touched. Blocking queries wait on exactly one key each.
struct ChangeSet {
  uint64_t index = 0;
  std::vector<std::string> keys;  // see WatchKey* below
};

// Watch keys: a blocking read is woken when a batch lists its key.
std::string WatchKeyService(std::string_view name);  // "s:" + lower(name)
std::string WatchKeyNode(std::string_view name);     // "n:" + lower(name)
inline constexpr std::string_view kWatchKeyNodes = "T:nodes";
inline constexpr std::string_view kWatchKeyServices = "T:services";
inline constexpr std::string_view kWatchKeyChecks = "T:checks";

}  // namespace beacon::catalog
