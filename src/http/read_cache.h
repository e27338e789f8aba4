// ReadCache: encoded responses of service reads, shared until the service changes.
//
// One per loop, touched only by that loop's thread (no lock). An entry remembers the ServiceGroup
// object it was encoded from; groups are immutable and replaced whenever anything about the
// service changes (catalog/snapshot.h), so an entry is valid exactly while the loop's snapshot
// still holds that same group object. Every request and every woken watcher asking the same
// question (service, passing, tags, filter, node-meta, pretty) on this loop gets the same bytes:
// the JSON is encoded once per loop per change, never per request.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "catalog/snapshot.h"
#include "http/message.h"

namespace beacon::http {

class ReadCache {
 public:
  // The cached body for `key` if it was encoded from `group`; nullptr otherwise.
  std::shared_ptr<const SharedBody> Find(const std::string& key,
                                          const catalog::ServiceGroup* group) const;
  // Remembers `body` as the answer for `key` while `group` is current.
  void Put(const std::string& key, std::shared_ptr<const catalog::ServiceGroup> group,
           std::shared_ptr<const SharedBody> body);

  size_t size() const { return entries_.size(); }

 private:
  // Bounds memory when clients send many distinct filters: past this, start over.
  static constexpr size_t kMaxEntries = 4096;
  struct Entry {
    std::shared_ptr<const catalog::ServiceGroup> group;  // keeps the pointer identity valid
    std::shared_ptr<const SharedBody> body;
  };
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace beacon::http
