// `beacon deregister <service-id>`: remove a service instance (and its checks) from the agent.
#include <cstdio>

#include "cli/client_common.h"
#include "cli/commands.h"

namespace beacon::cli {

int RunDeregister(int argc, char** argv) {
  CLI::App app{"Deregister a service instance, with its checks, from the local agent.",
               "beacon deregister"};
  app.footer(
      "Examples:\n"
      "  beacon deregister web-1\n"
      "  beacon deregister -http-addr=127.0.0.1:8501 web-1\n\n"
      "Give the service ID, not the name. Exit status 1 when the agent does not know the ID.");
  ClientFlags flags;
  AddClientFlags(app, flags, /*with_format=*/false);
  std::string id;
  app.add_option("service-id", id, "ID of the service instance")->required();
  if (auto code = ParseArgs(app, argc, argv)) {
    return *code;
  }
  int exit_code = kExitOk;
  auto c = MakeClient(flags, app.get_name(), &exit_code);
  if (!c) {
    return exit_code;
  }
  if (client::Status s = c->DeregisterService(id); !s.ok()) {
    return ReportError("deregistering service " + id, s);
  }
  std::printf("Deregistered service: %s\n", id.c_str());
  return kExitOk;
}

}  // namespace beacon::cli
