// gRPC probe pieces without sockets: protobuf bits, the request flight, and the response state
// machine fed with hand-built server frames.
#include "health/grpc_probe.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace beacon::health {
namespace {

using catalog::HealthStatus;

std::string Settings() {
  std::string f;
  h2::AppendFrame(h2::kSettings, 0, 0, std::string("\x00\x03\x00\x00\x00\x64", 6), &f);
  return f;
}

std::string Headers(const std::vector<std::pair<std::string, std::string>>& fields, uint8_t flags,
                    bool huffman = false) {
  std::string block;
  for (const auto& [n, v] : fields) {
    if (huffman) {
      // Literal with incremental indexing, new name, both strings Huffman-coded.
      block.push_back(0x40);
      std::string hn = hpack::HuffmanEncode(n);
      hpack::EncodeInteger(hn.size(), 7, 0x80, &block);
      block += hn;
      std::string hv = hpack::HuffmanEncode(v);
      hpack::EncodeInteger(hv.size(), 7, 0x80, &block);
      block += hv;
    } else {
      hpack::EncodeLiteral(n, v, &block);
    }
  }
  std::string f;
  h2::AppendFrame(h2::kHeaders, flags | h2::kFlagEndHeaders, 1, block, &f);
  return f;
}

std::string Message(std::string_view proto) {
  std::string d;
  d.push_back(0);
  d.push_back(0);
  d.push_back(0);
  d.push_back(0);
  d.push_back(static_cast<char>(proto.size()));
  d += proto;
  std::string f;
  h2::AppendFrame(h2::kData, 0, 1, d, &f);
  return f;
}

std::string OkTrailers() { return Headers({{"grpc-status", "0"}}, h2::kFlagEndStream); }

struct Outcome {
  Status feed;
  bool done = false;
  ProbeResult verdict;
  std::string reply;
};

Outcome FeedAll(const std::string& bytes, size_t step = 0) {
  GrpcCall call;
  Outcome o;
  if (step == 0) {
    step = bytes.size();
  }
  for (size_t i = 0; i < bytes.size() && o.feed.ok() && !call.done(); i += step) {
    o.feed = call.Feed(std::string_view(bytes).substr(i, step), &o.reply);
  }
  o.done = call.done();
  o.verdict = call.Verdict("127.0.0.1:9000");
  return o;
}

TEST(GrpcProbe, EncodesHealthCheckRequest) {
  EXPECT_EQ(EncodeHealthCheckRequest(""), "");
  EXPECT_EQ(EncodeHealthCheckRequest("web"), std::string("\x0a\x03web", 5));
  std::string long_name(200, 'x');
  std::string e = EncodeHealthCheckRequest(long_name);
  EXPECT_EQ(e.substr(0, 3), std::string("\x0a\xc8\x01", 3));  // varint 200
}

TEST(GrpcProbe, DecodesHealthCheckResponse) {
  EXPECT_EQ(*DecodeHealthCheckResponse(""), 0);  // proto3 default UNKNOWN
  EXPECT_EQ(*DecodeHealthCheckResponse(std::string("\x08\x01", 2)), 1);
  EXPECT_EQ(*DecodeHealthCheckResponse(std::string("\x08\x02", 2)), 2);
  // Unknown fields of every wire type are skipped.
  EXPECT_EQ(*DecodeHealthCheckResponse(std::string("\x12\x02hi\x18\x05\x08\x01", 8)), 1);
  EXPECT_FALSE(DecodeHealthCheckResponse(std::string("\x08", 1)).ok());
  EXPECT_FALSE(DecodeHealthCheckResponse(std::string("\x12\x05hi", 4)).ok());
  EXPECT_FALSE(DecodeHealthCheckResponse(std::string("\x0b", 1)).ok());  // wire type 3
}

TEST(GrpcProbe, RequestFlightIsWellFormed) {
  std::string r = BuildGrpcRequest("127.0.0.1:9000", false, "web", std::chrono::seconds(2));
  ASSERT_EQ(r.substr(0, h2::kClientPreface.size()), h2::kClientPreface);
  std::string_view rest = std::string_view(r).substr(h2::kClientPreface.size());
  std::vector<int> types;
  hpack::Decoder decoder;
  std::vector<hpack::HeaderField> fields;
  std::string data;
  while (rest.size() >= 9) {
    const size_t len = (static_cast<uint8_t>(rest[0]) << 16) | (static_cast<uint8_t>(rest[1]) << 8) |
                       static_cast<uint8_t>(rest[2]);
    types.push_back(rest[3]);
    std::string_view payload = rest.substr(9, len);
    if (rest[3] == h2::kHeaders) {
      ASSERT_TRUE(decoder.Decode(payload, &fields).ok());
    } else if (rest[3] == h2::kData) {
      data = std::string(payload);
      EXPECT_EQ(rest[4] & h2::kFlagEndStream, h2::kFlagEndStream);
    }
    rest.remove_prefix(9 + len);
  }
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(types, (std::vector<int>{h2::kSettings, h2::kHeaders, h2::kData}));
  std::string rendered;
  for (const auto& f : fields) {
    rendered += f.name + "=" + f.value + ";";
  }
  EXPECT_EQ(rendered,
            ":method=POST;:scheme=http;:path=/grpc.health.v1.Health/Check;"
            ":authority=127.0.0.1:9000;content-type=application/grpc;te=trailers;"
            "grpc-timeout=2000m;user-agent=Consul Health Check;");
  EXPECT_EQ(data, std::string("\x00\x00\x00\x00\x05\x0a\x03web", 10));
}

TEST(GrpcProbe, ServingIsPassing) {
  std::string server = Settings() +
                       Headers({{":status", "200"}, {"content-type", "application/grpc"}}, 0) +
                       Message(std::string("\x08\x01", 2)) + OkTrailers();
  Outcome o = FeedAll(server);
  ASSERT_TRUE(o.feed.ok()) << o.feed.ToString();
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.verdict.status, HealthStatus::kPassing);
  EXPECT_EQ(o.verdict.output, "gRPC check 127.0.0.1:9000: success");
  // The server's SETTINGS was acknowledged.
  std::string ack;
  h2::AppendFrame(h2::kSettings, h2::kFlagAck, 0, {}, &ack);
  EXPECT_EQ(o.reply, ack);
}

