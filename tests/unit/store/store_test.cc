// Store tests. The typed suite StoreTest runs one body against every backend (STYLE.md section
// 8), so MemoryStore, the fake the catalog tests rely on, is held to the same contract as the
// real SqliteStore. SqliteStoreTest below covers what only a durable backend has: reopening,
// file validation, the directory lock, read-only directories and failed writes.
//
// Write failures are injected honestly, without hooks in the store: MemoryStore has
// FailCommitsForTest, and for SQLite the test lowers RLIMIT_FSIZE so the kernel refuses to grow
// the WAL (EFBIG), which SQLite sees as a real I/O error.
#include "store/store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <mutex>
#include <utility>
#include <vector>

#include "etcd/client.h"
#include "store/etcd/etcd_store.h"
#include "store/memory/memory_store.h"
#include "store/sqlite/sqlite_store.h"
#include "testutil/etcd_cluster.h"

namespace beacon::store {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the test temp dir, removed (with everything in it) at scope end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = testing::TempDir() + "beacon-store-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << pattern << " failed";
    }
    path_ = pattern;
  }
  ~TempDir() {
    // A test may have left directories read-only; without write permission on them a non-root
    // run could not delete their entries.
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    for (auto it = fs::recursive_directory_iterator(path_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Makes the kernel refuse writes that would grow any file of this process past `max_bytes`
// (EFBIG; SIGXFSZ is ignored for the duration). Restores both on destruction.
class ScopedFileSizeLimit {
 public:
  explicit ScopedFileSizeLimit(rlim_t max_bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    saved_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = saved_;
    limited.rlim_cur = max_bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  }
  ~ScopedFileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, saved_handler_);
  }
  ScopedFileSizeLimit(const ScopedFileSizeLimit&) = delete;
  ScopedFileSizeLimit& operator=(const ScopedFileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*saved_handler_)(int) = SIG_DFL;
};

// Removes CAP_DAC_OVERRIDE from this thread's effective capabilities for the scope, so that
// file modes apply even when the tests run as root. Only this thread is affected; SQLite does
// its I/O on the calling thread.
class ScopedNoDacOverride {
 public:
  ScopedNoDacOverride() {
    header_.version = _LINUX_CAPABILITY_VERSION_3;
    header_.pid = 0;
    if (::syscall(SYS_capget, &header_, saved_) != 0) {
      return;
    }
    __user_cap_data_struct reduced[2] = {saved_[0], saved_[1]};
    reduced[0].effective &= ~(1u << CAP_DAC_OVERRIDE);
    dropped_ = ::syscall(SYS_capset, &header_, reduced) == 0;
  }
  ~ScopedNoDacOverride() {
    if (dropped_) {
      ::syscall(SYS_capset, &header_, saved_);
    }
  }
  ScopedNoDacOverride(const ScopedNoDacOverride&) = delete;
  ScopedNoDacOverride& operator=(const ScopedNoDacOverride&) = delete;

 private:
  __user_cap_header_struct header_{};
  __user_cap_data_struct saved_[2]{};
  bool dropped_ = false;
};

// Whether this process can write `path` despite its mode bits (root with CAP_DAC_OVERRIDE).
bool CanStillWrite(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  ::close(fd);
  return true;
}

// Whether this process can create a file in `dir` despite its mode bits. (access(2) would not
// do: for a real uid of 0 it checks the permitted, not the effective, capabilities.)
bool CanStillCreateIn(const std::string& dir) {
  const std::string probe = dir + "/probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return false;
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
}

// Bytes rendered readably: printable ASCII as is, anything else (and '\') as \xHH.
std::string Escape(const std::string& bytes) {
  std::string out;
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", u);
      out += hex;
    }
  }
  return out;
}

// Revisions as the tests see them: relative to the store's revision when the test began (0 for
// a new embedded store; etcd's revision counts every write to the etcd, not only this store's).
int64_t g_revision_base = 0;

// "key=value@mod_revision ..." in the order returned; long values as "<N bytes>".
std::string Render(const std::vector<KeyValue>& kvs) {
  std::string out;
  for (const KeyValue& kv : kvs) {
    if (!out.empty()) {
      out += ' ';
    }
    out += Escape(kv.key) + "=";
    out +=
        kv.value.size() > 32 ? "<" + std::to_string(kv.value.size()) + " bytes>" : Escape(kv.value);
    out += "@" + std::to_string(kv.mod_revision - g_revision_base);
  }
  return out;
}

