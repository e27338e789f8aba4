#include "dns/resolver.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>

#include "common/strings.h"
#include "dns/query_name.h"

namespace beacon::dns {

using catalog::HealthStatus;
using catalog::Instance;

// An address as Consul's DNS treats it: an IP literal gives A/AAAA, anything else is a hostname
// and gives a CNAME.
struct ParsedAddress {
  enum Kind { kV4, kV6, kHostname, kNone } kind = kNone;
  std::array<uint8_t, 16> bytes{};
};

enum class Health { kPassing, kWarning, kCritical };

// One instance that may be answered, with everything that does not depend on the question
// worked out once.
struct PreparedInstance {
  const Instance* instance = nullptr;
  Health health = Health::kPassing;
  bool own_address = false;            // the service has its own Address
  const std::string* address = nullptr;  // service Address, else node Address
  ParsedAddress parsed;
  std::string srv_target;  // "" when the target would not be a valid DNS name
  uint16_t weight = 1;
  uint16_t port = 0;
};

// The usable instances of one service lookup (health and tag filters applied).
struct CandidateList {
  std::shared_ptr<const catalog::ServiceGroup> group;  // keeps `instance` pointers valid
  std::vector<PreparedInstance> items;
};

namespace {

ParsedAddress ParseAddress(const std::string& text) {
  ParsedAddress a;
  if (text.empty()) return a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
    a.kind = ParsedAddress::kV4;
  } else if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.kind = ParsedAddress::kV6;
  } else {
    a.kind = IsValidName(text) ? ParsedAddress::kHostname : ParsedAddress::kNone;
  }
  return a;
}

std::string Fqdn(const std::string& host) {
  return !host.empty() && host.back() == '.' ? host : host + ".";
}

// The A, AAAA or CNAME record for `addr` that a question of `qtype` wants, if any.
bool AddressRecord(const ParsedAddress& addr, const std::string& address_text, uint16_t qtype,
                   const std::string& owner, uint32_t ttl, ResourceRecord* rr) {
  const bool any = qtype == kTypeAny;
  rr->name = owner;
  rr->klass = kClassIn;
  rr->ttl = ttl;
  switch (addr.kind) {
    case ParsedAddress::kV4: {
      if (qtype != kTypeA && !any) return false;
      RdataA a;
      std::copy(addr.bytes.begin(), addr.bytes.begin() + 4, a.address.begin());
      rr->type = kTypeA;
      rr->rdata = a;
      return true;
    }
    case ParsedAddress::kV6: {
      if (qtype != kTypeAaaa && !any) return false;
      RdataAaaa a;
      a.address = addr.bytes;
      rr->type = kTypeAaaa;
      rr->rdata = a;
      return true;
    }
    case ParsedAddress::kHostname:
      if (qtype != kTypeA && qtype != kTypeAaaa && !any) return false;
      rr->type = kTypeCname;
      rr->rdata = RdataName{Fqdn(address_text)};
      return true;
    case ParsedAddress::kNone:
      return false;
  }
  return false;
}

std::string HexAddress(const ParsedAddress& addr) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t n = addr.kind == ParsedAddress::kV4 ? 4 : 16;
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    s += kHex[addr.bytes[i] >> 4];
    s += kHex[addr.bytes[i] & 0xf];
  }
  return s;
}

// "<label>.<kind>.<dc>.<domain>"
std::string TargetName(std::string_view label, std::string_view kind, const DnsOptions& options) {
  std::string s;
  s.reserve(label.size() + kind.size() + options.datacenter.size() + options.domain.size() + 3);
  s += label;
  s += '.';
  s += kind;
  s += '.';
  s += options.datacenter;
  s += '.';
  if (options.domain != ".") s += options.domain;
  return s;
}

// One TXT record per meta pair, "key=value" split into 255-byte character-strings.
void MetaRecords(const catalog::Node& node, const std::string& owner, uint32_t ttl,
                 std::vector<ResourceRecord>* out) {
  for (const auto& [key, value] : node.meta) {
    std::string kv = key + "=" + value;
    RdataTxt txt;
    for (size_t i = 0; i < kv.size(); i += 255) txt.strings.push_back(kv.substr(i, 255));
    if (txt.strings.empty()) txt.strings.emplace_back();
    out->push_back(ResourceRecord{owner, kTypeTxt, kClassIn, ttl, std::move(txt)});
  }
}

// Keys already answered, as Consul deduplicates them: (address) for A/AAAA, (node, address, port)
// for SRV, (target kind, name) for additional records. Flat open addressing that starts small
// and doubles, so a 3-answer lookup touches a few slots and an n-answer one costs O(n), not
// O(n^2). Keys view catalog strings, which outlive the call.
class SeenSet {
 public:
  // Room for `expected` keys without growing.
  explicit SeenSet(size_t expected) : slots_(std::bit_ceil(std::max<size_t>(16, 2 * expected))) {}

