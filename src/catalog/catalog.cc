// Catalog writer. See catalog.h for the design; the rules that keep it correct:
//  - Every mutation of the master tables happens on the writer thread inside ApplyBatch, after the
//    request was fully validated against the current state (a failing request changes nothing).
//  - Every mutated service group and node entry is rebuilt into the next snapshot, even when the
//    change does not move an index (a TTL heartbeat that only pushes the deadline). So the last
//    published snapshot always equals the master tables, and a failed commit rolls back by
//    rebuilding the tables from it.
//  - Indexes move only for real changes; only keys whose index moved are listed in the ChangeSet,
//    so blocking queries are not woken by no-ops.
#include "catalog/catalog.h"

#include <algorithm>
#include <limits>
#include <random>

#include <boost/unordered/unordered_flat_map.hpp>
#include <spdlog/spdlog.h>

#include "catalog/check_list.h"
#include "catalog/record_codec.h"
#include "catalog/validate.h"
#include "common/strings.h"

namespace beacon::catalog {

namespace {

constexpr char kKeySep = '\x1f';  // cannot appear in a node name we would accept from DNS or HTTP
constexpr std::string_view kIndexKey = store::kIndexKey;  // the global index (see store.h)
constexpr std::string_view kNodeIdKey = "m/node_id";
constexpr size_t kDefaultOutputMaxSize = 4096;

std::string NodeKey(const std::string& lower_node) { return "n/" + lower_node; }
std::string ServiceKey(const std::string& lower_node, const std::string& id) {
  return "s/" + lower_node + kKeySep + id;
}
std::string CheckKey(const std::string& lower_node, const std::string& id) {
  return "c/" + lower_node + kKeySep + id;
}

std::string NewUuid() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  uint64_t a = gen(), b = gen();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xffff), static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string UnknownServiceMessage(const std::string& id) {
  return "Unknown service ID \"" + id +
         "\". Ensure that the service ID is passed, not the service name.";
}
std::string UnknownCheckMessage(const std::string& id) {
  return "Unknown check ID \"" + id + "\". Ensure that the check ID is passed, not the check name.";
}

std::string TruncateOutput(std::string output, const CheckDefinitionCore& def) {
  size_t limit = def.output_max_size > 0 ? static_cast<size_t>(def.output_max_size)
                                         : kDefaultOutputMaxSize;
  if (output.size() > limit) output.resize(limit);
  return output;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Writer: master tables and batch application. Lives on the writer thread only.

class Catalog::Writer {
 public:
  Writer(const CatalogOptions& options, store::Store* store, const Clock* clock)
      : options_(options), store_(store), shared_(dynamic_cast<store::SharedStore*>(store)),
        clock_(clock), local_(AsciiLower(options.node_name)) {
    if (MetricsRegistry* m = options.metrics) {
      commit_seconds_ = m->GetHistogram("store.commit_duration_seconds", {}, LatencyBucketsSeconds(),
                                        "Time of one durable store commit (one batch)");
      batch_size_ = m->GetHistogram("store.batch_size", {},
                                    {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
                                    "Write requests per committed batch");
      commit_errors_ = m->GetCounter("store.commit_errors", {}, "Failed store commits");
      registrations_ = m->GetCounter("catalog.register", {}, "Successful registrations");
      deregistrations_ = m->GetCounter("catalog.deregister", {}, "Successful deregistrations");
    }
  }

  Status Load();

  struct Outcome {
    Status status;
    uint64_t index = 0;
  };
  // Applies the requests, commits, publishes. Returns one outcome per request and sets
  // `published`/`changes` when a new snapshot was built.
  // `conflict` (may be null) is set when, in cluster mode, another agent committed first: the
  // tables are unchanged and the batch should be redone once the view caught up.
  std::vector<Outcome> ApplyBatch(const std::vector<const WriteRequest*>& requests,
                                  SnapshotPtr* published, ChangeSet* changes,
                                  bool* conflict = nullptr);

  // Earliest time (clock ns) at which a timer wants to run.
  int64_t NextTimerNs() const;
  // Internal requests for every timer due at `now`; `force_reap` runs the reaper even if its
  // interval has not passed (RunTimersForTest).
  std::vector<WriteRequest> CollectTimerRequests(int64_t now, bool force_reap);

  const SnapshotPtr& snapshot() const { return snapshot_; }

  // Cluster mode: applies changes other agents committed (what the view already has is
  // skipped) and publishes them.
  void ApplyExternal(const store::ChangeBatch& batch, SnapshotPtr* published,
                     ChangeSet* changes);
  // Cluster mode: leader flag and live agent nodes; re-plans the timers when they change.
  void SetRole(bool leader, std::set<std::string> live);
  int64_t view_revision() const { return view_revision_; }
  int64_t conflict_revision() const { return shared_ ? shared_->ConflictRevision() : 0; }

 private:
  // The tables key by views of the IDs their records hold rather than by copies (W4 in
  // docs/PERFORMANCE.md): a key is re-pointed whenever its record is replaced, and the helpers
  // below (SetServiceRecord, FileCheck, UnfileCheck) are the only places that do so.
  struct ServiceRec {
    std::shared_ptr<const Service> svc;
    CheckList checks;
  };
  struct NodeRec {
    std::shared_ptr<const Node> node;
    std::map<std::string_view, ServiceRec, std::less<>> services;  // key: svc->id
    CheckList node_checks;
    // Every check on the node, service-level ones included, by its ID: finds a check without
    // knowing its service. Open addressing: no allocation per check.
    boost::unordered_flat_map<std::string_view, const Check*> checks;
  };
  using NodeMap = std::map<std::string, NodeRec, std::less<>>;  // by lower-cased node name
  // A TTL deadline (clock ns) of one check. The check is the record in the tables: an entry is
  // removed whenever its record is replaced or removed, so it never outlives it.
  struct TtlTimer {
    int64_t deadline_ns = 0;
    const Check* check = nullptr;
  };
  struct TtlTimerOrder {
    bool operator()(const TtlTimer& a, const TtlTimer& b) const {
      if (a.deadline_ns != b.deadline_ns) return a.deadline_ns < b.deadline_ns;
      return std::less<const Check*>()(a.check, b.check);
    }
  };
  // What one batch touched in one service group: the instances to rebuild, by
  // (lower-cased node, service ID), or every instance (`full`).
  struct DirtyGroup {
    uint64_t index = 0;
    bool full = false;
    std::set<std::pair<std::string, std::string>> instances;
  };
  // What one batch touched. An index of 0 means "rebuild but do not move the index".
  struct Tx {
    uint64_t next_index = 0;
    store::WriteBatch writes;
    std::map<std::string, DirtyGroup> dirty_services;
    std::map<std::string, uint64_t> dirty_nodes;
    uint64_t nodes_index = 0, services_index = 0, checks_index = 0;
    // The instances of the groups marked `full`, by lower-cased name (CollectInstances).
    std::map<std::string, std::vector<std::shared_ptr<const Instance>>> full_instances;
  };

  // Request handlers: validate first, then mutate. `used` = the request consumed tx.next_index.
  Status Apply(Tx& tx, const RegisterService& r, bool* used);
  Status Apply(Tx& tx, const DeregisterService& r, bool* used);
  Status Apply(Tx& tx, const RegisterCheck& r, bool* used);
  Status Apply(Tx& tx, const DeregisterCheck& r, bool* used);
  Status Apply(Tx& tx, const UpdateTtl& r, bool* used);
  Status Apply(Tx& tx, const SetMaintenance& r, bool* used);
  Status Apply(Tx& tx, const CatalogRegister& r, bool* used);
  Status Apply(Tx& tx, const CatalogDeregister& r, bool* used);
  Status Apply(Tx& tx, const CheckResult& r, bool* used);
  Status Apply(Tx& tx, const ExpireTtl& r, bool* used);
  Status Apply(Tx& tx, const ReapCritical& r, bool* used);
  Status Apply(Tx& tx, const FlushOutput& r, bool* used);
  Status Apply(Tx& tx, const SetNodeLiveness& r, bool* used);

  // Decodes every record of a full Range into empty tables (Load and a cluster reset).
  Status DecodeAll(std::vector<store::KeyValue>& all, std::string* stored_node_id);
  // Cluster mode: one record changed by another agent. `txn_index` = the index that agent's
  // commit took (its m/index), used for removals.
  Status ApplyExternalChange(Tx& tx, const store::Change& change, uint64_t txn_index);
  // Whether this agent runs TTL expiry and the reaper for checks on this node.
  bool OwnsTimersOf(const std::string& lower_node) const {
    if (lower_node == local_ || shared_ == nullptr) return true;
    return leader_ && live_.count(lower_node) == 0;
  }
  void SetViewRevision(int64_t rev) {
    if (rev > view_revision_) {
      view_revision_ = rev;
      shared_->SetViewRevision(rev);
    }
  }

  // Mutation helpers: keep the tables, the store batch and dirty sets in step.
  void MarkService(Tx& tx, const std::string& lower_name, const std::string& lower_node,
                   std::string_view id, uint64_t idx);
  // Marks every instance on the node (node record or node-level checks changed).
  void MarkAllOnNode(Tx& tx, const std::string& lower_node, uint64_t idx);
  void MarkNode(Tx& tx, const std::string& lower_node, uint64_t idx);
  void PutNode(Tx& tx, uint64_t idx, Node node);
  void PutService(Tx& tx, uint64_t idx, const std::string& lower_node, Service svc);
  // When instance (lower_node, id) moves from the group of its previous definition `old` (may be
  // null) to the group `lower_name`, marks the old group with `idx` so that it drops it.
  void MarkRenamed(Tx& tx, const Service* old, const std::string& lower_node, std::string_view id,
                   const std::string& lower_name, uint64_t idx);
  // Stores `svc` as the record of its ID on the node, replacing the previous one.
  static ServiceRec& SetServiceRecord(NodeRec& rec, std::shared_ptr<const Service> svc);
  // As above for a new record, whose tags become the interned list.
  ServiceRec& SetServiceRecord(NodeRec& rec, Service svc);
  // Files `check` on node `n`: in its service's list (the service must be on the node) or the
  // node's, in the ID index and, when this agent runs its TTL, in the timers; the check with its
  // ID is unfiled first, wherever it was.
  void FileCheck(NodeMap::iterator n, std::shared_ptr<const Check> check);
  // As above, into `list`, which is the check's list on node `n` (its service's or the node's).
  void FileCheck(NodeMap::iterator n, CheckList& list, std::shared_ptr<const Check> check);
  // Takes check `id` out of node `n`'s lists, ID index and timers; returns it (null if absent).
  std::shared_ptr<const Check> UnfileCheck(NodeMap::iterator n, std::string_view id);
  void RemoveService(Tx& tx, uint64_t idx, const std::string& lower_node, const std::string& id);
  void PutCheck(Tx& tx, uint64_t idx, const std::string& lower_node, Check check);
  void RemoveCheck(Tx& tx, uint64_t idx, const std::string& lower_node, const std::string& id);
  void RemoveNode(Tx& tx, uint64_t idx, const std::string& lower_node);

  // A check built from a registration, keeping status/output/timers of an existing one.
  Check MakeCheck(const CheckSpec& spec, const std::string& node_name, const Service* svc,
                  const Check* existing, bool agent_owned) const;
  const Check* FindCheck(const std::string& lower_node, std::string_view id) const;
  void SetStatus(Check& c, HealthStatus status) const;
  // Sets the TTL timer of `c` (a check in the tables of node `n`) if it has a deadline.
  void ScheduleTtl(NodeMap::const_iterator n, const Check& c);

  Status Commit(Tx& tx);
  void Publish(const Tx& tx, SnapshotPtr* published, ChangeSet* changes);
  std::shared_ptr<const ServiceGroup> BuildGroup(const std::string& lower_name,
                                                 const ServiceGroup* previous,
                                                 const DirtyGroup& dirty, const Tx& tx) const;
  // A fresh Instance from the master tables; nullptr when the instance no longer exists or is
  // no longer in group `lower_name`.
  std::shared_ptr<const Instance> BuildInstance(const std::string& lower_node,
                                                const std::string& id,
                                                const std::string& lower_name) const;
  static std::shared_ptr<const Instance> MakeInstance(const NodeRec& n, const ServiceRec& s);
  // Every instance in the tables by lower-cased service name, each group in its order.
  std::map<std::string, std::vector<std::shared_ptr<const Instance>>> CollectInstances() const;
  void RestoreFromSnapshot();  // after a failed commit
  void RebuildTimers();
  // The next critical-service reap: one reap interval from now.
  void ScheduleReap() { next_reap_ns_ = clock_->NowNanos() + options_.reap_interval.count(); }

  const CatalogOptions& options_;
  store::Store* store_;
  store::SharedStore* shared_;  // == store_ in cluster mode, else nullptr
  const Clock* clock_;
  const std::string local_;  // lower-cased local node name
  int64_t view_revision_ = 0;  // cluster mode: the store revision the tables reflect
  bool leader_ = false;        // cluster mode: see Catalog::SetClusterRole
  std::set<std::string> live_;

  NodeMap nodes_;
  uint64_t index_ = 0;
  SnapshotPtr snapshot_;

  // One entry per TTL check whose timer this agent runs -> its node (a key of nodes_). An
  // expiry is still checked against the check's ttl_deadline_ns when it is applied.
  std::map<TtlTimer, const std::string*, TtlTimerOrder> ttl_timers_;
  int64_t next_reap_ns_ = 0;
  // When each check last moved its ModifyIndex for an output-only change (CheckResult,
  // FlushOutput).
  std::map<std::pair<std::string, std::string>, int64_t> output_bumps_;
  // TTL checks whose output-only change is stored but not yet published, by (lower node, check
  // ID) -> when it will be (FlushOutput). As Consul's agent does with check_update_interval d,
  // the first such change starts a timer of d/2 plus a random stagger below d (but not due
  // sooner than d after the last such publication); later ones before it fires ride along.
  // `output_timers_` orders the same entries by time. Entries name checks by key, so they
  // outlive a rollback or reload (RestoreFromSnapshot): a flush re-reads the check. They are not
  // stored: after a restart the stored output is served, unpublished (as Consul loses it too).
  using CheckKeyPair = std::pair<std::string, std::string>;
  std::map<CheckKeyPair, int64_t> output_due_;
  std::set<std::pair<int64_t, CheckKeyPair>> output_timers_;
  std::mt19937_64 stagger_rng_{std::random_device{}()};
  void DeferOutput(const std::string& lower_node, const std::string& id);
  void DropDeferredOutput(const std::string& lower_node, const std::string& id);
  // Check (lower node, id) is gone: forgets its output throttle and any deferred publication.
  void ForgetOutput(const std::string& lower_node, const std::string& id) {
    output_bumps_.erase({lower_node, id});
    DropDeferredOutput(lower_node, id);
  }
  // Stores `c`, the new state of TTL check `old` on node `lower_node`: a status change moves its
  // ModifyIndex now (publishing any deferred output with it), an output-only change is published
  // later (DeferOutput, contract 2.1).
  void PutTtlResult(Tx& tx, const std::string& lower_node, const Check& old, Check c, bool* used);
  // One shared list per distinct tag list among the stored services and checks.
  TagInterner tags_;

  // Metrics (null when not counted).
  Histogram* commit_seconds_ = nullptr;
  Histogram* batch_size_ = nullptr;
  Counter* commit_errors_ = nullptr;
  Counter* registrations_ = nullptr;
  Counter* deregistrations_ = nullptr;
};

Status Catalog::Writer::DecodeAll(std::vector<store::KeyValue>& all,
                                  std::string* stored_node_id) {
  struct Pending {
    std::string_view lower_node;  // views into kv.key
    const store::KeyValue* kv;
  };
  std::vector<Pending> services, checks;
  for (store::KeyValue& kv : all) {
    std::string_view key = kv.key;
    if (key == kIndexKey) {
      index_ = std::max<uint64_t>(index_, std::strtoull(kv.value.c_str(), nullptr, 10));
    } else if (key == kNodeIdKey) {
      *stored_node_id = kv.value;
    } else if (StartsWith(key, "n/")) {
      auto node = DecodeNodeRecord(kv.value);
      if (!node.ok()) return node.status().WithContext("load node record " + kv.key);
      index_ = std::max(index_, node->modify_index);
      nodes_[std::string(key.substr(2))].node = std::make_shared<const Node>(std::move(*node));
    } else if (StartsWith(key, "s/") || StartsWith(key, "c/")) {
      size_t sep = key.find(kKeySep);
      if (sep == std::string_view::npos) return Internal("load: malformed key " + kv.key);
      (key[0] == 's' ? services : checks).push_back({key.substr(2, sep - 2), &kv});
    } else {
      return Internal("load: unknown record key " + kv.key);
    }
  }
  // The records come sorted by key, so a node's services and checks are consecutive.
  auto it = nodes_.end();
  for (const Pending& p : services) {
    if (it == nodes_.end() || it->first != p.lower_node) it = nodes_.find(p.lower_node);
    if (it == nodes_.end()) return Internal("load: service record without node: " + p.kv->key);
    auto svc = DecodeServiceRecord(p.kv->value);
    if (!svc.ok()) return svc.status().WithContext("load service record " + p.kv->key);
    index_ = std::max(index_, svc->modify_index);
    SetServiceRecord(it->second, std::move(*svc));
  }
  it = nodes_.end();
  for (size_t i = 0; i < checks.size(); ++i) {
    const Pending& p = checks[i];
    if (it == nodes_.end() || it->first != p.lower_node) {
      it = nodes_.find(p.lower_node);
      if (it == nodes_.end()) return Internal("load: check record without node: " + p.kv->key);
      size_t on_node = 1;
      while (i + on_node < checks.size() && checks[i + on_node].lower_node == p.lower_node) {
        ++on_node;
      }
      it->second.checks.reserve(it->second.checks.size() + on_node);
    }
    auto check = DecodeCheckRecord(p.kv->value);
    if (!check.ok()) return check.status().WithContext("load check record " + p.kv->key);
    index_ = std::max(index_, check->modify_index);
    CheckList* list = &it->second.node_checks;
    if (!check->service_id.empty()) {
      auto s = it->second.services.find(check->service_id);
      if (s == it->second.services.end()) {
        return Internal("load: check without service: " + p.kv->key);
      }
      list = &s->second.checks;
    }
    check->service_tags = tags_.Intern(check->service_tags);
    FileCheck(it, *list, std::make_shared<const Check>(std::move(*check)));
  }
  return Status();
}

Status Catalog::Writer::Load() {
  BEACON_ASSIGN_OR_RETURN(std::vector<store::KeyValue> all, store_->Range(""));
  std::string stored_node_id;
  BEACON_RETURN_IF_ERROR(DecodeAll(all, &stored_node_id));
  if (shared_) {
    // Every agent shares the records; the node ID is per agent and lives in its node record.
    stored_node_id.clear();
    SetViewRevision(shared_->RangeRevision());
  }

  // The first snapshot holds everything loaded; then make sure the local node is as configured.
  auto snap = std::make_shared<Snapshot>();
  snap->local_node = options_.node_name;
  snap->datacenter = options_.datacenter;
  snapshot_ = snap;
  Tx load_tx;
  load_tx.next_index = 0;
  load_tx.full_instances = CollectInstances();
  for (const auto& [lower, group] : load_tx.full_instances) {
    load_tx.dirty_services[lower].full = true;
  }
  for (const auto& [lower, rec] : nodes_) load_tx.dirty_nodes[lower] = 0;
  SnapshotPtr published;
  ChangeSet ignored;
  Publish(load_tx, &published, &ignored);
  // Result indexes are not persisted: after a restart every one of them starts at the global
  // index. That is never smaller than any index a client saw (removals included, which the
  // surviving records cannot tell), so a blocking client sees at most one spurious wakeup.
  auto fixed = std::make_shared<Snapshot>(*snapshot_);
  fixed->index = fixed->nodes_index = fixed->services_index = fixed->checks_index = index_;
  for (auto& [lower, group] : fixed->services) {
    auto g = std::make_shared<ServiceGroup>(*group);
    g->index = index_;
    group = g;
  }
  for (auto& [lower, entry] : fixed->nodes) {
    auto e = std::make_shared<NodeEntry>(*entry);
    e->index = index_;
    entry = e;
  }
  snapshot_ = fixed;

  // Local node and its serfHealth check (contract 4.0).
  Tx tx;
  tx.next_index = index_ + 1;
  uint64_t idx = tx.next_index;
  bool used = false;
  auto existing = nodes_.find(local_);
  Node node;
  node.name = options_.node_name;
  node.address = options_.node_address;
  node.datacenter = options_.datacenter;
  node.meta = StringMap(boost::container::ordered_unique_range, options_.node_meta.begin(),
                        options_.node_meta.end());
  node.tagged_addresses = {{"lan", node.address}, {"lan_ipv4", node.address},
                           {"wan", node.address}, {"wan_ipv4", node.address}};
  if (!options_.node_id.empty()) {
    node.id = options_.node_id;
  } else if (!stored_node_id.empty()) {
    node.id = stored_node_id;
  } else if (existing != nodes_.end() && !existing->second.node->id.empty()) {
    node.id = existing->second.node->id;
  } else {
    node.id = NewUuid();
  }
  if (!shared_ && stored_node_id != node.id) tx.writes.Put(std::string(kNodeIdKey), node.id);
  if (existing == nodes_.end() || !existing->second.node->SameDefinition(node)) {
    PutNode(tx, idx, node);
    used = true;
  }
  const Check* serf = FindCheck(local_, std::string(kSerfHealthCheckId));
  if (serf == nullptr || serf->status != HealthStatus::kPassing) {
    Check c;
    c.node = options_.node_name;
    c.id = std::string(kSerfHealthCheckId);
    c.name = std::string(kSerfHealthName);
    c.status = HealthStatus::kPassing;
    c.output = std::string(kSerfHealthOutput);
    c.create_index = serf ? serf->create_index : idx;
    c.modify_index = idx;
    PutCheck(tx, idx, local_, std::move(c));
    used = true;
  }
  if (used) tx.next_index++;
  BEACON_RETURN_IF_ERROR(Commit(tx));
  Publish(tx, &published, &ignored);
  // The timers were set as the checks were filed.
  ScheduleReap();
  return Status();
}

// ---------------------------------------------------------------------------------------------
// Mutation helpers

void Catalog::Writer::MarkService(Tx& tx, const std::string& lower_name,
                                  const std::string& lower_node, std::string_view id,
                                  uint64_t idx) {
  DirtyGroup& d = tx.dirty_services[lower_name];
  d.index = std::max(d.index, idx);
  if (!d.full) d.instances.emplace(lower_node, std::string(id));
}

void Catalog::Writer::MarkAllOnNode(Tx& tx, const std::string& lower_node, uint64_t idx) {
  auto n = nodes_.find(lower_node);
  if (n == nodes_.end()) return;
  for (const auto& [id, s] : n->second.services) {
    MarkService(tx, AsciiLower(s.svc->name), lower_node, id, idx);
  }
}

void Catalog::Writer::MarkNode(Tx& tx, const std::string& lower_node, uint64_t idx) {
  uint64_t& v = tx.dirty_nodes[lower_node];
  v = std::max(v, idx);
}

void Catalog::Writer::PutNode(Tx& tx, uint64_t idx, Node node) {
  std::string lower = AsciiLower(node.name);
  NodeRec& rec = nodes_[lower];
  node.create_index = rec.node ? rec.node->create_index : idx;
  node.modify_index = idx;
  tx.writes.Put(NodeKey(lower), EncodeNodeRecord(node));
  rec.node = std::make_shared<const Node>(std::move(node));
  MarkNode(tx, lower, idx);
  MarkAllOnNode(tx, lower, idx);
  tx.nodes_index = idx;
}

void Catalog::Writer::MarkRenamed(Tx& tx, const Service* old, const std::string& lower_node,
                                  std::string_view id, const std::string& lower_name,
                                  uint64_t idx) {
  if (old != nullptr && !EqualsIgnoreCase(old->name, lower_name)) {
    MarkService(tx, AsciiLower(old->name), lower_node, id, idx);
  }
}

Catalog::Writer::ServiceRec& Catalog::Writer::SetServiceRecord(NodeRec& rec,
                                                               std::shared_ptr<const Service> svc) {
  auto it = rec.services.lower_bound(svc->id);
  if (it == rec.services.end() || it->first != svc->id) {
    it = rec.services.emplace_hint(it, svc->id, ServiceRec{});
    it->second.svc = std::move(svc);  // the object the key views stays where it is
    return it->second;
  }
  // The key views the old record's ID: point it at the new record's before the old one can go.
  auto node = rec.services.extract(it);
  node.key() = svc->id;
  node.mapped().svc = std::move(svc);
  return rec.services.insert(std::move(node)).position->second;
}

Catalog::Writer::ServiceRec& Catalog::Writer::SetServiceRecord(NodeRec& rec, Service svc) {
  svc.tags = tags_.Intern(svc.tags);
  return SetServiceRecord(rec, std::make_shared<const Service>(std::move(svc)));
}

void Catalog::Writer::FileCheck(NodeMap::iterator n, std::shared_ptr<const Check> check) {
  NodeRec& rec = n->second;
  CheckList& list = check->service_id.empty() ? rec.node_checks
                                              : rec.services.at(check->service_id).checks;
  FileCheck(n, list, std::move(check));
}

void Catalog::Writer::FileCheck(NodeMap::iterator n, CheckList& list,
                                std::shared_ptr<const Check> check) {
  // Keeps the check this one replaces alive until the tables no longer view its ID.
  std::shared_ptr<const Check> old = UnfileCheck(n, check->id);
  NodeRec& rec = n->second;
  rec.checks.emplace(check->id, check.get());
  if (OwnsTimersOf(n->first)) ScheduleTtl(n, *check);
  list.Put(std::move(check));
}

std::shared_ptr<const Check> Catalog::Writer::UnfileCheck(NodeMap::iterator n,
                                                          std::string_view id) {
  NodeRec& rec = n->second;
  auto indexed = rec.checks.find(id);
  if (indexed == rec.checks.end()) return nullptr;
  const Check* c = indexed->second;
  ttl_timers_.erase(TtlTimer{c->ttl_deadline_ns, c});
  rec.checks.erase(indexed);
  if (c->service_id.empty()) return rec.node_checks.Erase(c->id);
  auto s = rec.services.find(c->service_id);
  return s == rec.services.end() ? nullptr : s->second.checks.Erase(c->id);
}

void Catalog::Writer::PutService(Tx& tx, uint64_t idx, const std::string& lower_node,
                                 Service svc) {
  NodeRec& rec = nodes_.at(lower_node);
  auto existing = rec.services.find(svc.id);
  const Service* old = existing == rec.services.end() ? nullptr : existing->second.svc.get();
  std::string lower_name = AsciiLower(svc.name);
  MarkRenamed(tx, old, lower_node, svc.id, lower_name, idx);
  const bool tags_changed = old && (old->tags != svc.tags || old->name != svc.name);
  // Stored services are immutable: drop the spare room decoding and defaults left.
  svc.tagged_addresses.shrink_to_fit();
  svc.meta.shrink_to_fit();
  tx.writes.Put(ServiceKey(lower_node, svc.id), EncodeServiceRecord(svc));
  ServiceRec& srec = SetServiceRecord(rec, std::move(svc));
  if (tags_changed) {
    // Checks carry ServiceName and ServiceTags; refresh them without moving their indexes.
    std::vector<std::shared_ptr<const Check>> refreshed;
    for (const auto& c : srec.checks) {
      Check copy = *c;
      copy.service_name = srec.svc->name;
      copy.service_tags = srec.svc->tags;
      tx.writes.Put(CheckKey(lower_node, copy.id), EncodeCheckRecord(copy));
      refreshed.push_back(std::make_shared<const Check>(std::move(copy)));
    }
    auto n = nodes_.find(lower_node);
    for (auto& c : refreshed) FileCheck(n, std::move(c));
  }
  MarkService(tx, lower_name, lower_node, srec.svc->id, idx);
  MarkNode(tx, lower_node, idx);
  tx.services_index = idx;
}

void Catalog::Writer::RemoveService(Tx& tx, uint64_t idx, const std::string& lower_node,
                                    const std::string& id) {
  auto n = nodes_.find(lower_node);
  if (n == nodes_.end()) return;
  NodeRec& rec = n->second;
  auto it = rec.services.find(id);
  if (it == rec.services.end()) return;
  std::string lower_name = AsciiLower(it->second.svc->name);
  std::vector<std::string> cids;
  for (const auto& c : it->second.checks) cids.push_back(c->id);
  for (const std::string& cid : cids) {
    tx.writes.Delete(CheckKey(lower_node, cid));
    UnfileCheck(n, cid);
    ForgetOutput(lower_node, cid);
  }
  if (!cids.empty()) tx.checks_index = idx;
  tx.writes.Delete(ServiceKey(lower_node, id));
  rec.services.erase(it);
  MarkService(tx, lower_name, lower_node, id, idx);
  MarkNode(tx, lower_node, idx);
  tx.services_index = idx;
}

void Catalog::Writer::PutCheck(Tx& tx, uint64_t idx, const std::string& lower_node,
                               Check check) {
  auto n = nodes_.find(lower_node);
  NodeRec& rec = n->second;
  if (const Check* old = FindCheck(lower_node, check.id);
      old != nullptr && old->service_id != check.service_id) {
    // The check moves between services (or between node and service): mark the old place.
    if (old->service_id.empty()) {
      MarkAllOnNode(tx, lower_node, idx);
    } else if (auto s = rec.services.find(old->service_id); s != rec.services.end()) {
      MarkService(tx, AsciiLower(s->second.svc->name), lower_node, s->first, idx);
    }
  }
  tx.writes.Put(CheckKey(lower_node, check.id), EncodeCheckRecord(check));
  auto ptr = std::make_shared<const Check>(std::move(check));
  FileCheck(n, ptr);
  if (ptr->service_id.empty()) {
    MarkAllOnNode(tx, lower_node, idx);
  } else {
    const ServiceRec& srec = rec.services.at(ptr->service_id);
    MarkService(tx, AsciiLower(srec.svc->name), lower_node, ptr->service_id, idx);
  }
  MarkNode(tx, lower_node, idx);
  if (idx != 0) tx.checks_index = idx;
}

void Catalog::Writer::RemoveCheck(Tx& tx, uint64_t idx, const std::string& lower_node,
                                  const std::string& id) {
  auto n = nodes_.find(lower_node);
  if (n == nodes_.end()) return;
  NodeRec& rec = n->second;
  std::shared_ptr<const Check> removed = UnfileCheck(n, id);
  if (removed == nullptr) return;
  if (removed->service_id.empty()) {
    MarkAllOnNode(tx, lower_node, idx);
  } else if (auto s = rec.services.find(removed->service_id); s != rec.services.end()) {
    MarkService(tx, AsciiLower(s->second.svc->name), lower_node, s->first, idx);
  }
  ForgetOutput(lower_node, id);
  tx.writes.Delete(CheckKey(lower_node, id));
  MarkNode(tx, lower_node, idx);
  tx.checks_index = idx;
}

void Catalog::Writer::RemoveNode(Tx& tx, uint64_t idx, const std::string& lower_node) {
  auto it = nodes_.find(lower_node);
  if (it == nodes_.end()) return;
  std::vector<std::string> ids;
  for (const auto& [id, s] : it->second.services) ids.emplace_back(id);
  for (const std::string& id : ids) RemoveService(tx, idx, lower_node, id);
  std::vector<std::string> cids;
  for (const auto& c : it->second.node_checks) cids.push_back(c->id);
  for (const std::string& cid : cids) RemoveCheck(tx, idx, lower_node, cid);
  tx.writes.Delete(NodeKey(lower_node));
  nodes_.erase(lower_node);
  MarkNode(tx, lower_node, idx);
  tx.nodes_index = idx;
}

const Check* Catalog::Writer::FindCheck(const std::string& lower_node,
                                        std::string_view id) const {
  auto n = nodes_.find(lower_node);
  if (n == nodes_.end()) return nullptr;
  auto c = n->second.checks.find(id);
  return c == n->second.checks.end() ? nullptr : c->second;
}

void Catalog::Writer::SetStatus(Check& c, HealthStatus status) const {
  if (status == HealthStatus::kCritical) {
    if (c.status != HealthStatus::kCritical || c.critical_since_ns == 0) {
      c.critical_since_ns = clock_->NowNanos();
    }
  } else {
    c.critical_since_ns = 0;
  }
  c.status = status;
}

void Catalog::Writer::ScheduleTtl(NodeMap::const_iterator n, const Check& c) {
  if (c.definition.type == CheckType::kTtl && c.ttl_deadline_ns > 0) {
    ttl_timers_.emplace(TtlTimer{c.ttl_deadline_ns, &c}, &n->first);
  }
}

Check Catalog::Writer::MakeCheck(const CheckSpec& spec, const std::string& node_name,
                                 const Service* svc, const Check* existing,
                                 bool agent_owned) const {
  Check c;
  c.node = node_name;
  c.id = spec.id;
  c.name = spec.name;
  c.notes = spec.notes;
  c.service_id = svc ? svc->id : "";
  c.service_name = svc ? svc->name : "";
  if (svc) c.service_tags = svc->tags;
  c.definition = spec.definition;
  c.agent_owned = agent_owned;
  if (existing != nullptr && agent_owned) {
    // Re-registration keeps status, output and running timers (contract 4.1, checklist 11).
    c.status = existing->status;
    c.output = existing->output;
    c.critical_since_ns = existing->critical_since_ns;
    c.ttl_deadline_ns = existing->ttl_deadline_ns;
    c.create_index = existing->create_index;
    c.modify_index = existing->modify_index;
    if (c.definition.type == CheckType::kTtl && c.ttl_deadline_ns == 0 &&
        existing->definition.type != CheckType::kTtl) {
      c.ttl_deadline_ns = clock_->NowNanos() + c.definition.ttl.count();
    }
    return c;
  }
  c.output = TruncateOutput(spec.output, c.definition);
  SetStatus(c, spec.status.value_or(HealthStatus::kCritical));
  if (existing != nullptr) {
    c.create_index = existing->create_index;
    c.modify_index = existing->modify_index;
  }
  if (c.definition.type == CheckType::kTtl && agent_owned) {
    c.ttl_deadline_ns = clock_->NowNanos() + c.definition.ttl.count();
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Request handlers

Status Catalog::Writer::Apply(Tx& tx, const RegisterService& r, bool* used) {
  const uint64_t idx = tx.next_index;
  NodeRec& node = nodes_.at(local_);
  // Validate against current state first: a check ID owned by another service on this node is
  // moved, as Consul does, so there is nothing here that can fail after mutation starts.
  Service svc = r.service;
  auto existing = node.services.find(svc.id);
  if (existing == node.services.end() || !existing->second.svc->SameDefinition(svc)) {
    svc.create_index = existing == node.services.end() ? idx : existing->second.svc->create_index;
    svc.modify_index = idx;
    PutService(tx, idx, local_, std::move(svc));
    *used = true;
  }
  const Service* stored = node.services.at(r.service.id).svc.get();
  std::set<std::string> wanted;
  for (const CheckSpec& spec : r.checks) {
    wanted.insert(spec.id);
    const Check* old = FindCheck(local_, spec.id);
    Check c = MakeCheck(spec, node.node->name, stored, old, true);
    if (old != nullptr && old->SameDefinition(c) && old->status == c.status &&
        old->output == c.output) {
      continue;
    }
    c.modify_index = idx;
    if (old == nullptr) c.create_index = idx;
    PutCheck(tx, idx, local_, std::move(c));
    *used = true;
  }
  if (r.replace_existing_checks) {
    std::vector<std::string> drop;
    for (const auto& c : node.services.at(r.service.id).checks) {
      if (!wanted.count(c->id)) drop.push_back(c->id);
    }
    for (const std::string& cid : drop) {
      RemoveCheck(tx, idx, local_, cid);
      *used = true;
    }
  }
  return Status();
}

Status Catalog::Writer::Apply(Tx& tx, const DeregisterService& r, bool* used) {
  NodeRec& node = nodes_.at(local_);
  if (!node.services.count(r.service_id)) return NotFound(UnknownServiceMessage(r.service_id));
  RemoveService(tx, tx.next_index, local_, r.service_id);
  *used = true;
  return Status();
}

Status Catalog::Writer::Apply(Tx& tx, const RegisterCheck& r, bool* used) {
  const uint64_t idx = tx.next_index;
  NodeRec& node = nodes_.at(local_);
  const Service* svc = nullptr;
  if (!r.check.service_id.empty()) {
    auto s = node.services.find(r.check.service_id);
    if (s == node.services.end()) {
      return NotFound("ServiceID \"" + r.check.service_id + "\" does not exist");
    }
    svc = s->second.svc.get();
  }
  const Check* old = FindCheck(local_, r.check.id);
  Check c = MakeCheck(r.check, node.node->name, svc, old, true);
  if (old != nullptr && old->SameDefinition(c)) return Status();
  c.modify_index = idx;
  if (old == nullptr) c.create_index = idx;
  PutCheck(tx, idx, local_, std::move(c));
  *used = true;
  return Status();
}

Status Catalog::Writer::Apply(Tx& tx, const DeregisterCheck& r, bool* used) {
  if (FindCheck(local_, r.check_id) == nullptr) {
    return NotFound(UnknownCheckMessage(r.check_id));
  }
  RemoveCheck(tx, tx.next_index, local_, r.check_id);
  *used = true;
  return Status();
}

Status Catalog::Writer::Apply(Tx& tx, const UpdateTtl& r, bool* used) {
  const Check* old = FindCheck(local_, r.check_id);
  if (old == nullptr) {
    // The original sketch's heartbeat named the service: accept a service ID whose service has
    // exactly one TTL check.
    const NodeRec& node = nodes_.at(local_);
    if (auto s = node.services.find(r.check_id); s != node.services.end()) {
      const Check* only = nullptr;
      int ttl_checks = 0;
      for (const auto& c : s->second.checks) {
        if (c->definition.type == CheckType::kTtl) {
          ++ttl_checks;
          only = c.get();
        }
      }
      if (ttl_checks == 1) old = only;
    }
  }
  if (old == nullptr) return NotFound(UnknownCheckMessage(r.check_id));
  if (old->definition.type != CheckType::kTtl) {
    return FailedPrecondition("CheckID \"" + r.check_id + "\" does not have associated TTL");
  }
  Check c = *old;
  SetStatus(c, r.status);
  c.output = TruncateOutput(r.output, c.definition);
  c.ttl_deadline_ns = clock_->NowNanos() + c.definition.ttl.count();
  PutTtlResult(tx, local_, *old, std::move(c), used);
  return Status();
}

Status Catalog::Writer::Apply(Tx& tx, const SetMaintenance& r, bool* used) {
  const uint64_t idx = tx.next_index;
  NodeRec& node = nodes_.at(local_);
  const Service* svc = nullptr;
  std::string check_id(kNodeMaintenanceCheckId);
  if (!r.service_id.empty()) {
    auto s = node.services.find(r.service_id);
    if (s == node.services.end()) {
      return NotFound("No service registered with ID \"" + r.service_id + "\"");
    }
    svc = s->second.svc.get();
    check_id = std::string(kServiceMaintenancePrefix) + r.service_id;
  }
  const Check* old = FindCheck(local_, check_id);
  if (!r.enable) {
    if (old != nullptr) {
      RemoveCheck(tx, idx, local_, check_id);
      *used = true;
    }
    return Status();
  }
  CheckSpec spec;
  spec.id = check_id;
  spec.name = svc ? "Service Maintenance Mode" : "Node Maintenance Mode";
  spec.notes = !r.reason.empty() ? r.reason
               : svc ? "Maintenance mode is enabled for this service, but no reason was "
                       "provided. This is a default message."
                     : "Maintenance mode is enabled for this node, but no reason was provided. "
                       "This is a default message.";
  spec.status = HealthStatus::kCritical;
  Check c = MakeCheck(spec, node.node->name, svc, nullptr, true);
  if (old != nullptr && old->SameDefinition(c) && old->status == c.status) return Status();
  c.create_index = old ? old->create_index : idx;
  c.modify_index = idx;
  if (old) c.critical_since_ns = old->critical_since_ns;
  PutCheck(tx, idx, local_, std::move(c));
  *used = true;
  return Status();
}

Status Catalog::Writer::Apply(Tx& tx, const CatalogRegister& r, bool* used) {
  const uint64_t idx = tx.next_index;
  const std::string lower = AsciiLower(r.node.name);
  auto existing = nodes_.find(lower);
  // Validate every check's service before changing anything.
  for (const CheckSpec& spec : r.checks) {
    if (spec.service_id.empty()) continue;
    bool in_request = r.service && r.service->id == spec.service_id;
    bool on_node = existing != nodes_.end() && existing->second.services.count(spec.service_id);
    if (!in_request && !on_node) {
      return NotFound("Unknown service ID \"" + spec.service_id + "\" for check ID \"" +
                      spec.id + "\"");
    }
  }
  if (existing == nodes_.end() || !r.skip_node_update) {
    Node node = r.node;
    node.datacenter = options_.datacenter;
    if (existing != nodes_.end()) {
      if (node.id.empty()) node.id = existing->second.node->id;
      if (lower == local_) node = *existing->second.node;  // the agent's own definition wins
    }
    if (existing == nodes_.end() || !existing->second.node->SameDefinition(node)) {
      PutNode(tx, idx, std::move(node));
      *used = true;
    }
  }
  NodeRec& rec = nodes_.at(lower);
  if (r.service) {
    Service svc = *r.service;
    auto s = rec.services.find(svc.id);
    if (s == rec.services.end() || !s->second.svc->SameDefinition(svc)) {
      svc.create_index = s == rec.services.end() ? idx : s->second.svc->create_index;
      svc.modify_index = idx;
      PutService(tx, idx, lower, std::move(svc));
      *used = true;
    }
  }
  for (const CheckSpec& spec : r.checks) {
    const Service* svc =
        spec.service_id.empty() ? nullptr : rec.services.at(spec.service_id).svc.get();
    const Check* old = FindCheck(lower, spec.id);
    Check c = MakeCheck(spec, rec.node->name, svc, old, false);
    if (old != nullptr && old->SameDefinition(c) && old->status == c.status &&
        old->output == c.output) {
      continue;
    }
    c.create_index = old ? old->create_index : idx;
    c.modify_index = idx;
    PutCheck(tx, idx, lower, std::move(c));
    *used = true;
  }
  return Status();
}

Status Catalog::Writer::Apply(Tx& tx, const CatalogDeregister& r, bool* used) {
  const uint64_t idx = tx.next_index;
  const std::string lower = AsciiLower(r.node);
  auto it = nodes_.find(lower);
  if (it == nodes_.end()) return Status();  // Consul answers true for an unknown node
  if (lower == local_) {
    // The agent's own node, services and checks are defined by the agent (contract 4.14
    // [Beacon]: agent-owned entries are the source of truth); Consul would re-create them at the
    // next anti-entropy sync, Beacon keeps them.
    return Status();
  }
  if (!r.service_id.empty()) {
    if (it->second.services.count(r.service_id)) {
      RemoveService(tx, idx, lower, r.service_id);
      *used = true;
    }
    return Status();
  }
  if (!r.check_id.empty()) {
    if (FindCheck(lower, r.check_id) != nullptr) {
      RemoveCheck(tx, idx, lower, r.check_id);
      *used = true;
    }
    return Status();
  }
  RemoveNode(tx, idx, lower);
  *used = true;
  return Status();
}

Status Catalog::Writer::Apply(Tx& tx, const CheckResult& r, bool* used) {
  const Check* old = FindCheck(local_, r.check_id);
  if (old == nullptr) return NotFound(UnknownCheckMessage(r.check_id));
  if (old->definition.type == CheckType::kTtl) {
    return FailedPrecondition("CheckID \"" + r.check_id + "\" is a TTL check");
  }
  Check c = *old;
  SetStatus(c, r.status);
  c.output = TruncateOutput(r.output, c.definition);
  const int64_t now = clock_->NowNanos();
  auto bump_key = std::make_pair(local_, c.id);
  if (c.status == old->status) {
    if (c.output == old->output) return Status();
    auto last = output_bumps_.find(bump_key);
    if (last != output_bumps_.end() &&
        now - last->second < options_.output_update_interval.count()) {
      return Status();  // output-only change inside the interval: not written (2.1)
    }
  }
  const uint64_t idx = tx.next_index;
  c.modify_index = idx;
  output_bumps_[bump_key] = now;
  PutCheck(tx, idx, local_, std::move(c));
  *used = true;
  return Status();
}

Status Catalog::Writer::Apply(Tx& tx, const ExpireTtl& r, bool* used) {
  const Check* old = FindCheck(r.node, r.check_id);
  if (old == nullptr || old->definition.type != CheckType::kTtl ||
      old->ttl_deadline_ns != r.deadline_ns) {
    return Status();  // updated or removed since the timer was set
  }
  Check c = *old;
  c.ttl_deadline_ns = 0;
  SetStatus(c, HealthStatus::kCritical);
  c.output = TruncateOutput("TTL expired (last output before timeout follows): " + old->output,
                            c.definition);
  PutTtlResult(tx, r.node, *old, std::move(c), used);
  return Status();
}

void Catalog::Writer::PutTtlResult(Tx& tx, const std::string& lower_node, const Check& old,
                                   Check c, bool* used) {
  uint64_t idx = 0;
  if (c.status != old.status) {
    idx = tx.next_index;
    c.modify_index = idx;
    *used = true;
    DropDeferredOutput(lower_node, c.id);  // published with the status
  } else if (c.output != old.output) {
    // Output-only: stored (durably, like the deadline) but published later (2.1).
    DeferOutput(lower_node, c.id);
  }
  PutCheck(tx, idx, lower_node, std::move(c));
}

Status Catalog::Writer::Apply(Tx& tx, const FlushOutput& r, bool* used) {
  const Check* old = FindCheck(r.node, r.check_id);
  if (old == nullptr) return Status();  // removed since (its entry went with it)
  Check c = *old;
  c.modify_index = tx.next_index;
  output_bumps_[CheckKeyPair(r.node, c.id)] = clock_->NowNanos();
  PutCheck(tx, tx.next_index, r.node, std::move(c));
  *used = true;
  return Status();
}

void Catalog::Writer::DeferOutput(const std::string& lower_node, const std::string& id) {
  CheckKeyPair key(lower_node, id);
  if (output_due_.count(key) != 0) return;  // a timer runs: this change rides along
  const int64_t d = std::max<int64_t>(options_.output_update_interval.count(), 2);
  int64_t due = clock_->NowNanos() + d / 2 +
                std::uniform_int_distribution<int64_t>(0, d - 1)(stagger_rng_);
  // At most one such publication per interval (2.1).
  if (auto last = output_bumps_.find(key); last != output_bumps_.end()) {
    due = std::max(due, last->second + d);
  }
  output_due_.emplace(key, due);
  output_timers_.emplace(due, std::move(key));
}

void Catalog::Writer::DropDeferredOutput(const std::string& lower_node, const std::string& id) {
  if (output_due_.empty()) return;
  auto it = output_due_.find(CheckKeyPair(lower_node, id));
  if (it == output_due_.end()) return;
  output_timers_.erase({it->second, it->first});
  output_due_.erase(it);
}

Status Catalog::Writer::Apply(Tx& tx, const ReapCritical&, bool* used) {
  const int64_t now = clock_->NowNanos();
  std::vector<std::pair<std::string, std::string>> reap;  // (lower node, service ID)
  for (const auto& [lower_node, node] : nodes_) {
    if (!OwnsTimersOf(lower_node)) continue;
    if (lower_node != local_ && node.node_checks.Find(kSerfHealthCheckId) == nullptr) {
      continue;  // a catalog-registered node: nobody's agent reaps it (as in Consul)
    }
    for (const auto& [id, s] : node.services) {
      for (const auto& c : s.checks) {
        int64_t after = c->definition.deregister_critical_service_after.count();
        if (after <= 0 || c->status != HealthStatus::kCritical || c->critical_since_ns == 0) {
          continue;
        }
        after = std::max<int64_t>(after, options_.min_deregister_after.count());
        if (now - c->critical_since_ns >= after) {
          reap.emplace_back(lower_node, id);
          break;
        }
      }
    }
  }
  for (const auto& [lower_node, id] : reap) {
    spdlog::info(
        "catalog: reaping service {} on node {}: critical longer than "
        "DeregisterCriticalServiceAfter",
        id, lower_node);
    RemoveService(tx, tx.next_index, lower_node, id);
    *used = true;
  }
  return Status();
}

Status Catalog::Writer::Apply(Tx& tx, const SetNodeLiveness& r, bool* used) {
  std::string lower = AsciiLower(r.node);
  const Check* old = FindCheck(lower, std::string(kSerfHealthCheckId));
  if (old == nullptr || (old->status == r.status && old->output == r.output)) return Status();
  Check c = *old;
  SetStatus(c, r.status);
  c.output = r.output;
  uint64_t idx = tx.next_index;
  c.modify_index = idx;
  *used = true;
  PutCheck(tx, idx, lower, std::move(c));
  return Status();
}

// ---------------------------------------------------------------------------------------------
// Batches, commits and snapshots

std::vector<Catalog::Writer::Outcome> Catalog::Writer::ApplyBatch(
    const std::vector<const WriteRequest*>& requests, SnapshotPtr* published,
    ChangeSet* changes, bool* conflict) {
  Tx tx;
  tx.next_index = index_ + 1;
  std::vector<Outcome> out;
  out.reserve(requests.size());
  for (const WriteRequest* req : requests) {
    bool used = false;
    uint64_t idx = tx.next_index;
    Status s = std::visit([&](const auto& r) { return Apply(tx, r, &used); }, *req);
    if (used) tx.next_index++;
    out.push_back({std::move(s), used ? idx : 0});
  }
  const auto commit_start = std::chrono::steady_clock::now();
  Status committed = Commit(tx);
  if (commit_seconds_ && !tx.writes.empty()) {
    commit_seconds_->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_start).count());
    batch_size_->Observe(static_cast<double>(requests.size()));
  }
  if (!committed.ok()) {
    // Cluster mode, Aborted: another agent committed first; the caller redoes the batch on a
    // newer view. Anything else is a failed commit.
    const bool lost_race = shared_ && committed.code() == StatusCode::kAborted;
    if (lost_race && conflict) *conflict = true;
    if (!lost_race) {
      if (commit_errors_) commit_errors_->Inc();
      spdlog::error("catalog: commit of {} writes failed: {}", requests.size(),
                    committed.ToString());
    }
    RestoreFromSnapshot();
    for (Outcome& o : out) o = {committed, 0};
    return out;
  }
  Publish(tx, published, changes);
  for (size_t i = 0; i < out.size(); ++i) {
    Outcome& o = out[i];
    if (o.status.ok() && o.index == 0) o.index = index_;
    if (o.status.ok() && registrations_) {
      const WriteRequest& r = *requests[i];
      if (std::holds_alternative<RegisterService>(r) || std::holds_alternative<CatalogRegister>(r)) {
        registrations_->Inc();
      } else if (std::holds_alternative<DeregisterService>(r) ||
                 std::holds_alternative<CatalogDeregister>(r)) {
        deregistrations_->Inc();
      }
    }
  }
  return out;
}

Status Catalog::Writer::Commit(Tx& tx) {
  if (tx.writes.empty()) return Status();
  uint64_t last = tx.next_index - 1;
  if (shared_) {
    // Every commit of every agent writes the index key: the store's conflict check is on it.
    tx.writes.Put(std::string(kIndexKey), std::to_string(std::max(last, index_)));
  } else if (last > index_) {
    tx.writes.Put(std::string(kIndexKey), std::to_string(last));
  }
  auto rev = store_->Commit(tx.writes);
  if (!rev.ok()) {
    if (rev.status().code() == StatusCode::kAborted) return rev.status();
    return rev.status().WithContext("store commit failed");
  }
  if (shared_) SetViewRevision(*rev);
  return Status();
}

std::shared_ptr<const Instance> Catalog::Writer::MakeInstance(const NodeRec& n,
                                                              const ServiceRec& s) {
  auto inst = std::make_shared<Instance>();
  inst->node = n.node;
  inst->service = s.svc;
  inst->checks.reserve(s.checks.size() + n.node_checks.size());
  for (const auto& c : s.checks) inst->checks.push_back(c);
  for (const auto& c : n.node_checks) inst->checks.push_back(c);
  return inst;
}

std::shared_ptr<const Instance> Catalog::Writer::BuildInstance(
    const std::string& lower_node, const std::string& id, const std::string& lower_name) const {
  auto n = nodes_.find(lower_node);
  if (n == nodes_.end()) return nullptr;
  auto s = n->second.services.find(id);
  if (s == n->second.services.end()) return nullptr;
  // Renamed into another group: that group lists it now.
  if (!EqualsIgnoreCase(s->second.svc->name, lower_name)) return nullptr;
  return MakeInstance(n->second, s->second);
}

std::map<std::string, std::vector<std::shared_ptr<const Instance>>>
Catalog::Writer::CollectInstances() const {
  // Nodes and their services are walked in (lower-cased node, service ID) order, which is the
  // order of a group's instances.
  std::map<std::string, std::vector<std::shared_ptr<const Instance>>> out;
  for (const auto& [lower_node, n] : nodes_) {
    for (const auto& [id, s] : n.services) {
      out[AsciiLower(s.svc->name)].push_back(MakeInstance(n, s));
    }
  }
  return out;
}

namespace {
// Orders an instance against a (lower-cased node, service ID) key without allocating: the
// group's order is the order of those keys.
int CompareInstanceKey(const Instance& inst, const std::pair<std::string, std::string>& key) {
  const int by_node = CompareIgnoreCase(inst.node->name, key.first);
  return by_node != 0 ? by_node : inst.service->id.compare(key.second);
}
}  // namespace

std::shared_ptr<const ServiceGroup> Catalog::Writer::BuildGroup(const std::string& lower_name,
                                                                const ServiceGroup* previous,
                                                                const DirtyGroup& dirty,
                                                                const Tx& tx) const {
  auto g = std::make_shared<ServiceGroup>();
  g->index = std::max(previous ? previous->index : 0, dirty.index);
  if (previous) g->name = previous->name;
  if (dirty.full) {
    auto it = tx.full_instances.find(lower_name);
    if (it != tx.full_instances.end()) g->instances = it->second;
  } else {
    // Merge the previous (sorted) instances with the touched keys (sorted the same way): keep
    // untouched instances as they are, rebuild touched ones, drop the ones that are gone. A
    // group new in this batch has only touched instances. A batch touches few instances of a
    // group, so each touched key's place is found by binary search and the untouched runs
    // between them are copied whole, without comparing each instance.
    static const std::vector<std::shared_ptr<const Instance>> kNone;
    const auto& prev = previous != nullptr ? previous->instances : kNone;
    g->instances.reserve(prev.size() + dirty.instances.size());
    auto from = prev.begin();
    for (const auto& key : dirty.instances) {
      const auto at = std::lower_bound(from, prev.end(), key, [](const auto& inst, const auto& k) {
        return CompareInstanceKey(*inst, k) < 0;
      });
      g->instances.insert(g->instances.end(), from, at);
      from = at;
      if (from != prev.end() && CompareInstanceKey(**from, key) == 0) ++from;  // replaced
      if (auto inst = BuildInstance(key.first, key.second, lower_name)) {
        g->instances.push_back(std::move(inst));
      }
    }
    g->instances.insert(g->instances.end(), from, prev.end());
  }
  if (!g->instances.empty()) g->name = g->instances.front()->service->name;
  return g;
}

void Catalog::Writer::Publish(const Tx& tx, SnapshotPtr* published, ChangeSet* changes) {
  uint64_t last = tx.next_index == 0 ? index_ : tx.next_index - 1;
  index_ = std::max(index_, last);
  if (tx.dirty_services.empty() && tx.dirty_nodes.empty()) return;
  auto snap = std::make_shared<Snapshot>(*snapshot_);
  snap->generation++;
  snap->index = index_;
  changes->index = index_;
  changes->keys.clear();
  for (const auto& [lower, dirty] : tx.dirty_services) {
    auto prev = snap->services.find(lower);
    snap->services[lower] =
        BuildGroup(lower, prev == snap->services.end() ? nullptr : prev->second.get(), dirty, tx);
    if (dirty.index != 0) changes->keys.push_back(WatchKeyService(lower));
  }
  for (const auto& [lower, idx] : tx.dirty_nodes) {
    auto n = nodes_.find(lower);
    if (n == nodes_.end()) {
      snap->nodes.erase(lower);
      snap->node_tombstones[lower] = idx;
    } else {
      auto prev = snap->nodes.find(lower);
      auto e = std::make_shared<NodeEntry>();
      e->node = n->second.node;
      e->index = std::max(prev == snap->nodes.end() ? 0 : prev->second->index, idx);
      e->node_checks.assign(n->second.node_checks.begin(), n->second.node_checks.end());
      snap->nodes[lower] = std::move(e);
      snap->node_tombstones.erase(lower);
    }
    if (idx != 0) changes->keys.push_back(WatchKeyNode(lower));
  }
  if (tx.nodes_index) {
    snap->nodes_index = tx.nodes_index;
    changes->keys.emplace_back(kWatchKeyNodes);
  }
  if (tx.services_index) {
    snap->services_index = tx.services_index;
    changes->keys.emplace_back(kWatchKeyServices);
  }
  if (tx.checks_index) {
    snap->checks_index = tx.checks_index;
    changes->keys.emplace_back(kWatchKeyChecks);
  }
  snapshot_ = snap;
  *published = snapshot_;
}

void Catalog::Writer::RestoreFromSnapshot() {
  ttl_timers_.clear();  // before the checks they point to can go
  nodes_.clear();
  output_bumps_.clear();
  for (const auto& [lower, entry] : snapshot_->nodes) {
    auto n = nodes_.try_emplace(lower).first;
    n->second.node = entry->node;
    for (const auto& c : entry->node_checks) FileCheck(n, c);
  }
  for (const auto& [lower_name, group] : snapshot_->services) {
    for (const auto& inst : group->instances) {
      auto n = nodes_.try_emplace(AsciiLower(inst->node->name)).first;
      SetServiceRecord(n->second, inst->service);
      for (const auto& c : inst->checks) {
        if (!c->service_id.empty()) FileCheck(n, c);
      }
    }
  }
  index_ = snapshot_->index;
  ScheduleReap();
}

void Catalog::Writer::RebuildTimers() {
  ttl_timers_.clear();
  for (auto n = nodes_.cbegin(); n != nodes_.cend(); ++n) {
    if (!OwnsTimersOf(n->first)) continue;
    for (const auto& [id, c] : n->second.checks) ScheduleTtl(n, *c);
  }
  ScheduleReap();
}

int64_t Catalog::Writer::NextTimerNs() const {
  int64_t next = next_reap_ns_;
  if (!ttl_timers_.empty()) next = std::min(next, ttl_timers_.begin()->first.deadline_ns);
  if (!output_timers_.empty()) next = std::min(next, output_timers_.begin()->first);
  return next;
}

std::vector<WriteRequest> Catalog::Writer::CollectTimerRequests(int64_t now, bool force_reap) {
  std::vector<WriteRequest> out;
  while (!ttl_timers_.empty() && ttl_timers_.begin()->first.deadline_ns <= now) {
    auto timer = ttl_timers_.begin();
    const Check& c = *timer->first.check;
    out.push_back(ExpireTtl{*timer->second, c.id, c.ttl_deadline_ns});
    ttl_timers_.erase(timer);
  }
  while (!output_timers_.empty() && output_timers_.begin()->first <= now) {
    auto timer = output_timers_.begin();
    output_due_.erase(timer->second);
    out.push_back(FlushOutput{timer->second.first, timer->second.second});
    output_timers_.erase(timer);
  }
  if (force_reap || next_reap_ns_ <= now) {
    out.push_back(ReapCritical{});
    next_reap_ns_ = now + options_.reap_interval.count();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Cluster mode: other agents' changes

namespace {
// Applying one revision's changes in this order keeps every record's parent present.
int ChangeRank(const store::Change& c) {
  const bool put = c.value.has_value();
  switch (c.key.empty() ? '?' : c.key[0]) {
    case 'n': return put ? 0 : 5;
    case 's': return put ? 1 : 4;
    case 'c': return put ? 2 : 3;
    default: return 6;
  }
}
}  // namespace

Status Catalog::Writer::ApplyExternalChange(Tx& tx, const store::Change& ch, uint64_t txn_index) {
  std::string_view key = ch.key;
  if (key == kIndexKey || key == kNodeIdKey) return Status();
  if (StartsWith(key, "n/")) {
    std::string lower(key.substr(2));
    if (!ch.value) {
      RemoveNode(tx, txn_index, lower);
      return Status();
    }
    BEACON_ASSIGN_OR_RETURN(Node node, DecodeNodeRecord(*ch.value));
    NodeRec& rec = nodes_[lower];
    uint64_t idx = (!rec.node || node.modify_index > rec.node->modify_index) ? node.modify_index : 0;
    rec.node = std::make_shared<const Node>(std::move(node));
    MarkNode(tx, lower, idx);
    MarkAllOnNode(tx, lower, idx);
    if (idx != 0) tx.nodes_index = idx;
    return Status();
  }
  if (!StartsWith(key, "s/") && !StartsWith(key, "c/")) {
    return Internal("unknown record key " + ch.key);
  }
  size_t sep = key.find(kKeySep);
  if (sep == std::string_view::npos) return Internal("malformed key " + ch.key);
  std::string lower_node(key.substr(2, sep - 2));
  std::string id(key.substr(sep + 1));
  auto n = nodes_.find(lower_node);
  if (n == nodes_.end() || !n->second.node) {
    if (!ch.value) return Status();  // already gone with its node
    return Internal("record of an unknown node: " + ch.key);
  }
  NodeRec& rec = n->second;
  if (key[0] == 's') {
    if (!ch.value) {
      RemoveService(tx, txn_index, lower_node, id);
      return Status();
    }
    BEACON_ASSIGN_OR_RETURN(Service svc, DecodeServiceRecord(*ch.value));
    auto existing = rec.services.find(svc.id);
    const Service* old = existing == rec.services.end() ? nullptr : existing->second.svc.get();
    uint64_t idx = (!old || svc.modify_index > old->modify_index) ? svc.modify_index : 0;
    std::string lower_name = AsciiLower(svc.name);
    MarkRenamed(tx, old, lower_node, id, lower_name, txn_index);
    SetServiceRecord(rec, std::move(svc));
    MarkService(tx, lower_name, lower_node, id, idx);
    MarkNode(tx, lower_node, idx);
    if (idx != 0) tx.services_index = idx;
    return Status();
  }
  if (!ch.value) {
    RemoveCheck(tx, txn_index, lower_node, id);
    return Status();
  }
  BEACON_ASSIGN_OR_RETURN(Check check, DecodeCheckRecord(*ch.value));
  if (!check.service_id.empty() && rec.services.count(check.service_id) == 0) {
    return Internal("check record of an unknown service: " + ch.key);
  }
  const Check* old = FindCheck(lower_node, check.id);
  uint64_t idx = (!old || check.modify_index > old->modify_index) ? check.modify_index : 0;
  // A decoded record's tags are a list of their own; every other check put takes its service's
  // (MakeCheck, PutService) or an existing check's, already interned.
  check.service_tags = tags_.Intern(check.service_tags);
  PutCheck(tx, idx, lower_node, std::move(check));
  return Status();
}

void Catalog::Writer::ApplyExternal(const store::ChangeBatch& batch, SnapshotPtr* published,
                                    ChangeSet* changes) {
  Tx tx;
  tx.next_index = 0;
  if (batch.reset) {
    // History was lost (compaction): replace the tables with the store's state and wake every
    // watcher whose index is behind it.
    std::set<std::string> old_services, old_nodes;
    for (const auto& [lower, g] : snapshot_->services) old_services.insert(lower);
    for (const auto& [lower, e] : snapshot_->nodes) old_nodes.insert(lower);
    ttl_timers_.clear();  // before the checks they point to can go
    nodes_.clear();
    output_bumps_.clear();
    std::vector<store::KeyValue> all;
    for (const store::Change& c : batch.changes) {
      if (c.value) all.push_back({c.key, *c.value, c.revision});
    }
    std::string ignored;
    Status s = DecodeAll(all, &ignored);
    if (!s.ok()) {
      spdlog::error("catalog: reloading the shared store failed: {}; keeping the old view",
                    s.ToString());
      RestoreFromSnapshot();
      return;
    }
    const uint64_t idx = index_;
    tx.full_instances = CollectInstances();
    for (const auto& [lower, group] : tx.full_instances) old_services.insert(lower);
    for (const std::string& lower : old_services) {
      DirtyGroup& d = tx.dirty_services[lower];
      d.full = true;
      d.index = idx;
    }
    for (const auto& [lower, rec] : nodes_) old_nodes.insert(lower);
    for (const std::string& lower : old_nodes) tx.dirty_nodes[lower] = idx;
    tx.nodes_index = tx.services_index = tx.checks_index = idx;
    SetViewRevision(batch.revision);
    Publish(tx, published, changes);
    // The timers were set as the checks were filed.
    ScheduleReap();
    return;
  }
  const auto& all = batch.changes;
  std::vector<const store::Change*> group;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].revision == all[i].revision) ++j;
    if (all[i].revision > view_revision_) {
      uint64_t txn_index = index_;
      group.clear();
      for (size_t k = i; k < j; ++k) {
        group.push_back(&all[k]);
        if (all[k].key == kIndexKey && all[k].value) {
          txn_index = std::max<uint64_t>(txn_index,
                                         std::strtoull(all[k].value->c_str(), nullptr, 10));
        }
      }
      std::stable_sort(group.begin(), group.end(), [](const store::Change* a, const store::Change* b) {
        return ChangeRank(*a) < ChangeRank(*b);
      });
      for (const store::Change* c : group) {
        Status s = ApplyExternalChange(tx, *c, txn_index);
        if (!s.ok()) {
          spdlog::error("catalog: skipping a change from the shared store (revision {}): {}",
                        c->revision, s.ToString());
        }
      }
      index_ = std::max(index_, txn_index);
      SetViewRevision(all[i].revision);
    }
    i = j;
  }
  SetViewRevision(batch.revision);
  Publish(tx, published, changes);
}

void Catalog::Writer::SetRole(bool leader, std::set<std::string> live) {
  if (leader == leader_ && live == live_) return;
  leader_ = leader;
  live_ = std::move(live);
  RebuildTimers();
}

// ---------------------------------------------------------------------------------------------
// Catalog

Catalog::Catalog(CatalogOptions options, store::Store* store, const Clock* clock)
    : options_(std::move(options)), store_(store),
      shared_(dynamic_cast<store::SharedStore*>(store)), clock_(clock) {}

Result<std::unique_ptr<Catalog>> Catalog::Open(CatalogOptions options, store::Store* store,
                                               const Clock* clock) {
  if (options.node_name.empty()) return InvalidArgument("node name must not be empty");
  std::unique_ptr<Catalog> catalog(new Catalog(std::move(options), store, clock));
  store::SharedStore* shared = catalog->shared_;
  // In cluster mode the start-up write (this agent's node and serfHealth) may race another
  // agent's commit: load again and redo it.
  for (int attempt = 0;; ++attempt) {
    catalog->writer_ = std::make_unique<Writer>(catalog->options_, store, clock);
    Status loaded = catalog->writer_->Load();
    if (loaded.ok()) break;
    if (shared == nullptr || loaded.code() != StatusCode::kAborted || attempt >= 20) {
      return loaded;
    }
  }
  catalog->current_ = catalog->writer_->snapshot();
  if (shared != nullptr) {
    BEACON_RETURN_IF_ERROR(shared->Subscribe([c = catalog.get()](store::ChangeBatch batch) {
      {
        std::lock_guard<std::mutex> lock(c->mu_);
        c->external_.push_back(std::move(batch));
      }
      c->cv_.notify_all();
    }));
  }
  catalog->thread_ = std::thread([c = catalog.get()] { c->Run(); });
  return catalog;
}

Catalog::~Catalog() { Stop(); }

void Catalog::Submit(WriteRequest request, WriteCallback callback, uint64_t source) {
  Status s;
  if (auto* r = std::get_if<RegisterService>(&request)) {
    s = NormalizeRegisterService(*r);
  } else if (auto* c = std::get_if<RegisterCheck>(&request)) {
    s = NormalizeRegisterCheck(*c);
  } else if (auto* cr = std::get_if<CatalogRegister>(&request)) {
    s = NormalizeCatalogRegister(*cr);
  }
  if (!s.ok()) {
    callback(s, 0);
    return;
  }
  bool wake = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      s = Unavailable("agent is shutting down");
    } else {
      const auto now = std::chrono::steady_clock::now();
      queue_.push_back({std::move(request), std::move(callback), 0, source, now});
      if (source != 0) arrivals_[next_arrival_++ % kArrivalRing] = {source, now};
      // A write of no client ends a hold (those are never held); otherwise a held batch wakes
      // the writer only once it is complete (else its deadline does).
      if (source == 0) hold_target_ = 0;
      wake = hold_target_ == 0 || queue_.size() >= hold_target_;
    }
  }
  if (!s.ok()) {
    callback(s, 0);
    return;
  }
  if (wake) cv_.notify_one();
}

