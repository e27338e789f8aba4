#include "dns/query_name.h"

#include "common/strings.h"
#include "dns/message.h"

namespace beacon::dns {

namespace {

std::string Join(const std::vector<std::string>& labels, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) out.push_back('.');
    out += labels[i];
  }
  return out;
}

bool IsKindLabel(std::string_view lower) {
  return lower == "service" || lower == "node" || lower == "addr" || lower == "query" ||
         lower == "connect" || lower == "ingress" || lower == "virtual";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Labels right of the kind label: none, `<dc>` or `<dc>.dc`. False when malformed.
bool ParseDatacenter(const std::vector<std::string>& labels, size_t begin, std::string* dc) {
  const size_t n = labels.size() - begin;
  if (n == 0) return true;
  if (n == 1) {
    *dc = labels[begin];
    return true;
  }
  if (n == 2 && EqualsIgnoreCase(labels[begin + 1], "dc")) {
    *dc = labels[begin];
    return true;
  }
  return false;
}

}  // namespace

QueryName ParseQueryName(std::string_view name, uint16_t qtype, std::string_view domain) {
  QueryName q;
  auto split = SplitName(name);
  auto domain_labels = SplitName(domain);
  if (!split.ok() || !domain_labels.ok()) {
    q.kind = QueryKind::kOutsideDomain;
    return q;
  }
  std::vector<std::string>& labels = *split;
  const std::vector<std::string>& zone = *domain_labels;
  if (labels.size() < zone.size()) {
    q.kind = QueryKind::kOutsideDomain;
    return q;
  }
  const size_t own = labels.size() - zone.size();  // labels left of the domain
  for (size_t i = 0; i < zone.size(); ++i) {
    if (!EqualsIgnoreCase(labels[own + i], zone[i])) {
      q.kind = QueryKind::kOutsideDomain;
      return q;
    }
  }
  labels.resize(own);
  if (labels.empty()) {
    q.kind = QueryKind::kApex;
    return q;
  }

  // The right-most kind label decides; for SRV a right-most '_' label stands in for `service`
  // and belongs to the service part.
  size_t kind_at = SIZE_MAX;
  std::string kind;
  size_t parts_end = 0;    // labels [0, parts_end) are the service/node/addr part
  size_t suffix_begin = 0;  // labels [suffix_begin, end) are the datacenter part
  for (size_t i = labels.size(); i-- > 0;) {
    std::string lower = AsciiLower(labels[i]);
    if (IsKindLabel(lower)) {
      kind_at = i;
      kind = std::move(lower);
      parts_end = i;
      suffix_begin = i + 1;
      break;
    }
    if (qtype == kTypeSrv && !labels[i].empty() && labels[i][0] == '_') {
      kind_at = i;
      kind = "service";
      parts_end = i + 1;
      suffix_begin = i + 1;
      break;
    }
  }
  if (kind_at == SIZE_MAX) return q;  // kInvalid
  if (!ParseDatacenter(labels, suffix_begin, &q.datacenter)) return q;

  if (kind == "service") {
    const size_t n = parts_end;
    if (n < 1) return q;
    if (n == 2 && labels[0].size() > 1 && labels[0][0] == '_' && labels[1].size() > 1 &&
        labels[1][0] == '_') {
      q.service = labels[0].substr(1);
      q.tag = labels[1].substr(1);
      // `_tcp` means "any instance", not the tag "tcp" (contract 6, Consul's dns.go).
      if (EqualsIgnoreCase(q.tag, "tcp")) q.tag.clear();
      q.rfc2782 = true;
    } else {
      q.service = labels[n - 1];
      q.tag = Join(labels, 0, n - 1);
    }
    if (q.service.empty()) return q;
    q.kind = QueryKind::kService;
    return q;
  }
  if (kind == "node") {
    if (parts_end < 1) return q;
    q.node = Join(labels, 0, parts_end);
    q.kind = QueryKind::kNode;
    return q;
  }
  if (kind == "addr") {
    if (parts_end != 1) return q;
    const std::string& hex = labels[0];
    if (hex.size() != 8 && hex.size() != 32) return q;
    std::vector<uint8_t> bytes;
    bytes.reserve(hex.size() / 2);
    for (size_t i = 0; i < hex.size(); i += 2) {
      int hi = HexValue(hex[i]);
      int lo = HexValue(hex[i + 1]);
      if (hi < 0 || lo < 0) return q;
      bytes.push_back(static_cast<uint8_t>(hi * 16 + lo));
    }
    q.address = std::move(bytes);
    q.kind = QueryKind::kAddr;
    return q;
  }
  q.kind = QueryKind::kUnsupported;  // query, connect, ingress, virtual
  return q;
}

std::string QueryNameToString(const QueryName& q) {
  std::string s;
  switch (q.kind) {
    case QueryKind::kOutsideDomain: return "outside";
    case QueryKind::kApex: return "apex";
    case QueryKind::kInvalid: return "invalid";
    case QueryKind::kUnsupported: return "unsupported";
    case QueryKind::kService:
      s = "service " + q.service;
      if (!q.tag.empty()) s += " tag=" + q.tag;
      if (q.rfc2782) s += " rfc2782";
      break;
    case QueryKind::kNode:
      s = "node " + q.node;
      break;
    case QueryKind::kAddr: {
      s = "addr ";
      static constexpr char kHex[] = "0123456789abcdef";
      for (uint8_t b : q.address) {
        s += kHex[b >> 4];
        s += kHex[b & 0xf];
      }
      break;
    }
  }
  if (!q.datacenter.empty()) s += " dc=" + q.datacenter;
  return s;
}

}  // namespace beacon::dns
