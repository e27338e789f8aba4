// Response encoders (contract in encode.h).
//
// Each public function picks a RapidJSON writer (compact Writer or PrettyWriter, both over
// StringSink) and hands it to a generic lambda built from the Write* helpers below; the helpers
// are templates over the writer type, so one description of each Consul object serves both
// styles and composes into every response shape. StringSink appends straight into the
// std::string that is returned: no intermediate StringBuffer and no copy at the end.
#include "wire/encode.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "common/duration.h"

namespace beacon::wire {
namespace {

using catalog::Check;
using catalog::Instance;
using catalog::Node;
using catalog::Service;

// RapidJSON output stream over a std::string. The string is grown geometrically and only its
// written prefix is kept (Finish); RapidJSON reserves before every run of PutUnsafe, which is
// what makes the unchecked store safe.
class StringSink {
 public:
  using Ch = char;

  StringSink(std::string* out, size_t reserve) : out_(out) {
    out_->resize(std::max<size_t>(reserve, 64));
    data_ = out_->data();
    capacity_ = out_->size();
  }

  void Reserve(size_t n) {
    if (capacity_ - pos_ < n) {
      Grow(n);
    }
  }
  void Put(char c) {
    Reserve(1);
    data_[pos_++] = c;
  }
  // REQUIRES: a preceding Reserve covered this byte.
  void PutUnchecked(char c) { data_[pos_++] = c; }
  void Flush() {}

  // Cuts the string to the bytes written. Call once, after the writer is done.
  void Finish() { out_->resize(pos_); }

 private:
  void Grow(size_t n) {
    size_t want = std::max(capacity_ * 2, pos_ + n);
    out_->resize(want);
    data_ = out_->data();
    capacity_ = want;
  }

