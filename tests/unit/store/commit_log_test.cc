// SqliteStore's commit log (commit_log.h, sqlite_store.h): the record format, and what the store
// does with the log on the real filesystem: segments handed to the folding thread while commits
// go on, recovery of a process that died without closing the store (a forked child that _exits),
// a torn last record, a missing segment, and the spare segment's reuse. Each test checks what a
// reopened store reads back, key by key, with each key's revision.
#include "store/sqlite/commit_log.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store.h"
#include "testutil/temp_dir.h"

namespace beacon::store {
namespace {

namespace fs = std::filesystem;

// The commits the tests make: commit i (revision i, from 1) puts "k<i % keys>" = "v<i>" and
// deletes "k<(i + 1) % keys>", so later commits overwrite and delete what earlier ones wrote.
WriteBatch Batch(int i, int keys, size_t value_bytes) {
  WriteBatch b;
  std::string value = "v" + std::to_string(i);
  value.resize(std::max(value.size(), value_bytes), '.');
  b.Put("k" + std::to_string(i % keys), std::move(value));
  b.Delete("k" + std::to_string((i + 1) % keys));
  return b;
}

// What a store holds after commits 1..n of Batch: key -> "value@revision".
std::map<std::string, std::string> Expected(int n, int keys, size_t value_bytes) {
  std::map<std::string, std::string> out;
  for (int i = 1; i <= n; ++i) {
    for (const WriteOp& op : Batch(i, keys, value_bytes).ops) {
      if (op.value) {
        out[op.key] = *op.value + "@" + std::to_string(i);
      } else {
        out.erase(op.key);
      }
    }
  }
  return out;
}

std::map<std::string, std::string> Contents(Store& store) {
  std::map<std::string, std::string> out;
  Result<std::vector<KeyValue>> all = store.Range("");
  EXPECT_TRUE(all.ok()) << all.status().ToString();
  if (all.ok()) {
    for (const KeyValue& kv : *all) {
      out[kv.key] = kv.value + "@" + std::to_string(kv.mod_revision);
    }
  }
  return out;
}

std::vector<std::string> LogFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("beacon.log.", 0) == 0) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class CommitLogTest : public testing::Test {
 protected:
  std::unique_ptr<SqliteStore> MustOpen() {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(data_);
    if (!store.ok()) {
      ADD_FAILURE() << "open failed: " << store.status().ToString();
      return nullptr;
    }
    return std::move(store).value();
  }

  // Commits 1..n in a child process that then exits without closing the store, as a process
  // killed right after its last acknowledgement would: no destructor runs, nothing is folded
  // at exit, and whatever the folding thread was doing stops half-way.
  void CommitInChildAndDie(int n, int keys, size_t value_bytes) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(data_);
      if (!store.ok()) {
        ::_exit(2);
      }
      for (int i = 1; i <= n; ++i) {
        Result<int64_t> r = (*store)->Commit(Batch(i, keys, value_bytes));
        if (!r.ok() || *r != i) {
          ::_exit(3);
        }
      }
      ::_exit(0);  // the store is never closed
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
  }

  // Writes a segment file as the store would: `records` commits from `first` on.
  void WriteSegment(int first, int records) {
    char name[64];
    std::snprintf(name, sizeof name, "/beacon.log.%016x", first);
    std::string bytes;
    for (int i = first; i < first + records; ++i) {
      commit_log::AppendRecord(i, Batch(i, 7, 10), &bytes);
    }
    bytes.append(1000, '\0');
    fs::create_directories(data_);
    std::ofstream out(data_ + name, std::ios::binary);
    out << bytes;
    ASSERT_TRUE(out.good());
  }

  testutil::TempDir dir_{"beacon-commit-log-test"};
  std::string data_ = dir_.path() + "/data";
};

