// Catalog value types: nodes, services and checks with Consul's model (consul-api.md section 4.0).
//
// Plain copyable structs. Wire names are given where they differ from ours. Everything here is
// transport- and storage-neutral: src/wire turns these into Consul JSON, src/store persists them.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/container/flat_map.hpp>

namespace beacon::catalog {

using Nanos = std::chrono::nanoseconds;

enum class HealthStatus { kPassing, kWarning, kCritical };

// "passing" / "warning" / "critical".
std::string_view HealthStatusName(HealthStatus s);
// Parses exactly the three lower-case names; anything else is nullopt.
std::optional<HealthStatus> ParseHealthStatus(std::string_view s);

// The small string-keyed maps of a record (Meta, TaggedAddresses): one sorted array per map
// instead of a tree node per entry, which made up most of a stored service's memory at 100,000
// instances (W4 in docs/PERFORMANCE.md). Iteration is in key order like std::map (the JSON
// output and the filter evaluator rely on it); std::less<> lets lookups take a string_view.
// Inserting one entry is linear in the size: code that builds a whole map from input of any size
// uses MakeFlatStringMap.
template <typename V>
using FlatStringMap = boost::container::flat_map<std::string, V, std::less<>>;
using StringMap = FlatStringMap<std::string>;

// The array a FlatStringMap keeps its entries in.
template <typename V>
using FlatStringMapPairs = typename FlatStringMap<V>::sequence_type;

// A FlatStringMap that takes over `pairs`, given in any order: O(n log n) where inserting them one
// by one would be quadratic (decoders read maps of any size before validation limits them), and
// no copy when they come sorted, as in the records this program wrote. Of pairs with equal keys
// the last one wins, as with repeated operator[] assignment.
template <typename V>
FlatStringMap<V> MakeFlatStringMap(FlatStringMapPairs<V> pairs) {
  const auto less = [](const auto& a, const auto& b) { return a.first < b.first; };
  const auto not_less = [&](const auto& a, const auto& b) { return !less(a, b); };
  if (std::adjacent_find(pairs.begin(), pairs.end(), not_less) != pairs.end()) {
    std::stable_sort(pairs.begin(), pairs.end(), less);
    auto kept = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it) {
      if (std::next(it) != pairs.end() && std::next(it)->first == it->first) continue;
      if (kept != it) *kept = std::move(*it);
      ++kept;
    }
    pairs.erase(kept, pairs.end());
    pairs.shrink_to_fit();  // a stored map is not grown again
  }
  FlatStringMap<V> out;
  out.adopt_sequence(boost::container::ordered_unique_range, std::move(pairs));
  return out;
}

// An immutable list of tags, shared: copying one copies a pointer. The catalog's writer hands
// every record with the same tags the same list (TagInterner), so a service's instances, which
// usually carry one of a few tag sets, and each service check, which carries its service's tags,
// hold one list between them (W4 in docs/PERFORMANCE.md).
class TagList {
 public:
  using value_type = std::string;
  using const_iterator = std::vector<std::string>::const_iterator;
  using iterator = const_iterator;

  TagList() = default;
  TagList(std::vector<std::string> tags);         // NOLINT(google-explicit-constructor)
  TagList(std::initializer_list<std::string> tags)  // NOLINT(google-explicit-constructor)
      : TagList(std::vector<std::string>(tags)) {}

  const std::vector<std::string>& get() const { return list_ ? *list_ : Empty(); }
  operator const std::vector<std::string>&() const { return get(); }  // NOLINT

  const_iterator begin() const { return get().begin(); }
  const_iterator end() const { return get().end(); }
  size_t size() const { return get().size(); }
  bool empty() const { return get().empty(); }
  const std::string& operator[](size_t i) const { return get()[i]; }
  void clear() { list_.reset(); }

  bool operator==(const TagList& o) const { return list_ == o.list_ || get() == o.get(); }
  bool operator==(const std::vector<std::string>& o) const { return get() == o; }
  // Same list object (not only the same tags): what interning is checked by.
  bool SharesWith(const TagList& o) const { return list_ == o.list_; }
  long use_count() const { return list_.use_count(); }

 private:
  static const std::vector<std::string>& Empty();
  std::shared_ptr<const std::vector<std::string>> list_;  // null when empty
};

// Hands out one shared TagList per distinct list of tags. Used by one thread (the writer).
// Lists nobody else holds any more are dropped whenever the set has doubled since the last
// sweep, so it stays within twice the lists in use.
class TagInterner {
 public:
  TagList Intern(const TagList& tags);
  size_t size() const { return lists_.size(); }

