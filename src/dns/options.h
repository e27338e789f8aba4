// DnsOptions: what the DNS interface answers and how much of it (consul-api.md section 6).
//
// Plain value type, copied into the server at start and read-only afterwards, so every loop can
// read it without locks. Defaults are Consul's.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace beacon::dns {

struct DnsOptions {
  // The zone we are authoritative for. Normalised by NormalizeDomain(): lower case, one trailing
  // dot, e.g. "consul.". Names outside it get REFUSED (no recursors in Beacon, contract 6).
  std::string domain = "consul.";
  // Our datacenter: `<name>.service.<dc>.consul` for another dc is NXDOMAIN, and SRV/NS targets
  // are `<node>.node.<dc>.<domain>`.
  std::string datacenter = "dc1";
  // The agent's own node: named by the NS records of the domain apex.
  std::string local_node;

  // Consul dns_config.only_passing: false keeps instances with warning checks (critical ones are
  // always dropped). true drops warning as well.
  bool only_passing = false;
  // Consul dns_config.udp_answer_limit: most answers in a UDP response without EDNS0 (or with an
  // advertised size of 512 or less). Consul's default 3 keeps answers far below 512 bytes; the
  // hard cap is 8 whatever is configured (contract 6).
  int udp_answer_limit = 3;
  // Consul dns_config.enable_truncate: set the TC bit when a UDP answer was cut (by count or by
  // size). Off by default as in Consul: clients then use the few answers they got instead of
  // retrying over TCP. An answer that cannot carry even one record always gets TC (see
  // responder.cc), because an empty NOERROR would read as "no such records".
  bool enable_truncate = false;
  // Consul dns_config.node_meta_txt: node Meta as `key=value` TXT records in the additional
  // section of node A/AAAA answers and of SRV answers whose target is a node.
  bool node_meta_txt = true;

  // TTL of service answers: exact service name (lower case) or `prefix*` wildcard, longest
  // prefix wins; every other service gets 0 (Consul dns_config.service_ttl).
  std::map<std::string, std::chrono::seconds> service_ttl;
  // TTL of node answers (Consul dns_config.node_ttl). Default 0.
  std::chrono::seconds node_ttl{0};

  // A TCP connection with no complete query for this long is closed (Consul/miekg: 8 s read
  // timeout per query; we allow a little more for slow links).
  std::chrono::milliseconds tcp_idle_timeout{10000};
  // Open TCP connections beyond this are closed at once: bounds memory under a connection flood.
  size_t max_tcp_connections = 512;
};

// "Consul", "consul.", ".consul." -> "consul.". Empty or "." stays "." (the root: every name is
// in the domain; only sensible in tests).
std::string NormalizeDomain(std::string_view domain);

// The TTL for answers about `service` (any case) under `options.service_ttl`.
std::chrono::seconds ServiceTtl(const DnsOptions& options, std::string_view service);

}  // namespace beacon::dns
