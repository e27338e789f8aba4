// Response and definition-file decoders (see json_decode.h for the rules they share).
#include "client/json_decode.h"

// Everything that links simdjson::simdjson is built with this; see tests/testutil/agent/json.h
// for why a mismatch matters.
#ifndef SIMDJSON_THREADS_ENABLED
#define SIMDJSON_THREADS_ENABLED 1
#endif
#include <simdjson.h>

#include <cctype>
#include <cmath>

#include "beacon/json.h"

namespace beacon::client {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// "Service_ID" -> "serviceid".
std::string Norm(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c != '_') {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return out;
}

std::string_view TypeName(element_type t) {
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

// Reads typed values and keeps the first error with its path.
class Decoder {
 public:
  Decoder(StatusCode code, std::string what) : code_(code), what_(std::move(what)) {}

  bool failed() const { return !error_.empty(); }
  Status status() const { return failed() ? Status(code_, what_ + ": " + error_) : Status(); }

  void Fail(std::string_view path, std::string_view why) {
    if (error_.empty()) {
      error_ = path.empty() ? std::string(why) : std::string(path) + ": " + std::string(why);
    }
  }
  void Expected(std::string_view path, std::string_view want, element v) {
    Fail(path, "expected " + std::string(want) + ", got " + std::string(TypeName(v.type())));
  }

  static bool IsNull(element v) { return v.type() == element_type::NULL_VALUE; }

  void Str(element v, std::string_view path, std::string* out) {
    if (IsNull(v)) {
      return;
    }
    std::string_view s;
    if (v.get_string().get(s)) {
      return Expected(path, "a string", v);
    }
    out->assign(s);
  }

  void Int(element v, std::string_view path, int* out) {
    if (IsNull(v)) {
      return;
    }
    int64_t i = 0;
    if (v.get_int64().get(i) || i < INT32_MIN || i > INT32_MAX) {
      return Expected(path, "an integer", v);
    }
    *out = static_cast<int>(i);
  }

  void U64(element v, std::string_view path, uint64_t* out) {
    if (IsNull(v)) {
      return;
    }
    uint64_t u = 0;
    if (v.get_uint64().get(u)) {
      return Expected(path, "an unsigned integer", v);
    }
    *out = u;
  }

  void Double(element v, std::string_view path, double* out) {
    if (IsNull(v)) {
      return;
    }
    double d = 0;
    if (v.get_double().get(d)) {
      return Expected(path, "a number", v);
    }
    *out = d;
  }

  void Bool(element v, std::string_view path, bool* out) {
    if (IsNull(v)) {
      return;
    }
    bool b = false;
    if (v.get_bool().get(b)) {
      return Expected(path, "a bool", v);
    }
    *out = b;
  }

  void StrList(element v, std::string_view path, std::vector<std::string>* out) {
    out->clear();
    if (IsNull(v)) {
      return;
    }
    simdjson::dom::array arr;
    if (v.get_array().get(arr)) {
      return Expected(path, "a list of strings", v);
    }
    size_t i = 0;
    for (element e : arr) {
      std::string s;
      Str(e, std::string(path) + "[" + std::to_string(i++) + "]", &s);
      out->push_back(std::move(s));
    }
  }

  void StrMap(element v, std::string_view path, std::map<std::string, std::string>* out) {
    out->clear();
    if (IsNull(v)) {
      return;
    }
    simdjson::dom::object obj;
    if (v.get_object().get(obj)) {
      return Expected(path, "an object of strings", v);
    }
    for (auto field : obj) {
      std::string s;
      Str(field.value, std::string(path) + "." + std::string(field.key), &s);
      (*out)[std::string(field.key)] = std::move(s);
    }
  }

  // A Go duration string or a number of nanoseconds.
  void Duration(element v, std::string_view path, std::chrono::milliseconds* out) {
    if (IsNull(v)) {
      return;
    }
    std::string_view s;
    if (!v.get_string().get(s)) {
      auto d = ParseDuration(s);
      if (!d.ok()) {
        return Fail(path, d.status().message());
      }
      *out = *d;
      return;
    }
    int64_t ns = 0;
    if (!v.get_int64().get(ns) && ns >= 0) {
      *out = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(ns));
      return;
    }
    Expected(path, "a duration", v);
  }

  // Calls fn(normalised key, value, path of the field) for every field of the object `v`.
  template <typename Fn>
  void Fields(element v, std::string_view path, Fn&& fn) {
    if (IsNull(v)) {
      return;
    }
    simdjson::dom::object obj;
    if (v.get_object().get(obj)) {
      return Expected(path, "an object", v);
    }
    for (auto field : obj) {
      if (failed()) {
        return;
      }
      std::string sub =
          path.empty() ? std::string(field.key) : std::string(path) + "." + std::string(field.key);
      fn(Norm(field.key), field.value, std::string_view(sub));
    }
  }

  // Calls fn(element, path) for every element of the array `v`.
  template <typename Fn>
  void Elements(element v, std::string_view path, Fn&& fn) {
    if (IsNull(v)) {
      return;
    }
    simdjson::dom::array arr;
    if (v.get_array().get(arr)) {
      return Expected(path, "a list", v);
    }
    size_t i = 0;
    for (element e : arr) {
      if (failed()) {
        return;
      }
      fn(e, std::string(path) + "[" + std::to_string(i++) + "]");
    }
  }

 private:
  StatusCode code_;
  std::string what_;
  std::string error_;
};

// Parses `body` with this thread's parser; the element lives until the next Parse on the thread.
Result<element> Parse(std::string_view body, StatusCode code, std::string_view what) {
  thread_local simdjson::dom::parser parser;
  element root;
  auto err = parser.parse(body.data(), body.size()).get(root);
  if (err) {
    return Status(code, std::string(what) + ": invalid JSON: " + simdjson::error_message(err));
  }
  return root;
}

void ReadWeights(Decoder& d, element v, std::string_view path, Weights* w) {
  d.Fields(v, path, [&](const std::string& k, element e, std::string_view p) {
    if (k == "passing") {
      d.Int(e, p, &w->passing);
    } else if (k == "warning") {
      d.Int(e, p, &w->warning);
    }
  });
}

void ReadNode(Decoder& d, element v, std::string_view path, Node* n) {
  d.Fields(v, path, [&](const std::string& k, element e, std::string_view p) {
    if (k == "id") {
      d.Str(e, p, &n->id);
    } else if (k == "node") {
      d.Str(e, p, &n->node);
    } else if (k == "address") {
      d.Str(e, p, &n->address);
    } else if (k == "datacenter") {
      d.Str(e, p, &n->datacenter);
    } else if (k == "taggedaddresses") {
      d.StrMap(e, p, &n->tagged_addresses);
    } else if (k == "meta") {
      d.StrMap(e, p, &n->meta);
    } else if (k == "createindex") {
      d.U64(e, p, &n->create_index);
    } else if (k == "modifyindex") {
      d.U64(e, p, &n->modify_index);
    }
  });
}

void ReadService(Decoder& d, element v, std::string_view path, AgentService* s) {
  d.Fields(v, path, [&](const std::string& k, element e, std::string_view p) {
    if (k == "id") {
      d.Str(e, p, &s->id);
    } else if (k == "service") {
      d.Str(e, p, &s->service);
    } else if (k == "tags") {
      d.StrList(e, p, &s->tags);
    } else if (k == "address") {
      d.Str(e, p, &s->address);
    } else if (k == "port") {
      d.Int(e, p, &s->port);
    } else if (k == "meta") {
      d.StrMap(e, p, &s->meta);
    } else if (k == "weights") {
      ReadWeights(d, e, p, &s->weights);
    } else if (k == "enabletagoverride") {
      d.Bool(e, p, &s->enable_tag_override);
    } else if (k == "kind") {
      d.Str(e, p, &s->kind);
    } else if (k == "datacenter") {
      d.Str(e, p, &s->datacenter);
    } else if (k == "createindex") {
      d.U64(e, p, &s->create_index);
    } else if (k == "modifyindex") {
      d.U64(e, p, &s->modify_index);
    }
  });
}

void ReadCheck(Decoder& d, element v, std::string_view path, HealthCheck* c) {
  d.Fields(v, path, [&](const std::string& k, element e, std::string_view p) {
    if (k == "node") {
      d.Str(e, p, &c->node);
    } else if (k == "checkid") {
      d.Str(e, p, &c->check_id);
    } else if (k == "name") {
      d.Str(e, p, &c->name);
    } else if (k == "status") {
      std::string s;
      d.Str(e, p, &s);
      c->status = ParseHealthStatus(s);
    } else if (k == "notes") {
      d.Str(e, p, &c->notes);
    } else if (k == "output") {
      d.Str(e, p, &c->output);
    } else if (k == "serviceid") {
      d.Str(e, p, &c->service_id);
    } else if (k == "servicename") {
      d.Str(e, p, &c->service_name);
    } else if (k == "servicetags") {
      d.StrList(e, p, &c->service_tags);
    } else if (k == "type") {
      d.Str(e, p, &c->type);
    } else if (k == "createindex") {
      d.U64(e, p, &c->create_index);
    } else if (k == "modifyindex") {
      d.U64(e, p, &c->modify_index);
    }
  });
}

void ReadCheckDefinition(Decoder& d, element v, std::string_view path, CheckDefinition* c) {
  d.Fields(v, path, [&](const std::string& k, element e, std::string_view p) {
    if (k == "checkid" || k == "id") {
      d.Str(e, p, &c->check_id);
    } else if (k == "name") {
      d.Str(e, p, &c->name);
    } else if (k == "notes") {
      d.Str(e, p, &c->notes);
    } else if (k == "status") {
      d.Str(e, p, &c->status);
    } else if (k == "ttl") {
      d.Duration(e, p, &c->ttl);
    } else if (k == "http") {
      d.Str(e, p, &c->http);
    } else if (k == "method") {
      d.Str(e, p, &c->method);
    } else if (k == "header") {
      // Header names keep their case, so this object is walked without Fields().
      c->header.clear();
      simdjson::dom::object headers;
      if (Decoder::IsNull(e)) {
        return;
      }
      if (e.get_object().get(headers)) {
        return d.Expected(p, "an object of string lists", e);
      }
      for (auto h : headers) {
        d.StrList(h.value, std::string(p) + "." + std::string(h.key),
                  &c->header[std::string(h.key)]);
      }
    } else if (k == "tlsskipverify") {
      d.Bool(e, p, &c->tls_skip_verify);
    } else if (k == "tcp") {
      d.Str(e, p, &c->tcp);
    } else if (k == "grpc") {
      d.Str(e, p, &c->grpc);
    } else if (k == "interval") {
      d.Duration(e, p, &c->interval);
    } else if (k == "timeout") {
      d.Duration(e, p, &c->timeout);
    } else if (k == "deregistercriticalserviceafter") {
      d.Duration(e, p, &c->deregister_critical_service_after);
    } else if (k == "successbeforepassing") {
      d.Int(e, p, &c->success_before_passing);
    } else if (k == "failuresbeforecritical") {
      d.Int(e, p, &c->failures_before_critical);
    }
  });
}

void ReadRegistration(Decoder& d, element v, std::string_view path, ServiceRegistration* s) {
  std::vector<CheckDefinition> check, checks;
  d.Fields(v, path, [&](const std::string& k, element e, std::string_view p) {
    if (k == "id") {
      d.Str(e, p, &s->id);
    } else if (k == "name") {
      d.Str(e, p, &s->name);
    } else if (k == "tags") {
      d.StrList(e, p, &s->tags);
    } else if (k == "address") {
      d.Str(e, p, &s->address);
    } else if (k == "port") {
      d.Int(e, p, &s->port);
    } else if (k == "meta") {
      d.StrMap(e, p, &s->meta);
    } else if (k == "weights") {
      ReadWeights(d, e, p, &s->weights);
    } else if (k == "enabletagoverride") {
      d.Bool(e, p, &s->enable_tag_override);
    } else if (k == "check") {
      check.clear();
      if (!Decoder::IsNull(e)) {
        CheckDefinition c;
        ReadCheckDefinition(d, e, p, &c);
        check.push_back(std::move(c));
      }
    } else if (k == "checks") {
      checks.clear();
      d.Elements(e, p, [&](element ce, std::string_view cp) {
        CheckDefinition c;
        ReadCheckDefinition(d, ce, cp, &c);
        checks.push_back(std::move(c));
      });
    }
  });
  // As the agent: Check first, then Checks (consul-api.md 4.1).
  s->checks = std::move(check);
  s->checks.insert(s->checks.end(), checks.begin(), checks.end());
}

}  // namespace

