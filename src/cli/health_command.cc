// `beacon health <service>`: the instances of a service with their health (GET /v1/health/service).
#include <cstdio>

#include "beacon/json.h"
#include "cli/client_common.h"
#include "cli/commands.h"

namespace beacon::cli {

int RunHealth(int argc, char** argv) {
  CLI::App app{"Show the instances of a service and their health.", "beacon health"};
  app.footer(
      "Examples:\n"
      "  beacon health web                     every instance, with its aggregated status\n"
      "  beacon health web -passing            only instances whose checks all pass\n"
      "  beacon health web -tag=v1 -tag=primary\n"
      "  beacon health web -filter='Service.Meta.region == \"us-east-1\"'\n"
      "  beacon health web -format=json        the agent's JSON shape\n\n"
      "Exit status: 0 also when the service has no instances (the table is empty, JSON is []).");
  ClientFlags flags;
  AddClientFlags(app, flags, /*with_format=*/true);
  std::string service;
  client::HealthServiceOptions health;
  client::QueryOptions q;
  app.add_option("service", service, "Service name")->required();
  app.add_flag("--passing", health.passing_only, "Only instances whose checks all pass");
  app.add_option("--tag", health.tags, "Only instances with this tag (repeatable: all must match)")
      ->allow_extra_args(false);
  app.add_option("--filter", q.filter, "Keep instances matching this filter expression");
  app.add_flag("--stale", q.allow_stale, "Let any server answer (may be slightly behind)");
  if (auto code = ParseArgs(app, argc, argv)) {
    return *code;
  }
  int exit_code = kExitOk;
  auto c = MakeClient(flags, app.get_name(), &exit_code);
  if (!c) {
    return exit_code;
  }
  auto r = c->HealthService(service, health, q);
  if (!r.ok()) {
    return ReportError("reading health of " + service, r.status());
  }
  if (flags.format == "json") {
    std::fputs(client::ToJson(r->value, /*pretty=*/true).c_str(), stdout);
    return kExitOk;
  }
  if (r->value.empty()) {
    std::fprintf(stderr, "No instances of service \"%s\" found.\n", service.c_str());
    return kExitOk;
  }
  PrintTable(HealthRows(r->value));
  return kExitOk;
}

}  // namespace beacon::cli
