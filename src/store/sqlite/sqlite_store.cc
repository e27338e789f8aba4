#include "store/sqlite/sqlite_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "store/sqlite/commit_log.h"

namespace beacon::store {
namespace {

constexpr int64_t kSchemaVersion = 1;
// Stored in the file header (PRAGMA application_id) so a Beacon database is recognisable, by us
// and by file(1), without reading any table. "BCN1" in ASCII.
constexpr int32_t kApplicationId = 0x42434E31;
// After a checkpoint, a WAL larger than this is truncated; without a limit a single big
// transaction (a snapshot restore) would leave a WAL of that size behind for good.
constexpr int64_t kJournalSizeLimitBytes = 64 << 20;
// WAL pages between automatic checkpoints (SQLite's default is 1,000). A checkpoint copies each
// page changed since the last one into the database file once, however often it changed, so
// spacing them out saves most of the copying when writes are spread over the whole key space.
// The cost is a longer WAL to scan when the database is opened (up to ~32 MiB here).
constexpr int kWalAutocheckpointPages = 8000;

std::string OsErrorText(int err) { return std::generic_category().message(err); }

// The smallest byte string greater than every string that starts with `prefix`, or nullopt when
// there is none (the prefix is empty or all 0xff). Trailing 0xff bytes cannot be incremented
// without carrying, so they are dropped: "a\xff" -> "b".
std::optional<std::string> PrefixSuccessor(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) {
    end.pop_back();
  }
  if (end.empty()) {
    return std::nullopt;
  }
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

// Binds as BLOB, never TEXT: keys are not UTF-8 text, and a BLOB is compared with memcmp by
// definition, whatever collation or text encoding the connection uses. std::string::data() is
// never null, so an empty string binds a zero-length BLOB rather than NULL (which would violate
// `value NOT NULL`).
int BindBytes(sqlite3_stmt* stmt, int index, const std::string& bytes) {
  return sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(), SQLITE_STATIC);
}

std::string ColumnBytes(sqlite3_stmt* stmt, int column) {
  const void* data = sqlite3_column_blob(stmt, column);
  const int size = sqlite3_column_bytes(stmt, column);  // after column_blob, as SQLite requires
  if (data == nullptr || size <= 0) {
    return std::string();  // a zero-length BLOB comes back as a null pointer
  }
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

// Resets a statement when the scope ends, so an early return never leaves a read transaction
// pinned by a half-stepped SELECT, nor a binding pointing at a caller's buffer.
class ScopedReset {
 public:
  explicit ScopedReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ScopedReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Steps a statement that returns no rows; SQLITE_DONE on success, else the error code.
int StepDone(sqlite3_stmt* stmt) {
  ScopedReset reset(stmt);
  return sqlite3_step(stmt);
}

// Creates `dir` and any missing parents with mode 0700 (mkdir -p). Each new directory's parent
// is fsync'd so the new entry survives a power loss together with the data written below it.
Status MakeDirs(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();  // "a/b/" is "a/b"
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return FailedPrecondition("store: data directory " + dir + " is not a directory");
    }
    return Status();
  }
  const size_t slash = dir.find_last_of('/');
  std::string parent;
  if (slash == std::string::npos) {
    parent = ".";
  } else if (slash == 0) {
    parent = "/";
  } else {
    parent = dir.substr(0, slash);
  }
  BEACON_RETURN_IF_ERROR(MakeDirs(parent));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    const int err = errno;
    if (err == EACCES || err == EPERM || err == EROFS) {
      return FailedPrecondition("store: data directory is read-only: cannot create " + dir + ": " +
                                OsErrorText(err));
    }
    if (err == ENOSPC || err == EDQUOT) {
      return ResourceExhausted("store: disk full: cannot create " + dir + ": " + OsErrorText(err));
    }
    return Unavailable("store: cannot create data directory " + dir + ": " + OsErrorText(err));
  }
  const int parent_fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent_fd >= 0) {
    ::fsync(parent_fd);  // best effort: some filesystems refuse fsync on directories
    ::close(parent_fd);
  }
  return Status();
}

