// Responder: one DNS request's bytes in, the response's bytes out (consul-api.md section 6).
//
// The whole query path except the sockets, so unit tests and the fuzzer drive it directly:
//   parse (codec) -> check opcode/question count/EDNS version -> Resolve (resolver.h)
//   -> DecideRcode (the only place an RCODE is chosen) -> fit the answer to the transport's
//   limits -> encode.
// Size rules, as Consul's trimUDPResponse/trimTCPResponse:
//   - UDP without EDNS0 (or advertising <= 512): at most min(udp_answer_limit, 8) answers and 512
//     bytes;
//   - UDP with EDNS0: as many answers as fit the advertised size (capped at 65467), and the
//     response carries an OPT record with the same size;
//   - TCP: up to 65535 bytes, at most 1024 SRV answers (4096 others);
//   - answers are cut from the end; additional records are cut with the answers that need them;
//     the authority section (NS next to an apex SOA answer) goes first.
//   - TC is set for a cut UDP answer only when enable_truncate (Consul's default is off), and
//     always when not even one answer fits, since an empty NOERROR would mean "no records".
// Thread rules: pure; the caller owns the snapshot, options and random generator for the call.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>

#include "catalog/snapshot.h"
#include "dns/message.h"
#include "dns/options.h"
#include "dns/resolver.h"

namespace beacon::dns {

enum class Transport { kUdp, kTcp };

struct QueryEnv {
  Transport transport = Transport::kUdp;
  const catalog::Snapshot* snapshot = nullptr;  // never null
  const DnsOptions* options = nullptr;          // never null; domain normalised
  std::minstd_rand* rng = nullptr;              // never null
  uint32_t now_unix = 0;                        // SOA serial
  ResolverCache* cache = nullptr;               // the loop's; may be null
};

struct RcodeDecision {
  Rcode rcode = Rcode::kNoError;
  bool authoritative = false;  // AA
  bool soa_in_authority = false;
};

// The one mapping from what a lookup found to the RCODE, AA and negative-answer SOA:
//   found with answers   -> NOERROR, AA
//   found, no answers    -> NOERROR, AA, SOA (NODATA)
//   name error           -> NXDOMAIN, AA, SOA
//   refused              -> REFUSED
//   malformed            -> FORMERR
//   not implemented      -> NOTIMP
//   bad EDNS version     -> BADVERS
//   server failure       -> SERVFAIL
RcodeDecision DecideRcode(Outcome outcome, size_t answer_count);

struct ResponseLimits {
  size_t max_bytes = kMaxPlainUdpBytes;
  size_t max_answers = 3;
};

// The limits above for a question of `qtype` over `transport`. `request_edns` is the request's
// OPT record, if any.
ResponseLimits LimitsFor(Transport transport, const std::optional<Edns>& request_edns,
                         const DnsOptions& options, uint16_t qtype);

// Appends the response to `request` to *out and returns true; returns false with *out unchanged
// when nothing must be sent: fewer than 12 bytes (no ID to answer with) or a response (QR set;
// answering responses could ping-pong between two servers). When it returns true and `rcode` is
// not null, *rcode is the RCODE sent (for the query counters). Never throws on any input.
bool Respond(std::span<const uint8_t> request, const QueryEnv& env, std::string* out,
             Rcode* rcode = nullptr);

}  // namespace beacon::dns
