#include "health/grpc_probe.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>

namespace beacon::health {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::string_view kCheckPath = "/grpc.health.v1.Health/Check";
constexpr uint32_t kStream = 1;  // the one stream a client opens first
// A HealthCheckResponse is two bytes; anything near this is not a health service.
constexpr size_t kMaxResponseData = 64 * 1024;
constexpr size_t kMaxHeaderBlock = 64 * 1024;
// Bytes read per attempt before we call the server broken (frames on other streams, endless
// PINGs...). The deadline bounds the time; this bounds the work.
constexpr size_t kMaxBytesRead = 1024 * 1024;

uint32_t Be24(const char* p) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(p[0])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(p[2]));
}
uint32_t Be32(const char* p) {
  return (Be24(p) << 8) | static_cast<uint32_t>(static_cast<uint8_t>(p[3]));
}
void PutBe32(uint32_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

Result<uint64_t> ReadVarint(std::string_view* in) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in->empty()) {
      return InvalidArgument("protobuf: truncated varint");
    }
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      return v;
    }
  }
  return InvalidArgument("protobuf: varint too long");
}

// Strips the padding of a PADDED DATA/HEADERS payload.
Result<std::string_view> Unpad(uint8_t flags, std::string_view payload) {
  if ((flags & h2::kFlagPadded) == 0) {
    return payload;
  }
  if (payload.empty()) {
    return InvalidArgument("padded frame without pad length");
  }
  const size_t pad = static_cast<uint8_t>(payload.front());
  payload.remove_prefix(1);
  if (pad > payload.size()) {
    return InvalidArgument("padding longer than the frame");
  }
  return payload.substr(0, payload.size() - pad);
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() &&
        std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

void h2::AppendFrame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload,
                     std::string* out) {
  const uint32_t len = static_cast<uint32_t>(payload.size());
  out->push_back(static_cast<char>(len >> 16));
  out->push_back(static_cast<char>(len >> 8));
  out->push_back(static_cast<char>(len));
  out->push_back(static_cast<char>(type));
  out->push_back(static_cast<char>(flags));
  PutBe32(stream_id & 0x7fffffffu, out);
  out->append(payload);
}

std::string EncodeHealthCheckRequest(std::string_view service) {
  std::string out;
  if (service.empty()) {
    return out;  // proto3: an empty string field is not sent
  }
  out.push_back(0x0a);  // field 1, wire type 2
  uint64_t len = service.size();
  while (len >= 0x80) {
    out.push_back(static_cast<char>((len & 0x7f) | 0x80));
    len >>= 7;
  }
  out.push_back(static_cast<char>(len));
  out.append(service);
  return out;
}

Result<int> DecodeHealthCheckResponse(std::string_view message) {
  int status = 0;  // proto3 default: UNKNOWN
  while (!message.empty()) {
    BEACON_ASSIGN_OR_RETURN(uint64_t key, ReadVarint(&message));
    const uint64_t field = key >> 3;
    const int wire = static_cast<int>(key & 7);
    switch (wire) {
      case 0: {
        BEACON_ASSIGN_OR_RETURN(uint64_t v, ReadVarint(&message));
        if (field == 1) {
          status = static_cast<int>(v);
        }
        break;
      }
      case 1:
        if (message.size() < 8) {
          return InvalidArgument("protobuf: truncated fixed64");
        }
        message.remove_prefix(8);
        break;
      case 2: {
        BEACON_ASSIGN_OR_RETURN(uint64_t len, ReadVarint(&message));
        if (len > message.size()) {
          return InvalidArgument("protobuf: truncated bytes field");
        }
        message.remove_prefix(len);
        break;
      }
      case 5:
        if (message.size() < 4) {
          return InvalidArgument("protobuf: truncated fixed32");
        }
        message.remove_prefix(4);
        break;
      default:
        return InvalidArgument(fmt::format("protobuf: unsupported wire type {}", wire));
    }
  }
  return status;
}

std::string ServingStatusName(int status) {
  switch (status) {
    case 0: return "UNKNOWN";
    case 1: return "SERVING";
    case 2: return "NOT_SERVING";
    case 3: return "SERVICE_UNKNOWN";
    default: return std::to_string(status);
  }
}

std::string GrpcCodeName(int code) {
  static constexpr std::string_view kNames[] = {
      "OK",           "CANCELED",          "UNKNOWN",      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",    "ALREADY_EXISTS", "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",  "DATA_LOSS",
      "UNAUTHENTICATED"};
  if (code >= 0 && static_cast<size_t>(code) < std::size(kNames)) {
    return std::string(kNames[code]);
  }
  return std::to_string(code);
}

