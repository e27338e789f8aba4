// HTTP request and response as the API handlers see them, independent of the parser.
//
// A request's path is already percent-decoded (including %2F, contract 1.1) and its query string
// split into decoded key/value pairs in order. A response body is either owned or shared: shared
// bodies are immutable encodings that many responses may send at once without copying.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace beacon::http {

class QueryParams {
 public:
  // Parses `a=1&b=&c` (decoding %XX and '+'). Malformed escapes are InvalidArgument.
  static Result<QueryParams> Parse(std::string_view query);

  bool Has(std::string_view key) const;
  // The first value of `key`, or nullopt when absent ("" when present without a value).
  std::optional<std::string> Get(std::string_view key) const;
  // Every value of a repeatable key (`tag=a&tag=b`), in order.
  std::vector<std::string> GetAll(std::string_view key) const;

  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Decodes %XX escapes (and '+' as space when `plus_is_space`). nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space);

struct HttpRequest {
  std::string method;  // as sent, upper case ("GET", "PUT", ...)
  std::string target;  // raw request target
  std::string path;    // percent-decoded path without the query
  QueryParams query;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::string peer;  // "ip:port" of the client

  std::string Header(std::string_view lower_name) const;
};

// An immutable encoded body that many responses send at once (a cached read). A big one that is
// sent often also gets an in-memory file (memfd) that the server sends with sendfile(2): the
// kernel then hands the same pages to every connection instead of copying the bytes into each
// socket's buffers, as nginx does for a static file. For a 100-instance answer (~120 KB) that copy
// was about a third of the server's CPU per read. Making the file and dropping it cost about as
// much as 13-17 copying sends (~118 us against 7-9 us more per send, docs/PERFORMANCE.md), so a
// body is sent by copying its first kCopySends times and from its file after that: an answer that
// only its watchers get once per change never pays for a file, a hot read pays once.
class SharedBody {
 public:
  // Bodies at least this big get a file (when the system allows: see FileForSend()).
  static constexpr size_t kFileMinBytes = 64 * 1024;
  // Sends by copy before the file is made.
  static constexpr int kCopySends = 16;
  // At most this many files exist at once, so cached bodies never use up file descriptors;
  // past it, bodies are sent by copying.
  static constexpr int kMaxFiles = 256;

  explicit SharedBody(std::string bytes);
  ~SharedBody();
  SharedBody(const SharedBody&) = delete;
  SharedBody& operator=(const SharedBody&) = delete;

  const std::string& bytes() const { return bytes_; }
  // Counts one send of the body and says how to make it: a read-only descriptor holding exactly
  // bytes() to sendfile from, or -1 to send bytes() as usual (small body, one of its first
  // kCopySends sends, no memfd support, the cap reached, or a failed write). Thread-safe.
  int FileForSend() const;
  // The descriptor if the file exists, else -1; counts nothing.
  int file() const {
    const int fd = fd_.load(std::memory_order_acquire);
    return fd >= 0 ? fd : -1;
  }

 private:
  static constexpr int kNoFile = -2;  // fd_: a file was tried and cannot be had
  std::string bytes_;
  mutable std::atomic<int> sends_{0};
  mutable std::atomic<int> fd_{-1};
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;                                // used when shared_body is null
  std::shared_ptr<const SharedBody> shared_body;  // immutable, may be sent by many responses
  std::vector<std::pair<std::string, std::string>> headers;

  std::string_view Body() const { return shared_body ? shared_body->bytes() : body; }

  static HttpResponse Json(std::string body) {
    HttpResponse r;
    r.body = std::move(body);
    return r;
  }
  // A plain-text error or message (contract 1.3: errors are text, no JSON envelope).
  static HttpResponse Text(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::move(body);
    return r;
  }
  static HttpResponse Empty() {  // writes that return nothing: 200, empty body
    HttpResponse r;
    r.content_type.clear();
    return r;
  }
};

// The one place that maps a Status to an HTTP status code (STYLE.md section 3).
int HttpStatusFor(const Status& status);
HttpResponse ErrorResponse(const Status& status);

}  // namespace beacon::http
