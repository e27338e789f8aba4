#include "loadgen/loop_util.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

namespace beacon::bench {

namespace asio = boost::asio;

asio::awaitable<void> SleepFor(Clock::duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

Latch::Latch(asio::any_io_executor executor, int64_t count)
    : timer_(std::move(executor)), remaining_(count) {}

void Latch::CountDown() {
  if (remaining_ > 0 && --remaining_ == 0) {
    timer_.cancel();
  }
}

asio::awaitable<bool> Latch::Wait(Clock::time_point deadline) {
  // The count is re-checked after every wake-up: cancel() from CountDown() and the deadline both
  // end a wait, and a cancel issued while nobody waits is simply lost, which is fine because the
  // count is checked before waiting.
  while (remaining_ > 0 && Clock::now() < deadline) {
    timer_.expires_at(deadline);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return remaining_ == 0;
}

std::optional<asio::ip::tcp::endpoint> LoopbackEndpoint(const std::string& host, int port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec || !address.is_loopback()) {
    std::fprintf(stderr, "loadgen: --host must be a loopback address, got \"%s\"\n", host.c_str());
    return std::nullopt;
  }
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "loadgen: --port is required (1-65535)\n");
    return std::nullopt;
  }
  return asio::ip::tcp::endpoint(address, static_cast<uint16_t>(port));
}

}  // namespace beacon::bench
