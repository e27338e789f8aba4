// Gateway codec (contract in gateway_codec.h). RapidJSON writes, simdjson reads with its
// error-code API only, so nothing here throws.
#include "etcd/gateway_codec.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include <array>
#include <charconv>
#include <utility>

namespace beacon::etcd::internal {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// ---- writing -------------------------------------------------------------------------------

void WriteString(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WriteBytes(JsonWriter& w, std::string_view key, std::string_view bytes) {
  WriteString(w, key);
  WriteString(w, Base64Encode(bytes));
}

// int64 fields go out as strings, the protobuf JSON mapping's canonical form for 64-bit ints.
void WriteInt64(JsonWriter& w, std::string_view key, int64_t v) {
  WriteString(w, key);
  WriteString(w, std::to_string(v));
}

// key/range_end for a single key, a prefix, or (empty prefix) the whole keyspace.
void WriteKeyRange(JsonWriter& w, std::string_view key, bool prefix) {
  if (prefix && key.empty()) {
    WriteBytes(w, "key", std::string_view("\0", 1));
    WriteBytes(w, "range_end", std::string_view("\0", 1));
    return;
  }
  WriteBytes(w, "key", key);
  if (prefix) {
    WriteBytes(w, "range_end", PrefixRangeEnd(key));
  }
}

void WriteOp(JsonWriter& w, const Op& op) {
  w.StartObject();
  switch (op.kind) {
    case Op::Kind::kPut:
      WriteString(w, "request_put");
      w.StartObject();
      WriteBytes(w, "key", op.key);
      WriteBytes(w, "value", op.value);
      if (op.lease != 0) {
        WriteInt64(w, "lease", op.lease);
      }
      w.EndObject();
      break;
    case Op::Kind::kDelete:
    case Op::Kind::kDeletePrefix:
      WriteString(w, "request_delete_range");
      w.StartObject();
      WriteKeyRange(w, op.key, op.kind == Op::Kind::kDeletePrefix);
      w.EndObject();
      break;
    case Op::Kind::kRange:
    case Op::Kind::kRangePrefix:
      WriteString(w, "request_range");
      w.StartObject();
      WriteKeyRange(w, op.key, op.kind == Op::Kind::kRangePrefix);
      w.EndObject();
      break;
  }
  w.EndObject();
}

std::string_view TargetName(Compare::Target t) {
  switch (t) {
    case Compare::Target::kVersion:
      return "VERSION";
    case Compare::Target::kCreate:
      return "CREATE";
    case Compare::Target::kMod:
      return "MOD";
    case Compare::Target::kValue:
      return "VALUE";
  }
  return "MOD";
}

std::string_view ResultName(Compare::Result r) {
  switch (r) {
    case Compare::Result::kEqual:
      return "EQUAL";
    case Compare::Result::kGreater:
      return "GREATER";
    case Compare::Result::kLess:
      return "LESS";
    case Compare::Result::kNotEqual:
      return "NOT_EQUAL";
  }
  return "EQUAL";
}

void WriteCompare(JsonWriter& w, const Compare& c) {
  w.StartObject();
  WriteBytes(w, "key", c.key);
  WriteString(w, "target");
  WriteString(w, TargetName(c.target));
  WriteString(w, "result");
  WriteString(w, ResultName(c.result));
  switch (c.target) {
    case Compare::Target::kVersion:
      WriteInt64(w, "version", c.number);
      break;
    case Compare::Target::kCreate:
      WriteInt64(w, "create_revision", c.number);
      break;
    case Compare::Target::kMod:
      WriteInt64(w, "mod_revision", c.number);
      break;
    case Compare::Target::kValue:
      WriteBytes(w, "value", c.value);
      break;
  }
  w.EndObject();
}

// ---- reading -------------------------------------------------------------------------------

Status Malformed(std::string_view what) {
  return Internal("etcd gateway: malformed response: " + std::string(what));
}

// Parses `json` into an element owned by `parser` (valid until the parser's next parse).
Status ParseDocument(simdjson::dom::parser& parser, std::string_view json, element* out) {
  if (parser.parse(json.data(), json.size()).get(*out) != simdjson::SUCCESS) {
    return Malformed("not JSON");
  }
  return Status::Ok();
}

// An int64 field: absent means 0; the gateway sends strings, numbers are accepted as well.
Result<int64_t> Int64Field(const object& obj, std::string_view key) {
  element el;
  if (obj[key].get(el) != simdjson::SUCCESS) {
    return int64_t{0};
  }
  if (std::string_view s; el.get(s) == simdjson::SUCCESS) {
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
      return Malformed("field " + std::string(key) + " is not an int64");
    }
    return v;
  }
  int64_t v = 0;
  if (el.get(v) == simdjson::SUCCESS) {
    return v;
  }
  uint64_t u = 0;
  if (el.get(u) == simdjson::SUCCESS) {
    return static_cast<int64_t>(u);
  }
  return Malformed("field " + std::string(key) + " is not an int64");
}

bool BoolField(const object& obj, std::string_view key) {
  bool v = false;
  return obj[key].get(v) == simdjson::SUCCESS && v;
}

std::string StringField(const object& obj, std::string_view key) {
  std::string_view v;
  if (obj[key].get(v) != simdjson::SUCCESS) {
    return {};
  }
  return std::string(v);
}

Result<std::string> BytesField(const object& obj, std::string_view key) {
  std::string_view v;
  if (obj[key].get(v) != simdjson::SUCCESS) {
    return std::string();
  }
  auto decoded = Base64Decode(v);
  if (!decoded.ok()) {
    return Malformed("field " + std::string(key) + ": " + decoded.status().message());
  }
  return std::move(decoded).value();
}

// Absent nested objects mean "all fields zero": an empty object stands in for them.
object ObjectField(const object& obj, std::string_view key, simdjson::dom::parser& empty) {
  object out;
  if (obj[key].get(out) != simdjson::SUCCESS &&
      empty.parse(std::string_view("{}")).get(out) != simdjson::SUCCESS) {
    out = {};  // cannot happen: "{}" always parses
  }
  return out;
}

Result<KeyValue> ParseKeyValue(const object& obj) {
  KeyValue kv;
  BEACON_ASSIGN_OR_RETURN(kv.key, BytesField(obj, "key"));
  BEACON_ASSIGN_OR_RETURN(kv.value, BytesField(obj, "value"));
  BEACON_ASSIGN_OR_RETURN(kv.create_revision, Int64Field(obj, "create_revision"));
  BEACON_ASSIGN_OR_RETURN(kv.mod_revision, Int64Field(obj, "mod_revision"));
  BEACON_ASSIGN_OR_RETURN(kv.version, Int64Field(obj, "version"));
  BEACON_ASSIGN_OR_RETURN(kv.lease, Int64Field(obj, "lease"));
  return kv;
}

Result<std::vector<KeyValue>> ParseKvs(const object& obj) {
  std::vector<KeyValue> out;
  simdjson::dom::array kvs;
  if (obj["kvs"].get(kvs) != simdjson::SUCCESS) {
    return out;  // absent: empty range
  }
  for (element item : kvs) {
    object kv_obj;
    if (item.get(kv_obj) != simdjson::SUCCESS) {
      return Malformed("kvs item is not an object");
    }
    BEACON_ASSIGN_OR_RETURN(KeyValue kv, ParseKeyValue(kv_obj));
    out.push_back(std::move(kv));
  }
  return out;
}

Result<int64_t> HeaderRevision(const object& obj) {
  object header;
  if (obj["header"].get(header) != simdjson::SUCCESS) {
    return int64_t{0};
  }
  return Int64Field(header, "revision");
}

// The error of a top-level response object, if it is one (see ParseGatewayError).
std::optional<GatewayError> ErrorFromObject(const object& obj) {
  element err;
  if (obj["error"].get(err) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  GatewayError out;
  object nested;
  if (err.get(nested) == simdjson::SUCCESS) {
    // Stream form: {"error":{"grpc_code":14,"http_code":503,"message":"...",...}}.
    out.message = StringField(nested, "message");
    auto code = Int64Field(nested, "grpc_code");
    out.grpc_code = code.ok() ? static_cast<int>(*code) : 0;
    return out;
  }
  // Unary form: {"error":"...","message":"...","code":5}.
  out.message = StringField(obj, "message");
  if (out.message.empty()) {
    out.message = StringField(obj, "error");
  }
  auto code = Int64Field(obj, "code");
  out.grpc_code = code.ok() ? static_cast<int>(*code) : 0;
  if (out.message.empty() && out.grpc_code == 0) {
    return std::nullopt;  // e.g. LeaseGrantResponse's empty "error" field
  }
  return out;
}

// The top-level object of a unary response; a body with an "error" becomes its Status.
Status TopObject(simdjson::dom::parser& parser, std::string_view body, object* out) {
  element doc;
  BEACON_RETURN_IF_ERROR(ParseDocument(parser, body, &doc));
  if (doc.get(*out) != simdjson::SUCCESS) {
    return Malformed("not a JSON object");
  }
  if (auto err = ErrorFromObject(*out)) {
    return StatusFromGatewayError(*err, "etcd");
  }
  return Status::Ok();
}

// Unwraps {"result":{...}} (one message of a streaming endpoint); {"error":...} becomes a Status.
Status StreamResult(simdjson::dom::parser& parser, std::string_view body, object* out) {
  object top;
  BEACON_RETURN_IF_ERROR(TopObject(parser, body, &top));
  if (top["result"].get(*out) != simdjson::SUCCESS) {
    return Malformed("stream message without result");
  }
  return Status::Ok();
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

// ---- bytes ---------------------------------------------------------------------------------

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t n = (uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(in[i + 1])} << 8) |
                       uint32_t{static_cast<unsigned char>(in[i + 2])};
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += kBase64Alphabet[(n >> 6) & 63];
    out += kBase64Alphabet[n & 63];
  }
  const size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t{static_cast<unsigned char>(in[i])} << 16;
    if (rest == 2) {
      n |= uint32_t{static_cast<unsigned char>(in[i + 1])} << 8;
    }
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += rest == 2 ? kBase64Alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view in) {
  static constexpr std::array<int8_t, 256> kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (size_t i = 0; i < kBase64Alphabet.size(); ++i) {
      t[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
    }
    return t;
  }();
  if (in.size() % 4 != 0) {
    return InvalidArgument("base64: length is not a multiple of 4");
  }
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int pad = 0;
    uint32_t n = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=' && last && j >= 2) {
        ++pad;
        n <<= 6;
        continue;
      }
      const int8_t v = kTable[static_cast<unsigned char>(c)];
      if (v < 0 || pad > 0) {
        return InvalidArgument("base64: invalid character or padding");
      }
      n = (n << 6) | static_cast<uint32_t>(v);
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) {
      out += static_cast<char>((n >> 8) & 0xff);
    }
    if (pad < 1) {
      out += static_cast<char>(n & 0xff);
    }
  }
  return out;
}