// fsyncs `dir` so that its entries are durable; false (errno set) when that is not known.
bool SyncDirChecked(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Filesystems that cannot fsync a directory make every entry durable by other means.
  if (rc != 0 && (err == EINVAL || err == ENOTSUP)) {
    rc = 0;
  }
  errno = err;
  return rc == 0;
}

void SyncDir(const std::string& dir) {
  (void)SyncDirChecked(dir);  // best effort: some filesystems refuse fsync on directories
}

// The Status for an OS error `err` while working on the commit log.
Status LogError(int err, const std::string& what) {
  const std::string detail = what + ": " + OsErrorText(err);
  if (err == ENOSPC || err == EDQUOT) {
    return ResourceExhausted("store: disk full: " + detail);
  }
  if (err == EROFS || err == EACCES || err == EPERM) {
    return FailedPrecondition("store: data directory is read-only: " + detail);
  }
  return Unavailable("store: " + detail);
}

// A whole file mapped read-only, for reading log segments without copying them onto the heap
// (where glibc would keep the freed megabytes of each fold resident).
class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  Status Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return LogError(errno, "read " + path);
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return LogError(err, "read " + path);
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        size_ = 0;
        return LogError(err, "map " + path);
      }
      data_ = p;
    }
    ::close(fd);  // the mapping stays valid
    return Status();
  }
  std::string_view view() const {
    return data_ == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(data_), size_);
  }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// Opens <data_dir>/LOCK and takes an exclusive, non-blocking flock on it. Returns the fd, which
// the store keeps open: the kernel drops the lock when the process dies, so there is no stale
// lock to clean up after a crash.
Result<int> LockDataDir(const std::string& data_dir) {
  const std::string path = data_dir + "/LOCK";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EACCES || err == EPERM || err == EROFS) {
      return FailedPrecondition("store: data directory is read-only: cannot open " + path + ": " +
                                OsErrorText(err));
    }
    return Unavailable("store: cannot open " + path + ": " + OsErrorText(err));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return FailedPrecondition("store: data directory " + data_dir +
                                " is in use by another Beacon store (" + path + " is locked)");
    }
    return Unavailable("store: cannot lock " + path + ": " + OsErrorText(err));
  }
  return fd;
}

}  // namespace

void SqliteStore::StmtDeleter::operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }

SqliteStore::SqliteStore(std::string data_dir, SqliteOptions options, int lock_fd)
    : data_dir_(std::move(data_dir)),
      db_path_(data_dir_ + "/beacon.db"),
      options_(options),
      lock_fd_(lock_fd) {}

SqliteStore::~SqliteStore() {
  if (folder_.joinable()) {
    // Folds what is logged, so the next open has nothing to replay. On failure the segments stay
    // and the next open folds them.
    (void)Flush();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    folder_.join();
  }
  if (segment_fd_ >= 0) {
    ::close(segment_fd_);
    if (segment_end_ == 0) {
      ::unlink(segment_path_.c_str());  // no records: nothing to keep (the spare is kept)
    }
  }
  // Statements first: sqlite3_close refuses to close a connection with live statements.
  begin_.reset();
  commit_.reset();
  rollback_.reset();
  upsert_.reset();
  delete_.reset();
  set_revision_.reset();
  range_all_.reset();
  range_from_.reset();
  range_between_.reset();
  if (db_ != nullptr) {
    sqlite3_close(db_);
  }
  // The LOCK goes last, after the connection is closed, so no second store can open the file
  // while this one is still checkpointing.
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
  }
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& data_dir,
                                                       SqliteOptions options) {
  if (data_dir.empty()) {
    return InvalidArgument("store: data directory must not be empty");
  }
  BEACON_RETURN_IF_ERROR(MakeDirs(data_dir));
  BEACON_ASSIGN_OR_RETURN(const int lock_fd, LockDataDir(data_dir));
  // Not make_unique: the constructor is private.
  std::unique_ptr<SqliteStore> store(new SqliteStore(data_dir, options, lock_fd));
  const bool existed = ::access(store->db_path_.c_str(), F_OK) == 0;
  if (!existed) {
    // Created here rather than by SQLite, which would use 0644: the catalog is nobody else's
    // business, and SQLite gives the -wal and -shm files the mode of the main file. Failures are
    // left for sqlite3_open_v2 to report.
    const int fd = ::open(store->db_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
    }
  }
  BEACON_RETURN_IF_ERROR(store->Init());
  if (!existed) {
    // SQLite syncs the directory when it creates the WAL, but not when it creates the main file.
    SyncDir(data_dir);
  }
  BEACON_RETURN_IF_ERROR(store->RecoverLog());
  SqliteStore* raw = store.get();
  store->folder_ = std::thread([raw] { raw->FoldLoop(); });
  return store;
}

