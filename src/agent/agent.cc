#include "agent/agent.h"

#include <malloc.h>
#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "dns/server.h"
#include "health/check_runner.h"
#include "common/logging.h"
#include "http/api.h"
#include "http/server.h"
#include "net/io_pool.h"
#include "net/post_batch.h"
#include "cluster/cluster.h"
#include "etcd/client.h"
#include "store/etcd/etcd_store.h"
#include "store/sqlite/sqlite_store.h"

namespace beacon::agent {

namespace {

// The CPUs this process may run on (taskset/cgroups), not every CPU of the machine: one loop per
// usable core, so a pinned server does not time-slice two loops on one core.
size_t UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<size_t>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "beacon";
  return buf;
}

Result<std::string> MakeDevDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "beacon-dev-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return Internal("cannot create a -dev data directory");
  return tmpl;
}

// Thousands of parked watchers are thousands of sockets: use the hard limit, not the (often
// 1024) soft one.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      spdlog::warn("agent: cannot raise the open-file limit: {}", std::strerror(errno));
    }
  }
}

// Gauges read at scrape time: catalog sizes from the current snapshot, and the process RSS.
void RegisterCollectors(MetricsRegistry& metrics, catalog::Catalog& catalog) {
  metrics.AddCollector([&catalog](MetricsRegistry& m) {
    catalog::SnapshotPtr snap = catalog.Current();
    size_t services = 0, instances = 0;
    size_t by_status[3] = {0, 0, 0};
    for (const auto& [key, entry] : snap->nodes) {
      for (const auto& c : entry->node_checks) by_status[static_cast<int>(c->status)]++;
    }
    for (const auto& [key, group] : snap->services) {
      if (!group->instances.empty()) ++services;
      instances += group->instances.size();
      for (const auto& inst : group->instances) {
        for (const auto& c : inst->checks) {
          if (!c->service_id.empty()) by_status[static_cast<int>(c->status)]++;
        }
      }
    }
    m.GetGauge("catalog.nodes", {}, "Nodes in the catalog")->Set(static_cast<double>(snap->nodes.size()));
    m.GetGauge("catalog.services", {}, "Distinct service names")->Set(static_cast<double>(services));
    m.GetGauge("catalog.service_instances", {}, "Service instances")
        ->Set(static_cast<double>(instances));
    for (auto s : {catalog::HealthStatus::kPassing, catalog::HealthStatus::kWarning,
                   catalog::HealthStatus::kCritical}) {
      m.GetGauge("catalog.checks", {{"status", std::string(catalog::HealthStatusName(s))}},
                 "Checks by status")
          ->Set(static_cast<double>(by_status[static_cast<int>(s)]));
    }
    m.GetGauge("catalog.index", {}, "The catalog's global index")
        ->Set(static_cast<double>(snap->index));
    m.GetGauge("runtime.rss_bytes", {}, "Resident set size of the agent process")
        ->Set(static_cast<double>(ProcessRssBytes()));
  });
}

// status/* and the consistency headers in cluster mode, from the Cluster.
class ClusterStatusAdapter final : public http::ClusterStatus {
 public:
  explicit ClusterStatusAdapter(cluster::Cluster* c) : c_(c) {}
  std::string Leader() const override { return c_->Leader(); }
  std::vector<std::string> Peers() const override { return c_->Peers(); }
  int64_t LastContactMs() const override { return c_->LastContactMs(); }
  void ConfirmIndex(std::function<void(Result<uint64_t>)> done) override {
    c_->ConfirmIndex(std::move(done));
  }

 private:
  cluster::Cluster* c_;
};

}  // namespace

