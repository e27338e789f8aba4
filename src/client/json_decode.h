// Decoders of agent responses into client types (simdjson underneath; pure functions from bytes
// to values, no sockets).
//
// Object keys are matched case-insensitively and with '_' ignored, so the same readers serve the
// agent's answers ("ServiceID") and hand-written definition files ("service_id"). `null` counts as
// absent; unknown keys are ignored; a known key with the wrong JSON type is an error naming its
// path ("[0].Service.Port: expected an integer"). Every error is kInternal with "decode <what>:
// ..." for responses (the agent sent something we cannot read) -- ParseServiceDefinitions, which
// reads files people write, reports kInvalidArgument instead.
//
// Thread safety: every function may run concurrently (each thread has its own parser).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/status.h"
#include "beacon/types.h"

namespace beacon::client::json {

// GET /v1/health/service/:service
Result<std::vector<ServiceEntry>> DecodeServiceEntries(std::string_view body);
// GET /v1/catalog/services
Result<CatalogServiceMap> DecodeCatalogServices(std::string_view body);
// GET /v1/agent/services
Result<std::map<std::string, AgentService>> DecodeAgentServices(std::string_view body);
// GET /v1/agent/checks
Result<std::map<std::string, HealthCheck>> DecodeAgentChecks(std::string_view body);
// GET /v1/agent/members
Result<std::vector<Member>> DecodeMembers(std::string_view body);
// GET /v1/agent/metrics
Result<AgentMetrics> DecodeMetrics(std::string_view body);
// A body that is one JSON string (GET /v1/status/leader).
Result<std::string> DecodeString(std::string_view body);

}  // namespace beacon::client::json
