// Record codec (contract in record_codec.h).
//
// Records are compact JSON objects with short keys chosen once and never renamed: they are the
// on-disk format of every data directory. Rules that keep old data readable:
//   - a key is only ever added, never reused for another meaning; unknown keys are ignored;
//   - a missing key decodes to the struct's default, so fields whose default is not zero/empty
//     (weights, agent_owned) are always written, and the many zero-valued check-definition fields
//     are omitted to keep check records small;
//   - enums are stored by name ("passing", "http"), never by number, so reordering an enum
//     cannot change the meaning of stored data.
// RapidJSON writes, simdjson reads (with its error-code API only: nothing throws).
#include "catalog/record_codec.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace beacon::catalog {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// ---- check type names (storage only; independent of the wire's CheckTypeName) ---------------

struct TypeName {
  CheckType type;
  std::string_view name;
};
constexpr TypeName kTypeNames[] = {
    {CheckType::kNone, ""},         {CheckType::kTtl, "ttl"},
    {CheckType::kHttp, "http"},     {CheckType::kTcp, "tcp"},
    {CheckType::kGrpc, "grpc"},     {CheckType::kScript, "script"},
    {CheckType::kAlias, "alias"},   {CheckType::kUdp, "udp"},
    {CheckType::kH2ping, "h2ping"}, {CheckType::kOsService, "os_service"},
};

std::string_view StoredTypeName(CheckType t) {
  for (const TypeName& tn : kTypeNames) {
    if (tn.type == t) {
      return tn.name;
    }
  }
  return "";
}

std::optional<CheckType> ParseStoredType(std::string_view name) {
  for (const TypeName& tn : kTypeNames) {
    if (tn.name == name) {
      return tn.type;
    }
  }
  return std::nullopt;
}

// ---- writing ----------------------------------------------------------------------------------

