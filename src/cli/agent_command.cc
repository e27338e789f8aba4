// `beacon agent`: flags named as `consul agent`'s, then run until SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <pthread.h>

#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "common/logging.h"
#include "cli/commands.h"
#include "common/duration.h"
#include "common/strings.h"

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
      "  beacon agent -data-dir ./data -client 0.0.0.0 -http-port 8501\n"
      "  beacon agent -dev -dns-port 8600 -dns-service-ttl 'web*=30s'   dig @127.0.0.1 -p 8600 "
      "web.service.consul SRV\n"
      "  beacon agent -store etcd -etcd-endpoints http://127.0.0.1:2379 -node a1   cluster mode "
      "(docs/CLUSTER.md)");
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
  app.add_option("--dns-port", config.dns_port, "DNS port, UDP and TCP (0 = any free port, -1 = off)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 65535));
  app.add_option("--domain", config.domain, "DNS domain Beacon answers for")->capture_default_str();
  app.add_flag("--dns-only-passing", config.dns.only_passing,
               "DNS leaves out instances with warning checks too (critical ones always)");
  app.add_option("--dns-udp-answer-limit", config.dns.udp_answer_limit,
                 "Most answers in a UDP response without EDNS0 (hard cap 8)")
      ->capture_default_str()
      ->check(CLI::Range(1, 8));
  app.add_flag("--dns-enable-truncate", config.dns.enable_truncate,
               "Set the TC bit when a UDP answer was cut (off as in Consul)");
  std::vector<std::string> service_ttls;
  app.add_option("--dns-service-ttl", service_ttls,
                 "TTL of a service's DNS answers: <name>=<duration> or <prefix>*=<duration>; "
                 "repeatable (default 0s)");
  std::string node_ttl = "0s";
  app.add_option("--dns-node-ttl", node_ttl, "TTL of node DNS answers")->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "err", "off"}));
  app.add_option("--io-threads", config.io_threads, "HTTP event loops (0 = one per core)");
  std::string idle_timeout = "90s", read_timeout = "30s";
  app.add_option("--http-max-body", config.http_max_body_bytes,
                 "Largest request body in bytes (413 above)")
      ->capture_default_str();
  app.add_option("--http-max-header", config.http_max_header_bytes,
                 "Largest request head in bytes (431 above)")
      ->capture_default_str();
  app.add_option("--http-max-conns", config.http_max_connections,
                 "Most open HTTP connections (503 above)")
      ->capture_default_str();
  app.add_option("--http-max-requests-per-conn", config.http_max_requests_per_connection,
                 "Requests per connection before it is closed (0 = no limit)")
      ->capture_default_str();
  app.add_option("--http-idle-timeout", idle_timeout,
                 "Close a connection with no request in progress after this long")
      ->capture_default_str();
  app.add_option("--http-read-timeout", read_timeout,
                 "A request must arrive within this long of its first byte (408 after)")
      ->capture_default_str();
  app.add_option("--store", config.store,
                 "Where the catalog lives: sqlite (embedded, in -data-dir) or etcd (cluster mode)")
      ->capture_default_str()
      ->check(CLI::IsMember({"sqlite", "etcd"}));
  std::string etcd_endpoints;
  app.add_option("--etcd-endpoints", etcd_endpoints,
                 "Comma-separated etcd client URLs for -store etcd (http://host:2379,...)");
  app.add_option("--etcd-prefix", config.etcd_prefix,
                 "Key prefix of this Beacon cluster in etcd")
      ->capture_default_str();
  std::string lease_ttl = "10s";
  app.add_option("--etcd-lease-ttl", lease_ttl,
                 "An agent that stops renewing its etcd lease is marked failed after this long")
      ->capture_default_str();
  std::vector<std::string> config_files, config_dirs;
  app.add_option("--config-file", config_files,
                 "Consul-style JSON configuration file; repeatable, later files win");
  app.add_option("--config-dir", config_dirs,
                 "Directory whose *.json files are read in lexical order; repeatable");
  LogOptions log_options;
  app.add_flag("--log-json", log_options.json, "Write log lines as JSON objects");
  app.add_option("--access-log", log_options.access_log,
                 "One log line per HTTP request (true/false)")
      ->capture_default_str();
  app.add_option("--allowed-origin", config.cors_allowed_origins,
                 "Origin allowed to call the API from a browser (CORS); repeatable; \"*\" allows "
                 "every origin. Default: none");

  std::vector<std::string> args = ConsulStyleArgs(argc, argv);
  std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);  // CLI11 wants them reversed
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Configuration files: their settings apply where no flag was given (flags win).
  auto file = agent::LoadConfig(config_files, config_dirs);
  if (!file.ok()) {
    std::fprintf(stderr, "beacon: %s\n", file.status().message().c_str());
    return 1;
  }
  auto unset = [&app](const char* flag) { return app.count(flag) == 0; };
  if (file->datacenter && unset("--datacenter")) config.datacenter = *file->datacenter;
  if (file->node_name && unset("--node")) config.node_name = *file->node_name;
  if (file->node_id && unset("--node-id")) config.node_id = *file->node_id;
  if (file->data_dir && unset("--data-dir")) config.data_dir = *file->data_dir;
  if (file->client_addr && unset("--client")) config.client_addr = *file->client_addr;
  if (file->bind_addr && unset("--bind")) config.advertise_addr = *file->bind_addr;
  if (file->http_port && unset("--http-port")) config.http_port = *file->http_port;
  if (file->dns_port && unset("--dns-port")) config.dns_port = *file->dns_port;
  if (file->domain && unset("--domain")) config.domain = *file->domain;
  if (file->log_level && unset("--log-level")) log_level = *file->log_level;
  if (file->log_json && unset("--log-json")) log_options.json = *file->log_json;
  if (file->access_log && unset("--access-log")) log_options.access_log = *file->access_log;
  if (unset("--allowed-origin")) {
    config.cors_allowed_origins.insert(config.cors_allowed_origins.end(),
                                       file->allowed_origins.begin(), file->allowed_origins.end());
  }
  config.node_meta = file->node_meta;
  config.service_definitions = file->services;
  config.check_definitions = file->checks;
  if (log_level == "err") log_level = "error";
  for (auto [text, out, name] :
       {std::tuple{&idle_timeout, &config.http_idle_timeout, "-http-idle-timeout"},
        std::tuple{&read_timeout, &config.http_read_timeout, "-http-read-timeout"}}) {
    auto d = ParseGoDuration(*text);
    if (!d.ok() || d->count() <= 0) {
      std::fprintf(stderr, "beacon: invalid %s \"%s\": want a positive duration like 30s\n",
                   name, text->c_str());
      return 2;
    }
    *out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  }
  auto whole_seconds = [](std::string_view text) -> Result<std::chrono::seconds> {
    BEACON_ASSIGN_OR_RETURN(auto d, ParseGoDuration(text));
    if (d.count() < 0) return InvalidArgument("negative TTL " + std::string(text));
    return std::chrono::duration_cast<std::chrono::seconds>(d);
  };
  for (const std::string& spec : service_ttls) {
    size_t eq = spec.rfind('=');
    auto ttl = eq == std::string::npos ? Result<std::chrono::seconds>(InvalidArgument("missing ="))
                                       : whole_seconds(spec.substr(eq + 1));
    if (eq == 0 || !ttl.ok()) {
      std::fprintf(stderr, "beacon: invalid -dns-service-ttl \"%s\": want <name>=<duration>\n",
                   spec.c_str());
      return 1;
    }
    config.dns.service_ttl[AsciiLower(spec.substr(0, eq))] = *ttl;
  }
  for (size_t start = 0; start < etcd_endpoints.size();) {
    size_t comma = etcd_endpoints.find(',', start);
    if (comma == std::string::npos) comma = etcd_endpoints.size();
    std::string url = etcd_endpoints.substr(start, comma - start);
    if (!url.empty()) config.etcd_endpoints.push_back(url);
    start = comma + 1;
  }
  if (auto ttl = whole_seconds(lease_ttl); ttl.ok() && ttl->count() >= 2) {
    config.etcd_lease_ttl = *ttl;
  } else {
    std::fprintf(stderr, "beacon: invalid -etcd-lease-ttl \"%s\": want 2s or more\n",
                 lease_ttl.c_str());
    return 2;
  }
  if (auto ttl = whole_seconds(node_ttl); ttl.ok()) {
    config.dns.node_ttl = *ttl;
  } else {
    std::fprintf(stderr, "beacon: invalid -dns-node-ttl: %s\n", ttl.status().message().c_str());
    return 1;
  }
  // Signals are taken by this thread alone (sigwait below): block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  log_options.level = log_level;
  if (Status s = ConfigureLogging(log_options); !s.ok()) {
    std::fprintf(stderr, "beacon: %s\n", s.message().c_str());
    return 1;
  }
  for (const std::string& warning : file->warnings) spdlog::warn("config: {}", warning);


  auto agent = agent::Agent::Start(config);
  if (!agent.ok()) {
    std::fprintf(stderr, "beacon: %s\n", agent.status().message().c_str());
    return 1;
  }
  std::printf("beacon: http listening on %s:%u\n", config.client_addr.c_str(),
              static_cast<unsigned>((*agent)->http_port()));
  if ((*agent)->dns_port() != 0) {
    std::printf("beacon: dns listening on %s:%u\n", config.client_addr.c_str(),
                static_cast<unsigned>((*agent)->dns_port()));
  }
  std::fflush(stdout);

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    // SIGHUP: read the files again and re-apply service and check definitions only; everything
    // else (API registrations, check states, settings) stays as it is.
    auto reloaded = agent::LoadConfig(config_files, config_dirs);
    if (!reloaded.ok()) {
      spdlog::error("agent: reload failed, keeping the running definitions: {}",
                    reloaded.status().message());
      continue;
    }
    for (const std::string& warning : reloaded->warnings) spdlog::warn("config: {}", warning);
    Status applied =
        (*agent)->ApplyDefinitions(std::move(reloaded->services), std::move(reloaded->checks));
    if (applied.ok()) {
      spdlog::info("agent: reloaded service and check definitions");
    } else {
      spdlog::error("agent: reload failed: {}", applied.message());
    }
  }
  spdlog::info("agent: caught signal {}, shutting down gracefully (again to exit at once)", sig);
  // A second signal while the graceful stop runs exits at once (data already acknowledged is
  // durable; what is in flight was not acknowledged).
  std::thread second([signals]() mutable {
    sigdelset(&signals, SIGHUP);
    int again = 0;
    if (sigwait(&signals, &again) == 0) {
      std::fprintf(stderr, "beacon: second signal %d, exiting now\n", again);
      std::_Exit(1);
    }
  });
  second.detach();
  (*agent)->Stop();
  spdlog::info("agent: stopped");
  FlushLogs();
  return 0;
}

}  // namespace beacon::cli