 private:
  struct Hash {
    size_t operator()(const TagList& t) const;
  };
  std::unordered_set<TagList, Hash> lists_;
  size_t sweep_at_ = 1024;
};

struct TaggedAddress {  // Service.TaggedAddresses values: {"Address": str, "Port": int}
  std::string address;
  int port = 0;
  bool operator==(const TaggedAddress&) const = default;
};

struct Weights {  // Service.Weights
  int passing = 1;
  int warning = 1;
  bool operator==(const Weights&) const = default;
};

struct Node {
  std::string id;       // wire "ID": a UUID string
  std::string name;     // wire "Node"
  std::string address;  // wire "Address"
  std::string datacenter;
  StringMap tagged_addresses;  // strings, unlike services
  StringMap meta;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;

  // Equality of the definition, ignoring indexes (a write that changes nothing is skipped).
  bool SameDefinition(const Node& o) const;
};

// Which lan_/wan_ pair of tagged addresses a service gets from its Address and Port.
enum class DerivedTaggedAddresses : uint8_t { kNone, kIpv4, kIpv6 };

struct Service {
  std::string id;    // wire "ID"; unique per node
  std::string name;  // wire "Service"
  TagList tags;
  std::string address;
  // The tagged addresses given explicitly. Consul's agent adds lan_ipv4 and wan_ipv4 (or the
  // _ipv6 pair) = {Address, Port} for an IP literal Address; those are derived when read, not
  // stored (see DeriveTaggedAddresses): readers use ForEachTaggedAddress / FindTaggedAddress.
  FlatStringMap<TaggedAddress> tagged_addresses;
  StringMap meta;
  int port = 0;
  Weights weights;
  bool enable_tag_override = false;
  DerivedTaggedAddresses derived_tagged = DerivedTaggedAddresses::kNone;
  std::string kind;  // "" for a typical service; stored and echoed, no mesh semantics
  uint64_t create_index = 0;
  uint64_t modify_index = 0;

  bool SameDefinition(const Service& o) const;
};

// Decides which tagged addresses `s` derives from its Address (none unless it is an IPv4 or IPv6
// literal) and drops the explicit ones equal to what is derived, which then read the same.
void DeriveTaggedAddresses(Service& s);

// A tagged address as read: explicit, or derived from the service's Address and Port.
struct TaggedAddressRef {
  std::string_view address;
  int port = 0;
};
// Every tagged address of `s`, explicit and derived, in key order.
void ForEachTaggedAddress(const Service& s,
                          const std::function<void(std::string_view, TaggedAddressRef)>& fn);
std::optional<TaggedAddressRef> FindTaggedAddress(const Service& s, std::string_view key);
size_t TaggedAddressCount(const Service& s);

enum class CheckType { kNone, kTtl, kHttp, kTcp, kGrpc, kScript, kAlias, kUdp, kH2ping, kOsService };

// Wire "Type": "ttl", "http", ... and "" for kNone (catalog-registered checks, serfHealth).
std::string_view CheckTypeName(CheckType t);

// What the agent needs to run a check. Stored with the check; HTTP/TCP/gRPC execution is issue #4.
//
// Split in two parts so that a stored check pays only for what its kind uses (W4 in
// docs/PERFORMANCE.md): the core below, which every check kind uses, and the extended part,
// which only HTTP/TCP/gRPC/UDP/H2PING/script/alias/OS-service checks set. CheckDefinition has
// both (it is what requests and the check runner work with); a stored Check keeps a
// CompactCheckDefinition, where the extended part sits behind one shared pointer that is null
// when every extended field is unset, as for TTL checks.
struct CheckDefinitionCore {
  CheckType type = CheckType::kNone;
  Nanos ttl{0};
  Nanos interval{0};
  Nanos timeout{0};
  Nanos deregister_critical_service_after{0};
  int success_before_passing = 0;
  int failures_before_warning = 0;
  int failures_before_critical = 0;
  int output_max_size = 0;  // 0 = default 4096

  bool operator==(const CheckDefinitionCore&) const = default;
};

struct CheckDefinitionExtended {
  std::string http;
  std::string method;
  std::map<std::string, std::vector<std::string>> header;
  std::string body;
  bool disable_redirects = false;
  bool tls_skip_verify = false;
  std::string tls_server_name;
  std::string tcp;
  bool tcp_use_tls = false;
  std::string grpc;
  bool grpc_use_tls = false;
  std::string udp;
  std::string h2ping;
  std::vector<std::string> script_args;
  std::string docker_container_id;
  std::string shell;
  std::string alias_node;
  std::string alias_service;
  std::string os_service;

