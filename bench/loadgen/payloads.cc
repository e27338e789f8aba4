#include "loadgen/payloads.h"

#include <fmt/format.h>

namespace beacon::bench {

InstanceSpec InstanceForSequence(int64_t k, int services, std::string_view service_prefix) {
  const int64_t s = k % services;
  const int64_t i = k / services;
  InstanceSpec inst;
  inst.service = fmt::format("{}{}", service_prefix, s);
  inst.id = fmt::format("{}-{}", inst.service, i);
  inst.check_id = "chk-" + inst.id;
  inst.index = static_cast<int>(i);
  return inst;
}

InstanceSpec NamedInstance(std::string_view service, std::string_view id, int index) {
  InstanceSpec inst;
  inst.service = std::string(service);
  inst.id = std::string(id);
  inst.check_id = "chk-" + inst.id;
  inst.index = index;
  return inst;
}

std::string RegistrationBody(const InstanceSpec& inst, std::string_view ttl, int64_t meta_seq) {
  const int i = inst.index;
  return fmt::format(
      R"({{"ID":"{}","Name":"{}","Tags":["primary","v{}"],"Address":"10.{}.{}.{}","Port":{},)"
      R"("Meta":{{"version":"1.{}","seq":"{}"}},)"
      R"("Check":{{"CheckID":"{}","TTL":"{}","Status":"passing"}}}})",
      inst.id, inst.service, i % 3, (i >> 16) & 255, (i >> 8) & 255, i & 255, 20000 + (i % 40000),
      i % 4, meta_seq, inst.check_id, ttl);
}

std::string EtcdKey(std::string_view key_prefix, const InstanceSpec& inst) {
  return EtcdServicePrefix(key_prefix, inst.service) + inst.id;
}

std::string EtcdServicePrefix(std::string_view key_prefix, std::string_view service) {
  return fmt::format("/{}/services/{}/", key_prefix, service);
}

std::string EtcdPutBody(std::string_view key_prefix, const InstanceSpec& inst, std::string_view ttl,
                        int64_t meta_seq) {
  return fmt::format(R"({{"key":"{}","value":"{}"}})", Base64(EtcdKey(key_prefix, inst)),
                     Base64(RegistrationBody(inst, ttl, meta_seq)));
}

std::string EtcdWatchBody(std::string_view prefix) {
  // range_end = prefix with its last byte incremented: every key that starts with prefix.
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  return fmt::format(R"({{"create_request":{{"key":"{}","range_end":"{}"}}}})", Base64(prefix),
                     Base64(end));
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) {
      v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    }
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace beacon::bench
