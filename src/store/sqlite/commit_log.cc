#include "store/sqlite/commit_log.h"

#include <zlib.h>

#include <bit>
#include <cstring>

namespace beacon::store::commit_log {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the commit log stores integers in this machine's (little-endian) order");

constexpr uint8_t kPut = 1;
constexpr uint8_t kDelete = 2;
// A bound on a record's payload, far above anything the catalog writes (SQLite itself refuses
// values over 1 GB): a garbage length is rejected before it is read as a size.
constexpr uint32_t kMaxPayloadBytes = 1u << 30;

template <typename T>
void Put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

template <typename T>
bool Get(std::string_view bytes, size_t* pos, T* v) {
  if (bytes.size() - *pos < sizeof(T)) {
    return false;
  }
  std::memcpy(v, bytes.data() + *pos, sizeof(T));
  *pos += sizeof(T);
  return true;
}

bool GetBytes(std::string_view bytes, size_t* pos, std::string_view* v) {
  uint32_t n = 0;
  if (!Get(bytes, pos, &n) || bytes.size() - *pos < n) {
    return false;
  }
  *v = bytes.substr(*pos, n);
  *pos += n;
  return true;
}

uint32_t Crc(std::string_view bytes) {
  // zlib's crc32 takes a uInt length; payloads are below kMaxPayloadBytes.
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

}  // namespace

void AppendRecord(int64_t revision, const WriteBatch& batch, std::string* out) {
  const size_t start = out->size();
  out->append(kHeaderBytes, '\0');  // length and CRC, filled in below
  Put<int64_t>(out, revision);
  Put<uint32_t>(out, static_cast<uint32_t>(batch.ops.size()));
  for (const WriteOp& op : batch.ops) {
    Put<uint8_t>(out, op.value ? kPut : kDelete);
    Put<uint32_t>(out, static_cast<uint32_t>(op.key.size()));
    out->append(op.key);
    if (op.value) {
      Put<uint32_t>(out, static_cast<uint32_t>(op.value->size()));
      out->append(*op.value);
    }
  }
  const std::string_view payload = std::string_view(*out).substr(start + kHeaderBytes);
  const uint32_t length = static_cast<uint32_t>(payload.size());
  const uint32_t crc = Crc(payload);
  std::memcpy(out->data() + start, &length, 4);
  std::memcpy(out->data() + start + 4, &crc, 4);
}

bool ParseRecord(std::string_view bytes, size_t* offset, RecordView* record) {
  size_t pos = *offset;
  uint32_t length = 0;
  uint32_t crc = 0;
  if (pos > bytes.size() || !Get(bytes, &pos, &length) || !Get(bytes, &pos, &crc)) {
    return false;
  }
  // A zero length is the zero fill after the last record.
  if (length == 0 || length > kMaxPayloadBytes || bytes.size() - pos < length) {
    return false;
  }
  const std::string_view payload = bytes.substr(pos, length);
  if (Crc(payload) != crc) {
    return false;
  }
  size_t p = 0;
  int64_t revision = 0;
  uint32_t count = 0;
  if (!Get(payload, &p, &revision) || !Get(payload, &p, &count)) {
    return false;
  }
  record->revision = revision;
  record->ops.clear();
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t kind = 0;
    OpView op;
    if (!Get(payload, &p, &kind) || (kind != kPut && kind != kDelete) ||
        !GetBytes(payload, &p, &op.key)) {
      return false;
    }
    if (kind == kPut) {
      std::string_view value;
      if (!GetBytes(payload, &p, &value)) {
        return false;
      }
      op.value = value;
    }
    record->ops.push_back(op);
  }
  if (p != payload.size()) {
    return false;
  }
  *offset = pos + length;
  return true;
}

}  // namespace beacon::store::commit_log
