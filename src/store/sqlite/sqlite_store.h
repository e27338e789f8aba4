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
// Durability: a Commit is appended to a commit log and returns once the log is fsync'd
// (synchronous_full, the default). The log is folded into the SQLite database later, many commits
// at a time, by the store's own folding thread. Why: SQLite writes every B-tree page a
// transaction touched into its WAL, and a catalog's keys are spread over the whole key space, so a
// small transaction wrote about a 4 KB page per record (on a 2-core machine, a third of the CPU of
// a registration). The log writes each record once, sequentially; folding tens of thousands of
// records in one transaction writes each touched page once for all of them.
//
//   <data_dir>/beacon.log.<first revision, 16 hex digits>   segments, at most kSegmentBytes
//                                                           each unless one commit is larger
//   <data_dir>/beacon.log.spare                             a folded segment kept for reuse
//
// Record format: commit_log.h. A new segment is filled with zeros first (or is the recycled
// spare) so that appends do not grow the file and fdatasync has no file size to write. A full
// segment is handed to the folding thread, which applies its records in one SQLite transaction
// (synchronous=FULL) together with the new `revision` in `meta`, then renames the segment to the
// spare. Open folds whatever segments are left (after a crash: every record up to the first torn
// one, which was never acknowledged) before returning; the destructor and Range fold everything
// first, so Range always sees every commit.
//
// Failures: a failed append or fsync returns an error (ResourceExhausted on a full disk,
// FailedPrecondition when read-only, Unavailable otherwise), nothing of the batch becomes visible
// to this process, and the record's header is overwritten so that no later open folds it; the
// store stays usable (a later commit succeeds once the disk has room again). As with every
// database, if the fsync itself failed the record's state on disk is unknown until that header
// is overwritten; if even that fails the store refuses further commits (Unavailable) until it is
// reopened. A fold that fails (disk full) keeps its segment and is retried every second; its
// records are durable in the log meanwhile.
//
// Open validates the file (SQLite's header, Beacon's application_id, schema version) and fails
// with a clear message rather than serving from a foreign file. A damaged page is reported by the
// read that meets it (Internal, "database is corrupt"); the catalog reads every record when it
// loads, so an agent never starts on a damaged table.
//
// Threading: not thread-safe, like the Store interface allows. One thread at a time calls Range
// and Commit (the catalog loads with Range at startup, then hands the store to its writer).
// Revision() alone may be called from any thread. The folding thread uses the SQLite connection
// only while it folds a queued segment; Range and the destructor wait until the queue is empty.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
  //   Internal            the file is not a Beacon database
  //                       ("store: <path> is not a valid Beacon database: ..."), or the commit
  //                       log left by a crash has a gap.
  //   Unavailable         an I/O error; retrying may work.
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

  // Commits are handed to the folding thread in segments of this many bytes of log.
  static constexpr int64_t kSegmentBytes = 4 << 20;
  // Appending waits for the folding thread while this many bytes of full segments wait for it.
  static constexpr int64_t kMaxQueuedBytes = 64 << 20;
  // How many nice levels below the thread that opened the store the folding thread runs.
  static constexpr int kFoldNiceIncrement = 10;

 private:
  struct StmtDeleter {
    void operator()(sqlite3_stmt* stmt) const;
  };
  using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

  SqliteStore(std::string data_dir, SqliteOptions options, int lock_fd);

  // A full segment waiting for the folding thread.
  struct Queued {
    std::string path;
    int64_t end = 0;            // bytes of records in it
    int64_t last_revision = 0;  // of its last record
  };

  // Opens the connection, sets pragmas, validates or creates the schema, loads the revision and
  // prepares the statements. On error the destructor cleans up whatever was opened.
  Status Init();
  Status ConfigureConnection();
  Status CheckHeader();
  Status LoadOrCreateSchema();
  Status PrepareStatements();
  Result<StmtPtr> Prepare(const char* sql);
  // Rolls back the open transaction, if any, and returns `status` unchanged.
  Status AbortTransaction(Status status);
  // Error for an SQLite result code, with the connection's message and the OS error.
  Status Error(int rc, const char* what) const;

  // Commit log (see the header comment).
  std::string SegmentPath(int64_t first_revision) const;
  std::string SparePath() const;
  // At Open: folds every segment left in the directory into SQLite, then removes them.
  Status RecoverLog();
  // Starts the segment whose first record will be `first_revision` (recycling the spare).
  Status StartSegment(int64_t first_revision);
  // Applies every logged commit to the SQLite file and waits for it (Range and the destructor).
  Status Flush();
  // Hands the current segment, if it has records, to the folding thread.
  Status QueueSegment();
  // Applies the records of `bytes` (whole records, consecutive revisions) that SQLite does not
  // have yet, in one transaction. Folding thread, or a caller while the queue is empty.
  Status FoldRecords(std::string_view bytes, const std::string& what);
  Status FoldQueued(const Queued& q);
  void FoldLoop();

  const std::string data_dir_;
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

  // Written only by Commit after the log append succeeded; atomic so Revision() may be read
  // anywhere.
  std::atomic<int64_t> revision_{0};
  // The revision the SQLite file holds (its `meta` row). Used by whoever folds.
  int64_t folded_revision_ = 0;

  // The segment being appended to (the committing thread only).
  int segment_fd_ = -1;
  std::string segment_path_;
  int64_t segment_end_ = 0;  // bytes of records written; its last record is revision_
  std::string record_;  // the record being appended, reused
  // Set when a failed append could not be erased from the log: no commit is safe any more.
  bool broken_ = false;

  // The folding thread and its queue.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Queued> queue_;        // guarded by mu_
  int64_t queued_bytes_ = 0;        // guarded by mu_
  bool stopping_ = false;           // guarded by mu_
  Status fold_error_;               // guarded by mu_: the last fold's failure, until one succeeds
  uint64_t fold_failures_ = 0;      // guarded by mu_
  std::thread folder_;
};

}  // namespace beacon::store
