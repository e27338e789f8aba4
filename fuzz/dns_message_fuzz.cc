// DNS message parsing (UDP and TCP payloads) and question-name classification.
#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  (void)beacon::dns::ParseHeader(bytes);
  (void)beacon::dns::ParseMessage(bytes);
  return 0;
}
