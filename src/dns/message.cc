#include "dns/message.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace beacon::dns {

namespace {

// A legitimate name needs at most one pointer per label; 127 labels fit in 255 bytes.
constexpr int kMaxPointerHops = 127;
// Pointers are 14 bits: names written past this offset cannot be pointed to.
constexpr size_t kMaxPointerOffset = 0x3fff;

Status Malformed(size_t offset, std::string_view what) {
  return InvalidArgument("dns: malformed message at byte " + std::to_string(offset) + ": " +
                         std::string(what));
}

uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t Load32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

// Reads a possibly compressed name at *pos. The in-place bytes (before the first pointer) must end
// by `limit`; bytes reached through pointers only by the message end. On success *pos is just
// past the in-place bytes.
Status ReadName(std::span<const uint8_t> msg, size_t* pos, size_t limit, std::string* text) {
  text->clear();
  size_t p = *pos;
  size_t bound = limit;
  size_t segment_start = p;  // where the current run of labels began: pointers must go below it
  size_t resume = SIZE_MAX;  // position after the first pointer
  size_t wire_len = 0;
  int hops = 0;
  for (;;) {
    if (p >= bound) return Malformed(p, "name runs past the end");
    uint8_t len = msg[p];
    if ((len & 0xc0) == 0xc0) {
      if (p + 1 >= bound) return Malformed(p, "truncated compression pointer");
      size_t target = (static_cast<size_t>(len & 0x3f) << 8) | msg[p + 1];
      // Strictly backwards from the start of this run: the runs' starts strictly decrease, so
      // no sequence of pointers can revisit a byte (no loops, even through a label run).
      if (target >= segment_start) return Malformed(p, "compression pointer does not point back");
      if (++hops > kMaxPointerHops) return Malformed(p, "too many compression pointers");
      if (resume == SIZE_MAX) resume = p + 2;
      p = target;
      segment_start = target;
      bound = msg.size();
      continue;
    }
    if ((len & 0xc0) != 0) return Malformed(p, "unsupported label type");
    if (len == 0) {
      ++p;
      break;
    }
    if (p + 1 + len > bound) return Malformed(p, "label runs past the end");
    wire_len += 1 + len;
    if (wire_len + 1 > kMaxNameWireBytes) return Malformed(p, "name longer than 255 bytes");
    AppendLabelText(std::string_view(reinterpret_cast<const char*>(&msg[p + 1]), len), text);
    p += 1 + len;
  }
  if (text->empty()) text->push_back('.');
  *pos = resume != SIZE_MAX ? resume : p;
  return Status::Ok();
}

enum class Section { kAnswer, kAuthority, kAdditional };

Status ReadRdata(std::span<const uint8_t> msg, uint16_t type, size_t start, size_t end,
                 Rdata* rdata) {
  const size_t len = end - start;
  auto exact = [&](size_t pos) -> Status {
    return pos == end ? Status::Ok() : Malformed(pos, "RDATA length does not match its content");
  };
  switch (type) {
    case kTypeA: {
      if (len != 4) return Malformed(start, "A RDATA is not 4 bytes");
      RdataA a;
      std::copy(&msg[start], &msg[start] + 4, a.address.begin());
      *rdata = a;
      return Status::Ok();
    }
    case kTypeAaaa: {
      if (len != 16) return Malformed(start, "AAAA RDATA is not 16 bytes");
      RdataAaaa a;
      std::copy(&msg[start], &msg[start] + 16, a.address.begin());
      *rdata = a;
      return Status::Ok();
    }
    case kTypeNs:
    case kTypeCname:
    case kTypePtr: {
      RdataName n;
      size_t pos = start;
      BEACON_RETURN_IF_ERROR(ReadName(msg, &pos, end, &n.name));
      BEACON_RETURN_IF_ERROR(exact(pos));
      *rdata = std::move(n);
      return Status::Ok();
    }
    case kTypeSrv: {
      if (len < 7) return Malformed(start, "SRV RDATA too short");
      RdataSrv s;
      s.priority = Load16(&msg[start]);
      s.weight = Load16(&msg[start + 2]);
      s.port = Load16(&msg[start + 4]);
      size_t pos = start + 6;
      BEACON_RETURN_IF_ERROR(ReadName(msg, &pos, end, &s.target));
      BEACON_RETURN_IF_ERROR(exact(pos));
      *rdata = std::move(s);
      return Status::Ok();
    }
    case kTypeTxt: {
      RdataTxt t;
      size_t pos = start;
      while (pos < end) {
        size_t n = msg[pos];
        if (pos + 1 + n > end) return Malformed(pos, "TXT string runs past its RDATA");
        t.strings.emplace_back(reinterpret_cast<const char*>(&msg[pos + 1]), n);
        pos += 1 + n;
      }
      *rdata = std::move(t);
      return Status::Ok();
    }
    case kTypeSoa: {
      RdataSoa s;
      size_t pos = start;
      BEACON_RETURN_IF_ERROR(ReadName(msg, &pos, end, &s.mname));
      BEACON_RETURN_IF_ERROR(ReadName(msg, &pos, end, &s.rname));
      if (end - pos != 20) return Malformed(pos, "SOA RDATA has the wrong length");
      s.serial = Load32(&msg[pos]);
      s.refresh = Load32(&msg[pos + 4]);
      s.retry = Load32(&msg[pos + 8]);
      s.expire = Load32(&msg[pos + 12]);
      s.minimum = Load32(&msg[pos + 16]);
      *rdata = std::move(s);
      return Status::Ok();
    }
    default:
      *rdata = RdataRaw{std::string(reinterpret_cast<const char*>(&msg[start]), len)};
      return Status::Ok();
  }
}

Status ReadRecords(std::span<const uint8_t> msg, size_t* pos, size_t count, Section section,
                   Message* m, uint8_t* extended_rcode) {
  std::vector<ResourceRecord>* out = section == Section::kAnswer      ? &m->answers
                                     : section == Section::kAuthority ? &m->authority
                                                                      : &m->additional;
  // A record is at least 11 bytes: never reserve more than the bytes left could hold.
  out->reserve(std::min(count, (msg.size() - *pos) / 11));
  for (size_t i = 0; i < count; ++i) {
    ResourceRecord rr;
    const size_t record_start = *pos;
    BEACON_RETURN_IF_ERROR(ReadName(msg, pos, msg.size(), &rr.name));
    if (msg.size() - *pos < 10) return Malformed(*pos, "record header runs past the end");
    const uint8_t* p = &msg[*pos];
    rr.type = Load16(p);
    rr.klass = Load16(p + 2);
    rr.ttl = Load32(p + 4);
    size_t rdlength = Load16(p + 8);
    *pos += 10;
    if (msg.size() - *pos < rdlength) return Malformed(*pos, "RDATA runs past the end");
    const size_t rdata_start = *pos;
    const size_t rdata_end = rdata_start + rdlength;
    *pos = rdata_end;
    if (rr.type == kTypeOpt) {
      if (section != Section::kAdditional) return Malformed(record_start, "OPT outside additional");
      if (m->edns) return Malformed(record_start, "more than one OPT record");
      if (rr.name != ".") return Malformed(record_start, "OPT owner is not the root");
      // Options are TLVs (code, length, data) that must tile the RDATA exactly.
      for (size_t o = rdata_start; o < rdata_end;) {
        if (rdata_end - o < 4) return Malformed(o, "truncated EDNS option");
        size_t olen = Load16(&msg[o + 2]);
        if (rdata_end - o - 4 < olen) return Malformed(o, "EDNS option runs past its RDATA");
        o += 4 + olen;
      }
      Edns e;
      e.udp_size = rr.klass;
      *extended_rcode = static_cast<uint8_t>(rr.ttl >> 24);
      e.version = static_cast<uint8_t>(rr.ttl >> 16);
      e.dnssec_ok = (rr.ttl & 0x8000) != 0;
      e.options.assign(reinterpret_cast<const char*>(msg.data()) + rdata_start, rdlength);
      m->edns = std::move(e);
      continue;
    }
    BEACON_RETURN_IF_ERROR(ReadRdata(msg, rr.type, rdata_start, rdata_end, &rr.rdata));
    out->push_back(std::move(rr));
  }
  return Status::Ok();
}

constexpr uint64_t kHashSeed = 0x9e3779b97f4a7c15ull;

// Mixes `n` bytes into `h` eight at a time (a multiplicative hash; names are short, and this is
// on the encoder's hot path).
uint64_t HashBytes(const uint8_t* p, size_t n, uint64_t h) {
  while (n > 0) {
    uint64_t word = 0;
    const size_t take = std::min<size_t>(n, 8);
    std::memcpy(&word, p, take);
    h = (h ^ word ^ take) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    p += take;
    n -= take;
  }
  return h;
}

// Names already written, by wire suffix -> message offset, for compression. Open addressing
// over a power-of-two table; keys are byte ranges of `arena_`, which holds the wire form of every
// name inserted. Reset() is O(1) (a generation bump), so one table per thread is reused across
// messages and the hot path allocates nothing once the table has grown to its working size.
class CompressionTable {
 public:
  void Reset() {
    arena_.clear();
    count_ = 0;
    if (++generation_ == 0) {  // wrapped: really clear once every 2^32 messages
      std::fill(slots_.begin(), slots_.end(), Slot{});
      generation_ = 1;
    }
    if (slots_.empty()) slots_.resize(256);
  }

