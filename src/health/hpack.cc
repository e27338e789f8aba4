#include "health/hpack.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <utility>

namespace beacon::health::hpack {

namespace {

#include "health/hpack_tables.inc"

// Canonical Huffman codes rebuilt from the lengths, plus a binary decoding tree.
struct Huffman {
  std::array<uint32_t, 257> code{};
  // Tree nodes: child[node][bit]; leaves are encoded as -(symbol + 1). Node 0 is the root.
  std::vector<std::array<int, 2>> child;

  Huffman() {
    std::array<int, 257> order{};
    for (int i = 0; i < 257; ++i) {
      order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(), [](int a, int b) {
      return kHuffmanCodeLengths[a] < kHuffmanCodeLengths[b];
    });
    uint32_t c = 0;
    int prev_len = kHuffmanCodeLengths[order[0]];
    for (size_t i = 0; i < order.size(); ++i) {
      int len = kHuffmanCodeLengths[order[i]];
      if (i > 0) {
        c = (c + 1) << (len - prev_len);
      }
      prev_len = len;
      code[order[i]] = c;
    }
    child.push_back({0, 0});
    for (int sym = 0; sym < 257; ++sym) {
      int node = 0;
      int len = kHuffmanCodeLengths[sym];
      for (int b = len - 1; b >= 0; --b) {
        int bit = (code[sym] >> b) & 1;
        if (b == 0) {
          child[node][bit] = -(sym + 1);
        } else {
          if (child[node][bit] == 0) {
            child[node][bit] = static_cast<int>(child.size());
            child.push_back({0, 0});
          }
          node = child[node][bit];
        }
      }
    }
  }
};

const Huffman& GetHuffman() {
  static const Huffman h;
  return h;
}

constexpr size_t kEntryOverhead = 32;  // RFC 7541 4.1

Result<std::string> DecodeString(std::string_view* in) {
  if (in->empty()) {
    return InvalidArgument("hpack: truncated string");
  }
  const bool huffman = (static_cast<uint8_t>(in->front()) & 0x80) != 0;
  BEACON_ASSIGN_OR_RETURN(uint64_t len, DecodeInteger(in, 7));
  if (len > in->size()) {
    return InvalidArgument("hpack: string longer than the block");
  }
  std::string_view raw = in->substr(0, len);
  in->remove_prefix(len);
  if (huffman) {
    return HuffmanDecode(raw);
  }
  return std::string(raw);
}

}  // namespace

void EncodeInteger(uint64_t value, int prefix_bits, uint8_t first_byte_flags, std::string* out) {
  const uint64_t max_prefix = (1u << prefix_bits) - 1;
  if (value < max_prefix) {
    out->push_back(static_cast<char>(first_byte_flags | value));
    return;
  }
  out->push_back(static_cast<char>(first_byte_flags | max_prefix));
  value -= max_prefix;
  while (value >= 128) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

Result<uint64_t> DecodeInteger(std::string_view* in, int prefix_bits) {
  if (in->empty()) {
    return InvalidArgument("hpack: truncated integer");
  }
  const uint64_t max_prefix = (1u << prefix_bits) - 1;
  uint64_t value = static_cast<uint8_t>(in->front()) & max_prefix;
  in->remove_prefix(1);
  if (value < max_prefix) {
    return value;
  }
  for (int shift = 0;; shift += 7) {
    if (in->empty()) {
      return InvalidArgument("hpack: truncated integer");
    }
    if (shift > 28) {
      return InvalidArgument("hpack: integer too large");
    }
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    value += static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      break;
    }
  }
  if (value > 0xffffffffu) {
    return InvalidArgument("hpack: integer too large");
  }
  return value;
}

std::string HuffmanEncode(std::string_view in) {
  const Huffman& h = GetHuffman();
  std::string out;
  uint64_t bits = 0;
  int nbits = 0;
  for (unsigned char c : in) {
    bits = (bits << kHuffmanCodeLengths[c]) | h.code[c];
    nbits += kHuffmanCodeLengths[c];
    while (nbits >= 8) {
      out.push_back(static_cast<char>(bits >> (nbits - 8)));
      nbits -= 8;
      bits &= (uint64_t{1} << nbits) - 1;
    }
  }
  if (nbits > 0) {  // pad with the most significant bits of EOS (all ones)
    out.push_back(static_cast<char>((bits << (8 - nbits)) | ((1u << (8 - nbits)) - 1)));
  }
  return out;
}

Result<std::string> HuffmanDecode(std::string_view in) {
  const Huffman& h = GetHuffman();
  std::string out;
  out.reserve(in.size() * 8 / 5);
  int node = 0;
  int depth = 0;       // bits consumed since the last symbol
  bool all_ones = true;  // those bits were all 1 (a valid EOS-prefix padding so far)
  for (unsigned char byte : in) {
    for (int b = 7; b >= 0; --b) {
      const int bit = (byte >> b) & 1;
      const int next = h.child[node][bit];
      ++depth;
      all_ones = all_ones && bit == 1;
      if (next < 0) {
        const int sym = -next - 1;
        if (sym == 256) {
          return InvalidArgument("hpack: EOS in a Huffman string");
        }
        out.push_back(static_cast<char>(sym));
        node = 0;
        depth = 0;
        all_ones = true;
      } else if (next == 0) {
        return InvalidArgument("hpack: invalid Huffman code");
      } else {
        node = next;
      }
    }
  }
  if (depth > 7 || !all_ones) {
    return InvalidArgument("hpack: invalid Huffman padding");
  }
  return out;
}

void EncodeLiteral(std::string_view name, std::string_view value, std::string* out) {
  out->push_back(0x00);  // literal without indexing, new name
  EncodeInteger(name.size(), 7, 0x00, out);
  out->append(name);
  EncodeInteger(value.size(), 7, 0x00, out);
  out->append(value);
}

Decoder::Decoder(size_t max_table_size)
    : max_table_size_(max_table_size), capacity_(max_table_size) {}

Result<HeaderField> Decoder::Lookup(uint64_t index) const {
  if (index == 0) {
    return InvalidArgument("hpack: index 0");
  }
  if (index <= std::size(kStaticTable)) {
    const auto& [n, v] = kStaticTable[index - 1];
    return HeaderField{std::string(n), std::string(v)};
  }
  const uint64_t d = index - std::size(kStaticTable) - 1;
  if (d >= table_.size()) {
    return InvalidArgument("hpack: index " + std::to_string(index) + " out of range");
  }
  return table_[d];
}

void Decoder::Evict() {
  while (size_ > capacity_ && !table_.empty()) {
    size_ -= table_.back().name.size() + table_.back().value.size() + kEntryOverhead;
    table_.pop_back();
  }
}

void Decoder::Insert(HeaderField field) {
  const size_t entry = field.name.size() + field.value.size() + kEntryOverhead;
  // An entry larger than the table empties it and is not added (RFC 7541 4.4).
  if (entry > capacity_) {
    table_.clear();
    size_ = 0;
    return;
  }
  size_ += entry;
  table_.push_front(std::move(field));
  Evict();
}

Status Decoder::Decode(std::string_view block, std::vector<HeaderField>* out) {
  bool field_seen = false;
  while (!block.empty()) {
    const uint8_t b = static_cast<uint8_t>(block.front());
    if (b & 0x80) {  // 6.1 indexed
      BEACON_ASSIGN_OR_RETURN(uint64_t index, DecodeInteger(&block, 7));
      BEACON_ASSIGN_OR_RETURN(HeaderField f, Lookup(index));
      out->push_back(std::move(f));
      field_seen = true;
      continue;
    }
    if ((b & 0xe0) == 0x20) {  // 6.3 dynamic table size update, only before any field
      if (field_seen) {
        return InvalidArgument("hpack: table size update after a header field");
      }
      BEACON_ASSIGN_OR_RETURN(uint64_t size, DecodeInteger(&block, 5));
      if (size > max_table_size_) {
        return InvalidArgument("hpack: table size update past the advertised limit");
      }
      capacity_ = size;
      Evict();
      continue;
    }
    // 6.2 literals: with incremental indexing (01), without (0000), never indexed (0001).
    const bool indexing = (b & 0xc0) == 0x40;
    const int prefix = indexing ? 6 : 4;
    BEACON_ASSIGN_OR_RETURN(uint64_t name_index, DecodeInteger(&block, prefix));
    HeaderField f;
    if (name_index == 0) {
      BEACON_ASSIGN_OR_RETURN(f.name, DecodeString(&block));
    } else {
      BEACON_ASSIGN_OR_RETURN(HeaderField named, Lookup(name_index));
      f.name = std::move(named.name);
    }
    BEACON_ASSIGN_OR_RETURN(f.value, DecodeString(&block));
    if (indexing) {
      Insert(f);
    }
    out->push_back(std::move(f));
    field_seen = true;
  }
  return Status::Ok();
}

}  // namespace beacon::health::hpack
