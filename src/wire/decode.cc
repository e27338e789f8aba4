// Request-body decoders (contract in decode.h).
//
// simdjson's DOM parser validates the whole body (syntax, UTF-8, depth) up front; the decoders
// then walk only the fields they know. Every key is normalised once (ASCII lower-case, '_'
// dropped) and compared with the normalised Consul field names, which gives case-insensitive
// matching and the snake_case aliases of contract 1.2 in one step. Check-type fields (HTTP, TCP,
// Interval, ...) are described by one table shared by the flat agent forms and the catalog's
// `Definition` object, so both accept exactly the same spellings.
//
// Nothing here throws: simdjson is used through its error-code API only.
#include "wire/decode.h"

#include <simdjson.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/duration.h"

namespace beacon::wire {
namespace {

using catalog::CheckDefinition;
using catalog::CheckSpec;
using catalog::CheckType;
using catalog::Nanos;
using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr std::string_view kDecodeFailed = "Request decode failed: ";

// Bodies larger than this get a parser of their own, so that one huge request does not leave a
// large buffer pinned in the calling thread's reusable parser.
constexpr size_t kReusedParserMaxBytes = 64 * 1024;

// Longer than any normalised field name we know ("deregistercriticalserviceafterduration").
constexpr size_t kMaxKeyLength = 48;

std::string_view JsonTypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::STRING:
      return "string";
    case element_type::BOOL:
      return "bool";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "value";
}

// Normalises a key for matching: ASCII lower-case with '_' removed. Returns "" for keys longer
// than any known field (they match nothing, which is what an unknown key needs).
std::string_view NormalizeKey(std::string_view key, std::array<char, kMaxKeyLength>& buf) {
  size_t n = 0;
  for (char c : key) {
    if (c == '_') {
      continue;
    }
    if (n == buf.size()) {
      return {};
    }
    buf[n++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return {buf.data(), n};
}

Status DecodeError(std::string_view path, std::string_view why) {
  std::string m(kDecodeFailed);
  m.append(path);
  m += ": ";
  m.append(why);
  return InvalidArgument(std::move(m));
}

Status TypeError(std::string_view path, std::string_view expected, element v) {
  std::string why("expected ");
  why.append(expected);
  why += ", got ";
  why.append(JsonTypeName(v.type()));
  return DecodeError(path, why);
}

// Reads typed values out of one JSON object, naming fields "<parent>.<field>" in errors.
// A null value is never passed in: ForEachField drops nulls first ("null means absent").
class Reader {
 public:
  explicit Reader(std::string parent) : parent_(std::move(parent)) {}

  // The path of `field` inside this object, e.g. "Checks[1].Interval".
  std::string PathOf(std::string_view field) const {
    if (parent_.empty()) {
      return std::string(field);
    }
    std::string p = parent_;
    p += '.';
    p.append(field);
    return p;
  }
  std::string PathOf(std::string_view field, size_t index) const {
    std::string p = PathOf(field);
    p += '[';
    p += std::to_string(index);
    p += ']';
    return p;
  }

  Status Read(element v, std::string_view field, std::string* out) const {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) {
      return TypeError(PathOf(field), "a string", v);
    }
    out->assign(s);
    return Status::Ok();
  }

  Status Read(element v, std::string_view field, bool* out) const {
    if (v.get(*out) != simdjson::SUCCESS) {
      return TypeError(PathOf(field), "a bool", v);
    }
    return Status::Ok();
  }

  // Integers are decoded as int64 and must fit an int; fractions and exponents are rejected,
  // as Go's encoding/json does for int fields. Range rules (ports, weights) are the catalog's.
  Status Read(element v, std::string_view field, int* out) const {
    switch (v.type()) {
      case element_type::INT64: {
        int64_t i = v.get_int64().value_unsafe();
        if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max()) {
          return DecodeError(PathOf(field), "number out of range");
        }
        *out = static_cast<int>(i);
        return Status::Ok();
      }
      case element_type::UINT64:
        return DecodeError(PathOf(field), "number out of range");
      case element_type::DOUBLE: {
        double d = v.get_double().value_unsafe();
        if (!(std::fabs(d) < 2147483648.0)) {
          return DecodeError(PathOf(field), "number out of range");
        }
        return DecodeError(PathOf(field), "expected an integer, got a fraction");
      }
      default:
        return TypeError(PathOf(field), "an integer", v);
    }
  }

  // A Go duration string, or a JSON number of nanoseconds (fractions truncated, like Go's
  // time.Duration(float64) conversion in Consul's decode hook).
  Status Read(element v, std::string_view field, Nanos* out) const {
    switch (v.type()) {
      case element_type::STRING: {
        Result<Nanos> d = ParseGoDuration(v.get_string().value_unsafe());
        if (!d.ok()) {
          return DecodeError(PathOf(field), d.status().message());
        }
        *out = *d;
        return Status::Ok();
      }
      case element_type::INT64:
        *out = Nanos(v.get_int64().value_unsafe());
        return Status::Ok();
      case element_type::UINT64:
        return DecodeError(PathOf(field), "duration out of range");
      case element_type::DOUBLE: {
        double d = v.get_double().value_unsafe();
        // 2^63: every double below it in magnitude converts to int64 without overflow.
        if (!(std::fabs(d) < 9223372036854775808.0)) {
          return DecodeError(PathOf(field), "duration out of range");
        }
        *out = Nanos(static_cast<int64_t>(d));
        return Status::Ok();
      }
      default:
        return TypeError(PathOf(field), "a duration", v);
    }
  }

  // A list of strings; a null element is "" (Go leaves a string untouched for null).
  Status Read(element v, std::string_view field, std::vector<std::string>* out) const {
    simdjson::dom::array list;
    if (v.get(list) != simdjson::SUCCESS) {
      return TypeError(PathOf(field), "a list of strings", v);
    }
    out->clear();
    out->reserve(list.size());
    size_t i = 0;
    for (element item : list) {
      if (item.is_null()) {
        out->emplace_back();
      } else {
        std::string_view s;
        if (item.get(s) != simdjson::SUCCESS) {
          return TypeError(PathOf(field, i), "a string", item);
        }
        out->emplace_back(s);
      }
      ++i;
    }
    return Status::Ok();
  }

  // An object of strings (Meta, node TaggedAddresses). Keys are data: kept exactly as sent.
  Status Read(element v, std::string_view field, catalog::StringMap* out) const {
    simdjson::dom::object obj;
    if (v.get(obj) != simdjson::SUCCESS) {
      return TypeError(PathOf(field), "an object of strings", v);
    }
    catalog::FlatStringMapPairs<std::string> pairs;
    pairs.reserve(obj.size());
    for (auto [key, value] : obj) {
      std::string& slot = pairs.emplace_back(std::string(key), std::string()).second;
      if (!value.is_null()) {
        std::string_view s;
        if (value.get(s) != simdjson::SUCCESS) {
          return TypeError(PathOf(field) + "." + std::string(key), "a string", value);
        }
        slot.assign(s);
      }
    }
    *out = catalog::MakeFlatStringMap<std::string>(std::move(pairs));
    return Status::Ok();
  }

  // An object of string lists (HTTP check Header).
  Status Read(element v, std::string_view field,
              std::map<std::string, std::vector<std::string>>* out) const {
    simdjson::dom::object obj;
    if (v.get(obj) != simdjson::SUCCESS) {
      return TypeError(PathOf(field), "an object of string lists", v);
    }
    out->clear();
    Reader inner(PathOf(field));
    for (auto [key, value] : obj) {
      std::vector<std::string>& slot = (*out)[std::string(key)];
      slot.clear();
      if (!value.is_null()) {
        BEACON_RETURN_IF_ERROR(inner.Read(value, key, &slot));
      }
    }
    return Status::Ok();
  }

 private:
  std::string parent_;
};

// Calls fn(normalised_key, raw_key, value) for every non-null member of the object `v`.
// REQUIRES: v is not null. A non-object is a type error at `path`.
template <typename Fn>
Status ForEachField(element v, std::string_view path, Fn&& fn) {
  simdjson::dom::object obj;
  if (v.get(obj) != simdjson::SUCCESS) {
    return TypeError(path, "an object", v);
  }
  std::array<char, kMaxKeyLength> buf;
  for (auto [key, value] : obj) {
    if (value.is_null()) {
      continue;
    }
    BEACON_RETURN_IF_ERROR(fn(NormalizeKey(key, buf), key, value));
  }
  return Status::Ok();
}

// Parses the body and calls fn(root) with its top-level object; `null` counts as `{}`.
template <typename Fn>
Status ParseBody(std::string_view body, Fn&& fn) {
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    // Go's json.Decoder reports io.EOF for an empty (or all-whitespace) body.
    return InvalidArgument(std::string(kDecodeFailed) + "EOF");
  }
  thread_local simdjson::dom::parser reused_parser;
  std::optional<simdjson::dom::parser> own_parser;
  simdjson::dom::parser* parser = &reused_parser;
  if (body.size() > kReusedParserMaxBytes) {
    parser = &own_parser.emplace();
  }
  element root;
  simdjson::error_code err = parser->parse(body.data(), body.size()).get(root);
  if (err != simdjson::SUCCESS) {
    return InvalidArgument(std::string(kDecodeFailed) + simdjson::error_message(err));
  }
  if (root.is_null()) {
    return Status::Ok();
  }
  if (root.type() != element_type::OBJECT) {
    return InvalidArgument(std::string(kDecodeFailed) + "expected a JSON object, got " +
                           std::string(JsonTypeName(root.type())));
  }
  return fn(root);
}

