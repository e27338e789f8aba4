// Process statistics read from /proc, for reporting a server's memory and CPU beside a load.
//
// All functions read Linux /proc files synchronously (a few microseconds each) and return a
// negative value when the process or the field is not there; they never throw.
#pragma once

#include <cstdint>
#include <vector>

namespace beacon::bench {

// VmRSS of `pid` in KiB (/proc/<pid>/status), or -1.
int64_t ReadRssKb(int pid);

// User plus system CPU time of `pid` and all its threads, in nanoseconds (/proc/<pid>/stat
// utime + stime, which have clock-tick resolution, usually 10 ms), or -1.
int64_t ReadCpuNs(int pid);

// Cumulative jiffies of one core from /proc/stat: all states, and idle + iowait.
struct CoreTimes {
  int64_t total = 0;
  int64_t idle = 0;
};
// One entry per "cpuN" line of /proc/stat, in order; empty when unreadable.
std::vector<CoreTimes> ReadCoreTimes();

// CPU time (user + system) this process has used so far, in nanoseconds.
int64_t SelfCpuNs();

}  // namespace beacon::bench