  bool operator==(const CheckDefinitionExtended&) const = default;
  // True when every field has its default (nothing worth a separate allocation).
  bool IsDefault() const;
};

// The full, mutable definition: every field reads and writes as a plain member.
struct CheckDefinition : CheckDefinitionCore, CheckDefinitionExtended {
  bool operator==(const CheckDefinition&) const = default;
};

// A check's definition as the catalog keeps it: the core inline, the extended part shared and
// immutable (copies of a check share it), null when all of it is at its defaults. Reads of the
// extended fields go through accessors that return the default for a null part, so a reader sees
// the same values as in the CheckDefinition it was built from.
class CompactCheckDefinition : public CheckDefinitionCore {
 public:
  CompactCheckDefinition() = default;
  // Implicit on purpose, both ways: a registration assigns its CheckDefinition to a Check, and
  // the check runner hands a check's definition to functions that take a CheckDefinition
  // (building the probe), which then get a full copy. Both are rare next to reads of the core.
  CompactCheckDefinition(const CheckDefinition& full);  // NOLINT(google-explicit-constructor)
  operator CheckDefinition() const;                      // NOLINT(google-explicit-constructor)

  // The extended part, or nullptr when every extended field has its default.
  const CheckDefinitionExtended* extended() const { return extended_.get(); }
  // Replaces the extended part (stored only when it is not all defaults).
  void set_extended(const CheckDefinitionExtended& extended);

  const std::string& http() const { return ext().http; }
  const std::string& method() const { return ext().method; }
  const std::map<std::string, std::vector<std::string>>& header() const { return ext().header; }
  const std::string& body() const { return ext().body; }
  bool disable_redirects() const { return ext().disable_redirects; }
  bool tls_skip_verify() const { return ext().tls_skip_verify; }
  const std::string& tls_server_name() const { return ext().tls_server_name; }
  const std::string& tcp() const { return ext().tcp; }
  bool tcp_use_tls() const { return ext().tcp_use_tls; }
  const std::string& grpc() const { return ext().grpc; }
  bool grpc_use_tls() const { return ext().grpc_use_tls; }
  const std::string& udp() const { return ext().udp; }
  const std::string& h2ping() const { return ext().h2ping; }
  const std::vector<std::string>& script_args() const { return ext().script_args; }
  const std::string& docker_container_id() const { return ext().docker_container_id; }
  const std::string& shell() const { return ext().shell; }
  const std::string& alias_node() const { return ext().alias_node; }
  const std::string& alias_service() const { return ext().alias_service; }
  const std::string& os_service() const { return ext().os_service; }

  // Equal when the core and the extended fields are equal (the parts' values, not pointers).
  bool operator==(const CompactCheckDefinition& o) const;

 private:
  const CheckDefinitionExtended& ext() const;

  std::shared_ptr<const CheckDefinitionExtended> extended_;
};

struct Check {
  std::string node;  // wire "Node"
  std::string id;    // wire "CheckID"
  std::string name;
  HealthStatus status = HealthStatus::kCritical;
  // True for checks owned by this agent (agent API); false for catalog-registered ones, which
  // are stored but never executed (contract 4.14). Beside `status`, where it fills padding: at
  // 100,000 checks the smaller record saves 1.6 MB (W4 in docs/PERFORMANCE.md).
  bool agent_owned = true;
  std::string notes;
  std::string output;
  std::string service_id;    // "" for a node-level check
  std::string service_name;  // filled from the service at registration
  TagList service_tags;  // the service's own list (shared)
  CompactCheckDefinition definition;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;

  // Bookkeeping persisted with the check (not on the wire):
  // when the TTL deadline is due (wall ns since epoch; 0 = none), and since when the check is
  // critical (0 = not critical), both needed after a restart.
  int64_t ttl_deadline_ns = 0;
  int64_t critical_since_ns = 0;

  bool SameDefinition(const Check& o) const;  // ignores status/output/indexes/bookkeeping
};

// One instance as health/service returns it: node, service, the service's checks plus the node's.
struct ServiceInstanceView {
  const Node* node = nullptr;
  const Service* service = nullptr;
  std::vector<const Check*> checks;  // service checks first, then node-level checks
};

// The agent's own node-level check, always present (contract 4.0).
inline constexpr std::string_view kSerfHealthCheckId = "serfHealth";
inline constexpr std::string_view kSerfHealthName = "Serf Health Status";
inline constexpr std::string_view kSerfHealthOutput = "Agent alive and reachable";
inline constexpr std::string_view kNodeMaintenanceCheckId = "_node_maintenance";
inline constexpr std::string_view kServiceMaintenancePrefix = "_service_maintenance:";

}  // namespace beacon::catalog
