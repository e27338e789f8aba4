// TestAgent: a complete in-process Beacon agent on 127.0.0.1 for integration tests (the harness
// of STYLE.md section 8, after Consul's sdk/testutil TestServer).
//
// Start() runs agent::Agent exactly as `beacon agent` does: SQLite store in a data directory,
// catalog writer, HTTP server on a kernel-chosen port (http_port 0, read back with port()). The
// data directory is a fresh TempDir owned by the TestAgent unless the options name one. The node
// name is fixed ("test-node") so tests can name it, and the writer's timers are short (reaper every
// 200 ms, DeregisterCriticalServiceAfter floor 500 ms) so reaping is observable within a test's
// Eventually() deadline.
//
// Restart() is a process restart without the process: stop (which commits everything queued and
// closes the store) and start again on the same data directory. The port changes across a
// restart; http() and port() always refer to the running agent.
//
// Thread rules: one test thread drives a TestAgent. A blocking query that must stay parked while
// the test writes goes through http().RequestAsync(), which uses its own connection and thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/agent.h"
#include "common/status.h"
#include "testutil/agent/json.h"
#include "testutil/http_client.h"
#include "testutil/temp_dir.h"

namespace beacon::testutil {

struct TestAgentOptions {
  // "" = a fresh TempDir, removed with the TestAgent. A given directory is left in place.
  std::string data_dir;
  std::string node_name = "test-node";
  std::string datacenter = "dc1";
  // Shorter than Consul's 30 s / 1 min so reaping happens within a test.
  std::chrono::milliseconds reap_interval{200};
  std::chrono::milliseconds min_deregister_after{500};
  // Consul's check_update_interval: how long output-only check changes wait to be published.
  std::chrono::milliseconds output_update_interval{std::chrono::minutes(5)};
  // Two loops, so blocking queries and the writes that wake them often sit on different loops.
  size_t io_threads = 2;
  // -1 = no DNS interface (this harness drives HTTP); 0 = any free port.
  int dns_port = -1;
  // Whether the agent executes HTTP/TCP/gRPC checks, as `beacon agent` does.
  bool run_checks = true;
};

class TestAgent {
 public:
  // Starts an agent. Fails with the agent's own message (bad directory, port, store).
  static Result<std::unique_ptr<TestAgent>> Start(TestAgentOptions options = {});
  ~TestAgent();  // stops the agent, then removes an owned data directory

  TestAgent(const TestAgent&) = delete;
  TestAgent& operator=(const TestAgent&) = delete;

  // Stops the agent and starts a new one on the same data directory and options. On failure the
  // TestAgent has no running agent (port() is 0) and the error is returned.
  Status Restart();

  // The HTTP port of the running agent; 0 when none runs.
  uint16_t port() const;
  // A keep-alive client connected to the running agent; replaced by Restart(). REQUIRES: one runs.
  HttpClient& http() { return *http_; }
  // The running agent. REQUIRES: one runs.
  agent::Agent& agent() { return *agent_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& node_name() const { return options_.node_name; }

  // One request on http(); see HttpClient::Request.
  Response Request(std::string method, std::string target, std::string body = "");
  Response Get(std::string target) { return Request("GET", std::move(target)); }
  Response Put(std::string target, std::string body = "") {
    return Request("PUT", std::move(target), std::move(body));
  }

  // The value of the label-less gauge `name` in /v1/agent/metrics ("consul.http.open_connections",
  // "consul.http.blocking_queries_parked"); nullopt when absent. Lets a test wait until its
  // blocking queries are parked, or until the server has dropped a connection.
  std::optional<double> Gauge(std::string_view name);

 private:
  explicit TestAgent(TestAgentOptions options);
  Status StartAgent();

  TestAgentOptions options_;
  std::optional<TempDir> owned_dir_;
  std::string data_dir_;
  std::unique_ptr<agent::Agent> agent_;
  std::unique_ptr<HttpClient> http_;
};

// Fixture: a running TestAgent in agent(), started in SetUp with `options_` (a failed start fails
// the test). A derived fixture may change `options_` in its constructor.
class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override;
  TestAgent& agent() { return *agent_; }

  TestAgentOptions options_;
  std::unique_ptr<TestAgent> agent_;
};

// Success when `r` is a 200 response; otherwise a failure that prints the response.
::testing::AssertionResult IsOk(const Response& r);
// Success when `r` has `status` and exactly the body `message`; for plain-text errors.
::testing::AssertionResult IsError(const Response& r, int status, std::string_view message);

// The X-Consul-Index header as a number; 0 when absent or not a number.
uint64_t ConsulIndex(const Response& r);

// A bare TCP connection to 127.0.0.1 for what HttpClient cannot do: send malformed HTTP, or send
// a request and hang up without reading the answer. Every read is bounded by a deadline.
class RawConnection {
 public:
  RawConnection() = default;
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  Status Connect(uint16_t port);
  // Sends every byte of `bytes`.
  Status Send(std::string_view bytes);
  // Reads until the peer closes the connection or `timeout` passes; returns what arrived.
  std::string ReadUntilClose(std::chrono::milliseconds timeout);
  // Closes the socket (idempotent).
  void Close();

 private:
  int fd_ = -1;
};

}  // namespace beacon::testutil
