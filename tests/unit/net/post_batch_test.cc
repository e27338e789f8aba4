// net::PostBatch: inside a scope, posts to a loop reach it as one handler that runs them in the
// order they were made; outside a scope (or on another thread) net::Post is a plain post.
#include "net/post_batch.h"

#include <boost/asio/io_context.hpp>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace beacon::net {
namespace {

// Runs what is ready on `io` and returns how many handlers ran. restart() first: a poll that
// found nothing leaves the context stopped.
size_t Poll(boost::asio::io_context& io) {
  io.restart();
  return io.poll();
}

TEST(PostBatchTest, PostOutsideAScopeIsAPlainPost) {
  boost::asio::io_context io;
  std::vector<int> ran;
  Post(io, [&] { ran.push_back(1); });
  Post(io, [&] { ran.push_back(2); });
  EXPECT_EQ(PostBatch::Current(), nullptr);
  EXPECT_EQ(Poll(io), 2u);  // two handlers
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

TEST(PostBatchTest, EachLoopGetsOneHandlerRunningItsPostsInOrder) {
  boost::asio::io_context a;
  boost::asio::io_context b;
  std::vector<std::string> ran;
  {
    PostBatch batch;
    Post(a, [&] { ran.push_back("a1"); });
    Post(b.get_executor(), [&] { ran.push_back("b1"); });
    Post(a, [&] { ran.push_back("a2"); });
    Post(a, [&] { ran.push_back("a3"); });
    EXPECT_EQ(Poll(a), 0u) << "nothing is posted before the scope ends";
    EXPECT_EQ(Poll(b), 0u);
  }
  EXPECT_EQ(Poll(a), 1u);
  EXPECT_EQ(ran, (std::vector<std::string>{"a1", "a2", "a3"}));
  EXPECT_EQ(Poll(b), 1u);
  EXPECT_EQ(ran, (std::vector<std::string>{"a1", "a2", "a3", "b1"}));
}

TEST(PostBatchTest, AnInnerScopeJoinsTheOuterOne) {
  boost::asio::io_context io;
  std::vector<int> ran;
  {
    PostBatch outer;
    {
      PostBatch inner;
      Post(io, [&] { ran.push_back(1); });
      EXPECT_EQ(PostBatch::Current(), &outer);
    }
    EXPECT_EQ(Poll(io), 0u) << "the inner scope's end posts nothing";
    Post(io, [&] { ran.push_back(2); });
  }
  EXPECT_EQ(PostBatch::Current(), nullptr);
  EXPECT_EQ(Poll(io), 1u);
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

TEST(PostBatchTest, AScopeGathersOnlyItsOwnThreadsPosts) {
  boost::asio::io_context io;
  std::vector<int> ran;
  {
    PostBatch batch;
    std::thread other([&] { Post(io, [&] { ran.push_back(2); }); });
    other.join();
    Post(io, [&] { ran.push_back(1); });
    EXPECT_EQ(Poll(io), 1u) << "the other thread's post went straight to the loop";
    EXPECT_EQ(ran, (std::vector<int>{2}));
  }
  EXPECT_EQ(Poll(io), 1u);
  EXPECT_EQ(ran, (std::vector<int>{2, 1}));
}

}  // namespace
}  // namespace beacon::net
