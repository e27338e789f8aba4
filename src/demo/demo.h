// `beacon demo`: the original sketch's service-discovery flow, for real.
//
// It starts an in-process agent (or uses the one at `http_addr`), starts four tiny HTTP backends
// as child processes (three user-service instances with different tags, metadata and weights, one
// order-service), registers them with HTTP health checks against their real /health endpoints,
// discovers them through the client's watch-fed cache, and sends real requests through a
// round-robin balancer fed by that cache, printing which instance answered each. Then it makes
// one backend fail its /health and shows it leave discovery and the rotation, kills another and
// shows the failed call ejecting it before its check notices, brings both back, deregisters one,
// and prints client, balancer and agent metrics. It stops every process it started.
//
// Every wait is bounded (step_timeout); the demo checks its own story (e.g. no request reaches the
// failing instance) and returns 1 when the agent does not behave as narrated.
#pragma once

#include <chrono>
#include <stop_token>
#include <string>

namespace beacon::demo {

struct DemoOptions {
  // Agent to use; "" = start an in-process agent on a free loopback port.
  std::string http_addr;
  // The beacon binary: backends run as `<self_exe> demo-backend ...`.
  std::string self_exe;
  // Bound on each wait for the agent to notice a change (checks run every second).
  std::chrono::seconds step_timeout{20};
  // Requests per round of load balancing.
  int requests = 6;
};

// Runs the demo, printing the narrative on stdout. Returns the exit code: 0 when every step
// happened as narrated, 1 otherwise (including when `stop` fires: Ctrl-C).
int RunDemo(const DemoOptions& options, std::stop_token stop);

}  // namespace beacon::demo
