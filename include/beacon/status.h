// Status and Result<T> of the Beacon client library: expected failures as values (STYLE.md
// section 3, after leveldb's include/leveldb/status.h and abseil's StatusOr).
//
// The client keeps its own copy in namespace beacon::client so that the installed headers stand
// alone and a program may link the client next to Beacon's server libraries (whose Status lives
// in beacon::) without two definitions of one name.
//
// A Status is OK (no allocation, the common case) or a canonical code plus a message. Pick the
// code by what the caller should do next:
//   kInvalidArgument     the request is wrong; change it (bad flag, agent answered 400)
//   kNotFound            the named service/check does not exist (agent answered 404)
//   kUnavailable         the agent could not be reached or answered 5xx-unavailable; retry later
//   kDeadlineExceeded    no answer within the request's timeout; retry later
//   kCancelled           the caller asked to stop (QueryOptions::stop)
//   kInternal            the agent answered 500, or our own bug
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace beacon::client {

enum class StatusCode {
  kOk = 0,
  kCancelled,        // the caller's stop token fired
  kInvalidArgument,  // bad input: the caller must change the request
  kNotFound,         // the named thing does not exist
  kAlreadyExists,
  kPermissionDenied,    // the agent answered 403 (ACL)
  kFailedPrecondition,  // do not retry until state changes
  kAborted,             // CAS/index mismatch (409): redo the read-modify-write
  kUnavailable,         // agent unreachable or overloaded: retry with backoff
  kDeadlineExceeded,    // no answer in time
  kResourceExhausted,   // a limit was hit (413, 429)
  kUnimplemented,
  kInternal,  // the agent answered 500, or a bug
};

// "OK", "InvalidArgument", ... (the enumerator without its k).
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // The message as given, without the code name. Empty for OK.
  const std::string& message() const;
  // "<CodeName>: <message>", or "OK".
  std::string ToString() const;
  // The same code with "<context>: <message>". OK stays OK.
  Status WithContext(std::string_view context) const;

  bool operator==(const Status& other) const {
    return code() == other.code() && message() == other.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;  // shared: copying an error is cheap; OK costs nothing
};

inline Status CancelledError(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status InvalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Result<T>: a value or a non-OK Status (std::expected is C++23).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; OK when a value is held.
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

}  // namespace beacon::client
