#include "health/check_tracker.h"

#include <set>
#include <utility>

#include "common/strings.h"
#include "health/probe.h"

namespace beacon::health {

namespace {

// Orders instances as ServiceGroup does: by lower-cased node name, then service ID.
int CompareInstances(const catalog::Instance& a, const catalog::Instance& b) {
  const int by_node = CompareIgnoreCase(a.node->name, b.node->name);
  return by_node != 0 ? by_node : a.service->id.compare(b.service->id);
}

}  // namespace

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
  // Runnable checks found where something changed, with their scope; and check IDs that were in
  // a changed (or removed) place before. Only runnable checks go into `present`: a tracked check
  // that is no longer runnable is then "not present" and stopped below.
  std::map<std::string, std::pair<std::string, std::shared_ptr<const catalog::Check>>> present;
  std::vector<std::string> gone;
  std::set<std::string> scopes;  // scopes examined in this pass

  auto is_local = [&](const catalog::Instance& inst) {
    return EqualsIgnoreCase(inst.node->name, local);
  };
  auto add_new = [&](const std::string& key, const catalog::Instance& inst) {
    if (!is_local(inst)) return;
    for (const auto& c : inst.checks) {
      if (!c->service_id.empty() && IsRunnable(*c)) present[c->id] = {key, c};
    }
  };
  auto add_old = [&](const catalog::Instance& inst) {
    if (!is_local(inst)) return;
    for (const auto& c : inst.checks) {
      if (!c->service_id.empty()) gone.push_back(c->id);
    }
  };
  // Diffs the group last examined under `key` against `group` (null = the group is gone).
  auto diff_group = [&](const std::string& key, std::shared_ptr<const catalog::ServiceGroup> group) {
    scopes.insert(key);
    auto last = groups_.find(key);
    static const std::vector<std::shared_ptr<const catalog::Instance>> kNone;
    const auto& before = last == groups_.end() ? kNone : last->second->instances;
    const auto& after = group ? group->instances : kNone;
    size_t i = 0, j = 0;
    while (i < before.size() || j < after.size()) {
      if (i < before.size() && j < after.size() && before[i] == after[j]) {
        ++i;
        ++j;
        continue;
      }
      int cmp = i == before.size() ? 1 : j == after.size() ? -1 : CompareInstances(*before[i], *after[j]);
      if (cmp < 0) {
        add_old(*before[i++]);
      } else if (cmp > 0) {
        add_new(key, *after[j++]);
      } else {
        add_old(*before[i++]);
        add_new(key, *after[j++]);
      }
    }
    if (group) {
      groups_[key] = std::move(group);
    } else if (last != groups_.end()) {
      groups_.erase(last);
    }
  };
  auto scan_node = [&]() {
    scopes.insert(node_scope);
    gone.insert(gone.end(), node_scope_ids_.begin(), node_scope_ids_.end());
    if (const catalog::NodeEntry* entry = snapshot.FindNode(local)) {
      for (const auto& c : entry->node_checks) {
        if (IsRunnable(*c)) present[c->id] = {node_scope, c};
      }
    }
  };

  if (full) {
    groups_.clear();
    for (const auto& [id, e] : entries_) gone.push_back(id);
    for (const auto& [lower, group] : snapshot.services) {
      diff_group(catalog::WatchKeyService(lower), group);
    }
    scan_node();
  } else {
    for (const std::string& key : changes->keys) {
      if (key == node_scope) {
        scan_node();
      } else if (key.size() > 2 && key.compare(0, 2, "s:") == 0) {
        auto it = snapshot.services.find(key.substr(2));
        diff_group(key, it == snapshot.services.end() ? nullptr : it->second);
      }
    }
  }

  // Removals: tracked checks that were in an examined place and are not (runnable) there now.
  // A check that moved to another examined scope is in `present` and handled below.
  for (const std::string& id : gone) {
    if (present.count(id) != 0) continue;
    auto it = entries_.find(id);
    if (it == entries_.end() || (!full && scopes.count(it->second.scope) == 0)) continue;
    actions.push_back({TrackerAction::Kind::kStop, id, nullptr});
    node_scope_ids_.erase(id);
    entries_.erase(it);
  }
  for (auto& [id, found] : present) {
    auto& [scope, check] = found;
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      actions.push_back({TrackerAction::Kind::kStart, id, check});
      entries_[id] = Entry{scope, check};
    } else {
      Entry& e = it->second;
      if (e.check != check) {
        const bool redefined = !(e.check->definition == check->definition);
        actions.push_back(
            {redefined ? TrackerAction::Kind::kRestart : TrackerAction::Kind::kState, id, check});
        e.check = check;
      }
      e.scope = scope;
    }
    if (scope == node_scope) {
      node_scope_ids_.insert(id);
    } else {
      node_scope_ids_.erase(id);
    }
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