Status SqliteStore::Init() {
  // NOMUTEX: the connection is used by one thread at a time (see the header), so SQLite's
  // per-call mutex would only cost time. FULLMUTEX would not make this class thread-safe anyway:
  // a Range on another thread in the middle of Commit would run inside the same connection's
  // open transaction and see the uncommitted half of the batch.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(db_path_.c_str(), &db_, flags, nullptr);
  if (db_ == nullptr) {
    return Unavailable("store: cannot open " + db_path_ + ": out of memory");
  }
  sqlite3_extended_result_codes(db_, 1);
  if (rc != SQLITE_OK) {
    return Error(rc, "open");
  }
  sqlite3_busy_timeout(db_, options_.busy_timeout_ms);
  // SQLite quietly falls back to a read-only connection when the file is not writable; a store
  // that cannot commit must not start.
  if (sqlite3_db_readonly(db_, "main") == 1) {
    return FailedPrecondition("store: data directory is read-only: " + db_path_ +
                              " cannot be opened for writing");
  }
  BEACON_RETURN_IF_ERROR(CheckHeader());
  BEACON_RETURN_IF_ERROR(ConfigureConnection());
  BEACON_RETURN_IF_ERROR(LoadOrCreateSchema());
  return PrepareStatements();
}

Status SqliteStore::CheckHeader() {
  const std::string invalid = "store: " + db_path_ + " is not a valid Beacon database: ";
  // Reads page 1 (the header and the schema): on a file that is not an SQLite database SQLite
  // fails here with SQLITE_NOTADB. Damage further in is found where it is read: loading reads
  // every record (Range), and SQLite checks each page it reads. A whole-file `PRAGMA
  // quick_check` here found nothing more in practice and was a tenth of a restart.
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, "SELECT count(*) FROM sqlite_schema", -1, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(stmt.get());
  }
  if (rc != SQLITE_ROW) {
    const int primary = rc & 0xff;
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
      return Internal(invalid + sqlite3_errmsg(db_));
    }
    return Error(rc, "read");
  }
  return Status();
}

Status SqliteStore::ConfigureConnection() {
  // journal_mode answers with the mode actually in effect; a filesystem without shared-memory
  // support keeps the old mode, and we would rather refuse than run with different guarantees.
  {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) {
      return Error(rc, "set journal_mode");
    }
    rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) {
      return Error(rc, "set journal_mode");
    }
    const unsigned char* mode = sqlite3_column_text(stmt.get(), 0);
    if (mode == nullptr || std::string_view(reinterpret_cast<const char*>(mode)) != "wal") {
      return FailedPrecondition("store: " + db_path_ +
                                ": cannot use WAL journal mode on this filesystem");
    }
  }
  std::string pragmas =
      options_.synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
  pragmas += "PRAGMA journal_size_limit=" + std::to_string(kJournalSizeLimitBytes) + ";";
  pragmas += "PRAGMA wal_autocheckpoint=" + std::to_string(kWalAutocheckpointPages) + ";";
  if (options_.cache_size_kib > 0) {
    // A negative cache_size is in KiB; a positive one would be in pages.
    pragmas += "PRAGMA cache_size=-" + std::to_string(options_.cache_size_kib) + ";";
  }
  const int rc = sqlite3_exec(db_, pragmas.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return Error(rc, "configure connection");
  }
  return Status();
}

