// FakeAgent: an HttpTransport that plays a Consul agent's health endpoint in memory, for tests
// of the client and the cache without sockets.
//
// It serves GET /v1/health/service/<name> from a JSON body the test sets, with X-Consul-Index, and
// implements blocking: a request whose index= is not below the current index parks until
// SetHealth() moves the index, the request's stop token fires, or its wait= passes (real time,
// so keep waits short in tests). SetDown(true) makes every request fail as if the agent were
// unreachable. Any other target gets the canned answer set with Respond(), else 404.
// Every request is recorded. Thread-safe.
#pragma once

#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "beacon/transport.h"

namespace beacon::client::testing {

class FakeAgent final : public HttpTransport {
 public:
  // Sets the health answer and its index, waking parked queries whose index is below it.
  void SetHealth(std::string body, uint64_t index) {
    std::lock_guard lock(mu_);
    health_body_ = std::move(body);
    index_ = index;
    cv_.notify_all();
  }
  // false: answer blocking queries at once, as an agent that ignores index= would.
  void SetBlocking(bool blocking) {
    std::lock_guard lock(mu_);
    blocking_ = blocking;
  }
  void SetDown(bool down) {
    std::lock_guard lock(mu_);
    down_ = down;
    cv_.notify_all();
  }
  // A canned answer for requests whose target starts with `prefix` (longest prefix wins).
  void Respond(std::string prefix, HttpResponse response) {
    std::lock_guard lock(mu_);
    canned_[std::move(prefix)] = std::move(response);
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  size_t health_requests() const {
    std::lock_guard lock(mu_);
    return health_requests_;
  }
  size_t parked() const {
    std::lock_guard lock(mu_);
    return parked_;
  }

  Result<HttpResponse> RoundTrip(const HttpRequest& request, std::stop_token stop) override {
    std::unique_lock lock(mu_);
    requests_.push_back(request);
    if (down_) {
      return UnavailableError(request.method + " " + request.target +
                              ": connect 127.0.0.1:1: Connection refused");
    }
    if (request.target.rfind("/v1/health/service/", 0) != 0) {
      const HttpResponse* best = nullptr;
      size_t best_len = 0;
      for (const auto& [prefix, response] : canned_) {
        if (request.target.rfind(prefix, 0) == 0 && prefix.size() >= best_len) {
          best = &response;
          best_len = prefix.size();
        }
      }
      if (best != nullptr) {
        return *best;
      }
      HttpResponse r;
      r.status = 404;
      r.body = "Invalid URL path: not a recognized HTTP API endpoint";
      return r;
    }
    ++health_requests_;
    uint64_t wait_index = Param(request.target, "index");
    uint64_t wait_ms = Param(request.target, "wait");  // the client sends "<n>ms"
    if (blocking_ && wait_index > 0 && index_ <= wait_index) {
      auto deadline = std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(wait_ms > 0 ? wait_ms : 300'000);
      ++parked_;
      cv_.wait_until(lock, stop, deadline, [&] { return index_ > wait_index || down_; });
      --parked_;
      if (stop.stop_requested()) {
        return CancelledError("cancelled");
      }
      if (down_) {
        return UnavailableError("connection reset by peer");
      }
    }
    HttpResponse r;
    r.status = 200;
    r.body = health_body_;
    r.headers["x-consul-index"] = std::to_string(index_);
    r.headers["x-consul-knownleader"] = "true";
    r.headers["x-consul-lastcontact"] = "0";
    return r;
  }

  // The number after "<name>=" in the query of `target` (digits only), 0 when absent.
  static uint64_t Param(const std::string& target, const std::string& name) {
    size_t q = target.find('?');
    if (q == std::string::npos) {
      return 0;
    }
    std::string query = "&" + target.substr(q + 1);
    size_t at = query.find("&" + name + "=");
    if (at == std::string::npos) {
      return 0;
    }
    const char* begin = query.data() + at + name.size() + 2;
    uint64_t v = 0;
    std::from_chars(begin, query.data() + query.size(), v);
    return v;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::string health_body_ = "[]";
  uint64_t index_ = 1;
  bool down_ = false;
  bool blocking_ = true;
  size_t parked_ = 0;
  size_t health_requests_ = 0;
  std::map<std::string, HttpResponse> canned_;
  std::vector<HttpRequest> requests_;
};

// A health answer with one instance per id, all passing, on node "n1" at 10.0.0.<k>.
inline std::string HealthBody(const std::vector<std::string>& ids, std::string status = "passing") {
  std::string body = "[";
  int k = 1;
  for (const std::string& id : ids) {
    if (k > 1) {
      body += ",";
    }
    body += R"({"Node":{"Node":"n1","Address":"10.0.0.)" + std::to_string(k) +
            R"("},"Service":{"ID":")" + id + R"(","Service":"web","Port":)" +
            std::to_string(8000 + k) + R"(,"Weights":{"Passing":1,"Warning":1}},)" +
            R"("Checks":[{"CheckID":"service:)" + id + R"(","Status":")" + status + R"("}]})";
    ++k;
  }
  return body + "]";
}

}  // namespace beacon::client::testing
