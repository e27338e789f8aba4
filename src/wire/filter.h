// `filter=` expressions: the subset of go-bexpr v0.1.2 that Consul accepts (consul-api.md section
// 3).
//
// Parse() tokenizes the expression, builds an AST with a recursive-descent parser (precedence
// not > and > or), and compiles every selector against the fixed field table of the target:
// a selector becomes a field id plus an optional map key, each value is converted to the field's
// type once, and each `matches` regex is compiled once with RE2. Matches() then only walks the
// compiled tree; it never parses strings.
//
// Thread safety: a Filter is immutable after Parse(). Copies share the compiled program, so one
// Filter may be evaluated concurrently from any number of threads.
#pragma once

#include <memory>
#include <string_view>

#include "catalog/snapshot.h"
#include "catalog/types.h"
#include "common/status.h"

namespace beacon::wire {

namespace internal {
struct FilterProgram;  // the compiled expression; defined in filter.cc
}  // namespace internal

// The response element a filter runs on. It fixes the selector names (the Go field names of that
// element in Consul's JSON) and which Matches() overload the caller uses.
enum class FilterTarget {
  // health/service: {Node, Service, Checks}. Selectors Node.*, Service.*, Checks, Checks.*.
  // Use Matches(const catalog::Instance&).
  kHealthService,
  // catalog/service and catalog/services: a flat ServiceNode (Node, Address, Datacenter, ID,
  // NodeMeta, TaggedAddresses, Service*, CreateIndex, ModifyIndex).
  // Use Matches(const catalog::Instance&); the instance's checks are ignored.
  kCatalogService,
  // catalog/nodes: ID, Node, Address, Datacenter, TaggedAddresses, Meta, CreateIndex, ModifyIndex.
  // Use Matches(const catalog::Node&).
  kNode,
  // agent/services: ID, Service, Tags, Meta, Port, Address, Kind, Weights.*, EnableTagOverride,
  // TaggedAddresses.*. Use Matches(const catalog::Service&).
  kAgentService,
  // agent/checks and health node/checks/state: CheckID, Name, Node, Notes, Output, ServiceID,
  // ServiceName, ServiceTags, Status, Type, Interval, Timeout, ExposedPort, CreateIndex,
  // ModifyIndex. Use Matches(const catalog::Check&).
  kCheck,
};

class Filter {
 public:
  // A filter that matches every element: what an absent `filter=` means.
  Filter();

  // Parses `expression` and checks every selector, operator and value against `target`.
  // An empty or all-whitespace expression yields the match-everything filter (contract 1.6:
  // an empty `filter=` is no filter).
  // Errors are InvalidArgument whose message names the offending token and its 0-based byte
  // offset, e.g. `filter: unexpected token "==" at position 12`,
  // `filter: unknown selector "Service.Foo" at position 0`,
  // `filter: operator "==" is not supported for selector "Service.Tags" at position 13`,
  // `filter: invalid value "abc" for selector "Service.Port" (want int) at position 16`,
  // `filter: invalid regular expression "(" at position 24: missing ): (`.
  // The transport maps these to 500 (contract 1.3).
  static Result<Filter> Parse(std::string_view expression, FilterTarget target);

  // Evaluates the filter on one element. REQUIRES: the overload named by target() above
  // (kHealthService and kCatalogService take an Instance). Parts the argument does not carry
  // (e.g. a null node in an Instance) evaluate as a default-constructed value. Never fails.
  bool Matches(const catalog::Instance& entry) const;
  bool Matches(const catalog::Node& node) const;
  bool Matches(const catalog::Service& service) const;
  bool Matches(const catalog::Check& check) const;

  // True for the match-everything filter (default-constructed or parsed from "").
  bool MatchesAll() const { return program_ == nullptr; }
  FilterTarget target() const { return target_; }

 private:
  Filter(FilterTarget target, std::shared_ptr<const internal::FilterProgram> program);

  FilterTarget target_ = FilterTarget::kHealthService;
  // Null = match everything. Shared by copies and never mutated once built.
  std::shared_ptr<const internal::FilterProgram> program_;
};

}  // namespace beacon::wire
