#include "store/etcd/etcd_store.h"

#include <algorithm>
#include <map>

#include <spdlog/spdlog.h>

namespace beacon::store {

namespace {
// Raises `a` to `v` if `v` is larger (several threads may raise it).
void RaiseTo(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load();
  while (v > cur && !a.compare_exchange_weak(cur, v)) {
  }
}
}  // namespace

EtcdStore::EtcdStore(etcd::Client* client, std::string prefix)
    : client_(client), records_(std::move(prefix) + kRecordsDir) {}

EtcdStore::~EtcdStore() { Unsubscribe(); }

void EtcdStore::Unsubscribe() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  std::unique_ptr<etcd::Watch> watch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    watch = std::move(watch_);
  }
  watch.reset();  // joins the watch thread outside mu_ (its callback takes mu_)
}

Result<std::vector<KeyValue>> EtcdStore::Range(const std::string& prefix) {
  auto r = client_->GetPrefix(records_ + prefix);
  if (!r.ok()) return r.status().WithContext("etcd range");
  std::vector<KeyValue> out;
  out.reserve(r->kvs.size());
  for (etcd::KeyValue& kv : r->kvs) {
    out.push_back({kv.key.substr(records_.size()), std::move(kv.value), kv.mod_revision});
  }
  range_revision_ = r->revision;
  RaiseTo(revision_, r->revision);
  return out;
}

Result<int64_t> EtcdStore::Commit(const WriteBatch& batch) {
  // etcd refuses a transaction that names a key twice: keep the last op per key, in the order
  // of their last occurrence.
  std::map<std::string_view, size_t> last;
  for (size_t i = 0; i < batch.ops.size(); ++i) last[batch.ops[i].key] = i;
  std::vector<size_t> order;
  order.reserve(last.size());
  for (const auto& [key, i] : last) order.push_back(i);
  std::sort(order.begin(), order.end());
  std::vector<etcd::Op> ops;
  ops.reserve(order.size());
  for (size_t i : order) {
    const WriteOp& op = batch.ops[i];
    ops.push_back(op.value ? etcd::Op::Put(records_ + op.key, *op.value)
                           : etcd::Op::Delete(records_ + op.key));
  }
  const std::string index_key = records_ + std::string(store::kIndexKey);
  etcd::Compare unchanged;
  unchanged.key = index_key;
  unchanged.target = etcd::Compare::Target::kMod;
  unchanged.result = etcd::Compare::Result::kLess;
  unchanged.number = view_revision_.load() + 1;
  auto r = client_->Txn({unchanged}, ops, {etcd::Op::Get(index_key)});
  if (!r.ok()) {
    if (r.status().message().find("too many operations") != std::string::npos) {
      return ResourceExhausted("etcd refused a transaction of " + std::to_string(ops.size()) +
                               " operations: raise etcd's --max-txn-ops");
    }
    return r.status().WithContext("etcd commit");
  }
  if (!r->succeeded) {
    int64_t winner = r->revision;
    if (!r->ranges.empty() && !r->ranges[0].empty()) winner = r->ranges[0][0].mod_revision;
    conflict_revision_ = winner;
    return Aborted("another agent committed first (revision " + std::to_string(winner) + ")");
  }
  RaiseTo(revision_, r->revision);
  return r->revision;
}

void EtcdStore::SetViewRevision(int64_t revision) { RaiseTo(view_revision_, revision); }

Status EtcdStore::Subscribe(std::function<void(ChangeBatch)> deliver) {
  deliver_ = std::move(deliver);
  {
    std::lock_guard<std::mutex> lock(mu_);
    BEACON_RETURN_IF_ERROR(StartWatch(range_revision_.load() + 1));
  }
  supervisor_ = std::thread([this] { Supervise(); });
  return Status();
}

Status EtcdStore::StartWatch(int64_t from) {
  auto w = client_->WatchPrefix(
      records_, from,
      [this](etcd::WatchUpdate u) {
        if (u.status.code() == StatusCode::kAborted) {
          spdlog::warn("etcd store: watch history compacted (at {}); reloading the catalog",
                       u.compact_revision);
          {
            std::lock_guard<std::mutex> lock(mu_);
            reload_ = true;
          }
          cv_.notify_all();
          return;
        }
        if (!u.status.ok()) {
          spdlog::warn("etcd store: watch interrupted: {}", u.status.ToString());
          return;
        }
        ChangeBatch batch;
        batch.revision = u.header_revision;
        batch.changes.reserve(u.events.size());
        for (etcd::WatchEvent& e : u.events) {
          if (e.kv.key.compare(0, records_.size(), records_) != 0) continue;
          Change c;
          c.key = e.kv.key.substr(records_.size());
          if (e.type == etcd::WatchEvent::Type::kPut) c.value = std::move(e.kv.value);
          c.revision = e.kv.mod_revision;
          if (c.revision > batch.revision) batch.revision = c.revision;
          batch.changes.push_back(std::move(c));
        }
        RaiseTo(revision_, batch.revision);
        deliver_(std::move(batch));
      },
      /*progress_notify=*/true);
  if (!w.ok()) return w.status().WithContext("etcd watch");
  watch_ = std::move(*w);
  return Status();
}

void EtcdStore::Supervise() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || reload_; });
    if (stopping_) return;
    reload_ = false;
    std::unique_ptr<etcd::Watch> old = std::move(watch_);
    lock.unlock();
    old.reset();  // joins the old watch's thread (its callback has returned)
    // Read everything again and deliver it as a reset; retry until it works or we stop.
    for (int attempt = 0;; ++attempt) {
      auto r = Range("");
      if (r.ok()) {
        const int64_t revision = range_revision_.load();
        ChangeBatch batch;
        batch.reset = true;
        batch.revision = revision;
        for (KeyValue& kv : *r) {
          batch.changes.push_back({std::move(kv.key), std::move(kv.value), kv.mod_revision});
        }
        deliver_(std::move(batch));
        lock.lock();
        if (stopping_) return;
        Status s = StartWatch(revision + 1);
        if (s.ok()) break;
        lock.unlock();
        spdlog::warn("etcd store: restarting the watch failed: {}", s.ToString());
      } else {
        spdlog::warn("etcd store: reload failed: {}", r.status().ToString());
      }
      lock.lock();
      if (cv_.wait_for(lock, std::chrono::milliseconds(std::min(1000, 50 << std::min(attempt, 5))),
                       [&] { return stopping_; })) {
        return;
      }
      lock.unlock();
    }
  }
}

}  // namespace beacon::store