  // Message offset of an earlier name equal to these bytes, or -1.
  int Find(const uint8_t* key, size_t len, uint32_t hash) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.generation != generation_) return -1;
      if (s.hash == hash && s.len == len && std::memcmp(arena_.data() + s.arena_off, key, len) == 0) {
        return s.msg_off;
      }
    }
  }

  // Copies a whole wire name into the arena; returns where it starts.
  uint32_t Keep(const uint8_t* wire, size_t len) {
    auto off = static_cast<uint32_t>(arena_.size());
    arena_.append(reinterpret_cast<const char*>(wire), len);
    return off;
  }

  // REQUIRES: [arena_off, arena_off + len) was returned by Keep. Keeps the first offset seen.
  void Insert(uint32_t hash, uint32_t arena_off, size_t len, uint16_t msg_off) {
    if ((count_ + 1) * 2 > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    const auto* key = reinterpret_cast<const uint8_t*>(arena_.data()) + arena_off;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.generation != generation_) {
        s = Slot{generation_, hash, arena_off, static_cast<uint16_t>(len), msg_off};
        ++count_;
        return;
      }
      if (s.hash == hash && s.len == len && std::memcmp(arena_.data() + s.arena_off, key, len) == 0) {
        return;
      }
    }
  }

 private:
  struct Slot {
    uint32_t generation = 0;
    uint32_t hash = 0;
    uint32_t arena_off = 0;
    uint16_t len = 0;
    uint16_t msg_off = 0;
  };

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.generation != generation_) continue;
      size_t i = s.hash & mask;
      while (slots_[i].generation == generation_) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t count_ = 0;
  uint32_t generation_ = 0;
};

