#include "cli/cli.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "agent/agent.h"
#include "cli/commands.h"

namespace beacon::cli {

namespace {

void PrintUsage() {
  std::printf(
      "Usage: beacon <command> [args]\n\n"
      "A service registry that speaks Consul's HTTP API.\n\n"
      "Commands:\n"
      "  agent     Run a Beacon agent (HTTP API on 127.0.0.1:8500)\n"
      "  version   Print the Beacon version\n\n"
      "Run `beacon <command> -h` for a command's flags.\n");
}

}  // namespace

int Main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage();
    return 1;
  }
  std::string_view command = argv[1];
  if (command == "agent") return RunAgent(argc - 1, argv + 1);
  if (command == "version" || command == "-version" || command == "--version") {
    std::printf("Beacon v%s (Consul API %s)\n", agent::kBeaconVersion,
                agent::kConsulCompatVersion);
    return 0;
  }
  if (command == "-h" || command == "--help" || command == "help") {
    PrintUsage();
    return 0;
  }
  std::fprintf(stderr, "beacon: unknown command %s\n\n", argv[1]);
  PrintUsage();
  return 1;
}

}  // namespace beacon::cli