// ---- check-type fields ------------------------------------------------------------------------

using DefinitionMember =
    std::variant<std::string CheckDefinition::*, bool CheckDefinition::*, int CheckDefinition::*,
                 Nanos CheckDefinition::*, std::vector<std::string> CheckDefinition::*,
                 std::map<std::string, std::vector<std::string>> CheckDefinition::*>;

struct DefinitionField {
  std::string_view key;        // normalised
  std::string_view wire_name;  // for error messages
  DefinitionMember member;
};

// Every spelling accepted for a check-type field: agent check bodies carry them flat, catalog
// checks inside `Definition` (where Consul also accepts the `...Duration` names).
const DefinitionField kDefinitionFields[] = {
    {"ttl", "TTL", &CheckDefinition::ttl},
    {"ttlduration", "TTLDuration", &CheckDefinition::ttl},
    {"interval", "Interval", &CheckDefinition::interval},
    {"intervalduration", "IntervalDuration", &CheckDefinition::interval},
    {"timeout", "Timeout", &CheckDefinition::timeout},
    {"timeoutduration", "TimeoutDuration", &CheckDefinition::timeout},
    {"deregistercriticalserviceafter", "DeregisterCriticalServiceAfter",
     &CheckDefinition::deregister_critical_service_after},
    {"deregistercriticalserviceafterduration", "DeregisterCriticalServiceAfterDuration",
     &CheckDefinition::deregister_critical_service_after},
    {"http", "HTTP", &CheckDefinition::http},
    {"method", "Method", &CheckDefinition::method},
    {"header", "Header", &CheckDefinition::header},
    {"body", "Body", &CheckDefinition::body},
    {"disableredirects", "DisableRedirects", &CheckDefinition::disable_redirects},
    {"tlsskipverify", "TLSSkipVerify", &CheckDefinition::tls_skip_verify},
    {"tlsservername", "TLSServerName", &CheckDefinition::tls_server_name},
    {"tcp", "TCP", &CheckDefinition::tcp},
    {"tcpusetls", "TCPUseTLS", &CheckDefinition::tcp_use_tls},
    {"grpc", "GRPC", &CheckDefinition::grpc},
    {"grpcusetls", "GRPCUseTLS", &CheckDefinition::grpc_use_tls},
    {"udp", "UDP", &CheckDefinition::udp},
    {"h2ping", "H2PING", &CheckDefinition::h2ping},
    {"scriptargs", "ScriptArgs", &CheckDefinition::script_args},
    {"args", "Args", &CheckDefinition::script_args},
    {"dockercontainerid", "DockerContainerID", &CheckDefinition::docker_container_id},
    {"shell", "Shell", &CheckDefinition::shell},
    {"aliasnode", "AliasNode", &CheckDefinition::alias_node},
    {"aliasservice", "AliasService", &CheckDefinition::alias_service},
    {"osservice", "OSService", &CheckDefinition::os_service},
    {"successbeforepassing", "SuccessBeforePassing", &CheckDefinition::success_before_passing},
    {"failuresbeforewarning", "FailuresBeforeWarning", &CheckDefinition::failures_before_warning},
    {"failuresbeforecritical", "FailuresBeforeCritical",
     &CheckDefinition::failures_before_critical},
    {"outputmaxsize", "OutputMaxSize", &CheckDefinition::output_max_size},
};

