// Logging set-up: levels, text or JSON lines, and the HTTP access log.
//
// Every log line goes to stderr (stdout carries only the agent's "listening on" lines that
// scripts read). With json = true each line is one JSON object in hclog's shape, as Consul writes
// with -log-json: {"@timestamp", "@level", "@module", "@message", ...fields}. The access log is a
// separate logger ("http.access") so it can be switched off without silencing the rest; it is
// flushed in the background (once a second and at exit) rather than per line.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace beacon {

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, off
  bool json = false;
  bool access_log = true;
};

// Installs the loggers. InvalidArgument for an unknown level. Call once, before threads start.
Status ConfigureLogging(const LogOptions& options);

// One access-log line: method, path, status, bytes, duration, peer.
struct AccessRecord {
  std::string_view method;
  std::string_view path;  // the request target as sent
  int status = 0;
  size_t bytes = 0;  // response body bytes
  double duration_ms = 0;
  std::string_view peer;
};
void LogAccess(const AccessRecord& record);

// Escapes `s` for use inside a JSON string (no quotes added).
std::string JsonEscapeString(std::string_view s);

// Flushes every logger (at shutdown).
void FlushLogs();

}  // namespace beacon
