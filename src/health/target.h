// Check targets: the address forms a check definition names (consul-api.md 4.1): an HTTP(S) URL,
// TCP's "host:port", gRPC's "host:port[/service]". Pure parsers, no sockets (STYLE.md section 6).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace beacon::health {

struct HostPort {
  std::string host;  // a name or an IP literal, IPv6 without brackets
  uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

// "host:port", "[v6]:port". A missing or zero port is an error unless `default_port` is given.
Result<HostPort> ParseHostPort(std::string_view s, uint16_t default_port = 0);

struct HttpUrl {
  bool tls = false;          // https
  HostPort address;          // where to connect
  std::string host_header;   // the authority as written ("example.com:8080", "[::1]")
  std::string target;        // origin-form request target: path and query, "/" when empty
};

// http:// and https:// URLs (scheme case-insensitive). User info is dropped; a fragment is
// dropped. InvalidArgument for anything else.
Result<HttpUrl> ParseHttpUrl(std::string_view url);

struct GrpcTarget {
  HostPort address;
  std::string service;  // "" = the server's overall health
};

// "host:port" or "host:port/service" (Consul's GRPC field).
Result<GrpcTarget> ParseGrpcTarget(std::string_view s);

// True when `host` is an IPv4 or IPv6 literal (no name resolution needed, no SNI sent).
bool IsIpLiteral(std::string_view host);

}  // namespace beacon::health
