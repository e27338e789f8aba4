#include "catalog/types.h"

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
         tagged_addresses == o.tagged_addresses && meta == o.meta && port == o.port &&
         weights == o.weights && enable_tag_override == o.enable_tag_override && kind == o.kind;
}

bool Check::SameDefinition(const Check& o) const {
  return node == o.node && id == o.id && name == o.name && notes == o.notes &&
         service_id == o.service_id && service_name == o.service_name &&
         service_tags == o.service_tags && definition == o.definition &&
         agent_owned == o.agent_owned;
}

}  // namespace beacon::catalog