size_t Catalog::HoldTarget(std::chrono::steady_clock::time_point now) const {
  // Clients that wrote within this window count as active; most requests a batch is held for.
  constexpr auto kActiveWindow = std::chrono::milliseconds(100);
  constexpr size_t kMaxHeldBatch = 8;
  if (options_.commit_hold.count() <= 0) return 0;
  std::array<uint64_t, kMaxHeldBatch> distinct{};
  size_t sources = 0;
  size_t recent = 0;
  auto oldest = now;
  auto newest = std::chrono::steady_clock::time_point::min();
  for (const Arrival& a : arrivals_) {
    if (a.source == 0 || now - a.at > kActiveWindow) continue;
    ++recent;
    oldest = std::min(oldest, a.at);
    newest = std::max(newest, a.at);
    if (sources < kMaxHeldBatch &&
        std::find(distinct.begin(), distinct.begin() + sources, a.source) ==
            distinct.begin() + sources) {
      distinct[sources++] = a.source;
    }
  }
  // One client alone (its next write waits for this one's acknowledgement) is never held.
  if (sources < 2) return 0;
  // Hold only when writes come often enough that at least one more is due within the hold:
  // at the recent rate, (recent - 1) writes over (newest - oldest). Rarer writes gain nothing
  // worth the wait.
  const auto span = std::chrono::duration_cast<std::chrono::nanoseconds>(newest - oldest);
  if (span > static_cast<int64_t>(recent - 1) * options_.commit_hold) return 0;
  return sources;
}