std::string BuildGrpcRequest(std::string_view authority, bool tls, std::string_view service,
                             std::chrono::nanoseconds timeout) {
  std::string out(h2::kClientPreface);
  std::string settings;
  // SETTINGS_ENABLE_PUSH = 0: a health client never wants pushed streams.
  settings.push_back(0x00);
  settings.push_back(0x02);
  PutBe32(0, &settings);
  h2::AppendFrame(h2::kSettings, 0, 0, settings, &out);

  std::string block;
  hpack::EncodeLiteral(":method", "POST", &block);
  hpack::EncodeLiteral(":scheme", tls ? "https" : "http", &block);
  hpack::EncodeLiteral(":path", kCheckPath, &block);
  hpack::EncodeLiteral(":authority", authority, &block);
  hpack::EncodeLiteral("content-type", "application/grpc", &block);
  hpack::EncodeLiteral("te", "trailers", &block);
  // Tell the server our deadline (at most 8 digits, gRPC's wire rule).
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  hpack::EncodeLiteral("grpc-timeout",
                       ms < 100000000 ? fmt::format("{}m", std::max<int64_t>(ms, 1))
                                      : fmt::format("{}S", std::min<int64_t>(ms / 1000, 99999999)),
                       &block);
  hpack::EncodeLiteral("user-agent", "Consul Health Check", &block);
  h2::AppendFrame(h2::kHeaders, h2::kFlagEndHeaders, kStream, block, &out);

  const std::string message = EncodeHealthCheckRequest(service);
  std::string data;
  data.push_back(0);  // not compressed
  PutBe32(static_cast<uint32_t>(message.size()), &data);
  data += message;
  h2::AppendFrame(h2::kData, h2::kFlagEndStream, kStream, data, &out);
  return out;
}

Status GrpcCall::Feed(std::string_view bytes, std::string* reply) {
  in_.append(bytes);
  size_t pos = 0;
  if (!got_settings_ && in_.size() >= 5 && in_.compare(0, 5, "HTTP/") == 0) {
    return FailedPrecondition("server answered with HTTP/1.x, not HTTP/2");
  }
  while (in_.size() - pos >= h2::kFrameHeaderSize && !done_) {
    const char* p = in_.data() + pos;
    const uint32_t len = Be24(p);
    const uint8_t type = static_cast<uint8_t>(p[3]);
    const uint8_t flags = static_cast<uint8_t>(p[4]);
    const uint32_t stream = Be32(p + 5) & 0x7fffffffu;
    if (len > h2::kMaxFrameSize) {
      return FailedPrecondition(fmt::format("protocol error: frame of {} bytes", len));
    }
    if (in_.size() - pos < h2::kFrameHeaderSize + len) {
      break;
    }
    if (!got_settings_ && (type != h2::kSettings || (flags & h2::kFlagAck) != 0)) {
      return FailedPrecondition("protocol error: server did not start with SETTINGS");
    }
    BEACON_RETURN_IF_ERROR(
        OnFrame(type, flags, stream, std::string_view(p + h2::kFrameHeaderSize, len), reply));
    pos += h2::kFrameHeaderSize + len;
  }
  in_.erase(0, pos);
  return Status::Ok();
}

