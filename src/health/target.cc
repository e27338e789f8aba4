#include "health/target.h"

#include <arpa/inet.h>

#include <charconv>

#include "common/strings.h"

namespace beacon::health {

namespace {

Result<uint16_t> ParsePort(std::string_view s, std::string_view whole) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) {
    return InvalidArgument("invalid port in \"" + std::string(whole) + "\"");
  }
  return static_cast<uint16_t>(v);
}

}  // namespace

bool IsIpLiteral(std::string_view host) {
  std::string h(host);
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

Result<HostPort> ParseHostPort(std::string_view s, uint16_t default_port) {
  HostPort out;
  std::string_view port;
  bool has_port = false;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgument("missing ']' in \"" + std::string(s) + "\"");
    }
    out.host = std::string(s.substr(1, close - 1));
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return InvalidArgument("unexpected text after ']' in \"" + std::string(s) + "\"");
      }
      port = rest.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = s.rfind(':');
    if (colon != std::string_view::npos && s.find(':') != colon) {
      // Several colons without brackets: a bare IPv6 address, no port.
      out.host = std::string(s);
    } else if (colon != std::string_view::npos) {
      out.host = std::string(s.substr(0, colon));
      port = s.substr(colon + 1);
      has_port = true;
    } else {
      out.host = std::string(s);
    }
  }
  if (out.host.empty()) {
    return InvalidArgument("missing host in \"" + std::string(s) + "\"");
  }
  if (has_port) {
    BEACON_ASSIGN_OR_RETURN(out.port, ParsePort(port, s));
  } else if (default_port != 0) {
    out.port = default_port;
  } else {
    return InvalidArgument("missing port in \"" + std::string(s) + "\"");
  }
  return out;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  HttpUrl out;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return InvalidArgument("URL \"" + std::string(url) + "\" has no scheme");
  }
  std::string scheme = AsciiLower(url.substr(0, sep));
  if (scheme == "https") {
    out.tls = true;
  } else if (scheme != "http") {
    return InvalidArgument("unsupported protocol scheme \"" + scheme + "\"");
  }
  std::string_view rest = url.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (size_t hash = tail.find('#'); hash != std::string_view::npos) {
    tail = tail.substr(0, hash);
  }
  BEACON_ASSIGN_OR_RETURN(out.address, ParseHostPort(authority, out.tls ? 443 : 80));
  out.host_header = std::string(authority);
  if (tail.empty() || tail.front() == '?') {
    out.target = "/" + std::string(tail);
  } else {
    out.target = std::string(tail);
  }
  return out;
}

Result<GrpcTarget> ParseGrpcTarget(std::string_view s) {
  GrpcTarget out;
  // The service name follows the first '/' after the port; IPv6 hosts are bracketed, so a '/'
  // cannot be part of the address.
  size_t slash = s.find('/');
  if (slash != std::string_view::npos) {
    out.service = std::string(s.substr(slash + 1));
    s = s.substr(0, slash);
  }
  BEACON_ASSIGN_OR_RETURN(out.address, ParseHostPort(s));
  return out;
}

}  // namespace beacon::health