Result<uint64_t> Catalog::SubmitAndWait(WriteRequest request) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  Status status;
  uint64_t index = 0;
  Submit(std::move(request), [&](const Status& s, uint64_t i) {
    std::lock_guard<std::mutex> lock(m);
    status = s;
    index = i;
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return done; });
  if (!status.ok()) return status;
  return index;
}

SnapshotPtr Catalog::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void Catalog::AddListener(SnapshotListener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.push_back(std::move(listener));
}

void Catalog::AddWakeListener(SnapshotListener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  wake_listeners_.push_back(std::move(listener));
}

void Catalog::SetClusterRole(bool leader, std::set<std::string> live_nodes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (leader == leader_ && live_nodes == live_nodes_) return;  // the usual tick: nothing new
    leader_ = leader;
    live_nodes_ = std::move(live_nodes);
    role_changed_ = true;
  }
  cv_.notify_all();
}

void Catalog::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  // Changes keep arriving while the writer drains (a conflicted write waits for them); then
  // they stop before the catalog goes.
  if (thread_.joinable()) thread_.join();
  if (shared_ != nullptr) shared_->Unsubscribe();
}

void Catalog::RunTimersForTest() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t target = timer_runs_ + 1;
  ++timer_requests_;
  cv_.notify_all();
  timers_done_cv_.wait(lock, [&] { return timer_runs_ >= target || !thread_.joinable(); });
}

