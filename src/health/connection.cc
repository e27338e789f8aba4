#include "health/connection.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl/error.hpp>

#include <fmt/format.h>

namespace beacon::health {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

TlsContexts::TlsContexts()
    : verify_(asio::ssl::context::tls_client), skip_(asio::ssl::context::tls_client) {}

Result<std::unique_ptr<TlsContexts>> TlsContexts::Create() {
  std::unique_ptr<TlsContexts> c(new TlsContexts());
  boost::system::error_code ec;
  c->verify_.set_default_verify_paths(ec);
  if (ec) {
    return Internal("health: cannot load the system trust store: " + ec.message());
  }
  c->verify_.set_verify_mode(asio::ssl::verify_peer, ec);
  c->skip_.set_verify_mode(asio::ssl::verify_none, ec);
  if (ec) {
    return Internal("health: cannot configure TLS: " + ec.message());
  }
  return c;
}

Connection::Connection(executor_type executor)
    : executor_(executor), socket_(executor), deadline_(executor) {}

Connection::~Connection() = default;

void Connection::ArmDeadline(const std::shared_ptr<Connection>& self,
                             std::chrono::steady_clock::duration timeout) {
  ArmDeadline(self, std::chrono::steady_clock::now() + timeout);
}

void Connection::ArmDeadline(const std::shared_ptr<Connection>& self,
                             std::chrono::steady_clock::time_point deadline) {
  self->timed_out_ = false;
  self->deadline_.expires_at(deadline);
  const uint32_t epoch = ++self->deadline_epoch_;
  // Capturing the shared_ptr keeps the Connection alive while the handler is queued; the attempt
  // ends with Finish() or Disarm(), which cancel the wait and so release it.
  self->deadline_.async_wait([self, epoch](boost::system::error_code ec) {
    // A deadline that expired just before it was cancelled still completes without an error:
    // the epoch tells that the attempt it belonged to is over (the connection may be kept).
    if (ec || epoch != self->deadline_epoch_) {
      return;
    }
    self->timed_out_ = true;
    boost::system::error_code ignored;
    self->Lowest().close(ignored);
  });
}

void Connection::Disarm() {
  ++deadline_epoch_;
  deadline_.cancel();
}

void Connection::Finish() {
  Disarm();
  boost::system::error_code ignored;
  Lowest().close(ignored);
}

void Connection::StartIdle(const std::shared_ptr<Connection>& self) {
  self->idle_since_ = std::chrono::steady_clock::now();
  const uint32_t epoch = ++self->idle_epoch_;
  // Weak: the owner (a check's session) decides how long the connection lives; a pending watch
  // must not keep a removed check's socket open.
  std::weak_ptr<Connection> weak = self;
  self->Lowest().async_wait(tcp::socket::wait_read, [weak, epoch](boost::system::error_code ec) {
    std::shared_ptr<Connection> c = weak.lock();
    if (ec == asio::error::operation_aborted || !c || epoch != c->idle_epoch_) {
      return;  // EndIdle() or Finish() came first
    }
    boost::system::error_code ignored;
    c->Lowest().close(ignored);
  });
}

bool Connection::EndIdle(std::chrono::steady_clock::duration max_idle) {
  ++idle_epoch_;
  boost::system::error_code ignored;
  Lowest().cancel(ignored);  // completes the watch with operation_aborted
  if (!Lowest().is_open()) {
    return false;
  }
  if (std::chrono::steady_clock::now() - idle_since_ > max_idle) {
    Finish();
    return false;
  }
  return true;
}

asio::awaitable<std::string> Connection::Connect(std::shared_ptr<Connection> self,
                                                 HostPort address) {
  boost::system::error_code ec;
  const std::string where = address.host.find(':') != std::string::npos
                                ? fmt::format("[{}]:{}", address.host, address.port)
                                : fmt::format("{}:{}", address.host, address.port);
  asio::ip::address ip = asio::ip::make_address(address.host, ec);
  if (!ec) {
    auto [cec] = co_await self->socket_.async_connect(tcp::endpoint(ip, address.port), kTuple);
    if (cec) {
      co_return fmt::format("dial tcp {}: connect: {}", where, cec.message());
    }
    co_return std::string();
  }
  // A name: Asio resolves on its own resolver thread, so a slow DNS server delays only the
  // checks that name hosts, never the loop.
  tcp::resolver resolver(self->executor_);
  auto [rec, results] =
      co_await resolver.async_resolve(address.host, std::to_string(address.port), kTuple);
  if (rec) {
    co_return fmt::format("dial tcp {}: lookup {}: {}", where, address.host, rec.message());
  }
  auto [cec, endpoint] = co_await asio::async_connect(self->socket_, results, kTuple);
  if (cec) {
    co_return fmt::format("dial tcp {}: connect: {}", where, cec.message());
  }
  co_return std::string();
}

asio::awaitable<std::string> Connection::StartTls(std::shared_ptr<Connection> self,
                                                  asio::ssl::context& context, TlsOptions options,
                                                  std::string host) {
  self->tls_ =
      std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(self->socket_), context);
  SSL* ssl = self->tls_->native_handle();
  const std::string name = options.server_name.empty() ? host : options.server_name;
  const bool ip_name = IsIpLiteral(name);
  if (!ip_name && !name.empty()) {
    SSL_set_tlsext_host_name(ssl, name.c_str());
  }
  if (!options.skip_verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip_name) {
      X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl, name.c_str());
    }
  }
  if (!options.alpn.empty()) {
    std::string wire;
    for (const std::string& p : options.alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  auto [ec] = co_await self->tls_->async_handshake(asio::ssl::stream_base::client, kTuple);
  if (ec) {
    std::string why = ec.message();
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    }
    co_return "tls handshake: " + why;
  }
  co_return std::string();
}

std::string Connection::AlpnSelected() const {
  if (!tls_) {
    return "";
  }
  const unsigned char* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(tls_->native_handle(), &data, &len);
  return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), len);
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  if (d % seconds(1) == nanoseconds(0)) {
    return fmt::format("{}s", duration_cast<seconds>(d).count());
  }
  if (d % milliseconds(1) == nanoseconds(0)) {
    if (d < seconds(1)) {
      return fmt::format("{}ms", duration_cast<milliseconds>(d).count());
    }
    return fmt::format("{:g}s", duration<double>(d).count());
  }
  return fmt::format("{:g}s", duration<double>(d).count());
}

}  // namespace beacon::health
