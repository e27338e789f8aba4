// `filter=` expressions (consul-api.md section 3): tokenizer, parser, selector compiler, evaluator.
//
// Pipeline: Tokenize() turns the text into tokens (selectors/barewords with their path segments,
// numbers, strings, `==`, `!=`, parentheses; keywords are words recognised by the parser). The
// Parser is recursive descent over or > and > not > match. `and`/`or` chains become one n-ary node
// and runs of `not` collapse by parity, so recursion depth grows only with parentheses, which are
// capped at kMaxNesting: a hostile query string cannot overflow the stack.
//
// Each match is compiled once: its selector is resolved against the target's FieldSpec table to a
// Field id (plus the map key, plus "through Checks"), the operator is checked against the field's
// kind as go-bexpr's field configurations do, the value is converted to the field's type, and a
// `matches` pattern becomes an RE2. Evaluation is a switch on Field ids with no string parsing.
//
// The compiled FilterProgram is immutable and shared by copies of a Filter; RE2 matching is
// const and thread-safe, so concurrent Matches() calls need no locking.
#include "wire/filter.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/duration.h"

namespace beacon::wire {
namespace internal {

// The shape of a selected value; decides which operators apply and how values convert.
enum class Kind : uint8_t {
  kString,
  kInt,   // Go int: Port, Weights, ExposedPort
  kUint,  // Go uint64: CreateIndex, ModifyIndex
  kBool,
  kStringList,  // Tags, ServiceTags
  kStringMap,   // Meta, Node.TaggedAddresses
  kTaggedMap,   // Service.TaggedAddresses: map of {Address, Port}
  kCheckList,   // Checks: a list of objects
  kStruct,      // Node, Service, Weights, one tagged address: no operators of their own
};

// Every value a selector can reach. Fields marked "keyed" carry a map key in the Match.
enum class Field : uint8_t {
  kNone,
  kNodeId,
  kNodeName,
  kNodeAddress,
  kNodeDatacenter,
  kNodeTaggedAddresses,
  kNodeTaggedAddress,  // keyed
  kNodeMeta,
  kNodeMetaValue,  // keyed
  kNodeCreateIndex,
  kNodeModifyIndex,
  kServiceId,
  kServiceName,
  kServiceTags,
  kServiceAddress,
  kServicePort,
  kServiceMeta,
  kServiceMetaValue,  // keyed
  kServiceKind,
  kServiceEnableTagOverride,
  kServiceWeightsPassing,
  kServiceWeightsWarning,
  kServiceTaggedAddresses,
  kServiceTaggedAddress,         // keyed; a struct, so only a path step
  kServiceTaggedAddressAddress,  // keyed
  kServiceTaggedAddressPort,     // keyed
  kServiceCreateIndex,
  kServiceModifyIndex,
  kChecks,
  kCheckNode,
  kCheckId,
  kCheckName,
  kCheckStatus,
  kCheckNotes,
  kCheckOutput,
  kCheckServiceId,
  kCheckServiceName,
  kCheckServiceTags,
  kCheckType,
  kCheckInterval,
  kCheckTimeout,
  kCheckExposedPort,
  kCheckCreateIndex,
  kCheckModifyIndex,
};

enum class Op : uint8_t {
  kEqual,
  kNotEqual,
  kIn,     // `in` and `contains`
  kNotIn,  // `not in` and `not contains`
  kIsEmpty,
  kIsNotEmpty,
  kMatches,
  kNotMatches,
};

// One compiled comparison.
struct Match {
  Field field = Field::kNone;
  Kind kind = Kind::kStruct;
  Op op = Op::kEqual;
  bool any_check = false;  // the selector goes through Checks: true if any check satisfies it
  std::string key;         // the map key of a keyed field
  std::string text;        // string operand (==, !=, in, contains)
  int64_t int_value = 0;
  uint64_t uint_value = 0;
  bool bool_value = false;
  std::shared_ptr<const RE2> regex;  // matches / not matches
};

enum class NodeType : uint8_t { kAnd, kOr, kNot, kMatch };

struct ExprNode {
  NodeType type = NodeType::kMatch;
  // kAnd/kOr: children are child_ids[first, first + count). kNot: first is the operand.
  // kMatch: first indexes matches.
  uint32_t first = 0;
  uint32_t count = 0;
};

struct FilterProgram {
  std::vector<ExprNode> nodes;
  std::vector<uint32_t> child_ids;
  std::vector<Match> matches;
  uint32_t root = 0;
};

}  // namespace internal

namespace {

using internal::ExprNode;
using internal::Field;
using internal::FilterProgram;
using internal::Kind;
using internal::Match;
using internal::NodeType;
using internal::Op;

// Parentheses deeper than this are rejected; real filters nest two or three levels.
constexpr int kMaxNesting = 64;

// ---------------------------------------------------------------------------------------------
// Field tables: the Go field names of each response element (contract section 3).

struct FieldSpec {
  std::string_view name;
  Kind kind;
  Field field;
  Field entry_field = Field::kNone;     // kStringMap/kTaggedMap: one entry, selected by key
  std::span<const FieldSpec> children;  // kStruct/kCheckList: fields; kTaggedMap: entry fields
};

constexpr FieldSpec kNodeFields[] = {
    {"ID", Kind::kString, Field::kNodeId},
    {"Node", Kind::kString, Field::kNodeName},
    {"Address", Kind::kString, Field::kNodeAddress},
    {"Datacenter", Kind::kString, Field::kNodeDatacenter},
    {"TaggedAddresses", Kind::kStringMap, Field::kNodeTaggedAddresses, Field::kNodeTaggedAddress},
    {"Meta", Kind::kStringMap, Field::kNodeMeta, Field::kNodeMetaValue},
    {"CreateIndex", Kind::kUint, Field::kNodeCreateIndex},
    {"ModifyIndex", Kind::kUint, Field::kNodeModifyIndex},
};

constexpr FieldSpec kTaggedAddressFields[] = {
    {"Address", Kind::kString, Field::kServiceTaggedAddressAddress},
    {"Port", Kind::kInt, Field::kServiceTaggedAddressPort},
};

constexpr FieldSpec kWeightsFields[] = {
    {"Passing", Kind::kInt, Field::kServiceWeightsPassing},
    {"Warning", Kind::kInt, Field::kServiceWeightsWarning},
};

// AgentService: the service fields without indexes (contract 4.0).
constexpr FieldSpec kAgentServiceFields[] = {
    {"ID", Kind::kString, Field::kServiceId},
    {"Service", Kind::kString, Field::kServiceName},
    {"Tags", Kind::kStringList, Field::kServiceTags},
    {"Address", Kind::kString, Field::kServiceAddress},
    {"TaggedAddresses", Kind::kTaggedMap, Field::kServiceTaggedAddresses,
     Field::kServiceTaggedAddress, kTaggedAddressFields},
    {"Meta", Kind::kStringMap, Field::kServiceMeta, Field::kServiceMetaValue},
    {"Port", Kind::kInt, Field::kServicePort},
    {"Weights", Kind::kStruct, Field::kNone, Field::kNone, kWeightsFields},
    {"EnableTagOverride", Kind::kBool, Field::kServiceEnableTagOverride},
    {"Kind", Kind::kString, Field::kServiceKind},
};

constexpr FieldSpec kServiceFields[] = {
    {"ID", Kind::kString, Field::kServiceId},
    {"Service", Kind::kString, Field::kServiceName},
    {"Tags", Kind::kStringList, Field::kServiceTags},
    {"Address", Kind::kString, Field::kServiceAddress},
    {"TaggedAddresses", Kind::kTaggedMap, Field::kServiceTaggedAddresses,
     Field::kServiceTaggedAddress, kTaggedAddressFields},
    {"Meta", Kind::kStringMap, Field::kServiceMeta, Field::kServiceMetaValue},
    {"Port", Kind::kInt, Field::kServicePort},
    {"Weights", Kind::kStruct, Field::kNone, Field::kNone, kWeightsFields},
    {"EnableTagOverride", Kind::kBool, Field::kServiceEnableTagOverride},
    {"Kind", Kind::kString, Field::kServiceKind},
    {"CreateIndex", Kind::kUint, Field::kServiceCreateIndex},
    {"ModifyIndex", Kind::kUint, Field::kServiceModifyIndex},
};

// HealthCheck (contract 4.0). Definition is not selectable.
constexpr FieldSpec kCheckFields[] = {
    {"Node", Kind::kString, Field::kCheckNode},
    {"CheckID", Kind::kString, Field::kCheckId},
    {"Name", Kind::kString, Field::kCheckName},
    {"Status", Kind::kString, Field::kCheckStatus},
    {"Notes", Kind::kString, Field::kCheckNotes},
    {"Output", Kind::kString, Field::kCheckOutput},
    {"ServiceID", Kind::kString, Field::kCheckServiceId},
    {"ServiceName", Kind::kString, Field::kCheckServiceName},
    {"ServiceTags", Kind::kStringList, Field::kCheckServiceTags},
    {"Type", Kind::kString, Field::kCheckType},
    {"Interval", Kind::kString, Field::kCheckInterval},
    {"Timeout", Kind::kString, Field::kCheckTimeout},
    {"ExposedPort", Kind::kInt, Field::kCheckExposedPort},
    {"CreateIndex", Kind::kUint, Field::kCheckCreateIndex},
    {"ModifyIndex", Kind::kUint, Field::kCheckModifyIndex},
};

constexpr FieldSpec kHealthServiceFields[] = {
    {"Node", Kind::kStruct, Field::kNone, Field::kNone, kNodeFields},
    {"Service", Kind::kStruct, Field::kNone, Field::kNone, kServiceFields},
    {"Checks", Kind::kCheckList, Field::kChecks, Field::kNone, kCheckFields},
};

// ServiceNode: node fields flattened, service fields prefixed with "Service" (contract 4.13).
constexpr FieldSpec kCatalogServiceFields[] = {
    {"ID", Kind::kString, Field::kNodeId},
    {"Node", Kind::kString, Field::kNodeName},
    {"Address", Kind::kString, Field::kNodeAddress},
    {"Datacenter", Kind::kString, Field::kNodeDatacenter},
    {"TaggedAddresses", Kind::kStringMap, Field::kNodeTaggedAddresses, Field::kNodeTaggedAddress},
    {"NodeMeta", Kind::kStringMap, Field::kNodeMeta, Field::kNodeMetaValue},
    {"ServiceKind", Kind::kString, Field::kServiceKind},
    {"ServiceID", Kind::kString, Field::kServiceId},
    {"ServiceName", Kind::kString, Field::kServiceName},
    {"ServiceTags", Kind::kStringList, Field::kServiceTags},
    {"ServiceAddress", Kind::kString, Field::kServiceAddress},
    {"ServiceTaggedAddresses", Kind::kTaggedMap, Field::kServiceTaggedAddresses,
     Field::kServiceTaggedAddress, kTaggedAddressFields},
    {"ServiceWeights", Kind::kStruct, Field::kNone, Field::kNone, kWeightsFields},
    {"ServiceMeta", Kind::kStringMap, Field::kServiceMeta, Field::kServiceMetaValue},
    {"ServicePort", Kind::kInt, Field::kServicePort},
    {"ServiceEnableTagOverride", Kind::kBool, Field::kServiceEnableTagOverride},
    {"CreateIndex", Kind::kUint, Field::kServiceCreateIndex},
    {"ModifyIndex", Kind::kUint, Field::kServiceModifyIndex},
};

std::span<const FieldSpec> RootFields(FilterTarget target) {
  switch (target) {
    case FilterTarget::kHealthService:
      return kHealthServiceFields;
    case FilterTarget::kCatalogService:
      return kCatalogServiceFields;
    case FilterTarget::kNode:
      return kNodeFields;
    case FilterTarget::kAgentService:
      return kAgentServiceFields;
    case FilterTarget::kCheck:
      return kCheckFields;
  }
  return {};
}

// Where a selector leads.
struct Accessor {
  Field field = Field::kNone;
  Kind kind = Kind::kStruct;
  bool any_check = false;
  std::string key;
};

// Resolves a selector path against the target's fields; nullopt for an unknown selector.
std::optional<Accessor> Resolve(const std::vector<std::string>& path, FilterTarget target) {
  std::span<const FieldSpec> specs = RootFields(target);
  Accessor acc;
  size_t i = 0;
  while (i < path.size()) {
    const FieldSpec* spec = nullptr;
    for (const FieldSpec& candidate : specs) {
      if (candidate.name == path[i]) {  // case-sensitive, like Go field names
        spec = &candidate;
        break;
      }
    }
    if (spec == nullptr) {
      return std::nullopt;
    }
    ++i;
    acc.field = spec->field;
    acc.kind = spec->kind;
    if (i == path.size()) {
      return acc;
    }
    switch (spec->kind) {
      case Kind::kStruct:
        specs = spec->children;
        break;
      case Kind::kCheckList:
        acc.any_check = true;
        specs = spec->children;
        break;
      case Kind::kStringMap:
        // `Meta.k` or `Meta["k"]` selects one string value; nothing may follow it.
        acc.key = path[i++];
        acc.field = spec->entry_field;
        acc.kind = Kind::kString;
        if (i != path.size()) {
          return std::nullopt;
        }
        return acc;
      case Kind::kTaggedMap:
        acc.key = path[i++];
        acc.field = spec->entry_field;
        acc.kind = Kind::kStruct;
        specs = spec->children;
        break;
      default:
        return std::nullopt;  // scalars and string lists have no sub-fields
    }
  }
  return acc;
}

// go-bexpr's per-kind operator sets, plus `is empty` on strings, which the contract allows.
bool OpSupported(Kind kind, Op op) {
  switch (kind) {
    case Kind::kString:
      return true;
    case Kind::kInt:
    case Kind::kUint:
    case Kind::kBool:
      return op == Op::kEqual || op == Op::kNotEqual;
    case Kind::kStringList:
    case Kind::kStringMap:
    case Kind::kTaggedMap:
      return op == Op::kIn || op == Op::kNotIn || op == Op::kIsEmpty || op == Op::kIsNotEmpty;
    case Kind::kCheckList:
      return op == Op::kIsEmpty || op == Op::kIsNotEmpty;
    case Kind::kStruct:
      return false;
  }
  return false;
}

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kInt:
      return "int";
    case Kind::kUint:
      return "uint";
    case Kind::kBool:
      return "bool";
    default:
      return "string";
  }
}