Result<std::unique_ptr<Agent>> Agent::Start(AgentConfig config) {
  std::unique_ptr<Agent> agent(new Agent());
  if (config.node_name.empty()) config.node_name = HostName();
  const bool cluster_mode = config.store == "etcd";
  if (config.store != "sqlite" && !cluster_mode) {
    return InvalidArgument("unknown store \"" + config.store + "\": use sqlite or etcd");
  }
  if (config.dev) {
    BEACON_ASSIGN_OR_RETURN(agent->data_dir_, MakeDevDir());
  } else if (config.data_dir.empty() && !cluster_mode) {  // the etcd store has no data dir
    return InvalidArgument("data directory is required: pass -data-dir <path> or -dev");
  } else {
    agent->data_dir_ = config.data_dir;
  }
  agent->config_ = config;
  agent->metrics_ = std::make_unique<MetricsRegistry>("consul");

  if (cluster_mode) {
    if (config.etcd_endpoints.empty()) {
      return InvalidArgument("-store=etcd needs -etcd-endpoints (e.g. http://127.0.0.1:2379)");
    }
    etcd::ClientOptions etcd_options;
    etcd_options.endpoints = config.etcd_endpoints;
    auto client = etcd::Client::Create(etcd_options);
    if (!client.ok()) return client.status().WithContext("etcd");
    agent->etcd_ = std::move(*client);
    // Announce this agent (lease + alive key) before its node record is written, so the
    // cluster's leader never sees the node without its agent.
    cluster::ClusterOptions cluster_options;
    cluster_options.prefix = config.etcd_prefix;
    cluster_options.node_name = config.node_name;
    cluster_options.advertise =
        config.advertise_addr + ":" + std::to_string(std::max(config.http_port, 0));
    cluster_options.lease_ttl = config.etcd_lease_ttl;
    cluster_options.index_key = config.etcd_prefix + store::EtcdStore::kRecordsDir +
                                std::string(store::kIndexKey);
    cluster_options.tick = std::min<std::chrono::milliseconds>(
        std::chrono::seconds(1), std::chrono::milliseconds(config.etcd_lease_ttl) / 3);
    auto joined = cluster::Cluster::Join(cluster_options, agent->etcd_.get());
    if (!joined.ok()) return joined.status().WithContext("join the cluster");
    agent->cluster_ = std::move(*joined);
    agent->store_ = std::make_unique<store::EtcdStore>(agent->etcd_.get(), config.etcd_prefix);
  } else {
    store::SqliteOptions sqlite_options;
    // A larger page cache than SQLite's 2 MiB default keeps the hot B-tree pages in memory; the
    // rest come from the OS page cache. Counted in the agent's RSS, so kept moderate: loading
    // scans every page, so the cache is full after every restart (W4: 16 MiB cost 17 MB of RSS
    // at rest; the interior pages of a 100,000-instance database take well under 4 MiB).
    sqlite_options.cache_size_kib = 4 * 1024;
    auto store = store::SqliteStore::Open(agent->data_dir_, sqlite_options);
    if (!store.ok()) return store.status();
    agent->store_ = std::move(*store);
  }

  catalog::CatalogOptions options;
  options.node_name = config.node_name;
  options.node_id = config.node_id;
  options.node_address = config.advertise_addr;
  options.datacenter = config.datacenter;
  options.reap_interval = config.reap_interval;
  options.min_deregister_after = config.min_deregister_after;
  options.output_update_interval = config.output_update_interval;
  options.metrics = agent->metrics_.get();
  options.node_meta = config.node_meta;
  // etcd caps a transaction's operations (--max-txn-ops, 128 by default): smaller batches.
  if (cluster_mode) options.max_batch = 32;
  // After each commit the writer posts the snapshot, the completions and the wake-up to the
  // same loops: one handler per loop for the snapshot, one for the rest (net/post_batch.h).
  options.notify_scope = [](const std::function<void()>& work) {
    net::PostBatch batch;
    work();
  };
  auto catalog = catalog::Catalog::Open(options, agent->store_.get());
  if (!catalog.ok()) {
    return catalog.status().WithContext(
        cluster_mode ? "open the shared catalog in etcd" : "open catalog in " + agent->data_dir_);
  }
  agent->catalog_ = std::move(*catalog);
#ifdef __GLIBC__
  // Loading held every stored record at once (the store's Range result) while it built the
  // tables; that memory is free now but glibc keeps it. Hand it back to the OS once (W4: ~30 MB
  // of RSS at rest after a restart of 100,000 instances; the call takes a few ms).
  malloc_trim(0);
#endif

  size_t threads = config.io_threads;
  if (threads == 0) threads = UsableCores();
  agent->pool_ = std::make_unique<net::IoPool>(threads);

  catalog::SnapshotPtr snap = agent->catalog_->Current();
  // DNS first, so agent/self reports the port it is bound to (-dns-port 0 picks one).
  if (config.dns_port >= 0) {
    dns::DnsServerOptions dns_options;
    dns_options.address = config.client_addr;
    dns_options.port = static_cast<uint16_t>(config.dns_port);
    dns_options.dns = config.dns;
    dns_options.dns.domain = dns::NormalizeDomain(config.domain);
    dns_options.dns.datacenter = config.datacenter;
    dns_options.dns.local_node = config.node_name;
    dns_options.metrics = agent->metrics_.get();
    auto dns_server = dns::DnsServer::Start(*agent->pool_, dns_options, snap);
    if (!dns_server.ok()) return dns_server.status();
    agent->dns_ = std::move(*dns_server);
    dns::DnsServer* dns_raw = agent->dns_.get();
    agent->catalog_->AddListener(
        [dns_raw](const catalog::SnapshotPtr& s, const catalog::ChangeSet&) {
          dns_raw->Publish(s);
        });
    agent->dns_->Publish(agent->catalog_->Current());
  }
  http::AgentInfo info;
  info.node_name = config.node_name;
  if (const catalog::NodeEntry* node = snap->FindNode(config.node_name)) {
    info.node_id = node->node->id;
  }
  info.datacenter = config.datacenter;
  info.address = config.advertise_addr;
  info.dns_port = agent->dns_ ? agent->dns_->port() : -1;
  info.version = kConsulCompatVersion;
  info.beacon_version = kBeaconVersion;
  info.cors_allowed_origins = config.cors_allowed_origins;
  agent->api_ = std::make_unique<http::Api>(*agent->catalog_, info, agent->metrics_.get());
  RegisterCollectors(*agent->metrics_, *agent->catalog_);

  http::HttpServerOptions http_options;
  http_options.address = config.client_addr;
  http_options.port = static_cast<uint16_t>(config.http_port);
  http_options.metrics = agent->metrics_.get();
  http_options.max_body_bytes = config.http_max_body_bytes;
  http_options.max_header_bytes = config.http_max_header_bytes;
  http_options.max_connections = config.http_max_connections;
  http_options.max_requests_per_connection = config.http_max_requests_per_connection;
  http_options.idle_timeout = config.http_idle_timeout;
  http_options.read_timeout = config.http_read_timeout;
  RaiseFileLimit();
  auto server = http::HttpServer::Start(*agent->pool_, *agent->api_, http_options, snap);
  if (!server.ok()) return server.status();
  agent->server_ = std::move(*server);
  agent->api_->set_http_port(agent->server_->port());
  if (agent->cluster_) {
    agent->cluster_status_ = std::make_unique<ClusterStatusAdapter>(agent->cluster_.get());
    agent->api_->set_cluster(agent->cluster_status_.get());
    // Duties (and the election) start once the address status/* shows is known.
    agent->cluster_->Start(agent->catalog_.get(), config.advertise_addr + ":" +
                                                      std::to_string(agent->server_->port()));
  }
  http::HttpServer* raw = agent->server_.get();
  agent->catalog_->AddListener(
      [raw](const catalog::SnapshotPtr& s, const catalog::ChangeSet&) { raw->Publish(s); });
  agent->catalog_->AddWakeListener(
      [raw](const catalog::SnapshotPtr&, const catalog::ChangeSet& c) { raw->Wake(c); });
  // Anything published between Start() and AddListener() is picked up here; the loops keep
  // whichever snapshot is newest (generation order).
  agent->server_->Publish(agent->catalog_->Current());

  if (config.run_checks) {
    agent->check_sink_ = std::make_unique<health::CatalogSink>(*agent->catalog_);
    health::CheckRunnerOptions check_options;
    check_options.output_update_interval = config.output_update_interval;
    check_options.min_interval = config.check_min_interval;
    check_options.metrics = agent->metrics_.get();
    auto checks = health::CheckRunner::Create(*agent->pool_, *agent->check_sink_, check_options);
    if (!checks.ok()) return checks.status();
    agent->checks_ = std::move(*checks);
    health::CheckRunner* runner = agent->checks_.get();
    agent->catalog_->AddListener(
        [runner](const catalog::SnapshotPtr& s, const catalog::ChangeSet& c) {
          runner->Observe(s, c);
        });
    // As for HTTP: a snapshot published before AddListener is covered by this full scan; the
    // runner ignores snapshots older than the newest it has seen.
    agent->checks_->ObserveFull(agent->catalog_->Current());
  }
  agent->pool_->Start();
  if (Status s = agent->ApplyDefinitions(config.service_definitions, config.check_definitions);
      !s.ok()) {
    return s.WithContext("config");
  }
  spdlog::info("agent: node {} in {} serving HTTP on {}:{}, data in {}", config.node_name,
               config.datacenter, config.client_addr, agent->server_->port(), agent->data_dir_);
  return agent;
}

