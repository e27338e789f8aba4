// SqliteStore: the default durable Store, one SQLite database file per data directory.
//
// Layout: `<data_dir>/beacon.db` (plus SQLite's `-wal`/`-shm` files while open) and
// `<data_dir>/LOCK`, which holds an exclusive flock(2) for as long as the store is open, so two
// processes (or two stores in one process) never write the same directory: the cached revision
// below would silently go wrong if they did.
//
// Schema (version 1):
//   kv(key BLOB PRIMARY KEY, value BLOB NOT NULL, mod_revision INTEGER NOT NULL) WITHOUT ROWID
//   meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID  -- 'schema_version',
//                                                                      -- 'revision'
// Keys are bound as BLOBs, so SQLite compares them with memcmp: the primary-key order is the
// byte-wise order the Store interface promises, and Range(prefix) is one index range scan
// `key >= prefix AND key < successor(prefix)`.
//
// Durability: WAL journal, synchronous=FULL by default, so Commit returns only after the WAL is
// fsync'd. A commit is one `BEGIN IMMEDIATE ... COMMIT` transaction; on any error it is rolled
// back, nothing of the batch is visible, and the store stays usable (a later commit succeeds once
// the disk has room again). One caveat shared with every database: if the fsync itself fails, the
// commit is reported as failed (Unavailable) but its WAL frames may already be on disk and may
// reappear after a crash before the next commit. The caller never acknowledged it, so nothing
// acknowledged is lost; but "failed" means "unknown", not "certainly absent".
//
// Open validates the file (`PRAGMA quick_check`, Beacon's application_id, schema version) and
// fails with a clear message rather than serving from a damaged or foreign file.
//
// Threading: not thread-safe, like the Store interface allows. One thread at a time calls Range
// and Commit (the catalog loads with Range at startup, then hands the store to its writer).
// Revision() alone may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace beacon::store {

struct SqliteOptions {
  // Default true: PRAGMA synchronous=FULL, every Commit fsyncs the WAL before returning, so an
  // acknowledged write survives power loss. false selects synchronous=NORMAL: commits skip the
  // fsync (only checkpoints sync), which is several times faster on most disks and still safe
  // against a crash of the process, but the last commits can be lost if the machine loses power
  // or the kernel crashes. Only for tests and throwaway dev agents.
  bool synchronous_full = true;

  // Page cache per connection, in KiB. Default 0 keeps SQLite's default (about 2 MiB). More cache
  // saves reads of B-tree pages on large catalogs at the cost of resident memory.
  int64_t cache_size_kib = 0;

  // How long a statement waits for a lock held by another connection (for example an operator's
  // `sqlite3` shell reading the file) before failing with Unavailable. Default 5000 ms. Beacon's
  // own processes never contend: the LOCK file admits one store per directory.
  int busy_timeout_ms = 5000;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the store in `data_dir`. Missing directories are created with mode
  // 0700. Checks the file before returning it:
  //   InvalidArgument     `data_dir` is empty.
  //   FailedPrecondition  the directory or file is read-only or cannot be created
  //                       ("store: data directory is read-only: ..."), another store holds the
  //                       directory, or the file has a newer schema version than this binary.
  //   Internal            the file is not a Beacon database or fails quick_check
  //                       ("store: <path> is not a valid Beacon database: ...").
  //   Unavailable         an I/O error; retrying may work.
  // quick_check reads the whole file once: 15-25 ms for 100k small keys (a 15 MB file) from
  // the page cache; reading a cold file from disk adds its sequential-read time.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& data_dir,
                                                   SqliteOptions options = {});

  // Closes the database (checkpointing the WAL into the main file) and releases the LOCK.
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // See Store. Errors: Unavailable (I/O error or lock timeout), Internal (corruption found while
  // reading).
  Result<std::vector<KeyValue>> Range(const std::string& prefix) override;

  // See Store. On error the transaction is rolled back and the store remains usable. Errors:
  // ResourceExhausted ("store: disk full: ..."), FailedPrecondition ("store: data directory is
  // read-only: ..."), Unavailable (other I/O errors, lock timeout), InvalidArgument (a key or
  // value larger than SQLite's 1 GB limit), Internal (corruption).
  Result<int64_t> Commit(const WriteBatch& batch) override;

  // See Store. Thread-safe.
  int64_t Revision() const override { return revision_.load(std::memory_order_acquire); }

  const char* Name() const override { return "sqlite"; }

  // Path of the database file, `<data_dir>/beacon.db`.
  const std::string& db_path() const { return db_path_; }

 private:
  struct StmtDeleter {
    void operator()(sqlite3_stmt* stmt) const;
  };
  using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

  SqliteStore(std::string db_path, SqliteOptions options, int lock_fd);

  // Opens the connection, sets pragmas, validates or creates the schema, loads the revision and
  // prepares the statements. On error the destructor cleans up whatever was opened.
  Status Init();
  Status ConfigureConnection();
  Status CheckIntegrity();
  Status LoadOrCreateSchema();
  Status PrepareStatements();
  Result<StmtPtr> Prepare(const char* sql);
  // Rolls back the open transaction, if any, and returns `status` unchanged.
  Status AbortTransaction(Status status);
  // Error for an SQLite result code, with the connection's message and the OS error.
  Status Error(int rc, const char* what) const;

  const std::string db_path_;
  const SqliteOptions options_;
  int lock_fd_;  // owns the flock on <data_dir>/LOCK; closed last
  sqlite3* db_ = nullptr;

  // Prepared once in Init and reused by every Range and Commit.
  StmtPtr begin_;
  StmtPtr commit_;
  StmtPtr rollback_;
  StmtPtr upsert_;
  StmtPtr delete_;
  StmtPtr set_revision_;
  StmtPtr range_all_;      // prefix is empty
  StmtPtr range_from_;     // prefix has no successor (all 0xff bytes): key >= ?1
  StmtPtr range_between_;  // key >= ?1 AND key < ?2

  // Written only by Commit after COMMIT succeeded; atomic so Revision() may be read anywhere.
  std::atomic<int64_t> revision_{0};
};

}  // namespace beacon::store
