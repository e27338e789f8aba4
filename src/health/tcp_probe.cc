#include "health/tcp_probe.h"

#include <fmt/format.h>

namespace beacon::health {

namespace asio = boost::asio;

TcpSpec MakeTcpSpec(const catalog::CheckDefinition& def) {
  TcpSpec s;
  s.address_text = def.tcp;
  Result<HostPort> a = ParseHostPort(def.tcp);
  if (a.ok()) {
    s.address = *a;
  } else {
    s.error = a.status().message();
  }
  s.use_tls = def.tcp_use_tls;
  s.tls.skip_verify = def.tls_skip_verify;
  s.tls.server_name = def.tls_server_name;
  return s;
}

asio::awaitable<ProbeResult> RunTcpProbe(std::shared_ptr<const ProbeSpec> spec,
                                         std::shared_ptr<TlsContexts> tls,
                                         asio::any_io_executor executor) {
  const TcpSpec& t = std::get<TcpSpec>(spec->kind);
  if (!t.address) {
    co_return ProbeResult{catalog::HealthStatus::kCritical,
                          fmt::format("TCP connect {}: {}", t.address_text, t.error)};
  }
  auto conn = std::make_shared<Connection>(executor);
  Connection::ArmDeadline(conn, spec->timeout);
  std::string err = co_await Connection::Connect(conn, *t.address);
  if (err.empty() && t.use_tls) {
    asio::ssl::context& ctx = t.tls.skip_verify ? tls->skipping() : tls->verifying();
    err = co_await Connection::StartTls(conn, ctx, t.tls, t.address->host);
  }
  conn->Finish();
  if (conn->timed_out()) {
    // Go's words for a dial that hit its deadline.
    co_return ProbeResult{catalog::HealthStatus::kCritical,
                          fmt::format("dial tcp {}: i/o timeout", t.address_text)};
  }
  if (!err.empty()) {
    co_return ProbeResult{catalog::HealthStatus::kCritical, err};
  }
  co_return ProbeResult{catalog::HealthStatus::kPassing,
                        fmt::format("TCP connect {}: Success", t.address_text)};
}

}  // namespace beacon::health
