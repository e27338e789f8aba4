// Small Asio helpers shared by the workloads: a steady clock alias, a coroutine sleep, a
// countdown latch and loopback endpoint resolution.
//
// Thread safety: everything here lives on one io_context thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace beacon::bench {

using Clock = std::chrono::steady_clock;

inline int64_t Nanos(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}
inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
inline Clock::duration FromSeconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Suspends the calling coroutine for `d`.
boost::asio::awaitable<void> SleepFor(Clock::duration d);

// Counts down from `count`; Wait() resumes when it reaches zero or at a deadline.
class Latch {
 public:
  Latch(boost::asio::any_io_executor executor, int64_t count);
  void CountDown();
  int64_t remaining() const { return remaining_; }
  // True when the count reached zero before `deadline`.
  boost::asio::awaitable<bool> Wait(Clock::time_point deadline);

 private:
  boost::asio::steady_timer timer_;
  int64_t remaining_;
};

// host:port as an endpoint, or nullopt (with a message on stderr) when the host is not a
// loopback address: load is only ever generated against this machine.
std::optional<boost::asio::ip::tcp::endpoint> LoopbackEndpoint(const std::string& host, int port);

}  // namespace beacon::bench