// Decodes `key` into `def` if it is a check-type field; other keys are ignored.
Status ReadDefinitionField(const Reader& r, std::string_view key, element v, CheckDefinition* def) {
  for (const DefinitionField& f : kDefinitionFields) {
    if (f.key == key) {
      return std::visit([&](auto member) { return r.Read(v, f.wire_name, &(def->*member)); },
                        f.member);
    }
  }
  return Status::Ok();
}

// Sets definition.type from the one kind-selecting field that is set. When several are set the
// check is ambiguous: the type is the first in Consul's precedence and decode_error explains,
// so the catalog can answer "Invalid check: <decode_error>".
void ClassifyCheck(CheckSpec* spec) {
  CheckDefinition& d = spec->definition;
  struct Kind {
    bool set;
    CheckType type;
    std::string_view name;
  };
  const Kind kinds[] = {
      {d.ttl > Nanos::zero(), CheckType::kTtl, "TTL"},
      {!d.http.empty(), CheckType::kHttp, "HTTP"},
      {!d.tcp.empty(), CheckType::kTcp, "TCP"},
      {!d.grpc.empty(), CheckType::kGrpc, "GRPC"},
      {!d.script_args.empty(), CheckType::kScript, "ScriptArgs"},
      {!d.udp.empty(), CheckType::kUdp, "UDP"},
      {!d.h2ping.empty(), CheckType::kH2ping, "H2PING"},
      {!d.alias_service.empty() || !d.alias_node.empty(), CheckType::kAlias,
       d.alias_service.empty() ? "AliasNode" : "AliasService"},
      {!d.os_service.empty(), CheckType::kOsService, "OSService"},
  };
  d.type = CheckType::kNone;
  std::vector<std::string_view> names;
  for (const Kind& k : kinds) {
    if (k.set) {
      if (names.empty()) {
        d.type = k.type;
      }
      names.push_back(k.name);
    }
  }
  if (names.size() < 2) {
    return;
  }
  std::string why;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      why += (i + 1 == names.size()) ? " and " : ", ";
    }
    why.append(names[i]);
  }
  why += " are mutually exclusive";
  spec->decode_error = std::move(why);
}

