#include "loadgen/proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace beacon::bench {

int64_t ReadRssKb(int pid) {
  if (pid <= 0) {
    return -1;
  }
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoll(line.substr(6));  // "VmRSS:	  123456 kB"
    }
  }
  return -1;
}

int64_t ReadCpuNs(int pid) {
  if (pid <= 0) {
    return -1;
  }
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces and parentheses; fields are counted after the
  // last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after it.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) {
    return -1;
  }
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  int64_t ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) {
      ticks += std::stoll(field);
    }
  }
  const long hz = sysconf(_SC_CLK_TCK);
  return hz > 0 ? ticks * (1'000'000'000 / hz) : -1;
}

std::vector<CoreTimes> ReadCoreTimes() {
  std::vector<CoreTimes> cores;
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    // "cpu0 user nice system idle iowait irq softirq steal guest guest_nice"; skip the "cpu " sum.
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] == ' ') {
      continue;
    }
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    CoreTimes t;
    int64_t v = 0;
    for (int i = 0; i < 8 && fields >> v; ++i) {  // guest time is already inside user
      t.total += v;
      if (i == 3 || i == 4) {
        t.idle += v;
      }
    }
    cores.push_back(t);
  }
  return cores;
}

int64_t SelfCpuNs() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto ns = [](const timeval& tv) {
    return static_cast<int64_t>(tv.tv_sec) * 1'000'000'000 +
           static_cast<int64_t>(tv.tv_usec) * 1000;
  };
  return ns(usage.ru_utime) + ns(usage.ru_stime);
}

}  // namespace beacon::bench
