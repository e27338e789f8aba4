// DnsServer: the DNS interface on UDP and TCP, on the agent's IoPool loops (consul-api.md 6).
//
// UDP: one socket per loop, all bound to the same address and port with SO_REUSEPORT, so the
// kernel spreads clients over the loops. Each loop drains its socket with recvmmsg/sendmmsg in
// batches (non-blocking; it waits for readiness through Asio), answering every datagram with
// Respond() from the loop's own snapshot.
// TCP: one acceptor on the first loop; each connection is handed to a loop round-robin and served
// there by one coroutine (2-byte length framing, several queries per connection, an idle
// timeout), as HttpServer does.
//
// Each loop keeps its own catalog snapshot, replaced by posts from Publish() (called on the
// catalog's writer thread), so the query path takes no lock.
//
// Teardown order (as for HttpServer): Stop(), then stop the pool (join its threads), then destroy
// the DnsServer, then the pool. The sockets belong to the server and must go before the
// io_contexts they are registered with; the coroutines never run again once the pool has
// stopped, and their frames, destroyed with the contexts, touch nothing the server owned.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "catalog/snapshot.h"
#include "common/metrics.h"
#include "common/status.h"
#include "dns/options.h"
#include "net/io_pool.h"

namespace beacon::dns {

struct DnsServerOptions {
  std::string address = "127.0.0.1";  // the HTTP bind address by default (contract 6)
  // The same number is used for UDP and TCP. 0 = a free port (UDP and TCP both free), read back
  // with port().
  uint16_t port = 8600;
  DnsOptions dns;
  // Where `dns.queries` (by protocol and rcode) is counted; nullptr = not counted. Must outlive
  // the server.
  MetricsRegistry* metrics = nullptr;
};

class DnsServer {
 public:
  // Binds UDP and TCP and starts serving on the pool's loops (the pool may already be running).
  // `initial` is every loop's first snapshot. Fails when the address is invalid or the port
  // cannot be bound for UDP or TCP.
  static Result<std::unique_ptr<DnsServer>> Start(net::IoPool& pool, DnsServerOptions options,
                                                  catalog::SnapshotPtr initial);
  // Stop()s. REQUIRES: the pool's threads have stopped (see the teardown order above).
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  uint16_t port() const { return port_; }

  // Hands a newly published snapshot to every loop. Thread-safe.
  void Publish(const catalog::SnapshotPtr& snapshot);

  // Closes the UDP sockets and the acceptor (on their loops). Open TCP connections end with the
  // pool. Idempotent; thread-safe.
  void Stop();

  struct State;  // shared with the coroutines; defined in server.cc

 private:
  DnsServer() = default;

  std::unique_ptr<State> state_;
  uint16_t port_ = 0;
};

}  // namespace beacon::dns
