// Cluster: what an agent does in cluster mode besides sharing the catalog's records (issue #9).
//
//  - Liveness: the agent holds an etcd lease (TTL `lease_ttl`) and keeps a key
//    P + "alive/<node>" under it, renewed every `tick`. When the agent dies the lease expires and
//    the key goes with it.
//  - Leader: agents compete for P + "leader" with a create-if-absent transaction bound to their
//    lease (etcd's election recipe, minus the queue: a loser retries every tick). The leader runs
//    the cluster-wide duties: it marks the serfHealth check of every agent node without a live key
//    critical (so its services leave ?passing and DNS, as in Consul), and the catalog runs TTL
//    expiry and the reaper for such nodes only there (Catalog::SetClusterRole).
//  - An agent whose own serfHealth is not passing while it is alive sets it back (it came back).
//  - status/leader, status/peers, X-Consul-KnownLeader and X-Consul-LastContact come from here,
//    and ?consistent reads confirm the index with a quorum read first.
//
// All etcd calls run on the cluster's own thread (and a worker for consistent reads), never on
// the HTTP or DNS loops.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "common/status.h"
#include "etcd/client.h"

namespace beacon::cluster {

struct ClusterOptions {
  std::string prefix = "beacon/";
  std::string node_name;
  std::string advertise;  // what status/leader and status/peers show for this agent ("ip:8300")
  std::string index_key;  // the etcd key of the catalog's index (?consistent reads confirm it)
  std::chrono::seconds lease_ttl{10};
  std::chrono::milliseconds tick{1000};  // renewal and liveness scan period (<= lease_ttl / 3)
};

class Cluster {
 public:
  // Takes the lease and announces this agent as alive. `client` must outlive the Cluster.
  static Result<std::unique_ptr<Cluster>> Join(ClusterOptions options, etcd::Client* client);
  ~Cluster();  // Leave()s

  // Starts the duties on the catalog (which must outlive the Cluster, or Leave first).
  // `advertise` replaces the options' (it is known only once the HTTP port is bound); the alive
  // key is updated at the first tick, before the first election.
  void Start(catalog::Catalog* catalog, std::string advertise);
  // Stops the thread and revokes the lease: the other agents see this node gone at once.
  void Leave();

  std::string Leader() const;               // the leader's advertise address, "" when unknown
  std::vector<std::string> Peers() const;   // advertise addresses of every live agent, sorted
  bool IsLeader() const;
  // Milliseconds since etcd last answered this agent (a renewal or a scan).
  int64_t LastContactMs() const;

  // Quorum read of the shared index: calls `done` (on the cluster's worker thread) with the
  // index this agent's view must reach to answer a ?consistent read.
  void ConfirmIndex(std::function<void(Result<uint64_t>)> done);

 private:
  Cluster(ClusterOptions options, etcd::Client* client);
  Status Announce();                 // new lease + alive key
  Status PutAlive(int64_t lease);    // the alive key with options_.advertise, under `lease`
  void Run();
  void Tick();
  void Work();

  ClusterOptions options_;  // advertise is set before the threads start, then read only
  const std::string alive_prefix_;  // prefix + "alive/"
  etcd::Client* client_;
  catalog::Catalog* catalog_ = nullptr;
  const std::string lower_node_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                   // guarded by mu_
  int64_t lease_ = 0;                       // guarded by mu_
  // Touched by Join() and then by the cluster thread only:
  std::string announced_;             // the advertise address in the alive key
  bool unreachable_reported_ = false;
  bool leader_ = false;                     // guarded by mu_
  std::string leader_address_;              // guarded by mu_
  std::vector<std::string> peers_;          // guarded by mu_
  std::chrono::steady_clock::time_point last_contact_;  // guarded by mu_
  std::deque<std::function<void(Result<uint64_t>)>> confirms_;  // guarded by mu_
  std::thread thread_;
  std::thread worker_;
};

}  // namespace beacon::cluster
