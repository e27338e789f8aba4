#include "testutil/etcd_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "testutil/free_port.h"
#include "testutil/http_client.h"

extern char** environ;

namespace beacon::testutil {
namespace {

constexpr auto kHttpTimeout = std::chrono::milliseconds(1000);

std::string ClientUrl(uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

// The value of the first `"field":"value"` in `json` (enough for etcd's flat status answers,
// without pulling a JSON library into testutil).
std::string StringField(std::string_view json, std::string_view field) {
  const std::string needle = "\"" + std::string(field) + "\":\"";
  const size_t at = json.find(needle);
  if (at == std::string_view::npos) {
    return {};
  }
  const size_t start = at + needle.size();
  const size_t end = json.find('"', start);
  return end == std::string_view::npos ? std::string()
                                       : std::string(json.substr(start, end - start));
}

std::string UniqueToken() {
  static std::atomic<int> counter{0};
  return "beacon-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace

EtcdCluster::EtcdCluster(int members, std::chrono::milliseconds start_timeout)
    : dir_("beacon-etcd"), token_(UniqueToken()) {
  if (members < 1) {
    throw std::invalid_argument("EtcdCluster: need at least one member");
  }
  for (int i = 0; i < members; ++i) {
    Member m;
    m.name = "m" + std::to_string(i);
    m.client_port = FreePort();
    m.peer_port = FreePort();
    m.data_dir = dir_.Join(m.name + ".data");
    m.log_path = dir_.Join(m.name + ".log");
    initial_cluster_ +=
        (i ? "," : "") + m.name + "=http://127.0.0.1:" + std::to_string(m.peer_port);
    members_.push_back(std::move(m));
  }
  std::vector<int> all;
  try {
    for (int i = 0; i < members; ++i) {
      Start(i);
      all.push_back(i);
    }
    WaitHealthy(all, start_timeout);
  } catch (...) {
    for (int i = 0; i < members; ++i) {
      Kill(i);
    }
    throw;
  }
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < size(); ++i) {
    Kill(i);
  }
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) {
    out.push_back(endpoint(i));
  }
  return out;
}

std::string EtcdCluster::endpoint(int i) const { return ClientUrl(members_.at(i).client_port); }

uint16_t EtcdCluster::client_port(int i) const { return members_.at(i).client_port; }

bool EtcdCluster::running(int i) const { return members_.at(i).pid > 0; }

void EtcdCluster::Start(int i) {
  Member& m = members_.at(i);
  const std::string client = ClientUrl(m.client_port);
  const std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
  const std::vector<std::string> args = {
      kEtcdBinary,
      "--name=" + m.name,
      "--data-dir=" + m.data_dir,
      "--listen-client-urls=" + client,
      "--advertise-client-urls=" + client,
      "--listen-peer-urls=" + peer,
      "--initial-advertise-peer-urls=" + peer,
      // Ignored by etcd when the data dir already holds a member (Restart).
      "--initial-cluster=" + initial_cluster_,
      "--initial-cluster-state=new",
      "--initial-cluster-token=" + token_,
      "--heartbeat-interval=50",
      "--election-timeout=500",
      "--auto-compaction-retention=0",
      // Room for what Beacon commits (a batch of many records, values up to a few MiB).
      "--max-txn-ops=10000",
      "--max-request-bytes=8388608",
      "--logger=zap",
      "--log-outputs=stderr",
  };
  // Everything the child needs is prepared before fork(): between fork and exec a child of a
  // multi-threaded process may only make async-signal-safe calls.
  std::vector<char*> argv;
  for (const std::string& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "ETCD", 4) != 0) {  // ETCD_* would override our flags
      envp.push_back(*e);
    }
  }
  envp.push_back(nullptr);
  const int log_fd = ::open(m.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    const int err = errno;
    if (log_fd >= 0) {
      ::close(log_fd);
    }
    if (null_fd >= 0) {
      ::close(null_fd);
    }
    throw std::runtime_error("EtcdCluster: open " + m.log_path + ": " + std::strerror(err));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(126);  // the parent died before prctl took effect
    }
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    // Sockets of the test process (Asio does not open them close-on-exec) must not live on in
    // etcd: a connection the test closes has to look closed to the other side.
    ::close_range(3, ~0U, 0);
    ::execve(kEtcdBinary, argv.data(), envp.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) {
    throw std::runtime_error(std::string("EtcdCluster: fork: ") + std::strerror(fork_errno));
  }
  m.pid = pid;
}

