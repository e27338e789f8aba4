// HttpClient: a small blocking HTTP/1.1 client for integration tests (Boost.Beast underneath).
//
// One keep-alive connection, opened on first use and reused; if the server closed it while idle,
// the request is sent once more on a new connection. Every network step has a deadline (30 s by
// default), so a test that talks to a stuck server fails instead of hanging.
//
// Not thread-safe: use one HttpClient per thread. For a blocking query that must run while the test
// thread makes writes, use RequestAsync() (its own connection on its own thread) or a second client
// in a std::thread.
//
//   HttpClient client("127.0.0.1", port);
//   Response r = client.Request("PUT", "/v1/agent/service/register", R"({"Name":"web"})");
//   ASSERT_EQ(r.status, 200) << r.ToString();
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace beacon::testutil {

struct Response {
  // HTTP status code, or 0 when no response was received (then `error` says why).
  int status = 0;
  std::string body;
  // Header names lower-cased; repeated headers joined with ", ".
  std::map<std::string, std::string> headers;
  // Transport failure ("connect: Connection refused", "read: timeout"); empty when status != 0.
  std::string error;

  // Value of header `name` (any case), or "" when absent.
  std::string Header(std::string_view name) const;
  // "200 <body>" or "error: <why>", for test failure messages.
  std::string ToString() const;
};

class HttpClient {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout = std::chrono::seconds(30);

  // Does not connect yet. `host` is an IP literal or a name to resolve (e.g. "127.0.0.1").
  // `timeout` bounds each of connect, write and read separately.
  HttpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout = kDefaultTimeout);
  ~HttpClient();

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `method target` with `body` (Content-Length is set; Content-Type is only sent when given
  // in `headers`) and waits for the whole response. Never throws for network errors: they come
  // back as status 0 with `error` set, and the connection is dropped.
  Response Request(std::string method, std::string target, std::string body = "",
                   std::map<std::string, std::string> headers = {});

  // Starts the same request on a fresh connection on its own thread; get() the future for the
  // response. Lets a test park a blocking query and then make the write that should wake it.
  // The future's destructor waits for the request (bounded by the timeout).
  std::future<Response> RequestAsync(std::string method, std::string target, std::string body = "",
                                     std::map<std::string, std::string> headers = {}) const;

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }

 private:
  class Connection;

  std::string host_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Connection> conn_;  // null until first use and after a failure
};

// One-shot helpers on a new connection to 127.0.0.1:`port`.
Response HttpGet(uint16_t port, std::string target);
Response HttpPut(uint16_t port, std::string target, std::string body = "");

}  // namespace beacon::testutil
