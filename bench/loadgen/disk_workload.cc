// `disk` (W1 at concurrency 1): what the disk itself allows for one durable write at a time.
//
// Beacon's commit appends a record to a log segment that was filled with zeros ahead of time and
// calls fdatasync (src/store/sqlite/sqlite_store.cc), so a registration at concurrency 1 can never
// be acknowledged faster than one such append. This mode makes the same kind of file in `dir`
// (the filesystem the agent's data directory is on), then appends `bytes`-byte records, each
// followed by fdatasync, one at a time, for `count` records or `max_seconds`, whichever ends
// first. bench/run.sh runs it right before and after Beacon's W1 c=1 runs, so the table shows
// the disk's own rate at the time beside Beacon's (on a shared VM it moves by 2x within minutes).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "loadgen/histogram.h"
#include "loadgen/loop_util.h"
#include "loadgen/workload_common.h"

namespace beacon::bench {

int RunDisk(const DiskOptions& opt) {
  if (opt.dir.empty() || opt.bytes <= 0 || opt.count <= 0 || opt.file_mb <= 0 ||
      static_cast<int64_t>(opt.bytes) * opt.count > int64_t{opt.file_mb} << 20) {
    std::fprintf(stderr, "loadgen: disk: need --dir, and bytes x count within --file-mb\n");
    return 1;
  }
  std::string path = opt.dir + "/beacon-loadgen-disk-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    std::fprintf(stderr, "loadgen: disk: cannot create a file in %s: %s\n", opt.dir.c_str(),
                 std::strerror(errno));
    return 1;
  }
  ::unlink(path.c_str());  // gone when closed, whatever happens below
  const std::string zeros(1 << 20, '\0');
  bool ok = true;
  for (int mb = 0; mb < opt.file_mb && ok; ++mb) {
    ok = ::pwrite(fd, zeros.data(), zeros.size(), int64_t{mb} << 20) ==
         static_cast<ssize_t>(zeros.size());
  }
  ok = ok && ::fdatasync(fd) == 0;
  const std::string record(static_cast<size_t>(opt.bytes), 'r');
  LatencyHistogram latency;
  int64_t done = 0;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + FromSeconds(opt.max_seconds);
  while (ok && done < opt.count && Clock::now() < end) {
    const Clock::time_point t0 = Clock::now();
    ok = ::pwrite(fd, record.data(), record.size(), done * opt.bytes) ==
             static_cast<ssize_t>(record.size()) &&
         ::fdatasync(fd) == 0;
    latency.Record(Nanos(Clock::now() - t0));
    ++done;
  }
  const double seconds = Seconds(Clock::now() - start);
  const int err = errno;  // of the failed call, if any: close may overwrite it
  ::close(fd);
  if (!ok) {
    std::fprintf(stderr, "loadgen: disk: write or fdatasync failed: %s\n", std::strerror(err));
    return 1;
  }
  JsonLine line;
  line.Add("tool", "beacon_loadgen").Add("mode", "disk").Add("peer", "disk");
  if (!opt.label.empty()) {
    line.Add("label", opt.label);
  }
  line.Add("dir", opt.dir)
      .Add("bytes", opt.bytes)
      .Add("syncs", done)
      .Add("seconds", seconds)
      .Add("rps", seconds > 0 ? static_cast<double>(done) / seconds : 0.0)
      .AddLatency("", latency);
  std::printf("%s\n", line.str().c_str());
  return 0;
}

}  // namespace beacon::bench