Status SqliteStore::LoadOrCreateSchema() {
  const std::string invalid = "store: " + db_path_ + " is not a valid Beacon database: ";
  // One write transaction, so a crash during creation leaves an empty file (created again on the
  // next open), never a half-made schema.
  int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return Error(rc, "begin schema transaction");
  }

  // Reads one integer from `sql`; nullopt when it returns no row.
  auto query_int = [this](const char* sql, const char* what) -> Result<std::optional<int64_t>> {
    BEACON_ASSIGN_OR_RETURN(StmtPtr stmt, Prepare(sql));
    const int step = sqlite3_step(stmt.get());
    if (step == SQLITE_DONE) {
      return std::optional<int64_t>();
    }
    if (step != SQLITE_ROW) {
      return Error(step, what);
    }
    return std::optional<int64_t>(sqlite3_column_int64(stmt.get(), 0));
  };

  auto objects = query_int("SELECT count(*) FROM sqlite_schema", "read schema");
  if (!objects.ok()) {
    return AbortTransaction(objects.status());
  }
  if (objects->value_or(0) == 0) {
    // A new (or empty) file: create version 1.
    const std::string create =
        "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE kv(key BLOB PRIMARY KEY, value BLOB NOT NULL,"
        " mod_revision INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO meta(name, value) VALUES ('schema_version', " +
        std::to_string(kSchemaVersion) + "), ('revision', 0);" +
        "PRAGMA application_id=" + std::to_string(kApplicationId) + ";";
    rc = sqlite3_exec(db_, create.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      return AbortTransaction(Error(rc, "create schema"));
    }
  } else {
    auto app_id = query_int("PRAGMA application_id", "read application_id");
    if (!app_id.ok()) {
      return AbortTransaction(app_id.status());
    }
    if (app_id->value_or(0) != kApplicationId) {
      return AbortTransaction(
          Internal(invalid + "an SQLite database of another application (application_id " +
                   std::to_string(app_id->value_or(0)) + ")"));
    }
    auto version =
        query_int("SELECT value FROM meta WHERE name = 'schema_version'", "read schema version");
    if (!version.ok()) {
      return AbortTransaction(Internal(invalid + version.status().message()));
    }
    if (!version->has_value() || **version < 1) {
      return AbortTransaction(Internal(invalid + "missing schema version"));
    }
    if (**version > kSchemaVersion) {
      return AbortTransaction(FailedPrecondition(
          "store: " + db_path_ + " has schema version " + std::to_string(**version) +
          ", newer than this Beacon supports (" + std::to_string(kSchemaVersion) +
          "); it was written by a newer release, which must be used to open it"));
    }
  }

  auto revision = query_int("SELECT value FROM meta WHERE name = 'revision'", "read revision");
  if (!revision.ok()) {
    return AbortTransaction(Internal(invalid + revision.status().message()));
  }
  if (!revision->has_value() || **revision < 0) {
    return AbortTransaction(Internal(invalid + "missing or negative store revision"));
  }
  rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return AbortTransaction(Error(rc, "commit schema"));
  }
  revision_.store(**revision, std::memory_order_release);
  folded_revision_ = **revision;
  return Status();
}

Result<SqliteStore::StmtPtr> SqliteStore::Prepare(const char* sql) {
  sqlite3_stmt* raw = nullptr;
  // PERSISTENT: these statements live as long as the connection; SQLite then allocates them
  // outside its small lookaside pool.
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) {
    return Error(rc, sql);
  }
  return stmt;
}

Status SqliteStore::PrepareStatements() {
  BEACON_ASSIGN_OR_RETURN(begin_, Prepare("BEGIN IMMEDIATE"));
  BEACON_ASSIGN_OR_RETURN(commit_, Prepare("COMMIT"));
  BEACON_ASSIGN_OR_RETURN(rollback_, Prepare("ROLLBACK"));
  BEACON_ASSIGN_OR_RETURN(upsert_,
                          Prepare("INSERT INTO kv(key, value, mod_revision) VALUES (?1, ?2, ?3) "
                                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                                  "mod_revision = excluded.mod_revision"));
  BEACON_ASSIGN_OR_RETURN(delete_, Prepare("DELETE FROM kv WHERE key = ?1"));
  BEACON_ASSIGN_OR_RETURN(set_revision_,
                          Prepare("UPDATE meta SET value = ?1 WHERE name = 'revision'"));
  BEACON_ASSIGN_OR_RETURN(range_all_,
                          Prepare("SELECT key, value, mod_revision FROM kv ORDER BY key"));
  BEACON_ASSIGN_OR_RETURN(
      range_from_, Prepare("SELECT key, value, mod_revision FROM kv WHERE key >= ?1 ORDER BY key"));
  BEACON_ASSIGN_OR_RETURN(range_between_, Prepare("SELECT key, value, mod_revision FROM kv "
                                                  "WHERE key >= ?1 AND key < ?2 ORDER BY key"));
  return Status();
}

