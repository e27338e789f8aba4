// HttpServer: HTTP/1.1 keep-alive server on the IoPool's loops (Boost.Beast parser, C++20
// coroutines).
//
// One acceptor; each accepted connection is handed to a loop chosen round-robin and served there
// by one coroutine for its whole life, so handlers run single-threaded per loop. Each loop keeps
// its own LoopState: the catalog snapshot it answers from (replaced by posts from the catalog's
// writer, never locked) and the blocking queries parked on it.
//
// Responses are written straight from the handler's body (or a shared immutable encoding) with
// one gathered write: no copy of the body per request.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <unordered_set>
#include <string>
#include <vector>

#include "catalog/snapshot.h"
#include "common/metrics.h"
#include "common/status.h"
#include "http/message.h"
#include "http/read_cache.h"
#include "http/watch_registry.h"
#include "net/io_pool.h"

namespace beacon::http {

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8500;  // 0 = any free port (read it back with port())
  // Largest request body accepted; larger ones get 413 before the body is read. Consul's own
  // limit for KV values is 512 KiB; registrations are far smaller.
  size_t max_body_bytes = 512 * 1024;
  // Largest request line plus headers; larger get 431.
  size_t max_header_bytes = 64 * 1024;
  // Most open connections; more are answered 503 and closed. Also bounded by the process's file
  // descriptor limit (the agent raises the soft limit to the hard one).
  size_t max_connections = 65536;
  // Requests served on one connection before it is closed (0 = no limit).
  size_t max_requests_per_connection = 0;
  // A connection with no request in progress is closed after this long.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(90)};
  // A request must arrive completely (headers and body) within this long of its first byte, or
  // it is answered 408 and the connection closed: a slow client cannot hold the server. Blocking
  // queries are not affected: their wait starts after the request was read.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  // Open connections and parked blocking queries are reported here; nullptr = not reported.
  MetricsRegistry* metrics = nullptr;
};

// What the loop's watchdog knows of one connection. Touched only by its loop's thread.
struct ConnectionState {
  boost::asio::ip::tcp::socket* socket = nullptr;
  bool reading = false;  // waiting for or reading a request (not in a handler)
  std::chrono::steady_clock::time_point read_started;
  std::chrono::steady_clock::time_point first_byte_seen;  // when the watchdog first saw bytes
  bool (*got_some)(const void* parser) = nullptr;  // has the current request begun to arrive?
  const void* parser = nullptr;
  bool timed_out = false;  // the watchdog cancelled the read
};

// Per-loop state. Touched only by its loop's thread.
struct LoopState {
  catalog::SnapshotPtr snapshot;
  WatchRegistry watches;
  ReadCache cache;
  // Set when the server drains for shutdown: parked queries answer now, connections close after
  // their current response.
  bool draining = false;
  // Every open connection of this loop, for the watchdog and for draining.
  std::unordered_set<struct ConnectionState*> connections;
  std::minstd_rand rng{std::random_device{}()};
};

// What a handler gets besides the request: its loop and the connection's socket (to notice a
// client that goes away while its blocking query is parked).
struct RequestEnv {
  LoopState& loop;
  boost::asio::ip::tcp::socket& socket;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Never throws; errors are responses.
  virtual boost::asio::awaitable<HttpResponse> Handle(HttpRequest& request, RequestEnv& env) = 0;
};

class HttpServer {
 public:
  // Binds and starts accepting on the pool's first loop. `initial` is every loop's first snapshot.
  // The pool may already be running. Fails when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(net::IoPool& pool, RequestHandler& handler,
                                                   HttpServerOptions options,
                                                   catalog::SnapshotPtr initial);
  ~HttpServer();

  uint16_t port() const { return port_; }

  // Hands a newly published snapshot to every loop. Thread-safe (called on the catalog's writer
  // thread, before the batch's acknowledgements, so a client's next request sees its write).
  void Publish(const catalog::SnapshotPtr& snapshot);
  // Wakes the blocking queries `changes` concerns. Thread-safe (called on the writer thread
  // after the batch's acknowledgements were handed to the loops, so a big fan-out never delays
  // them).
  void Wake(const catalog::ChangeSet& changes);

  // Stops accepting. Open connections end with the pool.
  void StopAccepting();

  // Graceful shutdown: stops accepting, answers every parked blocking query with its current
  // result, closes idle connections, and waits until in-flight requests have been answered or
  // `timeout` passed. Returns the number of requests still in flight (0 = clean). Thread-safe;
  // must not run on one of the pool's loops.
  int Drain(std::chrono::milliseconds timeout);

 private:
  HttpServer(net::IoPool& pool, RequestHandler& handler, HttpServerOptions options);
  boost::asio::awaitable<void> Accept();
  // Once a second: closes connections idle for too long and times out slow requests.
  boost::asio::awaitable<void> Watchdog(size_t loop);
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket, size_t loop);

  net::IoPool& pool_;
  RequestHandler& handler_;
  HttpServerOptions options_;
  std::vector<std::unique_ptr<LoopState>> loops_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  Gauge* open_connections_ = nullptr;
  Counter* timeouts_ = nullptr;
  Counter* rejected_ = nullptr;
  std::atomic<int> in_flight_{0};
  std::atomic<size_t> connections_{0};
  std::atomic<bool> accepting_{true};
};

}  // namespace beacon::http
