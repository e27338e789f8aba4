#include "common/duration.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

namespace beacon {
namespace {

using std::chrono::nanoseconds;

constexpr int64_t kNs = 1;
constexpr int64_t kUs = 1000 * kNs;
constexpr int64_t kMs = 1000 * kUs;
constexpr int64_t kSec = 1000 * kMs;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinValue = std::numeric_limits<int64_t>::min();

TEST(ParseGoDuration, AcceptsGoSyntax) {
  struct Case {
    std::string input;
    int64_t want_ns;
  };
  const Case cases[] = {
      // Simple values and signs.
      {"0", 0},
      {"+0", 0},
      {"-0", 0},
      {"5s", 5 * kSec},
      {"30s", 30 * kSec},
      {"1478s", 1478 * kSec},
      {"-5s", -5 * kSec},
      {"+5s", 5 * kSec},
      {"-0s", 0},
      {"+0s", 0},
      {"0ms", 0},
      // Fractions.
      {"5.0s", 5 * kSec},
      {"5.6s", 5 * kSec + 600 * kMs},
      {"5.s", 5 * kSec},
      {"1.s", 1 * kSec},
      {".5s", 500 * kMs},
      {"1.0s", 1 * kSec},
      {"1.00s", 1 * kSec},
      {"1.004s", 1 * kSec + 4 * kMs},
      {"1.0040s", 1 * kSec + 4 * kMs},
      {"100.00100s", 100 * kSec + 1 * kMs},
      {"1.5h", 90 * kMin},
      {"15.0s", 15 * kSec},
      {"9.998123s", 9998123 * kUs},
      // Every unit, both micro signs.
      {"10ns", 10 * kNs},
      {"11us", 11 * kUs},
      {"12\xC2\xB5s", 12 * kUs},  // U+00B5
      {"12\xCE\xBCs", 12 * kUs},  // U+03BC
      {"13ms", 13 * kMs},
      {"14s", 14 * kSec},
      {"15m", 15 * kMin},
      {"16h", 16 * kHour},
      {"120000ms", 120 * kSec},
      // Composites, in any order.
      {"3h30m", 3 * kHour + 30 * kMin},
      {"1m30s", 90 * kSec},
      {"10.5s4m", 4 * kMin + 10 * kSec + 500 * kMs},
      {"-2m3.4s", -(2 * kMin + 3 * kSec + 400 * kMs)},
      {"1h2m3s4ms5us6ns", 1 * kHour + 2 * kMin + 3 * kSec + 4 * kMs + 5 * kUs + 6 * kNs},
      {"39h9m14.425s", 39 * kHour + 9 * kMin + 14 * kSec + 425 * kMs},
      // Large values and float rounding exactly as Go.
      {"52763797000ns", 52763797000 * kNs},
      {"0.3333333333333333333h", 20 * kMin},
      {"9007199254740993ns", (int64_t{1} << 53) + 1},
      {"9223372036854775807ns", kMax},
      {"9223372036854775.807us", kMax},
      {"9223372036854ms775us807ns", kMax},
      {"-9223372036854775808ns", kMinValue},
      {"-9223372036854775.808us", kMinValue},
      {"-2562047h47m16.854775808s", kMinValue},
      {"0.100000000000000000000h", 6 * kMin},
      {"0.830103483285477580700h", 49 * kMin + 48 * kSec + 372539827 * kNs},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    auto got = ParseGoDuration(c.input);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->count(), c.want_ns);
  }
}

TEST(ParseGoDuration, RejectsWithGoMessages) {
  struct Case {
    std::string input;
    std::string want_message;
  };
  const Case cases[] = {
      {"", R"(time: invalid duration "")"},
      {"3", R"(time: missing unit in duration "3")"},
      {"00", R"(time: missing unit in duration "00")"},
      {"-", R"(time: invalid duration "-")"},
      {"s", R"(time: invalid duration "s")"},
      {".", R"(time: invalid duration ".")"},
      {"-.", R"(time: invalid duration "-.")"},
      {".s", R"(time: invalid duration ".s")"},
      {"+.s", R"(time: invalid duration "+.s")"},
      {"--5s", R"(time: invalid duration "--5s")"},
      {" 5s", R"(time: invalid duration " 5s")"},
      {"abc", R"(time: invalid duration "abc")"},
      {"1d", R"(time: unknown unit "d" in duration "1d")"},
      {"1hh", R"(time: unknown unit "hh" in duration "1hh")"},
      {"5 s", R"(time: unknown unit " s" in duration "5 s")"},
      {"1S", R"(time: unknown unit "S" in duration "1S")"},
      {"1s2", R"(time: missing unit in duration "1s2")"},
      // Non-ASCII and control bytes are escaped byte by byte; quotes and backslashes too.
      {"\x85\x85", R"(time: invalid duration "\x85\x85")"},
      {"\xff"
       "ff",
       R"(time: invalid duration "\xffff")"},
      {"hello \xff"
       "ff world",
       R"(time: invalid duration "hello \xffff world")"},
      {"\xEF\xBF\xBD", R"(time: invalid duration "\xef\xbf\xbd")"},
      {"1\xC3\xA9", R"(time: unknown unit "\xc3\xa9" in duration "1\xc3\xa9")"},
      {"\"1s\"", R"(time: invalid duration "\"1s\"")"},
      {"1s\n", R"(time: unknown unit "s\x0a" in duration "1s\x0a")"},
      // Overflow of int64 nanoseconds.
      {"9223372036854775810ns", R"(time: invalid duration "9223372036854775810ns")"},
      {"9223372036854775808ns", R"(time: invalid duration "9223372036854775808ns")"},
      {"-9223372036854775809ns", R"(time: invalid duration "-9223372036854775809ns")"},
      {"9223372036854776us", R"(time: invalid duration "9223372036854776us")"},
      {"3000000h", R"(time: invalid duration "3000000h")"},
      {"9223372036854775.808us", R"(time: invalid duration "9223372036854775.808us")"},
      {"9223372036854ms775us808ns", R"(time: invalid duration "9223372036854ms775us808ns")"},
      {"99999999999999999999s", R"(time: invalid duration "99999999999999999999s")"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    auto got = ParseGoDuration(c.input);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), c.want_message);
  }
}