std::string Dump(Store& store, const std::string& prefix = "") {
  Result<std::vector<KeyValue>> kvs = store.Range(prefix);
  if (!kvs.ok()) {
    return "error: " + kvs.status().ToString();
  }
  return Render(*kvs);
}

WriteOp Put(std::string key, std::string value) { return {std::move(key), std::move(value)}; }
WriteOp Del(std::string key) { return {std::move(key), std::nullopt}; }

// Commits `ops` as one batch; returns the new revision, or -1 after recording a failure.
int64_t MustCommit(Store& store, std::vector<WriteOp> ops) {
  WriteBatch batch;
  batch.ops = std::move(ops);
  Result<int64_t> revision = store.Commit(batch);
  if (!revision.ok()) {
    ADD_FAILURE() << "commit failed: " << revision.status().ToString();
    return -1;
  }
  return *revision - g_revision_base;
}

// ---------------------------------------------------------------------------------------------
// Backends for the typed suite. Each opens a fresh store and can make its commits fail.

class MemoryBackend {
 public:
  static constexpr const char* kName = "Memory";
  static constexpr bool kShared = false;  // revisions move only by this store's commits

  Result<std::unique_ptr<Store>> Open() { return std::unique_ptr<Store>(new MemoryStore()); }
  void BreakCommits(Store& store) {
    static_cast<MemoryStore&>(store).FailCommitsForTest(Unavailable("injected by test"));
  }
  void HealCommits(Store& store) { static_cast<MemoryStore&>(store).FailCommitsForTest(Status()); }
};

class SqliteBackend {
 public:
  static constexpr const char* kName = "Sqlite";
  static constexpr bool kShared = false;

  Result<std::unique_ptr<Store>> Open() {
    BEACON_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store, SqliteStore::Open(dir_.path()));
    return std::unique_ptr<Store>(std::move(store));
  }
  // No file may reach past 1 MiB, so the next commit, whose record ends past 2 MiB (the tests
  // use a 2 MiB value), fails with a real EFBIG from write(2), although the commit log's segment
  // is longer than that (it is filled ahead of time). The database files stay well below the
  // limit, so folding the log into them (reads do that first) still works.
  void BreakCommits(Store& /*store*/) {
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
      if (entry.path().filename().string().rfind("beacon.log.", 0) != 0) {
        ASSERT_LT(fs::file_size(entry.path()), 512u << 10) << entry.path();
      }
    }
    limit_.emplace(1 << 20);
  }
  void HealCommits(Store& /*store*/) { limit_.reset(); }

 private:
  TempDir dir_;
  std::optional<ScopedFileSizeLimit> limit_;
};

// The cluster-mode store on a real single-member etcd started for the test. A commit is one etcd
// transaction; while etcd is down (killed) commits fail, and so do reads.
class EtcdBackend {
 public:
  static constexpr const char* kName = "Etcd";
  // etcd's revision is shared by every writer of the etcd and an empty transaction does not
  // move it, so "grows by exactly one per commit" does not hold (only "grows").
  static constexpr bool kShared = true;

  Result<std::unique_ptr<Store>> Open() {
    cluster_ = std::make_unique<testutil::EtcdCluster>(1);
    etcd::ClientOptions options;
    options.endpoints = cluster_->endpoints();
    options.connect_timeout = std::chrono::milliseconds(300);
    options.request_timeout = std::chrono::milliseconds(3000);
    BEACON_ASSIGN_OR_RETURN(client_, etcd::Client::Create(options));
    return std::unique_ptr<Store>(new EtcdStore(client_.get(), "test/"));
  }
  void BreakCommits(Store& /*store*/) { cluster_->Kill(0); }
  void HealCommits(Store& /*store*/) { cluster_->Restart(0); }

 private:
  std::unique_ptr<testutil::EtcdCluster> cluster_;
  std::unique_ptr<etcd::Client> client_;
};