Status GrpcCall::OnFrame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload,
                         std::string* reply) {
  if (block_open_ && type != h2::kContinuation) {
    return FailedPrecondition("protocol error: header block interrupted");
  }
  switch (type) {
    case h2::kSettings:
      if (stream != 0 || payload.size() % 6 != 0) {
        return FailedPrecondition("protocol error: bad SETTINGS frame");
      }
      if ((flags & h2::kFlagAck) == 0) {
        got_settings_ = true;
        h2::AppendFrame(h2::kSettings, h2::kFlagAck, 0, {}, reply);
      }
      return Status::Ok();
    case h2::kPing:
      if (payload.size() != 8) {
        return FailedPrecondition("protocol error: bad PING frame");
      }
      if ((flags & h2::kFlagAck) == 0) {
        h2::AppendFrame(h2::kPing, h2::kFlagAck, 0, payload, reply);
      }
      return Status::Ok();
    case h2::kGoAway: {
      if (payload.size() < 8) {
        return FailedPrecondition("protocol error: bad GOAWAY frame");
      }
      const uint32_t last = Be32(payload.data()) & 0x7fffffffu;
      const uint32_t code = Be32(payload.data() + 4);
      if (last < kStream) {  // our stream was not processed
        done_ = true;
        failure_ = fmt::format("server sent GOAWAY (error code {}){}", code,
                               payload.size() > 8 ? ": " + std::string(payload.substr(8)) : "");
      }
      return Status::Ok();
    }
    case h2::kRstStream:
      if (payload.size() != 4) {
        return FailedPrecondition("protocol error: bad RST_STREAM frame");
      }
      if (stream == kStream) {
        done_ = true;
        failure_ = fmt::format("stream reset by server (error code {})", Be32(payload.data()));
      }
      return Status::Ok();
    case h2::kPushPromise:
      return FailedPrecondition("protocol error: PUSH_PROMISE although push is disabled");
    case h2::kHeaders: {
      if (stream == 0) {
        return FailedPrecondition("protocol error: HEADERS on stream 0");
      }
      BEACON_ASSIGN_OR_RETURN(std::string_view fragment, Unpad(flags, payload));
      if (flags & h2::kFlagPriority) {
        if (fragment.size() < 5) {
          return FailedPrecondition("protocol error: short HEADERS priority");
        }
        fragment.remove_prefix(5);
      }
      block_.assign(fragment);
      block_end_stream_ = (flags & h2::kFlagEndStream) != 0 && stream == kStream;
      if (stream != kStream) {
        // Not ours, but every block must still go through the decoder to keep its table right.
        block_end_stream_ = false;
      }
      block_stream_ = stream;
      if (flags & h2::kFlagEndHeaders) {
        return OnHeaderBlock(block_end_stream_);
      }
      block_open_ = true;
      return Status::Ok();
    }
    case h2::kContinuation:
      if (!block_open_ || stream != block_stream_) {
        return FailedPrecondition("protocol error: unexpected CONTINUATION");
      }
      if (block_.size() + payload.size() > kMaxHeaderBlock) {
        return FailedPrecondition("protocol error: header block too large");
      }
      block_.append(payload);
      if (flags & h2::kFlagEndHeaders) {
        block_open_ = false;
        return OnHeaderBlock(block_end_stream_);
      }
      return Status::Ok();
    case h2::kData: {
      if (stream == 0) {
        return FailedPrecondition("protocol error: DATA on stream 0");
      }
      if (stream != kStream) {
        return Status::Ok();
      }
      BEACON_ASSIGN_OR_RETURN(std::string_view data, Unpad(flags, payload));
      if (data_.size() + data.size() > kMaxResponseData) {
        return FailedPrecondition("response message too large for a health check");
      }
      data_.append(data);
      if (flags & h2::kFlagEndStream) {
        done_ = true;
      }
      return Status::Ok();
    }
    default:  // PRIORITY, WINDOW_UPDATE and unknown extension frames need nothing from us
      return Status::Ok();
  }
}

Status GrpcCall::OnHeaderBlock(bool end_stream) {
  std::vector<hpack::HeaderField> fields;
  Status s = decoder_.Decode(block_, &fields);
  block_.clear();
  if (!s.ok()) {
    return FailedPrecondition("protocol error: " + s.message());
  }
  if (block_stream_ != kStream) {
    return Status::Ok();
  }
  ++header_blocks_;
  for (const hpack::HeaderField& f : fields) {
    if (f.name == ":status" && header_blocks_ == 1) {
      http_status_ = std::atoi(f.value.c_str());
    } else if (f.name == "grpc-status") {
      grpc_status_ = std::atoi(f.value.c_str());
    } else if (f.name == "grpc-message") {
      grpc_message_ = PercentDecode(f.value);
    }
  }
  if (end_stream) {
    done_ = true;
  }
  return Status::Ok();
}

