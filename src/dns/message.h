// DNS message codec (RFC 1035 section 4, RFC 6891 EDNS0, RFC 2782 SRV): pure functions between
// wire bytes and the Message struct. No sockets, no catalog, no state.
//
// Why our own codec and not Debian's ldns: Beacon needs a small, fixed subset (one question;
// A, AAAA, CNAME, NS, PTR, SOA, SRV, TXT and OPT records), and the answer path is the hot path of
// workload W6: ldns builds a heap-allocated ldns_pkt/ldns_rr/ldns_rdf tree per record and per
// field and has its own error and ownership conventions that would need a C adapter on both
// sides. A small codec (message.cc) that writes straight into one reused buffer, with compression
// decided by us (SRV targets uncompressed, per RFC 2782), is simpler to reason about and faster.
// The price is that we own its robustness: ParseMessage is one pure function over a byte span,
// written to be fuzzed (a later issue adds a libFuzzer target that calls exactly it).
//
// Parsing rules (strict, because the input is attacker-controlled):
//   - every read is bounds-checked against the message end; RDATA must be consumed exactly;
//   - labels are 0..63 bytes; the 0x40/0x80 label types (RFC 6891 extended labels) are rejected;
//   - a compression pointer must point strictly before the start of the run of labels that
//     contains it, so every jump goes backwards and a pointer loop is impossible; there is also a
//     hop limit and the 255-byte limit on the expanded name;
//   - at most one OPT record, only in the additional section, owner the root name;
//   - trailing bytes after the last record are an error (as BIND treats them).
// Names are carried as presentation text ("web.service.consul.", root "."), labels separated
// by '.', with '.', '\' and bytes outside 0x21..0x7e escaped as `\.`, `\\` and `\DDD`.
//
// Building: EncodeMessage writes header, question and records with name compression for owner
// names and for the names inside NS/CNAME/PTR/SOA RDATA (RFC 1035 4.1.4). SRV targets are written
// uncompressed (RFC 2782: "name compression is not to be used for this field") but later names
// may still point into them. Compression matches exact bytes, so a pointer never changes the case
// a client sees.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace beacon::dns {

// Record types and classes we name. Anything else is carried as a plain number.
inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeNs = 2;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeSrv = 33;
inline constexpr uint16_t kTypeOpt = 41;
inline constexpr uint16_t kTypeIxfr = 251;
inline constexpr uint16_t kTypeAxfr = 252;
inline constexpr uint16_t kTypeAny = 255;

inline constexpr uint16_t kClassIn = 1;
inline constexpr uint16_t kClassChaos = 3;
inline constexpr uint16_t kClassAny = 255;

inline constexpr uint8_t kOpcodeQuery = 0;

// Full 12-bit RCODEs: values above 15 need an OPT record to carry their upper 8 bits.
enum class Rcode : uint16_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
  kBadVers = 16,
};

// The mnemonic dig prints ("NOERROR", "NXDOMAIN", "BADVERS", ...). The `rcode` label of the DNS
// query counter.
std::string_view RcodeName(Rcode rcode);

inline constexpr size_t kHeaderBytes = 12;
inline constexpr size_t kMaxNameWireBytes = 255;
inline constexpr size_t kMaxLabelBytes = 63;
// The classic UDP limit without EDNS0 (RFC 1035 4.2.1).
inline constexpr size_t kMaxPlainUdpBytes = 512;

struct Header {
  uint16_t id = 0;
  bool qr = false;  // response
  uint8_t opcode = kOpcodeQuery;
  bool aa = false;  // authoritative answer
  bool tc = false;  // truncated
  bool rd = false;  // recursion desired
  bool ra = false;  // recursion available
  bool ad = false;
  bool cd = false;
  // The full RCODE. On the wire the low 4 bits go in the header and the upper 8 in the OPT
  // record; parsing recombines them.
  uint16_t rcode = 0;
};

struct Question {
  std::string name;  // presentation text, fully qualified ("web.service.consul.")
  uint16_t type = kTypeA;
  uint16_t klass = kClassIn;
  bool operator==(const Question&) const = default;
};

