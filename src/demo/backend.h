// A tiny HTTP backend for the demo: one service instance in its own process
// (`beacon demo-backend ...`, started by `beacon demo`).
//
// Routes:
//   GET /health            200 "ok", or 503 "unhealthy" after PUT /admin/health?fail
//   PUT /admin/health?fail make /health fail; PUT /admin/health?ok heals it
//   GET anything else      200 text: "hello from <id> (<tags>), request #<n>"
// It serves on one Asio thread, prints "listening on 127.0.0.1:<port>" once bound, and stops on
// SIGTERM/SIGINT or when its stdin reaches EOF (the demo that started it is gone).
#pragma once

#include <cstdint>
#include <string>

namespace beacon::demo {

struct BackendOptions {
  std::string id;     // the service ID it answers as
  std::string tags;   // shown in answers, e.g. "v1,primary"
  uint16_t port = 0;  // 0 = any free port
};

// Runs the backend until it is told to stop; returns the process exit code.
int RunBackend(const BackendOptions& options);

}  // namespace beacon::demo
