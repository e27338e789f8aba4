// Watch thread (design note in watcher.h).
#include "etcd/watcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "etcd/gateway_codec.h"

namespace beacon::etcd::internal {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using Ms = std::chrono::milliseconds;

// State shared by the Watch object and its thread. Shared (not owned by the Watch) so that a
// callback may destroy its own Watch: the thread is then detached and still owns this.
struct Shared {
  explicit Shared(WatchConfig c) : config(std::move(c)) {}

  const WatchConfig config;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable cv;        // wakes a backoff sleep on stop
  HttpConnection* active = nullptr;  // guarded by mu: the connection in use, to Stop()
};

// Registers the thread's current connection so the destructor can interrupt it.
class ActiveConnection {
 public:
  ActiveConnection(Shared& shared, HttpConnection* conn) : shared_(shared) {
    std::lock_guard lock(shared_.mu);
    registered_ = !shared_.stopping.load();
    if (registered_) {
      shared_.active = conn;
    }
  }
  ~ActiveConnection() {
    std::lock_guard lock(shared_.mu);
    shared_.active = nullptr;
  }
  ActiveConnection(const ActiveConnection&) = delete;
  ActiveConnection& operator=(const ActiveConnection&) = delete;

  bool registered() const { return registered_; }

 private:
  Shared& shared_;
  bool registered_ = false;
};

std::string Describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    return "timed out";
  }
  return ec.message();
}

struct StreamEnd {
  enum class Kind { kBroken, kAborted, kStopped };
  Kind kind = Kind::kBroken;
  bool created = false;  // etcd confirmed the watch on this stream
  std::string error;     // kBroken: why
};

class WatchLoop {
 public:
  explicit WatchLoop(std::shared_ptr<Shared> shared)
      : shared_(std::move(shared)),
        config_(shared_->config),
        next_revision_(config_.start_revision),
        rng_(std::random_device{}()) {}

  void Run() {
    const size_t n = config_.endpoints.size();
    size_t ep = config_.first_endpoint % n;
    size_t failed_in_row = 0;                 // attempts since a stream last worked
    std::deque<std::string> recent_failures;  // the last n, for the Unavailable message
    Ms backoff = config_.min_backoff;
    while (!shared_->stopping.load()) {
      const auto started = std::chrono::steady_clock::now();
      const StreamEnd end = RunStream(config_.endpoints[ep]);
      if (end.kind != StreamEnd::Kind::kBroken || shared_->stopping.load()) {
        return;
      }
      const std::string& url = config_.endpoints[ep].url;
      spdlog::debug("etcd watch \"{}\": {}: {}; reconnecting from revision {}", config_.prefix, url,
                    end.error, next_revision_);
      if (end.created) {
        failed_in_row = 0;
        recent_failures.clear();
      } else {
        ++failed_in_row;
      }
      recent_failures.push_back(url + ": " + end.error);
      if (recent_failures.size() > n) {
        recent_failures.pop_front();
      }
      // "Unavailable" means every endpoint failed: one member going away is not an outage as
      // long as the next one takes the watch over.
      if (!outage_reported_ && failed_in_row >= n) {
        outage_reported_ = true;
        WatchUpdate update;
        update.status = Unavailable(OutageMessage(recent_failures));
        Deliver(std::move(update));
      }
      ep = (ep + 1) % n;
      // A stream that had been up for a while was healthy: try the next member at once. Anything
      // else backs off (with jitter, so many watchers do not reconnect in lockstep).
      const bool was_healthy =
          end.created && std::chrono::steady_clock::now() - started >= std::chrono::seconds(1);
      if (was_healthy) {
        backoff = config_.min_backoff;
        continue;
      }
      std::uniform_int_distribution<int64_t> jitter(backoff.count() / 2, backoff.count());
      Sleep(Ms(jitter(rng_)));
      backoff = std::min(backoff * 2, config_.max_backoff);
    }
  }

 private:
  std::string OutageMessage(const std::deque<std::string>& failures) const {
    std::string msg = "etcd watch \"" + config_.prefix + "\": no endpoint reachable (";
    for (size_t i = 0; i < failures.size(); ++i) {
      msg += (i ? "; " : "") + failures[i];
    }
    msg += "); retrying from revision " + std::to_string(next_revision_);
    return msg;
  }

  void Sleep(Ms delay) {
    std::unique_lock lock(shared_->mu);
    shared_->cv.wait_for(lock, delay, [this] { return shared_->stopping.load(); });
  }

  void Deliver(WatchUpdate update) {
    if (!shared_->stopping.load()) {
      config_.callback(std::move(update));
    }
  }

  static StreamEnd Broken(std::string error, bool created) {
    StreamEnd end;
    end.kind = StreamEnd::Kind::kBroken;
    end.error = std::move(error);
    end.created = created;
    return end;
  }

  static StreamEnd Stopped() {
    StreamEnd end;
    end.kind = StreamEnd::Kind::kStopped;
    return end;
  }

