// The thread behind Client::WatchPrefix (internal to src/etcd).
//
// One thread per watch, one streaming POST /v3/watch at a time. The thread reads the chunked
// body as it arrives, frames it into {"result":...} objects and hands each one to the callback
// as a WatchUpdate. When the stream breaks it moves on to the next endpoint and re-creates the
// watch from the revision after the last one it delivered, so no event is lost or repeated.
//
// Resume point: the last delivered event's mod_revision + 1, or an empty (progress) update's
// header revision + 1. Never an event update's header revision: while a watcher catches up, etcd
// stamps each batch with the current store revision although later batches are still to come
// (mvcc watchable_store.syncWatchers), so that revision does not mean "seen everything up to".
//
// Stopping: the destructor sets a flag, stops the current connection's io_context (which ends a
// pending connect/read at once) and wakes a backoff sleep, then joins. The callback is skipped
// once the flag is set, so none runs after the destructor returns.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "etcd/client.h"
#include "etcd/http_connection.h"

namespace beacon::etcd::internal {

struct WatchConfig {
  std::vector<Endpoint> endpoints;  // REQUIRES: not empty
  size_t first_endpoint = 0;
  std::chrono::milliseconds connect_timeout{1000};
  // Bounds sending the request and receiving the response header; the body has no deadline.
  std::chrono::milliseconds request_timeout{5000};
  std::string prefix;
  int64_t start_revision = 0;  // 0: from the current revision
  bool progress_notify = true;
  std::function<void(WatchUpdate)> callback;
  std::chrono::milliseconds min_backoff{50};
  std::chrono::milliseconds max_backoff{1000};
};

// Starts the watch thread; the returned Watch stops it on destruction.
std::unique_ptr<Watch> StartWatch(WatchConfig config);

}  // namespace beacon::etcd::internal
