// `beacon members`: the members the agent knows (consul members).
#include <cstdio>

#include "beacon/json.h"
#include "cli/client_common.h"
#include "cli/commands.h"

namespace beacon::cli {

int RunMembers(int argc, char** argv) {
  CLI::App app{"List the members of the cluster as the local agent sees them.", "beacon members"};
  app.footer(
      "Examples:\n"
      "  beacon members\n"
      "  beacon members -format=json");
  ClientFlags flags;
  AddClientFlags(app, flags, /*with_format=*/true);
  if (auto code = ParseArgs(app, argc, argv)) {
    return *code;
  }
  int exit_code = kExitOk;
  auto c = MakeClient(flags, app.get_name(), &exit_code);
  if (!c) {
    return exit_code;
  }
  auto r = c->Members();
  if (!r.ok()) {
    return ReportError("listing members", r.status());
  }
  if (flags.format == "json") {
    std::fputs(client::ToJson(*r, /*pretty=*/true).c_str(), stdout);
    return kExitOk;
  }
  auto tag = [](const client::Member& m, const char* key) {
    auto it = m.tags.find(key);
    return it == m.tags.end() ? std::string() : it->second;
  };
  std::vector<std::vector<std::string>> rows = {
      {"Node", "Address", "Status", "Type", "Build", "Protocol", "DC"}};
  for (const client::Member& m : *r) {
    rows.push_back({m.name, m.addr + ":" + std::to_string(m.port), std::string(m.StatusName()),
                    tag(m, "role") == "consul" ? "server" : "client", tag(m, "build"),
                    tag(m, "vsn"), tag(m, "dc")});
  }
  PrintTable(rows);
  return kExitOk;
}

}  // namespace beacon::cli
