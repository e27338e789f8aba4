#include "dns/responder.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace beacon::dns {

namespace {

// Largest UDP payload we send with EDNS0, whatever a client advertises (contract 6).
constexpr size_t kMaxEdnsUdpBytes = 65467;
// Consul's hard cap on udp_answer_limit.
constexpr int kMaxUdpAnswerLimit = 8;
// A TCP message is prefixed by a 16-bit length.
constexpr size_t kMaxTcpBytes = 65535;
// Consul's trimTCPResponse: more than this many SRV (other) records cannot fit 64 KiB anyway.
constexpr size_t kMaxTcpSrvAnswers = 1024;
constexpr size_t kMaxTcpAnswers = 4096;

void SetTc(std::string* out, size_t base) {
  (*out)[base + 2] = static_cast<char>((*out)[base + 2] | 0x02);
}

// Encodes `m` within limits.max_bytes, cutting answers (and the additional records they need) from
// the end, the authority section first. Returns false when the message does not encode at all
// (cannot happen for a question we parsed, but the caller answers SERVFAIL rather than trust it).
bool EncodeFitting(const Message& m, const std::vector<size_t>& additional_end,
                   const ResponseLimits& limits, bool more, bool udp, bool enable_truncate,
                   std::string* out) {
  const size_t base = out->size();
  thread_local std::vector<uint32_t> ends;
  if (!EncodeMessage(m, out, SectionCounts{}, &ends).ok()) return false;
  const size_t total = out->size() - base;
  if (total <= limits.max_bytes) {
    if (more && udp && enable_truncate) SetTc(out, base);
    return true;
  }
  const size_t n = m.answers.size();
  const size_t ns = m.authority.size();
  auto extra_for = [&](size_t k) {
    return k == 0 ? 0 : std::min(additional_end[k - 1], m.additional.size());
  };
  auto try_encode = [&](size_t k, size_t extra) {
    out->resize(base);
    return EncodeMessage(m, out, SectionCounts{k, 0, extra}).ok() &&
           out->size() - base <= limits.max_bytes;
  };
  // From the full encode: ends[k] is the size up to answer k; additional record j spans
  // [ends[n + ns + j], ends[n + ns + j + 1]); everything after the last record is the OPT.
  const size_t opt_bytes = total - ends.back();
  auto estimate = [&](size_t k) {
    const size_t extra = extra_for(k);
    return ends[k] + (ends[n + ns + extra] - ends[n + ns]) + opt_bytes;
  };
  size_t k = n;
  while (k > 0 && estimate(k) > limits.max_bytes) --k;
  // The estimate assumes every record keeps its compressed size; if it was off, step down.
  while (k > 0 && !try_encode(k, extra_for(k))) --k;
  bool fitted = k > 0;
  if (!fitted && n > 0 && try_encode(1, 0)) {
    k = 1;
    fitted = true;
  }
  if (fitted) {
    // Dropping only the authority section (NS beside an apex SOA) is not a cut answer.
    if ((k < n || more) && udp && enable_truncate) SetTc(out, base);
    return true;
  }
  // Not even one answer fits: say so with TC whatever enable_truncate says, so the client retries
  // over TCP instead of reading "no records".
  if (try_encode(0, 0)) {
    if (n > 0) SetTc(out, base);
    return true;
  }
  out->resize(base);
  return false;
}

}  // namespace

RcodeDecision DecideRcode(Outcome outcome, size_t answer_count) {
  switch (outcome) {
    case Outcome::kFound:
      return {Rcode::kNoError, true, answer_count == 0};
    case Outcome::kNameError:
      return {Rcode::kNxDomain, true, true};
    case Outcome::kRefused:
      return {Rcode::kRefused, false, false};
    case Outcome::kMalformed:
      return {Rcode::kFormErr, false, false};
    case Outcome::kNotImplemented:
      return {Rcode::kNotImp, false, false};
    case Outcome::kBadVersion:
      return {Rcode::kBadVers, false, false};
    case Outcome::kServerFailure:
      return {Rcode::kServFail, false, false};
  }
  return {Rcode::kServFail, false, false};
}

