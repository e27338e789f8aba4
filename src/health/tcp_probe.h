// TCP probe (consul-api.md section 5; Consul's CheckTCP): connecting within the timeout is
// passing ("TCP connect <addr>: Success"), anything else critical with the dial error. With
// TCPUseTLS the TLS handshake must complete as well.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>

#include "health/probe.h"

namespace beacon::health {

TcpSpec MakeTcpSpec(const catalog::CheckDefinition& def);

boost::asio::awaitable<ProbeResult> RunTcpProbe(std::shared_ptr<const ProbeSpec> spec,
                                                std::shared_ptr<TlsContexts> tls,
                                                boost::asio::any_io_executor executor);

}  // namespace beacon::health
