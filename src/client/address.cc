// ParseHttpAddress: the agent address forms CONSUL_HTTP_ADDR accepts, minus TLS and unix sockets.
#include <cctype>
#include <charconv>

#include "beacon/options.h"

namespace beacon::client {

namespace {

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) {
      return false;
    }
  }
  return true;
}

Result<uint16_t> ParsePort(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
      value > 65535) {
    return InvalidArgumentError("invalid port in HTTP address \"" + std::string(whole) + "\"");
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

std::string HttpAddress::ToString() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return out + ":" + std::to_string(port);
}

Result<HttpAddress> ParseHttpAddress(std::string_view text) {
  const std::string_view whole = text;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (StartsWithNoCase(text, "https://")) {
    return InvalidArgumentError("HTTP address \"" + std::string(whole) +
                                "\": https is not supported by this client; use http://");
  }
  if (StartsWithNoCase(text, "http://")) {
    text.remove_prefix(7);
  } else if (text.find("://") != std::string_view::npos) {
    return InvalidArgumentError("HTTP address \"" + std::string(whole) +
                                "\": unsupported scheme (want host:port or http://host:port)");
  }
  while (!text.empty() && text.back() == '/') {
    text.remove_suffix(1);
  }
  if (text.find('/') != std::string_view::npos) {
    return InvalidArgumentError("HTTP address \"" + std::string(whole) +
                                "\": a path is not allowed");
  }
  if (text.empty()) {
    return InvalidArgumentError("empty HTTP address");
  }
  HttpAddress address;
  if (text.front() == '[') {  // [v6] or [v6]:port
    size_t close = text.find(']');
    if (close == std::string_view::npos || close == 1) {
      return InvalidArgumentError("invalid HTTP address \"" + std::string(whole) + "\"");
    }
    address.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return InvalidArgumentError("invalid HTTP address \"" + std::string(whole) + "\"");
      }
      auto port = ParsePort(rest.substr(1), whole);
      if (!port.ok()) {
        return port.status();
      }
      address.port = *port;
    }
    return address;
  }
  size_t colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
    address.host = std::string(text);  // a bare IPv6 literal: no port
    return address;
  }
  address.host = std::string(text.substr(0, colon));
  if (address.host.empty()) {
    return InvalidArgumentError("HTTP address \"" + std::string(whole) + "\" has no host");
  }
  if (colon != std::string_view::npos) {
    auto port = ParsePort(text.substr(colon + 1), whole);
    if (!port.ok()) {
      return port.status();
    }
    address.port = *port;
  }
  return address;
}

}  // namespace beacon::client
