// /v1/catalog/*: the catalog's reads (blocking) and writes (contract 4.13, 4.14).
#include <boost/asio/use_awaitable.hpp>
#include <set>

#include "common/strings.h"
#include "http/api.h"
#include "wire/decode.h"
#include "wire/encode.h"
#include "wire/filter.h"

namespace beacon::http {

namespace asio = boost::asio;

asio::awaitable<HttpResponse> Api::CatalogServices(Call& call) {
  auto filter = wire::Filter::Parse(call.query.filter, wire::FilterTarget::kCatalogService);
  if (!filter.ok()) co_return ErrorResponse(filter.status());
  auto snap = co_await AwaitIndex(call, std::string(catalog::kWatchKeyServices),
                                  [](const catalog::Snapshot& s) { return s.services_index; });
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [key, group] : snap->services) {
    std::vector<std::string>* tags = nullptr;
    std::set<std::string> seen;
    for (const auto& inst_ptr : group->instances) {
        const catalog::Instance& inst = *inst_ptr;
      if (!NodeMetaMatches(call.query, *inst.node) || !filter->Matches(inst)) continue;
      if (tags == nullptr) tags = &out[group->name];
      for (const std::string& t : inst.service->tags) {
        if (seen.insert(t).second) tags->push_back(t);
      }
    }
  }
  HttpResponse r =
      HttpResponse::Json(wire::EncodeCatalogServices(out, {.pretty = call.query.pretty}));
  AddBlockingHeaders(call, snap->services_index, r);
  co_return r;
}

asio::awaitable<HttpResponse> Api::CatalogService(Call& call) {
  if (call.name.empty()) co_return HttpResponse::Text(400, "Missing service name");
  auto filter = wire::Filter::Parse(call.query.filter, wire::FilterTarget::kCatalogService);
  if (!filter.ok()) co_return ErrorResponse(filter.status());
  const std::vector<std::string> tags = call.request.query.GetAll("tag");
  const std::string name = call.name;
  auto snap = co_await AwaitIndex(call, catalog::WatchKeyService(name),
                                  [&name](const catalog::Snapshot& s) { return s.ServiceIndex(name); });
  HttpResponse r;
  std::shared_ptr<const catalog::ServiceGroup> group = snap->FindServiceShared(name);
  const std::string key = ServiceReadKey('c', name, false, tags, call.query);
  ReadCache& cache = call.env.loop.cache;
  r.shared_body = cache.Find(key, group.get());
  if (!r.shared_body) {
    std::vector<const catalog::Instance*> out;
    if (group) {
      for (const auto& inst_ptr : group->instances) {
        const catalog::Instance& inst = *inst_ptr;
        bool has_tags = true;
        for (const std::string& want : tags) {
          bool found = false;
          for (const std::string& have : inst.service->tags) {
            found = found || EqualsIgnoreCase(have, want);
          }
          has_tags = has_tags && found;
        }
        if (!has_tags || !NodeMetaMatches(call.query, *inst.node) || !filter->Matches(inst)) {
          continue;
        }
        out.push_back(&inst);
      }
    }
    r.shared_body = std::make_shared<const SharedBody>(wire::EncodeCatalogServiceNodes(
        out, snap->datacenter, {.pretty = call.query.pretty}));
    if (group) cache.Put(key, group, r.shared_body);
  }
  AddBlockingHeaders(call, snap->ServiceIndex(name), r);
  co_return r;
}

asio::awaitable<HttpResponse> Api::CatalogNodes(Call& call) {
  auto filter = wire::Filter::Parse(call.query.filter, wire::FilterTarget::kNode);
  if (!filter.ok()) co_return ErrorResponse(filter.status());
  auto snap = co_await AwaitIndex(call, std::string(catalog::kWatchKeyNodes),
                                  [](const catalog::Snapshot& s) { return s.nodes_index; });
  std::vector<const catalog::Node*> out;
  for (const auto& [key, entry] : snap->nodes) {
    if (NodeMetaMatches(call.query, *entry->node) && filter->Matches(*entry->node)) {
      out.push_back(entry->node.get());
    }
  }
  HttpResponse r = HttpResponse::Json(wire::EncodeNodes(out, {.pretty = call.query.pretty}));
  AddBlockingHeaders(call, snap->nodes_index, r);
  co_return r;
}

asio::awaitable<HttpResponse> Api::CatalogNode(Call& call) {
  if (call.name.empty()) co_return HttpResponse::Text(400, "Missing node name");
  const std::string node = call.name;
  auto snap = co_await AwaitIndex(call, catalog::WatchKeyNode(node),
                                  [&node](const catalog::Snapshot& s) { return s.NodeIndex(node); });
  const catalog::NodeEntry* entry = snap->FindNode(node);
  std::vector<const catalog::Service*> services;
  if (entry != nullptr) {
    for (const catalog::Instance* inst : snap->InstancesOnNode(entry->node->name)) {
      services.push_back(inst->service.get());
    }
  }
  HttpResponse r = HttpResponse::Json(wire::EncodeCatalogNode(
      entry ? entry->node.get() : nullptr, services, {.pretty = call.query.pretty}));
  AddBlockingHeaders(call, snap->NodeIndex(node), r);
  co_return r;
}

asio::awaitable<HttpResponse> Api::CatalogDatacenters(Call&) {
  co_return HttpResponse::Json("[\"" + info_.datacenter + "\"]");
}

asio::awaitable<HttpResponse> Api::CatalogRegister(Call& call) {
  auto req = wire::DecodeCatalogRegister(call.request.body);
  if (!req.ok()) co_return ErrorResponse(req.status());
  if (!req->node.datacenter.empty() && req->node.datacenter != info_.datacenter) {
    co_return HttpResponse::Text(500, "No path to datacenter");
  }
  catalog::WriteRequest request = std::move(*req);
  Status s = co_await Write(call, std::move(request));
  if (!s.ok()) co_return ErrorResponse(s);
  co_return HttpResponse::Json("true");
}

asio::awaitable<HttpResponse> Api::CatalogDeregister(Call& call) {
  auto req = wire::DecodeCatalogDeregister(call.request.body);
  if (!req.ok()) co_return ErrorResponse(req.status());
  if (req->node.empty()) co_return HttpResponse::Text(400, "Must provide node");
  catalog::WriteRequest request = std::move(*req);
  Status s = co_await Write(call, std::move(request));
  if (!s.ok()) co_return ErrorResponse(s);
  co_return HttpResponse::Json("true");
}

}  // namespace beacon::http
