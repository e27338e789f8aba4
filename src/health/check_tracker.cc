#include "health/check_tracker.h"

#include <set>
#include <utility>

#include "common/strings.h"
#include "health/probe.h"

namespace beacon::health {

std::vector<TrackerAction> CheckTracker::Observe(const catalog::Snapshot& snapshot,
                                                 const catalog::ChangeSet* changes) {
  std::vector<TrackerAction> actions;
  if (initialized_ && snapshot.generation <= generation_) {
    return actions;
  }
  const bool full =
      !initialized_ || changes == nullptr || snapshot.generation != generation_ + 1;
  initialized_ = true;
  generation_ = snapshot.generation;

  const std::string local = AsciiLower(snapshot.local_node);
  const std::string node_scope = catalog::WatchKeyNode(local);
  std::map<std::string, std::pair<std::string, std::shared_ptr<const catalog::Check>>> present;
  std::set<std::string> scopes;  // scopes examined in this pass

  // Only runnable checks go into `present`: a tracked check that is no longer runnable is then
  // "not present" and stopped below. This keeps a rescan of a large group (thousands of
  // instances with TTL checks or none, workload W1) to a name comparison and a type test per
  // instance, without allocating.
  auto scan_group = [&](const std::string& key, const catalog::ServiceGroup& group) {
    scopes.insert(key);
    for (const auto& inst : group.instances) {
      if (!EqualsIgnoreCase(inst->node->name, local)) {
        continue;
      }
      for (const auto& c : inst->checks) {
        if (!c->service_id.empty() && IsRunnable(*c)) {
          present[c->id] = {key, c};
        }
      }
    }
  };
  auto scan_node = [&]() {
    scopes.insert(node_scope);
    if (const catalog::NodeEntry* entry = snapshot.FindNode(local)) {
      for (const auto& c : entry->node_checks) {
        if (IsRunnable(*c)) present[c->id] = {node_scope, c};
      }
    }
  };

  if (full) {
    for (const auto& [lower, group] : snapshot.services) {
      scan_group(catalog::WatchKeyService(lower), *group);
    }
    scan_node();
  } else {
    for (const std::string& key : changes->keys) {
      if (key == node_scope) {
        scan_node();
      } else if (key.size() > 2 && key.compare(0, 2, "s:") == 0) {
        auto it = snapshot.services.find(key.substr(2));
        if (it != snapshot.services.end()) {
          scan_group(key, *it->second);
        } else {
          scopes.insert(key);  // the group is gone altogether
        }
      }
    }
  }

  // Removals: tracked checks of an examined scope that are no longer there (a check that moved
  // to another examined scope is in `present` and handled below).
  for (auto it = entries_.begin(); it != entries_.end();) {
    const bool examined = full || scopes.count(it->second.scope) > 0;
    auto p = present.find(it->first);
    if (examined && (p == present.end() || !IsRunnable(*p->second.second))) {
      actions.push_back({TrackerAction::Kind::kStop, it->first, nullptr});
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [id, found] : present) {
    auto& [scope, check] = found;
    if (!IsRunnable(*check)) {
      continue;
    }
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      actions.push_back({TrackerAction::Kind::kStart, id, check});
      entries_[id] = Entry{scope, check};
      continue;
    }
    Entry& e = it->second;
    if (e.check != check) {
      const bool redefined = !(e.check->definition == check->definition);
      actions.push_back(
          {redefined ? TrackerAction::Kind::kRestart : TrackerAction::Kind::kState, id, check});
      e.check = check;
    }
    e.scope = scope;
  }
  return actions;
}

std::string CheckTracker::DebugString() const {
  std::string out;
  for (const auto& [id, e] : entries_) {
    if (!out.empty()) {
      out += ' ';
    }
    out += id + ":" + e.scope;
  }
  return out;
}

}  // namespace beacon::health
