#include "agent/config.h"

#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/strings.h"
#include "wire/decode.h"

namespace beacon::agent {

namespace {

// Lower-cased with '_' and '-' removed: `node_name`, `NodeName` and `node-name` are one key.
std::string NormalKey(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '_' || c == '-') continue;
    out += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  }
  return out;
}

class FileReader {
 public:
  FileReader(std::string path, FileConfig& out) : path_(std::move(path)), out_(out) {}

  Status Read() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return InvalidArgument("config: cannot read " + path_);
    std::stringstream buf;
    buf << in.rdbuf();
    std::string text = buf.str();
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (auto err = parser.parse(text).get(root); err) {
      return InvalidArgument("config: " + path_ + ": invalid JSON: " + simdjson::error_message(err));
    }
    simdjson::dom::object obj;
    if (root.get(obj)) return InvalidArgument("config: " + path_ + ": top level must be an object");
    for (auto [key, value] : obj) {
      BEACON_RETURN_IF_ERROR(Top(std::string(key), value));
    }
    return Status();
  }

 private:
  Status Error(const std::string& key, const std::string& why) {
    return InvalidArgument("config: " + path_ + ": " + key + ": " + why);
  }
  Status String(const std::string& key, simdjson::dom::element v, std::optional<std::string>& out) {
    std::string_view s;
    if (v.get(s)) return Error(key, "expected a string");
    out = std::string(s);
    return Status();
  }
  Status Int(const std::string& key, simdjson::dom::element v, std::optional<int>& out) {
    int64_t n = 0;
    if (v.get(n) || n < -1 || n > 65535) return Error(key, "expected a port number");
    out = static_cast<int>(n);
    return Status();
  }
  Status Bool(const std::string& key, simdjson::dom::element v, std::optional<bool>& out) {
    bool b = false;
    if (v.get(b)) return Error(key, "expected true or false");
    out = b;
    return Status();
  }

  Status Service(simdjson::dom::element v) {
    auto decoded = wire::DecodeAgentServiceRegister(simdjson::minify(v));
    if (!decoded.ok()) return Error("service", decoded.status().message());
    out_.services.push_back(std::move(*decoded));
    return Status();
  }
  Status Check(simdjson::dom::element v) {
    auto decoded = wire::DecodeAgentCheckRegister(simdjson::minify(v));
    if (!decoded.ok()) return Error("check", decoded.status().message());
    out_.checks.push_back(std::move(*decoded));
    return Status();
  }
  // `service` may be one object or a list; `services` is a list.
  template <typename Fn>
  Status OneOrMany(const std::string& key, simdjson::dom::element v, Fn fn) {
    simdjson::dom::array list;
    if (!v.get(list)) {
      for (simdjson::dom::element e : list) BEACON_RETURN_IF_ERROR((this->*fn)(e));
      return Status();
    }
    if (v.type() != simdjson::dom::element_type::OBJECT) return Error(key, "expected an object");
    return (this->*fn)(v);
  }

  Status Top(const std::string& key, simdjson::dom::element v) {
    const std::string k = NormalKey(key);
    if (k == "datacenter") return String(key, v, out_.datacenter);
    if (k == "nodename") return String(key, v, out_.node_name);
    if (k == "nodeid") return String(key, v, out_.node_id);
    if (k == "datadir") return String(key, v, out_.data_dir);
    if (k == "clientaddr") return String(key, v, out_.client_addr);
    if (k == "bindaddr" || k == "advertiseaddr") return String(key, v, out_.bind_addr);
    if (k == "domain") return String(key, v, out_.domain);
    if (k == "loglevel") {
      BEACON_RETURN_IF_ERROR(String(key, v, out_.log_level));
      out_.log_level = AsciiLower(*out_.log_level);  // Consul writes "INFO"
      return Status();
    }
    if (k == "logjson") return Bool(key, v, out_.log_json);
    if (k == "accesslog") return Bool(key, v, out_.access_log);
    if (k == "service" || k == "services") return OneOrMany(key, v, &FileReader::Service);
    if (k == "check" || k == "checks") return OneOrMany(key, v, &FileReader::Check);
    if (k == "ports" || k == "nodemeta" || k == "httpconfig") {
      simdjson::dom::object obj;
      if (v.get(obj)) return Error(key, "expected an object");
      for (auto [sub_key, sub] : obj) {
        std::string sk = NormalKey(sub_key);
        std::string full = key + "." + std::string(sub_key);
        if (k == "nodemeta") {
          std::string_view s;
          if (sub.get(s)) return Error(full, "expected a string");
          out_.node_meta[std::string(sub_key)] = std::string(s);
        } else if (k == "ports" && sk == "http") {
          BEACON_RETURN_IF_ERROR(Int(full, sub, out_.http_port));
        } else if (k == "ports" && sk == "dns") {
          BEACON_RETURN_IF_ERROR(Int(full, sub, out_.dns_port));
        } else if (k == "httpconfig" && sk == "allowedorigins") {
          simdjson::dom::array list;
          if (sub.get(list)) return Error(full, "expected a list of origins");
          for (simdjson::dom::element e : list) {
            std::string_view s;
            if (e.get(s)) return Error(full, "expected a list of origins");
            out_.allowed_origins.emplace_back(s);
          }
        } else {
          out_.warnings.push_back(path_ + ": unknown key \"" + full + "\"");
        }
      }
      return Status();
    }
    out_.warnings.push_back(path_ + ": unknown key \"" + key + "\"");
    return Status();
  }

  std::string path_;
  FileConfig& out_;
};

}  // namespace

Result<FileConfig> LoadConfig(const std::vector<std::string>& files,
                              const std::vector<std::string>& dirs) {
  FileConfig config;
  std::vector<std::string> paths = files;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    std::vector<std::string> in_dir;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") {
        in_dir.push_back(entry.path().string());
      }
    }
    if (ec) return InvalidArgument("config: cannot read directory " + dir + ": " + ec.message());
    std::sort(in_dir.begin(), in_dir.end());
    paths.insert(paths.end(), in_dir.begin(), in_dir.end());
  }
  for (const std::string& path : paths) {
    BEACON_RETURN_IF_ERROR(FileReader(path, config).Read());
  }
  return config;
}

}  // namespace beacon::agent
