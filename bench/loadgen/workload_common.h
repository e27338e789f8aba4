// Pieces every workload shares: the JSON line's common fields and CPU accounting over the
// measured window (how busy the load generator and the server were), which tells a reader whether
// a figure is bounded by the server, by the client, or by neither (waiting on the disk).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/loop_util.h"
#include "loadgen/proc_stats.h"
#include "loadgen/report.h"
#include "loadgen/workloads.h"

namespace beacon::bench {

std::string_view PeerName(Peer peer);
// "host:port", for the Host header.
std::string HostHeader(const CommonOptions& common);
// A JSON line that starts with tool, mode, peer and (when set) label.
JsonLine StartLine(std::string_view mode, const CommonOptions& common);

// CPU counters at the start of a measured window.
class CpuWindow {
 public:
  explicit CpuWindow(int server_pid);
  // Adds client_cpu and (with a server pid) server_cpu, each the fraction of one core used since
  // construction, server_rss_kb, and cpuN_busy for every core (1 - idle share, from /proc/stat;
  // unlike the per-process figures it includes interrupt and softirq time, where loopback TCP
  // receive work is charged).
  void AddTo(JsonLine& line) const;

 private:
  int server_pid_;
  Clock::time_point start_;
  int64_t self_cpu_ns_;
  int64_t server_cpu_ns_;
  std::vector<CoreTimes> cores_;
};

}  // namespace beacon::bench