ProbeResult GrpcCall::Verdict(std::string_view target) const {
  auto critical = [&](std::string why) {
    return ProbeResult{catalog::HealthStatus::kCritical,
                       fmt::format("gRPC check {}: {}", target, why)};
  };
  if (!failure_.empty()) {
    return critical(failure_);
  }
  if (!done_) {
    return critical("the call did not finish");
  }
  if (http_status_ != 200) {
    return critical(fmt::format("HTTP status {}", http_status_));
  }
  if (grpc_status_ < 0) {
    return critical("response without grpc-status");
  }
  if (grpc_status_ != 0) {
    return critical(fmt::format("rpc error: code = {} desc = {}", GrpcCodeName(grpc_status_),
                                grpc_message_));
  }
  if (data_.size() < 5) {
    return critical("response without a message");
  }
  if (data_[0] != 0) {
    return critical("compressed response message (not requested)");
  }
  const uint32_t len = Be32(data_.data() + 1);
  if (len != data_.size() - 5) {
    return critical("malformed response message framing");
  }
  Result<int> status = DecodeHealthCheckResponse(std::string_view(data_).substr(5));
  if (!status.ok()) {
    return critical(status.status().message());
  }
  if (*status != 1) {
    return critical("serving status: " + ServingStatusName(*status));
  }
  return ProbeResult{catalog::HealthStatus::kPassing,
                     fmt::format("gRPC check {}: success", target)};
}

GrpcSpec MakeGrpcSpec(const catalog::CheckDefinition& def, std::chrono::nanoseconds timeout) {
  GrpcSpec s;
  s.target_text = def.grpc;
  s.use_tls = def.grpc_use_tls;
  s.tls.skip_verify = def.tls_skip_verify;
  s.tls.server_name = def.tls_server_name;
  s.tls.alpn = {"h2"};
  Result<GrpcTarget> t = ParseGrpcTarget(def.grpc);
  if (!t.ok()) {
    s.error = t.status().message();
    return s;
  }
  s.target = *t;
  const HostPort& a = t->address;
  const std::string authority = a.host.find(':') != std::string::npos
                                    ? fmt::format("[{}]:{}", a.host, a.port)
                                    : fmt::format("{}:{}", a.host, a.port);
  s.request = BuildGrpcRequest(authority, s.use_tls, t->service, timeout);
  return s;
}

asio::awaitable<ProbeResult> RunGrpcProbe(std::shared_ptr<const ProbeSpec> spec,
                                          std::shared_ptr<TlsContexts> tls,
                                          asio::any_io_executor executor) {
  const GrpcSpec& g = std::get<GrpcSpec>(spec->kind);
  auto critical = [&g](std::string why) {
    return ProbeResult{catalog::HealthStatus::kCritical,
                       fmt::format("gRPC check {}: {}", g.target_text, why)};
  };
  if (!g.target) {
    co_return critical(g.error);
  }
  auto conn = std::make_shared<Connection>(executor);
  Connection::ArmDeadline(conn, spec->timeout);
  const std::string timeout_text = "timed out after " + FormatDuration(spec->timeout);
  std::string err = co_await Connection::Connect(conn, g.target->address);
  if (err.empty() && g.use_tls) {
    asio::ssl::context& ctx = g.tls.skip_verify ? tls->skipping() : tls->verifying();
    err = co_await Connection::StartTls(conn, ctx, g.tls, g.target->address.host);
    if (err.empty() && conn->AlpnSelected() != "h2") {
      err = "server did not negotiate HTTP/2 (ALPN h2)";
    }
  }
  if (!err.empty()) {
    conn->Finish();
    co_return critical(conn->timed_out() ? timeout_text : err);
  }
  auto [wec, wn] = co_await asio::async_write(*conn, asio::buffer(g.request), kTuple);
  if (wec) {
    conn->Finish();
    co_return critical(conn->timed_out() ? timeout_text : "write: " + wec.message());
  }
  GrpcCall call;
  char buf[4096];
  size_t total = 0;
  while (!call.done()) {
    auto [rec, n] = co_await conn->async_read_some(asio::buffer(buf), kTuple);
    if (rec) {
      conn->Finish();
      if (conn->timed_out()) {
        co_return critical(timeout_text);
      }
      if (rec == asio::error::eof) {
        co_return critical("connection closed before the call finished");
      }
      co_return critical("read: " + rec.message());
    }
    total += n;
    if (total > kMaxBytesRead) {
      conn->Finish();
      co_return critical("server sent too much data");
    }
    std::string reply;
    Status s = call.Feed(std::string_view(buf, n), &reply);
    if (!s.ok()) {
      conn->Finish();
      co_return critical(s.message());
    }
    if (!reply.empty() && !call.done()) {
      auto [aec, an] = co_await asio::async_write(*conn, asio::buffer(reply), kTuple);
      if (aec) {
        conn->Finish();
        co_return critical(conn->timed_out() ? timeout_text : "write: " + aec.message());
      }
    }
  }
  conn->Finish();
  co_return call.Verdict(g.target_text);
}

}  // namespace beacon::health