  std::string* out_;
  char* data_ = nullptr;
  size_t capacity_ = 0;
  size_t pos_ = 0;
};

// Found by argument-dependent lookup from inside RapidJSON; they replace its per-character
// generic versions for our sink.
void PutReserve(StringSink& sink, size_t count) { sink.Reserve(count); }
void PutUnsafe(StringSink& sink, char c) { sink.PutUnchecked(c); }

using CompactWriter = rapidjson::Writer<StringSink>;
using PrettyWriter = rapidjson::PrettyWriter<StringSink>;

// Runs fn(writer) with the writer the options ask for and returns what it wrote.
template <typename Fn>
std::string Render(EncodeOptions options, size_t size_hint, Fn&& fn) {
  std::string out;
  StringSink sink(&out, size_hint);
  if (options.pretty) {
    PrettyWriter w(sink);
    w.SetIndent(' ', 4);  // Go's json.MarshalIndent(v, "", "    ")
    fn(w);
    sink.Put('\n');
  } else {
    CompactWriter w(sink);
    fn(w);
  }
  sink.Finish();
  return out;
}

// A key given as a literal: its length is known at compile time.
template <typename W, size_t N>
void Key(W& w, const char (&key)[N]) {
  w.Key(key, static_cast<rapidjson::SizeType>(N - 1));
}

// RapidJSON asserts on a null pointer even for length 0, which a default string_view carries.
template <typename W>
void KeyStr(W& w, std::string_view key) {
  w.Key(key.empty() ? "" : key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

template <typename W>
void Str(W& w, std::string_view s) {
  w.String(s.empty() ? "" : s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

template <typename W>
void EmptyObject(W& w) {
  w.StartObject();
  w.EndObject();
}

template <typename W>
void WriteStringList(W& w, const std::vector<std::string>& list) {
  w.StartArray();
  for (const std::string& s : list) {
    Str(w, s);
  }
  w.EndArray();
}

template <typename W>
void WriteStringMap(W& w, const catalog::StringMap& map) {
  w.StartObject();
  for (const auto& [k, v] : map) {
    KeyStr(w, k);
    Str(w, v);
  }
  w.EndObject();
}

template <typename W>
void WriteServiceTaggedAddresses(W& w, const Service& s) {
  w.StartObject();
  catalog::ForEachTaggedAddress(s, [&w](std::string_view k, catalog::TaggedAddressRef v) {
    KeyStr(w, k);
    w.StartObject();
    Key(w, "Address");
    Str(w, v.address);
    Key(w, "Port");
    w.Int(v.port);
    w.EndObject();
  });
  w.EndObject();
}

template <typename W>
void WriteWeights(W& w, const catalog::Weights& weights) {
  w.StartObject();
  Key(w, "Passing");
  w.Int(weights.passing);
  Key(w, "Warning");
  w.Int(weights.warning);
  w.EndObject();
}

// "" for zero, else Go's Duration.String() (contract 4.0: Interval/Timeout of a HealthCheck).
template <typename W>
void WriteDuration(W& w, catalog::Nanos d) {
  if (d == catalog::Nanos::zero()) {
    Str(w, "");
  } else {
    Str(w, FormatGoDuration(d));  // short enough for the small-string buffer: no allocation
  }
}

// Node (4.0). `datacenter` stands in for a node stored without one.
template <typename W>
void WriteNode(W& w, const Node& node, std::string_view datacenter) {
  w.StartObject();
  Key(w, "ID");
  Str(w, node.id);
  Key(w, "Node");
  Str(w, node.name);
  Key(w, "Address");
  Str(w, node.address);
  Key(w, "Datacenter");
  Str(w, node.datacenter.empty() ? datacenter : std::string_view(node.datacenter));
  Key(w, "TaggedAddresses");
  WriteStringMap(w, node.tagged_addresses);
  Key(w, "Meta");
  WriteStringMap(w, node.meta);
  Key(w, "CreateIndex");
  w.Uint64(node.create_index);
  Key(w, "ModifyIndex");
  w.Uint64(node.modify_index);
  w.EndObject();
}

// The fields Service (4.0) and AgentService share, in the object already started.
template <typename W>
void WriteServiceFields(W& w, const Service& s) {
  Key(w, "ID");
  Str(w, s.id);
  Key(w, "Service");
  Str(w, s.name);
  Key(w, "Tags");
  WriteStringList(w, s.tags);
  Key(w, "Address");
  Str(w, s.address);
  if (catalog::TaggedAddressCount(s) > 0) {
    Key(w, "TaggedAddresses");
    WriteServiceTaggedAddresses(w, s);
  }
  Key(w, "Meta");
  WriteStringMap(w, s.meta);
  Key(w, "Port");
  w.Int(s.port);
  Key(w, "Weights");
  WriteWeights(w, s.weights);
  Key(w, "EnableTagOverride");
  w.Bool(s.enable_tag_override);
  if (!s.kind.empty()) {
    Key(w, "Kind");
    Str(w, s.kind);
  }
  // No mesh semantics: empty objects keep Go clients' pointer fields non-nil.
  Key(w, "Proxy");
  EmptyObject(w);
  Key(w, "Connect");
  EmptyObject(w);
}

// Service (4.0) as health and catalog/node results carry it.
template <typename W>
void WriteService(W& w, const Service& s) {
  w.StartObject();
  WriteServiceFields(w, s);
  Key(w, "CreateIndex");
  w.Uint64(s.create_index);
  Key(w, "ModifyIndex");
  w.Uint64(s.modify_index);
  w.EndObject();
}

// AgentService (4.3/4.4): no indexes, plus Datacenter, plus ContentHash when one is given.
template <typename W>
void WriteAgentService(W& w, const Service& s, std::string_view datacenter,
                       std::string_view content_hash, bool with_hash) {
  w.StartObject();
  WriteServiceFields(w, s);
  if (with_hash) {
    Key(w, "ContentHash");
    Str(w, content_hash);
  }
  Key(w, "Datacenter");
  Str(w, datacenter);
  w.EndObject();
}

// HealthCheck (4.0).
template <typename W>
void WriteHealthCheck(W& w, const Check& c) {
  w.StartObject();
  Key(w, "Node");
  Str(w, c.node);
  Key(w, "CheckID");
  Str(w, c.id);
  Key(w, "Name");
  Str(w, c.name);
  Key(w, "Status");
  Str(w, catalog::HealthStatusName(c.status));
  Key(w, "Notes");
  Str(w, c.notes);
  Key(w, "Output");
  Str(w, c.output);
  Key(w, "ServiceID");
  Str(w, c.service_id);
  Key(w, "ServiceName");
  Str(w, c.service_name);
  Key(w, "ServiceTags");
  WriteStringList(w, c.service_tags);
  Key(w, "Type");
  Str(w, catalog::CheckTypeName(c.definition.type));
  Key(w, "Interval");
  WriteDuration(w, c.definition.interval);
  Key(w, "Timeout");
  WriteDuration(w, c.definition.timeout);
  Key(w, "ExposedPort");
  w.Int(0);
  Key(w, "Definition");
  EmptyObject(w);
  Key(w, "CreateIndex");
  w.Uint64(c.create_index);
  Key(w, "ModifyIndex");
  w.Uint64(c.modify_index);
  w.EndObject();
}

// ServiceNode (4.13): node and service flattened into one object.
template <typename W>
void WriteServiceNode(W& w, const Node& node, const Service& s, std::string_view datacenter) {
  w.StartObject();
  Key(w, "ID");
  Str(w, node.id);
  Key(w, "Node");
  Str(w, node.name);
  Key(w, "Address");
  Str(w, node.address);
  Key(w, "Datacenter");
  Str(w, node.datacenter.empty() ? datacenter : std::string_view(node.datacenter));
  Key(w, "TaggedAddresses");
  WriteStringMap(w, node.tagged_addresses);
  Key(w, "NodeMeta");
  WriteStringMap(w, node.meta);
  Key(w, "ServiceKind");
  Str(w, s.kind);
  Key(w, "ServiceID");
  Str(w, s.id);
  Key(w, "ServiceName");
  Str(w, s.name);
  Key(w, "ServiceTags");
  WriteStringList(w, s.tags);
  Key(w, "ServiceAddress");
  Str(w, s.address);
  if (catalog::TaggedAddressCount(s) > 0) {
    Key(w, "ServiceTaggedAddresses");
    WriteServiceTaggedAddresses(w, s);
  }
  Key(w, "ServiceWeights");
  WriteWeights(w, s.weights);
  Key(w, "ServiceMeta");
  WriteStringMap(w, s.meta);
  Key(w, "ServicePort");
  w.Int(s.port);
  Key(w, "ServiceEnableTagOverride");
  w.Bool(s.enable_tag_override);
  Key(w, "ServiceProxy");
  EmptyObject(w);
  Key(w, "ServiceConnect");
  EmptyObject(w);
  Key(w, "CreateIndex");
  w.Uint64(s.create_index);
  Key(w, "ModifyIndex");
  w.Uint64(s.modify_index);
  w.EndObject();
}

// Go writes map keys in byte order; callers' vectors may come in another order.
template <typename T, typename KeyFn>
std::vector<const T*> SortedBy(const std::vector<const T*>& items, KeyFn key) {
  std::vector<const T*> sorted = items;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const T* a, const T* b) { return key(*a) < key(*b); });
  return sorted;
}

// Rough output sizes, to make the first allocation the only one in the common case.
constexpr size_t kNodeBytes = 256;
constexpr size_t kServiceBytes = 384;
constexpr size_t kCheckBytes = 384;

}  // namespace

namespace {
// One element of a health/service answer.
template <typename W>
void WriteHealthEntry(W& w, const Instance& in, std::string_view datacenter) {
  w.StartObject();
  Key(w, "Node");
  WriteNode(w, *in.node, datacenter);
  Key(w, "Service");
  WriteService(w, *in.service);
  Key(w, "Checks");
  w.StartArray();
  for (const auto& check : in.checks) {
    WriteHealthCheck(w, *check);
  }
  w.EndArray();
  w.EndObject();
}
}  // namespace

std::string EncodeHealthServiceEntries(const std::vector<const Instance*>& instances,
                                       std::string_view datacenter, EncodeOptions options) {
  size_t hint = 16;
  for (const Instance* in : instances) {
    hint += kNodeBytes + kServiceBytes + in->checks.size() * kCheckBytes;
  }
  return Render(options, hint, [&](auto& w) {
    w.StartArray();
    for (const Instance* in : instances) WriteHealthEntry(w, *in, datacenter);
    w.EndArray();
  });
}

std::string EncodeHealthServiceEntry(const Instance& instance, std::string_view datacenter) {
  const size_t hint = kNodeBytes + kServiceBytes + instance.checks.size() * kCheckBytes;
  return Render(EncodeOptions{}, hint,
                [&](auto& w) { WriteHealthEntry(w, instance, datacenter); });
}

std::string EncodeCatalogServiceNodes(const std::vector<const Instance*>& instances,
                                      std::string_view datacenter, EncodeOptions options) {
  return Render(options, 16 + instances.size() * (kNodeBytes + kServiceBytes), [&](auto& w) {
    w.StartArray();
    for (const Instance* in : instances) {
      WriteServiceNode(w, *in->node, *in->service, datacenter);
    }
    w.EndArray();
  });
}

std::string EncodeNodes(const std::vector<const Node*>& nodes, EncodeOptions options) {
  return Render(options, 16 + nodes.size() * kNodeBytes, [&](auto& w) {
    w.StartArray();
    for (const Node* node : nodes) {
      WriteNode(w, *node, "");
    }
    w.EndArray();
  });
}

std::string EncodeCatalogNode(const Node* node, const std::vector<const Service*>& services,
                              EncodeOptions options) {
  return Render(options, kNodeBytes + services.size() * kServiceBytes, [&](auto& w) {
    if (node == nullptr) {
      w.Null();  // contract 4.13: unknown node -> 200 with body null
      return;
    }
    w.StartObject();
    Key(w, "Node");
    WriteNode(w, *node, "");
    Key(w, "Services");
    w.StartObject();
    for (const Service* s :
         SortedBy(services, [](const Service& x) -> const std::string& { return x.id; })) {
      KeyStr(w, s->id);
      WriteService(w, *s);
    }
    w.EndObject();
    w.EndObject();
  });
}

std::string EncodeCatalogServices(const std::map<std::string, std::vector<std::string>>& services,
                                  EncodeOptions options) {
  return Render(options, 16 + services.size() * 48, [&](auto& w) {
    w.StartObject();
    for (const auto& [name, tags] : services) {
      KeyStr(w, name);
      WriteStringList(w, tags);
    }
    w.EndObject();
  });
}

std::string EncodeHealthChecks(const std::vector<const Check*>& checks, EncodeOptions options) {
  return Render(options, 16 + checks.size() * kCheckBytes, [&](auto& w) {
    w.StartArray();
    for (const Check* c : checks) {
      WriteHealthCheck(w, *c);
    }
    w.EndArray();
  });
}

std::string EncodeAgentChecks(const std::vector<const Check*>& checks, EncodeOptions options) {
  return Render(options, 16 + checks.size() * (kCheckBytes + 32), [&](auto& w) {
    w.StartObject();
    for (const Check* c :
         SortedBy(checks, [](const Check& x) -> const std::string& { return x.id; })) {
      KeyStr(w, c->id);
      WriteHealthCheck(w, *c);
    }
    w.EndObject();
  });
}

std::string EncodeAgentServices(const std::vector<const Service*>& services,
                                std::string_view datacenter, EncodeOptions options) {
  return Render(options, 16 + services.size() * (kServiceBytes + 32), [&](auto& w) {
    w.StartObject();
    for (const Service* s :
         SortedBy(services, [](const Service& x) -> const std::string& { return x.id; })) {
      KeyStr(w, s->id);
      WriteAgentService(w, *s, datacenter, "", /*with_hash=*/false);
    }
    w.EndObject();
  });
}

std::string EncodeAgentService(const Service& service, std::string_view datacenter,
                               std::string_view content_hash, EncodeOptions options) {
  return Render(options, kServiceBytes, [&](auto& w) {
    WriteAgentService(w, service, datacenter, content_hash, /*with_hash=*/true);
  });
}

}  // namespace beacon::wire