bool IsEmptyCheck(const CheckSpec& c) {
  return c.id.empty() && c.name.empty() && c.notes.empty() && !c.status.has_value() &&
         c.service_id.empty() && c.output.empty() && c.invalid_status.empty() &&
         c.decode_error.empty() && c.definition == CheckDefinition{};
}

// Which body a check object comes from; they differ in the fields they carry.
enum class CheckForm {
  kServiceEmbedded,  // agent service register Check/Checks: flat type fields, no ServiceID
  kAgentRegister,    // agent check register: flat type fields plus ServiceID
  kCatalog,          // catalog register HealthCheck: Output, ServiceID and a Definition object
};

Status ReadStatus(const Reader& r, element v, CheckSpec* spec) {
  std::string text;
  BEACON_RETURN_IF_ERROR(r.Read(v, "Status", &text));
  spec->status.reset();
  spec->invalid_status.clear();
  if (text.empty()) {
    return Status::Ok();  // "" = not given: new checks start critical
  }
  spec->status = catalog::ParseHealthStatus(text);
  if (!spec->status) {
    // The catalog reports this with the message of the endpoint (4.1 / 4.6).
    spec->invalid_status = std::move(text);
  }
  return Status::Ok();
}

// Decodes a check object at `path` into *spec. REQUIRES: v is not null.
Status DecodeCheck(element v, std::string path, CheckForm form, CheckSpec* spec) {
  Reader r(path);
  std::optional<std::string> id;
  std::optional<std::string> check_id;
  Nanos top_interval{0};
  Nanos top_timeout{0};
  BEACON_RETURN_IF_ERROR(
      ForEachField(v, path, [&](std::string_view key, std::string_view, element value) -> Status {
        if (key == "id") {
          return r.Read(value, "ID", &id.emplace());
        }
        if (key == "checkid") {
          return r.Read(value, "CheckID", &check_id.emplace());
        }
        if (key == "name") {
          return r.Read(value, "Name", &spec->name);
        }
        if (key == "notes") {
          return r.Read(value, "Notes", &spec->notes);
        }
        if (key == "status") {
          return ReadStatus(r, value, spec);
        }
        if (key == "serviceid") {
          // Consul's service-embedded CheckType has no ServiceID: the check belongs to the
          // service being registered.
          return form == CheckForm::kServiceEmbedded
                     ? Status::Ok()
                     : r.Read(value, "ServiceID", &spec->service_id);
        }
        if (form != CheckForm::kCatalog) {
          return ReadDefinitionField(r, key, value, &spec->definition);
        }
        if (key == "output") {
          return r.Read(value, "Output", &spec->output);
        }
        if (key == "interval") {
          return r.Read(value, "Interval", &top_interval);
        }
        if (key == "timeout") {
          return r.Read(value, "Timeout", &top_timeout);
        }
        if (key == "definition") {
          std::string def_path = r.PathOf("Definition");
          Reader dr(def_path);
          return ForEachField(value, def_path,
                              [&](std::string_view k, std::string_view, element dv) -> Status {
                                return ReadDefinitionField(dr, k, dv, &spec->definition);
                              });
        }
        return Status::Ok();  // Node, ServiceName, ServiceTags, Type, ...: derived, ignored
      }));
  // ID wins over its alias CheckID.
  if (id) {
    spec->id = std::move(*id);
  } else if (check_id) {
    spec->id = std::move(*check_id);
  }
  if (spec->definition.interval == Nanos::zero()) {
    spec->definition.interval = top_interval;
  }
  if (spec->definition.timeout == Nanos::zero()) {
    spec->definition.timeout = top_timeout;
  }
  ClassifyCheck(spec);
  return Status::Ok();
}

