// Resolver: turns one DNS question into records, from one catalog Snapshot (consul-api.md 6).
//
// Pure apart from the random generator it is handed: no sockets, no clock (the caller passes the
// time for the SOA serial), no locks. It reports *what happened* as an Outcome and never picks an
// RCODE; DecideRcode in responder.h maps outcomes to RCODEs in one place.
//
// Service answers: every instance of the service minus those with any critical check (service,
// node and maintenance checks alike), minus warning ones when only_passing; then the tag filter
// (case-insensitive). The survivors are shuffled (a partial Fisher-Yates, so building k answers
// costs O(k) beyond the O(n) filter) and deduplicated as Consul does: A/AAAA by address, SRV by
// (node, address, port). At most `max_answers` answers are built; `more` says whether there were
// others. Additional records (SRV targets' A/AAAA and node-meta TXT) are appended in the order the
// answers need them, so the first k answers need exactly a prefix of them (additional_end).
//
// The filtered instance list of a service lookup, with each instance's address parsed and SRV
// target built, depends only on the snapshot, the service, the tag and only_passing. A
// ResolverCache (one per loop) keeps these lists for the snapshot it last saw, so a repeated
// lookup costs O(answers) instead of O(instances): the hot path of workload W6.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "catalog/snapshot.h"
#include "dns/message.h"
#include "dns/options.h"

namespace beacon::dns {

enum class Outcome {
  kFound,           // the name exists; no answers of the asked type means NODATA
  kNameError,       // no such name (or no healthy instance, or another datacenter)
  kRefused,         // not our zone, or a class other than IN/ANY
  kMalformed,       // the query could not be parsed or has not exactly one question
  kNotImplemented,  // an opcode other than QUERY, or a zone transfer
  kBadVersion,      // EDNS version other than 0
  kServerFailure,   // we could not build an answer (our bug or unencodable catalog data)
};

struct Resolution {
  Outcome outcome = Outcome::kNameError;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;  // NS records for SOA questions at the apex
  std::vector<ResourceRecord> additional;
  // additional_end[i]: how many additional records answers [0, i] need. Same size as answers.
  std::vector<size_t> additional_end;
  bool more = false;  // answers were left out because of max_answers
};

struct CandidateList;  // resolver.cc

// Memo of service lookups for one snapshot. Not thread-safe: one per loop. Bounded: at most
// kMaxEntries lists, all dropped when the snapshot changes.
class ResolverCache {
 public:
  static constexpr size_t kMaxEntries = 1024;

  // The list for `key` under `snapshot`, or nullptr. Forgets everything when `snapshot` is not
  // the one the cache was filled from.
  std::shared_ptr<const CandidateList> Find(const catalog::Snapshot& snapshot,
                                            const std::string& key);
  void Store(const std::string& key, std::shared_ptr<const CandidateList> list);

 private:
  const catalog::Snapshot* snapshot_ = nullptr;
  uint64_t generation_ = 0;
  std::unordered_map<std::string, std::shared_ptr<const CandidateList>> lists_;
};

// REQUIRES: options.domain normalised; max_answers >= 1. `now_unix` is the SOA serial. `cache`
// may be null (every lookup filters the catalog).
Resolution Resolve(const Question& question, const catalog::Snapshot& snapshot,
                   const DnsOptions& options, size_t max_answers, uint32_t now_unix,
                   std::minstd_rand& rng, ResolverCache* cache = nullptr);

// The zone's SOA record (owner the domain): ns.<domain>, hostmaster.<domain>, serial = now.
ResourceRecord SoaRecord(const DnsOptions& options, uint32_t now_unix);

}  // namespace beacon::dns
