// IoPool: one io_context per thread, one thread per core (STYLE.md section 5, "A loop per core").
//
// A connection is assigned to one loop when it is accepted and stays there for life, so code
// that runs for that connection is single-threaded. Other threads talk to a loop by posting to
// its executor.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace beacon::net {

class IoPool {
 public:
  // REQUIRES: threads >= 1.
  explicit IoPool(size_t threads);
  ~IoPool();  // Stop()s and joins
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  size_t size() const { return contexts_.size(); }
  boost::asio::io_context& Get(size_t i) { return *contexts_[i]; }
  // Round-robin choice for a new connection. Thread-safe.
  size_t NextIndex();

  // Starts the threads. Each runs its context until Stop().
  void Start();
  // Stops every context and joins the threads. Idempotent.
  void Stop();

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<WorkGuard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace beacon::net
