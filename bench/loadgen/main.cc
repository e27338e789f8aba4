// beacon_loadgen: the load generator behind bench/run.sh (workloads of ../shared/BENCH.md).
//
//   beacon_loadgen <mode> --port N [flags]     modes: read, register, watch, mixed, probe
//   beacon_loadgen disk --dir D [flags]        the disk's own rate for W1 c=1's durable write
//
// Flags are --name=value or --name value; unknown flags are an error, so a typo cannot silently
// fall back to a default. Each run prints one JSON line on stdout (see workloads.h) and
// progress on stderr. --help lists every flag with its default.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "loadgen/workloads.h"

namespace beacon::bench {
namespace {

// The flags given on the command line; typed reads record which ones were used.
class Flags {
 public:
  bool Parse(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg.rfind("--", 0) != 0) {
        std::fprintf(stderr, "loadgen: unexpected argument \"%s\"\n", arg.c_str());
        return false;
      }
      arg = arg.substr(2);
      const size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        values_[arg.substr(0, eq)] = arg.substr(eq + 1);
      } else if (arg == "help") {
        values_[arg] = "true";
      } else if (i + 1 < argc) {
        values_[arg] = argv[++i];
      } else {
        std::fprintf(stderr, "loadgen: --%s needs a value\n", arg.c_str());
        return false;
      }
    }
    return true;
  }

  void Get(const std::string& name, std::string* out, const char* help) {
    Describe(name, *out, help);
    if (auto it = values_.find(name); it != values_.end()) {
      *out = it->second;
    }
  }
  template <typename Number>
  void Get(const std::string& name, Number* out, const char* help) {
    std::string text = std::to_string(*out);
    Describe(name, text, help);
    if (auto it = values_.find(name); it != values_.end()) {
      char* end = nullptr;
      const double v = std::strtod(it->second.c_str(), &end);
      if (end == it->second.c_str() || *end != '\0') {
        std::fprintf(stderr, "loadgen: --%s: not a number: \"%s\"\n", name.c_str(),
                     it->second.c_str());
        bad_ = true;
      }
      *out = static_cast<Number>(v);
    }
  }

  // False (with a message) when a flag was given that no Get() asked for, or a value was bad.
  bool CheckAllUsed() const {
    bool ok = !bad_;
    for (const auto& [name, value] : values_) {
      if (name != "help" && used_.count(name) == 0) {
        std::fprintf(stderr, "loadgen: unknown flag --%s\n", name.c_str());
        ok = false;
      }
    }
    return ok;
  }
  bool help() const { return values_.count("help") > 0; }
  void PrintHelp(const std::string& mode) const {
    std::fprintf(stderr, "beacon_loadgen %s flags:\n%s", mode.c_str(), help_.c_str());
  }

 private:
  void Describe(const std::string& name, const std::string& def, const char* help) {
    used_.insert(name);
    help_ += "  --" + name + " (default \"" + def + "\"): " + help + "\n";
  }
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
  std::string help_;
  bool bad_ = false;
};

void GetCommon(Flags& f, CommonOptions* c) {
  f.Get("host", &c->host, "server address; loopback only");
  f.Get("port", &c->port, "server port");
  f.Get("label", &c->label, "echoed in the JSON line");
  f.Get("server-pid", &c->server_pid, "report this process's RSS and CPU");
  std::string peer = "beacon";
  f.Get("peer", &peer, "beacon or etcd (register, watch)");
  c->peer = peer == "etcd" ? Peer::kEtcd : Peer::kBeacon;
}

