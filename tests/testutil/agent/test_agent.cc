#include "testutil/agent/test_agent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace beacon::testutil {

namespace {

Status Errno(std::string_view what) {
  return Unavailable(std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

TestAgent::TestAgent(TestAgentOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<TestAgent>> TestAgent::Start(TestAgentOptions options) {
  std::unique_ptr<TestAgent> agent(new TestAgent(std::move(options)));
  if (agent->options_.data_dir.empty()) {
    agent->data_dir_ = agent->owned_dir_.emplace("beacon-integ").path();
  } else {
    agent->data_dir_ = agent->options_.data_dir;
  }
  BEACON_RETURN_IF_ERROR(agent->StartAgent());
  return agent;
}

TestAgent::~TestAgent() {
  http_.reset();
  agent_.reset();  // Agent's destructor stops it before the TempDir goes
}

Status TestAgent::StartAgent() {
  agent::AgentConfig config;
  config.data_dir = data_dir_;
  config.node_name = options_.node_name;
  config.datacenter = options_.datacenter;
  config.client_addr = "127.0.0.1";
  config.advertise_addr = "127.0.0.1";
  config.http_port = 0;
  config.dns_port = options_.dns_port;
  config.io_threads = options_.io_threads;
  config.run_checks = options_.run_checks;
  config.reap_interval = options_.reap_interval;
  config.min_deregister_after = options_.min_deregister_after;
  config.output_update_interval = options_.output_update_interval;
  BEACON_ASSIGN_OR_RETURN(agent_, agent::Agent::Start(std::move(config)));
  http_ = std::make_unique<HttpClient>("127.0.0.1", agent_->http_port());
  return Status::Ok();
}

Status TestAgent::Restart() {
  http_.reset();
  if (agent_) {
    agent_->Stop();
    agent_.reset();
  }
  return StartAgent();
}

uint16_t TestAgent::port() const { return agent_ ? agent_->http_port() : 0; }

Response TestAgent::Request(std::string method, std::string target, std::string body) {
  if (!http_) {
    Response r;
    r.error = "no agent running";
    return r;
  }
  return http_->Request(std::move(method), std::move(target), std::move(body));
}

std::optional<double> TestAgent::Gauge(std::string_view name) {
  JsonDoc doc = Json(Get("/v1/agent/metrics"));
  const std::optional<size_t> n = doc.Size("/Gauges");
  for (size_t i = 0; i < n.value_or(0); ++i) {
    const std::string p = "/Gauges/" + std::to_string(i);
    if (doc.Str(p + "/Name") == name && doc.Size(p + "/Labels").value_or(0) == 0) {
      return doc.Number(p + "/Value");
    }
  }
  return std::nullopt;
}

void AgentTest::SetUp() {
  auto started = TestAgent::Start(options_);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  agent_ = std::move(*started);
}

::testing::AssertionResult IsOk(const Response& r) {
  if (r.status == 200) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "want 200, got " << r.ToString();
}

::testing::AssertionResult IsError(const Response& r, int status, std::string_view message) {
  if (r.status == status && r.body == message) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "want " << status << " " << message << "\n      got " << r.ToString();
}

uint64_t ConsulIndex(const Response& r) {
  const std::string v = r.Header("X-Consul-Index");
  if (v.empty()) {
    return 0;
  }
  char* end = nullptr;
  const uint64_t n = std::strtoull(v.c_str(), &end, 10);
  return *end == '\0' ? n : 0;
}

RawConnection::~RawConnection() { Close(); }

Status RawConnection::Connect(uint16_t port) {
  Close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    return Errno("socket");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  // A loopback connect to a listening socket completes (or is refused) at once.
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status s = Errno("connect");
    Close();
    return s;
  }
  return Status::Ok();
}

Status RawConnection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Errno("send");
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string RawConnection::ReadUntilClose(std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point end = Clock::now() + timeout;
  std::string out;
  char buf[4096];
  while (fd_ >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) {
      break;
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      break;
    }
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;  // closed (0) or reset (-1)
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void RawConnection::Close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace beacon::testutil
