// /v1/health/*: service instances with their checks, and check lists (contract 4.11, 4.12).
// All blocking; each parks under the one watch key its result index depends on (2.2).
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "common/strings.h"
#include "http/api.h"
#include "wire/encode.h"
#include "wire/filter.h"

namespace beacon::http {

namespace asio = boost::asio;

namespace {

bool HasAllTags(const catalog::Service& svc, const std::vector<std::string>& tags) {
  for (const std::string& want : tags) {
    bool found = false;
    for (const std::string& have : svc.tags) {
      if (EqualsIgnoreCase(have, want)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

bool AllPassing(const catalog::Instance& inst) {
  for (const auto& c : inst.checks) {
    if (c->status != catalog::HealthStatus::kPassing) return false;
  }
  return true;
}

// The compact health/service answer for `group`: a JSON array of the elements of the instances
// `wanted` keeps, in group order, with where each went in `layout`. Every instance the previous
// answer to the same question also had (the same object: instances are immutable, so the same
// element and the same verdict) is copied from that answer; only the others are tested and
// encoded. After one instance changes, that is one lookup instead of one per instance.
template <typename Wanted>
std::string JoinHealthEntries(const catalog::ServiceGroup& group, ReadCache::Previous prev,
                              const Wanted& wanted, ReadCache& cache, std::string_view datacenter,
                              ReadCache::Layout* layout) {
  const ReadCache::Layout* old = prev.layout != nullptr && !prev.layout->empty() ? prev.layout
                                                                                 : nullptr;
  const std::string_view old_bytes = old != nullptr ? std::string_view(prev.body->bytes()) : "";
  std::unordered_map<const catalog::Instance*, size_t> old_at;  // built at the first mismatch
  size_t next_old = 0;  // the old slot expected next (instances keep their order)
  auto find_old = [&](const catalog::Instance* inst) -> const ReadCache::Slot* {
    if (old == nullptr) return nullptr;
    if (next_old < old->size() && (*old)[next_old].instance == inst) return &(*old)[next_old++];
    if (old_at.empty()) {
      old_at.reserve(old->size());
      for (size_t i = 0; i < old->size(); ++i) old_at.emplace((*old)[i].instance, i);
    }
    auto it = old_at.find(inst);
    if (it == old_at.end()) return nullptr;
    next_old = it->second + 1;
    return &(*old)[it->second];
  };

  std::string body;
  // Elements of one service are about the same size: one allocation instead of a dozen
  // doublings, each copying what was joined so far.
  if (old != nullptr) body.reserve(old_bytes.size() + old_bytes.size() / 8 + 64);
  body.push_back('[');
  layout->reserve(group.instances.size());
  auto append = [&](const catalog::Instance* inst, std::string_view element) {
    if (body.size() > 1) body.push_back(',');
    layout->push_back({inst, static_cast<uint32_t>(body.size()),
                       static_cast<uint32_t>(element.size())});
    body.append(element);
  };
  for (const auto& inst_ptr : group.instances) {
    const catalog::Instance* inst = inst_ptr.get();
    if (const ReadCache::Slot* was = find_old(inst)) {
      if (was->length == 0) {
        layout->push_back({inst, 0, 0});
      } else {
        append(inst, old_bytes.substr(was->offset, was->length));
      }
      continue;
    }
    if (!wanted(*inst)) {
      layout->push_back({inst, 0, 0});
      continue;
    }
    const std::string& element = cache.HealthEntry(inst_ptr, datacenter);
    if (body.capacity() < 2 + (element.size() + 1) * group.instances.size()) {
      body.reserve(2 + (element.size() + 1) * group.instances.size() * 9 / 8);
    }
    append(inst, element);
  }
  body.push_back(']');
  // Offsets are 32-bit: a body past 4 GiB (never seen) just is not reused.
  if (body.size() > UINT32_MAX) layout->clear();
  return body;
}

}  // namespace

asio::awaitable<HttpResponse> Api::HealthService(Call& call) {
  if (call.name.empty()) co_return HttpResponse::Text(400, "Missing service name");
  bool passing = false;
  if (auto v = call.request.query.Get("passing")) {
    auto parsed = v->empty() ? std::optional<bool>(true) : ParseGoBool(*v);
    if (!parsed) co_return HttpResponse::Text(400, "Invalid value for ?passing");
    passing = *parsed;
  }
  const std::vector<std::string> tags = call.request.query.GetAll("tag");
  auto filter = wire::Filter::Parse(call.query.filter, wire::FilterTarget::kHealthService);
  if (!filter.ok()) co_return ErrorResponse(filter.status());

  const std::string name = call.name;
  auto snap = co_await AwaitIndex(call, catalog::WatchKeyService(name),
                                  [&name](const catalog::Snapshot& s) { return s.ServiceIndex(name); });
  HttpResponse r;
  std::shared_ptr<const catalog::ServiceGroup> group = snap->FindServiceShared(name);
  const std::string key = ServiceReadKey('h', name, passing, tags, call.query);
  ReadCache& cache = call.env.loop.cache;
  r.shared_body = cache.Find(key, group.get());
  if (!r.shared_body) {
    auto wanted = [&](const catalog::Instance& inst) {
      return (tags.empty() || HasAllTags(*inst.service, tags)) &&
             NodeMetaMatches(call.query, *inst.node) && (!passing || AllPassing(inst)) &&
             filter->Matches(inst);
    };
    std::string body;
    ReadCache::Layout layout;
    if (call.query.pretty) {
      std::vector<const catalog::Instance*> instances;
      if (group) {
        for (const auto& inst_ptr : group->instances) {
          if (wanted(*inst_ptr)) instances.push_back(inst_ptr.get());
        }
      }
      body = wire::EncodeHealthServiceEntries(instances, snap->datacenter, {.pretty = true});
    } else if (group) {
      body = JoinHealthEntries(*group, cache.FindPrevious(key), wanted, cache, snap->datacenter,
                               &layout);
    } else {
      body = "[]";
    }
    r.shared_body = std::make_shared<const SharedBody>(std::move(body));
    if (group) cache.Put(key, group, r.shared_body, std::move(layout));
  }
  AddBlockingHeaders(call, snap->ServiceIndex(name), r);
  co_return r;
}

asio::awaitable<HttpResponse> Api::HealthChecks(Call& call) {
  if (call.name.empty()) co_return HttpResponse::Text(400, "Missing service name");
  auto filter = wire::Filter::Parse(call.query.filter, wire::FilterTarget::kCheck);
  if (!filter.ok()) co_return ErrorResponse(filter.status());
  const std::string name = call.name;
  auto snap = co_await AwaitIndex(call, catalog::WatchKeyService(name),
                                  [&name](const catalog::Snapshot& s) { return s.ServiceIndex(name); });
  std::vector<const catalog::Check*> out;
  if (const catalog::ServiceGroup* group = snap->FindService(name)) {
    for (const auto& inst_ptr : group->instances) {
        const catalog::Instance& inst = *inst_ptr;
      if (!NodeMetaMatches(call.query, *inst.node)) continue;
      for (const auto& c : inst.checks) {
        if (c->service_id.empty()) continue;  // node checks are not the service's checks
        if (filter->Matches(*c)) out.push_back(c.get());
      }
    }
  }
  HttpResponse r =
      HttpResponse::Json(wire::EncodeHealthChecks(out, {.pretty = call.query.pretty}));
  AddBlockingHeaders(call, snap->ServiceIndex(name), r);
  co_return r;
}

asio::awaitable<HttpResponse> Api::HealthState(Call& call) {
  if (call.name.empty()) co_return HttpResponse::Text(400, "Missing check state");
  const std::string state = call.name;
  auto wanted = catalog::ParseHealthStatus(state);
  const bool any = state == "any";
  auto filter = wire::Filter::Parse(call.query.filter, wire::FilterTarget::kCheck);
  if (!filter.ok()) co_return ErrorResponse(filter.status());
  auto snap = co_await AwaitIndex(call, std::string(catalog::kWatchKeyChecks),
                                  [](const catalog::Snapshot& s) { return s.checks_index; });
  std::vector<const catalog::Check*> out;
  auto consider = [&](const catalog::Node& node, const catalog::Check& c) {
    if (!any && (!wanted || c.status != *wanted)) return;
    if (!NodeMetaMatches(call.query, node)) return;
    if (filter->Matches(c)) out.push_back(&c);
  };
  if (any || wanted) {
    for (const auto& [key, entry] : snap->nodes) {
      for (const auto& c : entry->node_checks) consider(*entry->node, *c);
    }
    for (const auto& [key, group] : snap->services) {
      for (const auto& inst_ptr : group->instances) {
        const catalog::Instance& inst = *inst_ptr;
        for (const auto& c : inst.checks) {
          if (!c->service_id.empty()) consider(*inst.node, *c);
        }
      }
    }
  }
  HttpResponse r =
      HttpResponse::Json(wire::EncodeHealthChecks(out, {.pretty = call.query.pretty}));
  AddBlockingHeaders(call, snap->checks_index, r);
  co_return r;
}

asio::awaitable<HttpResponse> Api::HealthNode(Call& call) {
  if (call.name.empty()) co_return HttpResponse::Text(400, "Missing node name");
  auto filter = wire::Filter::Parse(call.query.filter, wire::FilterTarget::kCheck);
  if (!filter.ok()) co_return ErrorResponse(filter.status());
  const std::string node = call.name;
  auto snap = co_await AwaitIndex(call, catalog::WatchKeyNode(node),
                                  [&node](const catalog::Snapshot& s) { return s.NodeIndex(node); });
  auto checks = snap->ChecksOnNode(node);
  std::vector<const catalog::Check*> out;
  for (const auto& c : checks) {
    if (filter->Matches(*c)) out.push_back(c.get());
  }
  HttpResponse r =
      HttpResponse::Json(wire::EncodeHealthChecks(out, {.pretty = call.query.pretty}));
  AddBlockingHeaders(call, snap->NodeIndex(node), r);
  co_return r;
}

}  // namespace beacon::http
