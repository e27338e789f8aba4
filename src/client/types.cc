#include "beacon/types.h"

namespace beacon::client {

std::string_view HealthStatusName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kPassing:
      return "passing";
    case HealthStatus::kWarning:
      return "warning";
    case HealthStatus::kCritical:
      return "critical";
  }
  return "critical";
}

HealthStatus ParseHealthStatus(std::string_view name) {
  if (name == "passing") {
    return HealthStatus::kPassing;
  }
  if (name == "warning") {
    return HealthStatus::kWarning;
  }
  return HealthStatus::kCritical;
}

HealthStatus ServiceEntry::AggregatedStatus() const {
  HealthStatus worst = HealthStatus::kPassing;
  for (const HealthCheck& check : checks) {
    if (check.status == HealthStatus::kCritical) {
      return HealthStatus::kCritical;
    }
    if (check.status == HealthStatus::kWarning) {
      worst = HealthStatus::kWarning;
    }
  }
  return worst;
}

const std::string& ServiceEntry::Address() const {
  return service.address.empty() ? node.address : service.address;
}

std::string_view Member::StatusName() const {
  switch (status) {
    case 1:
      return "alive";
    case 2:
      return "leaving";
    case 3:
      return "left";
    case 4:
      return "failed";
    default:
      return "none";
  }
}

double AgentMetrics::GaugeTotal(std::string_view name) const {
  double total = 0;
  for (const Gauge& g : gauges) {
    if (g.name == name) {
      total += g.value;
    }
  }
  return total;
}

uint64_t AgentMetrics::CounterTotal(std::string_view name) const {
  uint64_t total = 0;
  for (const Counter& c : counters) {
    if (c.name == name) {
      total += c.count;
    }
  }
  return total;
}

}  // namespace beacon::client
