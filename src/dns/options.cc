#include "dns/options.h"

#include "common/strings.h"

namespace beacon::dns {

std::string NormalizeDomain(std::string_view domain) {
  while (!domain.empty() && domain.front() == '.') domain.remove_prefix(1);
  while (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty()) return ".";
  return AsciiLower(domain) + ".";
}

std::chrono::seconds ServiceTtl(const DnsOptions& options, std::string_view service) {
  if (options.service_ttl.empty()) return std::chrono::seconds(0);
  std::string name = AsciiLower(service);
  if (auto it = options.service_ttl.find(name); it != options.service_ttl.end()) {
    return it->second;
  }
  // Longest `prefix*` that matches wins, as Consul's radix-tree lookup does.
  size_t best_len = 0;
  bool found = false;
  std::chrono::seconds best{0};
  for (const auto& [key, ttl] : options.service_ttl) {
    if (key.empty() || key.back() != '*') continue;
    std::string_view prefix(key.data(), key.size() - 1);
    if (StartsWith(name, prefix) && (!found || prefix.size() > best_len)) {
      found = true;
      best_len = prefix.size();
      best = ttl;
    }
  }
  return best;
}

}  // namespace beacon::dns