Result<std::vector<KeyValue>> SqliteStore::Range(const std::string& prefix) {
  // Every commit in SQLite first; the folding thread is idle once the queue is empty.
  BEACON_RETURN_IF_ERROR(Flush());
  // Not LIKE or GLOB: they treat '%', '_' and '*' as wildcards, fold case and stop at NUL.
  sqlite3_stmt* stmt = nullptr;
  const std::optional<std::string> end = PrefixSuccessor(prefix);
  if (prefix.empty()) {
    stmt = range_all_.get();
  } else if (!end) {
    stmt = range_from_.get();
  } else {
    stmt = range_between_.get();
  }
  ScopedReset reset(stmt);
  if (!prefix.empty()) {
    int rc = BindBytes(stmt, 1, prefix);
    if (rc == SQLITE_OK && end) {
      rc = BindBytes(stmt, 2, *end);
    }
    if (rc != SQLITE_OK) {
      return Error(rc, "range: bind");
    }
  }
  std::vector<KeyValue> out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    out.push_back(
        KeyValue{ColumnBytes(stmt, 0), ColumnBytes(stmt, 1), sqlite3_column_int64(stmt, 2)});
  }
  if (rc != SQLITE_DONE) {
    return Error(rc, "range");
  }
  return out;
}

Status SqliteStore::FoldRecords(std::string_view bytes, const std::string& what) {
  // Only each key's last write matters, stamped with its commit's revision: the catalog rewrites
  // some keys in every commit (its index) and many keys over a segment. Applying the survivors in
  // key order also walks the B-tree from one page to the next instead of all over it. The whole
  // run is parsed and checked before SQLite is touched, so a bad record leaves no half fold.
  struct Final {
    std::string_view key;
    std::optional<std::string_view> value;
    int64_t revision;
  };
  std::vector<Final> finals;
  commit_log::RecordView record;
  size_t offset = 0;
  int64_t last = folded_revision_;
  while (offset < bytes.size()) {
    if (!commit_log::ParseRecord(bytes, &offset, &record)) {
      return Internal("store: commit log " + what + " is damaged at byte " +
                      std::to_string(offset));
    }
    if (record.revision <= folded_revision_) {
      continue;  // already in SQLite (the fold that had it was interrupted before the rename)
    }
    if (record.revision != last + 1) {
      return Internal("store: commit log " + what + " skips from revision " +
                      std::to_string(last) + " to " + std::to_string(record.revision));
    }
    last = record.revision;
    for (const commit_log::OpView& op : record.ops) {
      finals.push_back(Final{op.key, op.value, record.revision});
    }
  }
  if (last == folded_revision_) {
    return Status();
  }
  // A failed COMMIT can leave its transaction open (SQLite rolls back by itself only for some
  // errors); AbortTransaction closes it, but be sure before starting the next one.
  if (sqlite3_get_autocommit(db_) == 0) {
    StepDone(rollback_.get());
  }
  int rc = StepDone(begin_.get());
  if (rc != SQLITE_DONE) {
    return AbortTransaction(Error(rc, "fold: begin"));
  }
  // Stable: of equal keys the later write stays last.
  std::stable_sort(finals.begin(), finals.end(),
                   [](const Final& a, const Final& b) { return a.key < b.key; });
  // Stop at the first error. SQLite may already have rolled the whole transaction back (it does
  // on I/O errors), and any statement run after that would autocommit on its own.
  for (size_t i = 0; i < finals.size(); ++i) {
    if (i + 1 < finals.size() && finals[i + 1].key == finals[i].key) {
      continue;  // written again later in this fold
    }
    const Final& op = finals[i];
    sqlite3_stmt* stmt = op.value ? upsert_.get() : delete_.get();
    Status error;
    {
      ScopedReset reset(stmt);  // also clears bindings when a bind fails half-way
      rc = sqlite3_bind_blob64(stmt, 1, op.key.empty() ? "" : op.key.data(), op.key.size(),
                               SQLITE_STATIC);
      if (rc == SQLITE_OK && op.value) {
        rc = sqlite3_bind_blob64(stmt, 2, op.value->empty() ? "" : op.value->data(),
                                 op.value->size(), SQLITE_STATIC);
      }
      if (rc == SQLITE_OK && op.value) {
        rc = sqlite3_bind_int64(stmt, 3, op.revision);
      }
      if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
      }
      if (rc != SQLITE_DONE) {
        error = Error(rc, op.value ? "fold: put" : "fold: delete");
      }
    }
    if (!error.ok()) {
      return AbortTransaction(std::move(error));
    }
  }
  {
    Status error;
    {
      ScopedReset reset(set_revision_.get());
      rc = sqlite3_bind_int64(set_revision_.get(), 1, last);
      if (rc == SQLITE_OK) {
        rc = sqlite3_step(set_revision_.get());
      }
      if (rc != SQLITE_DONE) {
        error = Error(rc, "fold: update revision");
      }
    }
    if (!error.ok()) {
      return AbortTransaction(std::move(error));
    }
  }
  // synchronous=FULL: this returns after the WAL is fsync'd, so the segment may go.
  rc = StepDone(commit_.get());
  if (rc != SQLITE_DONE) {
    return AbortTransaction(Error(rc, "fold: commit"));
  }
  folded_revision_ = last;
  return Status();
}