TEST(GrpcProbe, ByteByByteAndHuffmanHeaders) {
  std::string server =
      Settings() + Headers({{":status", "200"}, {"content-type", "application/grpc"}}, 0, true) +
      Message(std::string("\x08\x01", 2)) + Headers({{"grpc-status", "0"}}, h2::kFlagEndStream, true);
  Outcome o = FeedAll(server, 1);
  ASSERT_TRUE(o.feed.ok()) << o.feed.ToString();
  EXPECT_EQ(o.verdict.status, HealthStatus::kPassing);
}

TEST(GrpcProbe, Verdicts) {
  struct Case {
    std::string name;
    std::string server;
    HealthStatus want;
    std::string output;  // expected suffix after "gRPC check 127.0.0.1:9000: "
  };
  const std::string h200 = Headers({{":status", "200"}, {"content-type", "application/grpc"}}, 0);
  std::string rst;
  h2::AppendFrame(h2::kRstStream, 0, 1, std::string("\x00\x00\x00\x08", 4), &rst);
  std::string goaway;
  h2::AppendFrame(h2::kGoAway, 0, 0, std::string("\x00\x00\x00\x00\x00\x00\x00\x0b", 8), &goaway);
  const std::vector<Case> cases = {
      {"not serving", Settings() + h200 + Message(std::string("\x08\x02", 2)) + OkTrailers(),
       HealthStatus::kCritical, "serving status: NOT_SERVING"},
      {"service unknown", Settings() + h200 + Message(std::string("\x08\x03", 2)) + OkTrailers(),
       HealthStatus::kCritical, "serving status: SERVICE_UNKNOWN"},
      {"trailers-only error",
       Settings() + Headers({{":status", "200"},
                             {"grpc-status", "12"},
                             {"grpc-message", "unknown%20service"}},
                            h2::kFlagEndStream),
       HealthStatus::kCritical, "rpc error: code = UNIMPLEMENTED desc = unknown service"},
      {"http error", Settings() + Headers({{":status", "503"}}, h2::kFlagEndStream),
       HealthStatus::kCritical, "HTTP status 503"},
      {"no grpc-status",
       Settings() + h200 + Message(std::string("\x08\x01", 2)) + Headers({}, h2::kFlagEndStream),
       HealthStatus::kCritical, "response without grpc-status"},
      {"stream reset", Settings() + h200 + rst, HealthStatus::kCritical,
       "stream reset by server (error code 8)"},
      {"goaway before our stream", Settings() + goaway, HealthStatus::kCritical,
       "server sent GOAWAY (error code 11)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Outcome o = FeedAll(c.server);
    ASSERT_TRUE(o.feed.ok()) << o.feed.ToString();
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.verdict.status, c.want);
    EXPECT_EQ(o.verdict.output, "gRPC check 127.0.0.1:9000: " + c.output);
  }
}