// Lets the tool hold 10,000+ watcher connections: the soft descriptor limit up to the hard one.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int Main(int argc, char** argv) {
  const std::string usage =
      "usage: beacon_loadgen <read|register|watch|mixed|probe> --port N [flags]; "
      "beacon_loadgen disk --dir D [flags]; "
      "beacon_loadgen <mode> --help\n";
  if (argc < 2) {
    std::fputs(usage.c_str(), stderr);
    return 2;
  }
  const std::string mode = argv[1];
  Flags f;
  if (!f.Parse(argc, argv, 2)) {
    return 2;
  }
  std::function<int()> run;
  if (mode == "read") {
    static ReadOptions o;
    GetCommon(f, &o.common);
    f.Get("method", &o.method, "HTTP method");
    f.Get("path", &o.path, "request target");
    f.Get("body", &o.body, "request body");
    f.Get("conns", &o.conns, "connections");
    f.Get("duration", &o.duration_s, "measured seconds");
    f.Get("warmup", &o.warmup_s, "seconds before measuring");
    f.Get("requests", &o.requests, "> 0: a fixed request count instead of a duration");
    run = [] { return RunRead(o); };
  } else if (mode == "register") {
    static RegisterOptions o;
    GetCommon(f, &o.common);
    f.Get("conns", &o.conns, "concurrency (connections)");
    f.Get("services", &o.services, "services");
    f.Get("instances", &o.instances, "instances per service");
    f.Get("max-seconds", &o.max_seconds, "> 0: stop issuing after this many seconds");
    f.Get("service-prefix", &o.service_prefix, "service names are <prefix><n>");
    f.Get("key-prefix", &o.key_prefix, "etcd keys are /<prefix>/services/<service>/<id>");
    f.Get("ttl", &o.ttl, "TTL of each instance's check");
    run = [] { return RunRegister(o); };
  } else if (mode == "watch") {
    static WatchOptions o;
    GetCommon(f, &o.common);
    f.Get("watchers", &o.watchers, "parked watchers");
    f.Get("service", &o.service, "watched service");
    f.Get("service-instances", &o.service_instances, "instances of it before the change");
    f.Get("settle-ms", &o.settle_ms, "Beacon: wait after the last watch request is sent");
    f.Get("connect-parallel", &o.connect_parallel, "connects in flight at once");
    f.Get("source-addresses", &o.source_addresses,
          "watchers connect from this many addresses 127.0.0.1.. (past ~28,000 watchers)");
    f.Get("timeout", &o.timeout_s, "seconds allowed for parking, and for the fan-out");
    f.Get("key-prefix", &o.key_prefix, "etcd key prefix");
    f.Get("ttl", &o.ttl, "TTL of each instance's check");
    run = [] { return RunWatch(o); };
  } else if (mode == "mixed") {
    static MixedOptions o;
    GetCommon(f, &o.common);
    f.Get("path", &o.path, "read target");
    f.Get("conns", &o.conns, "connections for reads and writes");
    f.Get("write-every", &o.write_every, "every n-th request is a write (20 = 5%)");
    f.Get("watchers", &o.watchers, "blocking watchers, spread over the services");
    f.Get("services", &o.services, "services loaded by `register`");
    f.Get("instances", &o.instances, "instances per service loaded by `register`");
    f.Get("duration", &o.duration_s, "measured seconds");
    f.Get("warmup", &o.warmup_s, "seconds before measuring");
    f.Get("service-prefix", &o.service_prefix, "service names are <prefix><n>");
    f.Get("ttl", &o.ttl, "TTL of re-registered checks");
    run = [] { return RunMixed(o); };
  } else if (mode == "probe") {
    static ProbeOptions o;
    GetCommon(f, &o.common);
    f.Get("path", &o.path, "request target");
    f.Get("count-substr", &o.count_substr, "substring counted in the body");
    f.Get("expect-count", &o.expect_count, "how many times it must occur");
    f.Get("t0-epoch-ns", &o.t0_epoch_ns, "start time (date +%s%N) the delay is measured from");
    f.Get("timeout", &o.timeout_s, "give up after this many seconds");
    f.Get("interval-ms", &o.interval_ms, "pause between attempts");
    run = [] { return RunProbe(o); };
  } else if (mode == "disk") {
    static DiskOptions o;
    f.Get("dir", &o.dir, "directory on the filesystem to measure (the agent's data directory's)");
    f.Get("label", &o.label, "echoed in the JSON line");
    f.Get("bytes", &o.bytes, "bytes appended before each fdatasync");
    f.Get("count", &o.count, "appends at most");
    f.Get("max-seconds", &o.max_seconds, "stop after this many seconds");
    f.Get("file-mb", &o.file_mb, "size of the zero-filled file");
    run = [] { return RunDisk(o); };
  } else {
    std::fputs(usage.c_str(), stderr);
    return 2;
  }
  if (f.help()) {
    f.PrintHelp(mode);
    return 0;
  }
  if (!f.CheckAllUsed()) {
    return 2;
  }
  RaiseFileLimit();
  std::signal(SIGPIPE, SIG_IGN);
  return run();
}

}  // namespace
}  // namespace beacon::bench

int main(int argc, char** argv) { return beacon::bench::Main(argc, argv); }