// `Check` (one object) of a registration body: *out is left empty when every field is empty.
Status DecodeSingleCheck(element v, std::string_view field, CheckForm form,
                         std::optional<CheckSpec>* out) {
  CheckSpec spec;
  BEACON_RETURN_IF_ERROR(DecodeCheck(v, std::string(field), form, &spec));
  // An embedded Check whose fields are all empty is no check at all (contract 1.2).
  if (IsEmptyCheck(spec)) {
    out->reset();
  } else {
    *out = std::move(spec);
  }
  return Status::Ok();
}

// `Checks` (a list) of a registration body; null elements are skipped, empty ones kept so that
// validation reports them as Consul does.
Status DecodeCheckList(const Reader& r, element v, std::string_view field, CheckForm form,
                       std::vector<CheckSpec>* out) {
  simdjson::dom::array list;
  if (v.get(list) != simdjson::SUCCESS) {
    return TypeError(r.PathOf(field), "a list of checks", v);
  }
  out->clear();
  size_t i = 0;
  for (element item : list) {
    if (!item.is_null()) {
      CheckSpec spec;
      BEACON_RETURN_IF_ERROR(DecodeCheck(item, r.PathOf(field, i), form, &spec));
      out->push_back(std::move(spec));
    }
    ++i;
  }
  return Status::Ok();
}

// ---- services ---------------------------------------------------------------------------------

