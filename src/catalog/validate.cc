#include "catalog/validate.h"

#include <cctype>

#include "common/strings.h"

namespace beacon::catalog {

namespace {

constexpr size_t kMaxMetaPairs = 64;
constexpr size_t kMaxMetaKeyLength = 128;
constexpr size_t kMaxMetaValueLength = 512;

Status ValidateMeta(const StringMap& meta) {
  if (meta.size() > kMaxMetaPairs) {
    return InvalidArgument("Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs");
  }
  for (const auto& [key, value] : meta) {
    if (key.empty()) return InvalidArgument("Invalid Service Meta: Key cannot be blank");
    if (key.size() > kMaxMetaKeyLength) {
      return InvalidArgument("Invalid Service Meta: Key is too long (limit: 128 characters)");
    }
    for (char c : key) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
        return InvalidArgument("Invalid Service Meta: Key contains invalid characters");
      }
    }
    if (StartsWith(key, "consul-")) {
      return InvalidArgument("Invalid Service Meta: Key prefix 'consul-' is reserved for internal use");
    }
    if (value.size() > kMaxMetaValueLength) {
      return InvalidArgument("Invalid Service Meta: Value is too long (limit: 512 characters)");
    }
  }
  return Status();
}

Status ValidatePort(int port, std::string_view what) {
  if (port < 0 || port > 65535) {
    return InvalidArgument(std::string("Invalid ") + std::string(what) +
                           ": port must be between 0 and 65535, got " + std::to_string(port));
  }
  return Status();
}

// `check_weights` is false for catalog registrations: the Go client always sends
// "Weights":{"Passing":0,"Warning":0} there and Consul stores it unvalidated; zero weights then
// mean the default {1, 1}.
Status ValidateService(Service& svc, bool check_weights) {
  if (svc.name.empty()) return InvalidArgument("Missing service name");
  if (svc.id.empty()) svc.id = svc.name;
  if (svc.address == "0.0.0.0" || svc.address == "::" || svc.address == "[::]") {
    return InvalidArgument("Invalid service address");
  }
  BEACON_RETURN_IF_ERROR(ValidatePort(svc.port, "service port"));
  for (const auto& [key, ta] : svc.tagged_addresses) {
    BEACON_RETURN_IF_ERROR(ValidatePort(ta.port, "tagged address port"));
  }
  BEACON_RETURN_IF_ERROR(ValidateMeta(svc.meta));
  if (!check_weights && svc.weights.passing <= 0) svc.weights = Weights{};
  if (svc.weights.passing < 1) {
    return InvalidArgument("Invalid Weights: Passing must be greater than 0");
  }
  if (svc.weights.warning < 0) {
    return InvalidArgument("Invalid Weights: Warning must be greater or equal than 0");
  }
  // Consul adds lan/wan tagged addresses for an IP literal (contract 4.1): derived, not stored.
  DeriveTaggedAddresses(svc);
  return Status();
}

Status ValidateStatusText(const CheckSpec& spec, std::string_view message) {
  if (!spec.invalid_status.empty()) return InvalidArgument(std::string(message));
  return Status();
}

}  // namespace

Status ValidateCheckSpec(const CheckSpec& spec) {
  const CheckDefinition& d = spec.definition;
  if (!spec.decode_error.empty()) return InvalidArgument("Invalid check: " + spec.decode_error);
  bool interval_check = d.type == CheckType::kHttp || d.type == CheckType::kTcp ||
                        d.type == CheckType::kGrpc || d.type == CheckType::kScript ||
                        d.type == CheckType::kUdp || d.type == CheckType::kH2ping ||
                        d.type == CheckType::kOsService;
  if (d.interval.count() > 0 && d.ttl.count() > 0) {
    return InvalidArgument("Invalid check: Interval and TTL cannot be set simultaneously");
  }
  if (interval_check && d.interval.count() <= 0) {
    return InvalidArgument(
        "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or GRPC checks");
  }
  if (!interval_check && d.type != CheckType::kAlias && d.ttl.count() <= 0) {
    return InvalidArgument("Invalid check: TTL must be > 0 for TTL checks");
  }
  if (d.timeout.count() < 0) return InvalidArgument("Invalid check: Timeout must be >= 0");
  if (d.deregister_critical_service_after.count() < 0) {
    return InvalidArgument("Invalid check: DeregisterCriticalServiceAfter must be >= 0");
  }
  if (d.output_max_size < 0) {
    return InvalidArgument("Invalid check: MaxOutputMaxSize must be positive");
  }
  if (d.success_before_passing < 0 || d.failures_before_warning < 0 ||
      d.failures_before_critical < 0) {
    return InvalidArgument("Invalid check: thresholds must be >= 0");
  }
  if (d.failures_before_warning > d.failures_before_critical) {
    return InvalidArgument(
        "Invalid check: FailuresBeforeWarning must be less than or equal to "
        "FailuresBeforeCritical");
  }
  return Status();
}

Status NormalizeRegisterService(RegisterService& req) {
  BEACON_RETURN_IF_ERROR(ValidateService(req.service, true));
  const size_t n = req.checks.size();
  for (size_t i = 0; i < n; ++i) {
    CheckSpec& c = req.checks[i];
    BEACON_RETURN_IF_ERROR(
        ValidateStatusText(c, "Status for checks must 'passing', 'warning', 'critical'"));
    BEACON_RETURN_IF_ERROR(ValidateCheckSpec(c));
    if (c.id.empty()) {
      c.id = "service:" + req.service.id;
      if (n > 1) c.id += ":" + std::to_string(i + 1);
    }
    if (c.name.empty()) c.name = "Service '" + req.service.name + "' check";
    c.service_id = req.service.id;
  }
  return Status();
}

Status NormalizeRegisterCheck(RegisterCheck& req) {
  CheckSpec& c = req.check;
  if (c.name.empty()) return InvalidArgument("Missing check name");
  BEACON_RETURN_IF_ERROR(ValidateStatusText(c, "Bad check status"));
  BEACON_RETURN_IF_ERROR(ValidateCheckSpec(c));
  if (c.id.empty()) c.id = c.name;
  return Status();
}

Status NormalizeCatalogRegister(CatalogRegister& req) {
  if (req.node.name.empty()) return InvalidArgument("Must provide node");
  if (req.node.address.empty()) return InvalidArgument("Must provide address");
  if (req.service) {
    if (req.service->name.empty()) return InvalidArgument("Must provide service name");
    BEACON_RETURN_IF_ERROR(ValidateService(*req.service, false));
  }
  for (CheckSpec& c : req.checks) {
    BEACON_RETURN_IF_ERROR(
        ValidateStatusText(c, "Status for checks must 'passing', 'warning', 'critical'"));
    if (c.id.empty()) c.id = c.name;
    if (c.id.empty()) return InvalidArgument("Missing check ID");
  }
  return Status();
}

}  // namespace beacon::catalog
