// Go duration syntax, as Consul uses for Interval, Timeout, TTL, wait, ... (consul-api.md 1.2).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace beacon {

// Parses Go's time.ParseDuration syntax: optional sign, then one or more <decimal><unit> with
// units ns, us, µs (U+00B5 and U+03BC), ms, s, m, h; fractions allowed ("1.5s", "9.998123s",
// "1m30s", "120000ms"); the bare "0" (or "+0"/"-0") is zero. Overflow of int64 nanoseconds,
// a missing unit, an unknown unit or an empty string is InvalidArgument with a message naming
// the input, e.g. `time: invalid duration "abc"`.
Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);

// Formats like Go's Duration.String(): "0s", "1.5s", "1m30s", "10s", "1h0m0s", "500ms", "2µs".
std::string FormatGoDuration(std::chrono::nanoseconds d);

}  // namespace beacon
