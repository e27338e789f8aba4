// `beacon agent`: flags named as `consul agent`'s, then run until SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "agent/agent.h"
#include "cli/commands.h"

namespace beacon::cli {

std::vector<std::string> ConsulStyleArgs(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i > 0 && a.size() > 2 && a[0] == '-' && a[1] != '-' && !std::isdigit(a[1])) a = "-" + a;
    args.push_back(std::move(a));
  }
  return args;
}

int RunAgent(int argc, char** argv) {
  CLI::App app{"Run a Beacon agent: a service catalog that speaks Consul's HTTP API.", "beacon agent"};
  app.footer(
      "Examples:\n"
      "  beacon agent -dev                       throw-away data, HTTP on 127.0.0.1:8500\n"
      "  beacon agent -data-dir ./data -node web-1\n"
      "  beacon agent -data-dir ./data -client 0.0.0.0 -http-port 8501");
  agent::AgentConfig config;
  std::string log_level = "info";
  app.add_option("--data-dir", config.data_dir, "Directory for the durable catalog (SQLite)");
  app.add_flag("--dev", config.dev, "Use a throw-away data directory, removed at exit");
  app.add_option("--node", config.node_name, "Node name (default: the host name)");
  app.add_option("--node-id", config.node_id, "Node ID, a UUID (default: generated and kept)");
  app.add_option("--datacenter", config.datacenter, "Datacenter name")->capture_default_str();
  app.add_option("--client", config.client_addr, "Address the HTTP API listens on")
      ->capture_default_str();
  app.add_option("--bind,--advertise", config.advertise_addr, "Address advertised for this node")
      ->capture_default_str();
  app.add_option("--http-port", config.http_port, "HTTP API port (0 = any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--dns-port", config.dns_port, "DNS port (DNS arrives in a later release)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 65535));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "err", "off"}));
  app.add_option("--io-threads", config.io_threads, "HTTP event loops (0 = one per core)");

  std::vector<std::string> args = ConsulStyleArgs(argc, argv);
  std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);  // CLI11 wants them reversed
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (log_level == "err") log_level = "error";
  spdlog::set_level(spdlog::level::from_str(log_level));

  // Signals are taken by this thread alone (sigwait below): block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto agent = agent::Agent::Start(config);
  if (!agent.ok()) {
    std::fprintf(stderr, "beacon: %s\n", agent.status().message().c_str());
    return 1;
  }
  std::printf("beacon: http listening on %s:%u\n", config.client_addr.c_str(),
              static_cast<unsigned>((*agent)->http_port()));
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("agent: caught signal {}, shutting down", sig);
  (*agent)->Stop();
  return 0;
}

}  // namespace beacon::cli
