// Active health checks end to end (issue #4, consul-api.md section 5): an in-process agent runs
// HTTP, HTTPS, TCP and gRPC checks against real local servers that the test switches between
// healthy, failing, slow (past the timeout), garbage and unreachable, and the statuses seen through
// /v1/agent/checks and /v1/health/service move exactly as the thresholds say.
//
// Servers: TargetServer is a small HTTP/1.1 (optionally TLS) server on its own io_context thread,
// whose answers follow a script of status codes and then a mode. The gRPC server is Python's
// grpcio (Debian python3-grpcio) with a generic handler for grpc.health.v1.Health/Check, so the
// probe is tested against a real HTTP/2 + HPACK implementation; those tests skip with a message
// when grpcio is not installed.
//
// Timing: intervals are 100-200 ms (the agent's minimum interval is lowered for the test), waits
// are Eventually() with generous deadlines, and the only time bound asserted is the loose one the
// issue asks for (watcher turned within interval x FailuresBeforeCritical + timeout + slack).
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent.h"
#include "testutil/agent/json.h"
#include "testutil/agent/test_agent.h"
#include "testutil/eventually.h"
#include "testutil/free_port.h"
#include "testutil/http_client.h"
#include "testutil/temp_dir.h"

extern char** environ;

namespace beacon::testutil {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------------------------------------
// A self-signed certificate for 127.0.0.1, localhost and health.test, made with OpenSSL's API.

struct CertPair {
  std::string cert_pem;
  std::string key_pem;
};

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

CertPair MakeSelfSigned() {
  CertPair out;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("beacon-test"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name,
                                            "DNS:localhost,DNS:health.test,IP:127.0.0.1");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x, key, EVP_sha256());
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x);
  out.cert_pem = BioString(cert_bio);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = BioString(key_bio);
  BIO_free(key_bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

// ---------------------------------------------------------------------------------------------
// TargetServer: the HTTP(S) endpoint checks probe.

enum class Mode {
  kHealthy,   // 200 "ok"
  kFailing,   // 503 "down"
  kTooMany,   // 429
  kSlow,      // reads the request, never answers (until the client hangs up)
  kEndless,   // 200 and a body that never ends (bounded at 256 MiB)
  kGarbage,   // bytes that are not HTTP, then close
  kReset,     // RST right after accept
  kRedirect,  // 302 to another path
  kCounter,   // 200 "count <n>": a different body every time
};

struct ServerState {
  explicit ServerState(asio::io_context& io) : io(io) {}
  asio::io_context& io;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::ssl::context> tls;
  uint16_t port = 0;
  std::mutex mu;
  Mode mode = Mode::kHealthy;  // guarded by mu
  std::deque<int> script;      // guarded by mu: status codes to answer first, in order
  std::string last_request;    // guarded by mu
  std::string last_sni;        // guarded by mu
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> endless_bytes{0};
  std::atomic<int> open{0};
};

template <typename Stream>
asio::awaitable<void> Answer(std::shared_ptr<ServerState> st, Stream& stream) {
  std::string buf;
  auto [ec, n] = co_await asio::async_read_until(stream, asio::dynamic_buffer(buf, 64 * 1024),
                                                 "\r\n\r\n", kTuple);
  if (ec) {
    co_return;
  }
  Mode mode;
  std::optional<int> scripted;
  {
    std::lock_guard<std::mutex> lock(st->mu);
    st->last_request = buf;
    mode = st->mode;
    if (!st->script.empty()) {
      scripted = st->script.front();
      st->script.pop_front();
    }
  }
  const uint64_t count = ++st->requests;
  auto reply = [](int code, std::string body) {
    std::string reason = code == 200 ? "OK" : code == 503 ? "Service Unavailable"
                                     : code == 429 ? "Too Many Requests" : "Status";
    return "HTTP/1.1 " + std::to_string(code) + " " + reason +
           "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
  };
  std::string out;
  if (scripted) {
    out = reply(*scripted, *scripted == 200 ? "ok" : "scripted");
  } else {
    switch (mode) {
      case Mode::kHealthy:
        out = reply(200, "ok");
        break;
      case Mode::kFailing:
        out = reply(503, "down");
        break;
      case Mode::kTooMany:
        out = reply(429, "slow down");
        break;
      case Mode::kCounter:
        out = reply(200, "count " + std::to_string(count));
        break;
      case Mode::kRedirect:
        out = "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n";
        break;
      case Mode::kGarbage:
        out = std::string("\x16\x03garbage, not HTTP\r\n\r\n", 22);
        break;
      case Mode::kSlow: {
        char c;
        co_await stream.async_read_some(asio::buffer(&c, 1), kTuple);  // until the client leaves
        co_return;
      }
      case Mode::kEndless: {
        std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(head), kTuple);
        std::string chunk(16 * 1024, 'x');
        for (int i = 0; i < 16 * 1024 && !wec; ++i) {  // at most 256 MiB
          auto [e, m] = co_await asio::async_write(stream, asio::buffer(chunk), kTuple);
          if (e) {
            break;
          }
          st->endless_bytes += m;
        }
        co_return;
      }
      case Mode::kReset:
        co_return;  // handled at accept
    }
  }
  co_await asio::async_write(stream, asio::buffer(out), kTuple);
}

