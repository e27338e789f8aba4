// EtcdCluster: real etcd members (the Debian etcd-server binary, 3.4) for tests of src/etcd and
// of anything that runs on top of it.
//
// Each member is a child process on free loopback ports with its data directory and log file in
// a private TempDir. Raft timing is tightened (heartbeat 50 ms, election 500 ms) so a killed
// leader is replaced in about a second. Only processes this object started are ever signalled,
// by PID. Members get SIGKILL if the test process dies (PR_SET_PDEATHSIG), so a crashed test
// leaves no etcd behind; that signal follows the *thread* that started the member, so create,
// Restart() and destroy the cluster on the test's main thread.
//
//   EtcdCluster cluster(3);
//   etcd::ClientOptions options;
//   options.endpoints = cluster.endpoints();
//   auto client = etcd::Client::Create(options);
//   cluster.Kill(cluster.LeaderIndex());
//
// Not thread-safe. Errors in set-up throw std::runtime_error (with the member's log tail), which
// GoogleTest reports as a failure of the test that built the cluster.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "testutil/temp_dir.h"

namespace beacon::testutil {

class EtcdCluster {
 public:
  static constexpr const char* kEtcdBinary = "/usr/bin/etcd";

  // Starts `members` (1 or more; 3 for failover tests) as one new cluster and waits until every
  // member reports healthy (a leader is elected and reads succeed).
  explicit EtcdCluster(int members = 1,
                       std::chrono::milliseconds start_timeout = std::chrono::seconds(20));
  // SIGKILLs and reaps every member still running; the TempDir then removes all data.
  ~EtcdCluster();

  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // Client URLs ("http://127.0.0.1:<port>"), member 0 first.
  std::vector<std::string> endpoints() const;
  std::string endpoint(int i) const;
  uint16_t client_port(int i) const;
  bool running(int i) const;

  // SIGKILL member i and reap it. No-op when it is not running.
  void Kill(int i);
  // SIGSTOP / SIGCONT member i: a member that hangs with its sockets open (what a partition or
  // a stalled disk looks like to clients and peers), unlike Kill, whose sockets are refused.
  void Freeze(int i);
  void Thaw(int i);
  // Starts member i again on its old ports and data (after Kill) and waits until it is healthy.
  // Throws std::runtime_error if it does not come up within `timeout`.
  void Restart(int i, std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // Index of the current leader as seen by a running member, or -1 if none is known.
  int LeaderIndex() const;
  // Compacts the key-value history up to `revision` (POST /v3/kv/compaction, physical).
  // Returns false (and the reason in *error, if given) when etcd refuses.
  bool Compact(int64_t revision, std::string* error = nullptr) const;

  // True when member i answers GET /health with {"health":"true"}.
  bool Healthy(int i) const;
  // The last `max_bytes` of member i's log (for failure messages).
  std::string LogTail(int i, size_t max_bytes = 4000) const;

 private:
  struct Member {
    std::string name;
    uint16_t client_port = 0;
    uint16_t peer_port = 0;
    std::string data_dir;
    std::string log_path;
    pid_t pid = -1;
  };

  void Start(int i);
  void WaitHealthy(const std::vector<int>& which, std::chrono::milliseconds timeout);

  TempDir dir_;
  std::string token_;
  std::string initial_cluster_;
  std::vector<Member> members_;
};

}  // namespace beacon::testutil