std::string SqliteStore::SegmentPath(int64_t first_revision) const {
  char name[40];
  std::snprintf(name, sizeof name, "/beacon.log.%016" PRIx64,
                static_cast<uint64_t>(first_revision));
  return data_dir_ + name;
}

std::string SqliteStore::SparePath() const { return data_dir_ + "/beacon.log.spare"; }

Status SqliteStore::RecoverLog() {
  // Segments in revision order (their names are fixed-width hex).
  std::vector<std::pair<int64_t, std::string>> segments;
  DIR* dir = ::opendir(data_dir_.c_str());
  if (dir == nullptr) {
    return LogError(errno, "recover: read directory " + data_dir_);
  }
  constexpr std::string_view kPrefix = "beacon.log.";
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name.substr(0, kPrefix.size()) != kPrefix || name.size() != kPrefix.size() + 16) {
      continue;
    }
    uint64_t first = 0;
    if (std::sscanf(entry->d_name + kPrefix.size(), "%16" SCNx64, &first) == 1) {
      segments.emplace_back(static_cast<int64_t>(first), data_dir_ + "/" + std::string(name));
    }
  }
  ::closedir(dir);
  std::sort(segments.begin(), segments.end());
  if (segments.empty()) {
    return Status();
  }
  // Each segment holds the records from its first revision up to the first one that does not
  // parse or does not follow (zeros, a record torn by a crash, an older record of a recycled
  // file). The next segment starts right after: it was started only once this one was full.
  std::string all;
  int64_t start = -1;     // the first revision collected; -1 before the first record
  int64_t expected = -1;  // the revision the next record must have
  for (const auto& [first, path] : segments) {
    MappedFile file;
    BEACON_RETURN_IF_ERROR(file.Open(path));
    const std::string_view bytes = file.view();
    commit_log::RecordView record;
    size_t offset = 0;
    size_t end = 0;
    int64_t next = first;
    while (commit_log::ParseRecord(bytes, &offset, &record) && record.revision == next) {
      end = offset;
      ++next;
    }
    if (end == 0 || next - 1 <= folded_revision_) {
      continue;  // started and never written, or folded already (its removal was lost)
    }
    if (expected != -1 && first != expected) {
      return Internal("store: commit log in " + data_dir_ + " is missing revisions " +
                      std::to_string(expected) + " to " + std::to_string(first - 1));
    }
    all.append(bytes.substr(0, end));
    if (start == -1) start = first;
    expected = next;
  }
  if (start != -1) {
    // The log must reach back to what SQLite has, or commits in between were lost.
    if (start > folded_revision_ + 1) {
      return Internal("store: commit log in " + data_dir_ + " starts at revision " +
                      std::to_string(start) + " but the database has only " +
                      std::to_string(folded_revision_));
    }
    BEACON_RETURN_IF_ERROR(FoldRecords(all, "in " + data_dir_));
  }
  revision_.store(folded_revision_, std::memory_order_release);
  for (const auto& [first, path] : segments) {
    ::unlink(path.c_str());
  }
  return Status();
}