TEST(CommitLogFormat, RecordsRoundTripAndDamageEndsTheRun) {
  WriteBatch b;
  b.Put("a", "1");
  b.Put(std::string("k\0\xff", 3), "");
  b.Delete("gone");
  std::string bytes;
  commit_log::AppendRecord(7, b, &bytes);
  commit_log::AppendRecord(8, WriteBatch{}, &bytes);

  commit_log::RecordView r;
  size_t offset = 0;
  ASSERT_TRUE(commit_log::ParseRecord(bytes, &offset, &r));
  EXPECT_EQ(r.revision, 7);
  ASSERT_EQ(r.ops.size(), 3u);
  EXPECT_EQ(r.ops[0].key, "a");
  EXPECT_EQ(r.ops[0].value, "1");
  EXPECT_EQ(r.ops[1].key, std::string_view("k\0\xff", 3));
  EXPECT_EQ(r.ops[1].value, "");
  EXPECT_EQ(r.ops[2].key, "gone");
  EXPECT_FALSE(r.ops[2].value.has_value());
  ASSERT_TRUE(commit_log::ParseRecord(bytes, &offset, &r));
  EXPECT_EQ(r.revision, 8);
  EXPECT_TRUE(r.ops.empty());
  EXPECT_EQ(offset, bytes.size());
  EXPECT_FALSE(commit_log::ParseRecord(bytes, &offset, &r));  // the end

  // Zeros after the last record, a record cut short, and any changed byte end the run there.
  std::string zeros = bytes.substr(0, 10) + std::string(64, '\0');
  size_t at = 0;
  EXPECT_FALSE(commit_log::ParseRecord(std::string_view(zeros).substr(20), &at, &r));
  for (size_t cut = 1; cut < bytes.size(); cut += 3) {
    size_t o = 0;
    commit_log::RecordView first;
    const bool whole_first = commit_log::ParseRecord(bytes.substr(0, cut), &o, &first);
    EXPECT_EQ(whole_first, o != 0 && cut >= o) << cut;
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x20);
    size_t o = 0;
    commit_log::RecordView first;
    if (commit_log::ParseRecord(damaged, &o, &first)) {
      // Only damage in the second record can leave the first one whole.
      EXPECT_GE(i, o) << i;
      EXPECT_EQ(first.revision, 7);
    }
  }
}

TEST_F(CommitLogTest, CommitsAcrossManySegmentsAreAllReadBackAndSurviveReopen) {
  // ~12 MiB of log: three segments handed to the folding thread while commits go on.
  constexpr int kCommits = 3000;
  constexpr int kKeys = 500;
  constexpr size_t kValue = 4000;
  {
    std::unique_ptr<SqliteStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    for (int i = 1; i <= kCommits; ++i) {
      Result<int64_t> r = store->Commit(Batch(i, kKeys, kValue));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(*r, i);
    }
    EXPECT_EQ(Contents(*store), Expected(kCommits, kKeys, kValue));
  }
  // Closed cleanly: everything folded, and one folded segment kept for reuse.
  EXPECT_EQ(LogFiles(data_), std::vector<std::string>{"beacon.log.spare"});
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Revision(), kCommits);
  EXPECT_EQ(Contents(*store), Expected(kCommits, kKeys, kValue));
  ASSERT_TRUE(store->Commit(Batch(kCommits + 1, kKeys, kValue)).ok());
  // The next segment is the recycled spare, renamed.
  EXPECT_EQ(LogFiles(data_), std::vector<std::string>{"beacon.log.0000000000000bb9"});
}

// The nice values of this process's threads, from /proc/self/task/*/stat.
std::vector<int> ThreadNiceValues() {
  std::vector<int> out;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the ")" closing the thread name: state is field 3, nice is field 19.
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19) out.push_back(std::stoi(field));
    }
  }
  return out;
}

