// `beacon services`: every service in the catalog with its tags (consul catalog services -tags).
#include <cstdio>

#include "beacon/json.h"
#include "cli/client_common.h"
#include "cli/commands.h"

namespace beacon::cli {

int RunServices(int argc, char** argv) {
  CLI::App app{"List the services registered in the catalog, with their tags.", "beacon services"};
  app.footer(
      "Examples:\n"
      "  beacon services\n"
      "  beacon services -format=json\n"
      "  beacon services -filter='ServiceTags contains \"v1\"'\n"
      "  CONSUL_HTTP_ADDR=127.0.0.1:8501 beacon services");
  ClientFlags flags;
  AddClientFlags(app, flags, /*with_format=*/true);
  client::QueryOptions q;
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
  auto r = c->CatalogServices(q);
  if (!r.ok()) {
    return ReportError("listing services", r.status());
  }
  if (flags.format == "json") {
    std::fputs(client::ToJson(r->value, /*pretty=*/true).c_str(), stdout);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"Service", "Tags"}};
  for (const auto& [name, tags] : r->value) {
    rows.push_back({name, JoinComma(tags)});
  }
  PrintTable(rows);
  return kExitOk;
}

}  // namespace beacon::cli
