// Payloads: the request bodies every workload sends, so Beacon and etcd get the same logical data.
//
// An instance is (service s, instance i). Beacon receives it as a Consul agent registration with
// two tags, a two-key Meta and a TTL check that starts passing (so `?passing` reads see it). etcd
// receives the same JSON document as the value of key /<prefix>/services/<service>/<id> through
// its v3 JSON gateway, whose keys and values are base64. Sequence k of a bulk load maps to
// service k % services and instance k / services, so consecutive requests touch different
// services, as many independent clients would.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace beacon::bench {

struct InstanceSpec {
  std::string service;   // e.g. "svc-7"
  std::string id;        // e.g. "svc-7-42"
  std::string check_id;  // e.g. "chk-svc-7-42"
  int index = 0;         // i: the instance's number inside its service
};

// The instance for bulk-load sequence number `k`.
InstanceSpec InstanceForSequence(int64_t k, int services, std::string_view service_prefix);
// A named instance (used by the watch workload, whose service is not svc-*).
InstanceSpec NamedInstance(std::string_view service, std::string_view id, int index);

// PUT /v1/agent/service/register body. `meta_seq` goes into Meta so a re-registration really
// changes the service (the catalog skips writes that change nothing). `ttl` is a Go duration.
std::string RegistrationBody(const InstanceSpec& inst, std::string_view ttl, int64_t meta_seq = 0);

// POST /v3/kv/put body storing RegistrationBody(inst) under EtcdKey(prefix, inst).
std::string EtcdPutBody(std::string_view key_prefix, const InstanceSpec& inst, std::string_view ttl,
                        int64_t meta_seq = 0);
std::string EtcdKey(std::string_view key_prefix, const InstanceSpec& inst);
// The key prefix of every instance of `service`: /<prefix>/services/<service>/.
std::string EtcdServicePrefix(std::string_view key_prefix, std::string_view service);
// POST /v3/watch body: a watch on every key under `prefix`.
std::string EtcdWatchBody(std::string_view prefix);

std::string Base64(std::string_view bytes);

}  // namespace beacon::bench