namespace json {

Result<std::vector<ServiceEntry>> DecodeServiceEntries(std::string_view body) {
  constexpr std::string_view kWhat = "decode health answer";
  auto root = Parse(body, StatusCode::kInternal, kWhat);
  if (!root.ok()) {
    return root.status();
  }
  Decoder d(StatusCode::kInternal, std::string(kWhat));
  std::vector<ServiceEntry> entries;
  d.Elements(*root, "", [&](element e, std::string_view path) {
    ServiceEntry entry;
    d.Fields(e, path, [&](const std::string& k, element v, std::string_view p) {
      if (k == "node") {
        ReadNode(d, v, p, &entry.node);
      } else if (k == "service") {
        ReadService(d, v, p, &entry.service);
      } else if (k == "checks") {
        d.Elements(v, p, [&](element ce, std::string_view cp) {
          HealthCheck check;
          ReadCheck(d, ce, cp, &check);
          entry.checks.push_back(std::move(check));
        });
      }
    });
    entries.push_back(std::move(entry));
  });
  if (d.failed()) {
    return d.status();
  }
  return entries;
}

Result<CatalogServiceMap> DecodeCatalogServices(std::string_view body) {
  constexpr std::string_view kWhat = "decode catalog services";
  auto root = Parse(body, StatusCode::kInternal, kWhat);
  if (!root.ok()) {
    return root.status();
  }
  Decoder d(StatusCode::kInternal, std::string(kWhat));
  simdjson::dom::object obj;
  if (root->get_object().get(obj)) {
    d.Expected("", "an object", *root);
    return d.status();
  }
  CatalogServiceMap out;
  for (auto field : obj) {
    d.StrList(field.value, field.key, &out[std::string(field.key)]);
  }
  if (d.failed()) {
    return d.status();
  }
  return out;
}

Result<std::map<std::string, AgentService>> DecodeAgentServices(std::string_view body) {
  constexpr std::string_view kWhat = "decode agent services";
  auto root = Parse(body, StatusCode::kInternal, kWhat);
  if (!root.ok()) {
    return root.status();
  }
  Decoder d(StatusCode::kInternal, std::string(kWhat));
  simdjson::dom::object obj;
  if (root->get_object().get(obj)) {
    d.Expected("", "an object", *root);
    return d.status();
  }
  std::map<std::string, AgentService> out;
  for (auto field : obj) {
    ReadService(d, field.value, field.key, &out[std::string(field.key)]);
  }
  if (d.failed()) {
    return d.status();
  }
  return out;
}

Result<std::map<std::string, HealthCheck>> DecodeAgentChecks(std::string_view body) {
  constexpr std::string_view kWhat = "decode agent checks";
  auto root = Parse(body, StatusCode::kInternal, kWhat);
  if (!root.ok()) {
    return root.status();
  }
  Decoder d(StatusCode::kInternal, std::string(kWhat));
  simdjson::dom::object obj;
  if (root->get_object().get(obj)) {
    d.Expected("", "an object", *root);
    return d.status();
  }
  std::map<std::string, HealthCheck> out;
  for (auto field : obj) {
    ReadCheck(d, field.value, field.key, &out[std::string(field.key)]);
  }
  if (d.failed()) {
    return d.status();
  }
  return out;
}

Result<std::vector<Member>> DecodeMembers(std::string_view body) {
  constexpr std::string_view kWhat = "decode members";
  auto root = Parse(body, StatusCode::kInternal, kWhat);
  if (!root.ok()) {
    return root.status();
  }
  Decoder d(StatusCode::kInternal, std::string(kWhat));
  std::vector<Member> out;
  d.Elements(*root, "", [&](element e, std::string_view path) {
    Member m;
    d.Fields(e, path, [&](const std::string& k, element v, std::string_view p) {
      if (k == "name") {
        d.Str(v, p, &m.name);
      } else if (k == "addr") {
        d.Str(v, p, &m.addr);
      } else if (k == "port") {
        d.Int(v, p, &m.port);
      } else if (k == "tags") {
        d.StrMap(v, p, &m.tags);
      } else if (k == "status") {
        d.Int(v, p, &m.status);
      }
    });
    out.push_back(std::move(m));
  });
  if (d.failed()) {
    return d.status();
  }
  return out;
}

Result<AgentMetrics> DecodeMetrics(std::string_view body) {
  constexpr std::string_view kWhat = "decode agent metrics";
  auto root = Parse(body, StatusCode::kInternal, kWhat);
  if (!root.ok()) {
    return root.status();
  }
  Decoder d(StatusCode::kInternal, std::string(kWhat));
  AgentMetrics out;
  d.Fields(*root, "", [&](const std::string& k, element v, std::string_view p) {
    if (k == "gauges") {
      d.Elements(v, p, [&](element e, std::string_view ep) {
        AgentMetrics::Gauge g;
        d.Fields(e, ep, [&](const std::string& gk, element gv, std::string_view gp) {
          if (gk == "name") {
            d.Str(gv, gp, &g.name);
          } else if (gk == "value") {
            d.Double(gv, gp, &g.value);
          } else if (gk == "labels") {
            d.StrMap(gv, gp, &g.labels);
          }
        });
        out.gauges.push_back(std::move(g));
      });
    } else if (k == "counters") {
      d.Elements(v, p, [&](element e, std::string_view ep) {
        AgentMetrics::Counter c;
        d.Fields(e, ep, [&](const std::string& ck, element cv, std::string_view cp) {
          if (ck == "name") {
            d.Str(cv, cp, &c.name);
          } else if (ck == "count") {
            d.U64(cv, cp, &c.count);
          } else if (ck == "sum") {
            d.Double(cv, cp, &c.sum);
          } else if (ck == "labels") {
            d.StrMap(cv, cp, &c.labels);
          }
        });
        out.counters.push_back(std::move(c));
      });
    }
  });
  if (d.failed()) {
    return d.status();
  }
  return out;
}

Result<std::string> DecodeString(std::string_view body) {
  auto root = Parse(body, StatusCode::kInternal, "decode string");
  if (!root.ok()) {
    return root.status();
  }
  Decoder d(StatusCode::kInternal, "decode string");
  std::string out;
  if (Decoder::IsNull(*root)) {
    d.Expected("", "a string", *root);
  }
  d.Str(*root, "", &out);
  if (d.failed()) {
    return d.status();
  }
  return out;
}

}  // namespace json

