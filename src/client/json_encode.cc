// JSON writers of the client types (RapidJSON) and Go duration strings.
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "beacon/json.h"

namespace beacon::client {

namespace {

template <typename W>
void Str(W& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

template <typename W>
void KV(W& w, std::string_view k, std::string_view v) {
  Str(w, k);
  Str(w, v);
}

template <typename W>
void StrList(W& w, std::string_view k, const std::vector<std::string>& list) {
  Str(w, k);
  w.StartArray();
  for (const std::string& s : list) {
    Str(w, s);
  }
  w.EndArray();
}

template <typename W>
void StrMap(W& w, std::string_view k, const std::map<std::string, std::string>& map) {
  Str(w, k);
  w.StartObject();
  for (const auto& [key, value] : map) {
    KV(w, key, value);
  }
  w.EndObject();
}

template <typename W>
void WriteWeights(W& w, const Weights& weights) {
  Str(w, "Weights");
  w.StartObject();
  Str(w, "Passing");
  w.Int(weights.passing);
  Str(w, "Warning");
  w.Int(weights.warning);
  w.EndObject();
}

template <typename W>
void WriteCheckDefinition(W& w, const CheckDefinition& c) {
  w.StartObject();
  auto opt = [&](std::string_view k, const std::string& v) {
    if (!v.empty()) {
      KV(w, k, v);
    }
  };
  auto dur = [&](std::string_view k, std::chrono::milliseconds d) {
    if (d.count() > 0) {
      KV(w, k, FormatDuration(d));
    }
  };
  opt("CheckID", c.check_id);
  opt("Name", c.name);
  opt("Notes", c.notes);
  opt("Status", c.status);
  dur("TTL", c.ttl);
  opt("HTTP", c.http);
  opt("Method", c.method);
  if (!c.header.empty()) {
    Str(w, "Header");
    w.StartObject();
    for (const auto& [name, values] : c.header) {
      StrList(w, name, values);
    }
    w.EndObject();
  }
  if (c.tls_skip_verify) {
    Str(w, "TLSSkipVerify");
    w.Bool(true);
  }
  opt("TCP", c.tcp);
  opt("GRPC", c.grpc);
  dur("Interval", c.interval);
  dur("Timeout", c.timeout);
  dur("DeregisterCriticalServiceAfter", c.deregister_critical_service_after);
  if (c.success_before_passing > 0) {
    Str(w, "SuccessBeforePassing");
    w.Int(c.success_before_passing);
  }
  if (c.failures_before_critical > 0) {
    Str(w, "FailuresBeforeCritical");
    w.Int(c.failures_before_critical);
  }
  w.EndObject();
}

template <typename W>
void WriteNode(W& w, const Node& n) {
  w.StartObject();
  KV(w, "ID", n.id);
  KV(w, "Node", n.node);
  KV(w, "Address", n.address);
  KV(w, "Datacenter", n.datacenter);
  StrMap(w, "TaggedAddresses", n.tagged_addresses);
  StrMap(w, "Meta", n.meta);
  Str(w, "CreateIndex");
  w.Uint64(n.create_index);
  Str(w, "ModifyIndex");
  w.Uint64(n.modify_index);
  w.EndObject();
}

template <typename W>
void WriteService(W& w, const AgentService& s) {
  w.StartObject();
  KV(w, "ID", s.id);
  KV(w, "Service", s.service);
  StrList(w, "Tags", s.tags);
  KV(w, "Address", s.address);
  StrMap(w, "Meta", s.meta);
  Str(w, "Port");
  w.Int(s.port);
  WriteWeights(w, s.weights);
  Str(w, "EnableTagOverride");
  w.Bool(s.enable_tag_override);
  if (!s.kind.empty()) {
    KV(w, "Kind", s.kind);
  }
  Str(w, "CreateIndex");
  w.Uint64(s.create_index);
  Str(w, "ModifyIndex");
  w.Uint64(s.modify_index);
  w.EndObject();
}

template <typename W>
void WriteCheck(W& w, const HealthCheck& c) {
  w.StartObject();
  KV(w, "Node", c.node);
  KV(w, "CheckID", c.check_id);
  KV(w, "Name", c.name);
  KV(w, "Status", HealthStatusName(c.status));
  KV(w, "Notes", c.notes);
  KV(w, "Output", c.output);
  KV(w, "ServiceID", c.service_id);
  KV(w, "ServiceName", c.service_name);
  StrList(w, "ServiceTags", c.service_tags);
  KV(w, "Type", c.type);
  Str(w, "CreateIndex");
  w.Uint64(c.create_index);
  Str(w, "ModifyIndex");
  w.Uint64(c.modify_index);
  w.EndObject();
}

// Runs `body` with a compact or an indented writer and returns the text.
template <typename Fn>
std::string Render(bool pretty, Fn&& body) {
  rapidjson::StringBuffer buf;
  if (pretty) {
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    body(w);
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
  }
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  body(w);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const std::string whole(text);
  auto bad = [&] { return InvalidArgumentError("invalid duration \"" + whole + "\""); };
  if (text == "0") {
    return std::chrono::milliseconds(0);
  }
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  if (!text.empty() && text.front() == '-') {
    return InvalidArgumentError("negative duration \"" + whole + "\"");
  }
  if (text.empty()) {
    return bad();
  }
  // Integer arithmetic, as Go's time.ParseDuration: "0.3s" must be 300 ms, not 299.
  constexpr int64_t kMax = INT64_MAX;
  int64_t total_ns = 0;
  while (!text.empty()) {
    size_t i = 0;
    int64_t whole_part = 0;
    bool digits = false;
    bool overflow = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (whole_part > (kMax - 9) / 10) {
        overflow = true;
      } else {
        whole_part = whole_part * 10 + (text[i] - '0');
      }
      ++i;
      digits = true;
    }
    int64_t frac = 0;
    int64_t frac_scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        if (frac_scale < 1'000'000'000'000'000LL) {  // digits past 1e-18 cannot matter
          frac = frac * 10 + (text[i] - '0');
          frac_scale *= 10;
        }
        ++i;
        digits = true;
      }
    }
    if (!digits) {
      return bad();
    }
    size_t u = i;
    while (u < text.size() && !(text[u] >= '0' && text[u] <= '9') && text[u] != '.') {
      ++u;
    }
    std::string_view unit = text.substr(i, u - i);
    int64_t unit_ns = 0;
    if (unit == "ns") {
      unit_ns = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      unit_ns = 1'000;
    } else if (unit == "ms") {
      unit_ns = 1'000'000;
    } else if (unit == "s") {
      unit_ns = 1'000'000'000;
    } else if (unit == "m") {
      unit_ns = 60'000'000'000;
    } else if (unit == "h") {
      unit_ns = 3'600'000'000'000;
    } else {
      return unit.empty() ? InvalidArgumentError("missing unit in duration \"" + whole + "\"")
                          : InvalidArgumentError("unknown unit \"" + std::string(unit) +
                                                 "\" in duration \"" + whole + "\"");
    }
    if (overflow || whole_part > kMax / unit_ns) {
      return InvalidArgumentError("duration \"" + whole + "\" is too long");
    }
    int64_t ns = whole_part * unit_ns;
    // frac / frac_scale of a unit, without overflow: unit_ns <= 3.6e12 and frac_scale <= 1e18.
    long double part = static_cast<long double>(frac) * unit_ns / frac_scale;
    ns += static_cast<int64_t>(part + 0.5L);
    if (ns < 0 || total_ns > kMax - ns) {
      return InvalidArgumentError("duration \"" + whole + "\" is too long");
    }
    total_ns += ns;
    text.remove_prefix(u);
  }
  return std::chrono::milliseconds(total_ns / 1'000'000);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) {
    return "0s";
  }
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms < 1000) {
    return out + std::to_string(ms) + "ms";
  }
  int64_t hours = ms / 3'600'000;
  ms %= 3'600'000;
  int64_t minutes = ms / 60'000;
  ms %= 60'000;
  if (hours > 0) {
    out += std::to_string(hours) + "h";
  }
  if (hours > 0 || minutes > 0) {
    out += std::to_string(minutes) + "m";
  }
  out += std::to_string(ms / 1000);
  if (int64_t frac = ms % 1000; frac != 0) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), ".%03d", static_cast<int>(frac));
    std::string f(buf);
    while (f.back() == '0') {
      f.pop_back();
    }
    out += f;
  }
  return out + "s";
}