Status SqliteStore::StartSegment(int64_t first_revision) {
  const std::string path = SegmentPath(first_revision);
  // The spare, renamed, is already as long as a segment: appending to it changes no file size.
  bool recycled = ::rename(SparePath().c_str(), path.c_str()) == 0;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return LogError(errno, "open " + path);
  }
  if (!recycled) {
    // Fill with zeros ahead of time (fallocate would leave "unwritten" extents whose conversion
    // costs the same metadata write on every fdatasync). Where the disk has no room for that,
    // append to an empty file instead.
    static const std::string kZeros(1 << 20, '\0');
    int64_t written = 0;
    while (written < kSegmentBytes) {
      const ssize_t n = ::pwrite(fd, kZeros.data(), kZeros.size(), written);
      if (n <= 0) {
        break;
      }
      written += n;
    }
    if (written < kSegmentBytes || ::fdatasync(fd) != 0) {
      if (::ftruncate(fd, 0) != 0) {
        const int err = errno;
        ::close(fd);
        ::unlink(path.c_str());
        return LogError(err, "prepare " + path);
      }
    }
  }
  // The new name must be durable before a commit in it is acknowledged.
  if (!SyncDirChecked(data_dir_)) {
    const int err = errno;
    ::close(fd);
    return LogError(err, "sync directory " + data_dir_);
  }
  segment_fd_ = fd;
  segment_path_ = path;
  segment_end_ = 0;
  return Status();
}

Status SqliteStore::QueueSegment() {
  if (segment_fd_ < 0 || segment_end_ == 0) {
    return Status();
  }
  std::unique_lock<std::mutex> lock(mu_);
  // Back-pressure: the folding thread is far behind (or failing).
  while (queued_bytes_ >= kMaxQueuedBytes) {
    const uint64_t failures = fold_failures_;
    cv_.wait(lock, [&] { return queued_bytes_ < kMaxQueuedBytes || fold_failures_ != failures; });
    if (queued_bytes_ >= kMaxQueuedBytes && !fold_error_.ok()) {
      return Unavailable("store: the commit log cannot be folded into " + db_path_ + ": " +
                         fold_error_.message());
    }
  }
  // The segment's last record is the last commit.
  queue_.push_back(Queued{segment_path_, segment_end_, revision_.load(std::memory_order_relaxed)});
  queued_bytes_ += segment_end_;
  lock.unlock();
  cv_.notify_all();
  ::close(segment_fd_);
  segment_fd_ = -1;
  segment_end_ = 0;
  return Status();
}

Status SqliteStore::FoldQueued(const Queued& q) {
  MappedFile file;
  BEACON_RETURN_IF_ERROR(file.Open(q.path));
  if (static_cast<int64_t>(file.view().size()) < q.end) {
    return Internal("store: commit log " + q.path + " is shorter than what was written to it");
  }
  BEACON_RETURN_IF_ERROR(FoldRecords(file.view().substr(0, static_cast<size_t>(q.end)), q.path));
  if (folded_revision_ < q.last_revision) {
    return Internal("store: commit log " + q.path + " ends before revision " +
                    std::to_string(q.last_revision));
  }
  // Kept for the next segment; if the rename is lost in a crash, the next open finds its records
  // already in SQLite and skips them.
  if (::rename(q.path.c_str(), SparePath().c_str()) != 0) {
    ::unlink(q.path.c_str());
  }
  return Status();
}

void SqliteStore::FoldLoop() {
  // Folding is background work: every commit it folds is already durable in the log. Ten nice
  // levels below the agent's other threads it gets about a tenth of a core they want (CFS
  // weights 110 to 1024), so a burst of writes or reads is served first and the folding catches
  // up after it; the queue cap (kMaxQueuedBytes) bounds how far it can fall behind. Best effort:
  // a failure changes nothing else.
  const id_t self = static_cast<id_t>(gettid());
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, self);
  if (errno == 0) (void)setpriority(PRIO_PROCESS, self, std::min(19, nice + kFoldNiceIncrement));
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      return;  // stopping, nothing left
    }
    const Queued q = queue_.front();
    lock.unlock();
    Status status = FoldQueued(q);
    lock.lock();
    if (status.ok()) {
      queue_.pop_front();
      queued_bytes_ -= q.end;
      fold_error_ = Status();
      cv_.notify_all();
      continue;
    }
    fold_error_ = std::move(status);
    ++fold_failures_;
    cv_.notify_all();
    if (stopping_) {
      return;  // the segments stay for the next open
    }
    // Retried: the disk may have room again.
    cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
  }
}

