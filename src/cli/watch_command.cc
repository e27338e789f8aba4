// `beacon watch <service>`: print the instances of a service every time they change, fed by the
// client's ServiceCache (one blocking query at a time), until -timeout passes or Ctrl-C.
//
// Threads: the cache's watch thread prints; the main thread only waits for a signal or the
// timeout with sigtimedwait(), so SIGINT/SIGTERM are blocked before the cache starts any thread.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "beacon/cache.h"
#include "beacon/json.h"
#include "cli/client_common.h"
#include "cli/commands.h"

namespace beacon::cli {

namespace {

std::string Clock() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
  return buf;
}

}  // namespace

int RunWatch(int argc, char** argv) {
  CLI::App app{"Watch a service: print its instances now and again after every change.",
               "beacon watch"};
  app.footer(
      "Examples:\n"
      "  beacon watch web                  until Ctrl-C\n"
      "  beacon watch web -passing -tag=v1\n"
      "  beacon watch web -timeout=30s     stop after 30 seconds (exit 0)\n"
      "  beacon watch web -format=json     one JSON object per change, one per line\n\n"
      "Changes arrive through blocking queries: as soon as the agent commits them. If the agent\n"
      "becomes unreachable the watch says so on stderr and keeps retrying with backoff.\n"
      "Exit status 1 when the first query fails.");
  ClientFlags flags;
  AddClientFlags(app, flags, /*with_format=*/true);
  client::ServiceQuery query;
  query.passing_only = false;
  std::string timeout_text = "0";
  app.add_option("service", query.service, "Service name")->required();
  app.add_flag("--passing", query.passing_only, "Only instances whose checks all pass");
  app.add_option("--tag", query.tags, "Only instances with this tag (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--filter", query.filter, "Keep instances matching this filter expression");
  app.add_flag("--stale", query.allow_stale, "Let any server answer (may be slightly behind)");
  app.add_option("--timeout", timeout_text, "Stop after this long (e.g. 30s; 0 = never)")
      ->capture_default_str();
  if (auto code = ParseArgs(app, argc, argv)) {
    return *code;
  }
  auto timeout = client::ParseDuration(timeout_text);
  if (!timeout.ok()) {
    return UsageError(app.get_name(), "-timeout: " + timeout.status().message());
  }
  int exit_code = kExitOk;
  auto c = MakeClient(flags, app.get_name(), &exit_code);
  if (!c) {
    return exit_code;
  }

  // Before any thread exists, so only this thread receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const bool json = flags.format == "json";
  // The service name as a JSON string: the catalog-services map {"<name>": []} spells it out.
  std::string service_json = client::ToJson(client::CatalogServiceMap{{query.service, {}}});
  service_json = service_json.substr(1, service_json.rfind(':') - 1);
  int exit = kExitOk;
  {
    client::ServiceCache cache(c);
    auto first = cache.Get(query, std::chrono::seconds(15));
    if (!first.ok()) {
      exit = ReportError("watching " + query.service, first.status());
    } else {
      std::mutex print_mu;  // the initial delivery runs here, later ones on the watch thread
      bool was_stale = false;
      auto print = [&](const client::ServiceSnapshot& s) {
        std::lock_guard lock(print_mu);
        if (s.stale) {
          std::fprintf(stderr,
                       "[%s] agent unreachable, still showing the answer of %.1fs ago: %s\n",
                       Clock().c_str(), static_cast<double>(s.age.count()) / 1000.0,
                       s.last_error.message().c_str());
          was_stale = true;
          return;
        }
        if (was_stale) {
          std::fprintf(stderr, "[%s] agent reachable again\n", Clock().c_str());
          was_stale = false;
        }
        if (json) {
          std::printf("{\"Index\":%llu,\"Service\":%s,\"Entries\":%s}\n",
                      static_cast<unsigned long long>(s.index), service_json.c_str(),
                      client::ToJson(*s.entries).c_str());
        } else {
          size_t passing = 0;
          for (const client::ServiceEntry& e : *s.entries) {
            passing += e.AggregatedStatus() == client::HealthStatus::kPassing ? 1 : 0;
          }
          std::printf("[%s] %s: %zu instance%s, %zu passing (index %llu)\n", Clock().c_str(),
                      query.service.c_str(), s.entries->size(), s.entries->size() == 1 ? "" : "s",
                      passing, static_cast<unsigned long long>(s.index));
          if (!s.entries->empty()) {
            auto rows = HealthRows(*s.entries);
            std::string indent = "  ";
            for (auto& row : rows) {
              row.front() = indent + row.front();
            }
            PrintTable(rows);
          }
        }
        std::fflush(stdout);
      };
      client::Subscription sub = cache.Subscribe(query, print);
      if (timeout->count() > 0) {
        timespec ts{};
        ts.tv_sec = static_cast<time_t>(timeout->count() / 1000);
        ts.tv_nsec = static_cast<long>((timeout->count() % 1000) * 1'000'000);
        while (sigtimedwait(&signals, nullptr, &ts) < 0 && errno == EINTR) {
        }
      } else {
        int sig = 0;
        sigwait(&signals, &sig);
      }
      sub.Cancel();
    }
  }  // stops the watch: cancels the parked query
  return exit;
}

}  // namespace beacon::cli