Status Agent::ApplyDefinitions(std::vector<catalog::RegisterService> services,
                               std::vector<catalog::RegisterCheck> checks) {
  std::lock_guard<std::mutex> lock(definitions_mu_);
  std::set<std::string> service_ids, check_ids;
  for (catalog::RegisterService& def : services) {
    std::string name = def.service.name;
    std::string id = def.service.id.empty() ? name : def.service.id;  // the catalog's default
    auto r = catalog_->SubmitAndWait(std::move(def));
    if (!r.ok()) return r.status().WithContext("service definition \"" + name + "\"");
    service_ids.insert(id);
  }
  for (catalog::RegisterCheck& def : checks) {
    std::string name = def.check.name;
    std::string id = def.check.id.empty() ? name : def.check.id;
    auto r = catalog_->SubmitAndWait(std::move(def));
    if (!r.ok()) return r.status().WithContext("check definition \"" + name + "\"");
    check_ids.insert(id);
  }
  for (const std::string& id : config_check_ids_) {
    if (!check_ids.count(id)) (void)catalog_->SubmitAndWait(catalog::DeregisterCheck{id});
  }
  for (const std::string& id : config_service_ids_) {
    if (!service_ids.count(id)) (void)catalog_->SubmitAndWait(catalog::DeregisterService{id});
  }
  config_service_ids_ = std::move(service_ids);
  config_check_ids_ = std::move(check_ids);
  return Status();
}