ResponseLimits LimitsFor(Transport transport, const std::optional<Edns>& request_edns,
                         const DnsOptions& options, uint16_t qtype) {
  const size_t big_cap = qtype == kTypeSrv ? kMaxTcpSrvAnswers : kMaxTcpAnswers;
  if (transport == Transport::kTcp) return {kMaxTcpBytes, big_cap};
  size_t max_bytes = kMaxPlainUdpBytes;
  if (request_edns && request_edns->udp_size > max_bytes) {
    max_bytes = std::min<size_t>(request_edns->udp_size, kMaxEdnsUdpBytes);
  }
  if (max_bytes == kMaxPlainUdpBytes) {
    return {max_bytes, static_cast<size_t>(
                           std::clamp(options.udp_answer_limit, 1, kMaxUdpAnswerLimit))};
  }
  return {max_bytes, big_cap};
}

bool Respond(std::span<const uint8_t> request, const QueryEnv& env, std::string* out,
             Rcode* rcode) {
  auto header = ParseHeader(request);
  if (!header.ok() || header->qr) return false;
  const DnsOptions& options = *env.options;

  Message response;
  response.header.id = header->id;
  response.header.qr = true;
  response.header.opcode = header->opcode;
  response.header.rd = header->rd;
  response.header.cd = header->cd;
  // RA stays 0: Beacon has no recursors (contract 6).

  Resolution resolution;
  ResponseLimits limits;  // plain-UDP limits for anything we cannot parse
  auto parsed = ParseMessage(request);
  if (!parsed.ok()) {
    resolution.outcome = Outcome::kMalformed;
  } else {
    Message& query = *parsed;
    if (query.questions.size() == 1) response.questions.push_back(query.questions[0]);
    if (query.edns) response.edns = Edns{query.edns->udp_size, 0, false, {}};
    if (query.header.opcode != kOpcodeQuery) {
      resolution.outcome = Outcome::kNotImplemented;
    } else if (query.questions.size() != 1) {
      resolution.outcome = Outcome::kMalformed;
    } else if (query.edns && query.edns->version != 0) {
      resolution.outcome = Outcome::kBadVersion;
    } else {
      const Question& q = query.questions[0];
      limits = LimitsFor(env.transport, query.edns, options, q.type);
      resolution = Resolve(q, *env.snapshot, options, limits.max_answers, env.now_unix, *env.rng,
                           env.cache);
    }
  }

  const RcodeDecision decision = DecideRcode(resolution.outcome, resolution.answers.size());
  response.header.rcode = static_cast<uint16_t>(decision.rcode);
  response.header.aa = decision.authoritative;
  response.answers = std::move(resolution.answers);
  response.additional = std::move(resolution.additional);
  if (decision.soa_in_authority) {
    response.authority.push_back(SoaRecord(options, env.now_unix));
  } else {
    response.authority = std::move(resolution.authority);
  }
  const bool udp = env.transport == Transport::kUdp;
  if (EncodeFitting(response, resolution.additional_end, limits, resolution.more, udp,
                    options.enable_truncate, out)) {
    if (rcode != nullptr) *rcode = decision.rcode;
    return true;
  }
  // Our records did not encode: a bug or catalog data we failed to screen. Answer SERVFAIL with
  // the question alone.
  spdlog::warn("dns: cannot encode the answer to {}; answering SERVFAIL",
               response.questions.empty() ? std::string("?") : response.questions[0].name);
  const RcodeDecision failure = DecideRcode(Outcome::kServerFailure, 0);
  response.header.rcode = static_cast<uint16_t>(failure.rcode);
  response.header.aa = failure.authoritative;
  response.answers.clear();
  response.authority.clear();
  response.additional.clear();
  if (!EncodeMessage(response, out).ok()) return false;
  if (rcode != nullptr) *rcode = failure.rcode;
  return true;
}

}  // namespace beacon::dns