Status BadName(std::string_view text, const char* why) {
  return InvalidArgument("dns: " + std::string(why) + " in name \"" + std::string(text) + "\"");
}

// Writes a message into `out` after its current contents (offsets are relative to that point),
// compressing names through `table`.
class Encoder {
 public:
  Encoder(std::string* out, CompressionTable* table)
      : out_(out), table_(table), base_(out->size()) {
    table_->Reset();
  }

  size_t Offset() const { return out_->size() - base_; }
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U16(uint16_t v) {
    const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
    out_->append(b, 2);
  }
  void U32(uint32_t v) {
    const char b[4] = {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xff),
                       static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
    out_->append(b, 4);
  }
  void Bytes(std::string_view b) { out_->append(b); }
  void Bytes(const uint8_t* p, size_t n) { out_->append(reinterpret_cast<const char*>(p), n); }
  void Patch16(size_t offset, uint16_t v) {
    (*out_)[base_ + offset] = static_cast<char>(v >> 8);
    (*out_)[base_ + offset + 1] = static_cast<char>(v & 0xff);
  }

  // Names equal to this text (the question's, which every answer owner repeats) are written as a
  // pointer to `offset` without being converted or hashed again.
  void RememberQuestion(std::string_view text, size_t offset) {
    if (offset <= kMaxPointerOffset) {
      question_text_ = text;
      question_offset_ = offset;
    }
  }