std::string ToJson(const ServiceRegistration& s) {
  return Render(false, [&](auto& w) {
    w.StartObject();
    if (!s.id.empty()) {
      KV(w, "ID", s.id);
    }
    KV(w, "Name", s.name);
    StrList(w, "Tags", s.tags);
    if (!s.address.empty()) {
      KV(w, "Address", s.address);
    }
    Str(w, "Port");
    w.Int(s.port);
    StrMap(w, "Meta", s.meta);
    WriteWeights(w, s.weights);
    Str(w, "EnableTagOverride");
    w.Bool(s.enable_tag_override);
    Str(w, "Checks");
    w.StartArray();
    for (const CheckDefinition& c : s.checks) {
      WriteCheckDefinition(w, c);
    }
    w.EndArray();
    w.EndObject();
  });
}

std::string ToJson(const std::vector<ServiceEntry>& entries, bool pretty) {
  return Render(pretty, [&](auto& w) {
    w.StartArray();
    for (const ServiceEntry& e : entries) {
      w.StartObject();
      Str(w, "Node");
      WriteNode(w, e.node);
      Str(w, "Service");
      WriteService(w, e.service);
      Str(w, "Checks");
      w.StartArray();
      for (const HealthCheck& c : e.checks) {
        WriteCheck(w, c);
      }
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
  });
}

std::string ToJson(const CatalogServiceMap& services, bool pretty) {
  return Render(pretty, [&](auto& w) {
    w.StartObject();
    for (const auto& [name, tags] : services) {
      StrList(w, name, tags);
    }
    w.EndObject();
  });
}

std::string ToJson(const std::vector<Member>& members, bool pretty) {
  return Render(pretty, [&](auto& w) {
    w.StartArray();
    for (const Member& m : members) {
      w.StartObject();
      KV(w, "Name", m.name);
      KV(w, "Addr", m.addr);
      Str(w, "Port");
      w.Int(m.port);
      StrMap(w, "Tags", m.tags);
      Str(w, "Status");
      w.Int(m.status);
      w.EndObject();
    }
    w.EndArray();
  });
}

}  // namespace beacon::client
