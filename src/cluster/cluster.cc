#include "cluster/cluster.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/strings.h"

namespace beacon::cluster {

namespace {
constexpr std::string_view kDeadOutput = "Agent not live or unreachable";
}  // namespace

Cluster::Cluster(ClusterOptions options, etcd::Client* client)
    : options_(std::move(options)),
      alive_prefix_(options_.prefix + "alive/"),
      client_(client),
      lower_node_(AsciiLower(options_.node_name)) {}

Result<std::unique_ptr<Cluster>> Cluster::Join(ClusterOptions options, etcd::Client* client) {
  if (options.tick.count() <= 0 || options.lease_ttl.count() < 2) {
    return InvalidArgument("cluster lease TTL must be at least 2 s");
  }
  std::unique_ptr<Cluster> c(new Cluster(std::move(options), client));
  BEACON_RETURN_IF_ERROR(c->Announce());
  return c;
}

Cluster::~Cluster() { Leave(); }

Status Cluster::PutAlive(int64_t lease) {
  auto put =
      client_->Txn({}, {etcd::Op::Put(alive_prefix_ + lower_node_, options_.advertise, lease)}, {});
  if (!put.ok()) return put.status().WithContext("etcd: announce this agent");
  announced_ = options_.advertise;
  return Status();
}

Status Cluster::Announce() {
  auto lease = client_->LeaseGrant(options_.lease_ttl);
  if (!lease.ok()) return lease.status().WithContext("etcd lease");
  BEACON_RETURN_IF_ERROR(PutAlive(*lease));
  std::lock_guard<std::mutex> lock(mu_);
  lease_ = *lease;
  last_contact_ = std::chrono::steady_clock::now();
  return Status();
}

void Cluster::Start(catalog::Catalog* catalog, std::string advertise) {
  catalog_ = catalog;
  options_.advertise = std::move(advertise);
  thread_ = std::thread([this] { Run(); });
  worker_ = std::thread([this] { Work(); });
}

void Cluster::Leave() {
  int64_t lease = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    lease = lease_;
    lease_ = 0;
    leader_ = false;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (worker_.joinable()) worker_.join();
  // Requests still waiting for a quorum read fail.
  std::deque<std::function<void(Result<uint64_t>)>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(confirms_);
  }
  for (auto& done : left) done(Unavailable("agent is shutting down"));
  if (lease != 0) {
    Status s = client_->LeaseRevoke(lease);
    if (!s.ok()) spdlog::warn("cluster: revoking the lease failed: {}", s.ToString());
  }
}

std::string Cluster::Leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_address_;
}

std::vector<std::string> Cluster::Peers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peers_;
}

bool Cluster::IsLeader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_;
}

int64_t Cluster::LastContactMs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               last_contact_)
      .count();
}

void Cluster::ConfirmIndex(std::function<void(Result<uint64_t>)> done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      confirms_.push_back(std::move(done));
      cv_.notify_all();
      return;
    }
  }
  done(Unavailable("agent is shutting down"));
}

void Cluster::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !confirms_.empty(); });
    if (stopping_) return;
    // One quorum read answers every request queued before it started.
    std::deque<std::function<void(Result<uint64_t>)>> batch;
    batch.swap(confirms_);
    lock.unlock();
    auto r = client_->Get(options_.index_key);
    Result<uint64_t> index = r.ok() ? Result<uint64_t>(r->kvs.empty()
                                                           ? 0
                                                           : std::strtoull(r->kvs[0].value.c_str(),
                                                                           nullptr, 10))
                                    : Result<uint64_t>(r.status().WithContext("consistent read"));
    for (auto& done : batch) done(index);
    lock.lock();
    if (r.ok()) last_contact_ = std::chrono::steady_clock::now();
  }
}

void Cluster::Run() {
  for (;;) {
    Tick();
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, options_.tick, [&] { return stopping_; })) return;
  }
}

