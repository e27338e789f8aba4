#include "store/memory/memory_store.h"

namespace beacon::store {

Result<std::vector<KeyValue>> MemoryStore::Range(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<KeyValue> out;
  for (auto it = data_.lower_bound(prefix); it != data_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.push_back(it->second);
  }
  return out;
}

Result<int64_t> MemoryStore::Commit(const WriteBatch& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!fail_with_.ok()) return fail_with_;
  ++revision_;
  ++commits_;
  for (const WriteOp& op : batch.ops) {
    if (op.value) {
      data_[op.key] = KeyValue{op.key, *op.value, revision_};
    } else {
      data_.erase(op.key);
    }
  }
  return revision_;
}

int64_t MemoryStore::Revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return revision_;
}

void MemoryStore::FailCommitsForTest(Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_with_ = std::move(status);
}

int64_t MemoryStore::CommitCountForTest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return commits_;
}

}  // namespace beacon::store
