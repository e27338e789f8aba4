// The Beacon client library in one include: Client (client.h), ServiceCache (cache.h), load
// balancers (balancer.h), JSON helpers (json.h). Link the CMake target beacon::client
// (find_package(beacon)). Everything lives in namespace beacon::client.
#pragma once

#include "beacon/balancer.h"
#include "beacon/cache.h"
#include "beacon/client.h"
#include "beacon/clock.h"
#include "beacon/json.h"
#include "beacon/options.h"
#include "beacon/status.h"
#include "beacon/transport.h"
#include "beacon/types.h"
#include "beacon/version.h"
