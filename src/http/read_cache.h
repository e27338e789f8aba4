// ReadCache: encoded responses of service reads, shared until the service changes.
//
// One per loop, touched only by that loop's thread (no lock). An entry remembers the ServiceGroup
// object it was encoded from; groups are immutable and replaced whenever anything about the
// service changes (catalog/snapshot.h), so an entry is valid exactly while the loop's snapshot
// still holds that same group object. Every request and every woken watcher asking the same
// question (service, passing, tags, filter, node-meta, pretty) on this loop gets the same bytes:
// the JSON is encoded once per loop per change, never per request.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalog/snapshot.h"
#include "http/message.h"

namespace beacon::http {

class ReadCache {
 public:
  // Where each instance of a group went in a compact JSON array answer, in group order: the
  // element's bytes in the body, or length 0 when the question left the instance out. Lets the
  // next answer to the same question, after a change, copy every unchanged instance's element
  // (and its verdict) from this one instead of looking it up and testing it again.
  struct Slot {
    const catalog::Instance* instance = nullptr;
    uint32_t offset = 0;
    uint32_t length = 0;
  };
  using Layout = std::vector<Slot>;

  // The cached body for `key` if it was encoded from `group`; nullptr otherwise.
  std::shared_ptr<const SharedBody> Find(const std::string& key,
                                          const catalog::ServiceGroup* group) const;
  // Remembers `body` as the answer for `key` while `group` is current, with the layout of its
  // elements when it is a compact array of instances (empty otherwise).
  void Put(const std::string& key, std::shared_ptr<const catalog::ServiceGroup> group,
           std::shared_ptr<const SharedBody> body, Layout layout = {});

  // The answer last cached for `key`, current or not, with its layout; null body when none.
  // Its group keeps every instance the layout names alive (so none of their addresses can be
  // reused by another instance) until Put replaces the entry.
  struct Previous {
    const SharedBody* body = nullptr;
    const Layout* layout = nullptr;
  };
  Previous FindPrevious(const std::string& key) const;

  size_t size() const { return entries_.size(); }

  // The compact health/service element of `instance` (wire::EncodeHealthServiceEntry), encoded
  // the first time it is asked for on this loop. Instances are immutable and replaced when
  // anything about them changes, so after a change only the changed instances are encoded again
  // and a service's answer is a join of mostly kept elements. The reference stays valid until
  // the next call. Elements of instances no snapshot holds any more are dropped now and then.
  const std::string& HealthEntry(const std::shared_ptr<const catalog::Instance>& instance,
                                 std::string_view datacenter);
  size_t entry_count() const { return elements_.size(); }
  size_t entry_bytes() const { return element_bytes_; }

 private:
  // Past this many bytes of elements after a sweep, every element is dropped (a bound for
  // catalogs with many big instances read all over).
  static constexpr size_t kMaxElementBytes = 16 << 20;
  struct Element {
    std::shared_ptr<const catalog::Instance> instance;  // keeps the pointer identity valid
    std::string json;
  };
  // Drops the elements whose instance only this cache still holds.
  void SweepElements();
  std::unordered_map<const catalog::Instance*, Element> elements_;
  std::string datacenter_;  // what every element was encoded with
  size_t element_bytes_ = 0;
  size_t sweep_at_ = 1024;  // element count that triggers the next sweep

  // Bounds memory when clients send many distinct filters: past this, start over.
  static constexpr size_t kMaxEntries = 4096;
  struct Entry {
    std::shared_ptr<const catalog::ServiceGroup> group;  // keeps the pointer identity valid
    std::shared_ptr<const SharedBody> body;
    Layout layout;
  };
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace beacon::http
