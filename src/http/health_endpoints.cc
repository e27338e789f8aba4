// /v1/health/*: service instances with their checks, and check lists (contract 4.11, 4.12).
// All blocking; each parks under the one watch key its result index depends on (2.2).
#include <boost/asio/use_awaitable.hpp>

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
    std::vector<const std::shared_ptr<const catalog::Instance>*> out;
    if (group) {
      out.reserve(group->instances.size());
      for (const auto& inst_ptr : group->instances) {
        const catalog::Instance& inst = *inst_ptr;
        if (!tags.empty() && !HasAllTags(*inst.service, tags)) continue;
        if (!NodeMetaMatches(call.query, *inst.node)) continue;
        if (passing && !AllPassing(inst)) continue;
        if (!filter->Matches(inst)) continue;
        out.push_back(&inst_ptr);
      }
    }
    std::string body;
    if (call.query.pretty) {
      std::vector<const catalog::Instance*> instances;
      instances.reserve(out.size());
      for (const auto* inst_ptr : out) instances.push_back(inst_ptr->get());
      body = wire::EncodeHealthServiceEntries(instances, snap->datacenter, {.pretty = true});
    } else {
      // Compact: the join of per-instance elements, most of them kept from earlier answers.
      body.push_back('[');
      for (size_t i = 0; i < out.size(); ++i) {
        if (i > 0) body.push_back(',');
        const std::string& element = cache.HealthEntry(*out[i], snap->datacenter);
        // Elements of one service are about the same size: one allocation instead of a dozen
        // doublings, each copying what was joined so far.
        if (i == 0) body.reserve(2 + (element.size() + 1) * out.size() * 9 / 8);
        body += element;
      }
      body.push_back(']');
    }
    r.shared_body = std::make_shared<const SharedBody>(std::move(body));
    if (group) cache.Put(key, group, r.shared_body);
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
