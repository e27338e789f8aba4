#include "testutil/agent/json.h"

#include <utility>

namespace beacon::testutil {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

std::string TypeName(element_type t) {
  switch (t) {
    case element_type::OBJECT:
      return "object";
    case element_type::ARRAY:
      return "array";
    case element_type::STRING:
      return "string";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::BOOL:
      return "bool";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

std::string Missing(std::string_view pointer) { return "<missing " + std::string(pointer) + ">"; }

}  // namespace

JsonDoc::JsonDoc(std::string_view text)
    : text_(text), parser_(std::make_unique<simdjson::dom::parser>()) {
  simdjson::error_code err = parser_->parse(text_).get(root_);
  if (err != simdjson::SUCCESS) {
    error_ = std::string("JSON parse error: ") + simdjson::error_message(err) + " in body <" +
             text_ + ">";
  }
}

simdjson::simdjson_result<element> JsonDoc::At(std::string_view pointer) const {
  if (!ok()) {
    return simdjson::simdjson_result<element>(simdjson::NO_SUCH_FIELD);
  }
  return root_.at_pointer(pointer);
}

std::string JsonDoc::Type(std::string_view pointer) const {
  element v;
  if (At(pointer).get(v) != simdjson::SUCCESS) {
    return "missing";
  }
  return TypeName(v.type());
}

std::string JsonDoc::Str(std::string_view pointer) const {
  element v;
  if (At(pointer).get(v) != simdjson::SUCCESS) {
    return Missing(pointer);
  }
  std::string_view s;
  if (v.get(s) != simdjson::SUCCESS) {
    return "<" + TypeName(v.type()) + ">";
  }
  return std::string(s);
}

std::optional<int64_t> JsonDoc::Int(std::string_view pointer) const {
  element v;
  int64_t i = 0;
  if (At(pointer).get(v) != simdjson::SUCCESS || v.get(i) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return i;
}

std::optional<double> JsonDoc::Number(std::string_view pointer) const {
  element v;
  if (At(pointer).get(v) != simdjson::SUCCESS || !v.is_number()) {
    return std::nullopt;
  }
  double d = 0;
  if (v.get(d) == simdjson::SUCCESS) {
    return d;
  }
  int64_t i = 0;
  if (v.get(i) == simdjson::SUCCESS) {
    return static_cast<double>(i);
  }
  uint64_t u = 0;
  if (v.get(u) == simdjson::SUCCESS) {
    return static_cast<double>(u);
  }
  return std::nullopt;
}

std::optional<bool> JsonDoc::Bool(std::string_view pointer) const {
  element v;
  bool b = false;
  if (At(pointer).get(v) != simdjson::SUCCESS || v.get(b) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return b;
}

std::string JsonDoc::Raw(std::string_view pointer) const {
  element v;
  if (At(pointer).get(v) != simdjson::SUCCESS) {
    return Missing(pointer);
  }
  return simdjson::minify(v);
}

std::optional<size_t> JsonDoc::Size(std::string_view pointer) const {
  element v;
  if (At(pointer).get(v) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  if (v.is_array()) {
    return v.get_array().value_unsafe().size();
  }
  if (v.is_object()) {
    return v.get_object().value_unsafe().size();
  }
  return std::nullopt;
}

std::vector<std::string> JsonDoc::Keys(std::string_view pointer) const {
  std::vector<std::string> keys;
  element v;
  simdjson::dom::object obj;
  if (At(pointer).get(v) != simdjson::SUCCESS || v.get(obj) != simdjson::SUCCESS) {
    return keys;
  }
  for (auto [key, value] : obj) {
    keys.emplace_back(key);
  }
  return keys;
}

std::vector<std::string> JsonDoc::Column(std::string_view pointer, std::string_view field) const {
  std::vector<std::string> out;
  const std::optional<size_t> n = Type(pointer) == "array" ? Size(pointer) : std::nullopt;
  for (size_t i = 0; i < n.value_or(0); ++i) {
    out.push_back(Str(std::string(pointer) + "/" + std::to_string(i) + "/" + std::string(field)));
  }
  return out;
}

JsonDoc Json(const Response& response) { return JsonDoc(response.body); }

std::string PointerKey(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace beacon::testutil