  Status Name(std::string_view text, bool compress) {
    if (compress && question_offset_ != 0 && text == question_text_) {
      U16(static_cast<uint16_t>(0xc000 | question_offset_));
      return Status::Ok();
    }
    uint8_t w[kMaxNameWireBytes];
    size_t n = 0;
    if (const char* why = TextToWire(text, w, &n)) return BadName(text, why);
    // Label starts and the hash of the suffix beginning at each (the root alone is never pointed
    // to: a pointer would be longer than the zero byte).
    size_t starts[kMaxNameWireBytes / 2 + 1];
    uint32_t hashes[kMaxNameWireBytes / 2 + 1];
    size_t labels = 0;
    for (size_t i = 0; i + 1 < n; i += 1 + w[i]) starts[labels++] = i;
    // Each suffix's hash extends the next shorter one's with its first label: O(n) in all.
    uint64_t h = kHashSeed;
    for (size_t j = labels; j-- > 0;) {
      h = HashBytes(w + starts[j], 1 + w[starts[j]], h);
      hashes[j] = static_cast<uint32_t>(h >> 32);
    }
    size_t match = labels;  // the first label of the longest suffix already written
    int match_offset = -1;
    if (compress) {
      for (size_t j = 0; j < labels; ++j) {
        match_offset = table_->Find(w + starts[j], n - starts[j], hashes[j]);
        if (match_offset >= 0) {
          match = j;
          break;
        }
      }
    }
    const size_t start = Offset();
    if (match > 0 && start <= kMaxPointerOffset) {
      const uint32_t arena_off = table_->Keep(w, n);
      for (size_t j = 0; j < match && start + starts[j] <= kMaxPointerOffset; ++j) {
        table_->Insert(hashes[j], arena_off + static_cast<uint32_t>(starts[j]), n - starts[j],
                       static_cast<uint16_t>(start + starts[j]));
      }
    }
    if (match < labels) {
      Bytes(w, starts[match]);
      U16(static_cast<uint16_t>(0xc000 | match_offset));
    } else {
      Bytes(w, n);
    }
    return Status::Ok();
  }

 private:
  std::string* out_;
  CompressionTable* table_;
  size_t base_;
  std::string_view question_text_;
  size_t question_offset_ = 0;  // 0: none (a name never starts inside the header)
};

Status EncodeRecord(Encoder& e, const ResourceRecord& rr) {
  BEACON_RETURN_IF_ERROR(e.Name(rr.name, true));
  e.U16(rr.type);
  e.U16(rr.klass);
  e.U32(rr.ttl);
  const size_t rdlength_at = e.Offset();
  e.U16(0);
  const size_t rdata_start = e.Offset();
  Status s = std::visit(
      [&](const auto& d) -> Status {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, RdataA> || std::is_same_v<T, RdataAaaa>) {
          e.Bytes(std::string_view(reinterpret_cast<const char*>(d.address.data()),
                                   d.address.size()));
        } else if constexpr (std::is_same_v<T, RdataName>) {
          return e.Name(d.name, true);
        } else if constexpr (std::is_same_v<T, RdataSrv>) {
          e.U16(d.priority);
          e.U16(d.weight);
          e.U16(d.port);
          return e.Name(d.target, false);  // RFC 2782: never compressed
        } else if constexpr (std::is_same_v<T, RdataTxt>) {
          for (const std::string& s : d.strings) {
            if (s.size() > 255) return InvalidArgument("dns: TXT string longer than 255 bytes");
            e.U8(static_cast<uint8_t>(s.size()));
            e.Bytes(s);
          }
        } else if constexpr (std::is_same_v<T, RdataSoa>) {
          BEACON_RETURN_IF_ERROR(e.Name(d.mname, true));
          BEACON_RETURN_IF_ERROR(e.Name(d.rname, true));
          e.U32(d.serial);
          e.U32(d.refresh);
          e.U32(d.retry);
          e.U32(d.expire);
          e.U32(d.minimum);
        } else {
          e.Bytes(d.bytes);
        }
        return Status::Ok();
      },
      rr.rdata);
  BEACON_RETURN_IF_ERROR(s);
  const size_t rdlength = e.Offset() - rdata_start;
  if (rdlength > 0xffff) return InvalidArgument("dns: RDATA longer than 65535 bytes");
  e.Patch16(rdlength_at, static_cast<uint16_t>(rdlength));
  return Status::Ok();
}

