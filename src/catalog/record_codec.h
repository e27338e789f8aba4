// Record codec: how the catalog's entities are persisted in the Store.
//
// Every field of the entity round-trips, including the indexes and the bookkeeping fields
// (ttl_deadline_ns, critical_since_ns, agent_owned) that are not on the wire. The encoding is
// compact JSON with short stable keys; decoding tolerates missing keys (defaults) so that fields
// added later do not break old data directories, and rejects anything that is not a JSON object.
#pragma once

#include <string>
#include <string_view>

#include "catalog/types.h"
#include "common/status.h"

namespace beacon::catalog {

std::string EncodeNodeRecord(const Node& node);
Result<Node> DecodeNodeRecord(std::string_view bytes);

std::string EncodeServiceRecord(const Service& service);
Result<Service> DecodeServiceRecord(std::string_view bytes);

std::string EncodeCheckRecord(const Check& check);
Result<Check> DecodeCheckRecord(std::string_view bytes);

}  // namespace beacon::catalog
