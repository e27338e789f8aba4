// Gateway codec: etcd v3 JSON-gateway messages <-> the types of client.h. Pure functions, no
// sockets (STYLE.md section 6), so every quirk of the wire format is unit-tested without etcd.
//
// Wire facts this file encodes (etcd 3.4, grpc-gateway v1):
//   - bytes fields (key, value, range_end) are base64 (standard alphabet, padded);
//   - int64/uint64 fields come back as JSON strings ("revision":"42"); we accept numbers too;
//   - fields at their zero value are omitted (no "kvs" for an empty range, no "value" for "",
//     no "type" for a PUT event, no "succeeded" for a failed txn);
//   - unary errors are {"error":"...","message":"...","code":<grpc code>} with an HTTP status
//     derived from the gRPC code; errors inside a stream are {"error":{"grpc_code":..,
//     "http_code":..,"message":..,"http_status":..}};
//   - streaming endpoints (/v3/watch, /v3/lease/keepalive) answer with a chunked body of
//     {"result":{...}} objects, newline-separated.
// Internal to src/etcd: not part of the contract the rest of the tree codes against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "etcd/client.h"

namespace beacon::etcd::internal {

// ---- bytes -------------------------------------------------------------------------------------

std::string Base64Encode(std::string_view in);
// InvalidArgument on a character outside the standard alphabet or bad padding.
Result<std::string> Base64Decode(std::string_view in);

// The range_end that selects every key starting with `prefix` (etcd's GetPrefixRangeEnd): the
// prefix with its last byte below 0xff incremented and everything after it dropped. "\0" (all
// keys from `key` on) when no such byte exists.
std::string PrefixRangeEnd(std::string_view prefix);

// ---- requests (JSON bodies) --------------------------------------------------------------------

// An empty `prefix` means every key: etcd spells that key="\0", range_end="\0".
std::string RangeRequestJson(std::string_view key, bool prefix, bool serializable);
std::string TxnRequestJson(const std::vector<Compare>& compares, const std::vector<Op>& success,
                           const std::vector<Op>& failure);
std::string LeaseGrantRequestJson(int64_t ttl_seconds);
std::string LeaseIdRequestJson(int64_t lease);  // keepalive and revoke
std::string WatchCreateRequestJson(std::string_view prefix, int64_t start_revision,
                                   bool progress_notify);

// True when `ops` contains a put or delete (a txn that must not be replayed blindly).
bool HasWrites(const std::vector<Op>& ops);

// ---- responses ---------------------------------------------------------------------------------

// A gateway error: the gRPC code (0 when unknown) and etcd's message ("etcdserver: ...").
struct GatewayError {
  int grpc_code = 0;
  std::string message;
};

// The error of an unsuccessful unary response body, or nullopt when the body is not a gateway
// error object (then the caller falls back to the HTTP status line).
std::optional<GatewayError> ParseGatewayError(std::string_view body);

// Maps an etcd error to our code set (NotFound for a missing lease, Unavailable for the
// leaderless/overloaded family, ...). `context` prefixes the message.
Status StatusFromGatewayError(const GatewayError& error, std::string_view context);

// True for errors that prove the request was rejected before etcd proposed it through Raft, so
// sending it to another member cannot apply it twice ("no leader", "not leader", ...).
bool IsRejectedBeforeProposal(const GatewayError& error);
// True for errors after which another member may do better: the family above plus timeouts
// and other gRPC Unavailable/DeadlineExceeded answers.
bool IsRetryableOnOtherMember(const GatewayError& error);

Result<RangeResult> ParseRangeResponse(std::string_view body);
// `success`/`failure`: the ops that were sent, to line responses up with the range ops.
Result<TxnResult> ParseTxnResponse(std::string_view body, const std::vector<Op>& success,
                                   const std::vector<Op>& failure);
// The granted lease ID.
Result<int64_t> ParseLeaseGrantResponse(std::string_view body);
// Remaining TTL in seconds; NotFound when etcd reports TTL <= 0 (expired or revoked lease).
Result<int64_t> ParseLeaseKeepAliveResponse(std::string_view body, int64_t lease);

// One message of the /v3/watch stream.
struct WatchMessage {
  bool created = false;
  bool canceled = false;
  int64_t header_revision = 0;
  int64_t compact_revision = 0;
  std::string cancel_reason;
  std::vector<WatchEvent> events;
  // Set when the message is a stream error ({"error":{...}}) rather than a result.
  std::optional<GatewayError> error;
};
Result<WatchMessage> ParseWatchMessage(std::string_view json);

// ---- stream framing ----------------------------------------------------------------------------

// Splits a byte stream into top-level JSON objects. The gateway separates them with newlines,
// but we count braces outside strings instead so that framing does not depend on whitespace.
// Not thread-safe; one per stream.
class JsonObjectSplitter {
 public:
  explicit JsonObjectSplitter(size_t max_object_bytes = size_t{256} << 20)
      : max_object_bytes_(max_object_bytes) {}

  // Appends bytes as they arrive. ResourceExhausted when one object outgrows the limit;
  // InvalidArgument when bytes outside an object are neither whitespace nor '{'.
  Status Feed(std::string_view bytes);
  // The next complete object, if one has arrived.
  std::optional<std::string> Next();

 private:
  std::string buffer_;
  size_t scan_ = 0;          // bytes of buffer_ already scanned
  size_t object_start_ = 0;  // where the object being scanned starts
  int depth_ = 0;            // brace depth at scan_ (0: between objects)
  bool in_string_ = false;
  bool escaped_ = false;
  std::deque<std::string> ready_;  // complete objects, oldest first
  size_t max_object_bytes_;
};

}  // namespace beacon::etcd::internal
