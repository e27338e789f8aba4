// MemoryStore: a Store kept in memory, for tests (STYLE.md section 8: fakes over mocks).
// Thread-safe. Can be told to fail the next commits, to test the writer's error paths.
#pragma once

#include <map>
#include <mutex>

#include "store/store.h"

namespace beacon::store {

class MemoryStore final : public Store {
 public:
  Result<std::vector<KeyValue>> Range(const std::string& prefix) override;
  Result<int64_t> Commit(const WriteBatch& batch) override;
  int64_t Revision() const override;
  const char* Name() const override { return "memory"; }

  // Every following Commit fails with `status` until cleared with an OK status.
  void FailCommitsForTest(Status status);
  // Number of successful commits so far.
  int64_t CommitCountForTest() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, KeyValue> data_;
  int64_t revision_ = 0;
  int64_t commits_ = 0;
  Status fail_with_;
};

}  // namespace beacon::store
