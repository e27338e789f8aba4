// Validation and defaults for write requests (consul-api.md 4.1, 4.6, 4.14).
//
// Pure functions, run on the caller's thread before a request is queued, so bad input is
// rejected with a clear message and never reaches the writer or the store (STYLE.md section 3:
// validate before the write transaction starts). Messages are Consul's, byte for byte where
// clients match them.
#pragma once

#include "catalog/requests.h"
#include "common/status.h"

namespace beacon::catalog {

// Checks the service and its checks and fills in defaults: ID = Name, lan/wan tagged addresses
// for an IP literal Address, check IDs `service:<ID>[:<n>]`, check names, ServiceID/ServiceName.
Status NormalizeRegisterService(RegisterService& req);

// Checks an agent check registration and fills in defaults (ID = Name).
Status NormalizeRegisterCheck(RegisterCheck& req);

// Checks a catalog registration (Node and Address required, service and checks valid).
Status NormalizeCatalogRegister(CatalogRegister& req);

// The check-type rules shared by every registration path: "Invalid check: <why>" on failure.
Status ValidateCheckSpec(const CheckSpec& spec);

}  // namespace beacon::catalog