  // False when an equal key was inserted before.
  bool Insert(std::string_view a, std::string_view b, int port) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : a) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0x1f) * 1099511628211ull;
    for (unsigned char c : b) h = (h ^ c) * 1099511628211ull;
    h = (h ^ static_cast<uint32_t>(port)) * 1099511628211ull;
    if ((count_ + 1) * 2 > slots_.size()) Grow();
    Slot* s = Probe(slots_, h, a, b, port);
    if (s->used) return false;
    *s = Slot{true, h, a, b, port};
    ++count_;
    return true;
  }

 private:
  struct Slot {
    bool used = false;
    uint64_t hash = 0;
    std::string_view a;
    std::string_view b;
    int port = 0;
  };

  // The slot holding this key, or the empty slot where it belongs.
  static Slot* Probe(std::vector<Slot>& slots, uint64_t h, std::string_view a, std::string_view b,
                     int port) {
    const size_t mask = slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots[i];
      if (!s.used || (s.hash == h && s.port == port && s.a == a && s.b == b)) return &s;
    }
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<size_t>(16, old.size() * 2), Slot{});
    for (const Slot& s : old) {
      if (s.used) *Probe(slots_, s.hash, s.a, s.b, s.port) = s;
    }
  }

  std::vector<Slot> slots_;
  size_t count_ = 0;
};

Health InstanceHealth(const Instance& inst) {
  Health h = Health::kPassing;
  for (const auto& check : inst.checks) {
    if (check->status == HealthStatus::kCritical) return Health::kCritical;
    if (check->status == HealthStatus::kWarning) h = Health::kWarning;
  }
  return h;
}

bool HasTag(const catalog::Service& service, std::string_view tag) {
  for (const std::string& t : service.tags) {
    if (EqualsIgnoreCase(t, tag)) return true;
  }
  return false;
}

bool OtherDatacenter(const QueryName& qn, const DnsOptions& options) {
  return !qn.datacenter.empty() && !EqualsIgnoreCase(qn.datacenter, options.datacenter);
}

void CloseAnswer(Resolution* r) { r->additional_end.push_back(r->additional.size()); }

std::shared_ptr<const CandidateList> BuildCandidates(const QueryName& qn,
                                                     const catalog::Snapshot& snapshot,
                                                     const DnsOptions& options) {
  auto list = std::make_shared<CandidateList>();
  list->group = snapshot.FindServiceShared(qn.service);
  if (!list->group) return list;
  list->items.reserve(list->group->instances.size());
  for (const auto& instance : list->group->instances) {
    const Instance& inst = *instance;
    Health h = InstanceHealth(inst);
    if (h == Health::kCritical || (options.only_passing && h == Health::kWarning)) continue;
    if (!qn.tag.empty() && !HasTag(*inst.service, qn.tag)) continue;
    const catalog::Service& svc = *inst.service;
    const catalog::Node& node = *inst.node;
    PreparedInstance c;
    c.instance = &inst;
    c.health = h;
    c.own_address = !svc.address.empty();
    c.address = c.own_address ? &svc.address : &node.address;
    c.parsed = ParseAddress(*c.address);
    if (!c.own_address) {
      c.srv_target = TargetName(node.name, "node", options);
    } else if (c.parsed.kind == ParsedAddress::kV4 || c.parsed.kind == ParsedAddress::kV6) {
      c.srv_target = TargetName(HexAddress(c.parsed), "addr", options);
    } else {
      c.srv_target = Fqdn(*c.address);
    }
    // A node name that cannot be a DNS name (label over 63 bytes, ...) cannot be a target.
    if (!IsValidName(c.srv_target)) c.srv_target.clear();
    // Consul's findWeight: Weights.Warning for an instance with a warning check, else Passing.
    const int weight = h == Health::kWarning ? svc.weights.warning : svc.weights.passing;
    c.weight = static_cast<uint16_t>(std::clamp(weight, 0, 65535));
    c.port = static_cast<uint16_t>(std::clamp(svc.port, 0, 65535));
    list->items.push_back(std::move(c));
  }
  return list;
}

