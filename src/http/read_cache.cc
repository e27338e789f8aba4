#include "http/read_cache.h"

namespace beacon::http {

std::shared_ptr<const SharedBody> ReadCache::Find(const std::string& key,
                                                   const catalog::ServiceGroup* group) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.group.get() != group) return nullptr;
  return it->second.body;
}

void ReadCache::Put(const std::string& key, std::shared_ptr<const catalog::ServiceGroup> group,
                    std::shared_ptr<const SharedBody> body) {
  if (entries_.size() >= kMaxEntries && !entries_.count(key)) entries_.clear();
  entries_[key] = Entry{std::move(group), std::move(body)};
}

}  // namespace beacon::http
