// CheckList: the checks of one service (or of one node's node level) in the writer's tables.
//
// A service has one check or a few, and 100,000 services each paid a tree node per check in a
// std::map keyed by a copy of the check ID (W4 in docs/PERFORMANCE.md). This keeps the checks in
// a vector sorted by the records' own IDs, with room for the first one inline.
// Inserting is linear in the number of checks of that one service or node.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>

#include <boost/container/small_vector.hpp>

#include "catalog/types.h"

namespace beacon::catalog {

class CheckList {
 public:
  using Ptr = std::shared_ptr<const Check>;
  using const_iterator = boost::container::small_vector<Ptr, 1>::const_iterator;

  // The check with this ID, or nullptr.
  const Check* Find(std::string_view id) const {
    const size_t i = LowerBound(id);
    return i < checks_.size() && checks_[i]->id == id ? checks_[i].get() : nullptr;
  }

  // Adds `check`, or replaces the one with its ID. REQUIRES: check != nullptr.
  void Put(Ptr check) {
    const size_t i = LowerBound(check->id);
    if (i < checks_.size() && checks_[i]->id == check->id) {
      checks_[i] = std::move(check);
    } else {
      checks_.insert(checks_.begin() + static_cast<std::ptrdiff_t>(i), std::move(check));
    }
  }

  // Removes the check with this ID and returns it; nullptr when there is none. `id` may view the
  // removed check's own ID.
  Ptr Erase(std::string_view id) {
    const size_t i = LowerBound(id);
    if (i == checks_.size() || checks_[i]->id != id) return nullptr;
    Ptr out = std::move(checks_[i]);
    checks_.erase(checks_.begin() + static_cast<std::ptrdiff_t>(i));
    return out;
  }

  // In check ID order.
  const_iterator begin() const { return checks_.begin(); }
  const_iterator end() const { return checks_.end(); }
  size_t size() const { return checks_.size(); }
  bool empty() const { return checks_.empty(); }

 private:
  size_t LowerBound(std::string_view id) const {
    auto it = std::lower_bound(checks_.begin(), checks_.end(), id,
                               [](const Ptr& c, std::string_view key) { return c->id < key; });
    return static_cast<size_t>(it - checks_.begin());
  }

  boost::container::small_vector<Ptr, 1> checks_;
};

}  // namespace beacon::catalog