template <typename Backend>
class StoreTest : public testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> opened = backend_.Open();
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    // A first read tells a shared store where its revisions start.
    ASSERT_TRUE(store_->Range("").ok());
    g_revision_base = store_->Revision();
  }
  void TearDown() override { g_revision_base = 0; }

  Backend backend_;
  std::unique_ptr<Store> store_;
};

struct BackendName {
  template <typename Backend>
  static std::string GetName(int /*index*/) {
    return Backend::kName;
  }
};

using Backends = testing::Types<MemoryBackend, SqliteBackend, EtcdBackend>;
TYPED_TEST_SUITE(StoreTest, Backends, BackendName);

TYPED_TEST(StoreTest, NewStoreIsEmptyAtRevisionZero) {
  EXPECT_EQ(this->store_->Revision() - g_revision_base, 0);
  EXPECT_EQ(Dump(*this->store_), "");
}

TYPED_TEST(StoreTest, PutIsReturnedByRange) {
  EXPECT_EQ(MustCommit(*this->store_, {Put("k", "v")}), 1);
  EXPECT_EQ(Dump(*this->store_), "k=v@1");
}

TYPED_TEST(StoreTest, EmptyValueRoundTrips) {
  MustCommit(*this->store_, {Put("k", "")});
  EXPECT_EQ(Dump(*this->store_), "k=@1");
}

TYPED_TEST(StoreTest, LargeValueRoundTrips) {
  std::string value(1 << 20, 'x');
  value[12345] = '\0';
  MustCommit(*this->store_, {Put("big", value)});
  Result<std::vector<KeyValue>> kvs = this->store_->Range("big");
  ASSERT_TRUE(kvs.ok()) << kvs.status().ToString();
  ASSERT_EQ(kvs->size(), 1u);
  EXPECT_TRUE((*kvs)[0].value == value);
}

TYPED_TEST(StoreTest, DeleteRemovesKey) {
  MustCommit(*this->store_, {Put("a", "1"), Put("b", "2")});
  EXPECT_EQ(MustCommit(*this->store_, {Del("a")}), 2);
  EXPECT_EQ(Dump(*this->store_), "b=2@1");
}

TYPED_TEST(StoreTest, DeletingMissingKeyIsNotAnError) {
  int64_t rev = MustCommit(*this->store_, {Del("missing")});
  // etcd moves its revision only when a transaction changed something.
  EXPECT_EQ(rev, TypeParam::kShared ? 0 : 1);
  EXPECT_EQ(Dump(*this->store_), "");
}

TYPED_TEST(StoreTest, LaterOpOnSameKeyWins) {
  MustCommit(*this->store_, {Put("d", "old")});
  MustCommit(*this->store_, {
                                Put("a", "1"), Put("a", "2"),  // put, put: last value
                                Put("b", "1"), Del("b"),       // put, delete: gone
                                Del("c"), Put("c", "3"),       // delete, put: present
                                Del("d"), Put("d", "new"),     // existing key, delete then put
                            });
  EXPECT_EQ(Dump(*this->store_), "a=2@2 c=3@2 d=new@2");
}

TYPED_TEST(StoreTest, RangeReturnsOnlyKeysWithPrefixInByteOrder) {
  MustCommit(*this->store_,
             {Put("svc/web", "1"), Put("svc/db", "2"), Put("svc", "3"), Put("svc0", "4"),
              Put("svc/web/x", "5"), Put("node/a", "6"), Put("SVC/up", "7"), Put("svc/%_*", "8")});
  struct Case {
    const char* name;
    std::string prefix;
    std::string want;
  };
  const Case cases[] = {
      {"everything", "",
       "SVC/up=7@1 node/a=6@1 svc=3@1 svc/%_*=8@1 svc/db=2@1 svc/web=1@1 "
       "svc/web/x=5@1 svc0=4@1"},
      {"folder", "svc/", "svc/%_*=8@1 svc/db=2@1 svc/web=1@1 svc/web/x=5@1"},
      {"exact key is its own prefix", "svc/web", "svc/web=1@1 svc/web/x=5@1"},
      {"case-sensitive", "S", "SVC/up=7@1"},
      {"wildcards are literal", "svc/%", "svc/%_*=8@1"},
      {"no match", "zzz", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Dump(*this->store_, c.prefix), c.want);
  }
}

