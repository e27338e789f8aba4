// Shared pieces of the client subcommands (services, health, register, ...): the flags every one
// of them takes, argument parsing with Consul's single-dash flags, the exit-code policy, and
// column-aligned tables.
//
// Exit codes (the one place they are decided for client commands):
//   0  success
//   1  the operation failed (agent unreachable, agent refused, not found)
//   2  usage: unknown flag, missing or malformed argument, bad -http-addr
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/client.h"
#include "beacon/status.h"

namespace beacon::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

// Flags shared by every command that talks to an agent.
struct ClientFlags {
  std::string http_addr;         // -http-addr; "" = $CONSUL_HTTP_ADDR, else 127.0.0.1:8500
  std::string token;             // -token; "" = $CONSUL_HTTP_TOKEN
  std::string datacenter;        // -datacenter
  std::string format = "table";  // -format: table or json
};

// Adds -http-addr, -token, -datacenter and (when `with_format`) -format to `app`.
void AddClientFlags(CLI::App& app, ClientFlags& flags, bool with_format);

// Parses argv (argv[0] is the subcommand name) with Consul-style single-dash flags. Returns
// nullopt to go on, or the exit code to return: 0 after printing help, 2 after a usage error.
std::optional<int> ParseArgs(CLI::App& app, int argc, char** argv);

// The client for `flags`. On failure prints the error and sets *exit_code (2: bad address).
std::shared_ptr<client::Client> MakeClient(const ClientFlags& flags, std::string_view command,
                                           int* exit_code);

// Prints "Error <doing>: <message>" to stderr and returns the exit code for `status` (1).
int ReportError(std::string_view doing, const client::Status& status);
// Prints "beacon <command>: <message>" and a hint to stderr; returns 2.
int UsageError(std::string_view command, std::string_view message);

// Writes rows as left-aligned columns separated by two spaces (the first row is the header);
// trailing spaces are trimmed.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// The table of `beacon health` (and `beacon watch`): a header row, then one row per instance.
std::vector<std::vector<std::string>> HealthRows(const std::vector<client::ServiceEntry>& entries);

// "a,b,c"; "" for none.
std::string JoinComma(const std::vector<std::string>& items);

}  // namespace beacon::cli