TEST_F(CommitLogTest, FoldingRunsAtBackgroundPriority) {
  errno = 0;
  const int base = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  ASSERT_EQ(errno, 0);
  if (base + SqliteStore::kFoldNiceIncrement > 19) GTEST_SKIP() << "already at nice " << base;
  const int background = base + SqliteStore::kFoldNiceIncrement;
  const std::vector<int> before = ThreadNiceValues();
  EXPECT_EQ(std::count(before.begin(), before.end(), background), 0);
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  // The folding thread sets its own priority as it starts: wait for it (bounded).
  long lowered = 0;
  for (int i = 0; i < 200 && lowered == 0; ++i) {
    const std::vector<int> now = ThreadNiceValues();
    lowered = std::count(now.begin(), now.end(), background);
    if (lowered == 0) usleep(10'000);
  }
  EXPECT_EQ(lowered, 1);  // the folding thread only
  // The thread that opened the store keeps its priority. (Other threads may come and go, such as
  // a sanitizer's background thread, so only this one is checked by ID.)
  errno = 0;
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), base);
  EXPECT_EQ(errno, 0);
}

TEST_F(CommitLogTest, EveryCommitSurvivesAProcessThatDiesWithoutClosing) {
  struct Case {
    const char* name;
    int commits;
    size_t value_bytes;
  };
  // Within one segment; and over several, some folded and some still queued when it died.
  for (const Case& c : {Case{"one segment", 50, 10}, Case{"several segments", 2500, 5000}}) {
    SCOPED_TRACE(c.name);
    data_ = dir_.path() + "/" + std::to_string(c.commits);
    CommitInChildAndDie(c.commits, 97, c.value_bytes);
    EXPECT_FALSE(LogFiles(data_).empty());
    std::unique_ptr<SqliteStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Revision(), c.commits);
    EXPECT_EQ(Contents(*store), Expected(c.commits, 97, c.value_bytes));
    // Recovery folded the log into SQLite and removed it; the revisions go on.
    for (const std::string& name : LogFiles(data_)) {
      EXPECT_EQ(name, "beacon.log.spare");
    }
    Result<int64_t> r = store->Commit(Batch(c.commits + 1, 97, c.value_bytes));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, c.commits + 1);
  }
}

TEST_F(CommitLogTest, TornLastRecordIsDroppedAndTheRestKept) {
  CommitInChildAndDie(20, 7, 100);
  const std::vector<std::string> files = LogFiles(data_);
  ASSERT_EQ(files.size(), 1u);
  const std::string path = data_ + "/" + files[0];
  // Find the last record, then damage its last byte as a write cut short by a crash would.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  size_t offset = 0;
  size_t last_start = 0;
  commit_log::RecordView r;
  int records = 0;
  for (size_t start = 0; commit_log::ParseRecord(bytes, &offset, &r); start = offset) {
    last_start = start;
    ++records;
  }
  ASSERT_EQ(records, 20);
  ASSERT_GT(offset, last_start);
  {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(offset - 1));
    f.put(static_cast<char>(bytes[offset - 1] ^ 0x55));
  }
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Revision(), 19);
  EXPECT_EQ(Contents(*store), Expected(19, 7, 100));
  Result<int64_t> next = store->Commit(Batch(20, 7, 100));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 20);
}

// Segments written by hand, as the store writes them, so each case is exact.
TEST_F(CommitLogTest, LogFromHandWrittenSegmentsIsFoldedOrRefused) {
  {
    SCOPED_TRACE("two segments that follow each other");
    data_ = dir_.path() + "/ok";
    WriteSegment(1, 3);
    WriteSegment(4, 2);
    std::unique_ptr<SqliteStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Revision(), 5);
    EXPECT_EQ(Contents(*store), Expected(5, 7, 10));
  }
  struct Case {
    const char* name;
    std::vector<std::pair<int, int>> segments;  // first revision, records
    const char* error;
  };
  for (const Case& c : {Case{"a segment missing", {{1, 3}, {6, 2}}, "missing revisions 4 to 5"},
                        Case{"the start missing", {{3, 2}}, "starts at revision 3"}}) {
    SCOPED_TRACE(c.name);
    data_ = dir_.path() + "/" + std::to_string(c.segments.size()) + "-" +
            std::to_string(c.segments[0].first);
    for (const auto& [first, records] : c.segments) {
      WriteSegment(first, records);
    }
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(data_);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), StatusCode::kInternal);
    EXPECT_NE(store.status().message().find(c.error), std::string::npos)
        << store.status().ToString();
  }
}

}  // namespace
}  // namespace beacon::store