void Key(JsonWriter& w, std::string_view k) {
  w.Key(k.empty() ? "" : k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void Str(JsonWriter& w, std::string_view s) {
  w.String(s.empty() ? "" : s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void Put(JsonWriter& w, std::string_view key, std::string_view value) {
  Key(w, key);
  Str(w, value);
}
void Put(JsonWriter& w, std::string_view key, const std::string& value) {
  Put(w, key, std::string_view(value));
}
void Put(JsonWriter& w, std::string_view key, bool value) {
  Key(w, key);
  w.Bool(value);
}
void Put(JsonWriter& w, std::string_view key, int value) {
  Key(w, key);
  w.Int(value);
}
void Put(JsonWriter& w, std::string_view key, int64_t value) {
  Key(w, key);
  w.Int64(value);
}
void Put(JsonWriter& w, std::string_view key, uint64_t value) {
  Key(w, key);
  w.Uint64(value);
}
void Put(JsonWriter& w, std::string_view key, Nanos value) {
  Put(w, key, static_cast<int64_t>(value.count()));
}
void Put(JsonWriter& w, std::string_view key, const std::vector<std::string>& list) {
  Key(w, key);
  w.StartArray();
  for (const std::string& s : list) {
    Str(w, s);
  }
  w.EndArray();
}
void Put(JsonWriter& w, std::string_view key, const StringMap& map) {
  Key(w, key);
  w.StartObject();
  for (const auto& [k, v] : map) {
    Key(w, k);
    Str(w, v);
  }
  w.EndObject();
}
void Put(JsonWriter& w, std::string_view key,
         const std::map<std::string, std::vector<std::string>>& map) {
  Key(w, key);
  w.StartObject();
  for (const auto& [k, v] : map) {
    Put(w, k, v);
  }
  w.EndObject();
}

// Writes key/value only when the value differs from its default (check-definition fields).
template <typename T>
void PutIfSet(JsonWriter& w, std::string_view key, const T& value) {
  if (value != T{}) {
    Put(w, key, value);
  }
}

void PutDefinition(JsonWriter& w, std::string_view key, const CompactCheckDefinition& d) {
  Key(w, key);
  w.StartObject();
  PutIfSet(w, "type", StoredTypeName(d.type));
  PutIfSet(w, "ttl", d.ttl);
  PutIfSet(w, "interval", d.interval);
  PutIfSet(w, "timeout", d.timeout);
  PutIfSet(w, "dcsa", d.deregister_critical_service_after);
  if (const CheckDefinitionExtended* e = d.extended()) {  // null: every field below is unset
    PutIfSet(w, "http", e->http);
    PutIfSet(w, "method", e->method);
    PutIfSet(w, "header", e->header);
    PutIfSet(w, "body", e->body);
    PutIfSet(w, "no_redirects", e->disable_redirects);
    PutIfSet(w, "tls_skip_verify", e->tls_skip_verify);
    PutIfSet(w, "tls_server_name", e->tls_server_name);
    PutIfSet(w, "tcp", e->tcp);
    PutIfSet(w, "tcp_tls", e->tcp_use_tls);
    PutIfSet(w, "grpc", e->grpc);
    PutIfSet(w, "grpc_tls", e->grpc_use_tls);
    PutIfSet(w, "udp", e->udp);
    PutIfSet(w, "h2ping", e->h2ping);
    PutIfSet(w, "args", e->script_args);
    PutIfSet(w, "docker", e->docker_container_id);
    PutIfSet(w, "shell", e->shell);
    PutIfSet(w, "alias_node", e->alias_node);
    PutIfSet(w, "alias_service", e->alias_service);
    PutIfSet(w, "os_service", e->os_service);
  }
  PutIfSet(w, "sbp", d.success_before_passing);
  PutIfSet(w, "fbw", d.failures_before_warning);
  PutIfSet(w, "fbc", d.failures_before_critical);
  PutIfSet(w, "oms", d.output_max_size);
  w.EndObject();
}

template <typename Fn>
std::string WriteRecord(Fn&& fn) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  fn(w);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

// ---- reading ----------------------------------------------------------------------------------

// Field readers for one record kind; errors read "<kind> record: <key>: <why>".
class Reader {
 public:
  explicit Reader(std::string_view kind) : kind_(kind) {}

  Status Error(std::string_view key, std::string_view why) const {
    std::string m(kind_);
    m += " record: ";
    m.append(key);
    m += ": ";
    m.append(why);
    return InvalidArgument(std::move(m));
  }

  Status Get(element v, std::string_view key, std::string* out) const {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) {
      return Error(key, "expected a string");
    }
    out->assign(s);
    return Status::Ok();
  }
  Status Get(element v, std::string_view key, bool* out) const {
    return v.get(*out) == simdjson::SUCCESS ? Status::Ok() : Error(key, "expected a bool");
  }
  Status Get(element v, std::string_view key, int64_t* out) const {
    return v.get(*out) == simdjson::SUCCESS ? Status::Ok() : Error(key, "expected an int64");
  }
  Status Get(element v, std::string_view key, uint64_t* out) const {
    // get_uint64 also accepts non-negative values simdjson typed as INT64.
    return v.get(*out) == simdjson::SUCCESS ? Status::Ok() : Error(key, "expected a uint64");
  }
  Status Get(element v, std::string_view key, int* out) const {
    int64_t i = 0;
    if (v.get(i) != simdjson::SUCCESS || i < std::numeric_limits<int>::min() ||
        i > std::numeric_limits<int>::max()) {
      return Error(key, "expected an int");
    }
    *out = static_cast<int>(i);
    return Status::Ok();
  }
  Status Get(element v, std::string_view key, Nanos* out) const {
    int64_t ns = 0;
    BEACON_RETURN_IF_ERROR(Get(v, key, &ns));
    *out = Nanos(ns);
    return Status::Ok();
  }
  Status Get(element v, std::string_view key, std::vector<std::string>* out) const {
    simdjson::dom::array list;
    if (v.get(list) != simdjson::SUCCESS) {
      return Error(key, "expected a list");
    }
    out->clear();
    for (element item : list) {
      BEACON_RETURN_IF_ERROR(Get(item, key, &out->emplace_back()));
    }
    return Status::Ok();
  }
  Status Get(element v, std::string_view key, TagList* out) const {
    std::vector<std::string> list;
    BEACON_RETURN_IF_ERROR(Get(v, key, &list));
    *out = TagList(std::move(list));
    return Status::Ok();
  }
  Status Get(element v, std::string_view key, StringMap* out) const {
    simdjson::dom::object obj;
    if (v.get(obj) != simdjson::SUCCESS) {
      return Error(key, "expected an object");
    }
    FlatStringMapPairs<std::string> pairs;
    pairs.reserve(obj.size());
    for (auto [k, value] : obj) {
      std::string& slot = pairs.emplace_back(std::string(k), std::string()).second;
      BEACON_RETURN_IF_ERROR(Get(value, key, &slot));
    }
    *out = MakeFlatStringMap<std::string>(std::move(pairs));
    return Status::Ok();
  }
  Status Get(element v, std::string_view key,
             std::map<std::string, std::vector<std::string>>* out) const {
    simdjson::dom::object obj;
    if (v.get(obj) != simdjson::SUCCESS) {
      return Error(key, "expected an object");
    }
    out->clear();
    for (auto [k, value] : obj) {
      BEACON_RETURN_IF_ERROR(Get(value, key, &(*out)[std::string(k)]));
    }
    return Status::Ok();
  }

  // Calls fn(key, value) for each member of the object `v`.
  template <typename Fn>
  Status ForEach(element v, std::string_view key, Fn&& fn) const {
    simdjson::dom::object obj;
    if (v.get(obj) != simdjson::SUCCESS) {
      return Error(key, "expected an object");
    }
    for (auto [k, value] : obj) {
      BEACON_RETURN_IF_ERROR(fn(k, value));
    }
    return Status::Ok();
  }

 private:
  std::string_view kind_;
};

// Parses `bytes` and calls fn(key, value) for every member of the top-level object.
template <typename Fn>
Status ReadRecord(std::string_view bytes, const Reader& r, std::string_view kind, Fn&& fn) {
  // Loading a catalog decodes many small records in a row on one thread: reuse one parser.
  thread_local simdjson::dom::parser parser;
  element root;
  simdjson::error_code err = parser.parse(bytes.data(), bytes.size()).get(root);
  if (err != simdjson::SUCCESS) {
    return InvalidArgument(std::string(kind) + " record: " + simdjson::error_message(err));
  }
  if (root.type() != element_type::OBJECT) {
    return InvalidArgument(std::string(kind) + " record: not a JSON object");
  }
  return r.ForEach(root, kind, std::forward<Fn>(fn));
}

Status GetTaggedAddresses(const Reader& r, element v, std::string_view key,
                          FlatStringMap<TaggedAddress>* out) {
  FlatStringMapPairs<TaggedAddress> pairs;
  simdjson::dom::object obj;
  if (v.get(obj) == simdjson::SUCCESS) pairs.reserve(obj.size());
  BEACON_RETURN_IF_ERROR(r.ForEach(v, key, [&](std::string_view name, element value) {
    TaggedAddress& slot = pairs.emplace_back(std::string(name), TaggedAddress{}).second;
    return r.ForEach(value, key, [&](std::string_view k, element fv) {
      if (k == "addr") {
        return r.Get(fv, key, &slot.address);
      }
      if (k == "port") {
        return r.Get(fv, key, &slot.port);
      }
      return Status::Ok();
    });
  }));
  *out = MakeFlatStringMap<TaggedAddress>(std::move(pairs));
  return Status::Ok();
}

Status GetDefinition(const Reader& r, element v, CheckDefinition* d) {
  return r.ForEach(v, "def", [&](std::string_view k, element fv) -> Status {
    if (k == "type") {
      std::string name;
      BEACON_RETURN_IF_ERROR(r.Get(fv, k, &name));
      std::optional<CheckType> t = ParseStoredType(name);
      if (!t) {
        return r.Error(k, "unknown check type \"" + name + "\"");
      }
      d->type = *t;
      return Status::Ok();
    }
    if (k == "ttl") {
      return r.Get(fv, k, &d->ttl);
    }
    if (k == "interval") {
      return r.Get(fv, k, &d->interval);
    }
    if (k == "timeout") {
      return r.Get(fv, k, &d->timeout);
    }
    if (k == "dcsa") {
      return r.Get(fv, k, &d->deregister_critical_service_after);
    }
    if (k == "http") {
      return r.Get(fv, k, &d->http);
    }
    if (k == "method") {
      return r.Get(fv, k, &d->method);
    }
    if (k == "header") {
      return r.Get(fv, k, &d->header);
    }
    if (k == "body") {
      return r.Get(fv, k, &d->body);
    }
    if (k == "no_redirects") {
      return r.Get(fv, k, &d->disable_redirects);
    }
    if (k == "tls_skip_verify") {
      return r.Get(fv, k, &d->tls_skip_verify);
    }
    if (k == "tls_server_name") {
      return r.Get(fv, k, &d->tls_server_name);
    }
    if (k == "tcp") {
      return r.Get(fv, k, &d->tcp);
    }
    if (k == "tcp_tls") {
      return r.Get(fv, k, &d->tcp_use_tls);
    }
    if (k == "grpc") {
      return r.Get(fv, k, &d->grpc);
    }
    if (k == "grpc_tls") {
      return r.Get(fv, k, &d->grpc_use_tls);
    }
    if (k == "udp") {
      return r.Get(fv, k, &d->udp);
    }
    if (k == "h2ping") {
      return r.Get(fv, k, &d->h2ping);
    }
    if (k == "args") {
      return r.Get(fv, k, &d->script_args);
    }
    if (k == "docker") {
      return r.Get(fv, k, &d->docker_container_id);
    }
    if (k == "shell") {
      return r.Get(fv, k, &d->shell);
    }
    if (k == "alias_node") {
      return r.Get(fv, k, &d->alias_node);
    }
    if (k == "alias_service") {
      return r.Get(fv, k, &d->alias_service);
    }
    if (k == "os_service") {
      return r.Get(fv, k, &d->os_service);
    }
    if (k == "sbp") {
      return r.Get(fv, k, &d->success_before_passing);
    }
    if (k == "fbw") {
      return r.Get(fv, k, &d->failures_before_warning);
    }
    if (k == "fbc") {
      return r.Get(fv, k, &d->failures_before_critical);
    }
    if (k == "oms") {
      return r.Get(fv, k, &d->output_max_size);
    }
    return Status::Ok();
  });
}

}  // namespace

std::string EncodeNodeRecord(const Node& node) {
  return WriteRecord([&](JsonWriter& w) {
    Put(w, "id", node.id);
    Put(w, "name", node.name);
    Put(w, "addr", node.address);
    Put(w, "dc", node.datacenter);
    Put(w, "tagged", node.tagged_addresses);
    Put(w, "meta", node.meta);
    Put(w, "ci", node.create_index);
    Put(w, "mi", node.modify_index);
  });
}

Result<Node> DecodeNodeRecord(std::string_view bytes) {
  Node n;
  const Reader r("node");
  BEACON_RETURN_IF_ERROR(ReadRecord(bytes, r, "node", [&](std::string_view k, element v) {
    if (k == "id") {
      return r.Get(v, k, &n.id);
    }
    if (k == "name") {
      return r.Get(v, k, &n.name);
    }
    if (k == "addr") {
      return r.Get(v, k, &n.address);
    }
    if (k == "dc") {
      return r.Get(v, k, &n.datacenter);
    }
    if (k == "tagged") {
      return r.Get(v, k, &n.tagged_addresses);
    }
    if (k == "meta") {
      return r.Get(v, k, &n.meta);
    }
    if (k == "ci") {
      return r.Get(v, k, &n.create_index);
    }
    if (k == "mi") {
      return r.Get(v, k, &n.modify_index);
    }
    return Status::Ok();
  }));
  return n;
}

std::string EncodeServiceRecord(const Service& s) {
  return WriteRecord([&](JsonWriter& w) {
    Put(w, "id", s.id);
    Put(w, "name", s.name);
    Put(w, "tags", s.tags);
    Put(w, "addr", s.address);
    Key(w, "tagged");
    w.StartObject();
    for (const auto& [k, ta] : s.tagged_addresses) {
      Key(w, k);
      w.StartObject();
      Put(w, "addr", ta.address);
      Put(w, "port", ta.port);
      w.EndObject();
    }
    w.EndObject();
    Put(w, "meta", s.meta);
    Put(w, "port", s.port);
    Put(w, "wp", s.weights.passing);
    Put(w, "ww", s.weights.warning);
    Put(w, "eto", s.enable_tag_override);
    Put(w, "kind", s.kind);
    Put(w, "ci", s.create_index);
    Put(w, "mi", s.modify_index);
  });
}

Result<Service> DecodeServiceRecord(std::string_view bytes) {
  Service s;
  const Reader r("service");
  BEACON_RETURN_IF_ERROR(ReadRecord(bytes, r, "service", [&](std::string_view k, element v) {
    if (k == "id") {
      return r.Get(v, k, &s.id);
    }
    if (k == "name") {
      return r.Get(v, k, &s.name);
    }
    if (k == "tags") {
      return r.Get(v, k, &s.tags);
    }
    if (k == "addr") {
      return r.Get(v, k, &s.address);
    }
    if (k == "tagged") {
      return GetTaggedAddresses(r, v, k, &s.tagged_addresses);
    }
    if (k == "meta") {
      return r.Get(v, k, &s.meta);
    }
    if (k == "port") {
      return r.Get(v, k, &s.port);
    }
    if (k == "wp") {
      return r.Get(v, k, &s.weights.passing);
    }
    if (k == "ww") {
      return r.Get(v, k, &s.weights.warning);
    }
    if (k == "eto") {
      return r.Get(v, k, &s.enable_tag_override);
    }
    if (k == "kind") {
      return r.Get(v, k, &s.kind);
    }
    if (k == "ci") {
      return r.Get(v, k, &s.create_index);
    }
    if (k == "mi") {
      return r.Get(v, k, &s.modify_index);
    }
    return Status::Ok();
  }));
  // Records written before tagged addresses were derived hold the derived ones too: dropped.
  DeriveTaggedAddresses(s);
  return s;
}

std::string EncodeCheckRecord(const Check& c) {
  return WriteRecord([&](JsonWriter& w) {
    Put(w, "node", c.node);
    Put(w, "id", c.id);
    Put(w, "name", c.name);
    Put(w, "status", HealthStatusName(c.status));
    Put(w, "notes", c.notes);
    Put(w, "output", c.output);
    Put(w, "sid", c.service_id);
    Put(w, "sname", c.service_name);
    Put(w, "stags", c.service_tags);
    PutDefinition(w, "def", c.definition);
    Put(w, "ci", c.create_index);
    Put(w, "mi", c.modify_index);
    Put(w, "ttl_deadline", c.ttl_deadline_ns);
    Put(w, "critical_since", c.critical_since_ns);
    Put(w, "agent", c.agent_owned);
  });
}

Result<Check> DecodeCheckRecord(std::string_view bytes) {
  Check c;
  const Reader r("check");
  BEACON_RETURN_IF_ERROR(
      ReadRecord(bytes, r, "check", [&](std::string_view k, element v) -> Status {
        if (k == "node") {
          return r.Get(v, k, &c.node);
        }
        if (k == "id") {
          return r.Get(v, k, &c.id);
        }
        if (k == "name") {
          return r.Get(v, k, &c.name);
        }
        if (k == "status") {
          std::string name;
          BEACON_RETURN_IF_ERROR(r.Get(v, k, &name));
          std::optional<HealthStatus> st = ParseHealthStatus(name);
          if (!st) {
            return r.Error(k, "unknown status \"" + name + "\"");
          }
          c.status = *st;
          return Status::Ok();
        }
        if (k == "notes") {
          return r.Get(v, k, &c.notes);
        }
        if (k == "output") {
          return r.Get(v, k, &c.output);
        }
        if (k == "sid") {
          return r.Get(v, k, &c.service_id);
        }
        if (k == "sname") {
          return r.Get(v, k, &c.service_name);
        }
        if (k == "stags") {
          return r.Get(v, k, &c.service_tags);
        }
        if (k == "def") {
          CheckDefinition full;
          BEACON_RETURN_IF_ERROR(GetDefinition(r, v, &full));
          c.definition = full;
          return Status::Ok();
        }
        if (k == "ci") {
          return r.Get(v, k, &c.create_index);
        }
        if (k == "mi") {
          return r.Get(v, k, &c.modify_index);
        }
        if (k == "ttl_deadline") {
          return r.Get(v, k, &c.ttl_deadline_ns);
        }
        if (k == "critical_since") {
          return r.Get(v, k, &c.critical_since_ns);
        }
        if (k == "agent") {
          return r.Get(v, k, &c.agent_owned);
        }
        return Status::Ok();
      }));
  return c;
}

}  // namespace beacon::catalog