asio::awaitable<void> Serve(std::shared_ptr<ServerState> st, tcp::socket socket) {
  ++st->open;
  Mode mode;
  {
    std::lock_guard<std::mutex> lock(st->mu);
    mode = st->script.empty() ? st->mode : Mode::kHealthy;
  }
  if (mode == Mode::kReset) {
    socket.set_option(asio::socket_base::linger(true, 0));
    socket.close();
    ++st->requests;
    --st->open;
    co_return;
  }
  if (st->tls) {
    asio::ssl::stream<tcp::socket> stream(std::move(socket), *st->tls);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
    if (!ec) {
      co_await Answer(st, stream);
    }
    boost::system::error_code ignored;
    stream.next_layer().close(ignored);
  } else {
    co_await Answer(st, socket);
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
  }
  --st->open;
}

asio::awaitable<void> AcceptLoop(std::shared_ptr<ServerState> st) {
  for (;;) {
    tcp::acceptor* acceptor = st->acceptor.get();
    if (acceptor == nullptr || !acceptor->is_open()) {
      co_return;
    }
    auto [ec, socket] = co_await acceptor->async_accept(kTuple);
    if (ec) {
      co_return;
    }
    asio::co_spawn(st->io, Serve(st, std::move(socket)), asio::detached);
  }
}

int SniCallback(SSL* ssl, int*, void* arg) {
  auto* st = static_cast<ServerState*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name != nullptr) {
    std::lock_guard<std::mutex> lock(st->mu);
    st->last_sni = name;
  }
  return SSL_TLSEXT_ERR_OK;
}

