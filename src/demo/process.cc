#include "demo/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace beacon::demo {

client::Result<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv) {
  int in[2];
  int out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    return client::InternalError(std::string("pipe: ") + std::strerror(errno));
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    int e = errno;
    close(in[0]);
    close(in[1]);
    return client::InternalError(std::string("pipe: ") + std::strerror(e));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears FD_CLOEXEC on the copy, so only fds 0 and 1 reach the child.
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child must not inherit our blocked signals: SIGTERM has to stop it.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    return client::InternalError("start " + argv[0] + ": " + std::strerror(rc));
  }
  ChildProcess child;
  child.pid_ = pid;
  child.stdin_fd_ = in[1];
  child.stdout_fd_ = out[0];
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_),
      reaped_(other.reaped_),
      status_(other.status_),
      stdin_fd_(other.stdin_fd_),
      stdout_fd_(other.stdout_fd_),
      buffer_(std::move(other.buffer_)) {
  other.pid_ = -1;
  other.stdin_fd_ = -1;
  other.stdout_fd_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (running()) {
      Stop(std::chrono::milliseconds(0));
    }
    CloseFds();
    pid_ = other.pid_;
    reaped_ = other.reaped_;
    status_ = other.status_;
    stdin_fd_ = other.stdin_fd_;
    stdout_fd_ = other.stdout_fd_;
    buffer_ = std::move(other.buffer_);
    other.pid_ = -1;
    other.stdin_fd_ = -1;
    other.stdout_fd_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (running()) {
    Stop(std::chrono::milliseconds(0));
  }
  CloseFds();
}

void ChildProcess::CloseFds() {
  if (stdin_fd_ >= 0) {
    close(stdin_fd_);
    stdin_fd_ = -1;
  }
  if (stdout_fd_ >= 0) {
    close(stdout_fd_);
    stdout_fd_ = -1;
  }
}

std::optional<std::string> ChildProcess::ReadLine(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (stdout_fd_ < 0) {
      return std::nullopt;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return std::nullopt;
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return std::nullopt;
    }
    char buf[512];
    ssize_t got = read(stdout_fd_, buf, sizeof(buf));
    if (got <= 0) {
      if (got < 0 && errno == EINTR) {
        continue;
      }
      return std::nullopt;  // EOF: the child closed stdout (or died)
    }
    buffer_.append(buf, static_cast<size_t>(got));
  }
}

void ChildProcess::Signal(int signal) {
  if (running()) {
    kill(pid_, signal);
  }
}

bool ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0 || reaped_) {
    return true;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pid_t r = waitpid(pid_, &status_, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      reaped_ = true;
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    // waitpid has no timeout: poll it, a few ms at a time, until the deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) {
    return "not started";
  }
  if (!reaped_) {
    Signal(SIGTERM);
    if (!Wait(grace)) {
      Signal(SIGKILL);
      // SIGKILL cannot be caught: the child is gone as soon as the kernel gets to it.
      Wait(std::chrono::seconds(10));
    }
  }
  if (WIFSIGNALED(status_)) {
    return "killed by signal " + std::to_string(WTERMSIG(status_));
  }
  return "exited " + std::to_string(WEXITSTATUS(status_));
}

}  // namespace beacon::demo