std::string PrefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string("\0", 1);
}

// ---- requests ------------------------------------------------------------------------------

std::string RangeRequestJson(std::string_view key, bool prefix, bool serializable) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKeyRange(w, key, prefix);
  if (serializable) {
    WriteString(w, "serializable");
    w.Bool(true);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string TxnRequestJson(const std::vector<Compare>& compares, const std::vector<Op>& success,
                           const std::vector<Op>& failure) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteString(w, "compare");
  w.StartArray();
  for (const Compare& c : compares) {
    WriteCompare(w, c);
  }
  w.EndArray();
  WriteString(w, "success");
  w.StartArray();
  for (const Op& op : success) {
    WriteOp(w, op);
  }
  w.EndArray();
  WriteString(w, "failure");
  w.StartArray();
  for (const Op& op : failure) {
    WriteOp(w, op);
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string LeaseGrantRequestJson(int64_t ttl_seconds) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteInt64(w, "TTL", ttl_seconds);  // LeaseGrantRequest spells it "TTL" (and "ID")
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string LeaseIdRequestJson(int64_t lease) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteInt64(w, "ID", lease);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string WatchCreateRequestJson(std::string_view prefix, int64_t start_revision,
                                   bool progress_notify) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteString(w, "create_request");
  w.StartObject();
  WriteKeyRange(w, prefix, /*prefix=*/true);
  if (start_revision > 0) {
    WriteInt64(w, "start_revision", start_revision);
  }
  if (progress_notify) {
    WriteString(w, "progress_notify");
    w.Bool(true);
  }
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

bool HasWrites(const std::vector<Op>& ops) {
  for (const Op& op : ops) {
    if (op.kind == Op::Kind::kPut || op.kind == Op::Kind::kDelete ||
        op.kind == Op::Kind::kDeletePrefix) {
      return true;
    }
  }
  return false;
}

// ---- errors --------------------------------------------------------------------------------

std::optional<GatewayError> ParseGatewayError(std::string_view body) {
  simdjson::dom::parser parser;
  element doc;
  object obj;
  if (!ParseDocument(parser, body, &doc).ok() || doc.get(obj) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return ErrorFromObject(obj);
}

bool IsRejectedBeforeProposal(const GatewayError& error) {
  const std::string_view m = error.message;
  return Contains(m, "no leader") || Contains(m, "not leader") || Contains(m, "not capable") ||
         Contains(m, "too many requests");
}

bool IsRetryableOnOtherMember(const GatewayError& error) {
  constexpr int kDeadlineExceeded = 4;
  constexpr int kUnavailable = 14;
  return IsRejectedBeforeProposal(error) || error.grpc_code == kUnavailable ||
         error.grpc_code == kDeadlineExceeded;
}

Status StatusFromGatewayError(const GatewayError& error, std::string_view context) {
  std::string message =
      std::string(context) + ": " + (error.message.empty() ? "unknown error" : error.message);
  switch (error.grpc_code) {
    case 3:   // InvalidArgument
    case 11:  // OutOfRange ("required revision has been compacted", "future revision")
      return InvalidArgument(std::move(message));
    case 5:
      return NotFound(std::move(message));
    case 6:
      return {StatusCode::kAlreadyExists, std::move(message)};
    case 7:   // PermissionDenied
    case 9:   // FailedPrecondition ("not leader" is retried before it gets here)
    case 16:  // Unauthenticated
      return FailedPrecondition(std::move(message));
    case 10:
      return Aborted(std::move(message));
    case 8:
      return ResourceExhausted(std::move(message));  // incl. "database space exceeded"
    case 4:
    case 14:
      return Unavailable(std::move(message));
    case 12:
      return Unimplemented(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

// ---- responses -----------------------------------------------------------------------------

Result<RangeResult> ParseRangeResponse(std::string_view body) {
  simdjson::dom::parser parser;
  object top;
  BEACON_RETURN_IF_ERROR(TopObject(parser, body, &top));
  RangeResult out;
  BEACON_ASSIGN_OR_RETURN(out.revision, HeaderRevision(top));
  BEACON_ASSIGN_OR_RETURN(out.kvs, ParseKvs(top));
  return out;
}

Result<TxnResult> ParseTxnResponse(std::string_view body, const std::vector<Op>& success,
                                   const std::vector<Op>& failure) {
  simdjson::dom::parser parser;
  simdjson::dom::parser empty;
  object top;
  BEACON_RETURN_IF_ERROR(TopObject(parser, body, &top));
  TxnResult out;
  out.succeeded = BoolField(top, "succeeded");
  BEACON_ASSIGN_OR_RETURN(out.revision, HeaderRevision(top));
  const std::vector<Op>& ops = out.succeeded ? success : failure;
  simdjson::dom::array responses;
  const bool has_responses = top["responses"].get(responses) == simdjson::SUCCESS;
  if (has_responses ? responses.size() != ops.size() : !ops.empty()) {
    return Malformed("txn: " + std::to_string(ops.size()) +
                     " ops but a different number of "
                     "responses");
  }
  size_t i = 0;
  for (const Op& op : ops) {
    const bool is_range = op.kind == Op::Kind::kRange || op.kind == Op::Kind::kRangePrefix;
    if (is_range) {
      object resp;
      if (responses.at(i).get(resp) != simdjson::SUCCESS) {
        return Malformed("txn response is not an object");
      }
      BEACON_ASSIGN_OR_RETURN(auto kvs, ParseKvs(ObjectField(resp, "response_range", empty)));
      out.ranges.push_back(std::move(kvs));
    }
    ++i;
  }
  return out;
}

Result<int64_t> ParseLeaseGrantResponse(std::string_view body) {
  simdjson::dom::parser parser;
  object top;
  BEACON_RETURN_IF_ERROR(TopObject(parser, body, &top));
  BEACON_ASSIGN_OR_RETURN(int64_t id, Int64Field(top, "ID"));
  if (id == 0) {
    return Malformed("lease grant without an ID");
  }
  return id;
}

Result<int64_t> ParseLeaseKeepAliveResponse(std::string_view body, int64_t lease) {
  // The stream carries one {"result":...} per request; we send one request, so the first object
  // is the answer (and an error object, if any, stands alone).
  JsonObjectSplitter splitter;
  BEACON_RETURN_IF_ERROR(splitter.Feed(body));
  std::optional<std::string> first = splitter.Next();
  if (!first) {
    return Malformed("empty keepalive stream");
  }
  simdjson::dom::parser parser;
  object result;
  BEACON_RETURN_IF_ERROR(StreamResult(parser, *first, &result));
  BEACON_ASSIGN_OR_RETURN(int64_t ttl, Int64Field(result, "TTL"));
  if (ttl <= 0) {
    // etcd answers an unknown lease with TTL 0 (the field omitted) rather than an error.
    return NotFound("etcd: lease " + std::to_string(lease) + " not found (expired or revoked)");
  }
  return ttl;
}

Result<WatchMessage> ParseWatchMessage(std::string_view json) {
  simdjson::dom::parser parser;
  WatchMessage out;
  element doc;
  object top;
  BEACON_RETURN_IF_ERROR(ParseDocument(parser, json, &doc));
  if (doc.get(top) != simdjson::SUCCESS) {
    return Malformed("watch message is not a JSON object");
  }
  if (auto err = ErrorFromObject(top)) {
    out.error = std::move(*err);
    return out;
  }
  object result;
  if (top["result"].get(result) != simdjson::SUCCESS) {
    return Malformed("watch message without result");
  }
  out.created = BoolField(result, "created");
  out.canceled = BoolField(result, "canceled");
  out.cancel_reason = StringField(result, "cancel_reason");
  BEACON_ASSIGN_OR_RETURN(out.header_revision, HeaderRevision(result));
  BEACON_ASSIGN_OR_RETURN(out.compact_revision, Int64Field(result, "compact_revision"));
  simdjson::dom::array events;
  if (result["events"].get(events) == simdjson::SUCCESS) {
    for (element item : events) {
      object ev;
      object kv;
      if (item.get(ev) != simdjson::SUCCESS || ev["kv"].get(kv) != simdjson::SUCCESS) {
        return Malformed("watch event without kv");
      }
      WatchEvent event;
      const std::string type = StringField(ev, "type");
      if (type == "DELETE") {
        event.type = WatchEvent::Type::kDelete;
      } else if (!type.empty() && type != "PUT") {
        return Malformed("watch event type " + type);
      }
      BEACON_ASSIGN_OR_RETURN(event.kv, ParseKeyValue(kv));
      out.events.push_back(std::move(event));
    }
  }
  return out;
}

// ---- stream framing ------------------------------------------------------------------------

Status JsonObjectSplitter::Feed(std::string_view bytes) {
  buffer_.append(bytes);
  for (; scan_ < buffer_.size(); ++scan_) {
    const char c = buffer_[scan_];
    if (depth_ == 0) {
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        continue;
      }
      if (c != '{') {
        return InvalidArgument("etcd gateway stream: unexpected byte between JSON objects");
      }
      object_start_ = scan_;
      depth_ = 1;
      continue;
    }
    if (scan_ - object_start_ >= max_object_bytes_) {
      return ResourceExhausted("etcd gateway stream: message larger than " +
                               std::to_string(max_object_bytes_) + " bytes");
    }
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
    } else if (c == '"') {
      in_string_ = true;
    } else if (c == '{') {
      ++depth_;
    } else if (c == '}' && --depth_ == 0) {
      ready_.push_back(buffer_.substr(object_start_, scan_ + 1 - object_start_));
    }
  }
  // Drop what is consumed; keep the partial object (if any) at the front of the buffer.
  const size_t keep_from = depth_ > 0 ? object_start_ : scan_;
  buffer_.erase(0, keep_from);
  scan_ -= keep_from;
  object_start_ = 0;
  return Status::Ok();
}

std::optional<std::string> JsonObjectSplitter::Next() {
  if (ready_.empty()) {
    return std::nullopt;
  }
  std::string out = std::move(ready_.front());
  ready_.pop_front();
  return out;
}

}  // namespace beacon::etcd::internal