TYPED_TEST(StoreTest, RangeTreatsKeysAsBytes) {
  using namespace std::string_literals;
  MustCommit(*this->store_, {Put("k\0a"s, "nul"), Put("k"s, "plain"), Put("k\x01"s, "one"),
                             Put("k\x1fx"s, "unit-sep"), Put("k\x80"s, "high"),
                             Put("k\x7f"s, "del"), Put("j\xff"s, "below")});
  struct Case {
    const char* name;
    std::string prefix;
    std::string want;
  };
  const Case cases[] = {
      // Byte-wise means unsigned: 0x80 sorts after 0x7f, and a NUL inside a key is just a byte.
      {"all of k", "k",
       "k=plain@1 k\\x00a=nul@1 k\\x01=one@1 k\\x1fx=unit-sep@1 k\\x7f=del@1 "
       "k\\x80=high@1"},
      {"prefix with NUL", "k\0"s, "k\\x00a=nul@1"},
      {"prefix with 0x1f", "k\x1f"s, "k\\x1fx=unit-sep@1"},
      {"high byte", "k\x80"s, "k\\x80=high@1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Dump(*this->store_, c.prefix), c.want);
  }
}

TYPED_TEST(StoreTest, RangeWithPrefixEndingInFF) {
  using namespace std::string_literals;
  MustCommit(*this->store_, {Put("a\xfe"s, "1"), Put("a\xff"s, "2"), Put("a\xff\x00"s, "3"),
                             Put("a\xff\xff"s, "4"), Put("a\xff\xff\xff\x01"s, "5"), Put("b"s, "6"),
                             Put("\xff"s, "7"), Put("\xff\xff"s, "8"), Put("\xff\xff\x00"s, "9"),
                             Put("\xfe\xff"s, "10")});
  struct Case {
    const char* name;
    std::string prefix;
    std::string want;
  };
  const Case cases[] = {
      // The successor of "a\xff" is "b", not "a\x100": it must stop before "b".
      {"one trailing ff", "a\xff"s,
       "a\\xff=2@1 a\\xff\\x00=3@1 a\\xff\\xff=4@1 a\\xff\\xff\\xff\\x01=5@1"},
      {"two trailing ff", "a\xff\xff"s, "a\\xff\\xff=4@1 a\\xff\\xff\\xff\\x01=5@1"},
      // All 0xff: no successor exists, the scan runs to the end of the keyspace.
      {"all ff", "\xff"s, "\\xff=7@1 \\xff\\xff=8@1 \\xff\\xff\\x00=9@1"},
      {"all ff twice", "\xff\xff"s, "\\xff\\xff=8@1 \\xff\\xff\\x00=9@1"},
      {"ff in the middle", "\xfe"s, "\\xfe\\xff=10@1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Dump(*this->store_, c.prefix), c.want);
  }
}

TYPED_TEST(StoreTest, RevisionGrowsByOnePerCommitAndStampsWrittenKeys) {
  EXPECT_EQ(MustCommit(*this->store_, {Put("a", "1"), Put("b", "1")}), 1);
  EXPECT_EQ(MustCommit(*this->store_, {Put("b", "2")}), 2);
  EXPECT_EQ(MustCommit(*this->store_, {Put("c", "3"), Del("a")}), 3);
  if (!TypeParam::kShared) {
    // An empty batch is still a commit.
    EXPECT_EQ(MustCommit(*this->store_, {}), 4);
    EXPECT_EQ(this->store_->Revision(), 4);
  }
  EXPECT_EQ(Dump(*this->store_), "b=2@2 c=3@3");
}

TYPED_TEST(StoreTest, FailedCommitAppliesNothingAndStoreRecovers) {
  MustCommit(*this->store_, {Put("a", "1"), Put("b", "2")});
  const std::vector<WriteOp> ops = {Put("a", "changed"), Del("b"),
                                    Put("c", std::string(2 << 20, 'x'))};
  WriteBatch batch;
  batch.ops = ops;

  this->backend_.BreakCommits(*this->store_);
  Result<int64_t> failed = this->store_->Commit(batch);
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(this->store_->Revision() - g_revision_base, 1);
  if (!TypeParam::kShared) {  // a dead etcd cannot be read either; checked after healing
    EXPECT_EQ(Dump(*this->store_), "a=1@1 b=2@1");
  }
  // Still failing while the condition lasts; nothing half-applied in between.
  EXPECT_FALSE(this->store_->Commit(batch).ok());
  if (!TypeParam::kShared) {
    EXPECT_EQ(Dump(*this->store_), "a=1@1 b=2@1");
  }

  this->backend_.HealCommits(*this->store_);
  EXPECT_EQ(Dump(*this->store_), "a=1@1 b=2@1");
  EXPECT_EQ(MustCommit(*this->store_, ops), 2);
  EXPECT_EQ(Dump(*this->store_), "a=changed@2 c=<2097152 bytes>@2");
}

// ---------------------------------------------------------------------------------------------
// SqliteStore only.

class SqliteStoreTest : public testing::Test {
 protected:
  std::string DataDir() const { return dir_.path() + "/data"; }
  std::string DbPath() const { return DataDir() + "/beacon.db"; }

  std::unique_ptr<SqliteStore> MustOpen() {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(DataDir());
    if (!store.ok()) {
      ADD_FAILURE() << "open failed: " << store.status().ToString();
      return nullptr;
    }
    return std::move(store).value();
  }

  // Runs `sql` on the database file directly, as an operator's sqlite3 shell would.
  void ExecRaw(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(DbPath().c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error != nullptr ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  void WriteFile(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    ASSERT_TRUE(out.good()) << path;
  }

  TempDir dir_;
};

TEST_F(SqliteStoreTest, NameIsSqlite) {
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_STREQ(store->Name(), "sqlite");
  EXPECT_EQ(store->db_path(), DbPath());
}

TEST_F(SqliteStoreTest, OpenCreatesMissingDirectoriesAndFilesPrivate) {
  const std::string nested = dir_.path() + "/x/y/data/";
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(nested);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (const std::string& dir : {dir_.path() + "/x", dir_.path() + "/x/y/data"}) {
    struct stat st;
    ASSERT_EQ(::stat(dir.c_str(), &st), 0) << dir;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << dir;
  }
  for (const char* file : {"beacon.db", "beacon.db-wal", "beacon.db-shm"}) {
    struct stat st;
    ASSERT_EQ(::stat((dir_.path() + "/x/y/data/" + file).c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST_F(SqliteStoreTest, OpenRejectsEmptyPath) {
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open("");
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, DataSurvivesCloseAndReopen) {
  using namespace std::string_literals;
  std::string before;
  {
    std::unique_ptr<SqliteStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    MustCommit(*store, {Put("svc/web", "1"), Put("k\0\xff"s, "\x00\x01"s), Put("gone", "x")});
    MustCommit(*store, {Del("gone"), Put("svc/db", "2")});
    MustCommit(*store, {});
    before = Dump(*store);
  }
  EXPECT_EQ(before, "k\\x00\\xff=\\x00\\x01@1 svc/db=2@2 svc/web=1@1");

  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Revision(), 3);
  EXPECT_EQ(Dump(*store), before);
  // The revision sequence continues where it stopped.
  EXPECT_EQ(MustCommit(*store, {Put("svc/web", "again")}), 4);
}

TEST_F(SqliteStoreTest, EmptyDatabaseFileIsInitialised) {
  // A crash right after SQLite created the file leaves it empty; that is a new store.
  ASSERT_TRUE(fs::create_directories(DataDir()));
  WriteFile(DbPath(), "");
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MustCommit(*store, {Put("a", "1")}), 1);
}

TEST_F(SqliteStoreTest, OpenRejectsGarbageFile) {
  ASSERT_TRUE(fs::create_directories(DataDir()));
  std::string garbage = "this is not an SQLite file\n";
  garbage.resize(8192, '\x5a');
  WriteFile(DbPath(), garbage);

  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(DataDir());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInternal);
  EXPECT_EQ(
      store.status().message().rfind("store: " + DbPath() + " is not a valid Beacon database: ", 0),
      0u)
      << store.status().ToString();
}

TEST_F(SqliteStoreTest, CorruptPageFailsTheReadThatMeetsIt) {
  {
    std::unique_ptr<SqliteStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    std::vector<WriteOp> ops;
    for (int i = 0; i < 3000; ++i) {
      ops.push_back(Put("key/" + std::to_string(i), std::string(100, 'v')));
    }
    MustCommit(*store, std::move(ops));
  }  // closing checkpoints the WAL into beacon.db and removes it
  ASSERT_FALSE(fs::exists(DbPath() + "-wal"));
  const auto size = static_cast<std::streamoff>(fs::file_size(DbPath()));
  ASSERT_GT(size, 20 * 4096);
  {
    // Scribble over one page in the middle of the key table.
    std::fstream file(DbPath(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp((size / 4096 / 2) * 4096);
    const std::string junk(4096, '\xa5');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    ASSERT_TRUE(file.good());
  }

  // The header is intact, so Open succeeds; the read that meets the page refuses to answer, as
  // the catalog's load (a Range over everything) does before an agent serves anything.
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  Result<std::vector<KeyValue>> all = store->Range("");
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().code(), StatusCode::kInternal);
  EXPECT_NE(all.status().message().find("database is corrupt"), std::string::npos)
      << all.status().ToString();
}

TEST_F(SqliteStoreTest, OpenRejectsAnotherApplicationsDatabase) {
  ASSERT_TRUE(fs::create_directories(DataDir()));
  ExecRaw("CREATE TABLE photos(id INTEGER PRIMARY KEY, name TEXT)");

  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(DataDir());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInternal);
  EXPECT_NE(store.status().message().find("is not a valid Beacon database: "), std::string::npos)
      << store.status().ToString();
}

TEST_F(SqliteStoreTest, OpenRefusesNewerSchemaVersion) {
  MustOpen().reset();
  ExecRaw("UPDATE meta SET value = 2 WHERE name = 'schema_version'");

  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(DataDir());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("schema version 2, newer than this Beacon supports"),
            std::string::npos)
      << store.status().ToString();
}

TEST_F(SqliteStoreTest, SecondOpenOfSameDirectoryFailsWhileFirstIsOpen) {
  std::unique_ptr<SqliteStore> first = MustOpen();
  ASSERT_NE(first, nullptr);

  Result<std::unique_ptr<SqliteStore>> second = SqliteStore::Open(DataDir());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("is in use by another Beacon store"), std::string::npos)
      << second.status().ToString();

  first.reset();
  EXPECT_NE(MustOpen(), nullptr);
}

TEST_F(SqliteStoreTest, FailedCommitLeavesNoTraceAfterReopen) {
  {
    std::unique_ptr<SqliteStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    MustCommit(*store, {Put("a", "1")});
    WriteBatch batch;
    batch.Put("a", "lost");
    batch.Put("big", std::string(2 << 20, 'x'));
    {
      ScopedFileSizeLimit limit(1 << 20);  // as in SqliteBackend::BreakCommits
      Result<int64_t> failed = store->Commit(batch);
      ASSERT_FALSE(failed.ok());
      // write(2) failing with EFBIG is an I/O error: retry later.
      EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable) << failed.status().ToString();
    }
  }
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Revision(), 1);
  EXPECT_EQ(Dump(*store), "a=1@1");
}

// Read-only data directories. Root ignores file modes through CAP_DAC_OVERRIDE; the test drops
// that capability for its thread, and skips only if file modes still do not bind.
TEST_F(SqliteStoreTest, OpenFailsOnReadOnlyDataDirectory) {
  {
    std::unique_ptr<SqliteStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    MustCommit(*store, {Put("a", "1")});
  }
  struct Case {
    const char* name;
    mode_t dir_mode;
    mode_t file_mode;
  };
  const Case cases[] = {
      {"directory and file read-only", 0500, 0400},
      {"directory read-only", 0500, 0600},  // SQLite cannot create beacon.db-wal
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_EQ(::chmod(DbPath().c_str(), c.file_mode), 0);
    ASSERT_EQ(::chmod(DataDir().c_str(), c.dir_mode), 0);
    {
      ScopedNoDacOverride no_override;
      if (c.file_mode == 0400 && CanStillWrite(DbPath())) {
        ::chmod(DataDir().c_str(), 0700);
        GTEST_SKIP() << "file modes do not restrict this process (root with CAP_DAC_OVERRIDE "
                        "that could not be dropped)";
      }
      Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(DataDir());
      ASSERT_FALSE(store.ok());
      EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
      EXPECT_EQ(store.status().message().rfind("store: data directory is read-only: ", 0), 0u)
          << store.status().ToString();
    }
    ASSERT_EQ(::chmod(DataDir().c_str(), 0700), 0);
    ASSERT_EQ(::chmod(DbPath().c_str(), 0600), 0);
  }
  // Writable again: the data is intact.
  std::unique_ptr<SqliteStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Dump(*store), "a=1@1");
}

