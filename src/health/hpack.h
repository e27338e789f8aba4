// HPACK (RFC 7541), as much as a gRPC health client needs.
//
// Encoding: we only ever send "literal header field without indexing, new name" with raw
// (non-Huffman) strings, which every decoder must accept and which leaves the server's decoder
// table untouched. Decoding must be complete, because servers answer with whatever their encoder
// likes: indexed fields from the static and dynamic tables, literals with incremental indexing,
// table size updates, and Huffman-coded strings. The decoder keeps the dynamic table across
// header blocks of one connection, as the RFC requires.
//
// Pure code: no sockets, no threads (STYLE.md section 6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace beacon::health::hpack {

struct HeaderField {
  std::string name;
  std::string value;
  bool operator==(const HeaderField&) const = default;
};

// Section 5.1. Appends `value` with an N-bit prefix; `first_byte_flags` fills the bits above it.
void EncodeInteger(uint64_t value, int prefix_bits, uint8_t first_byte_flags, std::string* out);
// Reads an integer with an N-bit prefix from the front of `in` and advances it. InvalidArgument
// when truncated or larger than 2^32.
Result<uint64_t> DecodeInteger(std::string_view* in, int prefix_bits);

// Section 5.2 / Appendix B. HuffmanDecode rejects an EOS symbol, padding longer than 7 bits and
// padding that is not all ones.
std::string HuffmanEncode(std::string_view in);
Result<std::string> HuffmanDecode(std::string_view in);

// Appends one "literal without indexing, new name" field (section 6.2.2) with raw strings.
void EncodeLiteral(std::string_view name, std::string_view value, std::string* out);

class Decoder {
 public:
  // `max_table_size` is the SETTINGS_HEADER_TABLE_SIZE we advertise (4096 unless changed); the
  // server may not grow the dynamic table past it.
  explicit Decoder(size_t max_table_size = 4096);

  // Decodes one complete header block (HEADERS plus its CONTINUATIONs) and appends the fields.
  // InvalidArgument on any malformed input; the connection must then be dropped (a failed
  // block leaves the table in an unknown state).
  Status Decode(std::string_view block, std::vector<HeaderField>* out);

  size_t table_size() const { return size_; }  // in RFC 7541 4.1 units
  size_t table_entries() const { return table_.size(); }

 private:
  Result<HeaderField> Lookup(uint64_t index) const;
  void Insert(HeaderField field);
  void Evict();

  size_t max_table_size_;  // the limit we advertised
  size_t capacity_;        // the encoder's current choice, <= max_table_size_
  size_t size_ = 0;
  std::deque<HeaderField> table_;  // newest first: dynamic index 62 is table_[0]
};

}  // namespace beacon::health::hpack