Status SqliteStore::Flush() {
  BEACON_RETURN_IF_ERROR(QueueSegment());
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t failures = fold_failures_;
  cv_.wait(lock, [&] { return queue_.empty() || fold_failures_ != failures; });
  if (!queue_.empty()) {
    return fold_error_;
  }
  return Status();
}

Result<int64_t> SqliteStore::Commit(const WriteBatch& batch) {
  if (broken_) {
    return Unavailable("store: an earlier commit to " + data_dir_ +
                       " failed and could not be erased from the commit log; reopen the store");
  }
  const int64_t next = revision_.load(std::memory_order_relaxed) + 1;
  record_.clear();
  commit_log::AppendRecord(next, batch, &record_);
  const auto size = static_cast<int64_t>(record_.size());
  if (segment_fd_ >= 0 && segment_end_ > 0 && segment_end_ + size > kSegmentBytes) {
    BEACON_RETURN_IF_ERROR(QueueSegment());
  }
  if (segment_fd_ < 0) {
    BEACON_RETURN_IF_ERROR(StartSegment(next));
  }
  int err = 0;
  for (int64_t done = 0; done < size && err == 0;) {
    const ssize_t n =
        ::pwrite(segment_fd_, record_.data() + done, static_cast<size_t>(size - done),
                 segment_end_ + done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
    } else {
      done += n;
    }
  }
  const char* what = "append to";
  if (err == 0 && options_.synchronous_full && ::fdatasync(segment_fd_) != 0) {
    err = errno;
    what = "sync";
  }
  if (err != 0) {
    // Erase the record's header so that no open folds it, whatever part of it reached the disk.
    static const char kZeroHeader[commit_log::kHeaderBytes] = {};
    if (::pwrite(segment_fd_, kZeroHeader, sizeof kZeroHeader, segment_end_) !=
            static_cast<ssize_t>(sizeof kZeroHeader) ||
        ::fdatasync(segment_fd_) != 0) {
      broken_ = true;
    }
    return LogError(err, std::string("commit: ") + what + " " + segment_path_);
  }
  segment_end_ += size;
  revision_.store(next, std::memory_order_release);
  return next;
}

Status SqliteStore::AbortTransaction(Status status) {
  if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
    // May fail too (the disk is still full, say); then Commit retries it before its next BEGIN.
    if (rollback_ != nullptr) {
      StepDone(rollback_.get());
    } else {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  return status;
}

Status SqliteStore::Error(int rc, const char* what) const {
  const int primary = rc & 0xff;
  std::string detail = std::string(what) + ": " + db_path_ + ": ";
  detail += db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  // The OS error behind an I/O failure says more than SQLite's code: ENOSPC behind an IOERR is
  // a full disk, EROFS a filesystem remounted read-only.
  int os_error = 0;
  if (db_ != nullptr &&
      (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_FULL)) {
    os_error = sqlite3_system_errno(db_);
  }
  if (os_error != 0) {
    detail += " (" + OsErrorText(os_error) + ")";
  }

  if (primary == SQLITE_FULL || os_error == ENOSPC || os_error == EDQUOT) {
    return ResourceExhausted("store: disk full: " + detail);
  }
  if (os_error == EMFILE || os_error == ENFILE) {
    return Unavailable("store: " + detail);
  }
  if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_PERM ||
      os_error == EROFS) {
    return FailedPrecondition("store: data directory is read-only: " + detail);
  }
  switch (primary) {
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
    case SQLITE_INTERRUPT:
      return Unavailable("store: " + detail);
    case SQLITE_TOOBIG:
      return InvalidArgument("store: " + detail);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Internal("store: database is corrupt: " + detail);
    default:
      return Internal("store: " + detail);
  }
}

}  // namespace beacon::store