Status ReadServiceTaggedAddresses(const Reader& r, element v,
                                  catalog::FlatStringMap<catalog::TaggedAddress>* out) {
  std::string path = r.PathOf("TaggedAddresses");
  simdjson::dom::object obj;
  if (v.get(obj) != simdjson::SUCCESS) {
    return TypeError(path, "an object", v);
  }
  catalog::FlatStringMapPairs<catalog::TaggedAddress> pairs;
  pairs.reserve(obj.size());
  for (auto [name, value] : obj) {
    catalog::TaggedAddress& slot =
        pairs.emplace_back(std::string(name), catalog::TaggedAddress{}).second;
    if (value.is_null()) {
      continue;
    }
    std::string inner_path = path + "." + std::string(name);
    Reader ir(inner_path);
    BEACON_RETURN_IF_ERROR(ForEachField(
        value, inner_path, [&](std::string_view key, std::string_view, element fv) -> Status {
          if (key == "address") {
            return ir.Read(fv, "Address", &slot.address);
          }
          if (key == "port") {
            return ir.Read(fv, "Port", &slot.port);
          }
          return Status::Ok();
        }));
  }
  *out = catalog::MakeFlatStringMap<catalog::TaggedAddress>(std::move(pairs));
  return Status::Ok();
}

Status ReadWeights(const Reader& r, element v, catalog::Weights* out) {
  std::string path = r.PathOf("Weights");
  Reader wr(path);
  // A Weights object given replaces the defaults entirely (Consul decodes into a fresh struct),
  // so {"Warning": 1} has Passing 0, which validation rejects as Consul does.
  *out = catalog::Weights{0, 0};
  return ForEachField(v, path, [&](std::string_view key, std::string_view, element fv) -> Status {
    if (key == "passing") {
      return wr.Read(fv, "Passing", &out->passing);
    }
    if (key == "warning") {
      return wr.Read(fv, "Warning", &out->warning);
    }
    return Status::Ok();
  });
}

// Decodes one key of a service object. The agent form names the service `Name`, the catalog's
// NodeService form `Service`. Keys that are not service fields are ignored.
Status ReadServiceField(const Reader& r, std::string_view key, element v, bool catalog_form,
                        catalog::Service* s) {
  if (key == "id") {
    return r.Read(v, "ID", &s->id);
  }
  if (key == (catalog_form ? "service" : "name")) {
    return r.Read(v, catalog_form ? "Service" : "Name", &s->name);
  }
  if (key == "tags") {
    std::vector<std::string> tags;
    BEACON_RETURN_IF_ERROR(r.Read(v, "Tags", &tags));
    s->tags = catalog::TagList(std::move(tags));
    return Status::Ok();
  }
  if (key == "address") {
    return r.Read(v, "Address", &s->address);
  }
  if (key == "taggedaddresses") {
    return ReadServiceTaggedAddresses(r, v, &s->tagged_addresses);
  }
  if (key == "meta") {
    return r.Read(v, "Meta", &s->meta);
  }
  if (key == "port") {
    return r.Read(v, "Port", &s->port);
  }
  if (key == "weights") {
    return ReadWeights(r, v, &s->weights);
  }
  if (key == "enabletagoverride") {
    return r.Read(v, "EnableTagOverride", &s->enable_tag_override);
  }
  if (key == "kind") {
    return r.Read(v, "Kind", &s->kind);
  }
  return Status::Ok();  // Proxy, Connect, SocketPath, Token, Namespace, ...: ignored
}

}  // namespace

Result<catalog::RegisterService> DecodeAgentServiceRegister(std::string_view body) {
  catalog::RegisterService req;
  std::optional<CheckSpec> check;
  std::vector<CheckSpec> checks;
  const Reader r("");
  BEACON_RETURN_IF_ERROR(ParseBody(body, [&](element root) {
    return ForEachField(root, "", [&](std::string_view key, std::string_view, element v) {
      if (key == "check") {
        return DecodeSingleCheck(v, "Check", CheckForm::kServiceEmbedded, &check);
      }
      if (key == "checks") {
        return DecodeCheckList(r, v, "Checks", CheckForm::kServiceEmbedded, &checks);
      }
      return ReadServiceField(r, key, v, /*catalog_form=*/false, &req.service);
    });
  }));
  if (check) {
    req.checks.push_back(std::move(*check));
  }
  for (CheckSpec& c : checks) {
    req.checks.push_back(std::move(c));
  }
  return req;
}

