// Query-name parsing: which Consul lookup a DNS question asks for (consul-api.md section 6).
//
// A pure function from (question name, question type, domain) to a QueryName. It decides only
// the shape of the name; whether the service, node or datacenter exists is the resolver's job.
// The rules follow Consul's agent/dns.go dispatch:
//   - the labels left of the domain are scanned from the right for the kind label (`service`,
//     `node`, `addr`, `query`, `connect`, `ingress`, `virtual`); the right-most one wins;
//   - for SRV questions, a right-most label starting with '_' stands in for `service`, so
//     `_web._tcp.consul` (and `_web._tcp.dc1.consul`) is the RFC 2782 form without `.service`;
//   - the labels right of the kind label are the datacenter: none, `<dc>`, or `<dc>.dc`;
//   - for `service`: `_<name>._<tag>` is RFC 2782 (`_tcp` = no tag filter; `_udp` is the tag
//     "udp", as in Consul); otherwise the last label is the service and every label left of it,
//     joined with dots, is the tag;
//   - for `node`: every label left of `node`, joined with dots (node names may contain dots);
//   - for `addr`: exactly one label of 8 hex digits (IPv4) or 32 (IPv6).
// Kind labels and the domain match case-insensitively; service, tag and node keep their case
// (the catalog compares them case-insensitively).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::dns {

enum class QueryKind {
  kOutsideDomain,  // not under our domain: REFUSED
  kApex,           // the domain itself (SOA, NS)
  kService,
  kNode,
  kAddr,
  kUnsupported,  // query, connect, ingress, virtual: Tier 3, answered NXDOMAIN
  kInvalid,      // under the domain but no valid form: NXDOMAIN
};

struct QueryName {
  QueryKind kind = QueryKind::kInvalid;
  std::string service;     // kService
  std::string tag;         // kService; "" = no tag filter
  bool rfc2782 = false;    // kService: the `_name._tag` form
  std::string node;        // kNode
  std::string datacenter;  // "" = not given (ours)
  // kAddr: 4 or 16 bytes.
  std::vector<uint8_t> address;

  bool operator==(const QueryName&) const = default;
};

// REQUIRES: `domain` normalised (NormalizeDomain). `name` is presentation text as parsed from
// the wire. A name that is not valid text is kInvalid (or kOutsideDomain if it is not ours).
QueryName ParseQueryName(std::string_view name, uint16_t qtype, std::string_view domain);

// "kind=service service=web tag=primary dc=dc1" and the like, for tests and logs.
std::string QueryNameToString(const QueryName& q);

}  // namespace beacon::dns