Result<std::vector<ServiceRegistration>> ParseServiceDefinitions(std::string_view text) {
  constexpr std::string_view kWhat = "service definition";
  auto root = Parse(text, StatusCode::kInvalidArgument, kWhat);
  if (!root.ok()) {
    return root.status();
  }
  Decoder d(StatusCode::kInvalidArgument, std::string(kWhat));
  std::vector<ServiceRegistration> out;
  if (root->type() != element_type::OBJECT) {
    d.Expected("", "an object", *root);
    return d.status();
  }
  // {"service": {...}} / {"services": [...]} as in config files; else the bare service object.
  bool wrapped = false;
  d.Fields(*root, "", [&](const std::string& k, element v, std::string_view p) {
    if (k == "service") {
      wrapped = true;
      ServiceRegistration s;
      ReadRegistration(d, v, p, &s);
      out.push_back(std::move(s));
    } else if (k == "services") {
      wrapped = true;
      d.Elements(v, p, [&](element e, std::string_view ep) {
        ServiceRegistration s;
        ReadRegistration(d, e, ep, &s);
        out.push_back(std::move(s));
      });
    }
  });
  if (!wrapped && !d.failed()) {
    ServiceRegistration s;
    ReadRegistration(d, *root, "", &s);
    out.push_back(std::move(s));
  }
  if (d.failed()) {
    return d.status();
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].name.empty()) {
      return InvalidArgumentError(std::string(kWhat) + ": service " +
                                  (out.size() > 1 ? std::to_string(i) + " " : std::string()) +
                                  "has no name");
    }
  }
  if (out.empty()) {
    return InvalidArgumentError(std::string(kWhat) + ": no service in it");
  }
  return out;
}

}  // namespace beacon::client