void EtcdCluster::Kill(int i) {
  Member& m = members_.at(i);
  if (m.pid <= 0) {
    return;
  }
  ::kill(m.pid, SIGKILL);
  int status = 0;
  while (::waitpid(m.pid, &status, 0) < 0 && errno == EINTR) {
  }
  m.pid = -1;
}

void EtcdCluster::Freeze(int i) {
  if (running(i)) {
    ::kill(members_[i].pid, SIGSTOP);
  }
}

void EtcdCluster::Thaw(int i) {
  if (running(i)) {
    ::kill(members_[i].pid, SIGCONT);
  }
}

void EtcdCluster::Restart(int i, std::chrono::milliseconds timeout) {
  Kill(i);
  Start(i);
  WaitHealthy({i}, timeout);
}

bool EtcdCluster::Healthy(int i) const {
  if (!running(i)) {
    return false;
  }
  HttpClient client("127.0.0.1", members_.at(i).client_port, kHttpTimeout);
  Response r = client.Request("GET", "/health");
  return r.status == 200 && StringField(r.body, "health") == "true";
}

void EtcdCluster::WaitHealthy(const std::vector<int>& which, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i : which) {
    for (;;) {
      Member& m = members_.at(i);
      int status = 0;
      if (m.pid > 0 && ::waitpid(m.pid, &status, WNOHANG) == m.pid) {
        m.pid = -1;
        throw std::runtime_error("EtcdCluster: member " + m.name + " exited during start-up:\n" +
                                 LogTail(i));
      }
      if (Healthy(i)) {
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        throw std::runtime_error("EtcdCluster: member " + m.name + " not healthy after " +
                                 std::to_string(timeout.count()) + " ms:\n" + LogTail(i));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

int EtcdCluster::LeaderIndex() const {
  std::vector<std::string> ids(members_.size());
  std::string leader;
  for (int i = 0; i < size(); ++i) {
    if (!running(i)) {
      continue;
    }
    HttpClient client("127.0.0.1", members_[i].client_port, kHttpTimeout);
    Response r = client.Request("POST", "/v3/maintenance/status", "{}",
                                {{"Content-Type", "application/json"}});
    if (r.status != 200) {
      continue;
    }
    ids[i] = StringField(r.body, "member_id");
    const std::string seen = StringField(r.body, "leader");
    if (leader.empty() && !seen.empty() && seen != "0") {
      leader = seen;
    }
  }
  for (int i = 0; i < size(); ++i) {
    if (!leader.empty() && ids[i] == leader) {
      return i;
    }
  }
  return -1;
}

bool EtcdCluster::Compact(int64_t revision, std::string* error) const {
  for (int i = 0; i < size(); ++i) {
    if (!running(i)) {
      continue;
    }
    HttpClient client("127.0.0.1", members_[i].client_port, std::chrono::seconds(5));
    Response r =
        client.Request("POST", "/v3/kv/compaction",
                       R"({"revision":")" + std::to_string(revision) + R"(","physical":true})",
                       {{"Content-Type", "application/json"}});
    if (r.status == 200) {
      return true;
    }
    if (error != nullptr) {
      *error = r.ToString();
    }
    if (r.status != 0 && r.status < 500) {
      return false;  // etcd's answer (e.g. already compacted): another member says the same
    }
  }
  return false;
}

std::string EtcdCluster::LogTail(int i, size_t max_bytes) const {
  std::ifstream in(members_.at(i).log_path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string log = ss.str();
  if (log.size() > max_bytes) {
    log = "..." + log.substr(log.size() - max_bytes);
  }
  return log;
}

}  // namespace beacon::testutil
