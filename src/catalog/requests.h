// Write requests the catalog accepts. src/wire decodes Consul JSON bodies into these; the
// catalog validates them (validate.h) and applies them on its single writer thread.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "catalog/types.h"

namespace beacon::catalog {

// A check as given in a registration body, before defaults are applied.
// `status` is nullopt when the body had no Status (new checks then start critical).
struct CheckSpec {
  std::string id;  // CheckID / ID; "" = default
  std::string name;
  std::string notes;
  std::optional<HealthStatus> status;
  std::string service_id;  // only for check register / catalog register
  std::string output;      // only meaningful for catalog register
  CheckDefinition definition;
  // Raw text of a Status that did not parse, so validation can report it; "" when fine.
  std::string invalid_status;
  // Raw type problems found while decoding (for "Invalid check: ..."), "" when fine.
  std::string decode_error;
};

// PUT /v1/agent/service/register
struct RegisterService {
  Service service;  // create/modify index ignored
  std::vector<CheckSpec> checks;  // Check first, then Checks
  bool replace_existing_checks = false;
};

// PUT /v1/agent/service/deregister/:id
struct DeregisterService {
  std::string service_id;
};

// PUT /v1/agent/check/register
struct RegisterCheck {
  CheckSpec check;
};

// PUT /v1/agent/check/deregister/:id
struct DeregisterCheck {
  std::string check_id;
};

// pass/warn/fail/update of a TTL check. `check_id` may also be a bare service ID whose service
// has exactly one TTL check (the original sketch's heartbeat).
struct UpdateTtl {
  std::string check_id;
  HealthStatus status = HealthStatus::kPassing;
  std::string output;
};

// PUT /v1/agent/service/maintenance/:id and /v1/agent/maintenance (service_id empty = node).
struct SetMaintenance {
  std::string service_id;
  bool enable = false;
  std::string reason;
};

// PUT /v1/catalog/register
struct CatalogRegister {
  Node node;  // name, address, id, tagged addresses, meta; datacenter
  std::optional<Service> service;
  std::vector<CheckSpec> checks;
  bool skip_node_update = false;
};

// PUT /v1/catalog/deregister
struct CatalogDeregister {
  std::string node;
  std::string service_id;  // "" = not a service removal
  std::string check_id;    // "" = not a check removal; both empty = remove the node
};

// The result of a check the agent runs itself (HTTP, TCP, gRPC, ...), after its thresholds were
// applied. A status change is written at once; an output-only change at most once per
// CatalogOptions::output_update_interval (it is dropped in between, so a check whose output
// varies on every run does not write or wake watchers every interval).
struct CheckResult {
  std::string check_id;
  HealthStatus status = HealthStatus::kCritical;
  std::string output;
};

// Internal writes, issued by the catalog's own timers.
struct ExpireTtl {
  std::string node;
  std::string check_id;
  int64_t deadline_ns = 0;  // only expires if the check's deadline is still this one
};
struct ReapCritical {};
// Publishes a TTL check's output-only change that UpdateTtl stored without moving the index:
// moves the check's ModifyIndex so that watchers get the output (contract 2.1).
struct FlushOutput {
  std::string node;  // lower-cased
  std::string check_id;
};

// Cluster mode: the agent-liveness check (serfHealth) of a node, set by the cluster's leader when
// the node's agent stops renewing its lease, and by the agent itself when it is back.
// A node without a serfHealth check (one registered through the catalog API) is left alone.
struct SetNodeLiveness {
  std::string node;
  HealthStatus status = HealthStatus::kPassing;
  std::string output;
};

using WriteRequest =
    std::variant<RegisterService, DeregisterService, RegisterCheck, DeregisterCheck, UpdateTtl,
                 SetMaintenance, CatalogRegister, CatalogDeregister, CheckResult, ExpireTtl,
                 ReapCritical, FlushOutput, SetNodeLiveness>;

}  // namespace beacon::catalog