  StreamEnd RunStream(const Endpoint& endpoint) {
    HttpConnection conn(endpoint);
    ActiveConnection active(*shared_, &conn);
    if (!active.registered()) {
      return Stopped();
    }
    if (beast::error_code ec = conn.Connect(config_.connect_timeout)) {
      return Broken("connect: " + Describe(ec), false);
    }
    conn.EnableTcpKeepAlive();

    Request req(http::verb::post, "/v3/watch", 11);
    req.set(http::field::host, endpoint.host_header);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "beacon-etcd");
    // gRPC metadata "hasleader" (clientv3's WithRequireLeader): a member without a leader
    // refuses to create the watch, and ends an existing one with "no leader" after about three
    // election timeouts, instead of keeping a partitioned member's watch open and silent. The
    // gateway forwards Grpc-Metadata-* headers as gRPC metadata.
    req.set("Grpc-Metadata-hasleader", "true");
    req.body() = WatchCreateRequestJson(config_.prefix, next_revision_, config_.progress_notify);
    req.prepare_payload();
    if (beast::error_code ec = conn.Write(req, config_.request_timeout)) {
      return Broken("write: " + Describe(ec), false);
    }

    JsonObjectSplitter splitter;
    Status framing;
    // The parser keeps a reference to the callback, so the callback is declared first.
    auto on_chunk = [&](std::uint64_t, std::string_view data, beast::error_code&) {
      if (framing.ok()) {
        framing = splitter.Feed(data);
      }
      return data.size();
    };
    ResponseParser parser;
    parser.body_limit(boost::none);  // the body of a watch never ends
    parser.on_chunk_body(on_chunk);
    if (beast::error_code ec = conn.ReadHeader(parser, config_.request_timeout)) {
      return Broken("read: " + Describe(ec), false);
    }
    if (parser.get().result() != http::status::ok) {
      // Not a stream: read the (short) error body for the message.
      const int code = parser.get().result_int();
      beast::error_code ec = conn.Read(parser, config_.request_timeout);
      std::string body = parser.get().body();
      if (auto json = splitter.Next()) {
        body = *json;
      }
      auto err = ParseGatewayError(body);
      return Broken("HTTP " + std::to_string(code) + ": " +
                        (err ? err->message : (ec ? Describe(ec) : body.substr(0, 200))),
                    false);
    }

    bool created = false;
    for (;;) {
      const beast::error_code ec = conn.ReadSome(parser, std::nullopt);
      // Deliver every complete message that arrived, even when the read then failed.
      while (std::optional<std::string> json = splitter.Next()) {
        if (shared_->stopping.load()) {
          return Stopped();
        }
        Result<WatchMessage> msg = ParseWatchMessage(*json);
        if (!msg.ok()) {
          return Broken(msg.status().message(), created);
        }
        if (msg->error) {
          return Broken("etcd: " + msg->error->message, created);
        }
        if (msg->canceled) {
          if (msg->compact_revision > 0) {
            WatchUpdate update;
            update.status = Aborted("etcd watch \"" + config_.prefix + "\": revision " +
                                    std::to_string(next_revision_) +
                                    " has been compacted; history starts at revision " +
                                    std::to_string(msg->compact_revision));
            update.header_revision = msg->header_revision;
            update.compact_revision = msg->compact_revision;
            Deliver(std::move(update));
            StreamEnd end;
            end.kind = StreamEnd::Kind::kAborted;
            return end;
          }
          return Broken("watch canceled: " + msg->cancel_reason, created);
        }
        if (msg->created) {
          created = true;
          if (next_revision_ == 0) {
            next_revision_ = msg->header_revision + 1;
          }
          if (outage_reported_) {
            // The outage is over. Say so with an empty update; its revision is what has been
            // delivered so far, not the created header's (events up to that may still come).
            outage_reported_ = false;
            WatchUpdate update;
            update.header_revision = next_revision_ - 1;
            Deliver(std::move(update));
          }
          continue;  // otherwise nothing to deliver: "created" is a greeting, not news
        }
        if (!msg->events.empty()) {
          next_revision_ = msg->events.back().kv.mod_revision + 1;
        } else {
          next_revision_ = std::max(next_revision_, msg->header_revision + 1);
        }
        WatchUpdate update;
        update.events = std::move(msg->events);
        update.header_revision = msg->header_revision;
        Deliver(std::move(update));
      }
      if (shared_->stopping.load()) {
        return Stopped();
      }
      if (ec) {
        return Broken("read: " + Describe(ec), created);
      }
      if (!framing.ok()) {
        return Broken(framing.message(), created);
      }
      if (parser.is_done()) {
        return Broken("etcd ended the watch stream", created);
      }
    }
  }

  std::shared_ptr<Shared> shared_;
  const WatchConfig& config_;     // lives in *shared_
  int64_t next_revision_;         // where a new stream starts (0: "now")
  bool outage_reported_ = false;  // an Unavailable update went out and no stream worked since
  std::mt19937_64 rng_;
};

class WatchImpl final : public Watch {
 public:
  explicit WatchImpl(WatchConfig config)
      : shared_(std::make_shared<Shared>(std::move(config))),
        thread_([shared = shared_] { WatchLoop(shared).Run(); }) {}

  ~WatchImpl() override {
    shared_->stopping.store(true);
    {
      std::lock_guard lock(shared_->mu);
      if (shared_->active != nullptr) {
        shared_->active->Stop();
      }
    }
    shared_->cv.notify_all();
    if (thread_.get_id() == std::this_thread::get_id()) {
      // Destroyed by its own callback: joining would deadlock. The thread owns the shared state
      // and exits as soon as the callback returns, without calling it again.
      thread_.detach();
    } else {
      thread_.join();
    }
  }

  WatchImpl(const WatchImpl&) = delete;
  WatchImpl& operator=(const WatchImpl&) = delete;

 private:
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Watch> StartWatch(WatchConfig config) {
  return std::make_unique<WatchImpl>(std::move(config));
}

}  // namespace beacon::etcd::internal