// ---------------------------------------------------------------------------------------------
// Value conversion with Go's strconv rules (go-bexpr coerces with ParseInt/ParseUint(s, 0, 64)
// and ParseBool).

// strconv's underscoreOK: underscores only between digits (a base prefix counts as a digit).
bool UnderscoresOk(std::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0') {
    const char p = static_cast<char>(s[1] | 0x20);
    if (p == 'b' || p == 'o' || p == 'x') {
      i = 2;
      saw = '0';
      hex = p == 'x';
    }
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    const char lower = static_cast<char>(c | 0x20);
    if ((c >= '0' && c <= '9') || (hex && lower >= 'a' && lower <= 'f')) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') {
        return false;
      }
      saw = '_';
      continue;
    }
    if (saw == '_') {
      return false;
    }
    saw = '!';
  }
  return saw != '_';
}

// strconv.ParseUint(s, 0, 64): decimal, 0x/0o/0b prefixes, a leading 0 means octal.
std::optional<uint64_t> ParseGoUint(std::string_view s) {
  if (s.empty()) {
    return std::nullopt;
  }
  const std::string_view whole = s;
  uint64_t base = 10;
  if (s[0] == '0') {
    const char p = s.size() >= 3 ? static_cast<char>(s[1] | 0x20) : '\0';
    if (p == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else if (p == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (p == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  uint64_t n = 0;
  bool underscores = false;
  for (char c : s) {
    uint64_t digit = 0;
    const char lower = static_cast<char>(c | 0x20);
    if (c == '_') {
      underscores = true;
      continue;
    }
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c - '0');
    } else if (lower >= 'a' && lower <= 'z') {
      digit = static_cast<uint64_t>(lower - 'a') + 10;
    } else {
      return std::nullopt;
    }
    if (digit >= base) {
      return std::nullopt;
    }
    if (n > (std::numeric_limits<uint64_t>::max() - digit) / base) {
      return std::nullopt;  // out of range
    }
    n = n * base + digit;
  }
  if (underscores && !UnderscoresOk(whole)) {
    return std::nullopt;
  }
  return n;
}

// strconv.ParseInt(s, 0, 64).
std::optional<int64_t> ParseGoInt(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  const std::optional<uint64_t> u = ParseGoUint(s);
  if (!u) {
    return std::nullopt;
  }
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  if (neg) {
    if (*u > kLimit) {
      return std::nullopt;
    }
    return *u == kLimit ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(*u);
  }
  if (*u >= kLimit) {
    return std::nullopt;
  }
  return static_cast<int64_t>(*u);
}

// strconv.ParseBool.
std::optional<bool> ParseGoBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") {
    return true;
  }
  if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False") {
    return false;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Tokenizer.

// Quotes text for an error message: `"` and `\` escaped, control bytes as \xNN.
std::string Quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return out;
}

