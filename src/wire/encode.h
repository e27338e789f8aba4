// Response encoders: catalog values -> Consul JSON bodies (consul-api.md 1.3 and 4.0-4.14).
//
// Every function returns the complete body. Output is compact JSON; with EncodeOptions::pretty
// it is indented by four spaces with a trailing newline, byte-compatible with Go's
// json.MarshalIndent(v, "", "    ") that Consul uses for `?pretty`. Shapes follow contract 4.0:
// lists and maps are [] / {} when empty, never null; `Kind` and `TaggedAddresses` of a service
// are omitted when empty; `Proxy` / `Connect` are emitted as {}. Objects keyed by ID (agent
// services and checks, catalog/node Services) are written in byte-wise key order, as Go writes
// maps.
//
// These run on the read path: each call writes straight into the returned string (one growing
// buffer, no intermediate copies or per-field allocations).
//
// Thread safety: pure functions; callable concurrently. The pointers passed in are borrowed for
// the duration of the call only. REQUIRES for every pointer argument (except EncodeCatalogNode's
// node): not null, and for an Instance, its node and service are not null.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/snapshot.h"
#include "catalog/types.h"

namespace beacon::wire {

struct EncodeOptions {
  // `?pretty`: indented output plus a trailing newline. Default false: compact, no newline.
  bool pretty = false;
};

// GET /v1/health/service/:service (4.11): [{"Node": Node, "Service": Service, "Checks":
// [HealthCheck]}], one element per instance in the given order. A node whose datacenter is ""
// is reported in `datacenter`.
std::string EncodeHealthServiceEntries(const std::vector<const catalog::Instance*>& instances,
                                       std::string_view datacenter, EncodeOptions options = {});
// One element of that answer, compact. The compact answer is exactly '[' + its elements joined
// by ',' + ']', so a caller may keep elements of unchanged instances and join them.
std::string EncodeHealthServiceEntry(const catalog::Instance& instance,
                                     std::string_view datacenter);

// GET /v1/catalog/service/:service (4.13): [ServiceNode] with the flattened Node*/Service* fields.
std::string EncodeCatalogServiceNodes(const std::vector<const catalog::Instance*>& instances,
                                      std::string_view datacenter, EncodeOptions options = {});

// GET /v1/catalog/nodes (4.13): [Node].
std::string EncodeNodes(const std::vector<const catalog::Node*>& nodes, EncodeOptions options = {});

// GET /v1/catalog/node/:node (4.13): {"Node": Node, "Services": {"<id>": Service}}; `null` when
// `node` is nullptr (unknown node).
std::string EncodeCatalogNode(const catalog::Node* node,
                              const std::vector<const catalog::Service*>& services,
                              EncodeOptions options = {});

// GET /v1/catalog/services (4.13): {"<name>": [tags]}; the tag lists are written as given.
std::string EncodeCatalogServices(const std::map<std::string, std::vector<std::string>>& services,
                                  EncodeOptions options = {});

// GET /v1/health/checks|state|node (4.12): [HealthCheck] in the given order.
std::string EncodeHealthChecks(const std::vector<const catalog::Check*>& checks,
                               EncodeOptions options = {});

// GET /v1/agent/checks (4.5): {"<CheckID>": HealthCheck}.
std::string EncodeAgentChecks(const std::vector<const catalog::Check*>& checks,
                              EncodeOptions options = {});

// GET /v1/agent/services (4.3): {"<ID>": AgentService}, AgentService = Service minus the indexes
// plus "Datacenter".
std::string EncodeAgentServices(const std::vector<const catalog::Service*>& services,
                                std::string_view datacenter, EncodeOptions options = {});

// GET /v1/agent/service/:id (4.4): one AgentService plus "ContentHash": content_hash. To compute
// the hash, a caller can hash EncodeAgentService(service, datacenter, "") (the hash field itself
// is then empty, so the result is stable).
std::string EncodeAgentService(const catalog::Service& service, std::string_view datacenter,
                               std::string_view content_hash, EncodeOptions options = {});

}  // namespace beacon::wire
