// FreePort(): a TCP port on 127.0.0.1 that nobody was listening on a moment ago.
//
// The kernel picks it (bind to port 0, read it back, close). Another process may take the port
// before the caller binds it, so prefer letting the server itself bind port 0 and report the port;
// use this only for things that must be told a port up front (a second agent, a check target).
#pragma once

#include <cstdint>

namespace beacon::testutil {

// Returns a currently free TCP port on 127.0.0.1. Throws std::system_error if no socket can be
// bound (GoogleTest reports it as a failure of the calling test).
uint16_t FreePort();

}  // namespace beacon::testutil