TEST_F(SqliteStoreTest, OpenFailsWhenDataDirectoryCannotBeCreated) {
  const std::string parent = dir_.path() + "/ro";
  ASSERT_EQ(::mkdir(parent.c_str(), 0500), 0);
  ScopedNoDacOverride no_override;
  if (CanStillCreateIn(parent)) {
    GTEST_SKIP() << "file modes do not restrict this process (root with CAP_DAC_OVERRIDE that "
                    "could not be dropped)";
  }
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(parent + "/data");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message().rfind("store: data directory is read-only: ", 0), 0u)
      << store.status().ToString();
}

// ---------------------------------------------------------------------------------------------
// EtcdStore only: what sharing one store between agents adds (cluster mode).

class EtcdStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    etcd::ClientOptions options;
    options.endpoints = cluster_.endpoints();
    auto c = etcd::Client::Create(options);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
  }
  testutil::EtcdCluster cluster_{1};
  std::unique_ptr<etcd::Client> client_;
};

TEST_F(EtcdStoreTest, CommitConflictsWhenAnotherAgentMovedTheIndexSinceItsView) {
  EtcdStore a(client_.get(), "p/"), b(client_.get(), "p/");
  ASSERT_TRUE(a.Range("").ok());
  ASSERT_TRUE(b.Range("").ok());
  WriteBatch first;
  first.Put("m/index", "1");
  first.Put("s/a", "x");
  Result<int64_t> won = a.Commit(first);
  ASSERT_TRUE(won.ok()) << won.status().ToString();

  WriteBatch second;
  second.Put("m/index", "2");
  second.Put("s/b", "y");
  Result<int64_t> lost = b.Commit(second);  // b's view predates a's commit
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kAborted);
  EXPECT_EQ(b.ConflictRevision(), *won);
  EXPECT_EQ(Dump(a, "s/"), "s/a=x@" + std::to_string(*won)) << "nothing of the loser applied";

  b.SetViewRevision(*won);  // b caught up
  Result<int64_t> retried = b.Commit(second);
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_GT(*retried, *won);
}

