// gRPC probe: grpc.health.v1.Health/Check over HTTP/2 (consul-api.md section 5; Consul's
// CheckGRPC).
//
// Why a minimal HTTP/2 client of our own and not Debian's gRPC C++ library (libgrpc++-dev):
// gRPC C++ runs its own completion-queue and timer threads and owns its sockets, so every check
// would leave the agent's loops and the "no thread per check, everything on the loops, one
// deadline per attempt" rule (issue #4, STYLE.md section 5) could not hold; it would also add a
// large dependency (grpc, protobuf, abseil, c-ares) to every build for one unary call with a
// one-field request. A health check needs exactly one stream: we send the connection preface,
// our SETTINGS, one HEADERS frame (literal fields, no indexing: :method POST, :scheme,
// :path /grpc.health.v1.Health/Check, :authority, content-type application/grpc, te trailers,
// grpc-timeout) and one DATA frame (5-byte gRPC message prefix + HealthCheckRequest{service}
// encoded by hand: field 1, length-delimited), all in one write. Then we read frames: SETTINGS and
// PING are acknowledged, HEADERS/CONTINUATION blocks are decoded with a full HPACK decoder (static
// and dynamic table, Huffman; hpack.h), DATA is collected (bounded), RST_STREAM and GOAWAY end the
// call. The verdict: HTTP :status 200, grpc-status 0 and HealthCheckResponse.status (field 1,
// varint) == SERVING(1) is passing; anything else is critical with the reason. Flow control never
// matters: our request is far below the 65,535-byte initial window and we read at most a small
// bounded response. GRPCUseTLS runs the same exchange over TLS with ALPN "h2".
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "health/hpack.h"
#include "health/probe.h"

namespace beacon::health {

namespace h2 {

enum FrameType : uint8_t {
  kData = 0x0,
  kHeaders = 0x1,
  kPriority = 0x2,
  kRstStream = 0x3,
  kSettings = 0x4,
  kPushPromise = 0x5,
  kPing = 0x6,
  kGoAway = 0x7,
  kWindowUpdate = 0x8,
  kContinuation = 0x9,
};
inline constexpr uint8_t kFlagEndStream = 0x1;
inline constexpr uint8_t kFlagAck = 0x1;
inline constexpr uint8_t kFlagEndHeaders = 0x4;
inline constexpr uint8_t kFlagPadded = 0x8;
inline constexpr uint8_t kFlagPriority = 0x20;
inline constexpr size_t kFrameHeaderSize = 9;
inline constexpr uint32_t kMaxFrameSize = 16384;  // the default SETTINGS_MAX_FRAME_SIZE we keep
inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

void AppendFrame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload,
                 std::string* out);

}  // namespace h2

// HealthCheckRequest{service} in protobuf wire format (field 1, length-delimited).
std::string EncodeHealthCheckRequest(std::string_view service);
// HealthCheckResponse.status (field 1, varint); unknown fields are skipped. InvalidArgument on
// malformed protobuf.
Result<int> DecodeHealthCheckResponse(std::string_view message);
// "SERVING", "NOT_SERVING", ... or the number.
std::string ServingStatusName(int status);
// gRPC status code names ("UNIMPLEMENTED", ...).
std::string GrpcCodeName(int code);

// The whole first flight of the client for one Check call.
std::string BuildGrpcRequest(std::string_view authority, bool tls, std::string_view service,
                             std::chrono::nanoseconds timeout);

// The response side of one call on stream 1, fed with the bytes the server sends. Pure: tests
// drive it with recorded or hand-made frames.
class GrpcCall {
 public:
  // Consumes `bytes`; appends to `reply` what must be sent back (SETTINGS/PING acks). An error
  // is a connection-level protocol failure: the attempt ends critical with it.
  Status Feed(std::string_view bytes, std::string* reply);
  // True once stream 1 ended: END_STREAM, RST_STREAM or GOAWAY.
  bool done() const { return done_; }
  // The verdict. Only meaningful once done() (a call that never finished is a timeout).
  ProbeResult Verdict(std::string_view target) const;

 private:
  Status OnFrame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload,
                 std::string* reply);
  Status OnHeaderBlock(bool end_stream);

  std::string in_;            // unparsed bytes
  bool got_settings_ = false;  // the server preface (a SETTINGS frame) arrived
  hpack::Decoder decoder_;
  std::string block_;        // header block being collected (HEADERS + CONTINUATION)
  bool block_open_ = false;
  uint32_t block_stream_ = 0;
  bool block_end_stream_ = false;
  int header_blocks_ = 0;
  int http_status_ = 0;
  int grpc_status_ = -1;  // -1 = not received
  std::string grpc_message_;
  std::string data_;  // DATA payload of stream 1 (bounded)
  bool done_ = false;
  std::string failure_;  // RST_STREAM / GOAWAY reason
};

GrpcSpec MakeGrpcSpec(const catalog::CheckDefinition& def, std::chrono::nanoseconds timeout);

boost::asio::awaitable<ProbeResult> RunGrpcProbe(std::shared_ptr<const ProbeSpec> spec,
                                                 std::shared_ptr<TlsContexts> tls,
                                                 boost::asio::any_io_executor executor);

}  // namespace beacon::health
