#include "http/message.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace beacon::http {

namespace {
std::atomic<int> body_files{0};  // SharedBody files open now, across every loop

// A sealed memfd holding `bytes`, or -1.
int MakeBodyFile(const std::string& bytes) {
  int fd = memfd_create("beacon-body", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  // Nothing can change or resize it any more: every response sends exactly these bytes.
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}
}  // namespace

SharedBody::SharedBody(std::string bytes) : bytes_(std::move(bytes)) {
  if (bytes_.size() < kFileMinBytes) fd_.store(kNoFile, std::memory_order_relaxed);
}

SharedBody::~SharedBody() {
  const int fd = fd_.load(std::memory_order_acquire);
  if (fd < 0) return;
  ::close(fd);
  body_files.fetch_sub(1);
}

int SharedBody::FileForSend() const {
  const int fd = fd_.load(std::memory_order_acquire);
  if (fd != -1) return file();  // made, or known not to be had
  if (sends_.fetch_add(1, std::memory_order_relaxed) < kCopySends) return -1;
  int made = body_files.fetch_add(1) < kMaxFiles ? MakeBodyFile(bytes_) : -1;
  if (made < 0) {
    body_files.fetch_sub(1);
    made = kNoFile;
  }
  int expected = -1;
  if (!fd_.compare_exchange_strong(expected, made, std::memory_order_acq_rel) && made >= 0) {
    // Another loop made (or gave up on) it first: keep theirs.
    ::close(made);
    body_files.fetch_sub(1);
  }
  return file();
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<QueryParams> QueryParams::Parse(std::string_view query) {
  QueryParams q;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto key = PercentDecode(part.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
    if (!key || !value) return InvalidArgument("invalid URL escape in query string");
    q.items_.emplace_back(std::move(*key), std::move(*value));
  }
  return q;
}

bool QueryParams::Has(std::string_view key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return true;
  }
  return false;
}

std::optional<std::string> QueryParams::Get(std::string_view key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::vector<std::string> QueryParams::GetAll(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : items_) {
    if (k == key) out.push_back(v);
  }
  return out;
}

std::string HttpRequest::Header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string() : it->second;
}

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kAborted: return 409;
    // Consul answers 500 for state errors such as "does not have associated TTL" (contract 4.8).
    case StatusCode::kFailedPrecondition: return 500;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    // Limits hit by a request answer 413/431 where they are detected; a store out of space is
    // 507 Insufficient Storage.
    case StatusCode::kResourceExhausted: return 507;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

HttpResponse ErrorResponse(const Status& status) {
  return HttpResponse::Text(HttpStatusFor(status), status.message());
}

}  // namespace beacon::http