void Catalog::Run() {
  // Cluster mode: after a conflicting commit the requests wait (at the head of the queue) until
  // the view reaches the revision of the commit that won, at most kConflictWait.
  constexpr auto kConflictWait = std::chrono::seconds(5);
  constexpr int kMaxConflicts = 32;
  int64_t wait_revision = 0;
  auto wait_deadline = std::chrono::steady_clock::time_point::min();

  std::vector<Pending> batch;
  std::deque<store::ChangeBatch> external;
  for (;;) {
    bool run_timers = false;
    bool forced = false;
    bool role_changed = false;
    bool leader = false;
    std::set<std::string> live;
    batch.clear();
    external.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        const bool view_ready = writer_->view_revision() >= wait_revision ||
                                std::chrono::steady_clock::now() >= wait_deadline;
        if ((!queue_.empty() && view_ready) || !external_.empty() || role_changed_ ||
            timer_requests_ > 0) {
          break;
        }
        if (stopping_ && (queue_.empty() || view_ready)) break;
        int64_t wait_ns = writer_->NextTimerNs() - clock_->NowNanos();
        if (wait_ns <= 0) {
          run_timers = true;
          break;
        }
        // Sleep at most a second so a clock that jumps is noticed soon enough.
        auto wait = std::chrono::nanoseconds(std::min<int64_t>(wait_ns, 1'000'000'000));
        if (!queue_.empty()) {
          wait = std::min<std::chrono::nanoseconds>(wait, wait_deadline - std::chrono::steady_clock::now());
        }
        cv_.wait_for(lock, wait);
      }
      if (stopping_ && queue_.empty() && external_.empty()) break;
      // Group commit across clients: a small batch of client writes waits, at most commit_hold
      // after its first request, for the other active clients' writes (HoldTarget). Anything
      // else the writer has to do ends the hold.
      auto other_work = [&] {
        return stopping_ || !external_.empty() || role_changed_ || timer_requests_ > 0;
      };
      if (!queue_.empty() && !run_timers && wait_revision == 0 && !other_work() &&
          std::all_of(queue_.begin(), queue_.end(), [](const Pending& p) { return p.source != 0; })) {
        const size_t target = HoldTarget(std::chrono::steady_clock::now());
        if (target > queue_.size()) {
          hold_target_ = target;  // Submit sets it to 0 when a write of no client comes
          cv_.wait_until(lock, queue_.front().queued + options_.commit_hold,
                         [&] { return queue_.size() >= hold_target_ || other_work(); });
          hold_target_ = 0;
        }
      }
      external.swap(external_);
      if (role_changed_) {
        role_changed = true;
        role_changed_ = false;
        leader = leader_;
        live = live_nodes_;
      }
      if (timer_requests_ > 0) run_timers = forced = true;
    }

    // A published batch reaches the listeners, then (after its completions, if any) the wake
    // listeners.
    auto publish = [&](const SnapshotPtr& published, const ChangeSet& changes) {
      std::vector<SnapshotListener> listeners;
      {
        std::lock_guard<std::mutex> lock(mu_);
        current_ = published;
        listeners = listeners_;
      }
      for (const auto& l : listeners) l(published, changes);
    };
    auto wake_up = [&](const SnapshotPtr& published, const ChangeSet& changes) {
      std::vector<SnapshotListener> listeners;
      {
        std::lock_guard<std::mutex> lock(mu_);
        listeners = wake_listeners_;
      }
      for (const auto& l : listeners) l(published, changes);
    };

    // What follows each commit runs in two notify scopes, each ended before what comes next:
    // the listeners (the new snapshot for every loop), then the completions and the wake
    // listeners. So every loop has the snapshot queued before any client can have its
    // acknowledgement and ask another loop.
    auto notifying = [this](const std::function<void()>& work) {
      if (options_.notify_scope) {
        options_.notify_scope(work);
      } else {
        work();
      }
    };

    if (role_changed) writer_->SetRole(leader, std::move(live));
    for (const store::ChangeBatch& b : external) {
      SnapshotPtr published;
      ChangeSet changes;
      writer_->ApplyExternal(b, &published, &changes);
      if (published) {
        notifying([&] { publish(published, changes); });
        notifying([&] { wake_up(published, changes); });
      }
    }

    bool timed_out = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const bool caught_up = writer_->view_revision() >= wait_revision;
      timed_out = !caught_up && std::chrono::steady_clock::now() >= wait_deadline;
      if (caught_up || timed_out || stopping_) {
        while (!queue_.empty() && batch.size() < options_.max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        wait_revision = 0;
      }
    }
    if (timed_out && !batch.empty()) {
      spdlog::warn("catalog: the shared store's changes did not arrive in time; failing {} writes",
                   batch.size());
      for (Pending& p : batch) {
        p.callback(Unavailable("timed out waiting for other agents' changes; retry"), 0);
      }
      batch.clear();
    }

    auto run = [&](std::vector<const WriteRequest*> requests, std::vector<Pending>* pending) {
      SnapshotPtr published;
      ChangeSet changes;
      bool conflict = false;
      auto outcomes = writer_->ApplyBatch(requests, &published, &changes, &conflict);
      if (published) notifying([&] { publish(published, changes); });
      if (conflict) {
        // Redo later, in the same order, ahead of newer requests; timer writes are re-planned
        // by the writer (their timers were rebuilt).
        std::vector<Pending> failed;
        if (pending) {
          std::lock_guard<std::mutex> lock(mu_);
          for (auto it = pending->rbegin(); it != pending->rend(); ++it) {
            if (++it->attempts >= kMaxConflicts) {
              failed.push_back(std::move(*it));
            } else {
              queue_.push_front(std::move(*it));
            }
          }
          pending->clear();
        }
        notifying([&] {
          for (Pending& p : failed) {
            p.callback(Unavailable("write kept conflicting with other agents' writes; retry"), 0);
          }
          if (published) wake_up(published, changes);
        });
        wait_revision = writer_->conflict_revision();
        wait_deadline = std::chrono::steady_clock::now() + kConflictWait;
        return;
      }
      notifying([&] {
        if (pending) {
          for (size_t i = 0; i < pending->size(); ++i) {
            (*pending)[i].callback(outcomes[i].status, outcomes[i].index);
          }
        }
        if (published) wake_up(published, changes);
      });
    };

    if (!batch.empty()) {
      std::vector<const WriteRequest*> requests;
      requests.reserve(batch.size());
      for (const Pending& p : batch) requests.push_back(&p.request);
      run(std::move(requests), &batch);
    }
    if (run_timers || writer_->NextTimerNs() <= clock_->NowNanos()) {
      std::vector<WriteRequest> internal = writer_->CollectTimerRequests(clock_->NowNanos(), forced);
      if (!internal.empty()) {
        std::vector<const WriteRequest*> requests;
        for (const WriteRequest& r : internal) requests.push_back(&r);
        run(std::move(requests), nullptr);
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (timer_requests_ > 0) {
        timer_requests_ = 0;
        ++timer_runs_;
        timers_done_cv_.notify_all();
      }
    }
  }
  // Stopping: nothing is left in the queue (drained above), wake any test waiting for timers.
  std::lock_guard<std::mutex> lock(mu_);
  ++timer_runs_;
  timers_done_cv_.notify_all();
}

}  // namespace beacon::catalog