Result<catalog::RegisterCheck> DecodeAgentCheckRegister(std::string_view body) {
  catalog::RegisterCheck req;
  // A `null` body leaves an empty check; the catalog reports what is missing.
  BEACON_RETURN_IF_ERROR(ParseBody(body, [&](element root) {
    return DecodeCheck(root, "", CheckForm::kAgentRegister, &req.check);
  }));
  return req;
}

Result<catalog::UpdateTtl> DecodeCheckUpdate(std::string_view body) {
  catalog::UpdateTtl req;
  std::string status;
  const Reader r("");
  BEACON_RETURN_IF_ERROR(ParseBody(body, [&](element root) {
    return ForEachField(root, "", [&](std::string_view key, std::string_view, element v) {
      if (key == "status") {
        return r.Read(v, "Status", &status);
      }
      if (key == "output") {
        return r.Read(v, "Output", &req.output);
      }
      return Status::Ok();
    });
  }));
  std::optional<catalog::HealthStatus> parsed = catalog::ParseHealthStatus(status);
  if (!parsed) {
    return InvalidArgument("Invalid check status: '" + status + "'");
  }
  req.status = *parsed;
  return req;
}

Result<catalog::CatalogRegister> DecodeCatalogRegister(std::string_view body) {
  catalog::CatalogRegister req;
  std::optional<CheckSpec> check;
  std::vector<CheckSpec> checks;
  const Reader r("");
  BEACON_RETURN_IF_ERROR(ParseBody(body, [&](element root) {
    return ForEachField(root, "", [&](std::string_view key, std::string_view, element v) {
      if (key == "node") {
        return r.Read(v, "Node", &req.node.name);
      }
      if (key == "id") {
        return r.Read(v, "ID", &req.node.id);
      }
      if (key == "address") {
        return r.Read(v, "Address", &req.node.address);
      }
      if (key == "datacenter") {
        return r.Read(v, "Datacenter", &req.node.datacenter);
      }
      if (key == "taggedaddresses") {
        return r.Read(v, "TaggedAddresses", &req.node.tagged_addresses);
      }
      if (key == "nodemeta") {
        return r.Read(v, "NodeMeta", &req.node.meta);
      }
      if (key == "skipnodeupdate") {
        return r.Read(v, "SkipNodeUpdate", &req.skip_node_update);
      }
      if (key == "service") {
        catalog::Service& service = req.service.emplace();
        const Reader sr("Service");
        return ForEachField(v, "Service", [&](std::string_view k, std::string_view, element sv) {
          return ReadServiceField(sr, k, sv, /*catalog_form=*/true, &service);
        });
      }
      if (key == "check") {
        return DecodeSingleCheck(v, "Check", CheckForm::kCatalog, &check);
      }
      if (key == "checks") {
        return DecodeCheckList(r, v, "Checks", CheckForm::kCatalog, &checks);
      }
      return Status::Ok();  // WriteRequest, Token, Namespace, ...: ignored
    });
  }));
  if (check) {
    req.checks.push_back(std::move(*check));
  }
  for (CheckSpec& c : checks) {
    req.checks.push_back(std::move(c));
  }
  return req;
}

Result<catalog::CatalogDeregister> DecodeCatalogDeregister(std::string_view body) {
  catalog::CatalogDeregister req;
  std::string datacenter;  // accepted for type checking only; the handler checks ?dc
  const Reader r("");
  BEACON_RETURN_IF_ERROR(ParseBody(body, [&](element root) {
    return ForEachField(root, "", [&](std::string_view key, std::string_view, element v) {
      if (key == "node") {
        return r.Read(v, "Node", &req.node);
      }
      if (key == "serviceid") {
        return r.Read(v, "ServiceID", &req.service_id);
      }
      if (key == "checkid") {
        return r.Read(v, "CheckID", &req.check_id);
      }
      if (key == "datacenter") {
        return r.Read(v, "Datacenter", &datacenter);
      }
      return Status::Ok();
    });
  }));
  return req;
}

}  // namespace beacon::wire