Status EncodeAll(const Message& m, Encoder& e, const SectionCounts& counts,
                 std::vector<uint32_t>* record_ends) {
  auto record = [&](const ResourceRecord& rr) -> Status {
    BEACON_RETURN_IF_ERROR(EncodeRecord(e, rr));
    if (record_ends) record_ends->push_back(static_cast<uint32_t>(e.Offset()));
    return Status::Ok();
  };
  const size_t an = std::min(counts.answers, m.answers.size());
  const size_t ns = std::min(counts.authority, m.authority.size());
  const size_t ar = std::min(counts.additional, m.additional.size());
  const size_t arcount = ar + (m.edns ? 1 : 0);
  if (m.questions.size() > 0xffff || an > 0xffff || ns > 0xffff || arcount > 0xffff) {
    return InvalidArgument("dns: more than 65535 records in a section");
  }
  const Header& h = m.header;
  if (h.rcode > 0xfff || (h.rcode > 0xf && !m.edns)) {
    return InvalidArgument("dns: rcode " + std::to_string(h.rcode) + " needs an OPT record");
  }
  e.U16(h.id);
  uint16_t flags = 0;
  flags |= h.qr ? 0x8000 : 0;
  flags |= static_cast<uint16_t>((h.opcode & 0xf) << 11);
  flags |= h.aa ? 0x0400 : 0;
  flags |= h.tc ? 0x0200 : 0;
  flags |= h.rd ? 0x0100 : 0;
  flags |= h.ra ? 0x0080 : 0;
  flags |= h.ad ? 0x0020 : 0;
  flags |= h.cd ? 0x0010 : 0;
  flags |= h.rcode & 0xf;
  e.U16(flags);
  e.U16(static_cast<uint16_t>(m.questions.size()));
  e.U16(static_cast<uint16_t>(an));
  e.U16(static_cast<uint16_t>(ns));
  e.U16(static_cast<uint16_t>(arcount));
  for (const Question& q : m.questions) {
    const size_t at = e.Offset();
    BEACON_RETURN_IF_ERROR(e.Name(q.name, true));
    // Whatever was written at `at` (labels, or a pointer to an earlier copy) reads as q.name.
    if (m.questions.size() == 1) e.RememberQuestion(q.name, at);
    e.U16(q.type);
    e.U16(q.klass);
  }
  if (record_ends) record_ends->push_back(static_cast<uint32_t>(e.Offset()));
  for (size_t i = 0; i < an; ++i) BEACON_RETURN_IF_ERROR(record(m.answers[i]));
  for (size_t i = 0; i < ns; ++i) BEACON_RETURN_IF_ERROR(record(m.authority[i]));
  for (size_t i = 0; i < ar; ++i) BEACON_RETURN_IF_ERROR(record(m.additional[i]));
  if (m.edns) {
    const Edns& x = *m.edns;
    e.U8(0);  // root owner
    e.U16(kTypeOpt);
    e.U16(x.udp_size);
    e.U32((static_cast<uint32_t>(h.rcode >> 4) << 24) | (static_cast<uint32_t>(x.version) << 16) |
          (x.dnssec_ok ? 0x8000u : 0u));
    if (x.options.size() > 0xffff) return InvalidArgument("dns: EDNS options too long");
    e.U16(static_cast<uint16_t>(x.options.size()));
    e.Bytes(x.options);
  }
  return Status::Ok();
}

std::string TypeName(uint16_t type) {
  switch (type) {
    case kTypeA: return "A";
    case kTypeNs: return "NS";
    case kTypeCname: return "CNAME";
    case kTypeSoa: return "SOA";
    case kTypePtr: return "PTR";
    case kTypeMx: return "MX";
    case kTypeTxt: return "TXT";
    case kTypeAaaa: return "AAAA";
    case kTypeSrv: return "SRV";
    case kTypeOpt: return "OPT";
    case kTypeAny: return "ANY";
    default: return "TYPE" + std::to_string(type);
  }
}

}  // namespace

