#include "http/read_cache.h"

#include <algorithm>

#include "wire/encode.h"

namespace beacon::http {

std::shared_ptr<const SharedBody> ReadCache::Find(const std::string& key,
                                                   const catalog::ServiceGroup* group) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.group.get() != group) return nullptr;
  return it->second.body;
}

void ReadCache::Put(const std::string& key, std::shared_ptr<const catalog::ServiceGroup> group,
                    std::shared_ptr<const SharedBody> body, Layout layout) {
  if (entries_.size() >= kMaxEntries && !entries_.count(key)) entries_.clear();
  entries_[key] = Entry{std::move(group), std::move(body), std::move(layout)};
}

ReadCache::Previous ReadCache::FindPrevious(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || !it->second.body) return {};
  return {it->second.body.get(), &it->second.layout};
}

const std::string& ReadCache::HealthEntry(const std::shared_ptr<const catalog::Instance>& instance,
                                          std::string_view datacenter) {
  if (datacenter != datacenter_) {  // never, in practice: the agent's datacenter is fixed
    elements_.clear();
    element_bytes_ = 0;
    datacenter_ = std::string(datacenter);
  }
  auto it = elements_.find(instance.get());
  if (it != elements_.end()) return it->second.json;
  if (elements_.size() >= sweep_at_) SweepElements();
  std::string json = wire::EncodeHealthServiceEntry(*instance, datacenter);
  element_bytes_ += json.size();
  return elements_.emplace(instance.get(), Element{instance, std::move(json)})
      .first->second.json;
}

void ReadCache::SweepElements() {
  // use_count() == 1: no snapshot, group or request holds the instance, and none can get it
  // again (only this cache has it), so its element can never be asked for.
  for (auto it = elements_.begin(); it != elements_.end();) {
    if (it->second.instance.use_count() == 1) {
      element_bytes_ -= it->second.json.size();
      it = elements_.erase(it);
    } else {
      ++it;
    }
  }
  if (element_bytes_ > kMaxElementBytes) {
    elements_.clear();
    element_bytes_ = 0;
  }
  // Amortized: the next sweep waits until the map has doubled from what is live now.
  sweep_at_ = std::max<size_t>(1024, elements_.size() * 2);
}

}  // namespace beacon::http
