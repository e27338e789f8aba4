#include "catalog/types.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

namespace beacon::catalog {

std::string_view HealthStatusName(HealthStatus s) {
  switch (s) {
    case HealthStatus::kPassing: return "passing";
    case HealthStatus::kWarning: return "warning";
    case HealthStatus::kCritical: return "critical";
  }
  return "critical";
}

std::optional<HealthStatus> ParseHealthStatus(std::string_view s) {
  if (s == "passing") return HealthStatus::kPassing;
  if (s == "warning") return HealthStatus::kWarning;
  if (s == "critical") return HealthStatus::kCritical;
  return std::nullopt;
}

std::string_view CheckTypeName(CheckType t) {
  switch (t) {
    case CheckType::kNone: return "";
    case CheckType::kTtl: return "ttl";
    case CheckType::kHttp: return "http";
    case CheckType::kTcp: return "tcp";
    case CheckType::kGrpc: return "grpc";
    case CheckType::kScript: return "script";
    case CheckType::kAlias: return "alias";
    case CheckType::kUdp: return "udp";
    case CheckType::kH2ping: return "h2ping";
    case CheckType::kOsService: return "os_service";
  }
  return "";
}

TagList::TagList(std::vector<std::string> tags) {
  if (!tags.empty()) list_ = std::make_shared<const std::vector<std::string>>(std::move(tags));
}

const std::vector<std::string>& TagList::Empty() {
  static const std::vector<std::string> kEmpty;
  return kEmpty;
}

size_t TagInterner::Hash::operator()(const TagList& t) const {
  size_t h = t.size();
  for (const std::string& tag : t) {
    h = h * 1000003 ^ std::hash<std::string_view>()(tag);
  }
  return h;
}

TagList TagInterner::Intern(const TagList& tags) {
  if (tags.empty()) return TagList();
  auto it = lists_.find(tags);
  if (it != lists_.end()) return *it;
  if (lists_.size() >= sweep_at_) {
    std::erase_if(lists_, [](const TagList& t) { return t.use_count() == 1; });
    sweep_at_ = std::max<size_t>(1024, lists_.size() * 2);
  }
  return *lists_.insert(tags).first;
}

namespace {

// The keys derived for `d`, in key order.
std::array<std::string_view, 2> DerivedKeys(DerivedTaggedAddresses d) {
  if (d == DerivedTaggedAddresses::kIpv6) return {"lan_ipv6", "wan_ipv6"};
  return {"lan_ipv4", "wan_ipv4"};
}

// The derived keys of `s` that no explicit tagged address overrides, in key order.
struct DerivedShown {
  std::array<std::string_view, 2> keys{};
  size_t size = 0;
};
DerivedShown DerivedNotGiven(const Service& s) {
  DerivedShown out;
  if (s.derived_tagged != DerivedTaggedAddresses::kNone) {
    for (std::string_view key : DerivedKeys(s.derived_tagged)) {
      if (!s.tagged_addresses.contains(key)) out.keys[out.size++] = key;
    }
  }
  return out;
}

}  // namespace

void DeriveTaggedAddresses(Service& s) {
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, s.address.c_str(), &a4) == 1) {
    s.derived_tagged = DerivedTaggedAddresses::kIpv4;
  } else if (inet_pton(AF_INET6, s.address.c_str(), &a6) == 1) {
    s.derived_tagged = DerivedTaggedAddresses::kIpv6;
  } else {
    s.derived_tagged = DerivedTaggedAddresses::kNone;
    return;
  }
  bool dropped = false;
  for (std::string_view key : DerivedKeys(s.derived_tagged)) {
    auto it = s.tagged_addresses.find(key);
    if (it != s.tagged_addresses.end() && it->second.address == s.address &&
        it->second.port == s.port) {
      s.tagged_addresses.erase(it);
      dropped = true;
    }
  }
  if (dropped) s.tagged_addresses.shrink_to_fit();
}

void ForEachTaggedAddress(const Service& s,
                          const std::function<void(std::string_view, TaggedAddressRef)>& fn) {
  const DerivedShown derived = DerivedNotGiven(s);
  // Merge the explicit keys (sorted) with the derived ones (sorted, none of them explicit).
  size_t d = 0;
  for (const auto& [key, ta] : s.tagged_addresses) {
    while (d < derived.size && derived.keys[d] < key) fn(derived.keys[d++], {s.address, s.port});
    fn(key, {ta.address, ta.port});
  }
  while (d < derived.size) fn(derived.keys[d++], {s.address, s.port});
}

std::optional<TaggedAddressRef> FindTaggedAddress(const Service& s, std::string_view key) {
  auto it = s.tagged_addresses.find(key);
  if (it != s.tagged_addresses.end()) return TaggedAddressRef{it->second.address, it->second.port};
  if (s.derived_tagged != DerivedTaggedAddresses::kNone) {
    for (std::string_view derived : DerivedKeys(s.derived_tagged)) {
      if (derived == key) return TaggedAddressRef{s.address, s.port};
    }
  }
  return std::nullopt;
}

size_t TaggedAddressCount(const Service& s) {
  return s.tagged_addresses.size() + DerivedNotGiven(s).size;
}

namespace {
const CheckDefinitionExtended& DefaultExtended() {
  static const CheckDefinitionExtended kDefault;
  return kDefault;
}
}  // namespace

bool CheckDefinitionExtended::IsDefault() const { return *this == DefaultExtended(); }

CompactCheckDefinition::CompactCheckDefinition(const CheckDefinition& full)
    : CheckDefinitionCore(full) {
  set_extended(full);
}

CompactCheckDefinition::operator CheckDefinition() const {
  CheckDefinition full;
  static_cast<CheckDefinitionCore&>(full) = *this;
  if (extended_ != nullptr) static_cast<CheckDefinitionExtended&>(full) = *extended_;
  return full;
}

void CompactCheckDefinition::set_extended(const CheckDefinitionExtended& extended) {
  if (extended.IsDefault()) {
    extended_ = nullptr;
  } else {
    extended_ = std::make_shared<const CheckDefinitionExtended>(extended);
  }
}

const CheckDefinitionExtended& CompactCheckDefinition::ext() const {
  return extended_ != nullptr ? *extended_ : DefaultExtended();
}

bool CompactCheckDefinition::operator==(const CompactCheckDefinition& o) const {
  if (!(static_cast<const CheckDefinitionCore&>(*this) == o)) return false;
  // Both parts are never stored all-default, so null matches only null.
  if (extended_ == o.extended_) return true;
  return extended_ != nullptr && o.extended_ != nullptr && *extended_ == *o.extended_;
}

bool Node::SameDefinition(const Node& o) const {
  return id == o.id && name == o.name && address == o.address && datacenter == o.datacenter &&
         tagged_addresses == o.tagged_addresses && meta == o.meta;
}

bool Service::SameDefinition(const Service& o) const {
  return id == o.id && name == o.name && tags == o.tags && address == o.address &&
         tagged_addresses == o.tagged_addresses && derived_tagged == o.derived_tagged &&
         meta == o.meta && port == o.port &&
         weights == o.weights && enable_tag_override == o.enable_tag_override && kind == o.kind;
}

bool Check::SameDefinition(const Check& o) const {
  return node == o.node && id == o.id && name == o.name && notes == o.notes &&
         service_id == o.service_id && service_name == o.service_name &&
         service_tags == o.service_tags && definition == o.definition &&
         agent_owned == o.agent_owned;
}

}  // namespace beacon::catalog
