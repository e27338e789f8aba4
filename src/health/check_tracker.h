// CheckTracker: which checks the agent must run, diffed snapshot by snapshot (pure, no I/O).
//
// The runner feeds every snapshot the catalog publishes. The tracker keeps, per check it runs,
// the Check it last saw and the scope it was found in (the watch key of its service group, or of
// the local node for node-level checks). The first snapshot, or one after a gap in generations, is
// scanned in full; later ones only in the scopes their ChangeSet names, so a batch that touched one
// service costs O(instances of that service), not O(catalog). Check records are shared between
// snapshots until rewritten, so pointer equality means "unchanged": for a service scope the
// tracker keeps the group it last examined and diffs the new group against it instance by
// instance (both are sorted the same way), so a batch that touched one instance of a service of
// 10,000 instances costs 10,000 pointer comparisons and the work for that one instance, not a
// rescan of every check (workload W5 of ../shared/BENCH.md).
//
// Runnable = agent-owned HTTP/TCP/gRPC check on the local node with an Interval (probe.h).
//
// Thread rule: one thread (the runner's control loop) owns a tracker.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "catalog/snapshot.h"

namespace beacon::health {

struct TrackerAction {
  enum class Kind {
    kStart,    // a new runnable check
    kRestart,  // its definition changed: stop the old session, start a new one
    kStop,     // removed, or no longer runnable
    kState,    // same definition, but the catalog's record changed (status/output/name)
  };
  Kind kind = Kind::kStart;
  std::string check_id;
  std::shared_ptr<const catalog::Check> check;  // the current record; null for kStop
};

class CheckTracker {
 public:
  // Diffs `snapshot` against what was seen before. `changes` = the batch's ChangeSet, or nullptr
  // to force a full scan. Snapshots at or below the last generation seen are ignored (they were
  // covered by a later full scan).
  std::vector<TrackerAction> Observe(const catalog::Snapshot& snapshot,
                                     const catalog::ChangeSet* changes);

  size_t size() const { return entries_.size(); }
  uint64_t generation() const { return generation_; }

  // "<id>:<scope>" for every tracked check, sorted: a compact rendering for tests.
  std::string DebugString() const;

 private:
  struct Entry {
    std::string scope;
    std::shared_ptr<const catalog::Check> check;
  };
  std::map<std::string, Entry> entries_;  // by check ID (unique per node)
  // Service scope (watch key) -> the group as last examined.
  std::unordered_map<std::string, std::shared_ptr<const catalog::ServiceGroup>> groups_;
  std::set<std::string> node_scope_ids_;  // tracked checks whose scope is the local node
  uint64_t generation_ = 0;
  bool initialized_ = false;
};

}  // namespace beacon::health
