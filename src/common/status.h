// Status and Result<T>: expected failures as values (STYLE.md section 3).
//
// A Status is either OK (no allocation, the common case) or a canonical code plus a message.
// Codes are chosen by what the caller should do next; each transport maps them to its own
// outside-world form in exactly one place (HTTP status in src/http, exit code in src/cli).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace beacon {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input: caller must change the request
  kNotFound,            // named thing does not exist
  kAlreadyExists,
  kFailedPrecondition,  // do not retry until state changes (e.g. not a TTL check)
  kAborted,             // CAS/index mismatch: redo read-modify-write
  kUnavailable,         // store or peer down: retry later
  kDeadlineExceeded,
  kResourceExhausted,   // a limit was hit (body size, disk full)
  kUnimplemented,
  kInternal,            // our bug or an unexpected environment failure
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // The message as given, without the code name. Empty for OK.
  const std::string& message() const;
  // "<CodeName>: <message>" for logs and tests.
  std::string ToString() const;

  // Returns a status with the same code and "<context>: <message>".
  Status WithContext(std::string_view context) const;

  bool operator==(const Status& other) const {
    return code() == other.code() && message() == other.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;  // shared: copying an error is cheap, OK costs nothing
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Result<T>: a value or a non-OK Status. (std::expected is C++23; GCC 12 lacks it.)
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: !ok() for a meaningful error; returns OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace beacon

#define BEACON_STATUS_CONCAT_INNER_(a, b) a##b
#define BEACON_STATUS_CONCAT_(a, b) BEACON_STATUS_CONCAT_INNER_(a, b)

// Returns early from the enclosing function with the status if it is not OK.
#define BEACON_RETURN_IF_ERROR(expr)              \
  do {                                            \
    ::beacon::Status beacon_status_ = (expr);     \
    if (!beacon_status_.ok()) return beacon_status_; \
  } while (0)

// `BEACON_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a Result or returns its status.
#define BEACON_ASSIGN_OR_RETURN(lhs, rexpr) \
  BEACON_ASSIGN_OR_RETURN_IMPL_(BEACON_STATUS_CONCAT_(beacon_result_, __LINE__), lhs, rexpr)
#define BEACON_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                  \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