TEST(FormatGoDuration, MatchesGoDurationString) {
  struct Case {
    int64_t ns;
    std::string want;
  };
  const Case cases[] = {
      {0, "0s"},
      {1 * kNs, "1ns"},
      {999 * kNs, "999ns"},
      {1100 * kNs, "1.1\xC2\xB5s"},
      {1500 * kNs, "1.5\xC2\xB5s"},
      {2 * kUs, "2\xC2\xB5s"},
      {2200 * kUs, "2.2ms"},
      {2 * kMs, "2ms"},
      {500 * kMs, "500ms"},
      {999999999 * kNs, "999.999999ms"},
      {3300 * kMs, "3.3s"},
      {1500 * kMs, "1.5s"},
      {10 * kSec, "10s"},
      {90 * kSec, "1m30s"},
      {4 * kMin + 5 * kSec, "4m5s"},
      {4 * kMin + 5001 * kMs, "4m5.001s"},
      {5 * kHour + 6 * kMin + 7001 * kMs, "5h6m7.001s"},
      {8 * kMin + 1 * kNs, "8m0.000000001s"},
      {1 * kHour, "1h0m0s"},
      {24 * kHour, "24h0m0s"},
      {kMax, "2562047h47m16.854775807s"},
      {kMinValue, "-2562047h47m16.854775808s"},
      {-1 * kNs, "-1ns"},
      {-1500 * kMs, "-1.5s"},
      {-90 * kSec, "-1m30s"},
      {-1500 * kNs, "-1.5\xC2\xB5s"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(FormatGoDuration(nanoseconds(c.ns)), c.want);
  }
}

TEST(FormatGoDuration, RoundTripsThroughParse) {
  const int64_t values[] = {0,         1,         999,       1000,          1234567,
                            kSec,      kSec + 1,  61 * kSec, 3 * kHour + 7, kMax,
                            kMinValue, -kSec / 3, 36 * kHour};
  for (int64_t v : values) {
    const std::string text = FormatGoDuration(nanoseconds(v));
    SCOPED_TRACE(text);
    auto back = ParseGoDuration(text);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->count(), v);
  }
}

}  // namespace
}  // namespace beacon
