// JsonDoc: a parsed JSON response body for integration tests, read by JSON pointer.
//
// simdjson's DOM elements point into their parser, so JsonDoc owns the parser (on the heap, so a
// JsonDoc can be moved) and every element it hands out stays valid as long as the JsonDoc lives.
// Reads never throw and never crash on a missing or mistyped value: they return a marker string
// ("<missing /a/b>", "<number>") or nullopt, so a wrong response shows up as a readable
// comparison failure instead of an exception.
//
// Pointers are RFC 6901: "" is the root, "/Config/Datacenter", "/0/Service/ID"; a '/' inside a key
// is written "~1" (service ID "a/b" -> "/a~1b").
//
//   JsonDoc doc = Json(agent.Get("/v1/agent/self"));
//   ASSERT_TRUE(doc.ok()) << doc.error();
//   EXPECT_EQ(doc.Str("/Config/Datacenter"), "dc1");
//   EXPECT_EQ(doc.Raw("/Stats/agent"), R"({"services":"0","checks":"1"})");
#pragma once

// beacon_testagent links simdjson::simdjson (tests/CMakeLists.txt) so every user of simdjson in
// a binary is compiled with the same SIMDJSON_THREADS_ENABLED setting (it changes dom::parser's
// layout; mixing the two is an ODR violation that crashes).
#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "testutil/http_client.h"

namespace beacon::testutil {

class JsonDoc {
 public:
  // Parses `text` (a copy is kept). A parse failure leaves ok() false and every read "missing".
  explicit JsonDoc(std::string_view text);

  bool ok() const { return error_.empty(); }
  // simdjson's message for a body that did not parse; "" when ok().
  const std::string& error() const { return error_; }

  // The value at `pointer`, or an error result when absent (or when the body did not parse).
  simdjson::simdjson_result<simdjson::dom::element> At(std::string_view pointer) const;

  // "object", "array", "string", "number", "bool", "null", or "missing".
  std::string Type(std::string_view pointer) const;
  // The string at `pointer`; "<missing POINTER>" when absent, "<TYPE>" when not a string.
  std::string Str(std::string_view pointer) const;
  // The integer at `pointer` (any JSON integer that fits int64), else nullopt.
  std::optional<int64_t> Int(std::string_view pointer) const;
  // The number at `pointer` (integer or not), else nullopt.
  std::optional<double> Number(std::string_view pointer) const;
  // The bool at `pointer`, else nullopt.
  std::optional<bool> Bool(std::string_view pointer) const;
  // The value at `pointer` re-encoded as compact JSON (object keys in document order), or
  // "<missing POINTER>". Good for comparing small structures: Raw("/web/Tags") == R"(["a"])".
  std::string Raw(std::string_view pointer) const;
  // Number of elements of the array or members of the object at `pointer`; nullopt otherwise.
  std::optional<size_t> Size(std::string_view pointer) const;
  // The keys of the object at `pointer`, in document order; empty when not an object.
  std::vector<std::string> Keys(std::string_view pointer) const;
  // For the array at `pointer`: Str() of `field` inside each element, where `field` is a pointer
  // relative to the element without its leading '/' ("CheckID", "Service/ID"). Column("",
  // "CheckID") on a health/state answer gives every check ID in order.
  std::vector<std::string> Column(std::string_view pointer, std::string_view field) const;

 private:
  std::string text_;
  std::unique_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
  std::string error_;
};

// Parses a response's body.
JsonDoc Json(const Response& response);

// Escapes a key for use inside a JSON pointer ('~' -> "~0", '/' -> "~1").
std::string PointerKey(std::string_view key);

}  // namespace beacon::testutil
