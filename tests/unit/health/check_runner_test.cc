// CheckRunner: scheduling of real TCP and HTTP probes on an IoPool, fed snapshots of a real
// Catalog on the memory store; results go to a recording sink. Covers the `health.checks_run`
// counters (by type and result).
#include "health/check_runner.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "testutil/eventually.h"
#include "unit/health/runner_fixture.h"

namespace beacon::health {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using catalog::CheckSpec;
using catalog::CheckType;
using catalog::HealthStatus;

class CheckRunnerTest : public CheckRunnerFixture {
 protected:
  static CheckSpec Check(std::string id, CheckType type, std::string target) {
    CheckSpec s;
    s.id = std::move(id);
    s.definition.type = type;
    if (type == CheckType::kTcp) {
      s.definition.tcp = std::move(target);
    } else {
      s.definition.http = std::move(target);
    }
    s.definition.interval = 20ms;
    s.definition.timeout = 20ms;
    return s;
  }

  uint64_t AllRuns() {
    uint64_t total = 0;
    for (const char* type : {"http", "tcp", "grpc"}) {
      for (const char* result : {"passing", "warning", "critical"}) total += Runs(type, result);
    }
    return total;
  }
};

TEST_F(CheckRunnerTest, CountsEveryAttemptByTypeAndResult) {
  // Every label pair exists from the start, at zero.
  EXPECT_EQ(AllRuns(), 0u);
  EXPECT_EQ(Runs("grpc", "warning"), 0u);

  // A listening socket that never accepts: the kernel completes the handshake, so TCP passes.
  asio::io_context io;
  asio::ip::tcp::acceptor listening(io, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string open = "127.0.0.1:" + std::to_string(listening.local_endpoint().port());
  // A port nobody listens on: connection refused, critical (TCP and HTTP).
  asio::ip::tcp::acceptor closed(io, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string refused = "127.0.0.1:" + std::to_string(closed.local_endpoint().port());
  closed.close();

  catalog::RegisterService r;
  r.service.name = "web";
  r.service.id = "web-1";
  r.checks = {Check("tcp-up", CheckType::kTcp, open), Check("tcp-down", CheckType::kTcp, refused),
              Check("http-down", CheckType::kHttp, "http://" + refused + "/health")};
  ASSERT_TRUE(catalog_->SubmitAndWait(std::move(r)).ok());
  runner_->ObserveFull(catalog_->Current());

  ASSERT_TRUE(testutil::Eventually([&] {
    return Runs("tcp", "passing") >= 2 && Runs("tcp", "critical") >= 2 &&
           Runs("http", "critical") >= 2;
  })) << "tcp passing " << Runs("tcp", "passing") << ", tcp critical " << Runs("tcp", "critical")
      << ", http critical " << Runs("http", "critical");

  runner_->Stop();
  ASSERT_TRUE(testutil::Eventually([&] { return runner_->running() == 0; }));
  // Nothing else was counted, and every completed attempt was counted once.
  EXPECT_EQ(Runs("http", "passing") + Runs("http", "warning") + Runs("tcp", "warning"), 0u);
  EXPECT_EQ(Runs("grpc", "passing") + Runs("grpc", "warning") + Runs("grpc", "critical"), 0u);
  EXPECT_EQ(AllRuns(), runner_->attempts());
}

// The agent destroys the pool before the runner, and the clean-up Stop() posts may never run
// (here: the loops are already stopped). Sessions and their timers must go with the loops; ASan
// reported a use after free in the timers when the runner still owned the sessions.
TEST_F(CheckRunnerTest, MayBeDestroyedAfterThePool) {
  catalog::RegisterService r;
  r.service.name = "web";
  r.service.id = "web-1";
  r.checks = {Check("tcp-down", CheckType::kTcp, "127.0.0.1:1")};
  ASSERT_TRUE(catalog_->SubmitAndWait(std::move(r)).ok());
  runner_->ObserveFull(catalog_->Current());
  ASSERT_TRUE(testutil::Eventually([&] { return runner_->running() == 1; }));
  pool_->Stop();
  runner_->Stop();
  pool_.reset();
  runner_.reset();
  pool_ = std::make_unique<net::IoPool>(1);  // for TearDown
}

}  // namespace
}  // namespace beacon::health