TEST_F(EtcdStoreTest, SubscribeDeliversOtherWritersChangesInOrder) {
  EtcdStore a(client_.get(), "p/"), b(client_.get(), "p/");
  ASSERT_TRUE(a.Range("").ok());
  std::mutex mu;
  std::vector<Change> seen;
  ASSERT_TRUE(a.Subscribe([&](ChangeBatch batch) {
                 EXPECT_FALSE(batch.reset);
                 std::lock_guard<std::mutex> lock(mu);
                 for (Change& c : batch.changes) seen.push_back(std::move(c));
               }).ok());
  ASSERT_TRUE(b.Range("").ok());
  WriteBatch w1;
  w1.Put("n/x", "1");
  w1.Put("s/x", "2");
  ASSERT_TRUE(b.Commit(w1).ok());
  b.SetViewRevision(b.Revision());
  WriteBatch w2;
  w2.Delete("s/x");
  ASSERT_TRUE(b.Commit(w2).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (seen.size() >= 3 || std::chrono::steady_clock::now() > deadline) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  a.Unsubscribe();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].key, "n/x");
  EXPECT_EQ(seen[0].value, std::optional<std::string>("1"));
  EXPECT_EQ(seen[1].key, "s/x");
  EXPECT_EQ(seen[2].key, "s/x");
  EXPECT_FALSE(seen[2].value.has_value()) << "a delete";
  EXPECT_EQ(seen[0].revision, seen[1].revision) << "one transaction, one revision";
  EXPECT_GT(seen[2].revision, seen[1].revision);
}

}  // namespace
}  // namespace beacon::store