class TargetServer {
 public:
  explicit TargetServer(const CertPair* tls = nullptr) : state_(std::make_shared<ServerState>(io_)) {
    if (tls != nullptr) {
      state_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      state_->tls->use_certificate_chain(asio::buffer(tls->cert_pem));
      state_->tls->use_private_key(asio::buffer(tls->key_pem), asio::ssl::context::pem);
      SSL_CTX_set_tlsext_servername_callback(state_->tls->native_handle(), SniCallback);
      SSL_CTX_set_tlsext_servername_arg(state_->tls->native_handle(), state_.get());
    }
    Listen(0);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TargetServer() {
    io_.stop();
    thread_.join();
  }

  uint16_t port() const { return state_->port; }
  std::string url(const std::string& path = "/health") const {
    return std::string(state_->tls ? "https" : "http") + "://127.0.0.1:" +
           std::to_string(port()) + path;
  }
  void SetMode(Mode m) {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->mode = m;
  }
  // Answers the next requests with these codes, then goes back to the mode.
  void Script(std::vector<int> codes) {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->script.assign(codes.begin(), codes.end());
  }
  bool ScriptDone() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->script.empty();
  }
  uint64_t requests() const { return state_->requests.load(); }
  uint64_t endless_bytes() const { return state_->endless_bytes.load(); }
  int open_connections() const { return state_->open.load(); }
  std::string last_request() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->last_request;
  }
  std::string last_sni() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->last_sni;
  }
  // Stops listening: connecting is refused until Reopen().
  void Close() {
    std::promise<void> done;
    asio::post(io_, [this, &done] {
      state_->acceptor.reset();
      done.set_value();
    });
    done.get_future().wait();
  }
  void Reopen() {
    std::promise<void> done;
    asio::post(io_, [this, &done] {
      Listen(state_->port);
      done.set_value();
    });
    done.get_future().wait();
  }
  // Waits until `n` more requests than now have been answered (bounded).
  bool WaitRequests(uint64_t n, std::chrono::milliseconds deadline = 10s) {
    const uint64_t target = requests() + n;
    return Eventually([&] { return requests() >= target; }, deadline);
  }

 private:
  void Listen(uint16_t port) {
    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor->open(ep.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(ep);
    acceptor->listen();
    state_->port = acceptor->local_endpoint().port();
    state_->acceptor = std::move(acceptor);
    asio::co_spawn(io_, AcceptLoop(state_), asio::detached);
  }

  asio::io_context io_;
  // Keeps run() going while nothing listens (between Close() and Reopen()).
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  std::shared_ptr<ServerState> state_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// A real gRPC server: Python grpcio with a raw-bytes handler for Health/Check. Its serving state
// is switched by lines on its stdin; it exits when stdin closes.

constexpr char kGrpcServerPy[] = R"PY(
import os, sys, threading, time
from concurrent import futures
import grpc

threading.Timer(600, lambda: os._exit(3)).start()  # never outlive a stuck test
mode = {"v": "SERVING"}

def check(request, context):
    service = b""
    if len(request) >= 2 and request[0] == 0x0A:
        service = request[2:2 + request[1]]
    if service == b"unknown":
        context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
    m = mode["v"]
    if m == "SLOW":
        time.sleep(1.0)
        return b"\x08\x01"
    if m == "NOT_SERVING":
        return b"\x08\x02"
    if m == "UNAVAILABLE":
        context.abort(grpc.StatusCode.UNAVAILABLE, "maintenance window")
    return b"\x08\x01"

handler = grpc.method_handlers_generic_handler(
    "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(check)})
server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
server.add_generic_rpc_handlers((handler,))
if len(sys.argv) == 3:
    creds = grpc.ssl_server_credentials([(open(sys.argv[2], "rb").read(), open(sys.argv[1], "rb").read())])
    port = server.add_secure_port("127.0.0.1:0", creds)
else:
    port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
for line in sys.stdin:
    mode["v"] = line.strip()
    print("ok", flush=True)
server.stop(0)
os._exit(0)
)PY";

bool HavePythonGrpc() {
  return std::system("/usr/bin/python3 -c 'import grpc' >/dev/null 2>&1") == 0;
}

class GrpcServer {
 public:
  // `cert`/`key` files for TLS, or empty for h2c.
  GrpcServer(const TempDir& dir, const std::string& cert = "", const std::string& key = "") {
    const std::string script = dir.Join("grpc_health_server.py");
    std::ofstream(script) << kGrpcServerPy;
    int in[2];
    int out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
      return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::vector<std::string> args = {"/usr/bin/python3", script};
    if (!cert.empty()) {
      args.push_back(cert);
      args.push_back(key);
    }
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    to_ = in[1];
    from_ = out[0];
    std::string line = ReadLine(20s);
    port_ = static_cast<uint16_t>(std::atoi(line.c_str()));
  }
  ~GrpcServer() {
    if (to_ >= 0) {
      close(to_);  // the server stops when its stdin closes
    }
    if (pid_ > 0) {
      bool exited = Eventually([&] { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, 5s);
      if (!exited) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
    if (from_ >= 0) {
      close(from_);
    }
  }
  uint16_t port() const { return port_; }
  bool SetMode(const std::string& mode) {
    std::string line = mode + "\n";
    if (write(to_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return false;
    }
    return ReadLine(10s) == "ok";
  }

 private:
  std::string ReadLine(std::chrono::milliseconds timeout) {
    std::string line;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{from_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) {
        continue;
      }
      char c;
      if (read(from_, &c, 1) != 1) {
        break;
      }
      if (c == '\n') {
        return line;
      }
      line.push_back(c);
    }
    return line;
  }

  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The agent under test: like TestAgent, but with the check runner's minimum interval lowered so
// thresholds play out in a fraction of a second.

class HealthChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    agent::AgentConfig config;
    config.data_dir = dir_.path();
    config.node_name = "test-node";
    config.http_port = 0;
    config.dns_port = -1;
    config.io_threads = 2;
    config.reap_interval = 200ms;
    config.min_deregister_after = 500ms;
    config.check_min_interval = 10ms;
    auto a = agent::Agent::Start(config);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    client_ = std::make_unique<HttpClient>("127.0.0.1", agent_->http_port());
  }
  void TearDown() override {
    client_.reset();
    agent_.reset();
  }

  Response Put(const std::string& target, const std::string& body) {
    return client_->Request("PUT", target, body);
  }
  Response Get(const std::string& target) { return client_->Request("GET", target); }

  // Registers service `id` (name "web") with one check given as JSON fields.
  void RegisterWeb(const std::string& id, const std::string& check_fields) {
    ASSERT_TRUE(IsOk(Put("/v1/agent/service/register",
                         R"({"Name":"web","ID":")" + id + R"(","Check":{)" + check_fields + "}}")));
  }
  // Status of a check on this agent ("" when it does not exist).
  std::string StatusOf(const std::string& check_id) {
    Response r = Get("/v1/agent/checks");
    JsonDoc doc(r.body);
    return doc.Type("/" + check_id) == "object" ? doc.Str("/" + check_id + "/Status") : "";
  }
  std::string OutputOf(const std::string& check_id) {
    return JsonDoc(Get("/v1/agent/checks").body).Str("/" + check_id + "/Output");
  }
  std::optional<int64_t> ModifyIndexOf(const std::string& /*check_id: the only web check*/) {
    return JsonDoc(Get("/v1/health/checks/web").body).Int("/0/ModifyIndex");
  }
  bool WaitStatus(const std::string& check_id, const std::string& status,
                  std::chrono::milliseconds deadline = 10s) {
    bool ok = Eventually([&] { return StatusOf(check_id) == status; }, deadline, 20ms);
    if (!ok) {
      ADD_FAILURE() << check_id << " never became " << status << "; it is "
                    << StatusOf(check_id) << ": " << OutputOf(check_id);
    }
    return ok;
  }
  // Waits until the check's output satisfies `pred` (new checks start critical with no output,
  // so a status alone does not prove that a probe ran).
  bool WaitOutput(const std::string& check_id, const std::function<bool(const std::string&)>& pred,
                  std::chrono::milliseconds deadline = 10s) {
    bool ok = Eventually([&] { return pred(OutputOf(check_id)); }, deadline, 20ms);
    if (!ok) {
      ADD_FAILURE() << check_id << " output never matched; it is " << StatusOf(check_id) << ": "
                    << OutputOf(check_id);
    }
    return ok;
  }
  bool WaitOutputIs(const std::string& check_id, const std::string& want) {
    return WaitOutput(check_id, [&](const std::string& out) { return out == want; });
  }
  bool WaitOutputHas(const std::string& check_id, const std::string& part) {
    return WaitOutput(check_id,
                      [&](const std::string& out) { return out.find(part) != std::string::npos; });
  }
  std::vector<std::string> Passing() {
    std::vector<std::string> ids =
        JsonDoc(Get("/v1/health/service/web?passing").body).Column("", "Service/ID");
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  TempDir dir_{"beacon-health"};
  std::unique_ptr<agent::Agent> agent_;
  std::unique_ptr<HttpClient> client_;
};

std::string HttpCheck(const std::string& url, const std::string& extra = "") {
  return R"("HTTP":")" + url + R"(","Interval":"100ms","Timeout":"1s")" + extra;
}

// ---------------------------------------------------------------------------------------------

TEST_F(HealthChecksTest, HttpStatusCodesMapToPassingWarningCritical) {
  TargetServer server;
  RegisterWeb("web-1", HttpCheck(server.url()));
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  EXPECT_EQ(OutputOf("service:web-1"), "HTTP GET " + server.url() + ": 200 OK Output: ok");
  EXPECT_EQ(Passing(), (std::vector<std::string>{"web-1"}));

  server.SetMode(Mode::kTooMany);
  ASSERT_TRUE(WaitStatus("service:web-1", "warning"));
  EXPECT_EQ(OutputOf("service:web-1"),
            "HTTP GET " + server.url() + ": 429 Too Many Requests Output: slow down");
  EXPECT_TRUE(Passing().empty());  // ?passing drops warning too

  server.SetMode(Mode::kFailing);
  ASSERT_TRUE(WaitStatus("service:web-1", "critical"));
  EXPECT_EQ(OutputOf("service:web-1"),
            "HTTP GET " + server.url() + ": 503 Service Unavailable Output: down");

  server.SetMode(Mode::kHealthy);
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  EXPECT_EQ(Passing(), (std::vector<std::string>{"web-1"}));
}

TEST_F(HealthChecksTest, FailuresBeforeCriticalIsExact) {
  TargetServer server;
  RegisterWeb("web-1", HttpCheck(server.url(), R"(,"FailuresBeforeCritical":3)"));
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  const auto index = ModifyIndexOf("service:web-1");

  // Two failures in a row are not enough: the status and the index never move.
  server.Script({503, 503});
  ASSERT_TRUE(Eventually([&] { return server.ScriptDone(); }, 10s));
  ASSERT_TRUE(server.WaitRequests(3));  // results of both failures and a pass were processed
  EXPECT_EQ(StatusOf("service:web-1"), "passing");
  EXPECT_EQ(ModifyIndexOf("service:web-1"), index);

  // A pass in between restarts the count: 2 + pass + 2 is still passing.
  server.Script({503, 503, 200, 503, 503});
  ASSERT_TRUE(Eventually([&] { return server.ScriptDone(); }, 10s));
  ASSERT_TRUE(server.WaitRequests(3));
  EXPECT_EQ(StatusOf("service:web-1"), "passing");
  EXPECT_EQ(ModifyIndexOf("service:web-1"), index);

  // The third failure in a row turns it critical.
  server.Script({503, 503, 503});
  server.SetMode(Mode::kFailing);
  ASSERT_TRUE(WaitStatus("service:web-1", "critical"));
  EXPECT_TRUE(Passing().empty());
}

TEST_F(HealthChecksTest, SuccessBeforePassingAndWarningThresholds) {
  TargetServer server;
  server.SetMode(Mode::kFailing);
  RegisterWeb("web-1", HttpCheck(server.url(), R"(,"SuccessBeforePassing":2,)"
                                               R"("FailuresBeforeWarning":1,"FailuresBeforeCritical":1000)"));
  // The first result applies at once although 1000 failures would be needed later.
  ASSERT_TRUE(WaitOutputHas("service:web-1", ": 503 Service Unavailable"));
  EXPECT_EQ(StatusOf("service:web-1"), "critical");

  // One success is not enough to pass; the failures after it count from zero, so the first one
  // reaches FailuresBeforeWarning: warning, never passing.
  server.Script({200});
  ASSERT_TRUE(Eventually([&] { return server.ScriptDone(); }, 10s));
  ASSERT_TRUE(server.WaitRequests(2));
  EXPECT_EQ(StatusOf("service:web-1"), "warning");

  // Two in a row are.
  server.SetMode(Mode::kHealthy);
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));

  // Failing again: warning after the first failure (FailuresBeforeWarning 1), and it stays
  // warning, since critical needs 1000 failures in a row.
  server.SetMode(Mode::kFailing);
  ASSERT_TRUE(WaitStatus("service:web-1", "warning"));
  EXPECT_NE(OutputOf("service:web-1").find(": 503 Service Unavailable"), std::string::npos);
  ASSERT_TRUE(server.WaitRequests(5));
  EXPECT_EQ(StatusOf("service:web-1"), "warning");
  EXPECT_TRUE(Passing().empty());
}

TEST_F(HealthChecksTest, SlowEndpointTimesOutWithoutStallingOthers) {
  TargetServer slow;
  TargetServer healthy;
  RegisterWeb("web-slow", R"("HTTP":")" + slow.url() + R"(","Interval":"200ms","Timeout":"100ms")");
  RegisterWeb("web-ok", HttpCheck(healthy.url()));
  ASSERT_TRUE(WaitStatus("service:web-slow", "passing"));
  ASSERT_TRUE(WaitStatus("service:web-ok", "passing"));

  slow.SetMode(Mode::kSlow);
  ASSERT_TRUE(WaitStatus("service:web-slow", "critical"));
  EXPECT_EQ(OutputOf("service:web-slow"), "HTTP GET " + slow.url() + ": timed out after 100ms");
  // The healthy check kept running at its own pace meanwhile.
  EXPECT_TRUE(healthy.WaitRequests(5));
  EXPECT_EQ(StatusOf("service:web-ok"), "passing");
  // Timed-out attempts close their connections: nothing piles up at the slow server.
  EXPECT_TRUE(Eventually([&] { return slow.open_connections() <= 1; }, 5s));
  EXPECT_EQ(Passing(), (std::vector<std::string>{"web-ok"}));

  slow.SetMode(Mode::kHealthy);
  ASSERT_TRUE(WaitStatus("service:web-slow", "passing"));
}

TEST_F(HealthChecksTest, TimeoutIsCappedByInterval) {
  TargetServer slow;
  slow.SetMode(Mode::kSlow);
  RegisterWeb("web-1", R"("HTTP":")" + slow.url() + R"(","Interval":"150ms","Timeout":"30s")");
  ASSERT_TRUE(WaitOutputIs("service:web-1", "HTTP GET " + slow.url() + ": timed out after 150ms"));
  EXPECT_EQ(StatusOf("service:web-1"), "critical");
}

TEST_F(HealthChecksTest, UnreachableIsCriticalUntilTheServerReturns) {
  TargetServer server;
  RegisterWeb("web-1", HttpCheck(server.url()));
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  server.Close();
  ASSERT_TRUE(WaitStatus("service:web-1", "critical"));
  EXPECT_EQ(OutputOf("service:web-1"),
            "HTTP GET " + server.url() + ": dial tcp 127.0.0.1:" + std::to_string(server.port()) +
                ": connect: Connection refused");
  server.Reopen();
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
}

TEST_F(HealthChecksTest, EndlessBodyIsCutAtOutputMaxSize) {
  TargetServer server;
  server.SetMode(Mode::kEndless);
  RegisterWeb("web-1", HttpCheck(server.url(), R"(,"OutputMaxSize":300)"));
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  const std::string out = OutputOf("service:web-1");
  EXPECT_EQ(out.size(), 300u);
  EXPECT_EQ(out.rfind("HTTP GET " + server.url() + ": 200 OK Output: xxx", 0), 0u) << out;
  // The agent hung up after the cap: the server's writes fail long before its 256 MiB bound.
  ASSERT_TRUE(server.WaitRequests(3));
  EXPECT_TRUE(Eventually([&] { return server.open_connections() <= 1; }, 5s));
  EXPECT_LT(server.endless_bytes(), 64u * 1024 * 1024);
}

TEST_F(HealthChecksTest, GarbageResetAndRedirectAreCritical) {
  TargetServer garbage;
  garbage.SetMode(Mode::kGarbage);
  TargetServer reset;
  reset.SetMode(Mode::kReset);
  TargetServer redirect;
  redirect.SetMode(Mode::kRedirect);
  RegisterWeb("web-garbage", HttpCheck(garbage.url()));
  RegisterWeb("web-reset", HttpCheck(reset.url()));
  RegisterWeb("web-redirect", HttpCheck(redirect.url()));
  ASSERT_TRUE(WaitOutputHas("service:web-garbage", "HTTP GET " + garbage.url() + ": read response:"));
  ASSERT_TRUE(WaitOutputHas("service:web-reset", "HTTP GET " + reset.url() + ": "));
  ASSERT_TRUE(WaitOutputIs("service:web-redirect", "HTTP GET " + redirect.url() + ": 302 Found Output: "));
  EXPECT_EQ(StatusOf("service:web-garbage"), "critical");
  EXPECT_EQ(StatusOf("service:web-reset"), "critical");
  EXPECT_EQ(StatusOf("service:web-redirect"), "critical");
  // The redirect was not followed: every request the server saw was for /health.
  EXPECT_NE(redirect.last_request().find("GET /health HTTP/1.1"), std::string::npos);
}

TEST_F(HealthChecksTest, SendsMethodHeadersBodyAndConsulDefaults) {
  TargetServer server;
  RegisterWeb("web-1", HttpCheck(server.url("/hc?x=1"),
                                 R"(,"Method":"POST","Body":"{\"ping\":1}",)"
                                 R"("Header":{"X-Token":["abc","def"],"Accept":["application/json"]})"));
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  const std::string req = server.last_request();
  EXPECT_EQ(req.rfind("POST /hc?x=1 HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(req.find("\r\nUser-Agent: Consul Health Check\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nAccept: application/json\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("text/plain, text/*"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nX-Token: abc\r\nX-Token: def\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nContent-Length: 10\r\n"), std::string::npos) << req;
  EXPECT_EQ(OutputOf("service:web-1"),
            "HTTP POST " + server.url("/hc?x=1") + ": 200 OK Output: ok");
}

TEST_F(HealthChecksTest, HttpsWithSkipVerifySniAndVerification) {
  const CertPair cert = MakeSelfSigned();
  TargetServer server(&cert);
  RegisterWeb("web-skip", HttpCheck(server.url(), R"(,"TLSSkipVerify":true,"TLSServerName":"health.test")"));
  RegisterWeb("web-verify", HttpCheck(server.url()));
  ASSERT_TRUE(WaitStatus("service:web-skip", "passing"));
  EXPECT_EQ(OutputOf("service:web-skip"), "HTTP GET " + server.url() + ": 200 OK Output: ok");
  ASSERT_TRUE(WaitOutputHas("service:web-verify", "certificate verify failed"));
  EXPECT_EQ(StatusOf("service:web-verify"), "critical");
  EXPECT_TRUE(Eventually([&] { return server.last_sni() == "health.test"; }));
  EXPECT_EQ(Passing(), (std::vector<std::string>{"web-skip"}));

  server.SetMode(Mode::kFailing);
  ASSERT_TRUE(WaitStatus("service:web-skip", "critical"));
}

TEST_F(HealthChecksTest, TcpConnectPassesAndRefusalFails) {
  TargetServer server;
  const std::string addr = "127.0.0.1:" + std::to_string(server.port());
  RegisterWeb("web-1", R"("TCP":")" + addr + R"(","Interval":"100ms","Timeout":"1s")");
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  EXPECT_EQ(OutputOf("service:web-1"), "TCP connect " + addr + ": Success");
  server.Close();
  ASSERT_TRUE(WaitStatus("service:web-1", "critical"));
  EXPECT_EQ(OutputOf("service:web-1"), "dial tcp " + addr + ": connect: Connection refused");
  server.Reopen();
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
}

TEST_F(HealthChecksTest, GrpcHealthAgainstRealServer) {
  if (!HavePythonGrpc()) {
    GTEST_SKIP() << "python3-grpcio is not installed (apt-get install python3-grpcio)";
  }
  GrpcServer server(dir_);
  ASSERT_NE(server.port(), 0) << "gRPC server did not start";
  const std::string addr = "127.0.0.1:" + std::to_string(server.port());
  RegisterWeb("web-1", R"("GRPC":")" + addr + R"(","Interval":"150ms","Timeout":"500ms")");
  RegisterWeb("web-unknown",
              R"("GRPC":")" + addr + R"(/unknown","Interval":"150ms","Timeout":"500ms")");
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  EXPECT_EQ(OutputOf("service:web-1"), "gRPC check " + addr + ": success");
  ASSERT_TRUE(WaitOutputIs(
      "service:web-unknown",
      "gRPC check " + addr + "/unknown: rpc error: code = NOT_FOUND desc = unknown service"));
  EXPECT_EQ(StatusOf("service:web-unknown"), "critical");

  ASSERT_TRUE(server.SetMode("NOT_SERVING"));
  ASSERT_TRUE(WaitStatus("service:web-1", "critical"));
  EXPECT_EQ(OutputOf("service:web-1"), "gRPC check " + addr + ": serving status: NOT_SERVING");
  ASSERT_TRUE(server.SetMode("SERVING"));
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  ASSERT_TRUE(server.SetMode("UNAVAILABLE"));
  ASSERT_TRUE(WaitStatus("service:web-1", "critical"));
  EXPECT_EQ(OutputOf("service:web-1"),
            "gRPC check " + addr + ": rpc error: code = UNAVAILABLE desc = maintenance window");
  // A timeout after a critical result would be an output-only change (written at most every
  // 5 min), so pass first: the timeout is then a status change and shows at once.
  ASSERT_TRUE(server.SetMode("SERVING"));
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  ASSERT_TRUE(server.SetMode("SLOW"));  // answers after 1 s, past the 500 ms timeout
  // Either our deadline fires first, or the server honours the grpc-timeout we sent.
  ASSERT_TRUE(WaitOutput("service:web-1", [&](const std::string& out) {
    // The attempt's deadline is the check's Timeout, capped at its Interval.
    return out.rfind("gRPC check " + addr + ": timed out after ", 0) == 0 ||
           out == "gRPC check " + addr + ": rpc error: code = DEADLINE_EXCEEDED desc = Deadline Exceeded";
  }));
  EXPECT_EQ(StatusOf("service:web-1"), "critical");
  ASSERT_TRUE(server.SetMode("SERVING"));
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  EXPECT_EQ(Passing(), (std::vector<std::string>{"web-1"}));
}

TEST_F(HealthChecksTest, GrpcOverTlsAndUnreachable) {
  if (!HavePythonGrpc()) {
    GTEST_SKIP() << "python3-grpcio is not installed (apt-get install python3-grpcio)";
  }
  const CertPair cert = MakeSelfSigned();
  std::ofstream(dir_.Join("cert.pem")) << cert.cert_pem;
  std::ofstream(dir_.Join("key.pem")) << cert.key_pem;
  std::string addr;
  uint16_t port = 0;
  {
    GrpcServer server(dir_, dir_.Join("cert.pem"), dir_.Join("key.pem"));
    ASSERT_NE(server.port(), 0);
    port = server.port();
    addr = "127.0.0.1:" + std::to_string(port);
    ASSERT_TRUE(IsOk(Put("/v1/agent/service/register",
                         R"({"Name":"web","ID":"web-tls","Checks":[{"GRPC":")" + addr +
                             R"(","GRPCUseTLS":true,"TLSSkipVerify":true,"Interval":"150ms"},)"
                             R"({"GRPC":")" + addr + R"(","Interval":"150ms","Timeout":"500ms"}]})")));
    ASSERT_TRUE(WaitStatus("service:web-tls:1", "passing"));
    EXPECT_EQ(OutputOf("service:web-tls:1"), "gRPC check " + addr + ": success");
    // Plain h2c against a TLS port fails.
    ASSERT_TRUE(WaitOutputHas("service:web-tls:2", "gRPC check " + addr + ": "));
    EXPECT_EQ(StatusOf("service:web-tls:2"), "critical");
  }
  // The server is gone: unreachable. Its port is held, bound but not listening, so that nothing
  // else on the machine (a test running beside this one) listens on it or takes it as a
  // connection's own port meanwhile: a CI run once saw "write: Broken pipe" here for 10 s.
  asio::io_context hold_io;
  asio::ip::tcp::acceptor hold(hold_io);
  boost::system::error_code ec;
  hold.open(asio::ip::tcp::v4(), ec);
  if (!ec) hold.set_option(asio::socket_base::reuse_address(true), ec);  // past TIME_WAIT
  if (!ec) hold.bind({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) GTEST_SKIP() << "port " << port << " was taken as the server let it go: " << ec.message();
  ASSERT_TRUE(Eventually([&] {
    return OutputOf("service:web-tls:1").find("Connection refused") != std::string::npos;
  }, 10s)) << OutputOf("service:web-tls:1");
  EXPECT_EQ(StatusOf("service:web-tls:1"), "critical");
}

TEST_F(HealthChecksTest, BlockingWatcherTurnsWithinThresholdTime) {
  TargetServer server;
  // interval x FailuresBeforeCritical + timeout = 200 ms x 3 + 100 ms = 700 ms.
  RegisterWeb("web-1", R"("HTTP":")" + server.url() +
                           R"(","Interval":"200ms","Timeout":"100ms","FailuresBeforeCritical":3)");
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  Response before = Get("/v1/health/service/web?passing");
  ASSERT_EQ(JsonDoc(before.body).Size(""), 1u);
  const uint64_t index = ConsulIndex(before);

  std::future<Response> watch = client_->RequestAsync(
      "GET", "/v1/health/service/web?passing&index=" + std::to_string(index) + "&wait=30s");
  // Let the query park: it must not return before the switch (nothing changes meanwhile).
  ASSERT_EQ(watch.wait_for(300ms), std::future_status::timeout);
  const auto switched = std::chrono::steady_clock::now();
  server.SetMode(Mode::kFailing);
  ASSERT_EQ(watch.wait_for(20s), std::future_status::ready);
  const auto elapsed = std::chrono::steady_clock::now() - switched;
  Response r = watch.get();
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(JsonDoc(r.body).Size(""), 0u) << r.body;
  EXPECT_GT(ConsulIndex(r), index);
  // 700 ms plus a loose slack for a busy machine.
  EXPECT_LT(elapsed, 700ms + 2500ms)
      << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms";
}

TEST_F(HealthChecksTest, OutputOnlyChangesAreThrottled) {
  TargetServer server;
  server.SetMode(Mode::kCounter);  // a different body on every request
  RegisterWeb("web-1", HttpCheck(server.url()));
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  const std::string first = OutputOf("service:web-1");
  const auto index = ModifyIndexOf("service:web-1");
  ASSERT_TRUE(server.WaitRequests(5));
  // The status did not change, so within the 5 min output interval nothing was written.
  EXPECT_EQ(OutputOf("service:web-1"), first);
  EXPECT_EQ(ModifyIndexOf("service:web-1"), index);
}

TEST_F(HealthChecksTest, DeregisterStopsAndRedefinitionRestarts) {
  TargetServer a;
  TargetServer b;
  RegisterWeb("web-1", HttpCheck(a.url()));
  ASSERT_TRUE(WaitStatus("service:web-1", "passing"));
  ASSERT_TRUE(a.WaitRequests(2));

  // A new URL for the same check ID: the old session stops, a new one probes b.
  b.SetMode(Mode::kFailing);
  RegisterWeb("web-1", HttpCheck(b.url()));
  ASSERT_TRUE(WaitStatus("service:web-1", "critical"));
  ASSERT_TRUE(b.WaitRequests(2));
  const uint64_t a_seen = a.requests();
  ASSERT_TRUE(b.WaitRequests(3));
  EXPECT_LE(a.requests(), a_seen + 1);  // at most one attempt was already under way

  ASSERT_TRUE(IsOk(Put("/v1/agent/service/deregister/web-1", "")));
  ASSERT_TRUE(b.WaitRequests(0));
  const uint64_t b_seen = b.requests();
  // Another service's check keeps running: use its requests as the clock.
  a.SetMode(Mode::kHealthy);
  RegisterWeb("web-2", HttpCheck(a.url()));
  ASSERT_TRUE(a.WaitRequests(5));
  EXPECT_LE(b.requests(), b_seen + 1);
}

TEST_F(HealthChecksTest, NodeLevelCheckAndDeregisterCriticalServiceAfter) {
  TargetServer server;
  ASSERT_TRUE(IsOk(Put("/v1/agent/check/register",
                       R"({"Name":"node-http","HTTP":")" + server.url() +
                           R"(","Interval":"100ms"})")));
  ASSERT_TRUE(WaitStatus("node-http", "passing"));

  server.SetMode(Mode::kFailing);
  RegisterWeb("web-1", HttpCheck(server.url(), R"(,"DeregisterCriticalServiceAfter":"10ms")"));
  ASSERT_TRUE(WaitStatus("node-http", "critical"));
  // The reaper (every 200 ms here, floor 500 ms) removes the critical service instance.
  ASSERT_TRUE(Eventually([&] {
    return JsonDoc(Get("/v1/agent/services").body).Type("/web-1") == "missing";
  }, 15s));
  EXPECT_EQ(StatusOf("service:web-1"), "");
}

}  // namespace
}  // namespace beacon::testutil
