// PostBatch: posts made on one thread, gathered and sent to each loop as one handler.
//
// The catalog's writer posts several handlers to the same loops after every commit: the new
// snapshot to the HTTP and DNS loops and the check runner, each write's completion, then the
// wake-up of parked queries. Every post to an idle loop wakes its thread (Asio re-arms its
// interrupter with an epoll_ctl), and on one core the woken loop preempts the writer, which may
// still hold the loop's queue lock for its next post. Inside a PostBatch scope, net::Post
// appends to a per-loop list instead; when the outermost scope ends, each loop gets one handler
// that runs its list in the order the posts were made. Order within a loop is therefore what
// separate posts would have given; nothing is ordered across loops, as before.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <utility>
#include <vector>

namespace beacon::net {

class PostBatch {
 public:
  // Opens a scope on this thread. A scope opened inside another one joins it: only the
  // outermost posts.
  PostBatch();
  // Posts one handler per loop that received posts in the scope (outermost scope only).
  ~PostBatch();
  PostBatch(const PostBatch&) = delete;
  PostBatch& operator=(const PostBatch&) = delete;

  // The outermost scope open on this thread, or nullptr.
  static PostBatch* Current();

  // Appends `fn` to the list of `executor`'s loop. Call it on the outermost scope (Post does).
  void Add(const boost::asio::any_io_executor& executor, std::function<void()> fn);

 private:
  struct Target {
    boost::asio::any_io_executor executor;
    const void* context = nullptr;  // the execution context: the key
    std::vector<std::function<void()>> handlers;
  };
  bool outermost_ = false;
  std::vector<Target> targets_;
};

// asio::post(executor, fn), or appended to this thread's PostBatch if one is open.
void Post(const boost::asio::any_io_executor& executor, std::function<void()> fn);
inline void Post(boost::asio::io_context& context, std::function<void()> fn) {
  Post(boost::asio::any_io_executor(context.get_executor()), std::move(fn));
}

}  // namespace beacon::net
