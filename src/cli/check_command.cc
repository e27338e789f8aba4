// `beacon check pass|warn|fail <check-id>`: set a TTL check (PUT /v1/agent/check/<verb>/:id).
#include <cstdio>

#include "cli/client_common.h"
#include "cli/commands.h"

namespace beacon::cli {

int RunCheck(int argc, char** argv) {
  CLI::App app{"Set the status of a TTL check on the local agent (and restart its TTL).",
               "beacon check"};
  app.footer(
      "Examples:\n"
      "  beacon check pass service:web-1\n"
      "  beacon check warn service:web-1 -note='disk 91% full'\n"
      "  beacon check fail web-ttl -note='lost the database'\n\n"
      "A check registered with a service's TTL is usually named service:<service id>.");
  ClientFlags flags;
  AddClientFlags(app, flags, /*with_format=*/false);
  std::string action, check_id, note;
  app.add_option("action", action, "pass, warn or fail")
      ->required()
      ->check(CLI::IsMember({"pass", "warn", "fail"}));
  app.add_option("check-id", check_id, "ID of the TTL check")->required();
  app.add_option("--note", note, "Text stored as the check's output");
  if (auto code = ParseArgs(app, argc, argv)) {
    return *code;
  }
  int exit_code = kExitOk;
  auto c = MakeClient(flags, app.get_name(), &exit_code);
  if (!c) {
    return exit_code;
  }
  client::HealthStatus status = action == "pass"   ? client::HealthStatus::kPassing
                                : action == "warn" ? client::HealthStatus::kWarning
                                                   : client::HealthStatus::kCritical;
  if (client::Status s = c->UpdateTtl(check_id, status, note); !s.ok()) {
    return ReportError("updating check " + check_id, s);
  }
  std::printf("Check %s is now %s\n", check_id.c_str(),
              std::string(client::HealthStatusName(status)).c_str());
  return kExitOk;
}

}  // namespace beacon::cli
