// Query strings, percent-decoding and Go durations (the ?wait=, ?index= ... values).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/duration.h"
#include "http/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)beacon::http::PercentDecode(text, true);
  (void)beacon::http::PercentDecode(text, false);
  if (auto q = beacon::http::QueryParams::Parse(text); q.ok()) {
    for (const auto& [k, v] : q->items()) {
      if (auto d = beacon::ParseGoDuration(v); d.ok()) (void)beacon::FormatGoDuration(*d);
    }
  }
  if (auto d = beacon::ParseGoDuration(text); d.ok()) (void)beacon::FormatGoDuration(*d);
  return 0;
}