std::string_view RcodeName(Rcode rcode) {
  switch (rcode) {
    case Rcode::kNoError: return "NOERROR";
    case Rcode::kFormErr: return "FORMERR";
    case Rcode::kServFail: return "SERVFAIL";
    case Rcode::kNxDomain: return "NXDOMAIN";
    case Rcode::kNotImp: return "NOTIMP";
    case Rcode::kRefused: return "REFUSED";
    case Rcode::kBadVers: return "BADVERS";
  }
  return "UNKNOWN";  // not reached: every Rcode value is named above
}

Result<Header> ParseHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderBytes) return Malformed(bytes.size(), "shorter than a header");
  Header h;
  h.id = Load16(&bytes[0]);
  uint16_t flags = Load16(&bytes[2]);
  h.qr = (flags & 0x8000) != 0;
  h.opcode = static_cast<uint8_t>((flags >> 11) & 0xf);
  h.aa = (flags & 0x0400) != 0;
  h.tc = (flags & 0x0200) != 0;
  h.rd = (flags & 0x0100) != 0;
  h.ra = (flags & 0x0080) != 0;
  h.ad = (flags & 0x0020) != 0;
  h.cd = (flags & 0x0010) != 0;
  h.rcode = flags & 0xf;
  return h;
}

Result<Message> ParseMessage(std::span<const uint8_t> bytes) {
  BEACON_ASSIGN_OR_RETURN(Header header, ParseHeader(bytes));
  Message m;
  m.header = header;
  const size_t qdcount = Load16(&bytes[4]);
  const size_t ancount = Load16(&bytes[6]);
  const size_t nscount = Load16(&bytes[8]);
  const size_t arcount = Load16(&bytes[10]);
  size_t pos = kHeaderBytes;
  m.questions.reserve(std::min(qdcount, (bytes.size() - pos) / 5));
  for (size_t i = 0; i < qdcount; ++i) {
    Question q;
    BEACON_RETURN_IF_ERROR(ReadName(bytes, &pos, bytes.size(), &q.name));
    if (bytes.size() - pos < 4) return Malformed(pos, "question runs past the end");
    q.type = Load16(&bytes[pos]);
    q.klass = Load16(&bytes[pos + 2]);
    pos += 4;
    m.questions.push_back(std::move(q));
  }
  uint8_t extended_rcode = 0;
  BEACON_RETURN_IF_ERROR(ReadRecords(bytes, &pos, ancount, Section::kAnswer, &m, &extended_rcode));
  BEACON_RETURN_IF_ERROR(
      ReadRecords(bytes, &pos, nscount, Section::kAuthority, &m, &extended_rcode));
  BEACON_RETURN_IF_ERROR(
      ReadRecords(bytes, &pos, arcount, Section::kAdditional, &m, &extended_rcode));
  if (pos != bytes.size()) return Malformed(pos, "trailing bytes after the last record");
  m.header.rcode = static_cast<uint16_t>(m.header.rcode | (extended_rcode << 4));
  return m;
}

Status EncodeMessage(const Message& message, std::string* out, const SectionCounts& counts,
                     std::vector<uint32_t>* record_ends) {
  // One table per thread, reused: EncodeMessage never re-enters itself.
  thread_local CompressionTable table;
  const size_t before = out->size();
  if (record_ends) record_ends->clear();
  out->reserve(before + kMaxPlainUdpBytes);
  Encoder e(out, &table);
  Status s = EncodeAll(message, e, counts, record_ends);
  if (!s.ok()) {
    out->resize(before);
    if (record_ends) record_ends->clear();
  }
  return s;
}