Status SyntaxError(std::string_view what, size_t pos) {
  return InvalidArgument("filter: " + std::string(what) + " at position " + std::to_string(pos));
}

enum class TokenType : uint8_t {
  kEnd,
  kWord,
  kNumber,
  kString,
  kEqual,
  kNotEqual,
  kLParen,
  kRParen
};

struct Token {
  TokenType type = TokenType::kEnd;
  size_t pos = 0;                 // 0-based byte offset of the first character
  std::string_view text;          // the source text
  std::vector<std::string> path;  // kWord: segments (identifiers, digit runs, index strings)
  bool indexed = false;           // kWord: has a ["..."] segment, so it cannot be a bareword
  std::string value;              // kString: the unquoted contents

  bool IsKeyword(std::string_view keyword) const {
    return type == TokenType::kWord && !indexed && path.size() == 1 && path[0] == keyword;
  }
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsIdentChar(char c) { return IsLetter(c) || IsDigit(c) || c == '_'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  const char lower = static_cast<char>(c | 0x20);
  if (lower >= 'a' && lower <= 'f') {
    return lower - 'a' + 10;
  }
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Lexes a "..." (Go escapes: \a \b \f \n \r \t \v \\ \" \xHH \ooo \uHHHH \UHHHHHHHH) or `raw`
// string starting at expr[*i]. On success *i is just past the closing quote.
Status LexString(std::string_view expr, size_t* i, std::string* out) {
  const size_t start = *i;
  const char quote = expr[start];
  size_t p = start + 1;
  if (quote == '`') {
    const size_t end = expr.find('`', p);
    if (end == std::string_view::npos) {
      return SyntaxError("unterminated string literal", start);
    }
    for (; p < end; ++p) {
      if (expr[p] != '\r') {  // Go drops carriage returns from raw strings
        out->push_back(expr[p]);
      }
    }
    *i = end + 1;
    return Status::Ok();
  }
  while (true) {
    if (p >= expr.size()) {
      return SyntaxError("unterminated string literal", start);
    }
    const char c = expr[p];
    if (c == '"') {
      *i = p + 1;
      return Status::Ok();
    }
    if (c == '\n') {
      return SyntaxError("newline in string literal", p);
    }
    if (c != '\\') {
      out->push_back(c);
      ++p;
      continue;
    }
    const size_t esc = p;
    if (p + 1 >= expr.size()) {
      return SyntaxError("unterminated string literal", start);
    }
    const char e = expr[p + 1];
    p += 2;
    auto bad_escape = [&]() {
      return SyntaxError("invalid escape " +
                             Quote(expr.substr(esc, std::min(p, expr.size()) - esc)) +
                             " in string literal",
                         esc);
    };
    switch (e) {
      case 'a':
        out->push_back('\a');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'v':
        out->push_back('\v');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '"':
        out->push_back('"');
        break;
      case 'x':
      case 'u':
      case 'U': {
        const size_t digits = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        uint32_t v = 0;
        for (size_t k = 0; k < digits; ++k, ++p) {
          const int h = p < expr.size() ? HexValue(expr[p]) : -1;
          if (h < 0) {
            return bad_escape();
          }
          v = v * 16 + static_cast<uint32_t>(h);
        }
        if (e == 'x') {
          out->push_back(static_cast<char>(v));
        } else {
          if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
            return bad_escape();
          }
          AppendUtf8(v, out);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2; ++k, ++p) {
            if (p >= expr.size() || expr[p] < '0' || expr[p] > '7') {
              return bad_escape();
            }
            v = v * 8 + static_cast<uint32_t>(expr[p] - '0');
          }
          if (v > 255) {
            return bad_escape();
          }
          out->push_back(static_cast<char>(v));
          break;
        }
        return bad_escape();
    }
  }
}

// A selector or bareword: ident ( "." ident | "." digits | "[" string "]" )*.
Status LexWord(std::string_view expr, size_t* i, Token* tok) {
  const size_t start = *i;
  size_t p = start;
  auto read_ident = [&]() {
    const size_t b = p;
    while (p < expr.size() && IsIdentChar(expr[p])) {
      ++p;
    }
    tok->path.emplace_back(expr.substr(b, p - b));
  };
  read_ident();
  while (p < expr.size()) {
    if (expr[p] == '.') {
      ++p;
      if (p < expr.size() && IsLetter(expr[p])) {
        read_ident();
      } else if (p < expr.size() && IsDigit(expr[p])) {
        const size_t b = p;
        while (p < expr.size() && IsDigit(expr[p])) {
          ++p;
        }
        tok->path.emplace_back(expr.substr(b, p - b));
      } else {
        return SyntaxError("invalid selector " + Quote(expr.substr(start, p - start)), start);
      }
    } else if (expr[p] == '[') {
      const size_t open = p;
      ++p;
      while (p < expr.size() && IsSpace(expr[p])) {
        ++p;
      }
      if (p >= expr.size() || (expr[p] != '"' && expr[p] != '`')) {
        return SyntaxError("invalid index", open);
      }
      std::string key;
      BEACON_RETURN_IF_ERROR(LexString(expr, &p, &key));
      while (p < expr.size() && IsSpace(expr[p])) {
        ++p;
      }
      if (p >= expr.size() || expr[p] != ']') {
        return SyntaxError("unclosed index expression", open);
      }
      ++p;
      tok->path.push_back(std::move(key));
      tok->indexed = true;
    } else {
      break;
    }
  }
  tok->type = TokenType::kWord;
  tok->pos = start;
  tok->text = expr.substr(start, p - start);
  *i = p;
  return Status::Ok();
}

// number := -?(0|[1-9][0-9]*)(\.[0-9]+)?, followed by whitespace, ")" or the end, so that an
// unquoted IP address like 10.10.10.10 is rejected rather than misread (contract section 3).
Status LexNumber(std::string_view expr, size_t* i, Token* tok) {
  const size_t start = *i;
  size_t p = start;
  if (expr[p] == '-') {
    ++p;
    if (p >= expr.size() || !IsDigit(expr[p])) {
      return SyntaxError("unexpected character \"-\"", start);
    }
  }
  if (expr[p] == '0') {
    ++p;
  } else {
    while (p < expr.size() && IsDigit(expr[p])) {
      ++p;
    }
  }
  if (p + 1 < expr.size() && expr[p] == '.' && IsDigit(expr[p + 1])) {
    ++p;
    while (p < expr.size() && IsDigit(expr[p])) {
      ++p;
    }
  }
  if (p < expr.size() && !IsSpace(expr[p]) && expr[p] != ')') {
    size_t end = p;
    while (end < expr.size() && !IsSpace(expr[end]) && expr[end] != ')' && expr[end] != '(' &&
           expr[end] != '=' && expr[end] != '!') {
      ++end;
    }
    return SyntaxError("invalid number literal " + Quote(expr.substr(start, end - start)), start);
  }
  tok->type = TokenType::kNumber;
  tok->pos = start;
  tok->text = expr.substr(start, p - start);
  *i = p;
  return Status::Ok();
}

// Splits the expression into tokens; the last token is always kEnd at expr.size().
Status Tokenize(std::string_view expr, std::vector<Token>* tokens) {
  size_t i = 0;
  while (true) {
    while (i < expr.size() && IsSpace(expr[i])) {
      ++i;
    }
    Token tok;
    tok.pos = i;
    if (i >= expr.size()) {
      tok.type = TokenType::kEnd;
      tokens->push_back(std::move(tok));
      return Status::Ok();
    }
    const char c = expr[i];
    if (IsLetter(c)) {
      BEACON_RETURN_IF_ERROR(LexWord(expr, &i, &tok));
    } else if (IsDigit(c) || c == '-') {
      BEACON_RETURN_IF_ERROR(LexNumber(expr, &i, &tok));
    } else if (c == '"' || c == '`') {
      BEACON_RETURN_IF_ERROR(LexString(expr, &i, &tok.value));
      tok.type = TokenType::kString;
      tok.text = expr.substr(tok.pos, i - tok.pos);
    } else if ((c == '=' || c == '!') && i + 1 < expr.size() && expr[i + 1] == '=') {
      tok.type = c == '=' ? TokenType::kEqual : TokenType::kNotEqual;
      tok.text = expr.substr(i, 2);
      i += 2;
    } else if (c == '(' || c == ')') {
      tok.type = c == '(' ? TokenType::kLParen : TokenType::kRParen;
      tok.text = expr.substr(i, 1);
      ++i;
    } else {
      return SyntaxError("unexpected character " + Quote(expr.substr(i, 1)), i);
    }
    tokens->push_back(std::move(tok));
  }
}

// ---------------------------------------------------------------------------------------------
// Parser and compiler.

class Parser {
 public:
  Parser(FilterTarget target, std::vector<Token> tokens)
      : target_(target), tokens_(std::move(tokens)) {}

  // REQUIRES: the token list holds more than the end token.
  Result<FilterProgram> Run() {
    BEACON_ASSIGN_OR_RETURN(program_.root, ParseOr(0));
    if (Peek().type != TokenType::kEnd) {
      return Unexpected(Peek());
    }
    return std::move(program_);
  }

 private:
  const Token& Peek() const { return tokens_[next_]; }
  const Token& Advance() {
    const Token& t = tokens_[next_];
    if (t.type != TokenType::kEnd) {
      ++next_;
    }
    return t;
  }

  static Status Unexpected(const Token& t) {
    if (t.type == TokenType::kEnd) {
      return SyntaxError("unexpected end of expression", t.pos);
    }
    return SyntaxError("unexpected token " + Quote(t.text), t.pos);
  }

  uint32_t AddNode(NodeType type, uint32_t first, uint32_t count) {
    program_.nodes.push_back(ExprNode{type, first, count});
    return static_cast<uint32_t>(program_.nodes.size() - 1);
  }

  uint32_t AddList(NodeType type, const std::vector<uint32_t>& children) {
    if (children.size() == 1) {
      return children[0];
    }
    const auto first = static_cast<uint32_t>(program_.child_ids.size());
    program_.child_ids.insert(program_.child_ids.end(), children.begin(), children.end());
    return AddNode(type, first, static_cast<uint32_t>(children.size()));
  }

  // or := and ( "or" and )*. Same truth value as go-bexpr's right-recursive rule; iterating
  // keeps long chains off the stack.
  Result<uint32_t> ParseOr(int depth) {
    std::vector<uint32_t> terms;
    BEACON_ASSIGN_OR_RETURN(uint32_t first, ParseAnd(depth));
    terms.push_back(first);
    while (Peek().IsKeyword("or")) {
      Advance();
      BEACON_ASSIGN_OR_RETURN(uint32_t term, ParseAnd(depth));
      terms.push_back(term);
    }
    return AddList(NodeType::kOr, terms);
  }

  Result<uint32_t> ParseAnd(int depth) {
    std::vector<uint32_t> terms;
    BEACON_ASSIGN_OR_RETURN(uint32_t first, ParseUnary(depth));
    terms.push_back(first);
    while (Peek().IsKeyword("and")) {
      Advance();
      BEACON_ASSIGN_OR_RETURN(uint32_t term, ParseUnary(depth));
      terms.push_back(term);
    }
    return AddList(NodeType::kAnd, terms);
  }

  // not := "not" not | "(" or ")" | match. "not not x" is x, as in go-bexpr.
  Result<uint32_t> ParseUnary(int depth) {
    bool negate = false;
    while (Peek().IsKeyword("not")) {
      negate = !negate;
      Advance();
    }
    uint32_t inner = 0;
    if (Peek().type == TokenType::kLParen) {
      const size_t open = Peek().pos;
      if (depth >= kMaxNesting) {
        return SyntaxError("expression nested too deeply", open);
      }
      Advance();
      BEACON_ASSIGN_OR_RETURN(inner, ParseOr(depth + 1));
      if (Peek().type == TokenType::kEnd) {
        return SyntaxError("unmatched parenthesis", open);
      }
      if (Peek().type != TokenType::kRParen) {
        return Unexpected(Peek());
      }
      Advance();
    } else {
      BEACON_ASSIGN_OR_RETURN(inner, ParseMatch());
    }
    return negate ? AddNode(NodeType::kNot, inner, 1) : inner;
  }

  static bool IsOperand(const Token& t) {
    return t.type == TokenType::kWord || t.type == TokenType::kNumber ||
           t.type == TokenType::kString;
  }

  // The raw text of a value: a bareword as written, a number as written, a string unquoted.
  static Result<std::string> ValueText(const Token& t) {
    switch (t.type) {
      case TokenType::kWord:
        if (t.indexed) {
          return SyntaxError("invalid value " + Quote(t.text), t.pos);
        }
        return std::string(t.text);
      case TokenType::kNumber:
        return std::string(t.text);
      case TokenType::kString:
        return t.value;
      default:
        return Unexpected(t);
    }
  }

  // match := sel ("==" | "!=" | ["not"] "contains" | ["not"] "matches") val
  //        | sel "is" ["not"] "empty" | val ["not"] "in" sel
  Result<uint32_t> ParseMatch() {
    const Token& first = Peek();
    // `and`/`or` here means a missing operand ("a == b or or c"); report the keyword itself.
    if (!IsOperand(first) || first.IsKeyword("and") || first.IsKeyword("or")) {
      return Unexpected(first);
    }
    Advance();
    const Token& op = Peek();
    if (op.type == TokenType::kEqual || op.type == TokenType::kNotEqual) {
      Advance();
      return SelectorOpValue(first, op.type == TokenType::kEqual ? Op::kEqual : Op::kNotEqual, op,
                             std::string(op.text));
    }
    if (op.IsKeyword("contains")) {
      Advance();
      return SelectorOpValue(first, Op::kIn, op, "contains");
    }
    if (op.IsKeyword("matches")) {
      Advance();
      return SelectorOpValue(first, Op::kMatches, op, "matches");
    }
    if (op.IsKeyword("is")) {
      Advance();
      if (Peek().IsKeyword("empty")) {
        Advance();
        return Compile(first, Op::kIsEmpty, op, "is empty", nullptr, "");
      }
      if (Peek().IsKeyword("not")) {
        Advance();
        if (Peek().IsKeyword("empty")) {
          Advance();
          return Compile(first, Op::kIsNotEmpty, op, "is not empty", nullptr, "");
        }
      }
      return Unexpected(Peek());
    }
    if (op.IsKeyword("in")) {
      Advance();
      return ValueOpSelector(first, Op::kIn, op, "in");
    }
    if (op.IsKeyword("not")) {
      Advance();
      const Token& second = Peek();
      if (second.IsKeyword("in")) {
        Advance();
        return ValueOpSelector(first, Op::kNotIn, op, "not in");
      }
      if (second.IsKeyword("contains")) {
        Advance();
        return SelectorOpValue(first, Op::kNotIn, op, "not contains");
      }
      if (second.IsKeyword("matches")) {
        Advance();
        return SelectorOpValue(first, Op::kNotMatches, op, "not matches");
      }
      return Unexpected(second);
    }
    return Unexpected(op);
  }

  Result<uint32_t> SelectorOpValue(const Token& selector, Op op, const Token& op_token,
                                   std::string op_text) {
    const Token& value = Peek();
    if (!IsOperand(value)) {
      return Unexpected(value);
    }
    Advance();
    BEACON_ASSIGN_OR_RETURN(std::string raw, ValueText(value));
    return Compile(selector, op, op_token, std::move(op_text), &value, std::move(raw));
  }

  Result<uint32_t> ValueOpSelector(const Token& value, Op op, const Token& op_token,
                                   std::string op_text) {
    BEACON_ASSIGN_OR_RETURN(std::string raw, ValueText(value));
    const Token& selector = Peek();
    if (selector.type != TokenType::kWord) {
      if (selector.type == TokenType::kEnd) {
        return Unexpected(selector);
      }
      return SyntaxError("invalid selector " + Quote(selector.text), selector.pos);
    }
    Advance();
    return Compile(selector, op, op_token, std::move(op_text), &value, std::move(raw));
  }

  // Resolves the selector, checks the operator against its kind, converts the value and
  // compiles a regex; appends the match and returns its node.
  Result<uint32_t> Compile(const Token& selector, Op op, const Token& op_token, std::string op_text,
                           const Token* value, std::string raw) {
    if (selector.type != TokenType::kWord) {
      return SyntaxError("invalid selector " + Quote(selector.text), selector.pos);
    }
    std::optional<Accessor> acc = Resolve(selector.path, target_);
    if (!acc) {
      return SyntaxError("unknown selector " + Quote(selector.text), selector.pos);
    }
    if (!OpSupported(acc->kind, op)) {
      return SyntaxError(
          "operator " + Quote(op_text) + " is not supported for selector " + Quote(selector.text),
          op_token.pos);
    }
    Match m;
    m.field = acc->field;
    m.kind = acc->kind;
    m.op = op;
    m.any_check = acc->any_check;
    m.key = std::move(acc->key);
    const bool compares_scalar = op == Op::kEqual || op == Op::kNotEqual;
    if (compares_scalar && m.kind != Kind::kString) {
      bool ok = false;
      if (m.kind == Kind::kInt) {
        const std::optional<int64_t> v = ParseGoInt(raw);
        ok = v.has_value();
        m.int_value = v.value_or(0);
      } else if (m.kind == Kind::kUint) {
        const std::optional<uint64_t> v = ParseGoUint(raw);
        ok = v.has_value();
        m.uint_value = v.value_or(0);
      } else if (m.kind == Kind::kBool) {
        const std::optional<bool> v = ParseGoBool(raw);
        ok = v.has_value();
        m.bool_value = v.value_or(false);
      }
      if (!ok) {
        return SyntaxError("invalid value " + Quote(value->text) + " for selector " +
                               Quote(selector.text) + " (want " + std::string(KindName(m.kind)) +
                               ")",
                           value->pos);
      }
    } else if (op == Op::kMatches || op == Op::kNotMatches) {
      RE2::Options options;
      options.set_log_errors(false);
      auto re = std::make_shared<const RE2>(raw, options);
      if (!re->ok()) {
        return InvalidArgument("filter: invalid regular expression " + Quote(raw) +
                               " at position " + std::to_string(value->pos) + ": " + re->error());
      }
      m.regex = std::move(re);
    } else {
      m.text = std::move(raw);
    }
    program_.matches.push_back(std::move(m));
    return AddNode(NodeType::kMatch, static_cast<uint32_t>(program_.matches.size() - 1), 0);
  }

  FilterTarget target_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
  FilterProgram program_;
};

// ---------------------------------------------------------------------------------------------
// Evaluation.

// What one element offers to selectors. Never null: absent parts point at empty defaults.
struct Subject {
  const catalog::Node* node = nullptr;
  const catalog::Service* service = nullptr;
  const catalog::Check* check = nullptr;
  std::span<const std::shared_ptr<const catalog::Check>> checks;
};

const catalog::Node& EmptyNode() {
  static const catalog::Node kEmpty;
  return kEmpty;
}
const catalog::Service& EmptyService() {
  static const catalog::Service kEmpty;
  return kEmpty;
}
const catalog::Check& EmptyCheck() {
  static const catalog::Check kEmpty;
  return kEmpty;
}

// HealthCheck.Interval/Timeout on the wire: Go duration text, "" when unset (contract 4.0).
std::string DurationText(catalog::Nanos d) { return d.count() == 0 ? "" : FormatGoDuration(d); }

template <typename Map>
const typename Map::mapped_type* FindKey(const Map& map, const std::string& key) {
  const auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

// The string a kString match selects; nullopt when a keyed field's key is absent. `scratch`
// holds values computed on the fly (durations).
std::optional<std::string_view> StringValue(const Match& m, const Subject& s,
                                            std::string* scratch) {
  switch (m.field) {
    case Field::kNodeId:
      return s.node->id;
    case Field::kNodeName:
      return s.node->name;
    case Field::kNodeAddress:
      return s.node->address;
    case Field::kNodeDatacenter:
      return s.node->datacenter;
    case Field::kNodeTaggedAddress:
      if (const std::string* v = FindKey(s.node->tagged_addresses, m.key)) {
        return *v;
      }
      return std::nullopt;
    case Field::kNodeMetaValue:
      if (const std::string* v = FindKey(s.node->meta, m.key)) {
        return *v;
      }
      return std::nullopt;
    case Field::kServiceId:
      return s.service->id;
    case Field::kServiceName:
      return s.service->name;
    case Field::kServiceAddress:
      return s.service->address;
    case Field::kServiceKind:
      return s.service->kind;
    case Field::kServiceMetaValue:
      if (const std::string* v = FindKey(s.service->meta, m.key)) {
        return *v;
      }
      return std::nullopt;
    case Field::kServiceTaggedAddressAddress:
      if (auto v = catalog::FindTaggedAddress(*s.service, m.key)) return v->address;
      return std::nullopt;
    case Field::kCheckNode:
      return s.check->node;
    case Field::kCheckId:
      return s.check->id;
    case Field::kCheckName:
      return s.check->name;
    case Field::kCheckStatus:
      return catalog::HealthStatusName(s.check->status);
    case Field::kCheckNotes:
      return s.check->notes;
    case Field::kCheckOutput:
      return s.check->output;
    case Field::kCheckServiceId:
      return s.check->service_id;
    case Field::kCheckServiceName:
      return s.check->service_name;
    case Field::kCheckType:
      return catalog::CheckTypeName(s.check->definition.type);
    case Field::kCheckInterval:
      *scratch = DurationText(s.check->definition.interval);
      return *scratch;
    case Field::kCheckTimeout:
      *scratch = DurationText(s.check->definition.timeout);
      return *scratch;
    default:
      return std::string_view();  // unreachable: Resolve only pairs kString with the above
  }
}

std::optional<int64_t> IntValue(const Match& m, const Subject& s) {
  switch (m.field) {
    case Field::kServicePort:
      return s.service->port;
    case Field::kServiceWeightsPassing:
      return s.service->weights.passing;
    case Field::kServiceWeightsWarning:
      return s.service->weights.warning;
    case Field::kServiceTaggedAddressPort:
      if (auto v = catalog::FindTaggedAddress(*s.service, m.key)) return v->port;
      return std::nullopt;
    case Field::kCheckExposedPort:
      return 0;  // Beacon exposes no check ports (contract 4.0: ExposedPort is 0)
    default:
      return 0;
  }
}

uint64_t UintValue(const Match& m, const Subject& s) {
  switch (m.field) {
    case Field::kNodeCreateIndex:
      return s.node->create_index;
    case Field::kNodeModifyIndex:
      return s.node->modify_index;
    case Field::kServiceCreateIndex:
      return s.service->create_index;
    case Field::kServiceModifyIndex:
      return s.service->modify_index;
    case Field::kCheckCreateIndex:
      return s.check->create_index;
    case Field::kCheckModifyIndex:
      return s.check->modify_index;
    default:
      return 0;
  }
}

const std::vector<std::string>& StringListValue(const Match& m, const Subject& s) {
  if (m.field == Field::kCheckServiceTags) {
    return s.check->service_tags;
  }
  return s.service->tags;  // Field::kServiceTags
}

const catalog::StringMap& StringMapValue(const Match& m, const Subject& s) {
  switch (m.field) {
    case Field::kNodeTaggedAddresses:
      return s.node->tagged_addresses;
    case Field::kServiceMeta:
      return s.service->meta;
    default:
      return s.node->meta;  // Field::kNodeMeta
  }
}

// A keyed field whose key is absent (contract section 3): the negative operators hold,
// the positive ones do not.
bool MissingKeyResult(Op op) {
  return op == Op::kNotEqual || op == Op::kNotIn || op == Op::kIsEmpty || op == Op::kNotMatches;
}

bool EvalString(const Match& m, std::string_view v) {
  switch (m.op) {
    case Op::kEqual:
      return v == m.text;
    case Op::kNotEqual:
      return v != m.text;
    case Op::kIn:
      return v.find(m.text) != std::string_view::npos;
    case Op::kNotIn:
      return v.find(m.text) == std::string_view::npos;
    case Op::kIsEmpty:
      return v.empty();
    case Op::kIsNotEmpty:
      return !v.empty();
    case Op::kMatches:
      return RE2::PartialMatch(v, *m.regex);
    case Op::kNotMatches:
      return !RE2::PartialMatch(v, *m.regex);
  }
  return false;
}

// in / not in / is empty / is not empty on a container; `has` tells whether m.text is in it.
template <typename HasFn>
bool EvalContainer(Op op, size_t size, const HasFn& has) {
  switch (op) {
    case Op::kIn:
      return has();
    case Op::kNotIn:
      return !has();
    case Op::kIsEmpty:
      return size == 0;
    case Op::kIsNotEmpty:
      return size != 0;
    default:
      return false;  // rejected by OpSupported at parse time
  }
}

// Evaluates one match on one element (for Checks.* selectors: on the check in s.check).
bool EvalMatchOn(const Match& m, const Subject& s) {
  switch (m.kind) {
    case Kind::kString: {
      std::string scratch;
      const std::optional<std::string_view> v = StringValue(m, s, &scratch);
      return v ? EvalString(m, *v) : MissingKeyResult(m.op);
    }
    case Kind::kInt: {
      const std::optional<int64_t> v = IntValue(m, s);
      if (!v) {
        return MissingKeyResult(m.op);
      }
      return (*v == m.int_value) == (m.op == Op::kEqual);
    }
    case Kind::kUint:
      return (UintValue(m, s) == m.uint_value) == (m.op == Op::kEqual);
    case Kind::kBool:  // EnableTagOverride is the only bool field
      return (s.service->enable_tag_override == m.bool_value) == (m.op == Op::kEqual);
    case Kind::kStringList: {
      const std::vector<std::string>& list = StringListValue(m, s);
      return EvalContainer(m.op, list.size(), [&] {
        for (const std::string& item : list) {
          if (item == m.text) {
            return true;
          }
        }
        return false;
      });
    }
    case Kind::kStringMap: {
      const catalog::StringMap& map = StringMapValue(m, s);
      return EvalContainer(m.op, map.size(), [&] { return map.contains(m.text); });
    }
    case Kind::kTaggedMap: {
      const catalog::Service& svc = *s.service;
      return EvalContainer(m.op, catalog::TaggedAddressCount(svc),
                           [&] { return catalog::FindTaggedAddress(svc, m.text).has_value(); });
    }
    case Kind::kCheckList:
      return EvalContainer(m.op, s.checks.size(), [] { return false; });
    case Kind::kStruct:
      return false;  // rejected by OpSupported at parse time
  }
  return false;
}

bool EvalMatch(const Match& m, const Subject& s) {
  if (!m.any_check) {
    return EvalMatchOn(m, s);
  }
  // A selector through a list of objects is true if any element satisfies it, also for the
  // negative operators; an empty list satisfies nothing (contract section 3).
  Subject one = s;
  for (const auto& check : s.checks) {
    if (check == nullptr) {
      continue;
    }
    one.check = check.get();
    if (EvalMatchOn(m, one)) {
      return true;
    }
  }
  return false;
}

bool Eval(const FilterProgram& p, uint32_t id, const Subject& s) {
  const ExprNode& n = p.nodes[id];
  switch (n.type) {
    case NodeType::kAnd:
      for (uint32_t k = 0; k < n.count; ++k) {
        if (!Eval(p, p.child_ids[n.first + k], s)) {
          return false;
        }
      }
      return true;
    case NodeType::kOr:
      for (uint32_t k = 0; k < n.count; ++k) {
        if (Eval(p, p.child_ids[n.first + k], s)) {
          return true;
        }
      }
      return false;
    case NodeType::kNot:
      return !Eval(p, n.first, s);
    case NodeType::kMatch:
      return EvalMatch(p.matches[n.first], s);
  }
  return false;
}

}  // namespace

Filter::Filter() = default;

Filter::Filter(FilterTarget target, std::shared_ptr<const internal::FilterProgram> program)
    : target_(target), program_(std::move(program)) {}

Result<Filter> Filter::Parse(std::string_view expression, FilterTarget target) {
  std::vector<Token> tokens;
  BEACON_RETURN_IF_ERROR(Tokenize(expression, &tokens));
  if (tokens.size() == 1) {  // only the end token: empty means no filter (contract 1.6)
    return Filter(target, nullptr);
  }
  Parser parser(target, std::move(tokens));
  BEACON_ASSIGN_OR_RETURN(FilterProgram program, parser.Run());
  return Filter(target, std::make_shared<const FilterProgram>(std::move(program)));
}

bool Filter::Matches(const catalog::Instance& entry) const {
  if (program_ == nullptr) {
    return true;
  }
  Subject s;
  s.node = entry.node ? entry.node.get() : &EmptyNode();
  s.service = entry.service ? entry.service.get() : &EmptyService();
  s.check = &EmptyCheck();
  s.checks = entry.checks;
  return Eval(*program_, program_->root, s);
}

bool Filter::Matches(const catalog::Node& node) const {
  if (program_ == nullptr) {
    return true;
  }
  Subject s;
  s.node = &node;
  s.service = &EmptyService();
  s.check = &EmptyCheck();
  return Eval(*program_, program_->root, s);
}

bool Filter::Matches(const catalog::Service& service) const {
  if (program_ == nullptr) {
    return true;
  }
  Subject s;
  s.node = &EmptyNode();
  s.service = &service;
  s.check = &EmptyCheck();
  return Eval(*program_, program_->root, s);
}

bool Filter::Matches(const catalog::Check& check) const {
  if (program_ == nullptr) {
    return true;
  }
  Subject s;
  s.node = &EmptyNode();
  s.service = &EmptyService();
  s.check = &check;
  return Eval(*program_, program_->root, s);
}

}  // namespace beacon::wire
