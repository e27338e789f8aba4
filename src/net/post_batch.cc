#include "net/post_batch.h"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>

namespace beacon::net {

namespace {
thread_local PostBatch* current_batch = nullptr;

const void* ContextOf(const boost::asio::any_io_executor& executor) {
  return &boost::asio::query(executor, boost::asio::execution::context);
}
}  // namespace

PostBatch::PostBatch() {
  if (current_batch == nullptr) {
    current_batch = this;
    outermost_ = true;
  }
}

PostBatch::~PostBatch() {
  if (!outermost_) return;
  current_batch = nullptr;
  for (Target& t : targets_) {
    if (t.handlers.size() == 1) {
      boost::asio::post(t.executor, std::move(t.handlers.front()));
      continue;
    }
    boost::asio::post(t.executor, [handlers = std::move(t.handlers)] {
      for (const auto& h : handlers) h();
    });
  }
}

PostBatch* PostBatch::Current() { return current_batch; }

void PostBatch::Add(const boost::asio::any_io_executor& executor, std::function<void()> fn) {
  const void* context = ContextOf(executor);
  for (Target& t : targets_) {
    if (t.context == context) {
      t.handlers.push_back(std::move(fn));
      return;
    }
  }
  targets_.push_back(Target{executor, context, {}});
  targets_.back().handlers.push_back(std::move(fn));
}

void Post(const boost::asio::any_io_executor& executor, std::function<void()> fn) {
  if (PostBatch* batch = PostBatch::Current()) {
    batch->Add(executor, std::move(fn));
    return;
  }
  boost::asio::post(executor, std::move(fn));
}

}  // namespace beacon::net