void ResolveService(const QueryName& qn, const Question& q, const catalog::Snapshot& snapshot,
                    const DnsOptions& options, size_t max_answers, std::minstd_rand& rng,
                    ResolverCache* cache, Resolution* r) {
  r->outcome = Outcome::kNameError;
  if (OtherDatacenter(qn, options)) return;
  std::shared_ptr<const CandidateList> list;
  std::string key;
  if (cache != nullptr) {
    key = AsciiLower(qn.service);
    key += '\x1f';
    key += AsciiLower(qn.tag);
    list = cache->Find(snapshot, key);
  }
  if (!list) {
    list = BuildCandidates(qn, snapshot, options);
    if (cache != nullptr) cache->Store(key, list);
  }
  const std::vector<PreparedInstance>& items = list->items;
  // No usable instance reads as "no such name", as in Consul (serviceLookup).
  if (items.empty()) return;
  r->outcome = Outcome::kFound;

  const uint32_t ttl = static_cast<uint32_t>(ServiceTtl(options, qn.service).count());
  const bool srv = q.type == kTypeSrv;
  thread_local std::vector<uint32_t> order;
  order.resize(items.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  const size_t expected = std::min(max_answers, items.size());
  SeenSet seen(expected);        // answers given
  SeenSet extra_seen(expected);  // targets that already have their additional records
  for (size_t i = 0; i < order.size(); ++i) {
    if (r->answers.size() >= max_answers) {
      r->more = true;
      break;
    }
    // Partial Fisher-Yates: order[i] becomes a uniform pick among those not yet used.
    std::uniform_int_distribution<size_t> pick(i, order.size() - 1);
    std::swap(order[i], order[pick(rng)]);
    const PreparedInstance& c = items[order[i]];
    const catalog::Node& node = *c.instance->node;

    if (!srv) {
      ResourceRecord rr;
      if (!AddressRecord(c.parsed, *c.address, q.type, q.name, ttl, &rr)) continue;
      if (!seen.Insert(*c.address, {}, 0)) continue;
      r->answers.push_back(std::move(rr));
      CloseAnswer(r);
      continue;
    }

    if (c.srv_target.empty()) continue;
    if (!seen.Insert(node.name, *c.address, c.port)) continue;
    const bool new_target = c.parsed.kind != ParsedAddress::kHostname &&
                            extra_seen.Insert(c.own_address ? *c.address : node.name,
                                              c.own_address ? "addr" : "node", 0);
    if (new_target) {
      ResourceRecord glue;
      if (AddressRecord(c.parsed, *c.address, kTypeAny, c.srv_target, ttl, &glue)) {
        r->additional.push_back(std::move(glue));
      }
      if (!c.own_address && options.node_meta_txt) {
        MetaRecords(node, c.srv_target, ttl, &r->additional);
      }
    }
    r->answers.push_back(ResourceRecord{q.name, kTypeSrv, kClassIn, ttl,
                                        RdataSrv{1, c.weight, c.port, c.srv_target}});
    CloseAnswer(r);
  }
}

void ResolveNode(const QueryName& qn, const Question& q, const catalog::Snapshot& snapshot,
                 const DnsOptions& options, Resolution* r) {
  r->outcome = Outcome::kNameError;
  if (OtherDatacenter(qn, options)) return;
  // By name only: Snapshot::FindNode would also scan every node for a matching UUID.
  auto it = snapshot.nodes.find(AsciiLower(qn.node));
  if (it == snapshot.nodes.end()) return;
  r->outcome = Outcome::kFound;
  const catalog::Node& node = *it->second->node;
  const uint32_t ttl = static_cast<uint32_t>(options.node_ttl.count());
  const bool txt = q.type == kTypeTxt || q.type == kTypeAny;
  ResourceRecord rr;
  if (AddressRecord(ParseAddress(node.address), node.address, q.type, q.name, ttl, &rr)) {
    r->answers.push_back(std::move(rr));
  }
  if (txt) {
    MetaRecords(node, q.name, ttl, &r->answers);
  } else if (!r->answers.empty() && options.node_meta_txt) {
    MetaRecords(node, q.name, ttl, &r->additional);
  }
  // Every additional record belongs to the first answer.
  r->additional_end.assign(r->answers.size(), r->additional.size());
}

void ResolveAddr(const QueryName& qn, const Question& q, const DnsOptions& options,
                 Resolution* r) {
  r->outcome = Outcome::kNameError;
  if (OtherDatacenter(qn, options)) return;
  r->outcome = Outcome::kFound;
  ParsedAddress addr;
  addr.kind = qn.address.size() == 4 ? ParsedAddress::kV4 : ParsedAddress::kV6;
  std::copy(qn.address.begin(), qn.address.end(), addr.bytes.begin());
  ResourceRecord rr;
  if (AddressRecord(addr, "", q.type, q.name, static_cast<uint32_t>(options.node_ttl.count()),
                    &rr)) {
    r->answers.push_back(std::move(rr));
    CloseAnswer(r);
  }
}

void ResolveApex(const Question& q, const catalog::Snapshot& snapshot, const DnsOptions& options,
                 uint32_t now_unix, Resolution* r) {
  r->outcome = Outcome::kFound;
  const bool soa = q.type == kTypeSoa || q.type == kTypeAny;
  const bool ns = q.type == kTypeNs || q.type == kTypeAny;
  if (!soa && !ns) return;  // NODATA: the apex has only SOA and NS

  // One name server: this agent's node (Consul lists up to 3 servers; Beacon is one).
  std::vector<ResourceRecord> ns_records;
  std::vector<ResourceRecord> glue;
  if (!options.local_node.empty()) {
    std::string target = TargetName(options.local_node, "node", options);
    if (IsValidName(target)) {
      ns_records.push_back(
          ResourceRecord{options.domain, kTypeNs, kClassIn, 0, RdataName{target}});
      auto it = snapshot.nodes.find(AsciiLower(options.local_node));
      if (it != snapshot.nodes.end()) {
        const std::string& address = it->second->node->address;
        ParsedAddress addr = ParseAddress(address);
        ResourceRecord rr;
        if (addr.kind != ParsedAddress::kHostname &&
            AddressRecord(addr, address, kTypeAny, target, 0, &rr)) {
          glue.push_back(std::move(rr));
        }
      }
    }
  }
  if (soa) r->answers.push_back(SoaRecord(options, now_unix));
  if (ns) {
    r->answers.insert(r->answers.end(), ns_records.begin(), ns_records.end());
  } else {
    r->authority = std::move(ns_records);
  }
  r->additional = std::move(glue);
  r->additional_end.assign(r->answers.size(), r->additional.size());
}

}  // namespace

