// Go duration parsing and formatting (consul-api.md 1.2).
//
// ParseGoDuration follows Go's time.ParseDuration step by step, including its arithmetic: the
// integer part is accumulated in uint64 with the same overflow checks, and a fraction is added as
// uint64(double(f) * (double(unit) / scale)), so results and errors match Go bit for bit. The
// magnitude is kept unsigned up to 2^63 so that "-9223372036854775808ns" (INT64_MIN) parses, as
// in Go. FormatGoDuration writes the string right to left like Duration.String().
#include "common/duration.h"

#include <array>
#include <cstdint>
#include <limits>
#include <string>

namespace beacon {
namespace {

constexpr uint64_t kNanosecond = 1;
constexpr uint64_t kMicrosecond = 1000 * kNanosecond;
constexpr uint64_t kMillisecond = 1000 * kMicrosecond;
constexpr uint64_t kSecond = 1000 * kMillisecond;
constexpr uint64_t kMinute = 60 * kSecond;
constexpr uint64_t kHour = 60 * kMinute;
constexpr uint64_t kTwoPow63 = uint64_t{1} << 63;

// Go's time.quote: ASCII printable bytes as is (with `"` and `\` escaped), every other byte as
// \xNN. Byte-wise escaping gives the same text as Go's rune-wise loop, because Go escapes each
// byte of a non-ASCII rune (and each byte of an invalid sequence) the same way.
std::string GoQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80 || c < 0x20) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
      }
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return out;
}

Status InvalidDuration(std::string_view orig) {
  return InvalidArgument("time: invalid duration " + GoQuote(orig));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Unit name -> nanoseconds; 0 for an unknown unit.
uint64_t UnitNanos(std::string_view u) {
  if (u == "ns") {
    return kNanosecond;
  }
  if (u == "us" || u == "\xC2\xB5s" /* U+00B5 micro sign */ ||
      u == "\xCE\xBCs" /* U+03BC Greek small mu */) {
    return kMicrosecond;
  }
  if (u == "ms") {
    return kMillisecond;
  }
  if (u == "s") {
    return kSecond;
  }
  if (u == "m") {
    return kMinute;
  }
  if (u == "h") {
    return kHour;
  }
  return 0;
}

// Writes the fraction of v / 10^prec (".125") before `w` in buf, dropping trailing zeros and
// the point itself when the fraction is zero. Returns the new write position; v becomes the
// integer part.
size_t FormatFraction(char* buf, size_t w, uint64_t& v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) {
      buf[--w] = static_cast<char>('0' + digit);
    }
    v /= 10;
  }
  if (print) {
    buf[--w] = '.';
  }
  return w;
}

size_t FormatInt(char* buf, size_t w, uint64_t v) {
  if (v == 0) {
    buf[--w] = '0';
    return w;
  }
  while (v > 0) {
    buf[--w] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return w;
}

}  // namespace

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  const std::string_view orig = text;
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  // Go special-cases a lone "0" (no unit needed); "00" or "0.0" still need one.
  if (s == "0") {
    return std::chrono::nanoseconds(0);
  }
  if (s.empty()) {
    return InvalidDuration(orig);
  }

  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || IsDigit(s[0]))) {
      return InvalidDuration(orig);
    }

    // Integer part: [0-9]*, an error if it exceeds 2^63.
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      if (v > kTwoPow63 / 10) {
        return InvalidDuration(orig);
      }
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kTwoPow63) {
        return InvalidDuration(orig);
      }
    }
    const bool have_int = i > 0;
    s.remove_prefix(i);

    // Fraction: (\.[0-9]*)?; extra digits past uint64 precision are skipped, not an error.
    uint64_t f = 0;
    double scale = 1;
    bool have_frac = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      bool overflow = false;
      size_t j = 0;
      for (; j < s.size() && IsDigit(s[j]); ++j) {
        if (overflow) {
          continue;
        }
        if (f > (kTwoPow63 - 1) / 10) {
          overflow = true;
          continue;
        }
        const uint64_t y = f * 10 + static_cast<uint64_t>(s[j] - '0');
        if (y > kTwoPow63) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      have_frac = j > 0;
      s.remove_prefix(j);
    }
    if (!have_int && !have_frac) {  // ".s", "-.s"
      return InvalidDuration(orig);
    }

    // Unit: everything up to the next digit or '.'.
    size_t u = 0;
    while (u < s.size() && !(s[u] == '.' || IsDigit(s[u]))) {
      ++u;
    }
    if (u == 0) {
      return InvalidArgument("time: missing unit in duration " + GoQuote(orig));
    }
    const std::string_view unit_name = s.substr(0, u);
    s.remove_prefix(u);
    const uint64_t unit = UnitNanos(unit_name);
    if (unit == 0) {
      return InvalidArgument("time: unknown unit " + GoQuote(unit_name) + " in duration " +
                             GoQuote(orig));
    }

    if (v > kTwoPow63 / unit) {
      return InvalidDuration(orig);
    }
    v *= unit;
    if (f > 0) {
      // Same float expression as Go, so fractional hours round identically.
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kTwoPow63) {
        return InvalidDuration(orig);
      }
    }
    total += v;
    if (total > kTwoPow63) {
      return InvalidDuration(orig);
    }
  }

  if (neg) {
    if (total == kTwoPow63) {
      return std::chrono::nanoseconds(std::numeric_limits<int64_t>::min());
    }
    return std::chrono::nanoseconds(-static_cast<int64_t>(total));
  }
  if (total > kTwoPow63 - 1) {
    return InvalidDuration(orig);
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(total));
}

std::string FormatGoDuration(std::chrono::nanoseconds d) {
  // The longest output is "-2562047h47m16.854775808s" (25 bytes).
  std::array<char, 32> buf{};
  size_t w = buf.size();
  const int64_t count = d.count();
  const bool neg = count < 0;
  // Negate in unsigned arithmetic so INT64_MIN does not overflow.
  uint64_t u = static_cast<uint64_t>(count);
  if (neg) {
    u = ~u + 1;
  }

  if (u < kSecond) {
    // Below one second Go switches to the largest unit that keeps an integer part: "1.5ms".
    int prec = 0;
    buf[--w] = 's';
    if (u == 0) {
      buf[--w] = '0';
      return std::string(buf.data() + w, buf.size() - w);
    }
    if (u < kMicrosecond) {
      prec = 0;
      buf[--w] = 'n';
    } else if (u < kMillisecond) {
      prec = 3;
      buf[--w] = '\xB5';  // U+00B5 micro sign, as Go prints it: 0xC2 0xB5
      buf[--w] = '\xC2';
    } else {
      prec = 6;
      buf[--w] = 'm';
    }
    w = FormatFraction(buf.data(), w, u, prec);
    w = FormatInt(buf.data(), w, u);
  } else {
    buf[--w] = 's';
    w = FormatFraction(buf.data(), w, u, 9);
    // u is whole seconds now.
    w = FormatInt(buf.data(), w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      w = FormatInt(buf.data(), w, u % 60);
      u /= 60;
      // Go stops at hours: days vary in length.
      if (u > 0) {
        buf[--w] = 'h';
        w = FormatInt(buf.data(), w, u);
      }
    }
  }
  if (neg) {
    buf[--w] = '-';
  }
  return std::string(buf.data() + w, buf.size() - w);
}

}  // namespace beacon