const char* TextToWire(std::string_view text, uint8_t* wire, size_t* len) {
  if (text.empty() || text == ".") {
    wire[0] = 0;
    *len = 1;
    return nullptr;
  }
  constexpr size_t kMax = kMaxNameWireBytes;
  size_t n = 0;
  size_t label_start = 0;  // index of the open label's length byte
  wire[n++] = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      const size_t label = n - label_start - 1;
      if (label == 0) return "empty label";
      wire[label_start] = static_cast<uint8_t>(label);
      if (n >= kMax) return "more than 255 bytes";
      label_start = n;
      wire[n++] = 0;  // the next label's length, or the root when nothing follows
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= text.size()) return "lone backslash";
      auto digit = [&](size_t k) {
        return k < text.size() && text[k] >= '0' && text[k] <= '9';
      };
      if (digit(i + 1)) {
        if (!digit(i + 2) || !digit(i + 3)) return "escape \\DDD without three digits";
        int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (v > 255) return "escape \\DDD above 255";
        c = static_cast<char>(v);
        i += 3;
      } else {
        c = text[++i];
      }
    }
    if (n - label_start - 1 >= kMaxLabelBytes) return "label longer than 63 bytes";
    if (n >= kMax) return "more than 255 bytes";
    wire[n++] = static_cast<uint8_t>(c);
  }
  if (const size_t label = n - label_start - 1; label > 0) {  // no trailing dot: close, add root
    wire[label_start] = static_cast<uint8_t>(label);
    if (n >= kMax) return "more than 255 bytes";
    wire[n++] = 0;
  }
  *len = n;
  return nullptr;
}

bool IsValidName(std::string_view text) {
  uint8_t wire[kMaxNameWireBytes];
  size_t len = 0;
  return TextToWire(text, wire, &len) == nullptr;
}

Result<std::string> NameToWire(std::string_view text) {
  uint8_t wire[kMaxNameWireBytes];
  size_t len = 0;
  if (const char* why = TextToWire(text, wire, &len)) return BadName(text, why);
  return std::string(reinterpret_cast<const char*>(wire), len);
}

Result<std::vector<std::string>> SplitName(std::string_view text) {
  BEACON_ASSIGN_OR_RETURN(std::string wire, NameToWire(text));
  std::vector<std::string> labels;
  for (size_t i = 0; i < wire.size() && wire[i] != '\0'; i += 1 + static_cast<uint8_t>(wire[i])) {
    labels.emplace_back(wire.substr(i + 1, static_cast<uint8_t>(wire[i])));
  }
  return labels;
}

void AppendLabelText(std::string_view label, std::string* text) {
  for (char ch : label) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '.' || c == '\\') {
      text->push_back('\\');
      text->push_back(ch);
    } else if (c < 0x21 || c > 0x7e) {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\%03u", c);
      text->append(buf);
    } else {
      text->push_back(ch);
    }
  }
  text->push_back('.');
}

std::string RecordToString(const ResourceRecord& rr) {
  std::string s = rr.name + " " + std::to_string(rr.ttl) + " " +
                  (rr.klass == kClassIn ? std::string("IN") : "CLASS" + std::to_string(rr.klass)) +
                  " " + TypeName(rr.type) + " ";
  std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, RdataA>) {
          char buf[INET_ADDRSTRLEN];
          inet_ntop(AF_INET, d.address.data(), buf, sizeof(buf));
          s += buf;
        } else if constexpr (std::is_same_v<T, RdataAaaa>) {
          char buf[INET6_ADDRSTRLEN];
          inet_ntop(AF_INET6, d.address.data(), buf, sizeof(buf));
          s += buf;
        } else if constexpr (std::is_same_v<T, RdataName>) {
          s += d.name;
        } else if constexpr (std::is_same_v<T, RdataSrv>) {
          s += std::to_string(d.priority) + " " + std::to_string(d.weight) + " " +
               std::to_string(d.port) + " " + d.target;
        } else if constexpr (std::is_same_v<T, RdataTxt>) {
          for (size_t i = 0; i < d.strings.size(); ++i) {
            if (i > 0) s += ' ';
            s += '"' + d.strings[i] + '"';
          }
        } else if constexpr (std::is_same_v<T, RdataSoa>) {
          s += d.mname + " " + d.rname + " " + std::to_string(d.serial) + " " +
               std::to_string(d.refresh) + " " + std::to_string(d.retry) + " " +
               std::to_string(d.expire) + " " + std::to_string(d.minimum);
        } else {
          s += "\\# " + std::to_string(d.bytes.size());
          char buf[3];
          if (!d.bytes.empty()) s += ' ';
          for (char c : d.bytes) {
            std::snprintf(buf, sizeof(buf), "%02x", static_cast<unsigned char>(c));
            s += buf;
          }
        }
      },
      rr.rdata);
  return s;
}

}  // namespace beacon::dns
