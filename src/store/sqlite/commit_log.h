// The record format of SqliteStore's commit log (see sqlite_store.h for how the log is used).
//
// A log segment is a file of records back to back, each one commit:
//
//   u32 payload length   u32 CRC-32 (zlib's) of the payload   payload
//   payload = i64 revision, u32 op count, then per op:
//             u8 kind (1 put, 2 delete), u32 key length, key, [put: u32 value length, value]
//
// Integers are little-endian. A segment may be longer than its records: new segments are filled
// with zeros ahead of time and used ones are recycled, so what follows the last record is zeros,
// a record torn by a crash, or an older record left from the file's previous use. A reader tells
// them apart by the CRC and by the revision, which must be exactly one more than the record
// before: the first record that fails either check ends the segment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace beacon::store::commit_log {

// Bytes before the payload.
inline constexpr size_t kHeaderBytes = 8;

// Appends the record of `batch` at `revision` to `out`.
void AppendRecord(int64_t revision, const WriteBatch& batch, std::string* out);

struct OpView {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt = delete
};

struct RecordView {
  int64_t revision = 0;
  std::vector<OpView> ops;  // views into the parsed bytes
};

// Parses the record at `*offset` of `bytes`. On success fills `record` (reusing its vector),
// moves `*offset` past the record and returns true. Returns false, changing nothing, when no
// whole record with a matching CRC starts there (end of the bytes, zeros, a torn or overwritten
// record). The caller checks the revision.
bool ParseRecord(std::string_view bytes, size_t* offset, RecordView* record);

}  // namespace beacon::store::commit_log
