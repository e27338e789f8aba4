#include "common/logging.h"

#include <chrono>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace beacon {

namespace {

std::shared_ptr<spdlog::logger> g_access;  // set once by ConfigureLogging, then read-only
bool g_json = false;

std::string Timestamp(spdlog::log_clock::time_point tp) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(tp);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(tp - secs).count();
  std::time_t t = spdlog::log_clock::to_time_t(tp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06d}Z", buf, micros);
}

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "error";
    default: return "info";
  }
}

// hclog-style JSON lines. The message's leading "module: " (our convention, e.g. "agent: ...")
// becomes @module. A payload that already is a JSON object (the access log) is merged in.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    std::string module(msg.logger_name.data(), msg.logger_name.size());
    std::string out = fmt::format(R"({{"@timestamp":"{}","@level":"{}")", Timestamp(msg.time),
                                  LevelName(msg.level));
    if (!text.empty() && text.front() == '{' && text.back() == '}') {
      out += fmt::format(R"(,"@module":"{}",)", JsonEscapeString(module));
      out.append(text.substr(1));  // the fields, and the closing brace
    } else {
      size_t colon = text.find(": ");
      if (module.empty() && colon != std::string_view::npos && colon < 24 &&
          text.substr(0, colon).find(' ') == std::string_view::npos) {
        module = std::string(text.substr(0, colon));
        text = text.substr(colon + 2);
      }
      if (!module.empty()) out += fmt::format(R"(,"@module":"{}")", JsonEscapeString(module));
      out += fmt::format(R"(,"@message":"{}"}})", JsonEscapeString(text));
    }
    out += '\n';
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

std::string JsonEscapeString(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

Status ConfigureLogging(const LogOptions& options) {
  std::string level_name = options.level == "err" ? "error" : options.level;
  auto level = spdlog::level::from_str(level_name);
  if (level == spdlog::level::off && level_name != "off") {
    return InvalidArgument("unknown log level \"" + options.level + "\"");
  }
  // Formatters belong to sinks in spdlog, so each logger gets its own stderr sink.
  auto main_logger =
      std::make_shared<spdlog::logger>("", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto access = std::make_shared<spdlog::logger>(
      "http.access", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (options.json) {
    main_logger->set_formatter(std::make_unique<JsonFormatter>());
    access->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    main_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ [%l] %v", spdlog::pattern_time_type::utc);
    access->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ [%l] %n: %v", spdlog::pattern_time_type::utc);
  }
  main_logger->set_level(level);
  access->set_level(options.access_log ? level : spdlog::level::off);
  // stderr_sink flushes per line; flush_every covers any buffering a future sink adds.
  // REQUIRES (caller): signals the process handles itself are already blocked, because
  // flush_every starts a thread that inherits the signal mask.
  main_logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(main_logger);
  spdlog::flush_every(std::chrono::seconds(1));
  g_access = access;
  g_json = options.json;
  return Status();
}

void LogAccess(const AccessRecord& r) {
  spdlog::logger* access = g_access.get();
  if (access == nullptr || !access->should_log(spdlog::level::info)) return;
  if (g_json) {
    access->info(
        R"({{"@message":"request","method":"{}","path":"{}","status":{},"bytes":{},"duration_ms":{:.3f},"peer":"{}"}})",
        JsonEscapeString(r.method), JsonEscapeString(r.path), r.status, r.bytes, r.duration_ms,
        JsonEscapeString(r.peer));
  } else {
    access->info("{} {} {} {}B {:.3f}ms from={}", r.method, r.path, r.status, r.bytes,
                 r.duration_ms, r.peer);
  }
}

void FlushLogs() {
  spdlog::default_logger()->flush();
  if (g_access) g_access->flush();
}

}  // namespace beacon
