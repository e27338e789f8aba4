// Request-body decoders: Consul JSON bodies -> the catalog's write requests (consul-api.md 1.2).
//
// Each decoder is a pure function from bytes to a request struct. The rules every decoder shares:
//   - object keys are matched case-insensitively, and the snake_case aliases of section 1.2 work
//     (a key is compared with '_' removed, so `enable_tag_override` is `EnableTagOverride`);
//     `Args` is an alias of `ScriptArgs`;
//   - `null` for any field means the field is absent; unknown keys are ignored **[Beacon]**;
//   - durations are Go duration strings ("10s", "1m30s") or JSON numbers of nanoseconds;
//   - when a key appears twice, the last one wins (as with Go's encoding/json).
// Decoding checks JSON syntax and the JSON type of every known field; it does not validate values
// (missing names, bad ports, check rules): the catalog does that so that every transport reports
// the same errors. Check problems the catalog must report are carried in CheckSpec.invalid_status
// and CheckSpec.decode_error.
//
// Errors (all InvalidArgument, the HTTP layer turns them into 400 with the message as body):
//   malformed JSON      "Request decode failed: <parser detail>"
//   empty body          "Request decode failed: EOF"
//   wrong JSON type     "Request decode failed: <field path>: <why>", e.g.
//                       "Request decode failed: Checks[1].Interval: expected a duration, got array"
//
// Thread safety: every function may be called concurrently from any thread (each thread reuses
// its own parser). Nesting deeper than simdjson's depth limit (1024) is a decode error, never a
// crash: the parser is iterative and the decoders only descend into known fields.
#pragma once

#include <string_view>

#include "catalog/requests.h"
#include "common/status.h"

namespace beacon::wire {

// PUT /v1/agent/service/register (contract 4.1). The service's ID is left "" when absent (the
// catalog defaults it to the name). `Check` (unless all its fields are empty) comes first in
// `checks`, then every element of `Checks`; a `ServiceID` inside those checks is ignored, as in
// Consul. Weights default to {1,1} when absent; a given Weights object starts from {0,0}, so
// that a missing Passing is reported by validation as in Consul. replace_existing_checks is a
// query parameter and stays false.
Result<catalog::RegisterService> DecodeAgentServiceRegister(std::string_view body);

// PUT /v1/agent/check/register (contract 4.6). `ID` wins over its [Beacon] alias `CheckID`;
// both absent leaves check.id "" (the catalog defaults it to the name).
Result<catalog::RegisterCheck> DecodeAgentCheckRegister(std::string_view body);

// PUT /v1/agent/check/update/:check_id (contract 4.9). check_id is left "" for the caller to fill
// from the path. A Status other than passing/warning/critical (also a missing one) is
// InvalidArgument "Invalid check status: '<s>'". Output is not truncated here.
Result<catalog::UpdateTtl> DecodeCheckUpdate(std::string_view body);

// PUT /v1/catalog/register (contract 4.14). `Node` -> node.name, `ID`, `Address`, `Datacenter`,
// `TaggedAddresses` (strings), `NodeMeta`; `Service` (a NodeService: `Service` is the name);
// `Check` then `Checks` (HealthCheck objects: `CheckID` (alias `ID`), `Name`, `Notes`, `Status`,
// `Output`, `ServiceID`, and a `Definition` object with HTTP/TCP/Interval/... where
// `IntervalDuration`-style names are accepted too; a top-level `Interval`/`Timeout` is used when
// the Definition does not set it); `SkipNodeUpdate`. `WriteRequest` is ignored.
Result<catalog::CatalogRegister> DecodeCatalogRegister(std::string_view body);

// PUT /v1/catalog/deregister (contract 4.14): `Node`, `ServiceID`, `CheckID`. `Datacenter` is
// accepted but not returned (the request struct has no field for it).
Result<catalog::CatalogDeregister> DecodeCatalogDeregister(std::string_view body);

}  // namespace beacon::wire
