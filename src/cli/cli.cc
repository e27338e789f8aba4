#include "cli/cli.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "agent/agent.h"
#include "beacon/version.h"
#include "cli/commands.h"

namespace beacon::cli {

namespace {

constexpr int kExitUsage = 2;

struct Command {
  std::string_view name;
  int (*run)(int argc, char** argv);
  std::string_view synopsis;  // "" = hidden from the usage
};

constexpr Command kCommands[] = {
    {"agent", RunAgent, "Run a Beacon agent (HTTP API on 127.0.0.1:8500)"},
    {"services", RunServices, "List services and their tags"},
    {"health", RunHealth, "Show a service's instances and their health"},
    {"register", RunRegister, "Register a service (flags or a JSON definition file)"},
    {"deregister", RunDeregister, "Deregister a service instance by ID"},
    {"check", RunCheck, "Set a TTL check: check pass|warn|fail <check-id>"},
    {"watch", RunWatch, "Print a service's instances on every change"},
    {"members", RunMembers, "List cluster members"},
    {"demo", RunDemo, "Run the service-discovery demo (agent, backends, balancing, failures)"},
    {"version", nullptr, "Print the Beacon version"},
    {"demo-backend", RunDemoBackend, ""},
};

void PrintUsage(std::FILE* out) {
  std::fprintf(out,
               "Usage: beacon <command> [args]\n\n"
               "A service registry that speaks Consul's HTTP API.\n\n"
               "Commands:\n");
  for (const Command& c : kCommands) {
    if (!c.synopsis.empty()) {
      std::fprintf(out, "  %-12.*s%.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                   static_cast<int>(c.synopsis.size()), c.synopsis.data());
    }
  }
  std::fprintf(out,
               "\nClient commands find the agent with -http-addr, else $CONSUL_HTTP_ADDR, else "
               "127.0.0.1:8500.\n"
               "Exit status: 0 success, 1 error, 2 usage.\n"
               "Run `beacon <command> -h` for a command's flags and examples.\n");
}

}  // namespace

int Main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  std::string_view command = argv[1];
  if (command == "version" || command == "-version" || command == "--version") {
    std::printf("Beacon v%s (Consul API %s, client library %s)\n", agent::kBeaconVersion,
                agent::kConsulCompatVersion, client::kVersion);
    return 0;
  }
  if (command == "-h" || command == "--help" || command == "-help" || command == "help") {
    PrintUsage(stdout);
    return 0;
  }
  for (const Command& c : kCommands) {
    if (c.name == command && c.run != nullptr) {
      return c.run(argc - 1, argv + 1);
    }
  }
  std::fprintf(stderr, "beacon: unknown command %s\n\n", argv[1]);
  PrintUsage(stderr);
  return kExitUsage;
}

}  // namespace beacon::cli
