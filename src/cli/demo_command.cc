// `beacon demo` (the sketch's flow, for real: src/demo) and the hidden `beacon demo-backend`
// that runs one of its backends.
//
// Ctrl-C: SIGINT/SIGTERM are blocked before any thread starts and taken by a signal thread, which
// stops the demo through its stop token; the demo then cleans up (backends, agent) and exits 1.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <csignal>
#include <cstdio>
#include <stop_token>
#include <thread>

#include "cli/client_common.h"
#include "cli/commands.h"
#include "common/logging.h"
#include "demo/backend.h"
#include "demo/demo.h"

namespace beacon::cli {

int RunDemo(int argc, char** argv) {
  CLI::App app{
      "Run the service-discovery demo: backends, registration with HTTP checks, "
      "discovery, load balancing, failure and recovery.",
      "beacon demo"};
  app.footer(
      "Examples:\n"
      "  beacon demo                            starts its own agent on a free port\n"
      "  beacon demo -http-addr=127.0.0.1:8500  uses a running agent (it must reach 127.0.0.1)\n\n"
      "Takes about 10-20 seconds and cleans up everything it started. Exit status 0 when every\n"
      "step went as narrated.");
  demo::DemoOptions options;
  int step_timeout_s = static_cast<int>(options.step_timeout.count());
  app.add_option("--http-addr", options.http_addr,
                 "Use this agent instead of starting one (host:port or http://host:port)");
  app.add_option("--requests", options.requests, "Requests per load-balancing round")
      ->capture_default_str()
      ->check(CLI::Range(3, 100));
  app.add_option("--step-timeout", step_timeout_s, "Seconds to wait for each change to show")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));
  std::string log_level = "error";
  app.add_option("--log-level", log_level, "Log level of the in-process agent (stderr)")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  if (auto code = ParseArgs(app, argc, argv)) {
    return *code;
  }
  options.step_timeout = std::chrono::seconds(step_timeout_s);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) {
    std::fprintf(stderr, "beacon demo: cannot find its own executable\n");
    return kExitError;
  }
  options.self_exe.assign(exe, static_cast<size_t>(n));

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  LogOptions log;
  log.level = log_level;
  log.access_log = false;
  if (Status s = ConfigureLogging(log); !s.ok()) {
    std::fprintf(stderr, "beacon demo: %s\n", s.message().c_str());
    return kExitUsage;
  }

  std::stop_source stop;
  std::atomic<bool> finished{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!finished.load()) {
      std::fprintf(stderr, "beacon demo: caught signal %d, cleaning up\n", sig);
      stop.request_stop();
    }
  });
  int code = demo::RunDemo(options, stop.get_token());
  finished = true;
  // Wake the signal thread: SIGTERM is blocked everywhere, so it stays pending for that thread
  // and its sigwait() returns.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  FlushLogs();
  return code;
}

int RunDemoBackend(int argc, char** argv) {
  CLI::App app{"One backend of `beacon demo` (started by the demo, not by people).",
               "beacon demo-backend"};
  demo::BackendOptions options;
  int port = 0;
  app.add_option("--id", options.id, "Service ID to answer as")->required();
  app.add_option("--tags", options.tags, "Tags to show in answers");
  app.add_option("--port", port, "Port on 127.0.0.1 (0 = any)")->check(CLI::Range(0, 65535));
  if (auto code = ParseArgs(app, argc, argv)) {
    return *code;
  }
  options.port = static_cast<uint16_t>(port);
  return demo::RunBackend(options);
}

}  // namespace beacon::cli