TEST(GrpcProbe, ProtocolErrors) {
  struct Case {
    std::string name;
    std::string server;
    std::string error;
  };
  std::string data_first;
  h2::AppendFrame(h2::kData, 0, 1, "x", &data_first);
  std::string huge = std::string("\x01\x00\x00\x00\x00\x00\x00\x00\x01", 9);
  const std::vector<Case> cases = {
      {"http/1 server", "HTTP/1.1 400 Bad Request\r\n\r\n", "HTTP/1.x"},
      {"no settings first", data_first, "did not start with SETTINGS"},
      {"frame too large", Settings() + huge, "frame of 65536 bytes"},
      {"garbage hpack", Settings() + [] {
         std::string f;
         h2::AppendFrame(h2::kHeaders, h2::kFlagEndHeaders, 1, "\xff\xff\xff\xff\xff\xff", &f);
         return f;
       }(),
       "hpack"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Outcome o = FeedAll(c.server);
    EXPECT_FALSE(o.feed.ok());
    EXPECT_NE(o.feed.message().find(c.error), std::string::npos) << o.feed.message();
  }
}

TEST(GrpcProbe, AnswersPingAndHandlesContinuationAndPadding) {
  std::string ping;
  h2::AppendFrame(h2::kPing, 0, 0, "12345678", &ping);
  // Response headers split over HEADERS + CONTINUATION.
  std::string block;
  hpack::EncodeLiteral(":status", "200", &block);
  hpack::EncodeLiteral("content-type", "application/grpc", &block);
  std::string split;
  h2::AppendFrame(h2::kHeaders, 0, 1, block.substr(0, 5), &split);
  h2::AppendFrame(h2::kContinuation, h2::kFlagEndHeaders, 1, block.substr(5), &split);
  // A padded DATA frame: pad length 3, the message, three zero bytes.
  std::string padded_payload("\x03\x00\x00\x00\x00\x02\x08\x01\x00\x00\x00", 11);
  std::string padded;
  h2::AppendFrame(h2::kData, h2::kFlagPadded, 1, padded_payload, &padded);
  Outcome o = FeedAll(Settings() + ping + split + padded + OkTrailers());
  ASSERT_TRUE(o.feed.ok()) << o.feed.ToString();
  EXPECT_EQ(o.verdict.status, HealthStatus::kPassing);
  std::string pong;
  h2::AppendFrame(h2::kPing, h2::kFlagAck, 0, "12345678", &pong);
  EXPECT_NE(o.reply.find(pong), std::string::npos);
}

TEST(GrpcProbe, UnfinishedCallIsCritical) {
  Outcome o = FeedAll(Settings());
  EXPECT_FALSE(o.done);
  EXPECT_EQ(o.verdict.status, HealthStatus::kCritical);
}

}  // namespace
}  // namespace beacon::health
