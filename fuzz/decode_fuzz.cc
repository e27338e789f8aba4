// Registration and check JSON decoding, then the catalog's validation (what a PUT body reaches).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "catalog/validate.h"
#include "wire/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  if (auto r = beacon::wire::DecodeAgentServiceRegister(body); r.ok()) {
    (void)beacon::catalog::NormalizeRegisterService(*r);
  }
  if (auto r = beacon::wire::DecodeAgentCheckRegister(body); r.ok()) {
    (void)beacon::catalog::NormalizeRegisterCheck(*r);
  }
  if (auto r = beacon::wire::DecodeCatalogRegister(body); r.ok()) {
    (void)beacon::catalog::NormalizeCatalogRegister(*r);
  }
  (void)beacon::wire::DecodeCatalogDeregister(body);
  (void)beacon::wire::DecodeCheckUpdate(body);
  return 0;
}
