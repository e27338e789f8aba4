#include "loadgen/workload_common.h"

#include <fmt/format.h>

namespace beacon::bench {

std::string_view PeerName(Peer peer) { return peer == Peer::kEtcd ? "etcd" : "beacon"; }

std::string HostHeader(const CommonOptions& common) {
  return fmt::format("{}:{}", common.host, common.port);
}

JsonLine StartLine(std::string_view mode, const CommonOptions& common) {
  JsonLine line;
  line.Add("tool", "beacon_loadgen").Add("mode", mode).Add("peer", PeerName(common.peer));
  if (!common.label.empty()) {
    line.Add("label", common.label);
  }
  return line;
}

CpuWindow::CpuWindow(int server_pid)
    : server_pid_(server_pid),
      start_(Clock::now()),
      self_cpu_ns_(SelfCpuNs()),
      server_cpu_ns_(ReadCpuNs(server_pid)),
      cores_(ReadCoreTimes()) {}

void CpuWindow::AddTo(JsonLine& line) const {
  const double wall_ns = static_cast<double>(Nanos(Clock::now() - start_));
  if (wall_ns <= 0) {
    return;
  }
  line.Add("client_cpu", static_cast<double>(SelfCpuNs() - self_cpu_ns_) / wall_ns);
  if (server_pid_ > 0) {
    const int64_t now = ReadCpuNs(server_pid_);
    if (now >= 0 && server_cpu_ns_ >= 0) {
      line.Add("server_cpu", static_cast<double>(now - server_cpu_ns_) / wall_ns);
    }
    line.Add("server_rss_kb", ReadRssKb(server_pid_));
  }
  const std::vector<CoreTimes> now = ReadCoreTimes();
  for (size_t i = 0; i < now.size() && i < cores_.size(); ++i) {
    const double total = static_cast<double>(now[i].total - cores_[i].total);
    const double idle = static_cast<double>(now[i].idle - cores_[i].idle);
    if (total > 0) {
      line.Add(fmt::format("cpu{}_busy", i), 1.0 - idle / total);
    }
  }
}

}  // namespace beacon::bench