void Cluster::Tick() {
  auto fail = [&](const Status& s) {
    if (!unreachable_reported_) spdlog::warn("cluster: etcd unreachable: {}", s.ToString());
    unreachable_reported_ = true;
  };
  int64_t lease;
  {
    std::lock_guard<std::mutex> lock(mu_);
    lease = lease_;
  }
  // 1. Liveness: renew the lease, or take a new one if it expired (we were cut off too long).
  if (lease != 0) {
    auto ttl = client_->LeaseKeepAlive(lease);
    if (!ttl.ok() && ttl.status().code() == StatusCode::kNotFound) {
      spdlog::warn("cluster: our lease expired; announcing this agent again");
      lease = 0;
    } else if (!ttl.ok()) {
      return fail(ttl.status());
    }
  }
  if (lease == 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      lease_ = 0;
      leader_ = false;
    }
    Status s = Announce();
    if (!s.ok()) return fail(s);
    std::lock_guard<std::mutex> lock(mu_);
    lease = lease_;
  }
  const std::string& advertise = options_.advertise;
  if (advertise != announced_) {  // Start() brought the address status/* shows
    Status s = PutAlive(lease);
    if (!s.ok()) return fail(s);
  }

  // 2. Leader: create-if-absent on the leader key, bound to our lease.
  const std::string leader_key = options_.prefix + "leader";
  etcd::Compare absent;
  absent.key = leader_key;
  absent.target = etcd::Compare::Target::kCreate;
  absent.result = etcd::Compare::Result::kEqual;
  absent.number = 0;
  auto elect = client_->Txn({absent},
                            {etcd::Op::Put(leader_key, lower_node_ + " " + advertise, lease)},
                            {etcd::Op::Get(leader_key)});
  if (!elect.ok()) return fail(elect.status());
  bool leader = elect->succeeded;
  std::string leader_address = advertise;
  if (!elect->succeeded) {
    leader_address.clear();
    if (!elect->ranges.empty() && !elect->ranges[0].empty()) {
      const etcd::KeyValue& kv = elect->ranges[0][0];
      size_t sp = kv.value.find(' ');
      leader_address = sp == std::string::npos ? kv.value : kv.value.substr(sp + 1);
      leader = kv.lease == lease;
    }
  }

  // 3. Who is alive.
  auto alive = client_->GetPrefix(alive_prefix_);
  if (!alive.ok()) return fail(alive.status());
  std::set<std::string> live;
  std::vector<std::string> peers;
  for (const etcd::KeyValue& kv : alive->kvs) {
    live.insert(kv.key.substr(alive_prefix_.size()));
    peers.push_back(kv.value);
  }
  std::sort(peers.begin(), peers.end());
  if (unreachable_reported_) spdlog::info("cluster: etcd reachable again");
  unreachable_reported_ = false;
  bool was_leader;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_leader = leader_;
    leader_ = leader;
    leader_address_ = leader_address;
    peers_ = peers;
    last_contact_ = std::chrono::steady_clock::now();
  }
  if (leader != was_leader) {
    spdlog::info("cluster: this agent {} the leader", leader ? "is now" : "is no longer");
  }
  catalog_->SetClusterRole(leader, live);

  // 4. Node liveness in the catalog.
  catalog::SnapshotPtr snap = catalog_->Current();
  auto serf_status = [](const catalog::NodeEntry& e) -> const catalog::Check* {
    for (const auto& c : e.node_checks) {
      if (c->id == catalog::kSerfHealthCheckId) return c.get();
    }
    return nullptr;
  };
  auto ignore = [](const Status&, uint64_t) {};
  if (const catalog::NodeEntry* me = snap->FindNode(lower_node_)) {
    const catalog::Check* serf = serf_status(*me);
    if (serf != nullptr && serf->status != catalog::HealthStatus::kPassing) {
      spdlog::info("cluster: marking this agent's node alive again");
      catalog_->Submit(catalog::SetNodeLiveness{options_.node_name, catalog::HealthStatus::kPassing,
                                                std::string(catalog::kSerfHealthOutput)},
                       ignore);
    }
  }
  if (!leader) return;
  for (const auto& [lower, entry] : snap->nodes) {
    if (lower == lower_node_ || live.count(lower) != 0) continue;
    const catalog::Check* serf = serf_status(*entry);
    if (serf == nullptr || serf->status == catalog::HealthStatus::kCritical) continue;
    spdlog::warn("cluster: agent of node {} is gone (its lease expired); marking it critical",
                 entry->node->name);
    catalog_->Submit(catalog::SetNodeLiveness{entry->node->name, catalog::HealthStatus::kCritical,
                                              std::string(kDeadOutput)},
                     ignore);
  }
}

}  // namespace beacon::cluster
