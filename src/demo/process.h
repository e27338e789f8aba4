// ChildProcess: a child started with posix_spawn whose stdin and stdout are pipes to us.
//
// The child's stdin is a pipe we hold the write end of: when we exit -- even by SIGKILL -- the
// kernel closes it, the child reads EOF and can stop on its own, so no child outlives the demo.
// Every wait is bounded by a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "beacon/status.h"

namespace beacon::demo {

class ChildProcess {
 public:
  // Starts `argv[0]` (a path) with `argv`; stderr is inherited.
  static client::Result<ChildProcess> Spawn(const std::vector<std::string>& argv);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // SIGKILLs and reaps a child still running

  pid_t pid() const { return pid_; }

  // The next line the child writes to stdout (without the newline), or nullopt if none came
  // within `timeout` or the child closed stdout.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);

  // Sends `signal` (no-op once reaped).
  void Signal(int signal);
  // Waits up to `timeout` for the child to exit and reaps it. True once it has exited.
  bool Wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; always reaps. Returns how it ended ("exited 0",
  // "killed by signal 9").
  std::string Stop(std::chrono::milliseconds grace);
  bool running() const { return pid_ > 0 && !reaped_; }

 private:
  ChildProcess() = default;
  void CloseFds();

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  int stdin_fd_ = -1;   // write end of the child's stdin
  int stdout_fd_ = -1;  // read end of the child's stdout
  std::string buffer_;  // read but not yet returned
};

}  // namespace beacon::demo