uint16_t Agent::http_port() const { return server_ ? server_->port() : 0; }
uint16_t Agent::dns_port() const { return dns_ ? dns_->port() : 0; }

Agent::~Agent() { Stop(); }

void Agent::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (checks_) checks_->Stop();  // first: no check result is submitted while shutting down
  if (dns_) dns_->Stop();
  if (server_) {
    // Graceful part of the shutdown: parked queries answer, in-flight requests finish (their
    // writes are committed by the catalog before they are answered).
    int left = server_->Drain(config_.shutdown_timeout);
    if (left > 0) spdlog::warn("agent: {} requests still in flight at shutdown", left);
  }
  if (pool_) pool_->Stop();
  // Cluster mode: give up the lease (the others see this node gone at once), then stop writing.
  if (cluster_) cluster_->Leave();
  if (catalog_) catalog_->Stop();  // commits whatever is still queued
  dns_.reset();  // its sockets go before the pool's io_contexts (dns/server.h)
  server_.reset();
  api_.reset();
  pool_.reset();
  catalog_.reset();  // its listener calls the check runner until here
  checks_.reset();  // sessions died with the pool; the sink is no longer used
  check_sink_.reset();
  cluster_status_.reset();
  cluster_.reset();
  store_.reset();
  etcd_.reset();
  FlushLogs();
  if (config_.dev && !data_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
}

}  // namespace beacon::agent
