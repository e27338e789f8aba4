// Agent configuration files: Consul-style JSON read with -config-file and -config-dir.
//
// Files are read in the order given; a directory contributes its *.json files in lexical order.
// Scalar settings from later files override earlier ones; `service`/`services` and
// `check`/`checks` definitions accumulate and are registered when the agent starts (and again
// on SIGHUP). Keys are matched like request bodies: case-insensitively, with or without
// underscores (`node_name`, `NodeName`). Unknown keys are reported as warnings naming the file
// and key; a file that cannot be read or parsed, or a definition that is invalid, is an error
// naming the file, and start-up stops.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/requests.h"
#include "common/status.h"

namespace beacon::agent {

struct FileConfig {
  std::optional<std::string> datacenter;
  std::optional<std::string> node_name;
  std::optional<std::string> node_id;
  std::optional<std::string> data_dir;
  std::optional<std::string> client_addr;
  std::optional<std::string> bind_addr;  // also advertise_addr
  std::optional<int> http_port;          // ports.http
  std::optional<int> dns_port;           // ports.dns
  std::optional<std::string> domain;
  std::optional<std::string> log_level;
  std::optional<bool> log_json;
  std::optional<bool> access_log;
  std::map<std::string, std::string> node_meta;
  std::vector<std::string> allowed_origins;  // http_config.allowed_origins [Beacon]

  // Definitions to register at start, each remembering the file it came from.
  std::vector<catalog::RegisterService> services;
  std::vector<catalog::RegisterCheck> checks;
  std::vector<std::string> warnings;  // "file: unknown key \"x\"", ...
};

// Reads every file and every *.json file of every directory. See the file comment for rules.
Result<FileConfig> LoadConfig(const std::vector<std::string>& files,
                              const std::vector<std::string>& dirs);

}  // namespace beacon::agent