std::shared_ptr<const CandidateList> ResolverCache::Find(const catalog::Snapshot& snapshot,
                                                        const std::string& key) {
  if (&snapshot != snapshot_ || snapshot.generation != generation_) {
    lists_.clear();
    snapshot_ = &snapshot;
    generation_ = snapshot.generation;
    return nullptr;
  }
  auto it = lists_.find(key);
  return it == lists_.end() ? nullptr : it->second;
}

void ResolverCache::Store(const std::string& key, std::shared_ptr<const CandidateList> list) {
  // Many distinct names (random tags, say) within one snapshot: start over rather than grow.
  if (lists_.size() >= kMaxEntries) lists_.clear();
  lists_[key] = std::move(list);
}

ResourceRecord SoaRecord(const DnsOptions& options, uint32_t now_unix) {
  RdataSoa soa;
  const std::string suffix = options.domain == "." ? "" : options.domain;
  soa.mname = "ns." + suffix;
  soa.rname = "hostmaster." + suffix;
  soa.serial = now_unix;
  soa.refresh = 3600;
  soa.retry = 600;
  soa.expire = 86400;
  soa.minimum = 0;
  return ResourceRecord{options.domain, kTypeSoa, kClassIn, 0, std::move(soa)};
}

Resolution Resolve(const Question& question, const catalog::Snapshot& snapshot,
                   const DnsOptions& options, size_t max_answers, uint32_t now_unix,
                   std::minstd_rand& rng, ResolverCache* cache) {
  Resolution r;
  // Zone transfers are not offered (contract 6: AXFR -> NOTIMP), whatever the name.
  if (question.type == kTypeAxfr || question.type == kTypeIxfr) {
    r.outcome = Outcome::kNotImplemented;
    return r;
  }
  if (question.klass != kClassIn && question.klass != kClassAny) {
    r.outcome = Outcome::kRefused;
    return r;
  }
  QueryName qn = ParseQueryName(question.name, question.type, options.domain);
  switch (qn.kind) {
    case QueryKind::kOutsideDomain:
      r.outcome = Outcome::kRefused;
      break;
    case QueryKind::kApex:
      ResolveApex(question, snapshot, options, now_unix, &r);
      break;
    case QueryKind::kService:
      ResolveService(qn, question, snapshot, options, std::max<size_t>(max_answers, 1), rng, cache,
                     &r);
      break;
    case QueryKind::kNode:
      ResolveNode(qn, question, snapshot, options, &r);
      break;
    case QueryKind::kAddr:
      ResolveAddr(qn, question, options, &r);
      break;
    case QueryKind::kUnsupported:
    case QueryKind::kInvalid:
      r.outcome = Outcome::kNameError;
      break;
  }
  if (r.answers.size() > max_answers && qn.kind != QueryKind::kService) {
    // Node TXT answers can be many; the same cap applies (services stop building at the cap).
    r.answers.resize(max_answers);
    r.additional_end.resize(max_answers);
    r.more = true;
  }
  return r;
}

}  // namespace beacon::dns
