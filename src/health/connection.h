// Connection: the one socket a probe attempt uses, optionally wrapped in TLS, plus the attempt's
// deadline (STYLE.md section 5: "a timeout per attempt").
//
// Every attempt arms one timer for its whole duration; when it fires it closes the socket, so
// whatever the attempt is waiting on (connect, handshake, a read from a server that never
// answers or never stops sending) completes at once with an error and the attempt reports a
// timeout. The timer's handler holds a shared_ptr to the Connection, so a handler that was already
// queued when the attempt finished still finds a live object.
//
// Connection is an AsyncReadStream/AsyncWriteStream (plain or TLS underneath), so Beast's parsers
// and asio::async_write work on it directly.
//
// Keep-alive (HTTP checks, http_probe.h): an attempt may end with Disarm() instead of Finish(),
// leaving the socket open for the check's next attempt. While it sits idle, StartIdle() watches
// it: nothing may arrive on an idle HTTP/1.1 connection, so readiness means the server closed or
// reset it (or sent bytes nobody asked for), and the socket is closed at once rather than kept in
// CLOSE_WAIT until the next attempt finds it dead. Each arm/watch has an epoch, so a completion
// that was already queued when the deadline or the watch was cancelled does nothing.
//
// Thread rule: a Connection lives on one loop; every call and every completion is on that loop.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "health/target.h"

namespace beacon::health {

// The client TLS contexts every probe shares: one that verifies the server's chain against the
// system's trust store, one that does not (TLSSkipVerify). SSL_CTX is safe to share between
// threads once configured; each attempt gets its own SSL object.
class TlsContexts {
 public:
  // Fails only when OpenSSL cannot create a context (out of memory, broken installation).
  static Result<std::unique_ptr<TlsContexts>> Create();
  boost::asio::ssl::context& verifying() { return verify_; }
  boost::asio::ssl::context& skipping() { return skip_; }

 private:
  TlsContexts();
  boost::asio::ssl::context verify_;
  boost::asio::ssl::context skip_;
};

struct TlsOptions {
  bool skip_verify = false;
  // SNI and the name the certificate must match; "" = the host being connected to. An IP literal
  // is matched against the certificate's IP SANs and sent without SNI (RFC 6066).
  std::string server_name;
  // ALPN protocols to offer, e.g. {"h2"} for gRPC; empty = no ALPN extension.
  std::vector<std::string> alpn;
};

class Connection {
 public:
  using executor_type = boost::asio::any_io_executor;

  explicit Connection(executor_type executor);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  executor_type get_executor() { return executor_; }

  // Arms the attempt's deadline. `self` must own this Connection; the timer keeps it alive until
  // it fires or Disarm() runs.
  static void ArmDeadline(const std::shared_ptr<Connection>& self,
                          std::chrono::steady_clock::duration timeout);
  // The same with an absolute deadline: an attempt that moves on to a fresh connection (a kept
  // one turned out dead) keeps the deadline it started with. Clears timed_out().
  static void ArmDeadline(const std::shared_ptr<Connection>& self,
                          std::chrono::steady_clock::time_point deadline);
  // Cancels the deadline and closes the socket. Idempotent.
  void Finish();
  // Cancels the deadline and leaves the socket open, to be kept for the next attempt.
  void Disarm();
  // True once the deadline fired: every later failure of this attempt is a timeout.
  bool timed_out() const { return timed_out_; }
  // False once closed (Finish, the deadline, or the idle watch saw the server hang up).
  bool is_open() { return Lowest().is_open(); }

  // Starts an idle period between two attempts: notes the time and closes the socket as soon as
  // it turns readable (the server closed or reset it). The watch holds only a weak reference;
  // whoever keeps the connection owns it. REQUIRES: open, Disarm()ed, no operation pending.
  static void StartIdle(const std::shared_ptr<Connection>& self);
  // Ends the idle period (cancels the watch). True when the connection is still open and was idle
  // for no longer than `max_idle`; otherwise it is closed and false is returned.
  bool EndIdle(std::chrono::steady_clock::duration max_idle);

  // Resolves `address` (unless it is an IP literal) and connects to the first endpoint that
  // accepts. Returns "" on success, else the error text in Go's words, as Consul prints it
  // ("dial tcp 127.0.0.1:1: connect: Connection refused"). The coroutine takes the Connection by shared_ptr value (STYLE.md section 4).
  static boost::asio::awaitable<std::string> Connect(std::shared_ptr<Connection> self,
                                                     HostPort address);
  // Wraps the connected socket in TLS and performs the handshake. "" on success, else the error.
  // REQUIRES: Connect succeeded.
  static boost::asio::awaitable<std::string> StartTls(std::shared_ptr<Connection> self,
                                                      boost::asio::ssl::context& context,
                                                      TlsOptions options, std::string host);

  // The negotiated ALPN protocol ("" when none or not TLS).
  std::string AlpnSelected() const;

  // AsyncReadStream / AsyncWriteStream.
  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (tls_) {
            tls_->async_read_some(b, std::move(handler));
          } else {
            socket_.async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            socket_.async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  boost::asio::ip::tcp::socket& Lowest() { return tls_ ? tls_->next_layer() : socket_; }

  executor_type executor_;
  boost::asio::ip::tcp::socket socket_;  // moved into tls_ by StartTls
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  boost::asio::steady_timer deadline_;
  bool timed_out_ = false;
  uint32_t deadline_epoch_ = 0;  // bumped by every arm and cancel of the deadline
  uint32_t idle_epoch_ = 0;      // bumped by every start and end of an idle watch
  std::chrono::steady_clock::time_point idle_since_;
};

// "1s", "1.5s", "250ms": how Consul prints durations in timeout messages.
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace beacon::health
