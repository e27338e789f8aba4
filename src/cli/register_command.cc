// `beacon register`: register a service with the local agent, from flags or from a JSON service
// definition file (as `consul services register` takes them).
#include <cstdio>
#include <fstream>
#include <sstream>

#include "beacon/json.h"
#include "cli/client_common.h"
#include "cli/commands.h"

namespace beacon::cli {

namespace {

// Reads a whole file; empty optional with *error set when it cannot be read.
std::optional<std::string> ReadFile(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int RunRegister(int argc, char** argv) {
  CLI::App app{"Register a service (and its checks) with the local agent.", "beacon register"};
  app.footer(
      "Examples:\n"
      "  beacon register -name=web -port=8080 -tag=v1 -meta=region=us-east-1\n"
      "  beacon register -name=web -id=web-1 -port=8080 -check-http=http://127.0.0.1:8080/health "
      "-check-interval=5s\n"
      "  beacon register -name=worker -check-ttl=30s      then: beacon check pass service:worker\n"
      "  beacon register web.json\n\n"
      "A definition file holds {\"service\": {...}}, {\"services\": [...]} or one bare service\n"
      "object, with Consul's field names in any case (name, port, tags, meta, weights, check,\n"
      "checks, ...). Flags describe one service and cannot be combined with a file.");
  ClientFlags flags;
  AddClientFlags(app, flags, /*with_format=*/false);
  std::string file;
  client::ServiceRegistration s;
  std::vector<std::string> meta;
  std::string check_ttl, check_http, check_tcp, check_interval = "10s", check_timeout;
  std::string check_id, deregister_after;
  bool replace_checks = false;
  app.add_option("file", file, "JSON service definition file");
  app.add_option("--name", s.name, "Service name");
  app.add_option("--id", s.id, "Service ID (default: the name); unique on this agent");
  app.add_option("--address", s.address, "Address of the instance (default: the node's)");
  app.add_option("--port", s.port, "Port of the instance")->check(CLI::Range(0, 65535));
  app.add_option("--tag", s.tags, "A tag (repeatable)")->allow_extra_args(false);
  app.add_option("--meta", meta, "Metadata as key=value (repeatable)")->allow_extra_args(false);
  app.add_option("--weight-passing", s.weights.passing, "Weight while passing")
      ->capture_default_str();
  app.add_option("--weight-warning", s.weights.warning, "Weight while warning")
      ->capture_default_str();
  app.add_option("--check-ttl", check_ttl, "Add a TTL check with this TTL (e.g. 30s)");
  app.add_option("--check-http", check_http, "Add an HTTP check of this URL");
  app.add_option("--check-tcp", check_tcp, "Add a TCP check of this host:port");
  app.add_option("--check-interval", check_interval, "Interval of the HTTP/TCP check")
      ->capture_default_str();
  app.add_option("--check-timeout", check_timeout, "Timeout of the HTTP/TCP check (default 10s)");
  app.add_option("--check-id", check_id, "ID of the check (with exactly one check)");
  app.add_option("--deregister-after", deregister_after,
                 "Remove the instance once a check has been critical this long");
  app.add_flag("--replace-existing-checks", replace_checks,
               "Remove checks of this service that the definition does not list");
  if (auto code = ParseArgs(app, argc, argv)) {
    return *code;
  }

  std::vector<client::ServiceRegistration> services;
  if (!file.empty()) {
    if (app.count("--name") + app.count("--id") + app.count("--port") + app.count("--tag") +
            app.count("--meta") + app.count("--check-ttl") + app.count("--check-http") +
            app.count("--check-tcp") + app.count("--address") >
        0) {
      return UsageError(app.get_name(), "give either a definition file or service flags, not both");
    }
    std::string error;
    auto text = ReadFile(file, &error);
    if (!text) {
      return UsageError(app.get_name(), error);
    }
    auto parsed = client::ParseServiceDefinitions(*text);
    if (!parsed.ok()) {
      return UsageError(app.get_name(), file + ": " + parsed.status().message());
    }
    services = std::move(*parsed);
  } else {
    if (s.name.empty()) {
      return UsageError(app.get_name(), "missing -name (or a definition file)");
    }
    for (const std::string& kv : meta) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        return UsageError(app.get_name(), "-meta wants key=value, got \"" + kv + "\"");
      }
      s.meta[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    auto duration = [&](const std::string& text, const char* flag,
                        std::chrono::milliseconds* out) -> bool {
      if (text.empty()) {
        return true;
      }
      auto d = client::ParseDuration(text);
      if (!d.ok()) {
        UsageError(app.get_name(), std::string(flag) + ": " + d.status().message());
        return false;
      }
      *out = *d;
      return true;
    };
    client::CheckDefinition base;
    std::chrono::milliseconds interval{0};
    if (!duration(check_interval, "-check-interval", &interval) ||
        !duration(check_timeout, "-check-timeout", &base.timeout) ||
        !duration(deregister_after, "-deregister-after", &base.deregister_critical_service_after)) {
      return kExitUsage;
    }
    if (!check_ttl.empty()) {
      client::CheckDefinition c = base;
      c.timeout = {};
      if (!duration(check_ttl, "-check-ttl", &c.ttl)) {
        return kExitUsage;
      }
      s.checks.push_back(c);
    }
    if (!check_http.empty()) {
      client::CheckDefinition c = base;
      c.http = check_http;
      c.interval = interval;
      s.checks.push_back(c);
    }
    if (!check_tcp.empty()) {
      client::CheckDefinition c = base;
      c.tcp = check_tcp;
      c.interval = interval;
      s.checks.push_back(c);
    }
    if (!check_id.empty()) {
      if (s.checks.size() != 1) {
        return UsageError(app.get_name(), "-check-id needs exactly one check");
      }
      s.checks[0].check_id = check_id;
    }
    services.push_back(std::move(s));
  }

  int exit_code = kExitOk;
  auto c = MakeClient(flags, app.get_name(), &exit_code);
  if (!c) {
    return exit_code;
  }
  for (const client::ServiceRegistration& service : services) {
    if (client::Status st = c->RegisterService(service, replace_checks); !st.ok()) {
      return ReportError("registering service " + service.name, st);
    }
    std::printf("Registered service: %s\n", service.name.c_str());
  }
  return kExitOk;
}

}  // namespace beacon::cli
