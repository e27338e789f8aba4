#include "net/io_pool.h"

namespace beacon::net {

IoPool::IoPool(size_t threads) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so Asio can skip locking.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

IoPool::~IoPool() { Stop(); }

size_t IoPool::NextIndex() { return next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size(); }

void IoPool::Start() {
  for (auto& ctx : contexts_) {
    threads_.emplace_back([c = ctx.get()] { c->run(); });
  }
}

void IoPool::Stop() {
  guards_.clear();
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace beacon::net
