// JSON forms of the client types, for files people write and for programs that read `-format=json`.
//
// Output uses Consul's wire shapes and field names (consul-api.md 4.0), so what `beacon health
// -format=json` prints reads like GET /v1/health/service/:s.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/status.h"
#include "beacon/types.h"

namespace beacon::client {

// Reads a service definition as Consul's config files and `consul services register` take it:
// {"service": {...}}, {"services": [{...}, ...]}, or the bare service object. Keys are matched
// case-insensitively with '_' ignored ("Name", "name", "enable_tag_override"); a service's checks
// come from "check" and/or "checks"; durations are Go duration strings ("10s", "1m30s") or
// numbers of nanoseconds. Unknown keys are ignored, as by the agent. InvalidArgument names the
// problem ("services[1].port: expected an integer").
Result<std::vector<ServiceRegistration>> ParseServiceDefinitions(std::string_view json);

// Parses a Go duration string ("250ms", "1m30s", "0"). InvalidArgument when malformed or negative.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// The shortest Go duration string for `d` ("1.5s", "250ms", "0s").
std::string FormatDuration(std::chrono::milliseconds d);

// The body of PUT /v1/agent/service/register for `service`.
std::string ToJson(const ServiceRegistration& service);

// Wire-shaped JSON for output. `pretty` indents by two spaces.
std::string ToJson(const std::vector<ServiceEntry>& entries, bool pretty = false);
std::string ToJson(const CatalogServiceMap& services, bool pretty = false);
std::string ToJson(const std::vector<Member>& members, bool pretty = false);

}  // namespace beacon::client