struct RdataA {
  std::array<uint8_t, 4> address{};
  bool operator==(const RdataA&) const = default;
};
struct RdataAaaa {
  std::array<uint8_t, 16> address{};
  bool operator==(const RdataAaaa&) const = default;
};
// NS, CNAME and PTR: one domain name.
struct RdataName {
  std::string name;
  bool operator==(const RdataName&) const = default;
};
struct RdataSrv {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;
  bool operator==(const RdataSrv&) const = default;
};
// One or more character-strings of at most 255 bytes each.
struct RdataTxt {
  std::vector<std::string> strings;
  bool operator==(const RdataTxt&) const = default;
};
struct RdataSoa {
  std::string mname;
  std::string rname;
  uint32_t serial = 0;
  uint32_t refresh = 0;
  uint32_t retry = 0;
  uint32_t expire = 0;
  uint32_t minimum = 0;
  bool operator==(const RdataSoa&) const = default;
};
// Any other type: the RDATA bytes as received (names inside are not decompressed).
struct RdataRaw {
  std::string bytes;
  bool operator==(const RdataRaw&) const = default;
};

using Rdata = std::variant<RdataRaw, RdataA, RdataAaaa, RdataName, RdataSrv, RdataTxt, RdataSoa>;

struct ResourceRecord {
  std::string name;  // owner, presentation text
  uint16_t type = kTypeA;
  uint16_t klass = kClassIn;
  uint32_t ttl = 0;
  Rdata rdata;
  bool operator==(const ResourceRecord&) const = default;
};

// The OPT pseudo-record (RFC 6891), kept apart from the additional section.
struct Edns {
  uint16_t udp_size = 512;  // the requester's UDP payload size
  uint8_t version = 0;
  bool dnssec_ok = false;
  std::string options;  // the option bytes, opaque
  bool operator==(const Edns&) const = default;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  std::vector<ResourceRecord> additional;  // without the OPT record
  std::optional<Edns> edns;
};

// Reads only the 12-byte header (counts ignored). InvalidArgument when fewer than 12 bytes: such
// a message cannot even be answered with its ID.
Result<Header> ParseHeader(std::span<const uint8_t> bytes);

// Parses a whole message. Pure; never reads outside `bytes`; on any violation of the rules in
// the file comment returns InvalidArgument naming the offset and the problem.
Result<Message> ParseMessage(std::span<const uint8_t> bytes);

// How much of each section EncodeMessage writes: a prefix of each. Lets the responder try
// shorter answers without copying records.
struct SectionCounts {
  size_t answers = SIZE_MAX;
  size_t authority = SIZE_MAX;
  size_t additional = SIZE_MAX;
};

// Appends the wire form of `message` (the first `counts` records of each section, the OPT record
// last when message.edns is set) to `out`. Header counts come from the vectors, rcode is split
// between header and OPT. InvalidArgument (and `out` unchanged) when a name is not valid text
// (empty label, label over 63 bytes, name over 255 bytes, bad escape), a TXT string is over 255
// bytes, an RDATA is over 65535 bytes, or the rcode needs an OPT record that is not there.
// When `record_ends` is not null it receives offsets from the message start: [0] just past the
// question section, then [1 + i] just past the i-th record written (answers, authority,
// additional; not the OPT record). Record sizes barely depend on what follows them, so the size
// of a shorter answer can be estimated from one encode.
Status EncodeMessage(const Message& message, std::string* out,
                     const SectionCounts& counts = SectionCounts{},
                     std::vector<uint32_t>* record_ends = nullptr);

// Presentation text -> uncompressed wire name ("\3web\7service\6consul\0"). A missing trailing
// dot is accepted (the name is taken as fully qualified). Errors as for EncodeMessage.
Result<std::string> NameToWire(std::string_view text);

// The same without allocating: writes at most kMaxNameWireBytes bytes to `wire` and their count
// to *len. Returns nullptr on success, else a static string saying what is wrong.
const char* TextToWire(std::string_view text, uint8_t* wire, size_t* len);

// True when NameToWire(text) would succeed.
bool IsValidName(std::string_view text);

// Splits presentation text into raw labels (escapes resolved), root = no labels.
Result<std::vector<std::string>> SplitName(std::string_view text);

// Appends one raw label to presentation text, escaping as described in the file comment, and a
// trailing '.'.
void AppendLabelText(std::string_view label, std::string* text);

// A compact, stable rendering for tests and logs: one line per record, e.g.
// "web.service.consul. 0 IN SRV 1 1 8080 node1.node.dc1.consul.".
std::string RecordToString(const ResourceRecord& rr);

}  // namespace beacon::dns
